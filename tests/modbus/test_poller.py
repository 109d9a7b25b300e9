"""The Modbus poller against real pymodbus servers: TCP on loopback, RTU over a pty pair.

Each test serves the registers a real controller or meter would hold and checks the readings,
availability and writes that reach the rest of SOT Monitor.
"""

from __future__ import annotations

import asyncio
import struct
import time
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.sot.modbus.client import SerialSettings, TcpSettings
from custom_components.sot.modbus.poller import (
    DEFAULT_MISSES,
    BusPoller,
    CommandError,
    DeviceSettings,
    PollResult,
)
from custom_components.sot.modbus.profile import load_builtin, parse_profile
from custom_components.sot.modbus_hub import on_demo_clock
from custom_components.sot.site.model import Site
from custom_components.sot.site.readings import Command, RejectReason

from .polling import Clock, dse_settings, values_of
from .server import SimulatedDevice, dse_on_load_during_outage, rtu_server, tcp_server

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
FAST_TIMEOUT = 0.3


def _online(result: PollResult) -> dict[str, bool]:
    return {status.node: status.online for status in result.statuses}


async def test_deep_sea_controller_feeds_generator_grid_and_tank(socket_enabled: None) -> None:
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings()])
        try:
            result = await poller.poll(NOW)
        finally:
            await poller.close()
    assert result.rejections == []
    assert _online(result) == {"genset": True}
    assert values_of(result) == {
        "generator/main/mode": "auto",
        "generator/main/alarm": "ok",
        "generator/main/oil_pressure": 345.0,
        "generator/main/coolant_temperature": 82.0,
        "tank/main/level": 64.0,
        "generator/main/battery_voltage": 13.8,
        "generator/main/speed": 1500.0,
        "generator/main/frequency": 50.0,
        "generator/main/voltage": 230.1,
        "generator/main/current": 35.2,
        "grid/main/frequency": 0.0,
        # No "present": the site decides it from the voltage, with its own threshold.
        "grid/main/voltage": 0.0,
        "generator/main/fuel_rate": 7.9,
        "generator/main/state": "running",
        "generator/main/power": 23.5,
        "generator/main/load": 42.0,
        "generator/main/run_hours": 12.5,
        "generator/main/energy": 123.4,
        "generator/main/starts": 17.0,
    }
    assert all(r.time == NOW for r in result.readings)
    # Nineteen values in seven reads (six fast blocks, one slow), not nineteen.
    assert poller.diagnostics()["requests"] == 7


async def test_component_ids_come_from_the_device_settings(socket_enabled: None) -> None:
    settings = dse_settings(components={"generator": "kall", "mains": None, "fuel": "diesel"})
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        result = await poller.poll(NOW)
        await poller.close()
    values = values_of(result)
    assert values["generator/kall/power"] == 23.5
    assert values["tank/diesel/level"] == 64.0
    assert not [key for key in values if key.startswith("grid/")]
    assert poller.components == [("generator", "kall"), ("tank", "diesel")]
    assert poller.node_of("tank", "diesel") == "genset"


async def test_slow_group_waits_for_its_interval(socket_enabled: None) -> None:
    clock = Clock()
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings()], clock=clock)
        first = await poller.poll(NOW)
        clock.now += 5
        second = await poller.poll(NOW)
        clock.now += 2
        third = await poller.poll(NOW)
        clock.now += 60
        fourth = await poller.poll(NOW)
        await poller.close()
    assert "generator/main/run_hours" in values_of(first)
    assert "generator/main/power" in values_of(second)
    assert "generator/main/run_hours" not in values_of(second)
    assert third.readings == []  # nothing due two seconds later
    assert third.statuses == []
    assert values_of(fourth)["generator/main/run_hours"] == 12.5


async def test_missing_registers_are_split_out_then_dropped(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A controller without an ECU (no fuel rate) and with a hole inside the engine page."""
    device = dse_on_load_during_outage(holes=[1290, 1291, 1040])
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings()])
        first = await poller.poll(NOW)
        await poller.close()
    values = values_of(first)
    # Everything the controller has still arrives, including the engine page around the hole.
    assert values["generator/main/oil_pressure"] == 345.0
    assert values["generator/main/voltage"] == 230.1
    assert values["generator/main/power"] == 23.5
    assert "generator/main/fuel_rate" not in values
    (rejection,) = first.rejections
    assert rejection.reason is RejectReason.DEVICE_ERROR
    assert "holding 1290 (generator/fuel_rate): not supported" in rejection.detail
    assert "genset has no holding 1290" in caplog.text
    diagnostics = poller.diagnostics()["devices"][0]
    assert diagnostics["quarantined"] == {"holding 1290 (generator/fuel_rate)": 3600}
    assert diagnostics["split_blocks"] == 1
    assert diagnostics["errors"] == {"illegal_data_address": 2}


async def test_dropped_register_is_not_asked_again(socket_enabled: None) -> None:
    clock = Clock()
    device = dse_on_load_during_outage(holes=[1290, 1291])
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings()], clock=clock)
        await poller.poll(NOW)
        asked = poller.diagnostics()["requests"]
        device.set("holding", 1537, [24000])
        clock.now += 5
        second = await poller.poll(NOW)
        await poller.close()
    assert second.rejections == []
    assert values_of(second)["generator/main/power"] == 24.0
    # Five fast reads now: the refused one is gone from the plan.
    assert poller.diagnostics()["requests"] - asked == 5


async def test_device_going_silent_and_coming_back(socket_enabled: None) -> None:
    clock = Clock()
    device = dse_on_load_during_outage()
    async with tcp_server({1: device}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port, timeout=FAST_TIMEOUT),
            [dse_settings()],
            clock=clock,
        )
        assert _online(await poller.poll(NOW)) == {"genset": True}
    # The controller's network is gone: offline after three misses, and no value is passed
    # on as fresh meanwhile.
    started = time.monotonic()
    silent = []
    for _ in range(DEFAULT_MISSES):
        clock.now += 5
        silent.append(await poller.poll(NOW))
    assert time.monotonic() - started < 2 * DEFAULT_MISSES
    assert [_online(result) for result in silent] == [{}, {}, {"genset": False}]
    assert all(result.readings == [] for result in silent)
    async with tcp_server({1: device}, port=port):
        clock.now += 5
        back = await poller.poll(NOW)
        await poller.close()
    assert _online(back) == {"genset": True}
    assert values_of(back)["generator/main/state"] == "running"


async def test_silent_unit_does_not_take_the_bus_down(socket_enabled: None) -> None:
    """Two devices behind one gateway; the meter at unit 2 has lost power."""
    devices = [
        dse_settings(components={"mains": None}),
        DeviceSettings(id="meter", profile=load_builtin("eastron_sdm120"), unit=2, misses=1),
    ]
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port, timeout=FAST_TIMEOUT), devices)
        result = await poller.poll(NOW)
        await poller.close()
    assert _online(result) == {"genset": True, "meter": False}
    assert values_of(result)["generator/main/power"] == 23.5


async def test_silent_pzem_means_the_grid_is_down(socket_enabled: None) -> None:
    """A PZEM is powered by the mains it measures: on a dead grid it stops answering."""
    clock = Clock()
    pzem = SimulatedDevice(input={0: [2301, 0, 0, 12345, 0, 5000, 0, 500, 100, 0]})
    settings = DeviceSettings(id="grid-meter", profile=load_builtin("pzem_004t"))
    async with tcp_server({1: pzem}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port, timeout=FAST_TIMEOUT), [settings], clock=clock
        )
        live = await poller.poll(NOW)
        pzem.unplug()
        silence = []
        for _ in range(DEFAULT_MISSES):
            clock.now += 5
            silence.append(await poller.poll(NOW))
    # The gateway itself is gone: that says nothing about the grid.
    for _ in range(2):
        clock.now += 60  # past the backoff
        gateway_down = await poller.poll(NOW)
        assert _online(gateway_down) == {"grid-meter": False}
        assert gateway_down.readings == []
    await poller.close()
    # Misses before the last say nothing; silence in a row, on a bus that answered a
    # reconnect each time, is the meter's: the grid is down.
    assert [_online(r) for r in silence] == [{}, {}, {"grid-meter": False}]
    assert silence[0].readings == silence[1].readings == []
    assert values_of(live) == {
        "grid/main/voltage": 230.1,
        "grid/main/power": pytest.approx(1.2345),
        "grid/main/energy": 5.0,
        "grid/main/frequency": 50.0,
    }
    assert values_of(silence[-1]) == {"grid/main/present": False}


async def test_the_grid_is_back_when_the_silent_pzem_answers_again(socket_enabled: None) -> None:
    """The meter's silence said the grid was gone; its answer with 229 V says it is back.

    The poller's results go into the site model as the hub delivers them (statuses first)."""
    clock = Clock()
    pzem = SimulatedDevice(input={0: [2290, 0, 0, 5000, 0, 1000, 0, 499, 95, 0]})
    site = Site()
    seen: dict[str, bool] = {}
    now = NOW

    def deliver(result: PollResult) -> bool | None:
        for status in result.statuses:
            if seen.get(status.node) is not status.online:
                seen[status.node] = status.online
                site.set_node(status)
        for node, (readings, _) in result.by_node.items():
            if readings:
                site.apply(readings, max(r.time for r in readings), node=node)
        return site.power.grid_present(now)

    async with tcp_server({1: pzem}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port, timeout=FAST_TIMEOUT),
            [DeviceSettings(id="meter", profile=load_builtin("pzem_004t"))],
            clock=clock,
        )
        assert deliver(await poller.poll(now)) is True
        pzem.unplug()
        for _ in range(DEFAULT_MISSES):
            clock.now += 5
            now += timedelta(seconds=5)
            down = deliver(await poller.poll(now))
        assert down is False
        pzem.plug_in()
        for _ in range(2):
            clock.now += 60
            now += timedelta(seconds=60)
            back = deliver(await poller.poll(now))
        await poller.close()
    assert seen == {"meter": True}
    assert back is True


async def test_tank_gauge_reports_its_level(socket_enabled: None) -> None:
    gauge = SimulatedDevice(holding={0: [645, 774]})
    settings = DeviceSettings(id="gauge", profile=load_builtin("tank_gauge"), unit=7)
    async with tcp_server({7: gauge}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        result = await poller.poll(NOW)
        await poller.close()
    assert values_of(result) == {"tank/main/level": 64.5, "tank/main/volume": 774.0}


async def test_out_of_range_register_is_refused_not_shown(socket_enabled: None) -> None:
    gauge = SimulatedDevice(holding={0: [1500, 774]})  # 150 % full
    settings = DeviceSettings(id="gauge", profile=load_builtin("tank_gauge"))
    async with tcp_server({1: gauge}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        result = await poller.poll(NOW)
        await poller.close()
    assert values_of(result) == {"tank/main/volume": 774.0}
    (rejection,) = result.rejections
    assert rejection.reason is RejectReason.OUT_OF_RANGE
    assert rejection.source == "modbus gauge"
    assert rejection.quantity == ("tank", "main", "level")


async def test_deep_sea_remote_start_writes_the_control_key(socket_enabled: None) -> None:
    device = dse_on_load_during_outage()
    async with tcp_server({1: device}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port), [dse_settings(control_enabled=True)]
        )
        await poller.execute(Command("generator", "main", "start"))
        start = (device.value("holding", 4104), device.value("holding", 4105))
        await poller.execute(Command("generator", "main", "mode_manual"))
        manual = (device.value("holding", 4104), device.value("holding", 4105))
        with pytest.raises(CommandError) as unknown:
            await poller.execute(Command("generator", "main", "self_destruct"))
        with pytest.raises(CommandError) as elsewhere:
            await poller.execute(Command("load", "heater", "turn_on"))
        await poller.close()
    assert start == (35732, 29803)
    assert manual == (35702, 29833)
    assert unknown.value.reason == "action_not_supported"
    assert elsewhere.value.reason == "unknown_component"
    assert not poller.owns("load", "heater")
    assert poller.owns("generator", "main")


async def test_relay_command_switches_the_coil_and_reads_it_back(socket_enabled: None) -> None:
    clock = Clock()
    relays = SimulatedDevice(coils={0: [False] * 8})
    settings = DeviceSettings(
        id="relays",
        profile=load_builtin("relay_8ch"),
        components={"relay1": "freezer-1", "relay3": "heater"},
    )
    async with tcp_server({1: relays}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings], clock=clock)
        before = await poller.poll(NOW)
        await poller.execute(Command("load", "heater", "turn_on"))
        coil = relays.value("coils", 2)
        # Read back at once, not after the group's interval.
        after = await poller.poll(NOW)
        await poller.execute(Command("load", "heater", "turn_off"))
        await poller.close()
    assert values_of(before)["load/heater/state"] is False
    assert coil == 1
    assert values_of(after)["load/heater/state"] is True
    assert values_of(after)["load/freezer-1/state"] is False
    assert relays.value("coils", 2) == 0
    # Only the relays that were given a load are read.
    assert len(before.readings) == 8


async def test_command_to_an_unreachable_device(socket_enabled: None) -> None:
    async with tcp_server({}) as port:
        pass
    poller = BusPoller(
        TcpSettings(host="127.0.0.1", port=port), [dse_settings(control_enabled=True)]
    )
    with pytest.raises(CommandError) as caught:
        await poller.execute(Command("generator", "main", "stop"))
    await poller.close()
    assert caught.value.reason == "unreachable"


def test_settings_are_checked() -> None:
    dse = load_builtin("deep_sea_gencomm")
    tcp = TcpSettings(host="127.0.0.1")
    with pytest.raises(ValueError, match="fed by two devices"):
        BusPoller(
            tcp, [DeviceSettings(id="a", profile=dse), DeviceSettings(id="b", profile=dse, unit=2)]
        )
    with pytest.raises(ValueError, match="not a unique unit id"):
        BusPoller(
            tcp,
            [
                DeviceSettings(id="a", profile=dse),
                DeviceSettings(
                    id="b", profile=load_builtin("tank_gauge"), components={"tank": "t2"}
                ),
            ],
        )
    with pytest.raises(ValueError, match="device id 'Gen Set' is not a unique id"):
        BusPoller(tcp, [DeviceSettings(id="Gen Set", profile=dse)])
    with pytest.raises(ValueError, match="component id 'Main' is not an id"):
        BusPoller(tcp, [DeviceSettings(id="a", profile=dse, components={"generator": "Main"})])


async def test_smartgen_and_pzem_on_one_rtu_line() -> None:
    """An RS-485 line with a SmartGen controller (unit 3) and a grid-side PZEM (unit 1)."""
    # Mains L1-L3, mains Hz, generator L1-L3, generator Hz, coolant, oil, fuel, rpm, battery, kW.
    readings = {0: 229, 1: 230, 2: 231, 6: 499, 7: 230, 8: 231, 9: 229, 13: 500, 17: 78,
                19: 310, 21: 55, 23: 1500, 24: 135, 26: 186}  # fmt: skip
    smartgen = SimulatedDevice(
        holding={0: [readings.get(address, 0) for address in range(27)]},
        coils={0: [False] * 70},
    )
    pzem = SimulatedDevice(input={0: [2290, 0, 0, 5000, 0, 1000, 0, 499, 95, 0]})
    async with rtu_server({3: smartgen, 1: pzem}) as port:
        clock = Clock()
        poller = BusPoller(
            SerialSettings(port=port, baudrate=9600, timeout=FAST_TIMEOUT),
            clock=clock,
            devices=[
                DeviceSettings(
                    id="smartgen",
                    profile=load_builtin("smartgen_hgm6100"),
                    unit=3,
                    components={"mains": None},
                    control_enabled=True,
                ),
                DeviceSettings(id="pzem", profile=load_builtin("pzem_004t"), unit=1),
            ],
        )
        result = await poller.poll(NOW)
        await poller.execute(Command("generator", "main", "start"))
        started = smartgen.value("coils", 0)
        # The grid fails: the PZEM loses power and falls silent; the controller answers on.
        pzem.unplug()
        outage = []
        for _ in range(DEFAULT_MISSES):
            clock.now += 5
            outage.append(await poller.poll(NOW))
        await poller.close()
    assert _online(outage[-1]) == {"smartgen": True, "pzem": False}
    assert values_of(outage[-1])["grid/main/present"] is False
    assert values_of(outage[-1])["generator/main/power"] == 18.6
    assert result.rejections == []
    assert _online(result) == {"smartgen": True, "pzem": True}
    assert values_of(result) == {
        "generator/main/alarm": "ok",
        "generator/main/voltage": 230.0,
        "generator/main/frequency": 50.0,
        "generator/main/coolant_temperature": 78.0,
        "generator/main/oil_pressure": 310.0,
        "tank/main/level": 55.0,
        "generator/main/speed": 1500.0,
        "generator/main/battery_voltage": 13.5,
        "generator/main/power": 18.6,
        "grid/main/voltage": 229.0,
        "grid/main/power": 0.5,
        "grid/main/energy": 1.0,
        "grid/main/frequency": 49.9,
    }
    assert started == 1


async def test_unplugged_serial_adapter_is_offline_not_a_crash() -> None:
    poller = BusPoller(
        SerialSettings(port="/dev/ttyUSB-unplugged", timeout=FAST_TIMEOUT),
        [DeviceSettings(id="pzem", profile=load_builtin("pzem_004t"), misses=1)],
    )
    result = await poller.poll(NOW)
    await poller.close()
    assert _online(result) == {"pzem": False}
    assert result.readings == []  # an unplugged adapter is not a dead grid
    assert poller.diagnostics()["connected"] is False


async def test_cancelling_a_poll_in_flight_stops_it(socket_enabled: None) -> None:
    """A site being unloaded must not wait out, or swallow, a request to a silent device."""
    async with tcp_server({}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port, timeout=5),
            [DeviceSettings(id="pzem", profile=load_builtin("pzem_004t"))],
        )
        task = asyncio.create_task(poller.poll(NOW))
        await asyncio.sleep(0.2)  # the request is out, its answer will never come
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1
        await poller.close()


@pytest.mark.parametrize(
    ("profile", "speed", "expected"),
    [
        # At 20× the DSE's run hours (60 s) are read every 5 s, its fast group as before.
        ("deep_sea_gencomm", 20.0, {"fast": 5.0, "slow": 5.0}),
        # A tank gauge polled every 30 s is asked every 5 s: 100 storm seconds, not 10 minutes.
        ("tank_gauge", 20.0, {"fast": 5.0, "slow": 5.0}),
        # At 2× nothing is asked faster than twice as often.
        ("tank_gauge", 2.0, {"fast": 15.0, "slow": 30.0}),
    ],
)
def test_on_the_demo_clock_scan_groups_follow_storm_time(
    profile: str, speed: float, expected: dict[str, float]
) -> None:
    device = DeviceSettings(id="dev", profile=load_builtin(profile))
    assert dict(on_demo_clock(device, speed).scan_intervals) == expected


async def test_a_nan_float_is_refused_not_read_as_off(socket_enabled: None) -> None:
    """A meter's NaN float ("no reading") turned into on/off with `above` is refused and
    counted like any NaN, not shown as a pump that is off."""
    profile = parse_profile(
        "name: Pump meter\ncomponents: {pump: load}\n"
        "registers:\n"
        "  - {function: holding, address: 0, type: f32, scale: 0.001, unit: kW, quantity: power}\n"
        "  - {function: holding, address: 0, type: f32, above: 100, quantity: state}\n",
        "pump_meter",
    )
    nan = list(struct.unpack(">HH", struct.pack(">f", float("nan"))))
    settings = DeviceSettings(id="pump", profile=profile)
    async with tcp_server({1: SimulatedDevice(holding={0: nan})}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        try:
            result = await poller.poll(NOW)
        finally:
            await poller.close()
    assert _online(result) == {"pump": True}
    assert values_of(result) == {}
    assert sorted(r.reason for r in result.rejections) == [RejectReason.NOT_FINITE] * 2
    assert poller.diagnostics()["devices"][0]["rejected"] == {"not_finite": 2}


async def test_a_missing_register_is_logged_under_the_device_title(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The log names a device as Home Assistant shows it, also for a register it lacks."""
    device = dse_on_load_during_outage(holes=[1290, 1291, 1040])
    settings = dse_settings(title="Kall genset")
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [settings])
        try:
            await poller.poll(NOW)
        finally:
            await poller.close()
    assert "Kall genset refused holding" in caplog.text
    assert "Kall genset has no holding 1290" in caplog.text
