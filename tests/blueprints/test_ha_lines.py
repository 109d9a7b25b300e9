"""Phone alerts reach the phones on both template forms Home Assistant has had since 2026.2.

From 2026.10 `config_entry_attr(id, 'state')` gives the plain string `loaded` where earlier
releases gave the enum; from 2026.11 a device belongs to one config entry (`config_entry_id`)
and reading its `config_entries` is reported as deprecated. The tests run natively on the
oldest supported release; the `new_templates` fixture makes its template functions answer the
way 2026.11 does, so both forms are rendered by the same blueprint in the same engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import Enum
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, STATE_OFF, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import template
from homeassistant.helpers.template.extensions.devices import DeviceExtension

from .conftest import Clock, Phones
from .test_generator_exercise import LOAD, MONDAY_1000, RUNNING, setup_reminder
from .test_outage_alerts import ALARMS, EVENT_TYPES, IPHONE, PIXEL, alarm, setup_alerts


class DeviceConfigEntriesRead(AssertionError):
    """A blueprint read a device's `config_entries`, which HA 2026.11 reports as deprecated."""


# From 2026.10 the template functions answer the new way themselves: the tests run natively.
NEW_TEMPLATES = (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10)
LINES = ["2026.10+"] if NEW_TEMPLATES else ["2026.2", "2026.11"]


@pytest.fixture(params=LINES)
def ha_line(request: pytest.FixtureRequest, hass: HomeAssistant) -> Iterator[str]:
    """The template functions of the oldest supported release, or of 2026.10 and later."""
    original_device_attr = DeviceExtension.device_attr

    def device_attr(self: DeviceExtension, device_id: str, name: str) -> Any:
        if name == "config_entries" and request.param != "2026.2":
            raise DeviceConfigEntriesRead(device_id)
        if name == "config_entry_id" and request.param == "2026.11":
            device = dr.async_get(self.hass).async_get(device_id)
            return None if device is None else device.primary_config_entry
        return original_device_attr(self, device_id, name)

    with contextlib.ExitStack() as patches:
        patches.enter_context(patch.object(DeviceExtension, "device_attr", device_attr))
        if request.param == "2026.11":
            original_attr = template.config_entry_attr

            def config_entry_attr(hass: HomeAssistant, entry_id: str, name: str) -> Any:
                value = original_attr(hass, entry_id, name)
                return value.value if isinstance(value, Enum) else value

            patches.enter_context(patch.object(template, "config_entry_attr", config_entry_attr))
        # Template environments are built once per hass and keep the functions they found.
        for key in list(hass.data):
            if str(key).startswith("template.environment"):
                hass.data.pop(key)
        yield request.param


async def test_outage_alert_reaches_every_phone_with_the_app(
    hass: HomeAssistant, ha_line: str, clock: Clock, phones: Phones
) -> None:
    """A grid loss is pushed to both phones whose app is loaded, not to one without it."""
    hass.states.async_set(ALARMS, STATE_UNKNOWN, {"event_types": EVENT_TYPES})
    phones.add("Pixel 7")
    phones.add("Annas iPhone")
    phones.add("Old tablet", app_loaded=False)
    await setup_alerts(hass, phones)
    await alarm(hass, clock, "grid_lost", component_id="main", component_name="Elnät")
    assert [n.service for n in phones.take()] == [PIXEL, IPHONE]


async def test_exercise_reminder_reaches_the_phone(
    hass: HomeAssistant, ha_line: str, clock: Clock, phones: Phones
) -> None:
    """The overdue-exercise reminder skips the phone without the app and reaches the other."""
    phones.add("Old phone", app_loaded=False)
    hass.states.async_set(RUNNING, STATE_OFF)
    hass.states.async_set(LOAD, "0.0")
    await setup_reminder(hass, phones, weekly_inspection=False)
    await clock.advance_to(MONDAY_1000 + 60, step=300)
    assert [(n.at, n.service) for n in phones.take()] == [(MONDAY_1000, "mobile_app_pixel_7")]
