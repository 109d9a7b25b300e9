"""The actions about a site's alarms: which are unacknowledged, and acknowledging one.

- `sot.unacknowledged_alarms` returns the latest alarm about each thing that nobody has
  acknowledged: the outage alerts blueprint takes up their repeats after a restart of Home
  Assistant or an edit of the automation;
- `sot.acknowledge_alarm` records that someone acknowledged one (the blueprint calls it when the
  phone's "Acknowledge" is tapped), so that it is not repeated again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .const import DOMAIN

if TYPE_CHECKING:
    from .coordinator import SotConfigEntry

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_ALARM: Final = "alarm"
SERVICE_UNACKNOWLEDGED: Final = "unacknowledged_alarms"
SERVICE_ACKNOWLEDGE: Final = "acknowledge_alarm"


def alarm_time(text: str) -> datetime:
    """An alarm is named by its timestamp, the alarm entity's state when it was raised: a date
    and time with its time zone (any way of writing the same instant)."""
    found = dt_util.parse_datetime(text)
    if found is None or found.tzinfo is None or "T" not in text.upper().replace(" ", "T"):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="alarm_not_a_time",
            translation_placeholders={"alarm": text},
        )
    return found


def loaded_site(hass: HomeAssistant, entry_id: str) -> SotConfigEntry:
    """The loaded site of `entry_id`; a translated error for anything else."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="site_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="site_not_loaded",
            translation_placeholders={"site": entry.title},
        )
    return entry


def async_setup_alarm_actions(hass: HomeAssistant) -> None:
    """Register the two actions (once, for every site)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_UNACKNOWLEDGED,
        _async_unacknowledged,
        schema=vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string}),
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ACKNOWLEDGE,
        _async_acknowledge,
        schema=vol.Schema(
            {vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string, vol.Required(ATTR_ALARM): cv.string}
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_unacknowledged(call: ServiceCall) -> ServiceResponse:
    """The latest alarm about each thing that nobody acknowledged, oldest first."""
    coordinator = loaded_site(call.hass, call.data[ATTR_CONFIG_ENTRY_ID]).runtime_data
    open_alarms = coordinator.alarms.unacknowledged(dt_util.utcnow())
    return {
        "site_id": coordinator.site_id,
        "site_name": coordinator.site_name,
        "alarms": [alarm.as_dict() for alarm in open_alarms],
    }


async def _async_acknowledge(call: ServiceCall) -> ServiceResponse:
    """Someone acknowledged an alarm: it is not repeated again, not even after a restart."""
    coordinator = loaded_site(call.hass, call.data[ATTR_CONFIG_ENTRY_ID]).runtime_data
    acknowledged = coordinator.alarms.acknowledge(
        alarm_time(call.data[ATTR_ALARM]), dt_util.utcnow()
    )
    if acknowledged is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="alarm_unknown",
            translation_placeholders={
                "alarm": call.data[ATTR_ALARM],
                "site": coordinator.site_name,
            },
        )
    if acknowledged:
        coordinator.async_alarms_changed()
    # False: not the latest alarm about its thing (a newer one replaced it) or already
    # acknowledged; either way nothing repeats it.
    return {"acknowledged": acknowledged} if call.return_response else None
