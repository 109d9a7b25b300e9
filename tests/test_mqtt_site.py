"""A SOT point fed over a real broker: what the operator sees on the dashboard."""

from __future__ import annotations

import json

import aiomqtt
import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from custom_components.sot.const import DOMAIN
from custom_components.sot.site.fuel_curve import fuel_rate

from .helpers import site_entry, start_site, wait_for, wait_for_state


async def test_site_shows_grid_generator_fuel_and_freezer(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Readings published as a node would publish them become the entities' states."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/main/present", "OFF")
    await field.publish(
        "sot/kall/generator/main",
        json.dumps({"state": "running", "on_load": True, "power": 28.0, "load": 50.0}),
    )
    await field.publish("sot/kall/tank/main/level", "60")
    await field.publish("sot/kall/freezer/f1/temperature", "-18.4")

    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_load", "50.0")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_on_backup_power", "on")
    await wait_for_state(mqtt_hass, "sensor.kall_power_source", "generator")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "60.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.4")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_status", "ok")


async def test_node_offline_makes_its_components_unavailable(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A node's last will turns its freezers unavailable; its birth brings them back."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/freezer/f1/meta", json.dumps({"node": "freezers"}), retain=True)
    await field.publish("sot/kall/node/freezers/status", "online", retain=True)
    await field.publish("sot/kall/freezer/f1/temperature", "-19.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-19.0")

    await field.publish("sot/kall/node/freezers/status", "offline", retain=True)
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", STATE_UNAVAILABLE)

    await field.publish("sot/kall/node/freezers/status", "online", retain=True)
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-19.0")
    await field.publish("sot/kall/freezer/f1/meta", b"", retain=True)
    await field.publish("sot/kall/node/freezers/status", b"", retain=True)


async def test_a_cleared_node_status_no_longer_holds_its_components_down(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """An empty retained status is how a removed node is cleared off the broker: its last
    `offline` stops speaking for the components, which show what they report again."""
    coordinator = await start_site(mqtt_hass, field, site_entry())
    try:
        await field.publish(
            "sot/kall/freezer/f1/meta", json.dumps({"node": "freezers"}), retain=True
        )
        await field.publish("sot/kall/node/freezers/status", "online", retain=True)
        await field.publish("sot/kall/freezer/f1/temperature", "-19.0")
        await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-19.0")
        await field.publish("sot/kall/node/freezers/status", "offline", retain=True)
        await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", STATE_UNAVAILABLE)

        await field.publish("sot/kall/node/freezers/status", b"", retain=True)
        await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-19.0")
        assert "freezers" not in coordinator.site.nodes
        assert coordinator.rejected["bad_enum"] == 0
    finally:
        await field.publish("sot/kall/freezer/f1/meta", b"", retain=True)
        await field.publish("sot/kall/node/freezers/status", b"", retain=True)


async def test_a_new_sites_node_is_offered_as_a_discovered_site(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A node's birth on sot/<site>/node/<node>/status starts a discovery flow for its site."""
    await field.publish("sot/valsjobyn/node/gateway/status", "online", retain=True)

    def offered() -> bool:
        flows = mqtt_hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        return any(flow["context"].get("unique_id") == "valsjobyn" for flow in flows)

    try:
        await wait_for(mqtt_hass, offered, "a discovery flow for valsjobyn")
    finally:
        await field.publish("sot/valsjobyn/node/gateway/status", b"", retain=True)
    await mqtt_hass.async_block_till_done()
    # The empty status that cleared the node offers nothing more.
    (flow,) = [
        flow
        for flow in mqtt_hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("unique_id") == "valsjobyn"
    ]
    assert flow["step_id"] == "discovery_confirm"
    assert flow["context"]["title_placeholders"] == {"site_id": "valsjobyn"}


async def test_generator_on_load_is_derived_without_a_breaker_signal(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A controller that reports only its output still tells the operator it carries the site."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/generator/main", json.dumps({"state": "running", "power": 0.0}))
    await wait_for_state(mqtt_hass, "binary_sensor.kall_generator_on_load", "off")
    await field.publish("sot/kall/generator/main/power", "31.5")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_generator_on_load", "on")


async def test_a_whole_per_cent_gauge_that_has_not_moved_yet_leaves_the_fuel_hours_alone(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A controller's gauge in whole per cent (the DSE gateway's), quiet enough not to flicker:
    20 minutes into a run at 10.5 L/h it still reads 50 % of 1000 L, as it would for the first
    hour (a step is 10 L). That says nothing of the burn; the hours stay the rate's own, 37.8
    at the controller's right rate, not a third more."""
    await start_site(mqtt_hass, field, site_entry())
    start = dt_util.utcnow().timestamp() - 20 * 60
    litres = 500.0
    for step in range(120):
        ts = start + step * 10
        litres -= 10.5 / 360
        await field.publish("sot/kall/grid/main", json.dumps({"present": False, "ts": ts}))
        await field.publish(
            "sot/kall/generator/main",
            json.dumps(
                {"state": "running", "on_load": True, "power": 28.0, "fuel_rate": 10.5, "ts": ts}
            ),
        )
        await field.publish(
            "sot/kall/tank/main", json.dumps({"level": round(litres / 10), "ts": ts})
        )
    truth = (litres - 100) / 10.5

    def settled() -> bool:
        state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
        return state is not None and state.attributes.get("usable_litres") == 400

    await wait_for(mqtt_hass, settled, "the fuel runtime on the last readings")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "50.0")
    state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
    assert state is not None
    assert abs(float(state.state) / truth - 1) <= 0.10, (state.state, truth, state.attributes)


async def test_a_running_set_whose_controller_has_no_fuel_rate_keeps_its_fuel_hours(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A controller whose engine gives it no fuel rate can read 0.00 L/h in its fuel rate
    register while the 56 kW set carries the site's 28 kW. A running diesel always burns
    fuel: that zero is no measurement, and the hours are the fuel curve's at the load (400 L
    at 10.5 L/h, 38 h), not unknown for as long as the set runs."""
    await start_site(mqtt_hass, field, site_entry())
    start = dt_util.utcnow().timestamp() - 60
    for step in range(7):
        ts = start + step * 10
        await field.publish("sot/kall/grid/main", json.dumps({"present": False, "ts": ts}))
        await field.publish(
            "sot/kall/generator/main",
            json.dumps(
                {"state": "running", "on_load": True, "power": 28.0, "fuel_rate": 0.0, "ts": ts}
            ),
        )
        await field.publish("sot/kall/tank/main", json.dumps({"level": 50, "ts": ts}))
    curve = fuel_rate(56.0, 28.0 / 56.0)

    def shown() -> bool:
        state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
        return state is not None and state.attributes.get("usable_litres") == 400

    await wait_for(mqtt_hass, shown, "the fuel runtime on the last readings")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_fuel_rate", "0.0")
    state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
    assert state is not None
    assert (state.state, state.attributes["rate_source"]) != ("unknown", None)
    assert state.attributes["rate_source"] == "curve"
    assert state.attributes["fuel_rate"] == pytest.approx(curve, abs=0.01)
    assert float(state.state) == pytest.approx(400 / curve, abs=0.05)


async def test_the_fuel_runtime_at_changeover_is_not_the_warm_up_idle_burn(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The set warms up for three minutes at 2.5 L/h, then takes the site's 28 kW at 10.5
    L/h: from that reading on the hours are 400 L at 10.5 L/h, not at the idle burn."""
    await start_site(mqtt_hass, field, site_entry())
    start = dt_util.utcnow().timestamp() - 190
    for step in range(19):
        loaded = step == 18
        ts = start + step * 10
        await field.publish("sot/kall/grid/main", json.dumps({"present": False, "ts": ts}))
        await field.publish(
            "sot/kall/generator/main",
            json.dumps(
                {
                    "state": "running" if loaded else "warming_up",
                    "on_load": loaded,
                    "power": 28.0 if loaded else 0.0,
                    "fuel_rate": 10.5 if loaded else 2.5,
                    "ts": ts,
                }
            ),
        )
        await field.publish("sot/kall/tank/main", json.dumps({"volume": 500.0, "ts": ts}))
    await wait_for_state(mqtt_hass, "binary_sensor.kall_generator_on_load", "on")

    def loaded() -> bool:
        state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
        return state is not None and state.attributes.get("assumed_load_kw") == 28.0

    await wait_for(mqtt_hass, loaded, "the fuel runtime at the load taken")
    state = mqtt_hass.states.get("sensor.kall_fuel_runtime")
    assert state is not None
    assert float(state.state) == pytest.approx(400 / 10.5, rel=0.05), state.attributes


async def test_a_whole_per_cent_gauge_ticking_down_once_is_no_drain(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The controller's gauge in whole per cent of 1000 L, read every 5 s, on a tank standing
    still: the level ticks from 50 to 49 % (the diesel cooling overnight, or a level sitting
    on the step). One step of the gauge is what it cannot tell from no change: no fuel_drain."""
    await start_site(mqtt_hass, field, site_entry())
    start = dt_util.utcnow().timestamp() - 13 * 60
    for step in range(13 * 12):
        ts = start + step * 5
        if step % 12 == 0:
            await field.publish("sot/kall/grid/main", json.dumps({"present": True, "ts": ts}))
            await field.publish(
                "sot/kall/generator/main", json.dumps({"state": "stopped", "ts": ts})
            )
        level = 50 if step < 10 * 12 else 49
        await field.publish("sot/kall/tank/main", json.dumps({"level": level, "ts": ts}))
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "49.0")
    coordinator = mqtt_hass.config_entries.async_entries(DOMAIN)[0].runtime_data
    await wait_for(
        mqtt_hass,
        lambda: coordinator.site.fuel.estimate.level_time == start + (13 * 12 - 1) * 5,
        "the last level taken in",
    )
    await mqtt_hass.async_block_till_done()
    alarms = mqtt_hass.states.get("event.kall_alarms")
    assert alarms is not None
    assert alarms.attributes.get("event_type") != "fuel_drain", alarms.attributes
    runtime = mqtt_hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    assert runtime.attributes["draining"] is False
    assert runtime.attributes["last_drain"] is None


async def test_a_count_of_starts_is_shown_as_a_whole_number(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The controller's start counter reads "17", not "17.0", in the frontend."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/generator/main/starts", "17")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_starts", "17.0")
    entry = er.async_get(mqtt_hass).async_get("sensor.kall_generator_starts")
    assert entry is not None
    assert entry.options["sensor"]["suggested_display_precision"] == 0
