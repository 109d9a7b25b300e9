"""A site whose generator controller its own Home Assistant reads over Modbus, seen at the county.

The county's Home Assistant sees what crosses the bridge: the site broker's `sot/<site>/#`. A
Deep Sea controller polled by the site's Home Assistant (docs/modbus.md) publishes nothing
there itself, so unless the site's Home Assistant does, the county has no grid, no generator
and no tank for the site: neither the power it runs on nor its hours of fuel. Here Kall's Home
Assistant polls a Deep Sea controller (a real pymodbus server) and is connected to Kall's
broker, bridged to the county by the configuration `scripts/county` generated; what reaches
the county is read with the county's own login and the integration's own parser.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiomqtt
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.mqtt.topics import parse_message

from ..helpers import site_entry, start_site, tcp_genset, wait_for, wait_for_state
from ..modbus.server import dse_on_load_during_outage, tcp_server
from .brokers import County

WAIT = 60.0


async def test_the_county_gets_what_the_sites_modbus_controller_reads(
    hass: HomeAssistant, county_pair: County, tmp_path: Path
) -> None:
    county, kall = county_pair, county_pair.sites["kall"]
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("")
    mqtt_entry = MockConfigEntry(
        domain="mqtt", data={"broker": "127.0.0.1", "port": kall.port, "birth_message": {}}
    )
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass)
    async with (
        tcp_server({1: dse_on_load_during_outage()}) as port,
        aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-probe") as field,
    ):
        entry = site_entry(devices=[tcp_genset(port)])
        coordinator = await start_site(hass, field, entry)
        await wait_for_state(hass, "sensor.kall_generator_state", "running", WAIT)
        await wait_for_state(hass, "binary_sensor.kall_grid_present", "off", WAIT)

        def at_county() -> dict[tuple[str, str, str], object]:
            """Every reading of Kall's the county has received, as the integration reads it."""
            taken: dict[tuple[str, str, str], object] = {}
            for message in county.watcher.received("sot/kall/"):
                parsed = parse_message("sot/kall", message.topic, message.payload, dt_util.utcnow())
                assert parsed.rejections == [], parsed.rejections
                for reading in parsed.readings:
                    taken[(reading.kind, reading.id, reading.quantity)] = reading.value
            return taken

        wanted = {
            ("grid", "main", "voltage"): 0.0,
            ("generator", "main", "state"): "running",
            ("generator", "main", "power"): 23.5,
            ("tank", "main", "level"): 64.0,
        }
        await wait_for(
            hass,
            lambda: wanted.items() <= at_county().items(),
            f"Kall's grid, generator and tank at the county: {wanted}",
            WAIT,
        )
        # Each with the time it was measured: queued across a link loss, it counts then.
        relayed = county.watcher.received("sot/kall/generator/main")
        assert "ts" in json.loads(relayed[-1].payload)
        # The site's own Home Assistant takes its own messages for no one else's.
        await hass.async_add_executor_job(time.sleep, 2)
        await hass.async_block_till_done()
        assert coordinator.rejected["owned_elsewhere"] == 0
        assert hass.states.get("sensor.kall_generator_state").state == "running"
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()
