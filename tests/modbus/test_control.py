"""Commands against real servers: generator control only when turned on, each controller's own
procedure, and relays that must read back what they were told."""

from __future__ import annotations

from typing import ClassVar

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
    # Remote stop only (function 33: bit 14 of 4098, Victron's reading): no remote start.
    device.set("holding", 4098, [0b0100_0000_0000_0000])
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


class ComApController(SimulatedDevice):
    """An InteliLite 4 as its Global Guide describes it: the Modbus remote start coil 4700, and
    commands whose return value reads back from 4207-4208 after the write."""

    refuse = False
    _RETURNS: ClassVar[dict[int, int]] = {
        0x01FE0000: 0x01FF,
        0x02FD0000: 0x02FE,
        0x08F70000: 0x08F8,
    }

    async def async_setValues(
        self, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        answer = await super().async_setValues(func_code, address, values)
        if func_code == WRITE_REGISTERS and address == 4207 and len(values) == 3:
            argument = int(values[0]) << 16 | int(values[1])
            returned = 2 if self.refuse else self._RETURNS.get(argument, 1)
            self.set("holding", 4207, [0, returned])
        return answer


def _comap() -> ComApController:
    return ComApController(holding={1000: [0] * 400, 4207: [0, 0, 0]}, coils={4700: [False]})


async def test_comap_starts_and_stops_with_its_remote_start_coil() -> None:
    comap = _comap()
    settings = DeviceSettings(
        id="comap", profile=load_builtin("comap_intelilite4"), control_enabled=True
    )
    async with tcp_server({1: comap}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        await poller.execute(Command("generator", "main", "start"))
        started = comap.value("coils", 4700)
        await poller.execute(Command("generator", "main", "stop"))
        await poller.execute(Command("generator", "main", "fault_reset"))
        with pytest.raises(CommandError) as refused:
            await poller.execute(Command("generator", "main", "mode_manual"))
        await poller.close()
    # FF00 then 0000 to coil 4700 (FC05), each read back (FC01).
    assert started == 1
    assert comap.value("coils", 4700) == 0
    assert [r[:2] for r in comap.requests if r[1] == 4700] == [(5, 4700), (1, 4700)] * 2
    # Fault reset: argument and command in one FC16 write, then the return value read back.
    assert _writes(comap)[-1] == (WRITE_REGISTERS, 4207, 3)
    assert [comap.value("holding", a) for a in (4207, 4208)] == [0, 0x08F8]
    assert refused.value.reason == "action_not_supported"
    # No mode commands on ComAp: start and stop buttons, no mode select.
    assert poller.actions("generator", "main") == {"start", "stop"}


async def test_comap_command_it_refuses_is_an_error() -> None:
    """The return value says "command refused": the operator is told, not left guessing."""
    comap = _comap()
    comap.refuse = True
    comap.stuck.add(4700)  # a controller not in AUTO ignores the remote start
    settings = DeviceSettings(
        id="comap", profile=load_builtin("comap_intelilite4"), control_enabled=True
    )
    async with tcp_server({1: comap}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        with pytest.raises(CommandError) as reset:
            await poller.execute(Command("generator", "main", "fault_reset"))
        with pytest.raises(CommandError) as start:
            await poller.execute(Command("generator", "main", "start"))
        await poller.close()
    assert reset.value.reason == "command_not_accepted"
    refusal = "reads 0x0000 0x0002 at holding 4207 (command refused by the controller)"
    assert refusal in str(reset.value)
    assert start.value.reason == "command_not_accepted"
    assert "comap reads off at coil 4700 after start" in str(start.value)


async def test_command_that_cannot_be_read_back_says_so() -> None:
    comap = _comap()
    comap.failing[4700] = ExcCodes.DEVICE_FAILURE
    settings = DeviceSettings(
        id="comap", profile=load_builtin("comap_intelilite4"), control_enabled=True
    )
    async with tcp_server({1: comap}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        with pytest.raises(CommandError) as unconfirmed:
            await poller.execute(Command("generator", "main", "start"))
        await poller.close()
    assert comap.value("coils", 4700) == 1  # written, but not confirmed
    assert unconfirmed.value.reason == "command_unconfirmed"


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
