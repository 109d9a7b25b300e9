"""The generator controller's mode (auto or manual), for controllers whose control is on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SiteCoordinator, SotConfigEntry
from .entity import SotEntity, SotEntityDescription, async_setup_discovery
from .site.model import Component, Site
from .site.readings import Command
from .site.vocabulary import Kind

PARALLEL_UPDATES = 1
MODES = ("auto", "manual")


@dataclass(frozen=True, kw_only=True)
class SotSelectDescription(SotEntityDescription, SelectEntityDescription):
    """A select row."""


def _controllable(coordinator: SiteCoordinator, component: Component | None) -> bool:
    if component is None:
        return False
    actions = coordinator.actions(component.kind, component.id)
    return all(f"mode_{mode}" in actions for mode in MODES)


def _mode_known(site: Site, component: Component | None, now: datetime) -> bool:
    return component is not None and site.fresh(component, "mode", now) is not None


SELECTS: tuple[SotSelectDescription, ...] = (
    SotSelectDescription(
        key="control_mode",
        kind=Kind.GENERATOR,
        translation_key="control_mode",
        options=list(MODES),
        exists_fn=_controllable,
        available_fn=_mode_known,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the mode select for generators that can be controlled."""
    async_setup_discovery(entry, async_add_entities, SELECTS, SotGeneratorMode)


class SotGeneratorMode(SotEntity, SelectEntity):
    """Auto (the controller starts on mains failure) or manual (the operator starts it)."""

    entity_description: SotSelectDescription

    @property
    def current_option(self) -> str | None:
        """The mode the controller reports; None when it is in neither (off, test)."""
        component = self.component
        if component is None:
            return None
        mode = self.coordinator.site.fresh(component, "mode", self.coordinator.now())
        return mode if mode in MODES else None

    async def async_select_option(self, option: str) -> None:
        """Ask the controller to change mode; the select follows what it then reports."""
        await self.coordinator.async_command(
            Command(Kind.GENERATOR.value, self.component_id or "", f"mode_{option}")
        )
