"""Run the repository's blueprints in Home Assistant's own automation engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint, DomainBlueprints
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

BLUEPRINT_DIR = Path(__file__).parents[2] / "blueprints" / "automation" / "sot"
START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt_util.UTC)


def load_blueprint(name: str) -> Blueprint:
    """Load one of the repository's blueprints the way Home Assistant does."""
    return Blueprint(
        load_yaml_dict(str(BLUEPRINT_DIR / name)),
        expected_domain="automation",
        path=f"sot/{name}",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


@pytest.fixture(autouse=True)
def repo_blueprints() -> Iterator[None]:
    """Serve `sot/<file>` blueprint paths from the repository instead of the config dir."""

    def _load(self: DomainBlueprints, blueprint_path: str) -> Blueprint:
        assert blueprint_path.startswith("sot/"), blueprint_path
        return load_blueprint(blueprint_path.removeprefix("sot/"))

    with patch("homeassistant.components.blueprint.models.DomainBlueprints._load_blueprint", _load):
        yield


@pytest.fixture(autouse=True)
async def automations_off_at_end(hass: HomeAssistant) -> AsyncIterator[None]:
    """Turn every automation off after the test, detaching its triggers and stopping its runs.

    Otherwise their time triggers and `for:` timers are still scheduled when Home Assistant
    stops; the test plugin from 0.13.375 fails those as lingering timers (earlier versions
    checked another event loop and never saw them).
    """
    yield
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )


@pytest.fixture
async def clock(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Clock:
    """Frozen time starting at START (Stockholm time), moved forward by the test."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(START)
    return Clock(hass, freezer)


@dataclass
class Clock:
    """Moves frozen time forward and lets Home Assistant's timers fire on the way."""

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory

    @property
    def elapsed(self) -> timedelta:
        """Time since START."""
        return dt_util.utcnow() - START

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move time forward in small steps, so chained delays fire when they are due."""
        remaining = seconds
        while remaining > 0:
            tick = min(step, remaining)
            self.freezer.tick(timedelta(seconds=tick))
            async_fire_time_changed(self.hass)
            await self.settle()
            remaining -= tick

    async def settle(self) -> None:
        """Let every run proceed until it finishes or waits for time to pass.

        `hass.async_block_till_done()` cannot be used here: it also waits for runs sitting in a
        delay, which under frozen time never ends.
        """
        idle_rounds = 0
        for _ in range(10_000):
            await asyncio.sleep(0)
            if self.hass.loop._ready:  # type: ignore[attr-defined]
                idle_rounds = 0
            else:
                idle_rounds += 1
                if idle_rounds > 3:
                    return
        raise AssertionError("Home Assistant never settled")

    async def advance_to(self, seconds_since_start: float, step: float = 1.0) -> None:
        """Move time forward to START + seconds_since_start."""
        await self.advance(seconds_since_start - self.elapsed.total_seconds(), step)


@dataclass(frozen=True)
class SwitchCall:
    """One switch command, as the relay board would receive it."""

    at: float  # seconds since START
    service: str
    entity_ids: tuple[str, ...]


@dataclass
class Relays:
    """The site's relay board: records switch commands and reports the new states."""

    hass: HomeAssistant
    calls: list[SwitchCall] = field(default_factory=list)
    # Relays whose contacts are welded: their switches keep their state whatever the command.
    stuck: set[str] = field(default_factory=set)
    # Stuck relays whose node also reports the command as failed (no echo).
    unanswered: set[str] = field(default_factory=set)

    def register(self) -> None:
        """Stand in for the switch platform's turn_on and turn_off."""
        for service in ("turn_on", "turn_off"):
            self.hass.services.async_register("switch", service, self._handle)

    @callback
    def _handle(self, call: ServiceCall) -> None:
        entity_ids = tuple(cv.comp_entity_ids(call.data["entity_id"]))
        at = (dt_util.utcnow() - START).total_seconds()
        self.calls.append(SwitchCall(round(at, 1), call.service, entity_ids))
        new_state = STATE_ON if call.service == "turn_on" else STATE_OFF
        for entity_id in entity_ids:
            if entity_id not in self.stuck:
                self.hass.states.async_set(entity_id, new_state)
        if failed := sorted(self.unanswered.intersection(entity_ids)):
            raise HomeAssistantError(f"No echo from the relay of {', '.join(failed)}")

    def stick(self, entity_id: str, *, answered: bool = True) -> None:
        """Weld a relay: commands reach it, its switch stays as it is; unanswered, they fail."""
        self.stuck.add(entity_id)
        if not answered:
            self.unanswered.add(entity_id)

    def set(self, state: str, *entity_ids: str) -> None:
        """Set switches directly, as they were before the test starts."""
        for entity_id in entity_ids:
            self.hass.states.async_set(entity_id, state)

    def take(self) -> list[tuple[float, str, tuple[str, ...]]]:
        """Return the commands recorded so far and forget them."""
        taken = [(c.at, c.service, c.entity_ids) for c in self.calls]
        self.calls.clear()
        return taken


@pytest.fixture
def relays(hass: HomeAssistant) -> Relays:
    """A fake relay board answering switch.turn_on / switch.turn_off."""
    board = Relays(hass)
    board.register()
    return board


@dataclass(frozen=True)
class Notification:
    """One push notification handed to a phone's notify service."""

    at: float  # seconds since START
    service: str
    data: dict[str, Any]


@dataclass
class Phones:
    """Phones registered with the Home Assistant app, recording what is pushed to them."""

    hass: HomeAssistant
    device_ids: dict[str, str] = field(default_factory=dict)
    sent: list[Notification] = field(default_factory=list)
    entries: list[MockConfigEntry] = field(default_factory=list)

    def add(self, name: str, *, app_loaded: bool = True) -> str:
        """Register a phone the way the mobile_app integration does; return its device id."""
        entry = MockConfigEntry(domain="mobile_app", data={"device_name": name}, title=name)
        entry.add_to_hass(self.hass)
        if app_loaded:
            entry.mock_state(self.hass, ConfigEntryState.LOADED)
            self.entries.append(entry)
        device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={("mobile_app", f"device-{len(self.device_ids)}")},
            name=name,
            manufacturer="Test",
            model="Phone",
        )
        # mobile_app names its notify services after the registered device name, and only has
        # them while its config entry is loaded.
        if app_loaded:
            self.hass.services.async_register("notify", f"mobile_app_{slugify(name)}", self._handle)
        self.device_ids[name] = device.id
        return device.id

    @callback
    def _handle(self, call: ServiceCall) -> None:
        at = (dt_util.utcnow() - START).total_seconds()
        self.sent.append(Notification(round(at, 1), call.service, dict(call.data)))

    def take(self) -> list[Notification]:
        """Return the notifications recorded so far and forget them."""
        taken = list(self.sent)
        self.sent.clear()
        return taken


@pytest.fixture
def phones(hass: HomeAssistant) -> Iterator[Phones]:
    """Phones running the Home Assistant app."""
    registered = Phones(hass)
    yield registered
    # Otherwise Home Assistant would unload the real mobile_app integration when it stops.
    for entry in registered.entries:
        entry.mock_state(hass, ConfigEntryState.NOT_LOADED)


def _automation_config(blueprint: str, inputs: dict[str, Any], alias: str) -> dict[str, Any]:
    return {
        "automation": [
            {
                "id": "under_test",
                "alias": alias,
                "use_blueprint": {"path": f"sot/{blueprint}", "input": inputs},
            }
        ]
    }


async def setup_blueprint_automation(
    hass: HomeAssistant, blueprint: str, inputs: dict[str, Any], alias: str = "Under test"
) -> None:
    """Create one automation from a repository blueprint, through the automation component."""
    assert await async_setup_component(
        hass, "automation", _automation_config(blueprint, inputs, alias)
    )
    await hass.async_block_till_done()


async def save_an_edit(
    hass: HomeAssistant, clock: Clock, blueprint: str, inputs: dict[str, Any]
) -> None:
    """The operator saves an edit of the automation in the UI: Home Assistant reloads it."""
    config = _automation_config(blueprint, inputs, "Under test")
    with patch("homeassistant.config.load_yaml_config_file", return_value=config):
        await hass.services.async_call("automation", "reload", {"id": "under_test"}, blocking=True)
    await clock.settle()
