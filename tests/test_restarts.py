"""A restart, a reload or a settings change loses nothing and raises nothing twice.

The site is mid-storm: the grid is gone, generator `main` runs with its controller's energy
counter at 45,231 kWh and no run-hours counter of its own (so the model estimates them),
generator `b` has shut down on a fault, freezer f1 is in warning. Then the site is reloaded,
its settings changed, reconfigured, and a Modbus device added. The recorder runs throughout and
compiles statistics; nothing is published again in between, as a quiet site would not.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)

from custom_components.sot.const import EVENT_ALARM, SUBENTRY_MODBUS
from custom_components.sot.coordinator import SiteCoordinator

from .helpers import heard, site_entry, start_site, wait_for, wait_for_state, wait_until_subscribed

ENERGY = "sensor.kall_generator_energy"
RUN_HOURS = "sensor.kall_generator_run_hours_estimated"
ALARMS = "event.kall_alarms"
SHOWN = (
    "binary_sensor.kall_on_backup_power",
    "binary_sensor.kall_grid_present",
    "sensor.kall_power_source",
    "sensor.kall_generator_state",
    "sensor.kall_generator_b_state",
    "sensor.kall_generator_b_alarm",
    ENERGY,
    "sensor.kall_freezer_f1_temperature",
    "sensor.kall_freezer_f1_status",
    "sensor.kall_tank_level",
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database is chosen before Home Assistant starts, as the recorder needs."""
    return


async def _reload(hass: HomeAssistant, entry: Any) -> None:
    assert await hass.config_entries.async_reload(entry.entry_id)


async def _options(hass: HomeAssistant, entry: Any) -> None:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {**entry.options, "fuel_low_hours": 6.0}
    )


async def _reconfigure(hass: HomeAssistant, entry: Any) -> None:
    result = await entry.start_reconfigure_flow(hass)
    await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall skola", "base_topic": "sot/kall"}
    )


async def _add_modbus_device(hass: HomeAssistant, entry: Any) -> None:
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={
                "device_id": "meter",
                "profile": "eastron_sdm120",
                "connection": "tcp",
                "host": "127.0.0.1",
                "port": 1,
                "unit": 1,
                "components": {"meter": "meter"},
            },
            subentry_type=SUBENTRY_MODBUS,
            title="Grid meter",
            unique_id="meter",
        ),
    )


CHANGES: dict[str, Callable[[HomeAssistant, Any], Awaitable[None]]] = {
    "reload": _reload,
    "options": _options,
    "reconfigure": _reconfigure,
    "modbus_device_added": _add_modbus_device,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_mid_storm_state_survives(
    recorder_mock: Recorder,
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    change: str,
) -> None:
    started = dt_util.utcnow()
    entry = site_entry(alarm_delay=0, stale_timeout=3600)
    await start_site(mqtt_hass, field, entry)
    raised: Counter[str] = Counter()
    counters: dict[str, list[float]] = {ENERGY: [], RUN_HOURS: []}

    @callback
    def watch(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None:
            return
        old = event.data["old_state"]
        # A new alarm, as the alerts blueprint tells one: a new timestamp, not the last event
        # restored after the entity was unavailable during a reload.
        if (
            new.entity_id == ALARMS
            and old is not None
            and old.state != "unavailable"
            and new.state not in ("unavailable", "unknown", old.state)
        ):
            raised[new.attributes["event_type"]] += 1
        if new.entity_id in counters and new.state not in ("unavailable", "unknown"):
            counters[new.entity_id].append(float(new.state))

    mqtt_hass.bus.async_listen("state_changed", watch)
    await field.publish("sot/kall/grid/main/present", "OFF")
    await field.publish(
        "sot/kall/generator/main",
        json.dumps({"state": "running", "power": 30.0, "energy": 45231.0, "on_load": "ON"}),
    )
    await field.publish("sot/kall/generator/b", json.dumps({"state": "fault", "alarm": "shutdown"}))
    await field.publish("sot/kall/freezer/f1/temperature", "-14.0")
    await field.publish("sot/kall/tank/main/level", "64.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_status", "warning")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_b_alarm", "shutdown")
    await wait_for_state(mqtt_hass, ENERGY, "45231.0")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "64.0")
    await wait_for(mqtt_hass, lambda: mqtt_hass.states.get(RUN_HOURS) is not None, "run hours")
    await wait_for(mqtt_hass, lambda: raised["freezer_warning"] == 1, "the freezer warning")
    before = {entity_id: mqtt_hass.states.get(entity_id) for entity_id in SHOWN}
    assert before["sensor.kall_power_source"].state == "generator"
    raised_before = Counter(raised)
    assert raised_before == Counter({"grid_lost": 1, "generator_fault": 1, "freezer_warning": 1}), (
        raised_before
    )

    await CHANGES[change](mqtt_hass, entry)
    await mqtt_hass.async_block_till_done()
    await wait_until_subscribed(mqtt_hass, field, entry.runtime_data)

    # The same values, from before the change, with their age; no alarm raised again.
    for entity_id, old in before.items():
        new = mqtt_hass.states.get(entity_id)
        assert new is not None, entity_id
        assert new.state == old.state, f"{entity_id}: {old.state} became {new.state}"
    assert raised == raised_before
    # An integrated estimate never goes down; the controller's counter never changed.
    assert counters[RUN_HOURS] == sorted(counters[RUN_HOURS])
    assert set(counters[ENERGY]) == {45231.0}

    await async_wait_recording_done(mqtt_hass)
    period = started.replace(minute=started.minute - started.minute % 5, second=0, microsecond=0)
    end = dt_util.utcnow()
    while period <= end:
        do_adhoc_statistics(mqtt_hass, start=period)
        period += timedelta(minutes=5)
    await async_wait_recording_done(mqtt_hass)
    stats = await mqtt_hass.async_add_executor_job(
        statistics_during_period,
        mqtt_hass,
        started - timedelta(minutes=5),
        None,
        {ENERGY},
        "5minute",
    )
    sums = [row["sum"] for row in stats.get(ENERGY, [])]
    assert sums, "no statistics were compiled for the energy counter"
    assert max(sums) == 0, f"the Energy dashboard would count {max(sums)} kWh never produced"


async def _on_the_grid(
    hass: HomeAssistant, field: aiomqtt.Client
) -> tuple[MockConfigEntry, SiteCoordinator, list[str]]:
    """A site on the grid, and the alarms raised from now on."""
    entry = site_entry()
    coordinator = await start_site(hass, field, entry)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for(
        hass, lambda: coordinator.site.power.grid_present(coordinator.now()) is True, "grid on"
    )
    return entry, coordinator, await _alarms_fired(hass)


async def _alarms_fired(hass: HomeAssistant) -> list[str]:
    fired: list[str] = []

    @callback
    def on_alarm(event: Event) -> None:
        fired.append(event.data["event_type"])

    hass.bus.async_listen(EVENT_ALARM, on_alarm)
    return fired


async def _reload_with_first(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    first: Callable[[SiteCoordinator], Awaitable[None]],
) -> None:
    """Reload the site, running `first` once it listens to MQTT, before its platforms exist."""
    forward = hass.config_entries.async_forward_entry_setups

    async def first_then_forward(started: Any, platforms: Any) -> None:
        await first(started.runtime_data)
        await forward(started, platforms)

    hass.config_entries.async_forward_entry_setups = first_then_forward  # type: ignore[method-assign]
    try:
        assert await hass.config_entries.async_reload(entry.entry_id)
    finally:
        hass.config_entries.async_forward_entry_setups = forward  # type: ignore[method-assign]
    await hass.async_block_till_done()


async def test_an_alarm_raised_while_the_site_starts_is_raised_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The site listens to MQTT before its alarm entity exists: the grid going in between is
    raised once that entity listens, not lost."""
    hass = mqtt_hass
    entry, _, fired = await _on_the_grid(hass, field)

    async def grid_goes_first(site: SiteCoordinator) -> None:
        await field.publish("sot/kall/grid/main/present", "OFF")
        await wait_for(hass, lambda: site.site.outages.current is not None, "the outage")

    await _reload_with_first(hass, entry, grid_goes_first)
    await wait_for(hass, lambda: "grid_lost" in fired, "grid_lost to be raised")
    await field.publish("sot/kall/grid/main/present", "OFF")
    await hass.async_block_till_done()
    assert fired == ["grid_lost"]
    alarm = hass.states.get(ALARMS)
    assert alarm is not None
    assert alarm.attributes["event_type"] == "grid_lost"


async def test_held_alarms_wait_for_a_listener_that_stays(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A listener that goes again before it was told (an entity removed as it is added) does
    not take the held alarms with it: the alarm entity that comes next raises them."""
    hass = mqtt_hass
    entry, _, fired = await _on_the_grid(hass, field)
    heard: list[str] = []

    async def grid_goes_first(site: SiteCoordinator) -> None:
        await field.publish("sot/kall/grid/main/present", "OFF")
        await wait_for(hass, lambda: site.site.outages.current is not None, "the outage")
        remove = site.async_add_event_listener(lambda event: heard.append(event.type))
        remove()

    await _reload_with_first(hass, entry, grid_goes_first)
    await wait_for(hass, lambda: "grid_lost" in fired, "grid_lost to be raised")
    assert heard == []
    assert fired == ["grid_lost"]


async def test_alarms_raised_together_each_get_a_state_of_their_own(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Alarms held while the site started are raised in one pass; the alarm entity's state is
    the time it fired to the millisecond, and a blueprint tells a new alarm by a new state, so
    each must change it."""
    hass = mqtt_hass
    entry, _, fired = await _on_the_grid(hass, field)
    states: list[tuple[str, str]] = []

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] != ALARMS or new is None:
            return
        if (kind := new.attributes.get("event_type")) is not None:
            states.append((new.state, kind))

    hass.bus.async_listen("state_changed", on_state)

    async def alarms_first(site: SiteCoordinator) -> None:
        await field.publish("sot/kall/grid/main/present", "OFF")
        for generator in ("a", "b", "c"):
            fault = {"state": "fault", "alarm": "shutdown"}
            await field.publish(f"sot/kall/generator/{generator}", json.dumps(fault))
        await wait_for(hass, lambda: len(site._held_events) == 4, "four alarms held")

    await _reload_with_first(hass, entry, alarms_first)
    await wait_for(hass, lambda: len(fired) == 4, "four alarms raised")
    await hass.async_block_till_done()
    assert fired == ["grid_lost", *["generator_fault"] * 3]
    assert [kind for _, kind in states] == fired
    assert len({stamp for stamp, _ in states}) == 4, states


async def test_a_reading_while_the_site_unloads_is_not_taken_in_unheard(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A reading that lands while the entities go is not taken in: else its alarm would be
    saved as raised without anyone hearing it. After the reload the grid going is raised."""
    hass = mqtt_hass
    entry, coordinator, fired = await _on_the_grid(hass, field)
    unload = hass.config_entries.async_unload_platforms
    heard_before = coordinator.messages

    async def grid_goes_meanwhile(unloading: Any, platforms: Any) -> bool:
        await field.publish("sot/kall/grid/main/present", "OFF", qos=1)
        await asyncio.sleep(0.5)  # the broker has delivered it by now
        return await unload(unloading, platforms)

    hass.config_entries.async_unload_platforms = grid_goes_meanwhile  # type: ignore[method-assign]
    try:
        assert await hass.config_entries.async_reload(entry.entry_id)
    finally:
        hass.config_entries.async_unload_platforms = unload  # type: ignore[method-assign]
    await hass.async_block_till_done()
    assert coordinator.messages == heard_before
    assert coordinator.site.outages.current is None
    site = entry.runtime_data
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for(hass, lambda: "grid_lost" in fired, "grid_lost to be raised")
    await hass.async_block_till_done()
    assert fired == ["grid_lost"]
    assert site.site.outages.current is not None


async def test_an_alarm_is_saved_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, hass_storage: dict[str, Any]
) -> None:
    """A kill in the second after an alarm must not lose the outage it began: the site is
    saved before any time passes, not a second later."""
    hass = mqtt_hass
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
    key = f"sot.{entry.entry_id}"
    stamp = hass.states.get(ALARMS).state  # type: ignore[union-attr]
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for(hass, lambda: hass.states.get(ALARMS).state != stamp, "grid_lost")  # type: ignore[union-attr]
    await hass.async_block_till_done()
    saved = hass_storage[key]["data"]
    assert saved["outage"] is not None
    assert [a["event_type"] for a in saved["alarms"]] == ["grid_lost"]


async def test_a_switch_command_awaiting_its_echo_is_confirmed_after_a_reload(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The site is reloaded between a switch command and its relay's echo: the echo still
    confirms it, so the operator is not told it expired while the relay carried it out, and the
    switch goes on showing the command."""
    hass = mqtt_hass
    entry = site_entry()
    await start_site(hass, field, entry)
    await field.subscribe("sot/kall/load/heater/set", qos=1)
    await field.publish("sot/kall/load/heater/state", "OFF")
    await wait_for_state(hass, "switch.kall_load_heater", "off")
    command = hass.async_create_task(
        hass.services.async_call(
            "switch", "turn_on", {"entity_id": "switch.kall_load_heater"}, blocking=True
        )
    )
    async with asyncio.timeout(5):
        async for message in field.messages:
            if message.topic.matches("sot/kall/load/heater/set"):
                break
    assert await hass.config_entries.async_reload(entry.entry_id)
    site: SiteCoordinator = entry.runtime_data
    # Subscribed again; not by waiting for Home Assistant to be done, which it is not while the
    # service call waits for the echo.
    async with asyncio.timeout(5):
        while site.messages == 0:
            await field.publish("sot/kall/node/probe/ping", "1")
            await asyncio.sleep(0.05)
    await field.publish("sot/kall/load/heater/state", "ON")
    try:
        async with asyncio.timeout(5):
            await command
    except TimeoutError:
        pytest.fail("the echo did not confirm the command: it would be reported expired")
    switch = hass.states.get("switch.kall_load_heater")
    assert switch is not None
    assert switch.state == "on"
    assert switch.attributes.get("last_command") == "confirmed"
    assert switch.attributes.get("last_command_state") == "on"


async def test_a_reload_loses_none_of_a_running_generators_counts(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A set runs at 36 kW through the outage, its controller reporting every 10 s and
    keeping no counters. A reload a few seconds long (Home Assistant runs on) leaves out none of
    the time between the reports on either side of it: 120 s of running, 1.2 kWh."""
    hass = mqtt_hass
    entry = site_entry(stale_timeout=300)
    await start_site(hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "off")
    begun = dt_util.utcnow()

    async def report_at(seconds: int) -> None:
        at = begun + timedelta(seconds=seconds)
        assert at >= dt_util.utcnow()
        freezer.move_to(at)
        async_fire_time_changed(hass)
        running = {"state": "running", "power": 36.0, "on_load": "ON"}
        await field.publish("sot/kall/generator/main", json.dumps(running))
        coordinator = entry.runtime_data
        reported = f"the report at {seconds} s"
        await wait_for(hass, lambda: heard(coordinator, "generator/main/power", at), reported)

    for seconds in range(0, 70, 10):
        await report_at(seconds)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await wait_until_subscribed(hass, field, entry.runtime_data, freezer)
    for seconds in range(70, 130, 10):
        await report_at(seconds)
    run_hours = hass.states.get(RUN_HOURS)
    energy = hass.states.get("sensor.kall_generator_energy_estimated")
    assert run_hours is not None
    assert energy is not None
    # Shown to the thousandth of an hour, from which the count resumes after the reload (it
    # never goes down): 0.034. The 10 s between the reports around the reload left out: 0.031.
    assert float(run_hours.state) == pytest.approx(120 / 3600, abs=0.001)
    assert float(energy.state) == pytest.approx(1.2)
    outage = entry.runtime_data.site.outages.current
    assert outage is not None
    assert outage.generator_seconds == pytest.approx(120)
