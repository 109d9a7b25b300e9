"""Changing a running site: settings apply in place, a reconfigure restarts it exactly once."""

from __future__ import annotations

import logging
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant

import custom_components.sot as sot

from .helpers import site_entry, start_site, wait_for, wait_for_state


async def test_changed_settings_apply_without_a_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A stricter freezer limit turns a freezer to warning at once; nothing goes blank."""
    entry = site_entry(alarm_delay=0)
    coordinator = await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_status", "ok")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")

    with patch.object(sot, "async_setup_entry", wraps=sot.async_setup_entry) as setups:
        result = await mqtt_hass.config_entries.options.async_init(entry.entry_id)
        result = await mqtt_hass.config_entries.options.async_configure(
            result["flow_id"], {**entry.options, "freezer_warning": -20.0}
        )
        await mqtt_hass.async_block_till_done()
    assert setups.call_count == 0
    assert entry.runtime_data is coordinator
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_status", "warning")
    # A value published once, on change, is still shown: the site was not restarted.
    assert mqtt_hass.states.get("binary_sensor.kall_grid_present").state == "on"


async def test_reconfigure_restarts_the_site_once_and_reports_nothing(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A new base topic: one restart on the new topic, no deprecated reload path used."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    caplog.set_level(logging.WARNING)
    with patch.object(sot, "async_setup_entry", wraps=sot.async_setup_entry) as setups:
        result = await entry.start_reconfigure_flow(mqtt_hass)
        result = await mqtt_hass.config_entries.flow.async_configure(
            result["flow_id"], {"name": "Kall skola", "base_topic": "county/kall"}
        )
        assert result["reason"] == "reconfigure_successful"
        await wait_for(mqtt_hass, lambda: setups.call_count >= 1, "the site to restart")
        await mqtt_hass.async_block_till_done()
    assert setups.call_count == 1
    assert entry.runtime_data.base_topic == "county/kall"
    assert entry.runtime_data.site_name == "Kall skola"
    assert "update listener" not in caplog.text
