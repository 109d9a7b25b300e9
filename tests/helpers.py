"""Test helpers: a site entry, and waiting for what the operator would see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiomqtt
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sot.const import (
    CONF_BASE_TOPIC,
    CONF_SITE_ID,
    DEFAULT_OPTIONS,
    DOMAIN,
    SUBENTRY_MODBUS,
)
from custom_components.sot.coordinator import SiteCoordinator
from custom_components.sot.site.components import Sample

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
    data: Mapping[str, Any] | None = None,
    **options: Any,
) -> MockConfigEntry:
    """A config entry for one SOT point, with its Modbus devices (subentries) if given and
    `data` added to what its setup saved (the demo's clock)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=site_id,
        data={CONF_SITE_ID: site_id, CONF_BASE_TOPIC: f"sot/{site_id}", **(data or {})},
        options={**DEFAULT_OPTIONS, **options},
        subentries_data=list(devices),
    )


def modbus_device(title: str, **data: Any) -> ConfigSubentryData:
    """A Modbus device as the site's subentry holds it: `data` is what its form saved,
    `device_id` among it."""
    return ConfigSubentryData(
        data=data, subentry_type=SUBENTRY_MODBUS, title=title, unique_id=data["device_id"]
    )


def tcp_genset(port: int, title: str = "Genset", **settings: Any) -> ConfigSubentryData:
    """Kall's generator controller, unit 1 behind the TCP gateway at 127.0.0.1:`port`: a Deep
    Sea unless `settings`, which add to or override the form's other fields, say otherwise."""
    return modbus_device(
        title,
        **{
            "device_id": "genset",
            "profile": "deep_sea_gencomm",
            "connection": "tcp",
            "host": "127.0.0.1",
            "port": port,
            "unit": 1,
            **settings,
        },
    )


def tcp_relays(port: int) -> ConfigSubentryData:
    """Kall's eight-relay module, unit 2 behind the TCP gateway at 127.0.0.1:`port`, its
    relay 1 switching the heater and the others unused."""
    return modbus_device(
        "Relays",
        device_id="relays",
        profile="relay_8ch",
        connection="tcp",
        host="127.0.0.1",
        port=port,
        unit=2,
        components={"relay1": "heater", **{f"relay{n}": "" for n in range(2, 9)}},
    )


def grid_meter(port: int, **settings: Any) -> ConfigSubentryData:
    """An Eastron SDM120 on the grid side, unit 1, framed as RTU behind the gateway at
    127.0.0.1:`port`; `settings` adds to or overrides its form's other fields."""
    return modbus_device(
        "Grid meter",
        **{
            "device_id": "grid-meter",
            "profile": "eastron_sdm120",
            "connection": "rtu_over_tcp",
            "host": "127.0.0.1",
            "port": port,
            "unit": 1,
            **settings,
        },
    )


async def connect_mqtt(hass: HomeAssistant, port: int, *, birth: bool = True) -> MockConfigEntry:
    """Home Assistant's MQTT integration, connected to the broker on `port`.

    `birth=False` leaves out HA's birth message: HA publishes it a while after connecting, and
    a broker stopped sooner than that is reported as an error of HA's own.
    """
    data: dict[str, Any] = {"broker": "127.0.0.1", "port": port}
    if not birth:
        data["birth_message"] = {}
    entry = MockConfigEntry(domain="mqtt", data=data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass), "HA's MQTT client did not connect"
    return entry


def sample(coordinator: SiteCoordinator, reading: str) -> Sample | None:
    """The last value of `reading` ("kind/component/quantity", as in its topic) that the
    site took in, or None."""
    kind, component_id, quantity = reading.split("/")
    component = coordinator.site.component(kind, component_id)
    return None if component is None else component.values.get(quantity)


def heard(coordinator: SiteCoordinator, reading: str, at: datetime) -> bool:
    """Whether the site has taken in the value of `reading` ("kind/component/quantity")
    published at `at`."""
    found = sample(coordinator, reading)
    return found is not None and found.time == at


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
