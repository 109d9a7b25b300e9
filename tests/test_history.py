"""What Home Assistant's recorder keeps of the site's sensors."""

from __future__ import annotations

import json

import aiomqtt
import pytest
from homeassistant.components.recorder import Recorder, get_instance, history
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from .helpers import site_entry, start_site, wait_for_state

READINESS = "sensor.kall_storm_readiness"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database is chosen before Home Assistant starts, as the recorder needs."""
    return


async def test_the_readiness_history_keeps_its_reasons_not_its_texts_in_every_language(
    recorder_mock: Recorder, mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The texts in each language are for the notifications; the history keeps the reasons and
    the texts in Home Assistant's language, as before."""
    hass = mqtt_hass
    start = dt_util.utcnow()
    entry = site_entry(stale_timeout=3600)
    await start_site(hass, field, entry)
    await field.publish(
        "sot/kall/generator/main",
        json.dumps({"state": "stopped", "alarm": "ok", "battery_voltage": 11.9}),
    )
    live = await wait_for_state(hass, READINESS, "not_ready")
    assert live.attributes["texts_by_language"]["sv"][0] == (
        "Elverket: startbatteriet 11,9 V i vila, under 12,2 V"
    )
    await async_wait_recording_done(hass)
    states = await get_instance(hass).async_add_executor_job(
        history.state_changes_during_period, hass, start, None, READINESS
    )
    recorded = states[READINESS][-1]
    assert recorded.state == "not_ready"
    assert "texts_by_language" not in recorded.attributes
    assert recorded.attributes["texts"] == live.attributes["texts"]
    assert recorded.attributes["reasons"] == live.attributes["reasons"]
    assert await hass.config_entries.async_unload(entry.entry_id)
