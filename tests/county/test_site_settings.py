"""The county works out a site's figures with the site's own settings, not its defaults.

The site's Home Assistant publishes its settings on `sot/<site>/settings`, retained; Kall's
bridge (made by scripts/county) carries them to the county, whose Home Assistant writes them
into its entry of the site. Without them a site with a 600 L tank, a 20 % reserve and a 30 kW
set showed 84 h of fuel at the county against the site's 47 h.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant

from custom_components.sot.const import (
    CONF_FREEZER_CRITICAL,
    CONF_GENERATOR_RATING,
    CONF_SERVICE_DUE_DATE,
    CONF_TANK_CAPACITY,
    CONF_TANK_RESERVE,
    DEFAULT_OPTIONS,
)
from custom_components.sot.diagnostics import async_get_config_entry_diagnostics
from custom_components.sot.site.fuel_curve import fuel_rate
from custom_components.sot.site_settings import settings_payload

from ..helpers import site_entry, start_site, wait_for
from .brokers import County
from .conftest import county_home_assistant
from .test_county_link import _home_assistant

WAIT = 60.0
TOPIC = "sot/kall/settings"
TYPICAL = "sensor.kall_fuel_at_typical_load"
# Kall as its operator set it up: a small tank, a large reserve, a small set.
KALL = {
    CONF_TANK_CAPACITY: 600.0,
    CONF_TANK_RESERVE: 20.0,
    CONF_GENERATOR_RATING: 30.0,
    CONF_SERVICE_DUE_DATE: "2027-01-15",
}


def _settings_at_county(county: County) -> list[dict[str, Any] | None]:
    """Each settings message the county's login has seen (None: the retained one cleared)."""
    return [json.loads(m.payload) if m.payload else None for m in county.watcher.received(TOPIC)]


async def test_the_sites_home_assistant_publishes_its_settings_to_the_county(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    county, kall = county_pair, county_pair.sites["kall"]
    await _home_assistant(hass, kall.port, tmp_path)  # the site's own
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-nodes") as nodes:
        entry = site_entry(**KALL)
        await start_site(hass, nodes, entry)
        await wait_for(
            hass, lambda: _settings_at_county(county), "the settings at the county", WAIT
        )
        published = _settings_at_county(county)[-1]
        assert published is not None
        assert published == {
            **{key: value for key, value in DEFAULT_OPTIONS.items() if key != "county_bridge"},
            **KALL,
        }
        # Retained at the county too: a county Home Assistant that starts later gets them.
        newcomer = county.ha()
        newcomer.subscribe(TOPIC)
        await wait_for(hass, lambda: newcomer.received(TOPIC), "the retained settings", WAIT)
        assert newcomer.received(TOPIC)[0].retain
        newcomer.close()

        # A change of the site's settings is published at once.
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_TANK_CAPACITY: 700.0}
        )
        await wait_for(
            hass,
            lambda: (_settings_at_county(county)[-1] or {}).get(CONF_TANK_CAPACITY) == 700.0,
            "the changed settings at the county",
            WAIT,
        )

        # A site deleted takes its settings off the brokers.
        assert await hass.config_entries.async_remove(entry.entry_id)
        await wait_for(
            hass, lambda: _settings_at_county(county)[-1] is None, "the settings cleared", WAIT
        )


def _typical_hours(hass: HomeAssistant) -> float | None:
    state = hass.states.get(TYPICAL)
    if state is None or state.state in ("unknown", "unavailable"):
        return None
    return float(state.state)


async def test_the_county_shows_the_sites_figures_with_the_sites_settings(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    county, kall = county_pair, county_pair.sites["kall"]
    await county_home_assistant(hass, county, tmp_path)
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-nodes") as nodes:
        coordinator = await start_site(hass, nodes, site_entry(county_bridge=True))
        entry = coordinator.config_entry

        async def readings() -> None:
            """On the grid at 15 kW, the tank (in %) half full."""
            await nodes.publish("sot/kall/grid/main", json.dumps({"present": "ON", "power": 15}))
            await nodes.publish("sot/kall/tank/main/level", "50")

        # Before the site's settings: the county's defaults (1000 L, 10 %, a 56 kW set).
        defaults = 400 / fuel_rate(56.0, 15 / 56)
        await readings()
        await wait_for(
            hass,
            lambda: _typical_hours(hass) == pytest.approx(defaults, rel=0.01),
            f"{defaults:.1f} h with the county's own settings",
            WAIT,
        )

        try:
            await nodes.publish(
                TOPIC, settings_payload({**DEFAULT_OPTIONS, **KALL}), qos=1, retain=True
            )
            # 600 L less the 20 % reserve, at half the 30 kW set's rating: the site's figure.
            sites = 180 / fuel_rate(30.0, 0.5)
            assert sites < defaults / 1.5
            await wait_for(
                hass,
                lambda: _typical_hours(hass) == pytest.approx(sites, rel=0.01),
                f"{sites:.1f} h with the site's settings",
                WAIT,
            )
            diagnostics = await async_get_config_entry_diagnostics(hass, entry)
            assert diagnostics["site_settings_at"] is not None
            # The county's Configure shows them; whether the bridge is on stays its own.
            assert {key: entry.options[key] for key in KALL} == KALL
            assert entry.options["county_bridge"] is True

            # A message with a setting out of range is refused whole: nothing changes.
            bad = {**KALL, CONF_TANK_CAPACITY: 0, CONF_TANK_RESERVE: 5.0}
            before = coordinator.rejected["bad_setting"]
            await nodes.publish(TOPIC, json.dumps(bad), qos=1, retain=True)
            await wait_for(
                hass,
                lambda: coordinator.rejected["bad_setting"] > before,
                "the bad settings refused",
                WAIT,
            )
            assert "tank_capacity" in coordinator.recent_rejections[-1]["detail"]
            assert entry.options[CONF_TANK_RESERVE] == 20.0
            assert _typical_hours(hass) == pytest.approx(sites, rel=0.01)
            # So is one whose freezer limits would contradict the county's others.
            await nodes.publish(
                TOPIC, json.dumps({CONF_FREEZER_CRITICAL: -20.0}), qos=1, retain=True
            )
            await wait_for(
                hass,
                lambda: coordinator.rejected["bad_setting"] > before + 1,
                "the contradicting limits refused",
                WAIT,
            )
            assert entry.options[CONF_FREEZER_CRITICAL] == DEFAULT_OPTIONS[CONF_FREEZER_CRITICAL]

            # The site's good settings again; a restart of the county keeps showing them.
            await nodes.publish(
                TOPIC, settings_payload({**DEFAULT_OPTIONS, **KALL}), qos=1, retain=True
            )
            assert await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
            assert {key: entry.options[key] for key in KALL} == KALL
            await readings()
            await wait_for(
                hass,
                lambda: _typical_hours(hass) == pytest.approx(sites, rel=0.01),
                "the site's figure after a restart",
                WAIT,
            )
        finally:
            await nodes.publish(TOPIC, b"", qos=1, retain=True)
