"""A value read over Modbus is stale by its own polling schedule, not only by the setting.

A counter on the slow scan group (the DSE's run hours, once a minute) is read less often than
the shortest *Data is stale after* the form allows (30 s); a grid-side meter's "grid off",
concluded from its silence, comes again only at the offline device's retry (once a minute).
Neither may show unavailable between two reads of it. What stops coming still goes
unavailable: a register the controller refuses after twice its interval and the answer
timeout, a controller that stops answering once it is offline.

Times are shortened (the slow group 2 s, the retry 2 s, staleness 1 s); the coordinator's
tick, which moves staleness along every 15 s, is run every 0.1 s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta
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

from custom_components.sot.coordinator import SiteCoordinator
from custom_components.sot.modbus.client import TcpSettings
from custom_components.sot.modbus.poller import BusPoller, DeviceSettings
from custom_components.sot.modbus.profile import Profile, load_builtin
from custom_components.sot.site.events import EventType, SiteEvent
from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readings import Reading

from ..helpers import grid_meter, site_entry, start_site, tcp_genset, wait_for_state
from .encoding import encode
from .proxy import Mode, modbus_proxy
from .server import SimulatedDevice, dse_on_load_during_outage, tcp_server

FAST = 0.3
SLOW = 2.0
TIMEOUT = 0.3
MISSES = 2
STALE = 1  # s, the site's setting
RUN_HOURS = "sensor.kall_generator_run_hours"
GRID = "binary_sensor.kall_grid_present"
# Twice the slow interval and the answer timeout: how long a slow value is live.
SLOW_BOUND = 2 * SLOW + TIMEOUT


def _quick(key: str) -> Profile:
    return dataclasses.replace(load_builtin(key), scan_intervals={"fast": FAST, "slow": SLOW})


def _entry(device: ConfigSubentryData) -> MockConfigEntry:
    return site_entry(devices=[device], stale_timeout=STALE)


def _genset(port: int) -> ConfigSubentryData:
    """The site's controller, offline after `MISSES` answers missed."""
    return tcp_genset(port, title="Kall genset", timeout=TIMEOUT, misses=MISSES)


async def _watch(
    hass: HomeAssistant, coordinator: SiteCoordinator, entity_id: str, seconds: float
) -> list[str]:
    """What the entity shows over `seconds`, with staleness moved along every 0.1 s."""
    seen: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        coordinator._tick(dt_util.utcnow())
        await asyncio.sleep(0.1)
        state = hass.states.get(entity_id)
        seen.append(state.state if state else "nothing")
    return seen


async def _until(
    hass: HomeAssistant, coordinator: SiteCoordinator, entity_id: str, shown: str, limit: float
) -> float:
    """Seconds until the entity shows `shown` (ticking as `_watch` does); fails after `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        coordinator._tick(dt_util.utcnow())
        state = hass.states.get(entity_id)
        if state is not None and state.state == shown:
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    state = hass.states.get(entity_id)
    raise AssertionError(f"{entity_id} still shows {state.state if state else 'nothing'}")


async def test_a_slow_counter_stays_available_between_its_reads(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    genset = dse_on_load_during_outage()
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with tcp_server({1: genset}) as port:
            entry = _entry(_genset(port))
            coordinator = await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, RUN_HOURS, "12.5")
            # Three slow reads, each further apart than the staleness setting.
            seen = await _watch(mqtt_hass, coordinator, RUN_HOURS, 3 * SLOW)
            assert set(seen) == {"12.5"}, seen

            # A counter the controller stops giving goes unavailable within its bound.
            genset.failing[1798] = ExcCodes.DEVICE_FAILURE
            took = await _until(mqtt_hass, coordinator, RUN_HOURS, STATE_UNAVAILABLE, 3 * SLOW)
            assert took <= SLOW_BOUND + 0.5
            # The controller answers on: its fast figures stay.
            assert mqtt_hass.states.get("sensor.kall_generator_power").state != STATE_UNAVAILABLE
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_controller_takes_its_slow_counter_down_when_offline(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """Not after the slow counter's own bound: as soon as the controller is shown offline,
    its number of misses in a row at the fast interval."""
    with patch("custom_components.sot.modbus_hub.load_builtin", _quick):
        async with (
            tcp_server({1: dse_on_load_during_outage()}) as port,
            modbus_proxy(port) as proxy,
        ):
            entry = _entry(_genset(proxy.port))
            coordinator = await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, RUN_HOURS, "12.5")
            await proxy.set(Mode.BLACKHOLE)
            took = await _until(mqtt_hass, coordinator, RUN_HOURS, STATE_UNAVAILABLE, 10)
            assert took <= MISSES * (FAST + TIMEOUT) + 1.0
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_a_silent_grid_meter_shows_the_grid_off_without_flicker(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """The SDM120 on a dead grid is asked again once per retry (shortened to 2 s): its
    "grid off" holds between the retries; when its gateway is gone it goes unavailable
    within twice the retry and the timeout."""
    profile = load_builtin("eastron_sdm120")
    served = {"voltage": 231.0, "power": 1.2, "frequency": 50.0, "energy": 1234.5}
    meter = SimulatedDevice(
        input={f.address: encode(f, served[f.quantity]) for f in profile.fields}
    )
    retry = 2.0
    with (
        patch("custom_components.sot.modbus_hub.load_builtin", _quick),
        patch("custom_components.sot.modbus.poller.BACKOFF_CAP_SECONDS", retry),
    ):
        async with (
            tcp_server({1: meter}, framer=FramerType.RTU) as port,
            modbus_proxy(port) as proxy,
        ):
            entry = _entry(grid_meter(proxy.port, timeout=TIMEOUT, misses=MISSES))
            coordinator = await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, GRID, "on")

            meter.unplug()
            await _until(mqtt_hass, coordinator, GRID, "off", 20)
            # Past the backoff's first steps, then three retries: off throughout.
            await asyncio.sleep(2 * retry)
            seen = await _watch(mqtt_hass, coordinator, GRID, 3 * retry)
            assert set(seen) == {"off"}, seen

            # The gateway gone: the grid is not known to be off any more.
            await proxy.set(Mode.REFUSE)
            took = await _until(mqtt_hass, coordinator, GRID, STATE_UNAVAILABLE, 4 * retry)
            assert took <= 2 * retry + TIMEOUT + 0.5
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


def test_a_drain_is_told_from_a_tank_gauge_read_every_30_s_under_a_30_s_staleness() -> None:
    """The tank gauge's profile reads it every 30 s; a poll never comes sooner, so two of its
    readings are a little more than 30 s apart. With *Data is stale after* at 30 s that is no
    gap in the gauge's readings: a level falling while the set stands still is a drain."""
    gauge = DeviceSettings(id="gauge", profile=load_builtin("tank_gauge"))
    poller = BusPoller(TcpSettings(host="127.0.0.1"), [gauge])
    site = Site(Settings(tank_capacity=1200.0, stale_timeout=timedelta(seconds=30)))
    for key, spans in poller.read_every().items():  # as the site's Modbus hub does
        site.polled[key] = {quantity: timedelta(seconds=s) for quantity, s in spans.items()}
    start = dt_util.utcnow()
    events: list[SiteEvent] = []
    litres = 800.0
    for step in range(200):
        now = start + timedelta(seconds=30.2 * step)
        if 60 <= step < 91:
            litres -= 1.0
        site.apply([Reading("generator", "main", "state", "stopped", now)], now)
        events += site.apply([Reading("tank", "main", "volume", litres, now)], now, node="gauge")
    assert [e.type for e in events].count(EventType.FUEL_DRAIN) == 1
    (logged,) = site.fuel.estimate.drains
    assert logged.litres == pytest.approx(31.0, abs=0.5)
