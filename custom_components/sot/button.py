"""Buttons to start and stop a generator, for controllers whose control the user turned on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SiteCoordinator, SotConfigEntry
from .entity import SotEntity, SotEntityDescription, async_setup_discovery
from .site.model import Component, Site
from .site.readings import Command
from .site.vocabulary import Kind

# One command at a time: a controller takes its keys in order.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class SotButtonDescription(SotEntityDescription, ButtonEntityDescription):
    """A button row: `key` is the action sent."""


def _can(action: str) -> SotButtonDescription:
    def exists(coordinator: SiteCoordinator, component: Component | None) -> bool:
        return component is not None and action in coordinator.actions(component.kind, component.id)

    def available(site: Site, component: Component | None, now: datetime) -> bool:
        return component is not None and site.node_online(component)

    return SotButtonDescription(
        key=action,
        kind=Kind.GENERATOR,
        translation_key=action,
        exists_fn=exists,
        available_fn=available,
    )


BUTTONS: tuple[SotButtonDescription, ...] = (_can("start"), _can("stop"))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add start and stop buttons for generators that can be controlled."""
    async_setup_discovery(entry, async_add_entities, BUTTONS, SotGeneratorButton)


class SotGeneratorButton(SotEntity, ButtonEntity):
    """Sends a start or stop to the generator controller."""

    entity_description: SotButtonDescription

    async def async_press(self) -> None:
        """Send the command; a refused one raises a translated error."""
        await self.coordinator.async_command(
            Command(Kind.GENERATOR.value, self.component_id or "", self.entity_description.key)
        )
