"""The site's settings on `<base>/settings`, retained: the county takes them over its bridge.

The county's Home Assistant works every figure of a site out itself (fuel hours, freezer
limits, staleness, storm readiness), from the site's readings and its entry's settings. With
settings of its own for a site, a county would show other figures than the site: a 600 L tank
taken for the default 1000 L makes the fuel hours 80 % optimistic. So the site's Home Assistant
publishes the settings its operator set, retained at QoS 1, when the site starts and whenever
they change; its bridge carries them to the county like any of the site's messages. A county's
Home Assistant (`county_bridge` on) writes them into its entry of that site: its figures and its
*Configure* form then say what the site's say; all but `silent_after`, which is the county's
own (it hears the site across the link, and its silent-site repair sets it). A setting the
county changes by hand holds until the site publishes its settings again.

The message is a JSON object of the options (docs/mqtt.md). Every number is held to the options
form's range; a message with one setting out of range, or a critical freezer limit not above the
warning, is refused whole and the settings the county had stay. Keys the county does not know
(a newer site) are left alone, and a setting the message does not carry (an older site) keeps
the county's own value.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .const import (
    CONF_FREEZER_CRITICAL,
    CONF_FREEZER_WARNING,
    CONF_SERVICE_DUE_DATE,
    DEFAULT_OPTIONS,
    OPTION_RANGES,
    PUBLIC_QOS,
)
from .mqtt.topics import MAX_JSON_PAYLOAD, settings_topic

_LOGGER = logging.getLogger(__name__)
# A date as the options form's date selector writes it.
_FORM_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def settings_payload(options: dict[str, Any]) -> str:
    """The message a site publishes: each number setting (defaults for what is not set) and
    the service date (`null` when not set). Not whether the county bridge is on: that is each
    Home Assistant's own."""
    merged = {**DEFAULT_OPTIONS, **options}
    settings: dict[str, Any] = {key: merged[key] for key in OPTION_RANGES}
    settings[CONF_SERVICE_DUE_DATE] = merged.get(CONF_SERVICE_DUE_DATE) or None
    return json.dumps(settings, sort_keys=True)


def parse_settings(payload: str | bytes | bytearray) -> dict[str, Any]:
    """The settings a site's message carries, checked; raises ValueError saying what is wrong.

    A `service_due_date` of `null` is returned as None: the site has no service date.
    """
    if len(payload) > MAX_JSON_PAYLOAD:
        raise ValueError(f"longer than {MAX_JSON_PAYLOAD} bytes")
    try:
        message = json.loads(payload)
    except ValueError as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    settings: dict[str, Any] = {}
    for key, (low, high, _step, unit) in OPTION_RANGES.items():
        if key not in message:
            continue
        value = message[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key}: {value!r} is not a number")
        # Compared as it came: NaN is in no range, and an integer too large for a float
        # cannot be turned into one.
        if not low <= value <= high:
            raise ValueError(f"{key}: {value} is outside {low:g} to {high:g} {unit}")
        settings[key] = value
    if CONF_SERVICE_DUE_DATE in message:
        due = message[CONF_SERVICE_DUE_DATE]
        if due is not None and not _is_form_date(due):
            raise ValueError(f"{CONF_SERVICE_DUE_DATE}: {due!r} is not a date")
        settings[CONF_SERVICE_DUE_DATE] = due
    if not settings:
        raise ValueError("holds no setting")
    return settings


def _is_form_date(value: object) -> bool:
    """Whether `value` is a date as the options form writes it (`2027-01-15`): what else
    `date.fromisoformat` reads (`20270115`, `2027-W03-1`) the form would refuse later."""
    if not isinstance(value, str) or not _FORM_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def limits_contradict(options: dict[str, Any]) -> bool:
    """Whether the freezer critical limit is not above the warning limit (defaults for what is
    not set): the options form and the site's settings are refused alike."""
    merged = {**DEFAULT_OPTIONS, **options}
    return bool(merged[CONF_FREEZER_CRITICAL] <= merged[CONF_FREEZER_WARNING])


def merged_options(options: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The county's options of a site with the site's `settings` taken in; ValueError when the
    freezer limits that result contradict each other."""
    merged = {**options, **settings}
    if merged.get(CONF_SERVICE_DUE_DATE, "") is None:
        del merged[CONF_SERVICE_DUE_DATE]
    if limits_contradict(merged):
        defaults = {**DEFAULT_OPTIONS, **merged}
        raise ValueError(
            f"{CONF_FREEZER_CRITICAL} {defaults[CONF_FREEZER_CRITICAL]} is not above "
            f"{CONF_FREEZER_WARNING} {defaults[CONF_FREEZER_WARNING]}"
        )
    return merged


async def async_publish_settings(hass: HomeAssistant, entry: ConfigEntry, base: str) -> None:
    """Publish the site's settings, retained; a broker that cannot be reached is logged."""
    try:
        await mqtt.async_publish(
            hass,
            settings_topic(base),
            settings_payload(dict(entry.options)),
            qos=PUBLIC_QOS,
            retain=True,
        )
    except HomeAssistantError as err:
        _LOGGER.warning("%s: its settings were not published for the county: %s", entry.title, err)


def async_follow_connection(hass: HomeAssistant, entry: ConfigEntry, base: str) -> CALLBACK_TYPE:
    """Publish the settings now, and again whenever Home Assistant gets its broker back: a
    publish while the broker cannot be reached is lost, and the retained copy on a broker
    that lost its store would be missing. Returns what stops it."""

    @callback
    def connection(connected: bool) -> None:
        if connected:
            entry.async_create_background_task(
                hass, async_publish_settings(hass, entry, base), f"{entry.title} settings"
            )

    if mqtt.is_connected(hass):
        connection(True)
    return mqtt.async_subscribe_connection_status(hass, connection)
