"""Base entity and entity discovery shared by all platforms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import UNDEFINED
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import slugify

from .const import DOMAIN
from .coordinator import (
    WHOLE_ONLY,
    SiteCoordinator,
    SotConfigEntry,
    device_key,
    site_device_info,
)
from .site.model import Component, Site
from .site.vocabulary import Kind

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import EntityPlatform

_LINK_BY_DEVICE_ID: Final = "via_device_id" in DeviceInfo.__optional_keys__
# The components' device names in English, for entity ids that do not depend on Home
# Assistant's language (read when the module is imported, not in the event loop).
_ENGLISH_DEVICES: Final[dict[str, dict[str, str]]] = json.loads(
    (Path(__file__).parent / "translations" / "en.json").read_text(encoding="utf-8")
)["device"]


@dataclass(frozen=True, kw_only=True)
class SotEntityDescription(EntityDescription):
    """What every SOT entity says about itself.

    `kind` None puts the entity on the site's own device. By default an entity exists once its
    component has reported the quantity named by `key`, and is available while that quantity
    is live.
    """

    kind: Kind | None = None
    exists_fn: Callable[[SiteCoordinator, Component | None], bool] | None = None
    available_fn: Callable[[Site, Component | None, datetime], bool] | None = None


def quantity_available(site: Site, component: Component | None, now: datetime, key: str) -> bool:
    """Whether `key` of `component` is live."""
    return component is not None and site.fresh(component, key, now) is not None


class SotEntity(CoordinatorEntity[SiteCoordinator]):
    """An entity of a SOT point: on the site's device, or on one component's device."""

    _attr_has_entity_name = True
    entity_description: SotEntityDescription
    # What the entity last showed (its value, before the state is worked out from it) and what
    # was last written to the state machine: a refresh that changes neither writes nothing.
    _last_shown: tuple[Any, ...] | None = None
    _last_written: tuple[Any, ...] | None = None
    # What `_refresh` worked out, while it writes it: the state machine reads it back rather
    # than have the entity work it all out again (availability, value, attributes).
    _pinned: tuple[Any, ...] | None = None
    # The one quantity the entity shows as it came (`_follows`), once it is added.
    _followed: str = ""
    # The meta name this entity last gave its device; None: the name from kind and id, which
    # the device has again each time an entity of it is added.
    _device_named: str | None = None
    # A component device's info as made from kind and id (its translated name).
    _device_from_kind: DeviceInfo | None = None

    def __init__(
        self,
        coordinator: SiteCoordinator,
        description: SotEntityDescription,
        component_id: str | None = None,
    ) -> None:
        """Bind the entity to its site and, for component entities, its component."""
        super().__init__(coordinator)
        self.entity_description = description
        self.component_id = component_id
        kind = description.kind.value if description.kind else None
        # The component's key in the site, worked out once (it is looked up on every refresh).
        self._component_key = None if kind is None or component_id is None else (kind, component_id)
        self._attr_unique_id = entity_unique_id(
            coordinator.site_id, kind, component_id, description.key
        )
        if kind is None:
            self._attr_device_info = site_device_info(coordinator)
            return
        # Always the name from kind and id, never the meta's: Home Assistant makes the entity id
        # from the device's name when the entity is first registered, and that id must not
        # depend on whether a meta name arrived before the first value (`sensor.kall_tank_volume`,
        # never `sensor.kall_diesel_tank_volume`). The meta name is put on the device once the
        # entity is added (`_name_device`).
        info = DeviceInfo(
            identifiers={(DOMAIN, device_key(coordinator.site_id, kind, component_id))},
            manufacturer="SOT Monitor",
            model=kind,
            translation_key=kind if component_id == "main" else f"{kind}_id",
            translation_placeholders={"site": coordinator.site_name, "id": component_id or ""},
        )
        _link_to_site(info, coordinator)
        self._attr_device_info = self._device_from_kind = info

    def add_to_platform_start(
        self,
        hass: HomeAssistant,
        platform: EntityPlatform,
        parallel_updates: asyncio.Semaphore | None,
    ) -> None:
        """Suggest the entity id in English whatever Home Assistant's language, from the site id.

        Home Assistant would make it from the names in its own language (in Swedish
        `sensor.kall_frys_f1_temperatur`) and from the site's name, which a reconfigure may
        change; the docs, dashboards and county tools name entities by one id
        (`sensor.kall_freezer_f1_temperature` for the site id kall, whatever the site is
        called). An id already registered is kept.
        """
        super().add_to_platform_start(hass, platform, parallel_updates)
        if not self.entity_id:
            self.entity_id = f"{platform.domain}.{slugify(self._english_name())}"
        component = self.component
        info = self._device_from_kind
        if info is not None and component is not None and component.name:
            # Home Assistant names the device from this info as each of its entities is added:
            # with a meta name already known (a restart, a reload) it is that name, not the
            # name from kind and id and back again, each a state change of every entity.
            named = DeviceInfo(**info)
            named.pop("translation_key", None)
            named.pop("translation_placeholders", None)
            named["name"] = f"{self.coordinator.site_name} {component.name}"
            self._attr_device_info = named

    def _english_name(self) -> str:
        """The entity's full name (device and entity) as Home Assistant gives it in English,
        with the site id for the site's name."""
        # The device's name as made in __init__ (its translation key and placeholders), in
        # English; the site's own device is the site.
        info = self._attr_device_info or {}
        device = self.coordinator.site_id
        if (key := info.get("translation_key")) is not None:
            placeholders = {**(info.get("translation_placeholders") or {}), "site": device}
            device = _ENGLISH_DEVICES[key]["name"].format(**placeholders)
        if self.hass.config.language == "en":
            class_name = self._object_id_device_class_name
        else:
            device_class = getattr(self, "device_class", None)
            class_name = (
                None if device_class is None else str(device_class).replace("_", " ").capitalize()
            )
        name = self._name_internal(
            class_name, self.platform_data.default_language_platform_translations
        )
        return device if name is None or name is UNDEFINED else f"{device} {name}"

    async def async_added_to_hass(self) -> None:
        """Hear about the messages that concern this entity, not every message of the site."""
        await super().async_added_to_hass()
        self._followed = self._follows()
        # Home Assistant writes the state once the entity is added: what it shows then.
        self._last_shown = self._shown_now()
        self._last_written = self._written(self._last_shown)
        kind = self.entity_description.kind
        scope = None if kind is None else (kind.value, self.component_id or "")
        self.async_on_remove(
            self.coordinator.async_add_entity_listener(scope, self._refresh, self._followed)
        )
        if scope is not None:
            self.async_on_remove(
                self.coordinator.async_add_entity_listener(scope, self._name_device, WHOLE_ONLY)
            )
            self._name_device()

    def _follows(self) -> str:
        """The one quantity of its component this entity shows, if it shows nothing else
        ("": it follows every reading of its component)."""
        return ""

    @callback
    def _name_device(self) -> None:
        """Give the device the component's meta name, or back the name from kind and id.

        Only the registry name changes; the entity ids stay as they were registered.
        """
        component = self.component
        name = component.name if component is not None else None
        if name == self._device_named or self.device_entry is None:
            return
        self._device_named = name
        registry = dr.async_get(self.hass)
        if name:
            full = f"{self.coordinator.site_name} {name}"
            device = registry.async_get(self.device_entry.id)
            if device is not None and device.name != full:
                registry.async_update_device(device.id, name=full)
        elif self._device_from_kind is not None:
            # The meta was cleared: announce the device as at registration, translated name and
            # all (what Home Assistant does each time an entity of the device is added).
            self._attr_device_info = self._device_from_kind
            registry.async_get_or_create(
                config_entry_id=self.coordinator.config_entry.entry_id, **self._device_from_kind
            )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Time passed (the site's tick): write only if what is shown changed."""
        self._refresh()

    @callback
    def _refresh(self) -> None:
        shown = self._shown_now()
        if shown == self._last_shown:
            return
        self._last_shown = shown
        self._pinned = shown
        try:
            written = self._written(shown)
            if written != self._last_written:
                self._last_written = written
                self.async_write_ha_state()
        finally:
            self._pinned = None

    def _shown_now(self) -> tuple[Any, ...]:
        """What the state machine would get: availability, state and attributes."""
        available = self.available
        if not available:
            return (False,)
        return (True, self._shown_value(), self.extra_state_attributes)

    def _written(self, shown: tuple[Any, ...]) -> tuple[Any, ...]:
        """What the state machine gets for `shown`: a sensor's value can change without its
        state (a unit the state is converted to, and rounded in)."""
        return (True, self.state, shown[2]) if shown[0] else shown

    def _shown_value(self) -> Any:
        """What the state follows from (the state itself, unless cheaper to tell)."""
        return self.state

    @property
    def component(self) -> Component | None:
        """The component this entity shows (None for site entities)."""
        key = self._component_key
        return None if key is None else self.coordinator.site.components.get(key)

    @property
    def available(self) -> bool:
        """Live data only: an offline node or stale data makes the entity unavailable."""
        if self._pinned is not None:
            return bool(self._pinned[0])
        if not super().available:
            return False
        check = self.entity_description.available_fn
        site, now = self.coordinator.site, self.coordinator.now()
        if check is None:
            return quantity_available(site, self.component, now, self.entity_description.key)
        return check(site, self.component, now)


def _link_to_site(info: DeviceInfo, coordinator: SiteCoordinator) -> None:
    """Show a component's device as connected through its site's device.

    HA 2026.10 links by the parent's device id (`via_device_id`) and reports the identifier
    form (`via_device`, removed in 2027.8); 2026.2 knows only the identifier form.
    """
    if _LINK_BY_DEVICE_ID:
        info["via_device_id"] = coordinator.site_device_id  # type: ignore[typeddict-unknown-key]
    else:
        info["via_device"] = (DOMAIN, coordinator.site_id)


def entity_unique_id(site_id: str, kind: str | None, component_id: str | None, key: str) -> str:
    """Stable unique id: site, component and what the entity shows."""
    return f"{site_id}_{key}" if kind is None else f"{site_id}_{kind}_{component_id}_{key}"


def async_setup_discovery[DescriptionT: SotEntityDescription](
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Sequence[DescriptionT],
    factory: Callable[[SiteCoordinator, DescriptionT, str | None], Entity],
) -> None:
    """Add a platform's entities now, and for each component that appears later."""
    coordinator = entry.runtime_data
    added = coordinator.added_entities

    @callback
    def discover() -> None:
        new: list[Entity] = []
        for description in descriptions:
            targets: list[Component | None]
            if description.kind is None:
                targets = [None]
            else:
                targets = list(coordinator.site.of_kind(description.kind))
            for component in targets:
                if not _exists(coordinator, description, component):
                    continue
                component_id = component.id if component else None
                kind = description.kind.value if description.kind else None
                unique_id = entity_unique_id(
                    coordinator.site_id, kind, component_id, description.key
                )
                if unique_id in added:
                    continue
                added.add(unique_id)
                new.append(factory(coordinator, description, component_id))
        if new:
            async_add_entities(new)

    discover()
    entry.async_on_unload(coordinator.async_add_structure_listener(discover))


def _exists(
    coordinator: SiteCoordinator, description: SotEntityDescription, component: Component | None
) -> bool:
    if description.exists_fn is not None:
        return description.exists_fn(coordinator, component)
    return component is not None and description.key in component.values
