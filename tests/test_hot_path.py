"""One message costs what it changes: only the entities whose shown state changes are written.

Home Assistant fires `state_changed` when a write changes something and `state_reported` when
a write changed nothing; the second is the cost of rewriting entities for nothing. A site of
twenty freezers, a generator, a tank and the grid: a reading of one freezer must write that
freezer's entities that change, and nothing else.
"""

from __future__ import annotations

import json

import aiomqtt
import pytest
from homeassistant.const import EVENT_STATE_REPORTED, UnitOfTemperature
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er

from custom_components.sot.coordinator import REFRESH_INTERVAL

from .helpers import site_entry, start_site, wait_for, wait_for_state

FREEZERS = 20


async def test_a_reading_writes_only_the_entities_it_changes(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish(
        "sot/kall/generator/main", json.dumps({"state": "stopped", "power": 0.0, "load": 0.0})
    )
    await field.publish("sot/kall/tank/main/level", "64.0")
    for n in range(FREEZERS):
        await field.publish(f"sot/kall/freezer/f{n}/temperature", "-18.0")
    await wait_for_state(mqtt_hass, f"sensor.kall_freezer_f{FREEZERS - 1}_temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_power_source", "grid")
    await mqtt_hass.async_block_till_done()

    changed: list[str] = []
    reported: list[str] = []

    @callback
    def on_changed(event: Event) -> None:
        changed.append(event.data["entity_id"])

    @callback
    def on_reported(event: Event) -> None:
        reported.append(event.data["entity_id"])

    mqtt_hass.bus.async_listen("state_changed", on_changed)

    @callback
    def every(_: object) -> bool:
        return True

    mqtt_hass.bus.async_listen(EVENT_STATE_REPORTED, on_reported, event_filter=every)

    # A new temperature of one freezer: its temperature sensor, nothing else.
    await field.publish("sot/kall/freezer/f7/temperature", "-17.5")
    await wait_for(mqtt_hass, lambda: bool(changed), "the reading to be shown")
    await mqtt_hass.async_block_till_done()
    assert changed == ["sensor.kall_freezer_f7_temperature"]
    assert reported == []

    # The same value again: nothing to write at all.
    changed.clear()
    await field.publish("sot/kall/freezer/f7/temperature", "-17.5")
    await field.publish("sot/kall/freezer/f8/temperature", "-18.25")
    await wait_for(mqtt_hass, lambda: bool(changed), "the second reading to be shown")
    await mqtt_hass.async_block_till_done()
    assert changed == ["sensor.kall_freezer_f8_temperature"]
    assert reported == []

    # The grid goes: the site's power figures, the grid, the alarm; no freezer entity.
    changed.clear()
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    await mqtt_hass.async_block_till_done()
    assert not [e for e in changed if "freezer" in e]
    assert "sensor.kall_power_source" in changed
    assert "event.kall_alarms" in changed
    assert reported == []


async def test_a_burst_shows_every_reading_and_the_site_figures_once_settled(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A tank gauge at the pumps sending forty volumes in a burst (a bridge replaying its queue):
    each is shown by the product's volume sensor at once; what is worked out from it (the
    product's litres for sale, the site's fuel-for-sale service) follows at most every half
    second and settles on the last volume (what a full recomputation shows too)."""
    coordinator = await start_site(mqtt_hass, field, site_entry())
    await field.publish(
        "sot/kall/station/diesel/meta",
        json.dumps({"name": "Diesel", "capacity": 10000, "reserve": 2000}),
        qos=1,
    )
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/station/diesel", json.dumps({"volume": 8000, "pump": True}))
    await wait_for_state(mqtt_hass, "sensor.kall_fuel_for_sale", "open")
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_volume", "8000.0")
    await mqtt_hass.async_block_till_done()
    changes: dict[str, list[State]] = {}

    @callback
    def on_changed(event: Event) -> None:
        changes.setdefault(event.data["entity_id"], []).append(event.data["new_state"])

    mqtt_hass.bus.async_listen("state_changed", on_changed)
    start = mqtt_hass.loop.time()
    volumes = [7990 - 10 * n for n in range(40)]
    for volume in volumes:
        await field.publish("sot/kall/station/diesel/volume", f"{volume}")
    await wait_for_state(mqtt_hass, "sensor.kall_station_diesel_volume", f"{volumes[-1]:.1f}")
    burst = mqtt_hass.loop.time() - start
    # Every volume the gauge sent was shown, in order.
    shown = [s.state for s in changes["sensor.kall_station_diesel_volume"]]
    assert shown == [f"{volume:.1f}" for volume in volumes]
    # The site's figures: at most once a second (at once when the last was longer ago).
    await wait_for(
        mqtt_hass,
        lambda: mqtt_hass.loop.time() - start > burst + 2 * REFRESH_INTERVAL,
        "the interval to pass",
    )
    most = 2 + burst / REFRESH_INTERVAL
    assert 1 <= len(changes["sensor.kall_fuel_for_sale"]) <= most
    for_sale = changes["sensor.kall_station_diesel_for_sale"]
    assert 1 <= len(for_sale) <= most
    assert for_sale[-1].state == f"{volumes[-1] - 2000}"
    settled = mqtt_hass.states.get("sensor.kall_fuel_for_sale")
    assert settled is not None
    assert settled.attributes["products"]["diesel"]["for_sale"] == volumes[-1] - 2000
    coordinator.async_apply_options()  # every figure worked out afresh
    await mqtt_hass.async_block_till_done()
    assert mqtt_hass.states.get("sensor.kall_fuel_for_sale") == settled
    assert mqtt_hass.states.get("sensor.kall_station_diesel_for_sale") == for_sale[-1]


async def test_a_unit_the_user_chooses_is_shown_and_followed(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A sensor whose number is written as it came still shows the unit its user chose: the
    shortcut that skips Home Assistant's conversion holds only while there is none."""
    await start_site(mqtt_hass, field, site_entry())
    entity_id = "sensor.kall_freezer_f1_temperature"
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, entity_id, "-18.0")

    er.async_get(mqtt_hass).async_update_entity_options(
        entity_id, "sensor", {"unit_of_measurement": UnitOfTemperature.FAHRENHEIT}
    )
    await mqtt_hass.async_block_till_done()
    state = mqtt_hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == UnitOfTemperature.FAHRENHEIT
    assert float(state.state) == pytest.approx(-0.4)

    await field.publish("sot/kall/freezer/f1/temperature", "-17.5")
    await wait_for(
        mqtt_hass,
        lambda: (
            (s := mqtt_hass.states.get(entity_id)) is not None
            and float(s.state) == pytest.approx(0.5)
        ),
        "the next reading in °F",
    )

    er.async_get(mqtt_hass).async_update_entity_options(entity_id, "sensor", {})
    await mqtt_hass.async_block_till_done()
    await field.publish("sot/kall/freezer/f1/temperature", "-17.25")
    await wait_for_state(mqtt_hass, entity_id, "-17.25")
    state = mqtt_hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == UnitOfTemperature.CELSIUS
