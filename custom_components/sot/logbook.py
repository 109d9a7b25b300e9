"""The logbook says which alarm a site raised, with its figures, in the user's language."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ALARM
from .site.alarm_texts import describe


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str | None]]], None],
) -> None:
    """Describe the `sot_alarm` events the sites fire."""

    @callback
    def alarm(event: Event) -> dict[str, str | None]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: str(data.get("site_name", "")),
            LOGBOOK_ENTRY_MESSAGE: describe(
                str(data.get("event_type")), data, hass.config.language
            ),
            LOGBOOK_ENTRY_ENTITY_ID: data.get("entity_id"),
        }

    async_describe_event(DOMAIN, EVENT_ALARM, alarm)
