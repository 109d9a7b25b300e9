"""The logbook says which alarm, with its figures, in the user's language."""

from __future__ import annotations

import json

import aiomqtt
import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.sot.site.alarm_texts import describe, language_of

from .helpers import site_entry, start_site, wait_for_state


@pytest.mark.parametrize(
    ("language", "event_type", "data", "text"),
    [
        ("en", "grid_lost", {"fuel_hours": 31.0}, "Grid lost — fuel for 31 h"),
        ("sv", "grid_lost", {"fuel_hours": 5.54}, "Strömavbrott — bränsle för 5,5 h"),
        ("nb", "grid_lost", {}, "Strømbrudd"),
        (
            "en",
            "freezer_critical",
            {"component_name": "Freezer 2", "limit": -12.0, "temperature": -11.4},
            "Freezer 2 above −12 °C (−11.4 °C): food at risk",
        ),
        (
            "sv-SE",
            "freezer_warning",
            {"component_name": "Frys 2", "limit": -15.0, "temperature": -14.5},
            "Frys 2 över −15 °C (−14,5 °C)",
        ),
        (
            "no",
            "grid_restored",
            {"outage_minutes": 62.4, "fuel_used": 11.0},
            "Strømmen tilbake etter 62,4 min, 11 L drivstoff brukt",
        ),
        (
            "de",
            "generator_fault",
            {"component_name": "generator", "generator_alarm": "shutdown"},
            "generator fault: shutdown",
        ),
        (
            "en",
            "grid_restored",
            {"outage_minutes": 0.4},
            "Grid back after 0.4 min, ? L of fuel used",
        ),
        # A tanker's delivery: grouped in threes as each language writes it.
        ("sv", "fuel_refilled", {"litres_added": 12040.4}, "12\u00a0040,4 L bränsle påfyllt"),
        ("nb", "fuel_refilled", {"litres_added": 12040.0}, "12\u00a0040 L drivstoff fylt på"),
        (
            "en",
            "fuel_drain",
            {"litres_lost": 10500.0},
            "10,500 L of fuel lost from the tank",
        ),
        ("en", "fuel_refilled", {"litres_added": 4400.0}, "4400 L of fuel delivered"),
    ],
)
def test_alarm_in_words(language: str, event_type: str, data: dict[str, object], text: str) -> None:
    assert describe(event_type, data, language) == text


def test_languages() -> None:
    assert [language_of(t) for t in ("sv", "sv-SE", "nb-NO", "nn", "en-GB", "fi", None)] == [
        "sv",
        "sv",
        "nb",
        "nb",
        "en",
        "en",
        "en",
    ]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database is chosen before Home Assistant starts, as the recorder needs."""
    return


async def test_logbook_names_the_alarm(
    recorder_mock: Recorder,
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """What the operator reads in the logbook after the storm."""
    assert await async_setup_component(mqtt_hass, "logbook", {})
    start = dt_util.utcnow()
    await start_site(mqtt_hass, field, site_entry())
    await field.publish("sot/kall/tank/main/level", "50.0")
    await field.publish(
        "sot/kall/generator/main", json.dumps({"state": "running", "fuel_rate": 10.0})
    )
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    client = await hass_ws_client(mqtt_hass)

    async def entries() -> list[dict[str, object]]:
        await client.send_json_auto_id(
            {"type": "logbook/get_events", "start_time": start.isoformat()}
        )
        response = await client.receive_json()
        assert response["success"], response
        return [e for e in response["result"] if e.get("entity_id") == "event.kall_alarms"]

    await async_wait_recording_done(mqtt_hass)
    # The operator reads the logbook in Swedish (entity ids were made in English above).
    await mqtt_hass.config.async_update(language="sv")
    described = [e["message"] for e in await entries() if e.get("name") == "Kall"]
    # 50 % of 1000 L less the 10 % reserve, at 10 L/h.
    assert described == ["Strömavbrott — bränsle för 40 h"]
