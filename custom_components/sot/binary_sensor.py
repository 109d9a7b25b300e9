"""Binary sensors: is the grid there, is the site on backup, does the generator run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SotConfigEntry
from .entity import SotEntity, SotEntityDescription, async_setup_discovery
from .site.model import Component, PowerSource, Site
from .site.vocabulary import Kind

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SotBinarySensorDescription(SotEntityDescription, BinarySensorEntityDescription):
    """A binary sensor row: by default the live value of the boolean quantity `key`."""

    is_on_fn: Callable[[Site, Component | None, datetime], bool | None] | None = None


IsOnFn = Callable[[Site, Component | None, datetime], bool | None]


def _known(is_on: IsOnFn) -> Callable[[Site, Component | None, datetime], bool]:
    """Available exactly when the answer is known: unknown inputs are stale or offline."""
    return lambda site, component, now: is_on(site, component, now) is not None


def _on_backup(site: Site, _: Component | None, now: datetime) -> bool | None:
    source = site.power.source(now)
    return None if source is None else source is PowerSource.GENERATOR


def _grid_present(site: Site, _: Component | None, now: datetime) -> bool | None:
    return site.power.grid_present(now)


def _generator_running(site: Site, generator: Component | None, now: datetime) -> bool | None:
    return None if generator is None else site.power.running(generator, now)


def _generator_on_load(site: Site, generator: Component | None, now: datetime) -> bool | None:
    return None if generator is None else site.power.on_load(generator, now)


BINARY_SENSORS: tuple[SotBinarySensorDescription, ...] = (
    SotBinarySensorDescription(
        key="on_backup_power",
        translation_key="on_backup_power",
        device_class=BinarySensorDeviceClass.POWER,
        exists_fn=lambda _, __: True,
        is_on_fn=_on_backup,
        available_fn=_known(_on_backup),
    ),
    SotBinarySensorDescription(
        key="present",
        kind=Kind.GRID,
        translation_key="grid_present",
        device_class=BinarySensorDeviceClass.POWER,
        exists_fn=lambda _, component: (
            component is not None
            and ("present" in component.values or "voltage" in component.values)
        ),
        is_on_fn=_grid_present,
        available_fn=_known(_grid_present),
    ),
    SotBinarySensorDescription(
        key="running",
        kind=Kind.GENERATOR,
        translation_key="generator_running",
        device_class=BinarySensorDeviceClass.RUNNING,
        exists_fn=lambda _, component: (
            component is not None and ("state" in component.values or "speed" in component.values)
        ),
        is_on_fn=_generator_running,
        available_fn=_known(_generator_running),
    ),
    SotBinarySensorDescription(
        key="on_load",
        kind=Kind.GENERATOR,
        translation_key="on_load",
        device_class=BinarySensorDeviceClass.POWER,
        # Derived when the controller has no breaker signal: from output power, load or running.
        exists_fn=lambda _, component: (
            component is not None
            and any(q in component.values for q in ("on_load", "power", "load", "state", "speed"))
        ),
        is_on_fn=_generator_on_load,
        available_fn=_known(_generator_on_load),
    ),
    SotBinarySensorDescription(
        key="door",
        kind=Kind.FREEZER,
        translation_key="door",
        device_class=BinarySensorDeviceClass.DOOR,
    ),
    # Fuel for sale: a product's dispenser has power, the product is on sale.
    SotBinarySensorDescription(
        key="pump",
        kind=Kind.STATION,
        translation_key="pump",
        device_class=BinarySensorDeviceClass.POWER,
    ),
    SotBinarySensorDescription(
        key="available",
        kind=Kind.STATION,
        translation_key="on_sale",
    ),
    # A router, card terminal or modem reaches the outside.
    SotBinarySensorDescription(
        key="online",
        kind=Kind.NETWORK,
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's binary sensors, now and as components appear."""
    async_setup_discovery(entry, async_add_entities, BINARY_SENSORS, SotBinarySensor)


class SotBinarySensor(SotEntity, BinarySensorEntity):
    """A yes/no fact about a SOT point."""

    entity_description: SotBinarySensorDescription

    def _follows(self) -> str:
        description = self.entity_description
        if description.kind is None or description.is_on_fn or description.available_fn:
            return ""
        # A door, a pump, a network device's `online`: the reading as it came.
        return description.key

    def _shown_value(self) -> Any:
        return self.is_on

    @property
    def is_on(self) -> bool | None:
        """The live answer (None while unknown)."""
        if (pinned := self._pinned) is not None and pinned[0]:
            return pinned[1]  # type: ignore[no-any-return]
        site, component, now = self.coordinator.site, self.component, self.coordinator.now()
        if self.entity_description.is_on_fn is not None:
            return self.entity_description.is_on_fn(site, component, now)
        if component is None:
            return None
        value = site.fresh(component, self.entity_description.key, now)
        return value if isinstance(value, bool) else None
