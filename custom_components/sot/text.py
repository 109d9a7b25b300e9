"""The operator's message to the public: shown on the information display and published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.text import TextEntity, TextEntityDescription, TextMode
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import SotConfigEntry
from .entity import SotEntity, SotEntityDescription, async_setup_discovery
from .site.public import MESSAGE_MAX

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SotTextDescription(SotEntityDescription, TextEntityDescription):
    """A text row."""


TEXTS: tuple[SotTextDescription, ...] = (
    SotTextDescription(
        key="public_message",
        translation_key="public_message",
        mode=TextMode.TEXT,
        native_max=MESSAGE_MAX,
        exists_fn=lambda _, __: True,
        # Typed by the operator and kept with the site: there whatever the nodes do. At the
        # county it is the site's, as its summary last carried it: not shown as the site's
        # message now while the site's link is down.
        available_fn=lambda site, _, __: (
            not (site.settings.county_bridge and "mqtt" in site.links_down)
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's public message."""
    async_setup_discovery(entry, async_add_entities, TEXTS, SotPublicMessage)


class SotPublicMessage(SotEntity, TextEntity):
    """What the operator wants residents and crews to read: `Öppet till 20 i kväll`.

    Empty clears it. Kept with the site's state across restarts, shown on the information
    display and published in the site's public summary.
    """

    entity_description: SotTextDescription

    @property
    def native_value(self) -> str:
        """The message now up ('' when there is none)."""
        notice = self.coordinator.site.notice
        return "" if notice is None else notice.text

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the message was put up (none without one): "open till 8 tonight" read the next
        day must show it is yesterday's."""
        notice = self.coordinator.site.notice
        return {} if notice is None else {"time": notice.time.isoformat()}

    async def async_set_value(self, value: str) -> None:
        """Put up a new message (or take it down with an empty one)."""
        coordinator = self.coordinator
        if coordinator.site.settings.county_bridge:
            # The county shows the site's message; the site's Home Assistant publishes it.
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="message_at_site",
                translation_placeholders={"site": coordinator.site_name},
            )
        coordinator.async_set_notice(value)
