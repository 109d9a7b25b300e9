"""Test helpers: a site entry, and waiting for what the operator would see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiomqtt
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sot.const import CONF_BASE_TOPIC, CONF_SITE_ID, DEFAULT_OPTIONS, DOMAIN
from custom_components.sot.coordinator import SiteCoordinator

TIMEOUT = 10.0


def site_entry(site_id: str = "kall", title: str = "Kall", **options: Any) -> MockConfigEntry:
    """A config entry for one SOT point."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=site_id,
        data={CONF_SITE_ID: site_id, CONF_BASE_TOPIC: f"sot/{site_id}"},
        options={**DEFAULT_OPTIONS, **options},
    )


async def wait_for(
    hass: HomeAssistant, condition: Callable[[], bool], what: str, limit: float = TIMEOUT
) -> None:
    """Let the event loop run until `condition` holds; fail saying `what` did not happen."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
        await hass.async_block_till_done()


async def wait_for_state(hass: HomeAssistant, entity_id: str, expected: str) -> State:
    """Wait until `entity_id` shows `expected`; fail with what it showed instead."""

    def matches() -> bool:
        state = hass.states.get(entity_id)
        return state is not None and state.state == expected

    try:
        await wait_for(hass, matches, f"{entity_id} == {expected}")
    except AssertionError:
        state = hass.states.get(entity_id)
        raise AssertionError(
            f"{entity_id} shows {state.state if state else 'nothing'}, expected {expected}"
        ) from None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def start_site(
    hass: HomeAssistant, field: aiomqtt.Client, entry: MockConfigEntry
) -> SiteCoordinator:
    """Set up the site and wait until its MQTT subscription really receives messages."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator: SiteCoordinator = entry.runtime_data
    base = entry.data[CONF_BASE_TOPIC]
    before = coordinator.messages

    async def probe() -> None:
        await field.publish(f"{base}/node/probe/ping", "1")

    deadline = time.monotonic() + TIMEOUT
    while coordinator.messages == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"the site's subscription to {base}/# never became active")
        await probe()
        await asyncio.sleep(0.1)
        await hass.async_block_till_done()
    return coordinator
