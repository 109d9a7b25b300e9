"""While a site's link to the county is down, the county shows none of its values as live.

At the county a site's retained node statuses keep saying `online` when its link is cut (their
last will fires at the site's own broker), so an ON/OFF or a state word would stay "live" for
as long as the link is down: the power source of a site that is blacked out and unreachable.
The bridge's notification topic (`sot-bridge/<site>/state`) is what knows. Kall's nodes
publish on Kall's broker, bridged to the county by the configuration `scripts/county`
generated; the county's Home Assistant is the integration with its real MQTT client.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiomqtt
import pytest
from homeassistant.components import mqtt
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.site.readings import Command

from ..helpers import site_entry, start_site, wait_for, wait_for_state
from ..test_operator_dashboard_records import banners, cards, shown
from .brokers import County
from .conftest import bridge_state

WAIT = 60.0
SHOWN = {
    "binary_sensor.kall_grid_present": "on",
    "sensor.kall_generator_state": "stopped",
    "switch.kall_load_heater": "on",
}


async def _home_assistant(hass: HomeAssistant, port: int, tmp_path: Path, **login: str) -> None:
    """Home Assistant's MQTT integration logged in to the broker on `port`."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("")
    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": "127.0.0.1", "port": port, "birth_message": {}, **login},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass)


async def _publish_site(nodes: aiomqtt.Client) -> None:
    """Kall as its nodes tell it: the grid on, the generator standing by, the heater on."""
    for topic, payload in (
        ("sot/kall/node/meter/status", "online"),
        ("sot/kall/node/relays/status", "online"),
        ("sot/kall/node/gateway/status", "online"),
        ("sot/kall/grid/main/meta", json.dumps({"node": "meter"})),
        ("sot/kall/load/heater/meta", json.dumps({"node": "relays"})),
        ("sot/kall/generator/main/meta", json.dumps({"node": "gateway"})),
    ):
        await nodes.publish(topic, payload, qos=1, retain=True)
    await nodes.publish("sot/kall/grid/main/present", "ON", qos=1)
    await nodes.publish("sot/kall/generator/main/state", "stopped", qos=1)
    await nodes.publish("sot/kall/load/heater/state", "ON", qos=1)


async def _shown(hass: HomeAssistant, expected: dict[str, str]) -> None:
    for entity_id, state in expected.items():
        await wait_for_state(hass, entity_id, state, WAIT)


async def test_a_site_behind_a_cut_link_is_unavailable_at_the_county(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    county, kall = county_pair, county_pair.sites["kall"]
    await _home_assistant(
        hass, county.local_port, tmp_path, username="county-ha", password=county.ha_password()
    )
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-nodes") as nodes:
        coordinator = await start_site(hass, nodes, site_entry(county_bridge=True))
        await _publish_site(nodes)
        await _shown(hass, SHOWN)

        await hass.async_add_executor_job(kall.link.cut)
        await wait_for(hass, lambda: bridge_state(county, "kall") == b"0", "the link down", WAIT)
        # Nothing of Kall's can arrive: what it last said is not shown as now.
        await _shown(hass, dict.fromkeys(SHOWN, "unavailable"))
        # A command would reach nobody, and the county's broker would still accept it.
        with pytest.raises(HomeAssistantError) as refused:
            await coordinator.async_command(Command("load", "heater", "turn_off"))
        assert refused.value.translation_key == "county_link_down"
        assert refused.value.translation_placeholders == {
            "component": "Load heater",
            "site": "Kall",
        }

        # The county's Home Assistant restarts the site while the link is still down: what
        # it restores, and the site's node statuses retained at the county, are not news.
        shown: list[str] = []

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if event.data["entity_id"] in SHOWN and new is not None:
                shown.append(new.state)

        stop = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
        entry = coordinator.config_entry
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await hass.async_add_executor_job(time.sleep, 2)
        await hass.async_block_till_done()
        stop()
        assert set(shown) <= {"unavailable"}, shown
        await _shown(hass, dict.fromkeys(SHOWN, "unavailable"))

        await hass.async_add_executor_job(kall.link.restore)
        await wait_for(hass, lambda: bridge_state(county, "kall") == b"1", "the link up", WAIT)
        await _publish_site(nodes)
        await _shown(hass, SHOWN)


async def test_the_sites_own_home_assistant_does_not_go_blank_when_the_county_link_does(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    """The site's broker carries the bridge's notification too; at the site, where the data
    does not come over the bridge, the setting is off and the site keeps showing its values."""
    kall = county_pair.sites["kall"]
    await _home_assistant(hass, kall.port, tmp_path)
    seen: list[bytes] = []
    await mqtt.async_subscribe(
        hass, "sot-bridge/kall/state", lambda m: seen.append(m.payload), encoding=None
    )
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-nodes") as nodes:
        await start_site(hass, nodes, site_entry())
        await _publish_site(nodes)
        await _shown(hass, SHOWN)
        await hass.async_add_executor_job(kall.link.cut)
        await wait_for(hass, lambda: seen[-1:] == [b"0"], "the site to hear the link go", WAIT)
        await hass.async_block_till_done()
        assert {e: hass.states.get(e).state for e in SHOWN} == SHOWN  # type: ignore[union-attr]


async def test_the_county_shows_the_sites_public_message_and_sends_no_summary_of_its_own(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    """The site's Home Assistant publishes its summary, with the operator's message; the
    county shows that message and leaves the summary to the site (its login may not write it,
    and a summary worked out at the county would compete with the site's)."""
    county, kall = county_pair, county_pair.sites["kall"]
    await _home_assistant(
        hass, county.local_port, tmp_path, username="county-ha", password=county.ha_password()
    )
    summary = {
        "site": "kall",
        "status": "open",
        "message": "Öppet till 20 i kväll",
        "message_time": "2026-11-28T10:00:00+00:00",
        "since": "2026-11-28T10:00:00+00:00",
    }
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-ha") as site_ha:
        await start_site(hass, site_ha, site_entry(county_bridge=True))
        await site_ha.publish("sot/kall/public", json.dumps(summary), qos=1, retain=True)
        try:
            await wait_for_state(hass, "text.kall_public_message", "Öppet till 20 i kväll", WAIT)
            # While the link is down the county cannot know the site's message now.
            await hass.async_add_executor_job(kall.link.cut)
            await wait_for_state(hass, "text.kall_public_message", "unavailable", WAIT)
            await hass.async_add_executor_job(kall.link.restore)
            await wait_for_state(hass, "text.kall_public_message", "Öppet till 20 i kväll", WAIT)
            await hass.async_add_executor_job(time.sleep, 4)  # past the summary's first wait
            await hass.async_block_till_done()
            denied = [
                line
                for line in county.broker.log_text().splitlines()
                if "Denied PUBLISH" in line and "public" in line
            ]
            assert denied == []
        finally:
            await site_ha.publish("sot/kall/public", b"", qos=1, retain=True)


async def test_the_operator_view_says_to_check_a_site_behind_a_cut_link(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    """With the site's link down its power source cannot be told and readiness says to check
    (`link_down`); the storm-readiness banner, shown only on the grid, hid exactly then."""
    county, kall = county_pair, county_pair.sites["kall"]
    await _home_assistant(
        hass, county.local_port, tmp_path, username="county-ha", password=county.ha_password()
    )
    readiness = "sensor.kall_storm_readiness"
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-nodes") as nodes:
        await start_site(hass, nodes, site_entry(county_bridge=True))
        await _publish_site(nodes)
        await _shown(hass, SHOWN | {"sensor.kall_power_source": "grid"})

        await hass.async_add_executor_job(kall.link.cut)
        await wait_for(hass, lambda: bridge_state(county, "kall") == b"0", "the link down", WAIT)
        await _shown(hass, {"sensor.kall_power_source": "unavailable", readiness: "check"})
        state = hass.states.get(readiness)
        assert state is not None
        assert "link_down" in [reason["reason"] for reason in state.attributes["reasons"]]
        states = {s.entity_id: s.state for s in hass.states.async_all()}
        assert [title.split(":")[0] for title in banners(states)] == ["Stormberedskap"]
        (card,) = cards(readiness)
        text = shown(hass, card["content"])
        assert 'alert-type="warning"' in text
        assert all(line in text for line in state.attributes["texts"]), text
