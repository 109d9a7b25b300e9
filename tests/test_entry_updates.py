"""Changing a running site: settings apply in place, a reconfigure restarts it exactly once."""

from __future__ import annotations

import logging
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.sot as sot

from .helpers import site_entry, start_site, wait_for, wait_for_state
from .test_offer import next_summary, nothing_retained_on


@pytest.mark.parametrize("older", [False, True], ids=["entry", "entry from an older release"])
async def test_changed_settings_apply_without_a_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, older: bool
) -> None:
    """A stricter freezer limit turns a freezer to warning at once; nothing goes blank. An
    entry saved before a setting existed has no key for it: the form's default is no change."""
    entry = site_entry(alarm_delay=0)
    if older:
        options = {key: value for key, value in entry.options.items() if key != "county_bridge"}
        entry = MockConfigEntry(
            domain=entry.domain,
            title=entry.title,
            unique_id=entry.unique_id,
            data=dict(entry.data),
            options=options,
        )
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
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    broker_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A new base topic: one restart on the new topic, no deprecated reload path used, and
    the summary left on the old topic taken off it (it would go on saying "open")."""
    entry = site_entry()
    await field.subscribe("sot/kall/public", qos=1)
    await start_site(mqtt_hass, field, entry)
    await next_summary(field, lambda _: True)
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
    await nothing_retained_on(broker_port, "sot/kall/public")
    await field.publish("county/kall/public", b"", retain=True)


async def test_the_tank_capacity_setting_sets_the_reserve_of_a_tank_reporting_litres(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A gauge that reports its volume in litres still takes its reserve (a share of the
    capacity) from the setting when its meta gives no capacity: 10 % of 1000 L, then of 600 L."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    await field.publish("sot/kall/grid/main/voltage", "230")
    await field.publish("sot/kall/grid/main/power", "10")
    await field.publish("sot/kall/tank/main/volume", "500")

    def usable() -> object:
        state = mqtt_hass.states.get("sensor.kall_fuel_at_typical_load")
        return None if state is None else state.attributes.get("usable_litres")

    await wait_for(mqtt_hass, lambda: usable() == 400, "500 L less a 100 L reserve")
    result = await mqtt_hass.config_entries.options.async_init(entry.entry_id)
    await mqtt_hass.config_entries.options.async_configure(
        result["flow_id"], {**entry.options, "tank_capacity": 600.0}
    )
    await wait_for(mqtt_hass, lambda: usable() == 440, "500 L less a 60 L reserve")
