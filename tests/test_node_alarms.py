"""Node alarms against a real broker: a broker restart is no node going away, a node that dies is.

Mosquitto publishes every connected client's last will as it shuts down (`systemctl restart
mosquitto`, an update), so each node's `offline` arrives just before Home Assistant's own MQTT
connection drops; back up, the nodes say `online`. Neither is news of the site's nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.const import EVENT_ALARM
from custom_components.sot.coordinator import SiteCoordinator

from .helpers import connect_mqtt, site_entry, start_site, wait_for, wait_for_state
from .mosquitto import free_port, mosquitto

# How long a node's `offline` waits before it is raised (docs/integration.md, "Alarms").
HOLD = 10.0
NODES = ("gw", "freezers")


def _alarms(hass: HomeAssistant) -> list[dict[str, Any]]:
    fired: list[dict[str, Any]] = []

    @callback
    def on_alarm(event: Event) -> None:
        fired.append({**event.data, "at": time.monotonic()})

    hass.bus.async_listen(EVENT_ALARM, on_alarm)
    return fired


def _node_alarms(fired: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["event_type"], a["component_id"]) for a in fired if a["kind"] == "node"]


async def _pause(hass: HomeAssistant, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        await hass.async_block_till_done()


async def _node(port: int, node: str) -> aiomqtt.Client:
    """A field node: its last will `offline`, retained, and its birth `online`."""
    client = aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=f"node-{node}",
        will=aiomqtt.Will(f"sot/kall/node/{node}/status", "offline", qos=1, retain=True),
        keepalive=15,
    )
    await client.__aenter__()
    await client.publish(f"sot/kall/node/{node}/status", "online", qos=1, retain=True)
    return client


async def _drop(client: aiomqtt.Client) -> None:
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)


async def test_a_broker_restart_raises_no_node_alarms(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> None:
    """`systemctl restart mosquitto`: every node's will arrives as the broker shuts down, just
    before Home Assistant's own connection drops; back up, the nodes say `online`. Nothing
    happened to the nodes: no `node_offline` and `node_online` to the phones for each of them.
    Values go unavailable while Home Assistant has no broker, and are shown again after."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("")
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    port = free_port()
    fired = _alarms(hass)
    broker = contextlib.ExitStack()
    broker.enter_context(mosquitto(port, broker_dir))
    try:
        mqtt_entry = await connect_mqtt(hass, port, birth=False)
        client = hass.data[DATA_MQTT].client
        async with aiomqtt.Client("127.0.0.1", port, identifier="field-setup") as field:
            coordinator: SiteCoordinator = await start_site(hass, field, site_entry())
        nodes = [await _node(port, node) for node in NODES]
        gw = nodes[0]
        await gw.publish("sot/kall/freezer/f1/meta", '{"node": "freezers"}', qos=1, retain=True)
        await gw.publish("sot/kall/freezer/f1/temperature", "-18.5", qos=1)
        await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", "-18.5")
        await wait_for(
            hass, lambda: coordinator.site.nodes == dict.fromkeys(NODES, True), "nodes online"
        )

        broker.close()  # SIGTERM, as systemd stops it
        await wait_for(hass, lambda: not client.connected, "HA's MQTT client to see it go")
        await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", STATE_UNAVAILABLE)
        # A will came before Home Assistant's connection went (each broker, each time).
        assert False in coordinator.site.nodes.values()
        for each in nodes:
            await _drop(each)
        broker.enter_context(mosquitto(port, broker_dir))
        # The nodes are back first (ESPHome tries every few seconds, Home Assistant every 10 s).
        nodes = [await _node(port, node) for node in NODES]
        await wait_for(hass, lambda: client.connected, "HA's MQTT client to reconnect", 30)
        # Its subscriptions are sent again once it is connected: read until a reading arrives.
        deadline = time.monotonic() + 10
        while hass.states.get("sensor.kall_freezer_f1_temperature").state != "-18.4":
            assert time.monotonic() < deadline, "no reading arrived after the restart"
            await nodes[0].publish("sot/kall/freezer/f1/temperature", "-18.4", qos=1)
            await _pause(hass, 0.2)
        await _pause(hass, HOLD + 2)
        assert _node_alarms(fired) == []
        assert coordinator.site.nodes == dict.fromkeys(NODES, True)

        for each in nodes:
            await _drop(each)
        await hass.config_entries.async_unload(mqtt_entry.entry_id)
        await hass.async_block_till_done()
    finally:
        broker.close()


@contextlib.contextmanager
def _killable_node(port: int, node: str) -> Iterator[subprocess.Popen[bytes]]:
    """A node client with its last will, in a process of its own, to be killed."""
    proc = subprocess.Popen(
        [
            "mosquitto_sub",
            *("-h", "127.0.0.1", "-p", str(port), "-i", f"node-{node}", "-k", "15"),
            *("-t", f"sot/kall/node/{node}/set", "-q", "1"),
            *("--will-topic", f"sot/kall/node/{node}/status", "--will-payload", "offline"),
            *("--will-qos", "1", "--will-retain"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


async def _site_with_node(
    hass: HomeAssistant, field: aiomqtt.Client, entry: MockConfigEntry
) -> SiteCoordinator:
    coordinator = await start_site(hass, field, entry)
    await field.publish("sot/kall/freezer/f1/meta", '{"node": "gw"}', qos=1, retain=True)
    await field.publish("sot/kall/node/gw/status", "online", qos=1, retain=True)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.5", qos=1)
    await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", "-18.5")
    await wait_for(hass, lambda: coordinator.site.nodes.get("gw") is True, "node gw online")
    return coordinator


async def _clear(field: aiomqtt.Client) -> None:
    for topic in ("sot/kall/node/gw/status", "sot/kall/freezer/f1/meta"):
        await field.publish(topic, b"", qos=1, retain=True)


async def _gw_back_online(
    hass: HomeAssistant, field: aiomqtt.Client, fired: list[dict[str, Any]]
) -> None:
    """Node gw, raised offline once, says it is online: `node_online` follows at once."""
    await field.publish("sot/kall/node/gw/status", "online", qos=1, retain=True)
    await wait_for(hass, lambda: len(fired) == 2, "node_online")
    assert _node_alarms(fired) == [("node_offline", "gw"), ("node_online", "gw")]


async def test_a_node_that_dies_is_raised_once_after_the_hold(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, broker_port: int
) -> None:
    """A node killed while Home Assistant stays connected: its will makes its values
    unavailable at once, `node_offline` is raised 10 s later (once, with the time its will
    came), and `node_online` as soon as it is back."""
    hass = mqtt_hass
    fired = _alarms(hass)
    try:
        with _killable_node(broker_port, "gw") as proc:
            coordinator = await _site_with_node(hass, field, site_entry())
            await _pause(hass, 0.5)  # connected and subscribed
            proc.send_signal(signal.SIGKILL)
            await wait_for(hass, lambda: coordinator.site.nodes["gw"] is False, "its will")
            will_at, came = time.monotonic(), dt_util.utcnow()
            assert hass.states.get("sensor.kall_freezer_f1_temperature").state == (
                STATE_UNAVAILABLE
            )
            await wait_for(hass, lambda: bool(fired), "node_offline", HOLD + 5)
            assert _node_alarms(fired) == [("node_offline", "gw")]
            assert HOLD - 0.5 <= fired[0]["at"] - will_at <= HOLD + 2
            raised_for = dt_util.parse_datetime(fired[0]["time"])
            assert raised_for is not None
            assert abs((raised_for - came).total_seconds()) < 1
            await _pause(hass, 2)
            assert _node_alarms(fired) == [("node_offline", "gw")]

        await _gw_back_online(hass, field, fired)
    finally:
        await _clear(field)


async def test_a_node_away_across_a_restart_is_raised_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The site restarted (a reload, Home Assistant restarted) while a node's will waits: the
    alarm is raised once after it, and not again at the next restart."""
    hass = mqtt_hass
    fired = _alarms(hass)
    entry = site_entry()
    try:
        coordinator = await _site_with_node(hass, field, entry)
        await field.publish("sot/kall/node/gw/status", "offline", qos=1, retain=True)
        await wait_for(hass, lambda: coordinator.site.nodes["gw"] is False, "its will")
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert _node_alarms(fired) == []
        await wait_for(hass, lambda: bool(fired), "node_offline", HOLD + 20)
        assert _node_alarms(fired) == [("node_offline", "gw")]

        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await _pause(hass, HOLD + 2)
        assert _node_alarms(fired) == [("node_offline", "gw")]
        await _gw_back_online(hass, field, fired)
    finally:
        await _clear(field)


async def test_at_the_county_a_site_link_lost_raises_no_node_alarms(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """At the county: the site's broker restarted, its nodes' wills crossing the bridge just
    before the bridge says the link is down; back, the nodes are online. No node alarms. A node
    still offline once the link is back is raised, once."""
    hass = mqtt_hass
    fired = _alarms(hass)
    await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
    try:
        coordinator = await _site_with_node(hass, field, site_entry(county_bridge=True))
        await field.publish("sot/kall/node/gw/status", "offline", qos=1, retain=True)
        await field.publish("sot-bridge/kall/state", "0", qos=1, retain=True)
        await wait_for(hass, lambda: "mqtt" in coordinator.site.links_down, "the link down")
        await _pause(hass, HOLD + 2)
        await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
        await field.publish("sot/kall/node/gw/status", "online", qos=1, retain=True)
        await wait_for(hass, lambda: coordinator.site.nodes["gw"] is True, "node gw online")
        await _pause(hass, HOLD + 2)
        assert _node_alarms(fired) == []

        await field.publish("sot/kall/node/gw/status", "offline", qos=1, retain=True)
        await field.publish("sot-bridge/kall/state", "0", qos=1, retain=True)
        await wait_for(hass, lambda: "mqtt" in coordinator.site.links_down, "the link down")
        await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
        await wait_for(hass, lambda: "mqtt" not in coordinator.site.links_down, "the link up")
        await wait_for(hass, lambda: bool(fired), "node_offline", HOLD + 5)
        await _pause(hass, 2)
        assert _node_alarms(fired) == [("node_offline", "gw")]
    finally:
        await field.publish("sot-bridge/kall/state", "", qos=1, retain=True)
        await _clear(field)
