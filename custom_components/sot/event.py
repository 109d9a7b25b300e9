"""The site's alarm event entity: what the blueprints and the mobile alerts trigger on."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import CoreState, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util

from .const import EVENT_ALARM
from .coordinator import SiteCoordinator, SotConfigEntry
from .entity import SotEntity, SotEntityDescription
from .site.model import EventType, SiteEvent

PARALLEL_UPDATES = 0
# An alarm waits for the next millisecond at most this many times (a clock that stands still).
STAMP_TRIES = 5
# Seconds after Home Assistant has started before alarms raised during its start are raised:
# automations arm their triggers as it starts, and one not yet armed would miss the alarm.
ARMING_WAIT = 3.0


@dataclass(frozen=True, kw_only=True)
class SotEventDescription(SotEntityDescription, EventEntityDescription):
    """An event row."""


ALARMS = SotEventDescription(key="alarms", translation_key="alarms")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's alarm event entity."""
    async_add_entities([SotAlarmEvent(entry.runtime_data, ALARMS)])


class SotAlarmEvent(SotEntity, EventEntity):
    """Fires once per site alarm, with the figures that matter to the operator."""

    entity_description: SotEventDescription

    def __init__(self, coordinator: SiteCoordinator, description: SotEventDescription) -> None:
        """Bind to the site."""
        super().__init__(coordinator, description)
        self._attr_event_types = [event_type.value for event_type in EventType]
        # Kept by the site, which saves them: alarms not raised yet survive a restart.
        self._waiting: deque[SiteEvent] = coordinator.unraised
        self._retry: asyncio.TimerHandle | None = None
        # False while Home Assistant starts: alarms wait until automations can hear them.
        self._armed = True

    @property
    def available(self) -> bool:
        """Alarms can always be raised: losing data is itself an alarm."""
        return True

    @callback
    def _refresh(self) -> None:
        """Its state changes only when an alarm is raised, which writes it (below)."""

    async def async_added_to_hass(self) -> None:
        """Listen for the site's alarms."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_event_listener(self._site_event))
        self.async_on_remove(self._stop_waiting)
        if self.hass.state is not CoreState.running:
            self._armed = False
            self.async_on_remove(async_at_started(self.hass, self._started))

    @callback
    def _started(self, _: HomeAssistant) -> None:
        """Home Assistant has started: raise what the site raised meanwhile, once the
        automations that listen for alarms have armed their triggers."""
        self._retry = self.hass.loop.call_later(ARMING_WAIT, self._arm)

    @callback
    def _arm(self) -> None:
        self._armed = True
        self._raise_waiting(0)

    @callback
    def _stop_waiting(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        # Removed with alarms still waiting for their millisecond: the next listener's.
        if self._waiting:
            self.coordinator.async_hold_events(list(self._waiting))
            self._waiting.clear()

    @callback
    def _site_event(self, event: SiteEvent) -> None:
        self._waiting.append(event)
        if self._armed and self._retry is None:
            self._raise_waiting(0)

    @callback
    def _raise_waiting(self, tries: int) -> None:
        """Raise the waiting alarms in order, each in a millisecond of its own.

        The entity's state is the time it last fired, to the millisecond, and a blueprint
        tells a new alarm by a new state: two alarms in one millisecond (several freezers at
        once, alarms held while the site started) would read as one.
        """
        self._retry = None
        while self._waiting:
            stamp = dt_util.utcnow().isoformat(timespec="milliseconds")
            if stamp == self.state and tries < STAMP_TRIES:
                self._retry = self.hass.loop.call_later(0.001, self._raise_waiting, tries + 1)
                return
            tries = 0
            self._raise(self._waiting.popleft())

    @callback
    def _raise(self, event: SiteEvent) -> None:
        coordinator = self.coordinator
        attributes = {
            "site_id": coordinator.site_id,
            "site_name": coordinator.site_name,
            "kind": event.kind,
            "component_id": event.component_id,
            "component_name": coordinator.component_name(event.kind, event.component_id),
            "component_meta_name": coordinator.component_meta_name(event.kind, event.component_id),
            "time": event.time.isoformat(),
            **event.data,
        }
        self._trigger_event(event.type.value, attributes)
        self.async_write_ha_state()
        # The latest alarm about its thing, until acknowledged (alarm_ledger.py).
        if self.state is not None:
            coordinator.alarms.record(self.state, event.type.value, attributes)
            coordinator.async_alarms_changed()
        # The logbook tells which alarm it was (logbook.py); automations can listen too.
        self.hass.bus.async_fire(
            EVENT_ALARM,
            {"entity_id": self.entity_id, "event_type": event.type.value, **attributes},
        )
