"""A county broker and two site brokers (kall, valsjobyn), configured by scripts/county.

`county_pair` is what an HA-level test builds on: connect the county's Home Assistant to
`county.local_port` as `county-ha` (password: `county.ha_password()`), a site's nodes (the
simulator) to `county.sites[name].port`, and cut a site's link with `county.sites[name].link`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .brokers import County, close_all, make_county, running, wait_for

SITES = ["kall", "valsjobyn"]


def bridge_state(county: County, site: str) -> bytes | None:
    """The last bridge notification the county's HA login has seen for `site`."""
    seen = county.watcher.received(f"sot-bridge/{site}/state")
    return seen[-1].payload if seen else None


@pytest.fixture
def county_pair(socket_enabled: None, tmp_path: Path) -> Iterator[County]:
    """Running brokers, every bridge up; `county.watcher` is a county-HA login on `sot/#`."""
    county = make_county(tmp_path, SITES)
    with running(county):
        watcher = county.ha()
        watcher.subscribe("sot/#")
        watcher.subscribe("sot-bridge/#")
        county.watcher = watcher
        for site in SITES:
            wait_for(lambda s=site: bridge_state(county, s) == b"1", 20, f"{site}'s bridge up")
        try:
            yield county
        finally:
            close_all()


async def county_home_assistant(
    hass: HomeAssistant, county: County, config_dir: Path
) -> MockConfigEntry:
    """The county's Home Assistant: its MQTT integration logged in to the county broker."""
    hass.config.config_dir = str(config_dir)
    (config_dir / "configuration.yaml").write_text("")
    mqtt_entry = MockConfigEntry(
        domain="mqtt",
        data={
            "broker": "127.0.0.1",
            "port": county.local_port,
            "username": "county-ha",
            "password": county.ha_password(),
            "birth_message": {},
        },
    )
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass)
    return mqtt_entry
