"""Every data type and word order, read from a real server over TCP and over a serial line.

The raw words are written out here by hand (and `struct` for floats), not by the integration's
own encoder, so a mistake in decoding cannot hide behind the same mistake in encoding.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from custom_components.sot.modbus.client import SerialSettings, TcpSettings
from custom_components.sot.modbus.poller import BusPoller, DeviceSettings
from custom_components.sot.modbus.profile import Profile, load_builtin, parse_profile
from custom_components.sot.site.readings import RejectReason
from custom_components.sot.site.vocabulary import Value

from .polling import values_of
from .server import SimulatedDevice, dse_on_load_during_outage, rtu_server, tcp_server

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)

EVERY_ENCODING = """\
name: Every encoding
components: {engine: generator, mains: grid, meter: grid}
defaults: {function: holding}
registers:
  - {component: engine, quantity: speed, address: 0, type: u16, unit: rpm}
  - {component: engine, quantity: coolant_temperature, address: 1, type: s16, scale: 0.1, unit: °C}
  - {component: engine, quantity: energy, address: 2, type: u32, scale: 0.1, unit: kWh}
  - {component: mains, quantity: energy, address: 4, type: u32, word_order: little, scale: 0.1,
     unit: kWh}
  - {component: engine, quantity: power, address: 6, type: s32, scale: 0.001, unit: kW}
  - {component: mains, quantity: power, address: 8, type: s32, word_order: little, scale: 0.001,
     unit: kW}
  - {component: mains, quantity: voltage, address: 10, type: f32, unit: V}
  - {component: mains, quantity: frequency, address: 12, type: f32, word_order: little, unit: Hz}
  - {component: meter, quantity: voltage, function: input, address: 0, type: f32, unit: V}
  - {component: meter, quantity: present, function: discrete, address: 0}
  - {component: engine, quantity: on_load, function: coil, address: 0}
"""


def _f32(value: float) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


def _mixed_device() -> SimulatedDevice:
    # fmt: off
    holding = [
        1500,  # u16: 1500 rpm
        0x10000 - 123,  # s16: -12.3 °C, a cold engine in January
        0x0012, 0xD687,  # u32 high word first: 1 234 567 -> 123456.7 kWh
        0xCBB1, 0x0074,  # u32 low word first: 7 654 321 -> 765432.1 kWh
        0xFFFF, 0xFA24,  # s32 high word first: -1500 W (reverse power)
        0xF736, 0xFFFF,  # s32 low word first: -2250 W
        *_f32(229.5),  # f32 high word first
        *reversed(_f32(50.25)),  # f32 low word first
    ]
    # fmt: on
    return SimulatedDevice(
        holding={0: holding},
        input={0: _f32(231.25)},
        discrete={0: [True]},
        coils={0: [True]},
    )


EXPECTED: dict[str, Value] = {
    "generator/main/speed": 1500.0,
    "generator/main/coolant_temperature": -12.3,
    "generator/main/energy": 123456.7,
    "grid/mains/energy": 765432.1,
    "generator/main/power": -1.5,
    "grid/mains/power": -2.25,
    "grid/mains/voltage": 229.5,
    "grid/mains/frequency": 50.25,
    "grid/meter/voltage": 231.25,
    "grid/meter/present": True,
    "generator/main/on_load": True,
}


@asynccontextmanager
async def _served(device: SimulatedDevice, transport: str) -> AsyncIterator[BusPoller]:
    profile = parse_profile(EVERY_ENCODING, "every_encoding")
    settings = DeviceSettings(id="mixed", profile=profile, unit=5)
    if transport == "tcp":
        async with tcp_server({5: device}) as port:
            poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
            yield poller
            await poller.close()
        return
    async with rtu_server({5: device}) as serial_port:
        poller = BusPoller(SerialSettings(port=serial_port, timeout=0.5), [settings])
        yield poller
        await poller.close()


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
async def test_every_type_and_word_order_decodes(transport: str, socket_enabled: None) -> None:
    async with _served(_mixed_device(), transport) as poller:
        result = await poller.poll(NOW)
    assert result.rejections == []
    assert values_of(result) == EXPECTED


async def test_no_reading_values_are_never_shown_as_numbers(socket_enabled: None) -> None:
    """GenComm's "not available" and "sensor fault" values of each type."""
    device = dse_on_load_during_outage()
    device.set("holding", 1025, [0x7FFF])  # coolant, s16: transducer fault
    device.set("holding", 1024, [0xFFFE])  # oil pressure, u16: over range
    device.set("holding", 1290, [0xFFFF, 0xFFFF])  # fuel rate, u32: not implemented
    device.set("holding", 1536, [0x7FFF, 0xFFF8])  # power, s32: not available
    async with tcp_server({1: device}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port),
            [DeviceSettings(id="genset", profile=_dse())],
        )
        result = await poller.poll(NOW)
        await poller.close()
    values = values_of(result)
    for quantity in ("coolant_temperature", "oil_pressure", "fuel_rate", "power"):
        assert f"generator/main/{quantity}" not in values
    assert values["generator/main/speed"] == 1500.0
    refused = {r.quantity: r.reason for r in result.rejections}
    assert refused == {
        ("generator", "main", q): RejectReason.NO_READING
        for q in ("coolant_temperature", "oil_pressure", "fuel_rate", "power")
    }
    assert poller.diagnostics()["devices"][0]["rejected"] == {"no_reading": 4}


def _dse() -> Profile:
    return load_builtin("deep_sea_gencomm")
