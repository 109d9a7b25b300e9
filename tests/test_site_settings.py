"""The settings a site publishes for the county, and what the county refuses of them."""

from __future__ import annotations

import json
from typing import Any

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant

from custom_components.sot.const import (
    CONF_COUNTY_BRIDGE,
    CONF_FREEZER_CRITICAL,
    CONF_FREEZER_WARNING,
    CONF_SERVICE_DUE_DATE,
    CONF_SILENT_AFTER,
    CONF_TANK_CAPACITY,
    DEFAULT_OPTIONS,
    OPTION_RANGES,
)
from custom_components.sot.site_settings import merged_options, parse_settings, settings_payload

from .helpers import site_entry, start_site, wait_for


def test_the_payload_holds_every_setting_but_the_bridge_and_reads_back() -> None:
    options = {**DEFAULT_OPTIONS, CONF_TANK_CAPACITY: 600.0, CONF_COUNTY_BRIDGE: False}
    payload = settings_payload(options)
    sent = json.loads(payload)
    assert set(sent) == {*OPTION_RANGES, CONF_SERVICE_DUE_DATE}
    assert sent[CONF_SERVICE_DUE_DATE] is None
    assert parse_settings(payload) == sent
    # What the county makes of it: the site's settings, its own bridge setting, no date.
    county = {**DEFAULT_OPTIONS, CONF_COUNTY_BRIDGE: True, CONF_SERVICE_DUE_DATE: "2027-01-01"}
    merged = merged_options(county, parse_settings(payload))
    assert merged == {**DEFAULT_OPTIONS, CONF_TANK_CAPACITY: 600.0, CONF_COUNTY_BRIDGE: True}


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ("{", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("{}", "holds no setting"),
        ('{"unknown": 1}', "holds no setting"),
        ('{"tank_capacity": "600"}', "tank_capacity: '600' is not a number"),
        ('{"tank_capacity": true}', "tank_capacity: True is not a number"),
        ('{"tank_capacity": 0}', "tank_capacity: 0 is outside 1 to 100000 L"),
        ('{"tank_capacity": NaN}', "tank_capacity: nan is outside"),
        # A JSON integer too large for a float is refused like any number out of range.
        pytest.param(
            '{"tank_capacity": 1' + "0" * 400 + "}",
            "tank_capacity: 1" + "0" * 400 + " is outside",
            id="huge-integer",
        ),
        ('{"freezer_warning": 5}', "freezer_warning: 5 is outside -40 to -0.5 °C"),
        ('{"service_due_date": "soon"}', "service_due_date: 'soon' is not a date"),
        # Only the form's own YYYY-MM-DD: what it would refuse when the county opens it.
        ('{"service_due_date": 20270115}', "service_due_date: 20270115 is not a date"),
        ('{"service_due_date": "20270115"}', "service_due_date: '20270115' is not a date"),
        ('{"service_due_date": "2027-W03-1"}', "service_due_date: '2027-W03-1' is not a date"),
        ('{"tank_capacity": 600, "x": "' + "y" * 5000 + '"}', "longer than 4096 bytes"),
    ],
)
def test_a_bad_message_is_refused_saying_why(payload: str, said: str) -> None:
    with pytest.raises(ValueError, match="^" + said.replace("(", r"\(")):
        parse_settings(payload)


def test_a_newer_or_older_site_gives_what_it_has() -> None:
    """Keys the county does not know are left alone; those missing keep the county's."""
    settings: dict[str, Any] = parse_settings('{"tank_capacity": 600, "new_setting": 3}')
    assert settings == {CONF_TANK_CAPACITY: 600}
    county = {**DEFAULT_OPTIONS, CONF_COUNTY_BRIDGE: True}
    assert merged_options(county, settings) == {**county, CONF_TANK_CAPACITY: 600}


def test_limits_that_would_contradict_the_countys_others_are_refused() -> None:
    county = {**DEFAULT_OPTIONS, CONF_FREEZER_WARNING: -15.0, CONF_FREEZER_CRITICAL: -12.0}
    with pytest.raises(ValueError, match=r"freezer_critical -20\.0 is not above freezer_warning"):
        merged_options(county, {CONF_FREEZER_CRITICAL: -20.0})


async def test_settings_that_come_while_the_site_is_set_up_are_applied(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """At the county the retained settings may come before the entry's update listener is
    there: they are applied all the same, not only written into the entry."""
    coordinator = await start_site(mqtt_hass, field, site_entry(county_bridge=True))
    entry = coordinator.config_entry
    entry.update_listeners.clear()  # as while the site is still being set up
    try:
        await field.publish(
            "sot/kall/settings", settings_payload({CONF_TANK_CAPACITY: 600.0}), retain=True
        )
        await wait_for(
            mqtt_hass,
            lambda: coordinator.site.settings.tank_capacity == 600.0,
            "the site's tank capacity in force",
        )
        assert entry.options[CONF_TANK_CAPACITY] == 600.0
    finally:
        await field.publish("sot/kall/settings", b"", retain=True)


async def test_the_countys_silence_limit_is_its_own(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The county's *has gone silent* repair offers a longer silence; the site's settings, which
    it publishes again at its next start, must not take that back (the repair would come back
    after every start of the site). The rest of the site's settings are taken as before."""
    coordinator = await start_site(
        mqtt_hass, field, site_entry(county_bridge=True, **{CONF_SILENT_AFTER: 240})
    )
    entry = coordinator.config_entry
    try:
        await field.publish(
            "sot/kall/settings",
            settings_payload({CONF_TANK_CAPACITY: 600.0, CONF_SILENT_AFTER: 30}),
            retain=True,
        )
        await wait_for(
            mqtt_hass,
            lambda: entry.options.get(CONF_TANK_CAPACITY) == 600.0,
            "the site's tank capacity taken",
        )
        assert entry.options[CONF_SILENT_AFTER] == 240
    finally:
        await field.publish("sot/kall/settings", b"", retain=True)
