"""Entity ids are the documented English ones whatever Home Assistant's language."""

from __future__ import annotations

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .helpers import site_entry, start_site, wait_for, wait_for_state, wait_until_subscribed

DOCUMENTED = (
    "sensor.kall_freezer_f1_temperature",
    "sensor.kall_generator_state",
    "sensor.kall_power_source",
    "binary_sensor.kall_grid_present",
    "event.kall_alarms",
)


@pytest.mark.parametrize("language", ["sv", "nb", "en"])
async def test_entity_ids_are_english_in_any_language(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, language: str
) -> None:
    mqtt_hass.config.language = language
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/grid/main/present", "OFF")
    await field.publish("sot/kall/generator/main/state", "running")
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    registry = er.async_get(mqtt_hass)
    for entity_id in DOCUMENTED:
        assert registry.async_get(entity_id) is not None, entity_id
        assert mqtt_hass.states.get(entity_id) is not None, entity_id
    names = {e.entity_id for e in registry.entities.values() if e.platform == "sot"}
    assert not any("frys" in n or "elnat" in n or "strom" in n for n in names), sorted(names)


async def test_entity_ids_are_made_from_the_site_id_not_its_name(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The dashboards name a site's entities by its id ("replace kall_ by its id"): a site
    named "Kall handel" (id kall) has `sensor.kall_services`, and a component first seen after
    the site is renamed gets the same prefix as the rest."""
    entry = site_entry(title="Kall handel")
    await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    assert mqtt_hass.states.get("sensor.kall_services") is not None

    result = await entry.start_reconfigure_flow(mqtt_hass)
    result = await mqtt_hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Kall skola", "base_topic": "sot/kall"}
    )
    assert result["reason"] == "reconfigure_successful"
    await wait_for(mqtt_hass, lambda: entry.runtime_data.site_name == "Kall skola", "a restart")
    await wait_until_subscribed(mqtt_hass, field, entry.runtime_data)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    names = {e.entity_id for e in er.async_get(mqtt_hass).entities.values() if e.platform == "sot"}
    assert not [name for name in names if "handel" in name or "skola" in name], sorted(names)
