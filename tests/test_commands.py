"""Commands are delivered or refused, never left to fire later; one component, one source.

A relay node listens on the broker the whole time and counts every command it receives, the
way the load-relay ESPHome node would switch on each one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiomqtt
import paho.mqtt.client as paho
import pytest
from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.sot.coordinator import CommandStatus, SiteCoordinator
from custom_components.sot.site.readings import Command

from .helpers import connect_mqtt, site_entry, start_site, tcp_genset, wait_for, wait_for_state
from .modbus.server import dse_on_load_during_outage, tcp_server
from .mosquitto import free_port, mosquitto


class RelayNode:
    """The heater's relay: switches on every command, echoes its state, reconnects by itself."""

    def __init__(self, port: int, *, echo: bool = True) -> None:
        self.received: list[str] = []
        self.payloads: list[dict[str, Any]] = []
        self.echo = echo
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="relay-heater")
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._connected
        self.client.on_message = self._command
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        self.subscribed = threading.Event()

    def _connected(self, client: paho.Client, *_: Any) -> None:
        client.subscribe("sot/kall/load/heater/set", qos=1)
        with self._lock:
            state = self.received[-1] if self.received else "OFF"
        client.publish("sot/kall/load/heater/state", state, qos=1)
        self.subscribed.set()

    def _command(self, client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        command = json.loads(message.payload)
        with self._lock:
            self.received.append(command["state"])
            self.payloads.append(command)
        if self.echo:
            client.publish("sot/kall/load/heater/state", command["state"], qos=1)

    def report(self, state: str) -> None:
        """Publish the relay's state, as the node does when asked or when it changes."""
        self.client.publish("sot/kall/load/heater/state", state, qos=1)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def test_a_command_during_a_broker_outage_never_fires_later(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> None:
    """Broker gone: refused at once; broker back: the relay never receives it."""
    port = free_port()
    relay = RelayNode(port)
    try:
        await _broker_outage(hass, tmp_path, port, relay)
    finally:
        relay.stop()


async def _broker_outage(hass: HomeAssistant, tmp_path: Path, port: int, relay: RelayNode) -> None:
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("")
    with mosquitto(port):
        mqtt_entry = await connect_mqtt(hass, port, birth=False)
        async with aiomqtt.Client("127.0.0.1", port, identifier="field-commands") as field:
            entry = site_entry()
            coordinator: SiteCoordinator = await start_site(hass, field, entry)
            relay.report("OFF")
            await wait_for_state(hass, "switch.kall_load_heater", "off")
            # With the broker up a command is delivered and confirmed by the relay's echo.
            await hass.services.async_call(
                "switch", "turn_on", {"entity_id": "switch.kall_load_heater"}, blocking=True
            )
            switched = hass.states.get("switch.kall_load_heater")
            assert switched.state == "on"
            assert relay.received == ["ON"]
            # The command said when it expires, and the switch shows it confirmed.
            [sent] = relay.payloads
            assert switched.attributes["last_command"] == "confirmed"
            expires = switched.attributes["last_command_expires"]
            assert sent["expires"] == math.ceil(expires.timestamp())
            assert (expires - switched.attributes["last_command_sent"]).total_seconds() == 10
    client = hass.data[DATA_MQTT].client
    await wait_for(hass, lambda: not client.connected, "HA's MQTT client to see the broker go")
    # Nothing can arrive from the relay: the switch shows unavailable, not its last state.
    await wait_for_state(hass, "switch.kall_load_heater", "unavailable")
    with pytest.raises(HomeAssistantError) as refused:
        await coordinator.async_command(Command("load", "heater", "turn_off"))
    assert refused.value.translation_key == "mqtt_disconnected"

    with mosquitto(port):
        await wait_for(hass, lambda: client.connected, "HA's MQTT client to reconnect", 30)
        await asyncio.get_running_loop().run_in_executor(None, relay.subscribed.wait, 10)
        # The relay, back too, reports the state it kept: on.
        await wait_for_state(hass, "switch.kall_load_heater", "on", 30)
        # Time for anything left in HA's client to go out: nothing may.
        await asyncio.sleep(3)
        assert relay.received == ["ON"], "a refused command reached the relay later"
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
        await hass.async_block_till_done()


async def test_readings_for_a_component_a_modbus_device_feeds_are_refused(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """One MQTT message must not end an outage that Kall's Modbus controller still reports."""
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        entry = site_entry(devices=[tcp_genset(port)])
        coordinator = await start_site(mqtt_hass, field, entry)
        await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
        outage = coordinator.site.outages.current
        assert outage is not None
        await field.publish("sot/kall/grid/main/present", "ON")
        await field.publish("sot/kall/generator/main", json.dumps({"state": "stopped"}))
        await wait_for(
            mqtt_hass,
            lambda: coordinator.rejected["owned_elsewhere"] == 2,
            "the two readings to be refused",
        )
        assert mqtt_hass.states.get("binary_sensor.kall_grid_present").state == "off"
        assert mqtt_hass.states.get("sensor.kall_generator_state").state == "running"
        assert coordinator.site.outages.current is outage
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_the_switch_shows_its_last_command_pending_then_confirmed_or_failed(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """The operator sees a command wait for its relay, and how it ended."""
    entry = site_entry()
    coordinator = await start_site(mqtt_hass, field, entry)
    switch = "switch.kall_load_heater"
    await field.publish("sot/kall/load/heater/state", "OFF")
    state = await wait_for_state(mqtt_hass, switch, "off")
    assert "last_command" not in state.attributes

    def shown() -> str | None:
        current = mqtt_hass.states.get(switch)
        return current.attributes.get("last_command") if current else None

    call = asyncio.create_task(
        mqtt_hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    )
    # Polled without waiting for Home Assistant's tasks: the call is one of them.
    for _ in range(500):
        if shown() == "pending":
            break
        await asyncio.sleep(0.01)
    assert shown() == "pending"
    sent = coordinator.sent_commands[("load", "heater")]
    # Pending only until its expiry and the echo's grace: then it has expired, whatever stopped
    # the wait.
    assert sent.status_at(sent.expires) is CommandStatus.PENDING
    assert sent.status_at(sent.expires + timedelta(seconds=3)) is CommandStatus.EXPIRED
    await field.publish("sot/kall/load/heater/state", "ON")
    await call
    assert shown() == "confirmed"
    assert mqtt_hass.states.get(switch).state == "on"
    # Asked for what the relay already reports: sent all the same, and confirmed at once.
    await mqtt_hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert coordinator.sent_commands[("load", "heater")] is not sent
    assert shown() == "confirmed"

    with (
        patch(
            "custom_components.sot.coordinator.mqtt.async_publish",
            side_effect=HomeAssistantError("the broker refused it"),
        ),
        pytest.raises(HomeAssistantError) as failed,
    ):
        await mqtt_hass.services.async_call(
            "switch", "turn_off", {"entity_id": switch}, blocking=True
        )
    assert failed.value.translation_key == "command_failed"
    # Which site's heater: a county's Home Assistant commands every site's.
    assert (
        str(failed.value)
        == "Could not send the command to Load heater at Kall: the broker refused it"
    )
    assert shown() == "failed"
    assert mqtt_hass.states.get(switch).attributes["last_command_state"] == "off"
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_loads_switched_off_together_are_all_commanded_at_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Load shedding switches the changeover tiers off in one call, "before the generator has
    to carry them": each relay gets its command at once, not after the one before it has
    echoed (or, silent, after its 10 s expiry and the grace for its echo)."""
    await start_site(mqtt_hass, field, site_entry())
    switches = ["switch.kall_load_heater", "switch.kall_load_lights"]
    await field.subscribe("sot/kall/load/+/set", qos=1)
    await field.publish("sot/kall/load/heater/state", "ON")
    await field.publish("sot/kall/load/lights/state", "ON")
    for switch in switches:
        await wait_for_state(mqtt_hass, switch, "on")

    call = asyncio.create_task(
        mqtt_hass.services.async_call("switch", "turn_off", {"entity_id": switches}, blocking=True)
    )
    commanded: set[str] = set()

    async def receive() -> None:
        async for message in field.messages:
            commanded.add(str(message.topic).split("/")[3])
            if len(commanded) == 2:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(receive(), 3)
    assert commanded == {"heater", "lights"}
    # Both relays echo; the call ends with both switched off.
    await field.publish("sot/kall/load/heater/state", "OFF")
    await field.publish("sot/kall/load/lights/state", "OFF")
    await call
    for switch in switches:
        assert mqtt_hass.states.get(switch).state == "off"
