"""The integration in a running Home Assistant against a real broker: commands, staleness,
alarms, bad input, new and removed components, restarts and diagnostics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_STATE_CHANGED,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.template import Template
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.sot.const import DOMAIN
from custom_components.sot.site.readings import Reading, Rejection, RejectReason

from .blueprints.conftest import load_blueprint
from .helpers import (
    sample,
    site_device,
    site_entry,
    start_site,
    unacknowledged_alarms,
    wait_for,
    wait_for_state,
    wait_until_subscribed,
)


async def collect(field: aiomqtt.Client, topic: str, count: int) -> list[aiomqtt.Message]:
    """The next `count` messages on `topic`."""
    received: list[aiomqtt.Message] = []
    async with asyncio.timeout(10):
        async for message in field.messages:
            if message.topic.matches(topic):
                received.append(message)
                if len(received) == count:
                    return received
    return received


async def test_switch_sends_load_commands_and_shows_the_relays_echo(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Turning a load off publishes OFF with QoS 1, not retained; the switch follows the relay."""
    await start_site(mqtt_hass, field, site_entry())
    await field.subscribe("sot/kall/load/+/set", qos=1)
    await field.publish("sot/kall/load/heater/state", "ON")
    await wait_for_state(mqtt_hass, "switch.kall_load_heater", "on")

    # The call is done when the relay echoes the new state.
    call = asyncio.create_task(
        mqtt_hass.services.async_call(
            SWITCH_DOMAIN,
            SERVICE_TURN_OFF,
            {ATTR_ENTITY_ID: "switch.kall_load_heater"},
            blocking=True,
        )
    )
    (command,) = await collect(field, "sot/kall/load/heater/set", 1)
    # OFF, expiring 10 s after it was sent (whole seconds, rounded up).
    sent = json.loads(command.payload)
    assert sent["state"] == "OFF"
    assert 9 <= sent["expires"] - time.time() <= 11
    assert command.qos == 1
    assert not command.retain
    # The switch shows what the relay says, not what was asked.
    assert mqtt_hass.states.get("switch.kall_load_heater").state == "on"  # type: ignore[union-attr]
    assert not call.done()
    await field.publish("sot/kall/load/heater/state", "OFF")
    await call
    assert mqtt_hass.states.get("switch.kall_load_heater").state == "off"  # type: ignore[union-attr]

    call = asyncio.create_task(
        mqtt_hass.services.async_call(
            SWITCH_DOMAIN,
            SERVICE_TURN_ON,
            {ATTR_ENTITY_ID: "switch.kall_load_heater"},
            blocking=True,
        )
    )
    (command,) = await collect(field, "sot/kall/load/heater/set", 1)
    assert json.loads(command.payload)["state"] == "ON"
    await field.publish("sot/kall/load/heater/state", "ON")
    await call


async def test_stale_data_becomes_unavailable_and_is_logged_once_each_way(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")

    caplog.clear()
    for _ in range(3):
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(mqtt_hass)
        await mqtt_hass.async_block_till_done()
    assert mqtt_hass.states.get("sensor.kall_freezer_f1_temperature").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert mqtt_hass.states.get("sensor.kall_freezer_f1_status").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    lost = [r for r in caplog.records if "freezer f1 is unavailable" in r.getMessage()]
    # At info, like its return (Home Assistant's log-when-unavailable rule).
    assert [r.levelno for r in lost] == [logging.INFO]

    await field.publish("sot/kall/freezer/f1/temperature", "-17.5")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-17.5")
    back = [r for r in caplog.records if "freezer f1 is back" in r.getMessage()]
    assert [r.levelno for r in back] == [logging.INFO]


async def test_the_log_says_why_a_component_went_unavailable(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Its node's last will, or (at the county) the site's bridge saying its link is down: not
    "node offline or no data for 0:05:00" whatever the cause."""
    await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
    await start_site(mqtt_hass, field, site_entry(county_bridge=True))
    await field.publish("sot/kall/node/freezer-node/status", "online")
    await field.publish("sot/kall/freezer/f1/meta", '{"node": "freezer-node"}')
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await field.publish("sot/kall/tank/main/level", "50")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "50.0")

    def said(what: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if what in r.getMessage()]

    caplog.clear()
    await field.publish("sot/kall/node/freezer-node/status", "offline")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", STATE_UNAVAILABLE)
    assert said("freezer f1 is unavailable") == [
        "Kall freezer f1 is unavailable: its node freezer-node said it is offline"
    ]
    try:
        await field.publish("sot-bridge/kall/state", "0", qos=1, retain=True)
        await wait_for_state(mqtt_hass, "sensor.kall_tank_level", STATE_UNAVAILABLE)
        assert said("tank main is unavailable") == [
            "Kall tank main is unavailable: the site's bridge to the county says its link is down"
        ]
    finally:
        await field.publish("sot-bridge/kall/state", "", qos=1, retain=True)


async def test_new_components_appear_without_a_reload(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    await field.publish("sot/kall/freezer/f2/meta", json.dumps({"name": "Glasdisk"}), retain=True)
    await field.publish("sot/kall/freezer/f2/temperature", "-21.0")
    # The entity id comes from the kind and id; the device shows the meta's name.
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f2_temperature", "-21.0")
    await wait_for(
        mqtt_hass, lambda: device_name(mqtt_hass, entry, "f2") == "Kall Glasdisk", "name"
    )
    device = site_device(mqtt_hass, entry.entry_id, "kall_freezer_f2")
    assert device is not None
    assert device.via_device_id is not None
    assert entry.state is ConfigEntryState.LOADED
    await field.publish("sot/kall/freezer/f2/meta", b"", retain=True)


async def test_a_product_announced_by_its_meta_is_shown_without_a_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A product the station takes up (HVO) is announced by its meta before its gauge or pump
    reports: it gets its device and status at once, as it would at the next restart, not only
    then."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    try:
        await field.publish(
            "sot/kall/station/hvo/meta", json.dumps({"name": "HVO100"}), retain=True
        )
        await wait_for(
            mqtt_hass,
            lambda: mqtt_hass.states.get("sensor.kall_station_hvo_status") is not None,
            "the product's status",
        )
        shown = mqtt_hass.states.get("sensor.kall_station_hvo_status")
        product = site_device(mqtt_hass, entry.entry_id, "kall_station_hvo")
        assert product is not None
        assert product.name == "Kall HVO100"

        assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
        await mqtt_hass.async_block_till_done()
        again = mqtt_hass.states.get("sensor.kall_station_hvo_status")
        assert shown is not None
        assert again is not None
        assert again.state == shown.state
    finally:
        await field.publish("sot/kall/station/hvo/meta", b"", retain=True)


async def test_meta_name_arriving_later_renames_the_device(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/freezer/f3/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f3_temperature", "-18.0")
    await field.publish("sot/kall/freezer/f3/meta", json.dumps({"name": "Frysbox 3"}))

    def renamed() -> bool:
        device = site_device(mqtt_hass, entry.entry_id, "kall_freezer_f3")
        return device is not None and device.name == "Kall Frysbox 3"

    await wait_for(mqtt_hass, renamed, "the device to take the meta name")


def device_name(hass: HomeAssistant, entry: Any, component: str, kind: str = "freezer") -> str:
    """The registry name of one of the site's component devices ("" when there is none)."""
    device = site_device(hass, entry.entry_id, f"kall_{kind}_{component}")
    return device.name or "" if device is not None else ""


async def test_entity_ids_do_not_depend_on_when_the_meta_name_arrives(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Meta before the first value or after it: the same entity ids, from kind and id."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    try:
        # The name first, then the values.
        await field.publish(
            "sot/kall/tank/main/meta", json.dumps({"name": "Diesel tank"}), retain=True
        )
        await field.publish("sot/kall/tank/main/volume", "800")
        await wait_for_state(mqtt_hass, "sensor.kall_tank_volume", "800.0")
        await wait_for(
            mqtt_hass,
            lambda: device_name(mqtt_hass, entry, "main", "tank") == "Kall Diesel tank",
            "name",
        )
        # A quantity first seen later gets its id the same way, and the device keeps its name.
        await field.publish("sot/kall/tank/main/level", "64.5")
        await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "64.5")
        await wait_for(
            mqtt_hass,
            lambda: device_name(mqtt_hass, entry, "main", "tank") == "Kall Diesel tank",
            "name",
        )
        # A value first, then the name.
        await field.publish("sot/kall/freezer/f4/temperature", "-18.0")
        await wait_for_state(mqtt_hass, "sensor.kall_freezer_f4_temperature", "-18.0")
        await field.publish(
            "sot/kall/freezer/f4/meta", json.dumps({"name": "Frysbox 4"}), retain=True
        )
        await wait_for(
            mqtt_hass, lambda: device_name(mqtt_hass, entry, "f4") == "Kall Frysbox 4", "name"
        )

        entities = er.async_get(mqtt_hass)
        assert {
            e.entity_id
            for e in er.async_entries_for_config_entry(entities, entry.entry_id)
            if e.unique_id.startswith(("kall_tank_main_", "kall_freezer_f4_"))
        } >= {
            "sensor.kall_tank_volume",
            "sensor.kall_tank_level",
            "sensor.kall_freezer_f4_temperature",
        }

        # Clearing the meta gives the devices back their names from kind and id.
        await field.publish("sot/kall/freezer/f4/meta", b"", retain=True)
        await field.publish("sot/kall/tank/main/meta", b"", retain=True)
        await wait_for(
            mqtt_hass, lambda: device_name(mqtt_hass, entry, "f4") == "Kall freezer f4", "f4"
        )
        await wait_for(
            mqtt_hass, lambda: device_name(mqtt_hass, entry, "main", "tank") == "Kall tank", "tank"
        )
        state = mqtt_hass.states.get("sensor.kall_freezer_f4_temperature")
        assert state is not None
        assert state.attributes["friendly_name"] == "Kall freezer f4 Temperature"
    finally:
        await field.publish("sot/kall/freezer/f4/meta", b"", retain=True)
        await field.publish("sot/kall/tank/main/meta", b"", retain=True)


async def test_an_unnamed_components_alarm_names_it_in_home_assistants_language(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A Swedish Home Assistant: a generator without a meta name is "Elverket b" in its alarm
    (the outage alerts put that name in their titles), not "generator b"."""
    mqtt_hass.config.language = "sv"
    await start_site(mqtt_hass, field, site_entry())
    fault = {"state": "fault", "alarm": "shutdown"}
    await field.publish("sot/kall/generator/b", json.dumps(fault))

    def fired() -> bool:
        state = mqtt_hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == "generator_fault"

    await wait_for(mqtt_hass, fired, "a generator_fault event")
    attributes = mqtt_hass.states.get("event.kall_alarms").attributes  # type: ignore[union-attr]
    assert (attributes["component_id"], attributes["component_name"]) == ("b", "Elverket b")


async def test_a_grid_alarm_names_the_grid_in_home_assistants_language(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The grid alarms are the site's (component `main`) whatever its meters' ids: on a site
    whose only meter is `grid/b` they still name the grid in Swedish, not as the word `grid`."""
    mqtt_hass.config.language = "sv"
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/b/voltage", "230")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_b_present", "on")
    await field.publish("sot/kall/grid/b/voltage", "0")

    def fired() -> bool:
        state = mqtt_hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == "grid_lost"

    await wait_for(mqtt_hass, fired, "a grid_lost event")
    attributes = mqtt_hass.states.get("event.kall_alarms").attributes  # type: ignore[union-attr]
    assert (attributes["component_id"], attributes["component_name"]) == ("main", "Elmätaren")


async def test_a_single_freezer_limit_that_does_not_fit_is_refused_and_counted(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A freezer meta's critical −20 °C under the site's warning −15 °C is refused and counted,
    and the freezer's countdown keeps the site's critical limit, −12 °C."""
    coordinator = await start_site(mqtt_hass, field, site_entry())
    try:
        await field.publish("sot/kall/freezer/f1/meta", '{"critical": -20}', retain=True)
        await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
        await wait_for(
            mqtt_hass,
            lambda: coordinator.rejected["conflicting_settings"] == 1,
            "the refusal",
        )
        countdown = "sensor.kall_freezer_f1_time_to_critical"
        await wait_for(mqtt_hass, lambda: mqtt_hass.states.get(countdown) is not None, countdown)
        assert mqtt_hass.states.get(countdown).attributes["limit"] == -12.0  # type: ignore[union-attr]
    finally:
        await field.publish("sot/kall/freezer/f1/meta", b"", retain=True)


async def test_alarm_event_carries_the_figures(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    assert mqtt_hass.states.get("event.kall_alarms").state == "unknown"  # type: ignore[union-attr]
    await field.publish("sot/kall/grid/main/present", "OFF")

    def fired() -> bool:
        state = mqtt_hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == "grid_lost"

    await wait_for(mqtt_hass, fired, "a grid_lost event")
    attributes = mqtt_hass.states.get("event.kall_alarms").attributes  # type: ignore[union-attr]
    assert attributes["site_id"] == "kall"
    assert attributes["site_name"] == "Kall"
    # Without a meta name: the kind in Home Assistant's language, as in the alerts' titles.
    assert attributes["component_name"] == "Grid meter"
    assert "fuel_hours" in attributes
    assert "grid_restored" in attributes["event_types"]
    await wait_for_state(mqtt_hass, "sensor.kall_outage_duration", "0")


async def test_garbage_is_refused_logged_once_and_counted(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad payloads never replace the last good value, never crash, and show in diagnostics."""
    entry = site_entry()
    coordinator = await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    caplog.set_level(logging.WARNING)
    caplog.clear()
    for payload in ("hot", "hot", "hot", "nan", "55", b"\xff"):
        await field.publish("sot/kall/freezer/f1/temperature", payload)
    await field.publish("sot/kall/freezer/f1", "{]")
    await field.publish("sot/kall/boiler/b1/temperature", "60")
    await field.publish("sot/kall/freezer/f1/temperature", "-18.5")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.5")

    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert sum("not a number" in m for m in refusals) == 1  # three times sent, logged once
    assert len(refusals) == 6

    # A good value in between does not make the same garbage worth another line.
    for payload in ("hot", "-18.4", "hot", "-18.3", "hot", "-18.2"):
        await field.publish("sot/kall/freezer/f1/temperature", payload)
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.2")
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 6

    # A probe's "no reading" is refused like any bad value: the last good one stays.
    await field.publish("sot/kall/freezer/f1/temperature", "85")
    await wait_for(mqtt_hass, lambda: coordinator.rejected["no_reading"] == 1, "the refusal")
    assert mqtt_hass.states.get("sensor.kall_freezer_f1_temperature").state == "-18.2"  # type: ignore[union-attr]

    assert await async_setup_component(mqtt_hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(mqtt_hass, hass_client, entry)
    assert diagnostics["rejected"] == {
        "not_a_number": 6,
        "not_finite": 1,
        "out_of_range": 1,
        "bad_encoding": 1,
        "bad_json": 1,
        "unknown_kind": 1,
        "no_reading": 1,
    }
    assert diagnostics["recent_rejections"][-1]["reason"] == "no_reading"
    assert "freezer/f1" in diagnostics["components"]
    assert diagnostics["entry"]["data"]["site_id"] == "kall"


async def test_retained_garbage_is_not_logged_again_after_a_reload(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker delivers retained garbage at every subscription; the log says it once."""
    caplog.set_level(logging.WARNING)
    await field.publish("sot/kall/freezer/f9/temperature", "warm", retain=True)
    await field.publish("sot/kall/freezer/f9/meta", '{"warning": 15}', retain=True)
    try:
        entry = site_entry()
        coordinator = await start_site(mqtt_hass, field, entry)
        await wait_for(mqtt_hass, lambda: sum(coordinator.rejected.values()) == 2, "both refusals")
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == 2

        for _ in range(2):
            assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
            await mqtt_hass.async_block_till_done()
            await start_site_again(mqtt_hass, field)
            counted = entry.runtime_data.rejected
            await wait_for(mqtt_hass, lambda c=counted: sum(c.values()) == 2, "the refusals")
        assert [r for r in caplog.records if "refused" in r.getMessage()] == refused
    finally:
        await field.publish("sot/kall/freezer/f9/temperature", b"", retain=True)
        await field.publish("sot/kall/freezer/f9/meta", b"", retain=True)


async def test_a_probes_no_reading_keeps_the_last_value_until_it_is_stale(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """One glitch of a probe must not blank a freezer; a probe that stays dead goes stale."""
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    for n, payload in enumerate(("85", "-127", "nan"), start=1):
        freezer.tick(timedelta(seconds=15))
        await field.publish("sot/kall/freezer/f1/temperature", payload)
        await wait_for(mqtt_hass, lambda n=n: sum(coordinator.rejected.values()) == n, payload)
        assert mqtt_hass.states.get("sensor.kall_freezer_f1_temperature").state == "-18.0"  # type: ignore[union-attr]
        assert mqtt_hass.states.get("sensor.kall_freezer_f1_status").state == "ok"  # type: ignore[union-attr]
    freezer.tick(timedelta(seconds=16))  # 61 s after the last good value
    async_fire_time_changed(mqtt_hass)
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", STATE_UNAVAILABLE)


async def test_a_report_on_change_probe_that_dies_goes_unavailable(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A probe behind ESPHome's delta filter stays live in silence while its node is online;
    once it has said `nan` (the node's file sends it once, then nothing), it is not: the
    freezer goes unavailable one timeout later instead of showing its last reading for good.

    The probe's reports carry their times (`ts`), minutes ago: a frozen clock moved by minutes
    would outrun MQTT's keep-alive."""
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    await field.publish("sot/kall/freezer/f1/meta", json.dumps({"node": "fz"}), retain=True)
    await field.publish("sot/kall/node/fz/status", "online", retain=True)
    temperature = "sensor.kall_freezer_f1_temperature"
    try:
        await wait_for(mqtt_hass, lambda: coordinator.site.nodes.get("fz") is True, "online")
        now = dt_util.utcnow().timestamp()
        for step in range(4):  # 0.5 °C apart, four minutes between them, the last 8 min ago
            value = -20.0 + 0.5 * step
            reading = {"temperature": value, "ts": int(now) - 60 * (20 - 4 * step)}
            await field.publish("sot/kall/freezer/f1", json.dumps(reading))

            def arrived(value: float = value) -> bool:
                found = sample(coordinator, "freezer/f1/temperature")
                return found is not None and found.value == value

            await wait_for(mqtt_hass, arrived, f"{value} °C")
        # Its last report is eight minutes old, and it is live: it reports on a change.
        await wait_for_state(mqtt_hass, temperature, "-18.5")
        await field.publish("sot/kall/freezer/f1/temperature", "nan")
        await wait_for(mqtt_hass, lambda: sum(coordinator.rejected.values()) == 1, "nan")
        for _ in range(3):
            freezer.tick(timedelta(seconds=15))
            async_fire_time_changed(mqtt_hass)
            await mqtt_hass.async_block_till_done()
        assert mqtt_hass.states.get(temperature).state == "-18.5"  # type: ignore[union-attr]
        freezer.tick(timedelta(seconds=16))  # 61 s after the `nan`
        async_fire_time_changed(mqtt_hass)
        await wait_for_state(mqtt_hass, temperature, STATE_UNAVAILABLE)
        status = mqtt_hass.states.get("sensor.kall_freezer_f1_status")
        assert status is not None
        assert status.state == STATE_UNAVAILABLE
    finally:
        await field.publish("sot/kall/freezer/f1/meta", b"", retain=True)
        await field.publish("sot/kall/node/fz/status", b"", retain=True)


async def test_a_word_that_went_silent_takes_the_power_source_with_it(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A controller that says its engine state is "not available" and then sends nothing:
    one timeout later the state is unavailable, and so is everything worked out from it (the
    generator running, the power source, on backup), not the last `running` shown as live."""
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    coordinator.async_node_status("dse", True)
    now = coordinator.now()
    coordinator.async_readings("dse", [Reading("generator", "main", "state", "running", now)])
    derived = (
        "binary_sensor.kall_generator_running",
        "sensor.kall_power_source",
        "binary_sensor.kall_on_backup_power",
    )
    await wait_for_state(mqtt_hass, "binary_sensor.kall_generator_running", STATE_ON)
    assert mqtt_hass.states.get("sensor.kall_power_source").state == "generator"  # type: ignore[union-attr]

    def tick(seconds: int) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(mqtt_hass)

    for _ in range(5):  # older than the timeout, and live: the node is online
        tick(15)
        await mqtt_hass.async_block_till_done()
    assert mqtt_hass.states.get("sensor.kall_generator_state").state == "running"  # type: ignore[union-attr]
    refused = Rejection(
        RejectReason.DEVICE_ERROR,
        "dse",
        "state: not available",
        ("generator", "main", "state"),
    )
    coordinator.async_readings("dse", [], [refused])
    await mqtt_hass.async_block_till_done()
    assert mqtt_hass.states.get("sensor.kall_power_source").state == "generator"  # type: ignore[union-attr]
    for _ in range(5):  # 75 s after the "not available"
        tick(15)
        await mqtt_hass.async_block_till_done()
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", STATE_UNAVAILABLE)
    shown = {entity_id: mqtt_hass.states.get(entity_id).state for entity_id in derived}  # type: ignore[union-attr]
    assert shown == dict.fromkeys(derived, STATE_UNAVAILABLE)

    # The controller gives its state again: live at once.
    now = coordinator.now()
    coordinator.async_readings("dse", [Reading("generator", "main", "state", "running", now)])
    await wait_for_state(mqtt_hass, "binary_sensor.kall_generator_running", STATE_ON)
    assert mqtt_hass.states.get("sensor.kall_power_source").state == "generator"  # type: ignore[union-attr]


async def test_node_alarm_names_the_node(mqtt_hass: HomeAssistant, field: aiomqtt.Client) -> None:
    coordinator = await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/node/freezers/status", "online")
    await wait_for(mqtt_hass, lambda: "freezers" in coordinator.site.nodes, "the node's birth")
    await field.publish("sot/kall/node/freezers/status", "offline")

    def fired() -> bool:
        state = mqtt_hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == "node_offline"

    # Raised once the will has stood for 10 s with Home Assistant connected (docs/integration.md).
    await wait_for(mqtt_hass, fired, "a node_offline event", 20)
    attributes = mqtt_hass.states.get("event.kall_alarms").attributes  # type: ignore[union-attr]
    assert (attributes["component_id"], attributes["component_name"]) == ("freezers", "freezers")
    # A node's birth is also MQTT discovery's cue; for a site already set up it must not
    # restart the site (which would forget the node's state and lose the alarm).
    assert mqtt_hass.config_entries.async_entries(DOMAIN)[0].runtime_data is coordinator


async def test_gone_component_can_be_removed_but_a_live_one_cannot(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    entry = site_entry(stale_timeout=60)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/freezer/old/temperature", "-18.0")
    await field.publish("sot/kall/freezer/live/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_live_temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_old_temperature", "-18.0")
    assert await async_setup_component(mqtt_hass, "config", {})
    site = site_device(mqtt_hass, entry.entry_id, "kall")
    old = site_device(mqtt_hass, entry.entry_id, "kall_freezer_old")
    live = site_device(mqtt_hass, entry.entry_id, "kall_freezer_live")
    assert site
    assert old
    assert live

    freezer.tick(timedelta(seconds=90))
    async_fire_time_changed(mqtt_hass)
    await field.publish("sot/kall/freezer/live/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_old_temperature", STATE_UNAVAILABLE)
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_live_temperature", "-18.0")

    component = await async_remove(mqtt_hass, site.id, entry.entry_id)
    assert not component
    assert not await async_remove(mqtt_hass, live.id, entry.entry_id)
    assert await async_remove(mqtt_hass, old.id, entry.entry_id)
    assert site_device(mqtt_hass, entry.entry_id, "kall_freezer_old") is None
    assert er.async_get(mqtt_hass).async_get("sensor.kall_freezer_old_temperature") is None
    # If it ever reports again, it comes back.
    await field.publish("sot/kall/freezer/old/temperature", "-17.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_old_temperature", "-17.0")
    # A site that is not running (disabled, or waiting for its broker) cannot tell: refused,
    # not an error; its saved state would bring the device back at the next start anyway.
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    assert not await async_remove(mqtt_hass, old.id, entry.entry_id)


async def test_a_removed_product_stays_removed_across_a_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """HVO is no longer sold: its product's device is deleted once its node is gone. The
    node's meta is still retained on the broker, delivered again when Home Assistant starts:
    that must not bring the product back (a device showing an unknown status for a fuel the
    station does not have). A reading from it does, with the meta's name."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    meta = json.dumps({"name": "HVO100", "node": "fuel-node"})
    await field.publish("sot/kall/station/hvo/meta", meta, retain=True)
    await field.publish("sot/kall/node/fuel-node/status", "online")
    await field.publish("sot/kall/station/hvo/pump", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_station_hvo_pump", "on")
    await field.publish("sot/kall/node/fuel-node/status", "offline")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_station_hvo_pump", STATE_UNAVAILABLE)
    product = site_device(mqtt_hass, entry.entry_id, "kall_station_hvo")
    assert product is not None
    assert product.name == "Kall HVO100"
    try:
        assert await async_remove(mqtt_hass, product.id, entry.entry_id)

        # Home Assistant restarts: the site subscribes anew and takes in what the broker
        # retained.
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
        await mqtt_hass.async_block_till_done()
        await asyncio.sleep(1)  # Home Assistant's MQTT client lets the subscription go
        assert await mqtt_hass.config_entries.async_setup(entry.entry_id)
        await mqtt_hass.async_block_till_done()
        await wait_until_subscribed(mqtt_hass, field, entry.runtime_data)
        await mqtt_hass.async_block_till_done()
        assert entry.runtime_data.messages >= 2  # the retained meta, then the probe
        # ... and once more, as after any later restart or reload.
        assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
        await mqtt_hass.async_block_till_done()
        assert site_device(mqtt_hass, entry.entry_id, "kall_station_hvo") is None
        assert mqtt_hass.states.get("sensor.kall_station_hvo_status") is None
        await wait_until_subscribed(mqtt_hass, field, entry.runtime_data)

        await field.publish("sot/kall/node/fuel-node/status", "online")
        await field.publish("sot/kall/station/hvo/pump", "ON")
        await wait_for_state(mqtt_hass, "binary_sensor.kall_station_hvo_pump", "on")
        back = site_device(mqtt_hass, entry.entry_id, "kall_station_hvo")
        assert back is not None
        assert back.name == "Kall HVO100"
    finally:
        await field.publish("sot/kall/station/hvo/meta", b"", retain=True)


async def test_a_removed_product_back_without_a_restart_keeps_its_meta(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A product deleted as gone for good whose node comes back before Home Assistant restarts
    (the station took HVO up again): its meta is not delivered again (only a new subscription
    gets the retained one), so it must come back with the one it had, its name and its tank's
    capacity, as it does after a restart: not as "Kall station hvo" without stock."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    meta = json.dumps({"name": "HVO100", "node": "fuel-node", "capacity": 4000})
    await field.publish("sot/kall/station/hvo/meta", meta, retain=True)
    await field.publish("sot/kall/node/fuel-node/status", "online")
    await field.publish("sot/kall/station/hvo/level", "50")
    await wait_for_state(mqtt_hass, "sensor.kall_station_hvo_for_sale", "1600")
    await field.publish("sot/kall/node/fuel-node/status", "offline")
    await wait_for_state(mqtt_hass, "sensor.kall_station_hvo_for_sale", STATE_UNAVAILABLE)
    product = site_device(mqtt_hass, entry.entry_id, "kall_station_hvo")
    assert product is not None
    try:
        assert await async_remove(mqtt_hass, product.id, entry.entry_id)
        await mqtt_hass.async_block_till_done()

        await field.publish("sot/kall/node/fuel-node/status", "online")
        await field.publish("sot/kall/station/hvo/level", "50")
        await wait_for_state(mqtt_hass, "sensor.kall_station_hvo_level", "50.0")
        back = site_device(mqtt_hass, entry.entry_id, "kall_station_hvo")
        assert back is not None
        assert back.name == "Kall HVO100"
        await wait_for_state(mqtt_hass, "sensor.kall_station_hvo_for_sale", "1600")
    finally:
        await field.publish("sot/kall/station/hvo/meta", b"", retain=True)


async def test_a_removed_component_s_alarms_are_not_taken_up_again(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A freezer taken out of service while its critical alarm was unacknowledged: once its
    device is removed, the outage alerts do not take that alarm up again (after a restart
    they would ring every phone about a freezer that is gone), also after a reload."""
    entry = site_entry(stale_timeout=60, alarm_delay=0)
    await start_site(mqtt_hass, field, entry, freezer)

    async def open_alarms() -> list[tuple[str, str]]:
        found = await unacknowledged_alarms(mqtt_hass, entry.entry_id)
        return sorted((a["event_type"], a["component_id"]) for a in found["alarms"])

    for name in ("old", "live"):
        await field.publish(f"sot/kall/freezer/{name}/temperature", "-19.0")
        await wait_for_state(mqtt_hass, f"sensor.kall_freezer_{name}_temperature", "-19.0")
        await field.publish(f"sot/kall/freezer/{name}/temperature", "-5.0")

        def critical(name: str = name) -> bool:
            state = mqtt_hass.states.get("event.kall_alarms")
            return state is not None and state.attributes.get("component_id") == name

        await wait_for(mqtt_hass, critical, f"freezer {name} critical")
        freezer.tick(timedelta(seconds=1))  # the next alarm's stamp is a new millisecond
    assert await open_alarms() == [("freezer_critical", "live"), ("freezer_critical", "old")]
    freezer.tick(timedelta(seconds=90))
    async_fire_time_changed(mqtt_hass)
    await field.publish("sot/kall/freezer/live/temperature", "-5.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_old_temperature", STATE_UNAVAILABLE)
    old = site_device(mqtt_hass, entry.entry_id, "kall_freezer_old")
    assert old
    assert await async_remove(mqtt_hass, old.id, entry.entry_id)
    assert await open_alarms() == [("freezer_critical", "live")]
    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    assert await open_alarms() == [("freezer_critical", "live")]


async def async_remove(hass: HomeAssistant, device_id: str, entry_id: str) -> bool:
    """Ask the integration to remove a device, as the device page's delete button does."""
    from custom_components.sot import async_remove_config_entry_device  # noqa: PLC0415

    entry = hass.config_entries.async_get_entry(entry_id)
    device = dr.async_get(hass).async_get(device_id)
    assert entry is not None
    assert device is not None
    allowed = await async_remove_config_entry_device(hass, entry, device)
    if allowed:
        # What the device page's delete does once the integration allows it (HA 2026.11).
        dr.async_get(hass).async_remove_device(device_id)
        await hass.async_block_till_done()
    return allowed


async def test_outage_survives_a_reload(mqtt_hass: HomeAssistant, field: aiomqtt.Client) -> None:
    """An outage that started before a restart is still the same outage after it."""
    entry = site_entry()
    coordinator = await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    assert coordinator.site.outages.current is not None
    started = coordinator.site.outages.current.start
    state = await wait_for_state(mqtt_hass, "sensor.kall_outage_duration", "0")
    assert state.attributes["started"] == started.isoformat()
    assert state.attributes["last_outage"] is None

    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    reloaded = entry.runtime_data
    assert reloaded is not coordinator
    assert reloaded.site.outages.current is not None
    assert reloaded.site.outages.current.start == started

    await start_site_again(mqtt_hass, field)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    assert reloaded.site.outages.current is None
    assert reloaded.site.outages.log[-1].start == started
    state = await wait_for_state(mqtt_hass, "sensor.kall_outage_duration", "0")
    assert state.attributes["started"] is None
    assert state.attributes["last_outage"]["start"] == started.isoformat()
    assert state.attributes["outages_logged"] == 1


async def test_last_outage_minutes_agree_with_the_event(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A 25 s outage is 0.4 minutes in the grid_restored event and in the outage log alike."""
    await start_site(mqtt_hass, field, site_entry(), freezer)
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    freezer.tick(timedelta(seconds=25))
    await field.publish("sot/kall/grid/main/present", "ON")

    def restored() -> bool:
        state = mqtt_hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == "grid_restored"

    await wait_for(mqtt_hass, restored, "a grid_restored event")
    event = mqtt_hass.states.get("event.kall_alarms")
    assert event is not None
    assert event.attributes["outage_minutes"] == 0.4
    state = await wait_for_state(mqtt_hass, "sensor.kall_outage_duration", "0")
    assert state.attributes["last_outage"]["minutes"] == 0.4


async def start_site_again(hass: HomeAssistant, field: aiomqtt.Client) -> None:
    """Wait until the reloaded site's subscription is active."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await wait_until_subscribed(hass, field, entry.runtime_data)


async def test_options_change_applies_new_limits(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    entry = site_entry(alarm_delay=0)
    await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/freezer/f1/temperature", "-14.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_status", "warning")
    mqtt_hass.config_entries.async_update_entry(
        entry, options={**entry.options, "freezer_warning": -10.0, "freezer_critical": -5.0}
    )
    await mqtt_hass.async_block_till_done()
    await start_site_again(mqtt_hass, field)
    await field.publish("sot/kall/freezer/f1/temperature", "-14.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_status", "ok")


async def test_setup_waits_for_mqtt(hass: HomeAssistant) -> None:
    """Without a connected MQTT client the site is retried later, not failed."""
    from unittest.mock import patch  # noqa: PLC0415

    entry = site_entry()
    entry.add_to_hass(hass)
    with patch("custom_components.sot.async_wait_for_mqtt_client", return_value=False):
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_a_counter_dropping_out_is_unavailable_not_reset(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """The controller's run hours never fall back to the model's own (a false meter reset)."""
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=60), freezer)
    await field.publish(
        "sot/kall/generator/main", json.dumps({"state": "running", "run_hours": 1234.5})
    )
    await wait_for_state(mqtt_hass, "sensor.kall_generator_run_hours", "1234.5")
    # "No reading" keeps the last good value until it is stale; then it is unavailable, never
    # the model's own estimate.
    freezer.tick(timedelta(seconds=30))
    await field.publish("sot/kall/generator/main/run_hours", "nan")
    await wait_for(mqtt_hass, lambda: coordinator.rejected["not_finite"] == 1, "the refusal")
    assert mqtt_hass.states.get("sensor.kall_generator_run_hours").state == "1234.5"  # type: ignore[union-attr]
    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(mqtt_hass)
    await wait_for_state(mqtt_hass, "sensor.kall_generator_run_hours", STATE_UNAVAILABLE)
    await field.publish("sot/kall/generator/main/run_hours", "1234.6")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_run_hours", "1234.6")


async def test_estimates_only_for_counters_a_controller_does_not_keep(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Each generator gets its own estimate, and none where its controller counts itself."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/generator/a", json.dumps({"state": "running", "power": 20.0}))
    await field.publish(
        "sot/kall/generator/b",
        json.dumps({"state": "stopped", "power": 0.0, "run_hours": 812.0, "energy": 9100.0}),
    )
    await wait_for_state(mqtt_hass, "sensor.kall_generator_b_run_hours", "812.0")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_a_run_hours_estimated", "0.0")
    assert mqtt_hass.states.get("sensor.kall_generator_a_energy_estimated") is not None
    assert mqtt_hass.states.get("sensor.kall_generator_a_run_hours") is None
    assert mqtt_hass.states.get("sensor.kall_generator_b_run_hours_estimated") is None
    assert mqtt_hass.states.get("sensor.kall_generator_b_energy_estimated") is None


async def test_site_state_is_saved_while_running(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A power cut of Home Assistant itself must not lose the outage in progress."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry, freezer)
    key = f"sot.{entry.entry_id}"
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    for _ in range(3):  # readings keep arriving; the save must not be put off by them
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(mqtt_hass)
        await field.publish("sot/kall/grid/main/present", "OFF")
        await mqtt_hass.async_block_till_done()
    await wait_for(mqtt_hass, lambda: key in hass_storage, "the outage to be saved")
    assert hass_storage[key]["data"]["outage"]["end"] is None

    # Integrated counters are saved within a minute even while messages never stop.
    await field.publish("sot/kall/generator/main", json.dumps({"state": "running", "power": 30.0}))
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
    for _ in range(8):
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(mqtt_hass)
        await field.publish("sot/kall/generator/main/power", "30.0")
        await mqtt_hass.async_block_till_done()
    await wait_for(
        mqtt_hass,
        lambda: hass_storage[key]["data"]["generators"]["main"]["seconds"] > 0,
        "run time to be saved while messages keep coming",
    )


async def test_a_damaged_saved_state_is_kept_aside_and_told(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A saved state that cannot be read is not lost to the next save: it is copied aside
    and a notice in Repairs says so; the site starts afresh and saves its own."""
    entry = site_entry()
    key = f"sot.{entry.entry_id}"
    damaged = {"outage": {"start": "not a time"}, "components": []}
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": damaged}
    await start_site(mqtt_hass, field, entry, freezer)
    kept = [k for k in hass_storage if k.startswith(f"{key}.damaged.")]
    assert len(kept) == 1
    assert hass_storage[kept[0]]["data"] == damaged
    [issue] = _damaged_notices(mqtt_hass)
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["kept"] == f".storage/{kept[0]}"
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(mqtt_hass)
    await wait_for(
        mqtt_hass, lambda: hass_storage[key]["data"] != damaged, "the site's own state to be saved"
    )
    assert hass_storage[kept[0]]["data"] == damaged


async def test_a_second_damaged_saved_state_is_told_even_after_the_first_was_ignored(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The user read the first notice and ignored it: a saved state lost again weeks later is
    news, and Repairs shows it, naming the file that one was kept in."""
    freezer.move_to("2026-11-01 12:00:00+00:00")
    entry = site_entry()
    key = f"sot.{entry.entry_id}"
    damaged = {"outage": {"start": "not a time"}, "components": []}
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": damaged}
    await start_site(mqtt_hass, field, entry, freezer)
    [first] = _damaged_notices(mqtt_hass)
    ir.async_ignore_issue(mqtt_hass, DOMAIN, first.issue_id, True)
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)

    freezer.move_to("2026-11-20 12:00:00+00:00")
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": damaged}
    assert await mqtt_hass.config_entries.async_setup(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    shown = [i for i in _damaged_notices(mqtt_hass) if i.dismissed_version is None]
    assert [i.translation_placeholders["kept"] for i in shown if i.translation_placeholders] == [
        f".storage/{key}.damaged.20261120T120000"
    ]
    assert await mqtt_hass.config_entries.async_remove(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    assert _damaged_notices(mqtt_hass) == []


def _damaged_notices(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith("stored_state_damaged_")
    ]


async def test_a_named_components_friendly_name_holds_across_a_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Home Assistant names a device afresh from its device info as each of its entities is
    added: a device with a meta name must not be named from kind and id and back again at
    every start (each flip is a state change of every entity of the device)."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    try:
        await field.publish("sot/kall/freezer/f5/meta", json.dumps({"name": "Frysbox 5"}))
        await field.publish("sot/kall/freezer/f5", json.dumps({"temperature": -18.0}))
        await wait_for_state(mqtt_hass, "sensor.kall_freezer_f5_temperature", "-18.0")
        await wait_for(
            mqtt_hass, lambda: device_name(mqtt_hass, entry, "f5") == "Kall Frysbox 5", "name"
        )
        names: list[str] = []

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            # (Not the states Home Assistant itself writes for entities removed at the unload.)
            if (
                event.data["entity_id"].startswith("sensor.kall_freezer_f5_")
                and new is not None
                and not new.attributes.get("restored")
            ):
                names.append(str(new.attributes.get("friendly_name")))

        stop = mqtt_hass.bus.async_listen(EVENT_STATE_CHANGED, record)
        assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
        await mqtt_hass.async_block_till_done()
        stop()
        assert names
        assert all(name.startswith("Kall Frysbox 5") for name in names), names
        assert device_name(mqtt_hass, entry, "f5") == "Kall Frysbox 5"
    finally:
        await field.publish("sot/kall/freezer/f5/meta", b"", retain=True)


async def test_load_shedding_finds_when_the_outage_began_from_the_site_sensors(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The load shedding blueprint tells a changeover it did not see by when the outage began,
    which it finds from the grid and backup sensors' devices: the outage sensor's `started`."""
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    found = load_blueprint("load_shedding.yaml").data["variables"]["outage_started"]
    variables = {
        "grid_sensor": "binary_sensor.kall_grid_present",
        "backup_sensor": "binary_sensor.kall_on_backup_power",
    }
    assert Template(found, mqtt_hass).async_render(variables) is None  # no outage

    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    started = mqtt_hass.states.get("sensor.kall_outage_duration").attributes["started"]  # type: ignore[union-attr]
    assert started is not None
    shown = Template(found, mqtt_hass).async_render(variables)
    assert shown == dt_util.parse_datetime(started).timestamp()  # type: ignore[union-attr]
    # Found from the grid sensor alone as well (a backup sensor of another integration).
    alone = {**variables, "backup_sensor": "binary_sensor.elsewhere"}
    assert Template(found, mqtt_hass).async_render(alone) == shown
