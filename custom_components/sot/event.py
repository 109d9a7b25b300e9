"""The site's alarm event entity: what the blueprints and the mobile alerts trigger on."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import EVENT_ALARM
from .coordinator import SiteCoordinator, SotConfigEntry
from .entity import SotEntity, SotEntityDescription
from .site.model import EventType, SiteEvent

PARALLEL_UPDATES = 0


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

    @callback
    def _site_event(self, event: SiteEvent) -> None:
        coordinator = self.coordinator
        attributes = {
            "site_id": coordinator.site_id,
            "site_name": coordinator.site_name,
            "kind": event.kind,
            "component_id": event.component_id,
            "component_name": coordinator.component_name(event.kind, event.component_id),
            "time": event.time.isoformat(),
            **event.data,
        }
        self._trigger_event(event.type.value, attributes)
        self.async_write_ha_state()
        # The logbook tells which alarm it was (logbook.py); automations can listen too.
        self.hass.bus.async_fire(
            EVENT_ALARM,
            {"entity_id": self.entity_id, "event_type": event.type.value, **attributes},
        )
