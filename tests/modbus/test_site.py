"""Modbus devices in Home Assistant: added through the site's subentry flow, shown as entities.

A real pymodbus server plays the generator controller and the relay module; the operator's view
is the entity states and the coils the switches move.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from unittest.mock import patch

import aiomqtt
import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.const import SUBENTRY_MODBUS
from custom_components.sot.coordinator import SiteCoordinator
from custom_components.sot.diagnostics import async_get_config_entry_diagnostics
from custom_components.sot.modbus.client import ModbusBus
from custom_components.sot.modbus_hub import ModbusHub
from custom_components.sot.site.readings import Command

from ..helpers import (
    modbus_device,
    site_entry,
    start_site,
    tcp_genset,
    tcp_relays,
    wait_for,
    wait_for_state,
)
from .server import SimulatedDevice, dse_on_load_during_outage, rtu_server, tcp_server


def _site_with_devices(
    port: int, *more: ConfigSubentryData, **genset_settings: Any
) -> MockConfigEntry:
    """Kall with its generator controller (unit 1) and relay module (unit 2, relay 1 the
    heater's) behind the gateway on `port`, then `more` devices."""
    return site_entry(devices=[tcp_genset(port, **genset_settings), tcp_relays(port), *more])


async def _modbus_hub(hass: HomeAssistant, coordinator: SiteCoordinator) -> ModbusHub:
    """The Modbus hub the site's setup started."""
    hubs = [t for t in coordinator.transports if isinstance(t, ModbusHub)]
    assert len(hubs) == 1, f"the site runs {len(hubs)} Modbus hubs"
    return hubs[0]


async def test_generator_controller_and_relays_on_the_dashboard(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    relays = SimulatedDevice(coils={0: [False] * 8})
    genset = dse_on_load_during_outage()
    async with tcp_server({1: genset, 2: relays}) as port:
        entry = _site_with_devices(port)
        coordinator = await start_site(mqtt_hass, field, entry)
        hub = await _modbus_hub(mqtt_hass, coordinator)
        assert len(hub.pollers) == 1  # two devices behind one gateway: one connection

        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
        await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
        await wait_for_state(mqtt_hass, "binary_sensor.kall_on_backup_power", "on")
        await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "64.0")
        await wait_for_state(mqtt_hass, "sensor.kall_generator_load", "42.0")

        switch = await _entity_of(mqtt_hass, "switch", "heater")
        await wait_for_state(mqtt_hass, switch, "off")
        await mqtt_hass.services.async_call(
            "switch", "turn_on", {"entity_id": switch}, blocking=True
        )
        assert relays.value("coils", 0) == 1
        # The switch shows what the relay reads back, and it reads back at once.
        await wait_for_state(mqtt_hass, switch, "on")

        # Generator control was never turned on: no buttons, no mode select, and a command
        # sent anyway (an automation calling the coordinator) is refused, not written.
        assert mqtt_hass.states.get("button.kall_generator_start") is None
        assert mqtt_hass.states.get("button.kall_generator_stop") is None
        assert mqtt_hass.states.get("select.kall_generator_control_mode") is None
        with pytest.raises(HomeAssistantError) as refused:
            await coordinator.async_command(Command("generator", "main", "start"))
        assert refused.value.translation_key == "control_disabled"
        assert refused.value.translation_placeholders["device"] == "genset"
        assert genset.value("holding", 4104) == 0

        live = await _device_diagnostics(mqtt_hass, entry, "genset")
        assert live["online"] is True
        assert live["requests_per_poll"] in (6, 7)  # the fast blocks, and once the slow one
        assert live["last_poll"] is not None
        assert live["errors"] == {}
        assert live["quarantined"] == {}
        assert live["control_enabled"] is False

    # The gateway is gone: the controller's values must not go on looking live. It counts as
    # offline after three polls in a row without an answer (5 s apart).
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", STATE_UNAVAILABLE, limit=30)
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", STATE_UNAVAILABLE)
    diagnostics = hub.diagnostics()["modbus_buses"][0]
    assert {d["id"]: d["online"] for d in diagnostics["devices"]} == {
        "genset": False,
        "relays": False,
    }
    gone = await _device_diagnostics(mqtt_hass, entry, "genset")
    assert set(gone["errors"]) <= {"connection", "timeout"}
    assert sum(gone["errors"].values()) >= 1

    # The gateway is back on the same address: the values come back without a reload.
    async with tcp_server({1: genset, 2: relays}, port=port):
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running", limit=90)
        await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "64.0")
        assert (await _device_diagnostics(mqtt_hass, entry, "genset"))["online"] is True
        assert entry.runtime_data is coordinator
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def _add_device(hass: HomeAssistant, entry: MockConfigEntry, **device: Any) -> Any:
    """Open "Add Modbus device" on the site and fill in its first form."""
    flows = hass.config_entries.subentries
    result = await flows.async_init((entry.entry_id, SUBENTRY_MODBUS), context={"source": "user"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return await flows.async_configure(result["flow_id"], device)


async def _device_diagnostics(
    hass: HomeAssistant, entry: MockConfigEntry, device_id: str
) -> dict[str, Any]:
    """One Modbus device's part of the site's diagnostics download."""
    report = await async_get_config_entry_diagnostics(hass, entry)
    devices = [
        device
        for transport in report["modbus"]
        for bus in transport["modbus_buses"]
        for device in bus["devices"]
    ]
    return next(device for device in devices if device["id"] == device_id)


async def _entity_of(hass: HomeAssistant, domain: str, component_id: str) -> str:
    """The entity of a component, once the platform has added it."""

    def matches() -> list[str]:
        return [s.entity_id for s in hass.states.async_all(domain) if component_id in s.entity_id]

    await wait_for(hass, lambda: len(matches()) == 1, f"one {domain} entity for {component_id}")
    return matches()[0]


async def test_add_a_modbus_device_through_the_flow(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    async with tcp_server({3: dse_on_load_during_outage()}) as port:
        entry = site_entry()
        await start_site(mqtt_hass, field, entry)
        flows = mqtt_hass.config_entries.subentries
        result = await _add_device(
            mqtt_hass,
            entry,
            name="Kall genset",
            device_id="Genset",
            profile="deep_sea_gencomm",
            connection="tcp",
            unit=3,
        )
        assert result["step_id"] == "connection"
        # Nothing answers at unit 4: the test read fails and the form says so.
        result = await flows.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": port, "unit": 4}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "cannot_connect"}
        result = await flows.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": port, "unit": 3}
        )
        assert result["step_id"] == "components"
        result = await flows.async_configure(
            result["flow_id"], {"generator": "main", "mains": "Bad Id", "fuel": "main"}
        )
        assert result["errors"] == {"mains": "invalid_component_id"}
        result = await flows.async_configure(
            result["flow_id"], {"generator": "main", "mains": "", "fuel": "diesel"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await mqtt_hass.async_block_till_done()
        # The site restarts with its new device, and the generator shows up.
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
        await wait_for_state(mqtt_hass, "sensor.kall_tank_diesel_level", "64.0")
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)

    (subentry,) = entry.subentries.values()
    assert subentry.title == "Kall genset"
    assert subentry.unique_id == "genset"
    assert dict(subentry.data) == {
        "device_id": "genset",
        "profile": "deep_sea_gencomm",
        "connection": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "unit": 3,
        "timeout": 3.0,
        "pacing": 0,
        "misses": 3,
        "components": {"generator": "main", "mains": "", "fuel": "diesel"},
        "control_enabled": False,
    }


async def test_flow_refuses_a_second_device_at_the_same_address(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    relays = SimulatedDevice(coils={0: [False] * 8})
    async with tcp_server({1: dse_on_load_during_outage(), 7: relays}) as port:
        entry = _site_with_devices(port)
        await start_site(mqtt_hass, field, entry)
        flows = mqtt_hass.config_entries.subentries
        result = await _add_device(
            mqtt_hass,
            entry,
            name="Genset",
            device_id="genset",
            profile="deep_sea_gencomm",
            connection="tcp",
            unit=1,
        )
        assert result["errors"] == {"device_id": "device_id_taken"}
        result = await flows.async_configure(
            result["flow_id"],
            {
                "name": "Second genset",
                "device_id": "genset2",
                "profile": "deep_sea_gencomm",
                "connection": "tcp",
                "unit": 1,
            },
        )
        result = await flows.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": port, "unit": 1}
        )
        assert result["errors"] == {"base": "unit_taken"}

        # The same gateway with other framing: not "did not answer", but what is wrong.
        result = await _add_device(
            mqtt_hass,
            entry,
            name="Meter",
            device_id="meter",
            profile="eastron_sdm120",
            connection="rtu_over_tcp",
            unit=2,
        )
        result = await flows.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": port, "unit": 2}
        )
        assert result["errors"] == {"base": "line_settings_differ"}

        # A second relay module may not take over the heater the first one switches.
        result = await _add_device(
            mqtt_hass,
            entry,
            name="More relays",
            device_id="relays2",
            profile="relay_8ch",
            connection="tcp",
            unit=7,
        )
        # The site already polls this gateway: the test read shares that connection (a gateway
        # that takes one client would refuse a second), and leaves it open for the site.
        with patch("custom_components.sot.modbus.poller.ModbusBus", wraps=ModbusBus) as opened:
            result = await flows.async_configure(
                result["flow_id"], {"host": "127.0.0.1", "port": port, "unit": 7}
            )
        assert opened.call_count == 0
        assert result["step_id"] == "components"
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
        # Relays switch loads: always allowed, so there is no control toggle to turn on.
        assert "control_enabled" not in result["data_schema"].schema
        result = await flows.async_configure(result["flow_id"], {"relay1": "heater"})
        assert result["errors"] == {"relay1": "component_taken"}
        assert result["description_placeholders"]["component"] == "load/heater"
        result = await flows.async_configure(result["flow_id"], {})
        assert result["errors"] == {"base": "no_components"}
        # Two relays of this module on one load: two feeds, which would stop the gateway's
        # polling (the generator controller's too) when the site starts.
        result = await flows.async_configure(
            result["flow_id"], {"relay1": "pump", "relay2": "pump"}
        )
        assert result["errors"] == {"relay2": "component_twice"}
        assert result["description_placeholders"]["component"] == "load/pump"
        result = await flows.async_configure(result["flow_id"], {"relay1": "pump"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await mqtt_hass.async_block_till_done()
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_change_a_device_through_reconfigure(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    async with tcp_server({1: dse_on_load_during_outage(), 6: dse_on_load_during_outage()}) as port:
        entry = _site_with_devices(port)
        await start_site(mqtt_hass, field, entry)
        genset = next(s for s in entry.subentries.values() if s.unique_id == "genset")
        flows = mqtt_hass.config_entries.subentries
        result = await flows.async_init(
            (entry.entry_id, SUBENTRY_MODBUS),
            context={"source": "reconfigure", "subentry_id": genset.subentry_id},
        )
        assert result["step_id"] == "connection"
        # The controller was readdressed to unit 6, behind a gateway that needs a pause.
        result = await flows.async_configure(
            result["flow_id"],
            {
                "host": "127.0.0.1",
                "port": port,
                "unit": 6,
                "timeout": 0.5,
                "pacing": 20,
                "misses": 5,
            },
        )
        assert result["step_id"] == "components"
        assert "control_enabled" in result["data_schema"].schema
        result = await flows.async_configure(
            result["flow_id"],
            {"generator": "main", "mains": "main", "fuel": "diesel", "control_enabled": True},
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await mqtt_hass.async_block_till_done()
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    changed = entry.subentries[genset.subentry_id]
    assert changed.data["unit"] == 6
    assert changed.data["components"] == {"generator": "main", "mains": "main", "fuel": "diesel"}
    assert (changed.data["timeout"], changed.data["pacing"]) == (0.5, 20)
    assert changed.data["misses"] == 5
    assert changed.data["control_enabled"] is True


async def test_add_a_serial_device_through_the_flow(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A PZEM on an RS-485 line (here a pty pair) answers the flow's test read."""
    pzem = SimulatedDevice(input={0: [2290, 0, 0, 5000, 0, 1000, 0, 499, 95, 0]})
    async with rtu_server({1: pzem}) as serial_port:
        entry = site_entry()
        await start_site(mqtt_hass, field, entry)
        flows = mqtt_hass.config_entries.subentries
        result = await _add_device(
            mqtt_hass,
            entry,
            name="Grid meter",
            device_id="grid-meter",
            profile="pzem_004t",
            connection="serial",
            unit=1,
        )
        assert result["step_id"] == "connection"
        result = await flows.async_configure(
            result["flow_id"],
            {
                "serial_port": serial_port,
                "baudrate": "9600",
                "parity": "none",
                "stopbits": "1",
                "unit": 1,
            },
        )
        assert result["step_id"] == "components"
        result = await flows.async_configure(result["flow_id"], {"meter": "main"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await mqtt_hass.async_block_till_done()
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    (subentry,) = entry.subentries.values()
    assert subentry.data["baudrate"] == 9600
    assert subentry.data["parity"] == "none"
    assert subentry.data["stopbits"] == 1
    assert subentry.data["serial_port"] == serial_port


async def test_the_serial_form_suggests_the_speed_the_device_ships_at(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """An SDM120 ships at 2400 baud (docs/modbus.md); other devices at the common 9600."""
    entry = site_entry()
    await start_site(mqtt_hass, field, entry)
    offered = {}
    for profile in ("eastron_sdm120", "pzem_004t"):
        result = await _add_device(
            mqtt_hass,
            entry,
            name=profile,
            device_id=profile.replace("_", "-"),
            profile=profile,
            connection="serial",
            unit=1,
        )
        assert result["step_id"] == "connection"
        (speed,) = (key for key in result["data_schema"].schema if str(key) == "baudrate")
        offered[profile] = speed.default()
        mqtt_hass.config_entries.subentries.async_abort(result["flow_id"])
    assert offered == {"eastron_sdm120": "2400", "pzem_004t": "9600"}
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_serial_device_saved_with_a_parity_letter_keeps_working(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Subentries saved when parity was stored as N/E/O still open the line and reconfigure."""
    pzem = SimulatedDevice(input={0: [2290, 0, 0, 5000, 0, 1000, 0, 499, 95, 0]})
    async with rtu_server({1: pzem}) as serial_port:
        meter = modbus_device(
            "Grid meter",
            device_id="grid-meter",
            profile="pzem_004t",
            connection="serial",
            serial_port=serial_port,
            baudrate=9600,
            parity="N",
            stopbits=1,
            unit=1,
            components={"meter": "main"},
        )
        entry = site_entry(devices=[meter])
        coordinator = await start_site(mqtt_hass, field, entry)
        hub = await _modbus_hub(mqtt_hass, coordinator)
        (poller,) = hub.pollers
        assert poller.bus.settings.parity == "N"
        await wait_for_state(mqtt_hass, "sensor.kall_grid_voltage", "229.0")

        (subentry,) = entry.subentries.values()
        flows = mqtt_hass.config_entries.subentries
        result = await flows.async_init(
            (entry.entry_id, SUBENTRY_MODBUS),
            context={"source": "reconfigure", "subentry_id": subentry.subentry_id},
        )
        assert result["step_id"] == "connection"
        suggested = {
            str(key): key.description.get("suggested_value")
            for key in result["data_schema"].schema
            if key.description
        }
        assert suggested["parity"] == "none"
        result = await flows.async_configure(
            result["flow_id"],
            {
                "serial_port": serial_port,
                "baudrate": "9600",
                "parity": "none",
                "stopbits": "1",
                "unit": 1,
            },
        )
        assert result["step_id"] == "components"
        result = await flows.async_configure(result["flow_id"], {"meter": "main"})
        assert result["reason"] == "reconfigure_successful"
        await mqtt_hass.async_block_till_done()
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    assert entry.subentries[subentry.subentry_id].data["parity"] == "none"


async def test_broken_device_settings_are_logged_and_the_rest_runs(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    socket_enabled: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Hand-edited subentries: an unknown profile, and a bus where two devices feed one tank."""
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        gauge = {"connection": "tcp", "host": "127.0.0.1", "port": port + 1, "unit": 1}
        entry = _site_with_devices(
            port,
            modbus_device("Old", device_id="old", profile="retired_model", **gauge),
            modbus_device("Gauge A", device_id="gauge-a", profile="tank_gauge", **gauge),
            modbus_device(
                "Gauge B", device_id="gauge-b", profile="tank_gauge", **{**gauge, "unit": 2}
            ),
        )
        coordinator = await start_site(mqtt_hass, field, entry)
        hub = await _modbus_hub(mqtt_hass, coordinator)
        await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
    assert "Modbus device Old uses profile retired_model, which cannot be used" in caplog.text
    assert "tank/main is fed by two devices" in caplog.text
    assert [p.bus.settings.name for p in hub.pollers] == [f"127.0.0.1:{port}"]
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_command_to_a_silent_device_tells_the_operator(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    relays = SimulatedDevice(coils={0: [False] * 8})
    async with tcp_server({1: dse_on_load_during_outage(), 2: relays}) as port:
        entry = _site_with_devices(port)
        coordinator = await start_site(mqtt_hass, field, entry)
        await _modbus_hub(mqtt_hass, coordinator)
        switch = await _entity_of(mqtt_hass, "switch", "heater")
        await wait_for_state(mqtt_hass, switch, "off")
    with pytest.raises(HomeAssistantError) as caught:
        await mqtt_hass.services.async_call(
            "switch", "turn_on", {"entity_id": switch}, blocking=True
        )
    assert caught.value.translation_key == "modbus_unreachable"
    # Its name in Home Assistant's language: no meta names it.
    assert caught.value.translation_placeholders["component"] == "Load heater"
    assert caught.value.translation_placeholders["device"] == "relays"
    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_generator_control_turned_on_gives_buttons_and_mode(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    genset = dse_on_load_during_outage()
    async with tcp_server({1: genset, 2: SimulatedDevice(coils={0: [False] * 8})}) as port:
        entry = _site_with_devices(port, control_enabled=True)
        await start_site(mqtt_hass, field, entry)
        await wait_for_state(mqtt_hass, "select.kall_generator_control_mode", "auto")
        assert mqtt_hass.states.get("button.kall_generator_stop") is not None

        await mqtt_hass.services.async_call(
            "button", "press", {"entity_id": "button.kall_generator_start"}, blocking=True
        )
        # DSE GenComm: the remote start key and its complement, in one write.
        assert (genset.value("holding", 4104), genset.value("holding", 4105)) == (35732, 29803)
        # The controller was asked whether it supports remote start before the write.
        assert (3, 4098, 1) in genset.requests

        await mqtt_hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": "select.kall_generator_control_mode", "option": "manual"},
            blocking=True,
        )
        assert (genset.value("holding", 4104), genset.value("holding", 4105)) == (35702, 29833)

        # This controller does not offer remote stop (function 33, bit 14 of 4098): the
        # operator is told, nothing is written.
        genset.set("holding", 4098, [0b1000_0000_0000_0000])
        with pytest.raises(HomeAssistantError) as refused:
            await mqtt_hass.services.async_call(
                "button", "press", {"entity_id": "button.kall_generator_stop"}, blocking=True
            )
        assert refused.value.translation_key == "action_not_supported"
        assert genset.value("holding", 4104) == 35702
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)


async def test_an_address_pasted_with_spaces_is_taken(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """A host copied from a router's page often carries a space: the device answers, and the
    address is saved without it."""
    async with tcp_server({3: dse_on_load_during_outage()}) as port:
        entry = site_entry()
        await start_site(mqtt_hass, field, entry)
        flows = mqtt_hass.config_entries.subentries
        result = await _add_device(
            mqtt_hass,
            entry,
            name="Genset",
            device_id="genset",
            profile="deep_sea_gencomm",
            connection="tcp",
            unit=3,
        )
        result = await flows.async_configure(
            result["flow_id"], {"host": " 127.0.0.1 ", "port": port, "unit": 3}
        )
        assert not result.get("errors")
        assert result["step_id"] == "components"
        result = await flows.async_configure(result["flow_id"], {"generator": "main"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await mqtt_hass.async_block_till_done()
        assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    (subentry,) = entry.subentries.values()
    assert subentry.data["host"] == "127.0.0.1"


async def test_a_site_without_a_county_puts_nothing_of_its_modbus_devices_on_its_broker(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, socket_enabled: None
) -> None:
    """The readings put on the site's broker are for a county bridge to carry (docs/county.md):
    a site with no bridge (the default) gets no extra message per poll, and one whose bridge
    says it is there gets them, a JSON object per component."""
    await field.publish("sot-bridge/kall/state", b"", qos=1, retain=True)
    relayed: list[str] = []

    async def watch() -> None:
        async for message in field.messages:
            if message.topic.matches("sot/kall/+/+"):
                relayed.append(str(message.topic))

    await field.subscribe("sot/kall/+/+")
    watcher = asyncio.create_task(watch())
    try:
        async with tcp_server({1: dse_on_load_during_outage()}) as port:
            entry = site_entry(devices=[tcp_genset(port)])
            coordinator = await start_site(mqtt_hass, field, entry)
            await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
            # Another poll of the controller (every 5 s), and time for its messages to come round.
            later = time.monotonic() + 6
            await wait_for(mqtt_hass, lambda: time.monotonic() > later, "the next poll", 15)
            await mqtt_hass.async_add_executor_job(time.sleep, 0.5)
            await mqtt_hass.async_block_till_done()
            assert relayed == []

            # Bridged to a county (`scripts/county`'s bridge says so, retained): they go out.
            await field.publish("sot-bridge/kall/state", "1", qos=1, retain=True)
            await wait_for(
                mqtt_hass,
                lambda: "sot/kall/generator/main" in relayed,
                "Kall's generator on its broker for the county",
                limit=15,
            )
            assert "sot/kall/load/heater" not in relayed
            assert coordinator.rejected["owned_elsewhere"] == 0
            assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    finally:
        watcher.cancel()
        await field.publish("sot-bridge/kall/state", b"", qos=1, retain=True)
