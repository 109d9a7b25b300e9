"""A command the county sends into a link loss expires: never carried out late at the site.

The county's Home Assistant (the integration, its real MQTT client logged in as `county-ha`)
switches Kall's 50 kW heater on while the link to Kall is down; the simulator's relay node sits
on Kall's own broker. Three ways a link loss can hold a command:

- `stall`: the link hangs without dropping (a mobile link in a storm). Neither broker notices
  before its keepalive runs out, so the county hands the command to the bridge's connection and
  the link delivers it when it moves again, after the command's expiry.
- `cut`: the link drops. The shipped MQTT 5 bridge has no session at the county, so the county
  drops the command at once.
- `cut` with an MQTT 3.1.1 bridge (what the issue measured, 183 s late): the county keeps the
  bridge's session and delivers the queued command when the link returns.

In each, Home Assistant says the command expired, the relay does not carry it out, and a fresh
command after the link returns is carried out and confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.mqtt_nodes import NodeClient, nodes_for
from simulator.site import Site as SimulatedSite
from simulator.sites import KALL

from ..helpers import site_entry, start_site, wait_for_state
from ..helpers import wait_for as until
from .brokers import County, wait_for
from .conftest import bridge_state, county_home_assistant

HEATER = "switch.kall_load_heater"
START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def _use_mqtt311_bridge(county: County) -> None:
    """Kall's bridge as before MQTT 5: the county keeps its session, and queues commands."""
    kall = county.sites["kall"]
    conf = kall.files / "conf.d" / "sot-county.conf"
    text = conf.read_text()
    assert "bridge_protocol_version mqttv50" in text
    conf.write_text(text.replace("mqttv50", "mqttv311"))
    kall.broker.stop()
    kall.broker.start()
    wait_for(lambda: bridge_state(county, "kall") == b"1", 60, "kall's MQTT 3.1.1 bridge up")


def _lose_link(county: County, how: str) -> None:
    kall = county.sites["kall"]
    if how == "stall":
        kall.link.stall()
        return
    kall.link.cut()
    wait_for(lambda: bridge_state(county, "kall") == b"0", 10, "kall's link down")


def _link_back(county: County, how: str) -> None:
    kall = county.sites["kall"]
    if how == "stall":
        kall.link.resume()
        return
    kall.link.restore()
    wait_for(lambda: bridge_state(county, "kall") == b"1", 60, "kall's link back")


@pytest.mark.parametrize(
    ("bridge", "how"),
    [("shipped", "stall"), ("shipped", "cut"), ("mqttv311", "cut")],
    ids=["link stalls", "link cut", "link cut, MQTT 3.1.1 bridge"],
)
async def test_a_command_sent_into_a_link_loss_expires_and_is_never_carried_out(
    hass: HomeAssistant, county_pair: County, tmp_path: Path, bridge: str, how: str
) -> None:
    county = county_pair
    kall = county.sites["kall"]
    if bridge == "mqttv311":
        await hass.async_add_executor_job(_use_mqtt311_bridge, county)

    # Kall's relay node on Kall's broker, judging expiry by the wall clock.
    site = SimulatedSite(KALL, START)
    relays_node = next(node for node in nodes_for(site) if node.id == "relays")
    relays = NodeClient(site, relays_node, "127.0.0.1", kall.port, interval_s=0.5)
    relay_task = asyncio.create_task(relays.run())

    mqtt_entry: MockConfigEntry | None = None
    try:
        mqtt_entry = await county_home_assistant(hass, county, tmp_path)
        await asyncio.wait_for(relays.connected.wait(), 10)
        # The probes a test publishes to find HA subscribed come from Kall, over the bridge.
        async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-probe") as field:
            entry = site_entry()
            await start_site(hass, field, entry)
        await wait_for_state(hass, HEATER, "off")

        await hass.async_add_executor_job(_lose_link, county, how)
        sent = time.monotonic()
        with pytest.raises(HomeAssistantError) as expired:
            await hass.services.async_call(
                "switch", "turn_on", {"entity_id": HEATER}, blocking=True
            )
        # The operator is told it expired, when it did (10 s, and 2 s for a late echo).
        assert expired.value.translation_key == "command_expired"
        assert 10 <= time.monotonic() - sent < 20
        state = hass.states.get(HEATER)
        assert state.attributes["last_command"] == "expired"
        assert state.attributes["last_command_state"] == "on"

        await hass.async_add_executor_job(_link_back, county, how)
        # Whatever the link held or the county queued arrives now, or never.
        if how == "stall" or bridge == "mqttv311":
            await until(hass, lambda: relays.commands_expired > 0, "the command at the relay", 30)
            # The relay said why, on its debug topic, and the county saw it.
            debug = "sot/kall/node/relays/debug"
            await hass.async_add_executor_job(
                wait_for, lambda: county.watcher.received(debug), 10, "the relay's warning"
            )
        else:
            await asyncio.sleep(2)
            assert relays.commands_expired == 0, "the county kept a command for a cut link"
        assert relays.commands_obeyed == 0
        assert not site.loads["heater"].on
        assert hass.states.get(HEATER).state == "off"

        # A command sent now is carried out at once and confirmed.
        await hass.services.async_call("switch", "turn_on", {"entity_id": HEATER}, blocking=True)
        assert site.loads["heater"].on
        state = await wait_for_state(hass, HEATER, "on")
        assert state.attributes["last_command"] == "confirmed"
        assert relays.commands_obeyed == 1
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        if mqtt_entry is not None:
            await hass.config_entries.async_unload(mqtt_entry.entry_id)
        await hass.async_block_till_done()
