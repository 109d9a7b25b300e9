"""The simulator's Modbus devices, read and commanded by a real pymodbus client over TCP."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse

from simulator.controller import Key
from simulator.modbus_server import UNIT_GENERATOR, UNIT_GRID_METER, UNIT_RELAYS, start_server
from simulator.site import Site
from simulator.sites import KALL, VALSJOBYN

from ..mosquitto import free_port

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def u32(words: list[int]) -> int:
    return (words[0] << 16) | words[1]


def f32(words: list[int]) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", *words))[0]
    return value


@pytest.fixture
async def served(socket_enabled: None) -> AsyncIterator[tuple[Site, AsyncModbusTcpClient]]:
    """Valsjöbyn's devices (automatic transfer) served on a free loopback port."""
    site = Site(VALSJOBYN, START)
    port = free_port()
    server = await start_server(site, "127.0.0.1", port)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    try:
        assert await client.connect(), "could not connect to the simulator's Modbus server"
        yield site, client
    finally:
        client.close()
        await server.shutdown()


async def holding(client: AsyncModbusTcpClient, address: int, count: int = 1) -> list[int]:
    response = await client.read_holding_registers(address, count=count, device_id=UNIT_GENERATOR)
    assert not response.isError(), response
    return list(response.registers)


async def test_generator_registers_follow_the_engine(
    served: tuple[Site, AsyncModbusTcpClient],
) -> None:
    """Stopped on mains, then running on load after a mains failure: as a DSE reads."""
    site, client = served
    site.step(60)
    assert await holding(client, 768, 2) == [1, 7320]
    assert (await holding(client, 772))[0] == 1  # auto
    assert (await holding(client, 1408))[0] == 0  # stopped
    mains = await holding(client, 1059, 7)
    assert mains[0] == pytest.approx(500, abs=1)  # 50.0 Hz
    assert u32(mains[1:3]) == pytest.approx(2300, abs=25)  # 230 V
    assert (await holding(client, 1029))[0] == pytest.approx(135, abs=2)  # 13.5 V float

    site.set_grid(False)
    site.step(120)
    assert (await holding(client, 1408))[0] == 3  # running
    engine = await holding(client, 1024, 8)
    assert engine[0] > 300  # oil pressure, kPa
    assert 40 < engine[1] < 100  # coolant °C, warming from the block heater's 40 °C
    assert engine[3] == round(site.tank_level_pct)
    assert engine[6] == pytest.approx(1500, abs=5)  # rpm
    assert engine[7] == pytest.approx(500, abs=1)  # 50.0 Hz
    assert u32(await holding(client, 1060, 2)) == 0  # mains dead
    power = u32(await holding(client, 1536, 2))
    assert power == pytest.approx(site.site_power_kw * 1000, rel=0.05)
    load = (await holding(client, 1558))[0]
    assert load / 10 == pytest.approx(100 * power / 1000 / VALSJOBYN.generator_rating_kw, abs=0.5)
    assert u32(await holding(client, 1290, 2)) / 100 == pytest.approx(site.fuel_rate, abs=0.01)
    assert u32(await holding(client, 1798, 2)) == pytest.approx(site.generator.run_seconds, abs=1)
    assert u32(await holding(client, 1808, 2)) == 1


async def test_unmapped_registers_read_not_available(
    served: tuple[Site, AsyncModbusTcpClient],
) -> None:
    """Gaps in a block read 0xFFFF, as GenComm's "not available"."""
    _, client = served
    assert await holding(client, 1037 + 2, 5) == [0xFFFF] * 5


async def test_control_keys_start_and_stop_the_engine(
    served: tuple[Site, AsyncModbusTcpClient],
) -> None:
    """Key + complement in one FC16 write: remote start runs the set, stop mode stops it."""
    site, client = served
    # Function n (key 35700 + n) at bit 15 - n % 16 of 4096 + n // 16 (Victron's DSE driver):
    # stop, auto, manual (0-2) are the top three bits of 4096; remote start and stop (32, 33)
    # the top two of 4098. Nothing else is flagged.
    support = await holding(client, 4096, 8)
    assert support == [0xE000, 0, 0xC000, 0, 0, 0, 0, 0]

    response = await client.write_registers(
        4104, [Key.REMOTE_START, 0xFFFF - Key.REMOTE_START], device_id=UNIT_GENERATOR
    )
    assert not response.isError()
    site.step(60)
    assert (await holding(client, 1408))[0] == 3
    assert site.generator_state == "running"

    await client.write_registers(4104, [Key.STOP_MODE, 0xFFFF - Key.STOP_MODE], device_id=1)
    assert (await holding(client, 772))[0] == 0
    site.step(10)
    assert (await holding(client, 1408))[0] == 0


async def test_a_key_with_a_wrong_complement_is_refused(
    served: tuple[Site, AsyncModbusTcpClient],
) -> None:
    """A garbled write does nothing and the client hears why."""
    site, client = served
    response = await client.write_registers(4104, [Key.REMOTE_START, 1234], device_id=1)
    assert isinstance(response, ExceptionResponse)
    response = await client.write_registers(1024, [1], device_id=1)
    assert response.isError()
    site.step(60)
    assert site.generator_state == "stopped"
    assert (await holding(client, 1408))[0] == 0


async def test_fail_to_start_shows_in_status_flags_and_named_alarms(
    served: tuple[Site, AsyncModbusTcpClient],
) -> None:
    """Shutdown flag at 774 bit 13, fail-to-start nibble = 3 at 39428."""
    site, client = served
    site.fail_next_start()
    site.press_key(Key.REMOTE_START)
    site.step(60)
    assert (await holding(client, 774))[0] & (1 << 13)
    alarms = await holding(client, 39424, 7)
    assert alarms[0] == 24
    assert (alarms[4] >> 8) & 0xF == 3  # 39428: charge alt., fail to start, fail to stop, close
    assert (alarms[1] >> 12) & 0xF == 1  # emergency stop: not active


async def test_grid_meter_reads_the_incomer(served: tuple[Site, AsyncModbusTcpClient]) -> None:
    """SDM630 float32 input registers: voltage, frequency, total power, energy."""
    site, client = served
    site.step(30)
    response = await client.read_input_registers(0, count=6, device_id=UNIT_GRID_METER)
    assert f32(response.registers[0:2]) == pytest.approx(230, abs=2.5)
    total = await client.read_input_registers(0x34, count=2, device_id=UNIT_GRID_METER)
    assert f32(total.registers) == pytest.approx(site.grid_power_kw * 1000, rel=0.01)
    freq = await client.read_input_registers(0x46, count=4, device_id=UNIT_GRID_METER)
    assert f32(freq.registers[0:2]) == pytest.approx(50, abs=0.05)
    assert f32(freq.registers[2:4]) == pytest.approx(site.grid_energy_kwh, rel=1e-6)


async def test_the_same_load_draws_the_same_current_from_the_grid_and_the_set(
    served: tuple[Site, AsyncModbusTcpClient],
) -> None:
    """The grid meter worked its phase current at power factor 1 and the controller at 0.8:
    the same loads read 25 % more amperes the moment the set took them over."""
    site, client = served
    site.step(30)
    power_on_grid = site.site_power_kw
    response = await client.read_input_registers(0x06, count=2, device_id=UNIT_GRID_METER)
    grid_amps = f32(response.registers)
    site.set_grid(False)
    site.step(120)
    assert site.generator.breaker_closed
    set_amps = u32(await holding(client, 1044, 2)) / 10
    # Amperes per kW: the loads' ±1 % wobble and the mains' ±2 V are not what is compared.
    assert grid_amps / power_on_grid == pytest.approx(set_amps / site.site_power_kw, rel=0.02)


async def test_relay_coils_switch_loads(served: tuple[Site, AsyncModbusTcpClient]) -> None:
    """Coil 2 is the freezers' relay: off over Modbus, and the freezers stop drawing."""
    site, client = served
    coils = await client.read_coils(0, count=4, device_id=UNIT_RELAYS)
    assert coils.bits[:4] == [True, True, True, True]
    assert not (await client.write_coil(2, False, device_id=UNIT_RELAYS)).isError()
    assert not site.loads["freezers"].on
    site.step(600)
    assert site.load_power_kw("freezers") == 0
    assert all(not f.powered for f in site.freezers.values())
    coils = await client.read_coils(0, count=4, device_id=UNIT_RELAYS)
    assert coils.bits[:4] == [True, True, False, True]
    coils = await client.read_coils(0, count=8, device_id=UNIT_RELAYS)
    assert coils.bits[4:8] == [True, False, False, False]  # the car wash, then spares
    assert (await client.read_coils(0, count=9, device_id=UNIT_RELAYS)).isError()


async def test_kall_serves_the_same_layout(socket_enabled: None) -> None:
    """Kall's manual mode reads 2 at 772 and its five relays are coils 0–4."""
    site = Site(KALL, START)
    port = free_port()
    server = await start_server(site, "127.0.0.1", port)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    try:
        assert await client.connect()
        assert (await holding(client, 772))[0] == 2
        coils = await client.read_coils(0, count=5, device_id=UNIT_RELAYS)
        assert coils.bits[:5] == [True, True, True, True, False]  # heater off
    finally:
        client.close()
        await server.shutdown()
