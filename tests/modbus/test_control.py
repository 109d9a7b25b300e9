"""Commands against real servers: generator control only when turned on, each controller's own
procedure, and relays that must read back what they were told."""

from __future__ import annotations

import pytest
from pymodbus.constants import ExcCodes

from custom_components.sot.modbus.client import TcpSettings
from custom_components.sot.modbus.poller import BusPoller, CommandError, DeviceSettings
from custom_components.sot.modbus.profile import load_builtin, parse_profile
from custom_components.sot.site.readings import Command

from .server import SimulatedDevice, dse_on_load_during_outage, tcp_server

pytestmark = pytest.mark.usefixtures("socket_enabled")

WRITE_REGISTERS, WRITE_COIL = 16, 5


def _writes(device: SimulatedDevice) -> list[tuple[int, int, int]]:
    return [r for r in device.requests if r[0] in (WRITE_COIL, 6, 15, WRITE_REGISTERS)]


async def test_generator_control_is_refused_while_turned_off() -> None:
    device = dse_on_load_during_outage()
    settings = DeviceSettings(id="genset", profile=load_builtin("deep_sea_gencomm"))
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        for action in ("start", "stop", "mode_auto", "mode_manual", "mode_off"):
            with pytest.raises(CommandError) as refused:
                await poller.execute(Command("generator", "main", action))
            assert refused.value.reason == "control_disabled"
        await poller.close()
    assert device.requests == []  # not even the support bitmap was read
    assert poller.actions("generator", "main") == frozenset()


async def test_deep_sea_checks_the_support_bitmap_before_writing() -> None:
    device = dse_on_load_during_outage()
    device.set("holding", 4098, [0b10])  # remote stop only: this model has no remote start
    settings = DeviceSettings(
        id="genset", profile=load_builtin("deep_sea_gencomm"), control_enabled=True
    )
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        with pytest.raises(CommandError) as refused:
            await poller.execute(Command("generator", "main", "start"))
        await poller.execute(Command("generator", "main", "stop"))
        await poller.close()
    assert refused.value.reason == "action_not_supported"
    assert _writes(device) == [(WRITE_REGISTERS, 4104, 2)]
    assert (device.value("holding", 4104), device.value("holding", 4105)) == (35733, 29802)
    assert poller.actions("generator", "main") == {"start", "stop", "mode_auto", "mode_manual"}


async def test_comap_command_lands_in_its_command_registers() -> None:
    comap = SimulatedDevice(holding={1000: [0] * 400, 4207: [0, 0, 0]})
    settings = DeviceSettings(
        id="comap", profile=load_builtin("comap_intelilite4"), control_enabled=True
    )
    async with tcp_server({1: comap}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        await poller.execute(Command("generator", "main", "start"))
        started = [comap.value("holding", a) for a in (4207, 4208, 4209)]
        await poller.execute(Command("generator", "main", "stop"))
        with pytest.raises(CommandError) as refused:
            await poller.execute(Command("generator", "main", "mode_manual"))
        await poller.close()
    # Argument 0x01FE0000 high word first, then command 1, in one request.
    assert started == [0x01FE, 0x0000, 0x0001]
    assert [comap.value("holding", a) for a in (4207, 4208, 4209)] == [0x02FD, 0x0000, 0x0001]
    assert _writes(comap) == [(WRITE_REGISTERS, 4207, 3), (WRITE_REGISTERS, 4207, 3)]
    assert refused.value.reason == "action_not_supported"
    # No mode commands on ComAp: start and stop buttons, no mode select.
    assert poller.actions("generator", "main") == {"start", "stop"}


async def test_smartgen_command_sets_its_remote_coil() -> None:
    smartgen = SimulatedDevice(holding={0: [0] * 27}, coils={0: [False] * 70})
    settings = DeviceSettings(
        id="smartgen", profile=load_builtin("smartgen_hgm6100"), control_enabled=True
    )
    async with tcp_server({1: smartgen}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        await poller.execute(Command("generator", "main", "stop"))
        await poller.execute(Command("generator", "main", "mode_auto"))
        await poller.close()
    assert _writes(smartgen) == [(WRITE_COIL, 0x0001, 1), (WRITE_COIL, 0x0003, 1)]
    assert smartgen.value("coils", 1) == 1
    assert smartgen.value("coils", 3) == 1
    assert poller.actions("generator", "main") == {"start", "stop", "mode_auto"}


async def test_relays_switch_without_generator_control_and_must_read_back() -> None:
    relays = SimulatedDevice(coils={0: [False] * 8})
    relays.stuck.add(2)  # the driver of relay 3 has failed
    settings = DeviceSettings(
        id="relays",
        profile=load_builtin("relay_8ch"),
        components={"relay1": "pumps", "relay3": "heater"},
    )
    async with tcp_server({1: relays}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        await poller.execute(Command("load", "pumps", "turn_on"))
        with pytest.raises(CommandError) as unconfirmed:
            await poller.execute(Command("load", "heater", "turn_on"))
        await poller.close()
    assert relays.value("coils", 0) == 1
    assert relays.value("coils", 2) == 0
    assert unconfirmed.value.reason == "write_not_confirmed"
    assert "coil 2 (relay3/state) reads off after turn_on" in str(unconfirmed.value)
    # Each switch is a write, then a read of the same coil.
    assert [r[:2] for r in relays.requests] == [(5, 0), (1, 0), (5, 2), (1, 2)]
    assert poller.actions("load", "pumps") == frozenset()


async def test_refused_write_is_a_command_error() -> None:
    """A controller without the control page answers the key write with an exception."""
    device = dse_on_load_during_outage()
    device.failing[4098] = ExcCodes.ILLEGAL_ADDRESS
    settings = DeviceSettings(
        id="genset", profile=load_builtin("deep_sea_gencomm"), control_enabled=True
    )
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        with pytest.raises(CommandError) as refused:
            await poller.execute(Command("generator", "main", "start"))
        await poller.close()
    assert refused.value.reason == "refused"
    assert "illegal data address" in str(refused.value)


async def test_a_command_may_wait_for_an_enable_input() -> None:
    """A panel whose remote start only works while its key switch (a discrete input) is on."""
    profile = parse_profile(
        "name: Panel\ncomponents: {generator: generator}\n"
        "registers:\n  - {quantity: on_load, function: coil, address: 0}\n"
        "commands:\n  - {action: start, requires: {function: discrete, address: 4},"
        " writes: [{function: coil, address: 1, state: true}]}\n",
        "panel",
    )
    panel = SimulatedDevice(coils={0: [False, False]}, discrete={4: [False]})
    settings = DeviceSettings(id="panel", profile=profile, control_enabled=True)
    async with tcp_server({1: panel}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        with pytest.raises(CommandError) as refused:
            await poller.execute(Command("generator", "main", "start"))
        panel.set("discrete", 4, [True])  # the operator turns the key to remote
        await poller.execute(Command("generator", "main", "start"))
        await poller.close()
    assert refused.value.reason == "action_not_supported"
    assert panel.value("coils", 1) == 1
