"""Outage alerts fed by the real site: the integration's alarm entity, a real broker, HA's
automation engine and its start-up."""

from __future__ import annotations

import aiomqtt
from homeassistant.core import CoreState, HomeAssistant

from ..helpers import site_entry, start_site, wait_for, wait_for_state
from .conftest import Phones, setup_blueprint_automation

ALARMS = "event.kall_alarms"


async def test_an_alarm_raised_while_home_assistant_starts_reaches_the_phones(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones
) -> None:
    """Home Assistant arms automations only once it has started; the site hears its retained
    messages before that. The grid going while Home Assistant starts still reaches the phone."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(
        hass,
        "outage_alerts.yaml",
        {"alarm_entity": ALARMS, "notify_devices": [phone], "language": "en", "max_repeats": 0},
    )
    try:
        await start_site(hass, field, site_entry(alarm_delay=0))
        await field.publish("sot/kall/grid/main/present", "ON")
        await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
        await field.publish("sot/kall/grid/main/present", "OFF")
        await wait_for_state(hass, "binary_sensor.kall_grid_present", "off")
        await hass.async_start()
        await wait_for(hass, lambda: bool(phones.sent), "the grid-lost notification", limit=20)
        assert [n.data["title"] for n in phones.sent] == ["Kall: Grid power lost"]
        alarm = hass.states.get(ALARMS)
        assert alarm is not None
        assert alarm.attributes["event_type"] == "grid_lost"
    finally:
        await hass.async_stop()
