"""Test helpers: a site entry, and waiting for what the operator would see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import aiomqtt
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sot.const import CONF_BASE_TOPIC, CONF_SITE_ID, DEFAULT_OPTIONS, DOMAIN
from custom_components.sot.coordinator import SiteCoordinator

TIMEOUT = 10.0
# The real clock, kept where freezegun does not replace it: tests that freeze time still need
# their waits to end. Waits yield with sleep(0) because a frozen loop clock never ends a sleep.
_REAL = {"monotonic": time.monotonic}


def _now() -> float:
    return _REAL["monotonic"]()


def site_device(hass: HomeAssistant, entry_id: str, identifier: str) -> dr.DeviceEntry | None:
    """The site entry's device registered as (sot, identifier), the same way on every HA."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry_id):
        if (DOMAIN, identifier) in device.identifiers:
            return device
    return None


def site_entry(
    site_id: str = "kall",
    title: str = "Kall",
    devices: Sequence[ConfigSubentryData] = (),
    **options: Any,
) -> MockConfigEntry:
    """A config entry for one SOT point, with its Modbus devices (subentries) if given."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=site_id,
        data={CONF_SITE_ID: site_id, CONF_BASE_TOPIC: f"sot/{site_id}"},
        options={**DEFAULT_OPTIONS, **options},
        subentries_data=list(devices),
    )


async def wait_for(
    hass: HomeAssistant, condition: Callable[[], bool], what: str, limit: float = TIMEOUT
) -> None:
    """Let the event loop run until `condition` holds; fail saying `what` did not happen."""
    deadline = _now() + limit
    while not condition():
        if _now() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0)
        await hass.async_block_till_done()


async def wait_for_thread(
    hass: HomeAssistant, condition: Callable[[], bool], what: str, limit: float = TIMEOUT
) -> None:
    """Wait in real time for `condition`, set by work in a worker thread, without waiting for
    Home Assistant to be done: under frozen time an automation sitting in a delay never is."""
    deadline = _now() + limit
    while not condition():
        if _now() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await hass.async_add_executor_job(time.sleep, 0.02)


async def wait_for_state(
    hass: HomeAssistant, entity_id: str, expected: str, limit: float = TIMEOUT
) -> State:
    """Wait until `entity_id` shows `expected`; fail with what it showed instead."""

    def matches() -> bool:
        state = hass.states.get(entity_id)
        return state is not None and state.state == expected

    try:
        await wait_for(hass, matches, f"{entity_id} == {expected}", limit)
    except AssertionError:
        state = hass.states.get(entity_id)
        raise AssertionError(
            f"{entity_id} shows {state.state if state else 'nothing'}, expected {expected}"
        ) from None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def start_site(
    hass: HomeAssistant,
    field: aiomqtt.Client,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory | None = None,
) -> SiteCoordinator:
    """Set up the site and wait until its MQTT subscription really receives messages."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator: SiteCoordinator = entry.runtime_data
    await wait_until_subscribed(hass, field, coordinator, freezer)
    return coordinator


async def wait_until_subscribed(
    hass: HomeAssistant,
    field: aiomqtt.Client,
    coordinator: SiteCoordinator,
    freezer: FrozenDateTimeFactory | None = None,
) -> None:
    """Publish probes until the site's coordinator receives one (HA batches subscriptions).

    With time frozen, the clock is moved along so HA's subscription debouncer can fire.
    """
    before = coordinator.messages
    deadline = _now() + TIMEOUT
    while coordinator.messages == before:
        if _now() > deadline:
            raise AssertionError(
                f"the subscription to {coordinator.base_topic}/# never became active"
            )
        if freezer is not None:
            freezer.tick(timedelta(seconds=1))
            async_fire_time_changed(hass)
        await field.publish(f"{coordinator.base_topic}/node/probe/ping", "1")
        for _ in range(200):
            await asyncio.sleep(0)
            if coordinator.messages != before:
                break
        await hass.async_block_till_done()


async def unacknowledged_alarms(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    """What `sot.unacknowledged_alarms` answers for the site of `entry_id`."""
    found = await hass.services.async_call(
        DOMAIN,
        "unacknowledged_alarms",
        {"config_entry_id": entry_id},
        blocking=True,
        return_response=True,
    )
    assert found is not None
    return dict(found)
