"""The settings a site publishes for the county, and what the county refuses of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.sot.const import (
    CONF_COUNTY_BRIDGE,
    CONF_FREEZER_CRITICAL,
    CONF_FREEZER_WARNING,
    CONF_SERVICE_DUE_DATE,
    CONF_TANK_CAPACITY,
    DEFAULT_OPTIONS,
    OPTION_RANGES,
)
from custom_components.sot.site_settings import merged_options, parse_settings, settings_payload


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
        ('{"freezer_warning": 5}', "freezer_warning: 5 is outside -40 to -0.5 °C"),
        ('{"service_due_date": "soon"}', "service_due_date: 'soon' is not a date"),
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
