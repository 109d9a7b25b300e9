"""Shared fixtures: the integration enabled, a real Mosquitto broker, HA's real MQTT client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest
import pytest_socket
from homeassistant.core import HomeAssistant

# Imported at module level so the test plugin's own custom_components path does not shadow ours.
import custom_components.sot  # noqa: F401

from .helpers import connect_mqtt
from .mosquitto import mosquitto


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/sot in every test."""
    return


@pytest.fixture(scope="session")
def broker_port() -> Iterator[int]:
    """One real Mosquitto broker on loopback for the whole test session."""
    # The test plugin blocks sockets per test; finding a free port and checking the broker is up
    # happen once, here, before any test runs (the plugin blocks them again for each test).
    pytest_socket.enable_socket()
    with mosquitto() as port:
        pytest_socket.disable_socket(allow_unix_socket=True)
        yield port


@pytest.fixture
async def mqtt_hass(
    hass: HomeAssistant, socket_enabled: None, broker_port: int, tmp_path: Path
) -> AsyncIterator[HomeAssistant]:
    """Home Assistant with its real MQTT integration connected to the real broker."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "configuration.yaml").write_text("")
    entry = await connect_mqtt(hass, broker_port)
    yield hass
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def field(socket_enabled: None, broker_port: int) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT client playing the site's field nodes."""
    async with aiomqtt.Client(
        "127.0.0.1", broker_port, identifier=f"field-{id(asyncio.current_task())}"
    ) as client:
        yield client
