"""Availability that tells the truth: every way a Modbus bus fails ends the same way.

A TCP proxy sits between the poller and a real pymodbus server and fails as gateways and
networks do: it refuses connections, swallows requests, accepts and closes at once, or garbles
the answers; or the device answers with exception codes only. Each ends offline after exactly
the device's number of misses, with one log line of ours and nothing from pymodbus, passes on
no value of a failed poll, and recovers by itself. One lost answer among good polls changes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pymodbus.constants import ExcCodes

from custom_components.sot.modbus.client import TcpSettings
from custom_components.sot.modbus.poller import (
    BACKOFF_CAP_SECONDS,
    DEFAULT_MISSES,
    BusPoller,
    DeviceSettings,
    PollResult,
)
from custom_components.sot.modbus.profile import load_builtin

from .polling import Clock
from .proxy import ModbusProxy, Mode, modbus_proxy
from .server import SimulatedDevice, dse_on_load_during_outage, tcp_server

pytestmark = pytest.mark.usefixtures("socket_enabled")

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
TIMEOUT = 0.3
FAST = 5.0
POLLER_LOGGER = "custom_components.sot.modbus.poller"


@dataclass
class Rig:
    """A DSE controller behind the proxy, and the poller that reads it through the proxy."""

    device: SimulatedDevice
    proxy: ModbusProxy
    poller: BusPoller
    clock: Clock

    async def poll(self, advance: float = FAST) -> PollResult:
        self.clock.now += advance
        return await self.poller.poll(NOW)

    async def fail(self, failure: str) -> None:
        if failure == "exceptions":
            # The controller answers, but every read with "slave device failure".
            self.device.failing.update(
                dict.fromkeys(self.device.tables["holding"], ExcCodes.DEVICE_FAILURE)
            )
        else:
            await self.proxy.set(Mode(failure))

    async def heal(self) -> None:
        self.device.failing.clear()
        if self.proxy.mode is not Mode.PASS:
            await self.proxy.set(Mode.PASS)


@pytest.fixture
def misses() -> int:
    """The device's misses before offline; a test may override it."""
    return DEFAULT_MISSES


@pytest.fixture
async def rig(misses: int) -> AsyncIterator[Rig]:
    device = dse_on_load_during_outage()
    async with tcp_server({1: device}) as port, modbus_proxy(port) as proxy:
        clock = Clock()
        settings = DeviceSettings(
            id="genset",
            title="Kall genset",
            profile=load_builtin("deep_sea_gencomm"),
            misses=misses,
        )
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=proxy.port, timeout=TIMEOUT),
            [settings],
            clock=clock,
        )
        try:
            yield Rig(device, proxy, poller, clock)
        finally:
            await poller.close()


def _statuses(result: PollResult) -> list[bool]:
    return [status.online for status in result.statuses]


FAILURES = ["refuse", "blackhole", "accept_close", "garble", "exceptions"]


@pytest.mark.parametrize("failure", FAILURES)
async def test_every_failure_ends_offline_after_the_misses_and_recovers(
    rig: Rig, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = await rig.poll()
    assert _statuses(first) == [True]
    assert first.readings

    await rig.fail(failure)
    # Below the number of misses: nothing at all, no status, no value of the failed polls.
    for _ in range(DEFAULT_MISSES - 1):
        missed = await rig.poll()
        assert missed.statuses == []
        assert missed.readings == []
    offline = await rig.poll()
    assert _statuses(offline) == [False]
    assert offline.readings == []
    # Still failing, backing off: no further log line, nothing passed on as a value.
    for _ in range(3):
        still = await rig.poll(BACKOFF_CAP_SECONDS)
        assert _statuses(still) == [False]
        assert still.readings == []

    ours = [r for r in caplog.records if r.name == POLLER_LOGGER and r.levelno >= logging.INFO]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    (line,) = ours
    # At info, like its end (Home Assistant's log-when-unavailable rule).
    assert line.levelno == logging.INFO
    assert line.getMessage().startswith(f"Kall genset does not answer ({DEFAULT_MISSES} polls")
    assert line.exc_info is None
    assert str(rig.proxy.port) not in line.getMessage()  # no address in the log
    assert not [r for r in caplog.records if r.name.startswith("pymodbus")]
    assert not [r for r in caplog.records if r.exc_info]

    await rig.heal()
    back = await rig.poll(BACKOFF_CAP_SECONDS)
    assert _statuses(back) == [True]
    assert {r.quantity for r in back.readings} >= {"power", "state", "level"}
    assert "Kall genset answers again" in caplog.text
    diagnostics = rig.poller.diagnostics()["devices"][0]
    assert diagnostics["failures_in_a_row"] == 0
    assert diagnostics["last_miss"]


async def test_one_lost_answer_among_good_polls_changes_nothing(rig: Rig) -> None:
    results = [await rig.poll()]
    rig.proxy.drop(1)
    missed = await rig.poll()
    results += [missed, await rig.poll(), await rig.poll()]
    assert missed.statuses == []
    assert missed.readings == []
    assert [s for result in results for s in _statuses(result)] == [True, True, True]
    assert rig.poller.diagnostics()["devices"][0]["errors"] == {"timeout": 1}


async def test_values_read_before_a_poll_failed_are_not_passed_on(rig: Rig) -> None:
    """The fourth of six reads goes unanswered: the three answered ones are not passed on."""
    await rig.poll()
    rig.proxy.drop(1, after=3)
    partial = await rig.poll()
    assert partial.readings == []
    assert partial.statuses == []
    assert rig.proxy.answered >= 3


@pytest.mark.parametrize("misses", [1, 5])
async def test_the_number_of_misses_is_the_devices_own(rig: Rig, misses: int) -> None:
    await rig.poll()
    await rig.fail("refuse")
    statuses = [_statuses(await rig.poll()) for _ in range(misses)]
    assert statuses == [[]] * (misses - 1) + [[False]]


def test_misses_are_checked() -> None:
    dse = load_builtin("deep_sea_gencomm")
    with pytest.raises(ValueError, match=r"misses of genset must be 1\.\.10"):
        BusPoller(
            TcpSettings(host="127.0.0.1"), [DeviceSettings(id="genset", profile=dse, misses=0)]
        )
