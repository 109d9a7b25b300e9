"""The integration's shipped Modbus profiles against the simulator's independently written devices.

Both sides are written from the vendors' facts separately; this is where a register mapped
differently on one side shows up. It reads through the integration's own poller, with the
device subentries the demo writes for Kall.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from custom_components.sot.modbus.poller import BusPoller, PollResult
from custom_components.sot.modbus.profile import load_builtin
from custom_components.sot.modbus_hub import bus_settings, device_settings
from custom_components.sot.site.readings import Command
from simulator.demo_config import modbus_subentries
from simulator.modbus_server import UNIT_RELAYS, start_server
from simulator.site import Site
from simulator.sites import KALL

from ..mosquitto import free_port

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


class Clock:
    """The poller's clock, moved past every scan interval before each poll."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Kall:
    """The simulated site and the integration's poller of its Modbus devices."""

    def __init__(self, site: Site, poller: BusPoller, clock: Clock) -> None:
        self.site = site
        self.poller = poller
        self.clock = clock

    async def poll_everything(self) -> PollResult:
        """One poll that reads every scan group, fast and slow."""
        self.clock.now += 3600
        return await self.poller.poll(datetime.now(UTC))


def values(readings: list[object]) -> dict[tuple[str, str, str], object]:
    return {(r.kind, r.id, r.quantity): r.value for r in readings}  # type: ignore[attr-defined]


@pytest.fixture
async def kall(socket_enabled: None) -> AsyncIterator[Kall]:
    """Kall's devices served, and the integration's poller built from the demo's subentries."""
    site = Site(KALL, START)
    site.step(60)
    port = free_port()
    server = await start_server(site, "127.0.0.1", port)
    subentries = [s["data"] for s in modbus_subentries(KALL, port)]
    relays = {
        "device_id": "relays",
        "profile": "relay_8ch",
        "connection": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "unit": UNIT_RELAYS,
        "components": {f"relay{n + 1}": load for n, load in enumerate(site.loads)}
        | {"relay6": "", "relay7": "", "relay8": ""},
    }
    devices = [
        device_settings(data, load_builtin(data["profile"])) for data in [*subentries, relays]
    ]
    clock = Clock()
    poller = BusPoller(bus_settings(subentries[0]), devices, clock=clock)
    try:
        yield Kall(site, poller, clock)
    finally:
        await poller.close()
        await server.shutdown()


async def test_profiles_read_what_the_site_is_doing(kall: Kall) -> None:
    """Grid on, set stopped: every value decodes, nothing is refused."""
    site = kall.site
    result = await kall.poll_everything()
    assert not result.rejections
    assert {(s.node, s.online) for s in result.statuses} >= {("dse", True), ("meter", True)}
    seen = values(result.readings)
    assert seen[("generator", "main", "state")] == "stopped"
    assert seen[("generator", "main", "mode")] == "manual"
    assert seen[("generator", "main", "alarm")] == "ok"
    assert seen[("generator", "main", "battery_voltage")] == pytest.approx(site.battery_v, abs=0.1)
    # Voltage only: the site model decides presence with its one threshold (184 V default).
    assert ("grid", "main", "present") not in seen
    assert seen[("grid", "main", "voltage")] == pytest.approx(site.grid_voltage, abs=0.01)
    assert seen[("grid", "main", "voltage")] > 184
    assert seen[("grid", "main", "power")] == pytest.approx(site.grid_power_kw, abs=0.01)
    assert seen[("grid", "main", "frequency")] == pytest.approx(site.grid_frequency, abs=0.01)
    assert seen[("load", "heater", "state")] is False
    assert seen[("load", "store", "state")] is True


async def test_profile_commands_drive_the_simulated_controller_and_relays(kall: Kall) -> None:
    """The integration's start command is GenComm's remote start, which a DSE obeys in auto
    mode only: at Kall's manual-mode controller the volunteer starts the set at its panel.
    The relay command switches the heater."""
    site, poller = kall.site, kall.poller
    site.set_grid(False)
    await poller.execute(Command("generator", "main", "start"))
    site.step(60)
    assert site.generator_state == "stopped"
    site.start_generator_at_panel()
    site.step(60)
    site.set_changeover(True)
    await poller.execute(Command("load", "heater", "turn_on"))
    site.step(20)
    assert site.loads["heater"].on
    result = await kall.poll_everything()
    assert not result.rejections
    seen = values(result.readings)
    assert seen[("generator", "main", "state")] == "running"
    assert seen[("generator", "main", "power")] == pytest.approx(site.generator_power_kw, abs=0.01)
    assert seen[("generator", "main", "load")] == pytest.approx(site.generator_load_pct, abs=0.1)
    assert seen[("generator", "main", "fuel_rate")] == pytest.approx(site.fuel_rate, abs=0.01)
    assert seen[("generator", "main", "starts")] == 1
    assert seen[("grid", "main", "voltage")] == 0
    assert seen[("load", "heater", "state")] is True

    site.step(30)
    assert site.generator_alarm == "warning"  # 108 % for over 10 s
    result = await kall.poll_everything()
    assert values(result.readings)[("generator", "main", "alarm")] == "warning"

    await poller.execute(Command("generator", "main", "mode_off"))
    site.step(10)
    result = await kall.poll_everything()
    seen = values(result.readings)
    assert seen[("generator", "main", "mode")] == "off"
    assert seen[("generator", "main", "state")] == "stopped"
