"""A silent controller is shown offline in Home Assistant, once, and comes back by itself.

A TCP proxy in front of a real pymodbus server refuses connections, swallows requests, or
accepts connections and closes them at once. Each time the site's generator goes unavailable
after the device's number of misses, one node_offline alarm is raised (and one node_online when
it is back), the site is not reloaded, and no traceback or pymodbus frame dump is logged. One
lost answer among good polls raises nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.diagnostics import async_get_config_entry_diagnostics
from custom_components.sot.modbus.profile import Profile, load_builtin
from custom_components.sot.site.demo_clock import CONF_DEMO_CLOCK
from custom_components.sot.site.events import EventType, SiteEvent

from ..helpers import grid_meter, site_entry, start_site, tcp_genset, wait_for, wait_for_state
from .encoding import encode
from .proxy import Mode, modbus_proxy
from .server import SimulatedDevice, dse_on_load_during_outage, tcp_server

MISSES = 2
# Fast enough for a test; the misses and the backoff work in polls, not seconds.
FAST = 0.3
STATE = "sensor.kall_generator_state"
RUN_HOURS = "sensor.kall_generator_run_hours"


def _quick(key: str) -> Profile:
    profile = load_builtin(key)
    return dataclasses.replace(profile, scan_intervals={"fast": FAST, "slow": 60.0})


def _genset(port: int) -> ConfigSubentryData:
    """The site's controller, offline after `MISSES` answers missed."""
    return tcp_genset(port, title="Kall genset", timeout=0.3, misses=MISSES)


def _site(port: int, **options: Any) -> MockConfigEntry:
    return site_entry(devices=[_genset(port)], **options)


def _node_events(events: list[SiteEvent]) -> list[str]:
    kinds = (EventType.NODE_OFFLINE, EventType.NODE_ONLINE)
    return [e.type.value for e in events if e.type in kinds]


@asynccontextmanager
async def _behind_a_proxy(
    hass: HomeAssistant, field: aiomqtt.Client, events: list[SiteEvent]
) -> AsyncIterator[tuple[MockConfigEntry, Any, Any]]:
    """A site whose DSE controller answers through a proxy that can fail, running and on
    load; its events go to `events`."""
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with (
            tcp_server({1: dse_on_load_during_outage()}) as port,
            modbus_proxy(port) as proxy,
        ):
            entry = _site(proxy.port)
            coordinator = await start_site(hass, field, entry)
            coordinator.async_add_event_listener(events.append)
            await wait_for_state(hass, STATE, "running")
            yield entry, coordinator, proxy


@pytest.mark.parametrize("failure", [Mode.REFUSE, Mode.BLACKHOLE, Mode.ACCEPT_CLOSE])
async def test_failing_gateway_shows_offline_once_and_recovers(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    socket_enabled: None,
    caplog: pytest.LogCaptureFixture,
    failure: Mode,
) -> None:
    caplog.set_level(logging.INFO)
    events: list[SiteEvent] = []
    async with _behind_a_proxy(mqtt_hass, field, events) as (entry, coordinator, proxy):
        # One lost answer among good polls: nothing to see, no alarm.
        proxy.drop(1)
        await wait_for(mqtt_hass, lambda: proxy.to_drop == 0, "the lost answer")
        await wait_for(mqtt_hass, lambda: proxy.answered >= 12, "good polls after it")
        assert mqtt_hass.states.get(STATE).state == "running"  # type: ignore[union-attr]
        assert _node_events(events) == []

        await proxy.set(failure)
        await wait_for_state(mqtt_hass, STATE, STATE_UNAVAILABLE, limit=20)
        report = await async_get_config_entry_diagnostics(mqtt_hass, entry)
        (bus,) = report["modbus"][0]["modbus_buses"]
        (device,) = bus["devices"]
        assert device["online"] is False
        assert device["failures_in_a_row"] >= MISSES
        assert _node_events(events) == ["node_offline"]
        # Still down for a while: no second alarm.
        failures = device["failures_in_a_row"]
        hub = coordinator.transports[0]
        await wait_for(
            mqtt_hass,
            lambda: _failures(hub) >= failures + 2,
            "more failed polls",
            limit=20,
        )
        assert _node_events(events) == ["node_offline"]

        await proxy.set(Mode.PASS)
        await wait_for_state(mqtt_hass, STATE, "running", limit=30)
        assert _node_events(events) == ["node_offline", "node_online"]
        assert entry.runtime_data is coordinator  # no reload
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)

    ours = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.sot.modbus") and r.levelno >= logging.INFO
    ]
    # Once each way, at info (Home Assistant's log-when-unavailable rule).
    assert ours == [
        f"Kall genset does not answer ({MISSES} polls in a row); shown offline: "
        + ours[0].split("shown offline: ")[1],
        "Kall genset answers again",
    ], ours
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.sot") and r.levelno >= logging.WARNING
    ]
    assert str(proxy.port) not in ours[0]
    assert not [r for r in caplog.records if r.exc_info]
    assert not [r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno > 20]


async def test_a_word_the_controller_cannot_give_goes_unavailable(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """The DSE's engine state 15 is "not available": the last `running` must not stay live
    while the controller answers on; a state it can give again is shown again."""
    genset = dse_on_load_during_outage()
    running = genset.value("holding", 1408)
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with tcp_server({1: genset}) as port:
            entry = _site(port, stale_timeout=2)
            await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, STATE, "running")
            genset.set("holding", 1408, [15])
            await wait_for_state(mqtt_hass, STATE, STATE_UNAVAILABLE, limit=20)
            genset.set("holding", 1408, [running])
            await wait_for_state(mqtt_hass, STATE, "running", limit=20)
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("code", [ExcCodes.DEVICE_FAILURE, ExcCodes.ILLEGAL_ADDRESS])
async def test_a_word_the_controller_refuses_to_read_goes_unavailable(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None, code: ExcCodes
) -> None:
    """A register answered with "device failure", or refused as not there and set aside for
    an hour, leaves no word live while the controller answers its other registers."""
    genset = dse_on_load_during_outage()
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with tcp_server({1: genset}) as port:
            entry = _site(port, stale_timeout=2)
            await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, STATE, "running")
            genset.failing[1408] = code
            await wait_for_state(mqtt_hass, STATE, STATE_UNAVAILABLE, limit=20)
            # The controller itself is online: its other figures stay live.
            assert mqtt_hass.states.get("sensor.kall_generator_power").state != STATE_UNAVAILABLE
            if code is ExcCodes.DEVICE_FAILURE:
                del genset.failing[1408]
                await wait_for_state(mqtt_hass, STATE, "running", limit=20)
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_sdm120_on_the_grid_side_is_an_outage(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """An SDM120 takes its own supply from the line it measures (Eastron's manual: "self-power
    supplied ... does not need to input a auxiliary power supply"): when the grid goes, it
    falls silent while its gateway answers on. That is an outage, not a grid of unknown state."""
    profile = load_builtin("eastron_sdm120")
    served = {"voltage": 231.0, "power": 1.2, "frequency": 50.0, "energy": 1234.5}
    registers = {f.address: encode(f, served[f.quantity]) for f in profile.fields}
    meter = SimulatedDevice(input=registers)
    events: list[SiteEvent] = []
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with tcp_server({1: meter}, framer=FramerType.RTU) as port:
            meter_settings = grid_meter(port, timeout=0.3, misses=MISSES)
            entry = site_entry(devices=[meter_settings])
            coordinator = await start_site(mqtt_hass, field, entry)
            coordinator.async_add_event_listener(events.append)
            await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
            await wait_for_state(mqtt_hass, "sensor.kall_grid_voltage", "231.0")

            meter.unplug()
            await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off", limit=20)
            await wait_for_state(mqtt_hass, "sensor.kall_power_source", "none")
            assert EventType.GRID_LOST in [e.type for e in events]

            meter.plug_in()
            await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on", limit=90)
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_on_the_demo_clock_the_slow_counters_follow_storm_time(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """At 20× a once-a-minute counter (run hours) would lag twenty storm minutes behind the
    set: on the demo's clock every scan group is asked that much more often (never faster
    than the fastest group)."""
    genset = dse_on_load_during_outage()
    fast = {"fast": 1.0, "slow": 60.0}
    with patch(
        "custom_components.sot.modbus_hub.load_builtin",
        lambda key: dataclasses.replace(load_builtin(key), scan_intervals=fast),
    ):
        async with tcp_server({1: genset}) as port:
            clock = {"speed": 20.0, "since": dt_util.utcnow().isoformat()}
            entry = site_entry(devices=[_genset(port)], data={CONF_DEMO_CLOCK: clock})
            await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, RUN_HOURS, "12.5")
            genset.set("holding", 1798, [0, 46800])  # 13.0 h
            await wait_for_state(mqtt_hass, RUN_HOURS, "13.0", limit=10)
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


def _failures(hub: Any) -> int:
    (bus,) = hub.diagnostics()["modbus_buses"]
    failures: int = bus["devices"][0]["failures_in_a_row"]
    return failures


async def test_diagnostics_do_not_show_the_bus_address(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        entry = _site(port)
        await start_site(mqtt_hass, field, entry)
        await wait_for_state(mqtt_hass, STATE, "running")
        report = await async_get_config_entry_diagnostics(mqtt_hass, entry)
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    text = repr(report)
    assert "127.0.0.1" not in text
    assert f":{port}" not in text
    (bus,) = report["modbus"][0]["modbus_buses"]
    assert bus["connection"] == "tcp"
    (subentry,) = report["entry"]["subentries"]
    assert subentry["host"] == "**REDACTED**"


async def test_a_register_the_device_lacks_is_not_logged_again_after_a_reload(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    socket_enabled: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The controller has no fuel rate register: that is logged once, as at its hourly retry,
    and not again when the site is reloaded."""
    genset = dse_on_load_during_outage(holes=[1290, 1291])
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with tcp_server({1: genset}) as port:
            entry = _site(port)
            await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, STATE, "running")
            assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
            hub = entry.runtime_data.transports[0]
            await wait_for(mqtt_hass, lambda: _quarantined(hub), "the register asked for again")
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    lacking = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "has no holding 1290" in r.getMessage()
    ]
    assert len(lacking) == 1, [r.getMessage() for r in lacking]


def _quarantined(hub: Any) -> bool:
    (bus,) = hub.diagnostics()["modbus_buses"]
    return bool(bus["devices"][0]["quarantined"])


async def test_a_reload_while_the_controller_is_silent_logs_its_outage_once(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    socket_enabled: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The controller stops answering, the site is reloaded, then the controller is back: the
    log says once that it went offline and once that it is back; no alarm is raised again."""
    caplog.set_level(logging.INFO)
    events: list[SiteEvent] = []
    async with _behind_a_proxy(mqtt_hass, field, events) as (entry, _, proxy):
        await proxy.set(Mode.REFUSE)
        await wait_for_state(mqtt_hass, STATE, STATE_UNAVAILABLE, limit=20)
        assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
        reloaded = entry.runtime_data
        reloaded.async_add_event_listener(events.append)
        hub = reloaded.transports[0]
        await wait_for(mqtt_hass, lambda: _failures(hub) >= MISSES, "misses", limit=20)
        assert mqtt_hass.states.get(STATE).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
        await proxy.set(Mode.PASS)
        await wait_for_state(mqtt_hass, STATE, "running", limit=30)
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    assert _node_events(events) == ["node_offline", "node_online"]
    ours = [
        r.getMessage().split(";")[0]
        for r in caplog.records
        if r.name.startswith("custom_components.sot.modbus") and r.levelno >= logging.INFO
    ]
    assert ours == [
        f"Kall genset does not answer ({MISSES} polls in a row)",
        "Kall genset answers again",
    ]
