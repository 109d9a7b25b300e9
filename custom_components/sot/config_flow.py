"""Adding a SOT point: by hand, or offered when one of its nodes shows up on MQTT."""

from __future__ import annotations

import re
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.util import slugify

from .const import (
    CONF_BASE_TOPIC,
    CONF_COUNTY_BRIDGE,
    CONF_FREEZER_CRITICAL,
    CONF_SERVICE_DUE_DATE,
    CONF_SITE_ID,
    DEFAULT_OPTIONS,
    DOMAIN,
    MQTT_DOMAIN,
    OPTION_RANGES,
    SUBENTRY_MODBUS,
)
from .mqtt.topics import ID_PATTERN, MAX_PLAIN_PAYLOAD, OFFLINE, ONLINE, site_from_status_topic
from .site.values import strip_blank
from .site_settings import limits_contradict

CONF_NAME = "name"
# A base topic is a plain topic: no wildcards, no empty levels, no leading or trailing slash.
TOPIC_PATTERN = re.compile(r"^[^#+/\s]+(/[^#+/\s]+)*$")


def _number(minimum: float, maximum: float, step: float, unit: str) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=step,
            unit_of_measurement=unit,
            mode=selector.NumberSelectorMode.BOX,
        )
    )


OPTIONS_FIELDS: dict[str, selector.NumberSelector] = {
    key: _number(*limits) for key, limits in OPTION_RANGES.items()
}


def _options_schema(current: dict[str, Any]) -> vol.Schema:
    values = {**DEFAULT_OPTIONS, **current}
    fields: dict[Any, Any] = {
        vol.Required(key, default=values[key]): field for key, field in OPTIONS_FIELDS.items()
    }
    # Optional: left empty, no service date is set.
    date = {"suggested_value": values.get(CONF_SERVICE_DUE_DATE)}
    fields[vol.Optional(CONF_SERVICE_DUE_DATE, description=date)] = selector.DateSelector()
    fields[vol.Required(CONF_COUNTY_BRIDGE, default=bool(values[CONF_COUNTY_BRIDGE]))] = (
        selector.BooleanSelector()
    )
    return vol.Schema(fields)


def _check_options(user_input: dict[str, Any]) -> dict[str, str]:
    if limits_contradict(user_input):
        return {CONF_FREEZER_CRITICAL: "critical_not_above_warning"}
    return {}


def _site_schema(name: str, site_id: str | None, base_topic: str | None) -> vol.Schema:
    fields: dict[Any, Any] = {vol.Required(CONF_NAME, default=name): selector.TextSelector()}
    if site_id is not None:
        fields[vol.Required(CONF_SITE_ID, default=site_id)] = selector.TextSelector()
    fields[
        vol.Optional(CONF_BASE_TOPIC, description={"suggested_value": base_topic})
        if base_topic
        else vol.Optional(CONF_BASE_TOPIC)
    ] = selector.TextSelector()
    return vol.Schema(fields)


def _overlaps(one: str, other: str) -> bool:
    """Whether one site's subscription (`<base>/#`) would take in the other's messages."""
    return one == other or one.startswith(other + "/") or other.startswith(one + "/")


def _topic_in_use(hass: HomeAssistant, topic: str, entry_id: str | None = None) -> bool:
    """Another site's base topic is `topic`, lies under it or holds it: both would take in
    the same messages (every entity twice, every alarm twice, two sets of commands)."""
    return any(
        _overlaps(topic, str(entry.data.get(CONF_BASE_TOPIC, "")))
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.entry_id != entry_id
    )


def _check_topic(
    hass: HomeAssistant, user_input: dict[str, Any], default: str, entry_id: str | None = None
) -> tuple[str, dict[str, str]]:
    topic = str(user_input.get(CONF_BASE_TOPIC) or default).strip()
    if not TOPIC_PATTERN.match(topic):
        return topic, {CONF_BASE_TOPIC: "invalid_topic"}
    if _topic_in_use(hass, topic, entry_id):
        return topic, {CONF_BASE_TOPIC: "topic_in_use"}
    return topic, {}


class SotConfigFlow(ConfigFlow, domain=DOMAIN):
    """One flow per SOT point."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing discovered."""
        self._discovered_site: str | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SotOptionsFlow:
        """The site's settings."""
        return SotOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Modbus devices are added to a site as subentries."""
        from .modbus_flow import ModbusDeviceSubentryFlow  # noqa: PLC0415

        return {SUBENTRY_MODBUS: ModbusDeviceSubentryFlow}

    def _mqtt_missing(self) -> bool:
        return not self.hass.config_entries.async_entries(MQTT_DOMAIN)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Name the site, choose its id and base topic."""
        if self._mqtt_missing():
            return self.async_abort(reason="mqtt_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            site_id = str(user_input[CONF_SITE_ID]).strip().lower()
            topic, errors = _check_topic(self.hass, user_input, f"sot/{site_id}")
            if not ID_PATTERN.match(site_id):
                if not user_input.get(CONF_BASE_TOPIC):
                    # The topic was made from the bad id: the empty field is not at fault.
                    errors.pop(CONF_BASE_TOPIC, None)
                errors[CONF_SITE_ID] = "invalid_site_id"
            else:
                # A site discovery offers may still be added by hand: its offer then goes.
                await self.async_set_unique_id(site_id, raise_on_progress=False)
                self._abort_if_unique_id_configured()
            if not errors:
                return self.async_create_entry(
                    title=str(user_input[CONF_NAME]).strip() or site_id,
                    data={CONF_SITE_ID: site_id, CONF_BASE_TOPIC: topic},
                    options=dict(DEFAULT_OPTIONS),
                )
        name = str((user_input or {}).get(CONF_NAME, ""))
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _site_schema(name, slugify(name).replace("_", "") if name else "", None),
                user_input or {},
            ),
            errors=errors,
        )

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A node of a site we do not know yet said hello on `sot/<site>/node/<node>/status`."""
        site_id = site_from_status_topic(discovery_info.topic)
        if site_id is None:
            return self.async_abort(reason="invalid_discovery_info")
        payload = discovery_info.payload
        raw = payload.encode() if isinstance(payload, str) else bytes(payload)
        if len(raw) > MAX_PLAIN_PAYLOAD:
            # Refused by the site as oversized: no node said hello.
            return self.async_abort(reason="not_a_status")
        word = strip_blank(raw.decode(errors="replace"))
        if not word:
            # An empty retained status clears a removed node: nothing to add.
            return self.async_abort(reason="node_cleared")
        if word not in (ONLINE, OFFLINE):
            # Refused by the site as well (docs/mqtt.md#node-status): no node said hello.
            return self.async_abort(reason="not_a_status")
        await self.async_set_unique_id(site_id)
        self._abort_if_unique_id_configured()
        if _topic_in_use(self.hass, f"sot/{site_id}"):
            # A site already takes in these messages (moved to this topic, or above it).
            return self.async_abort(reason="already_configured")
        self._discovered_site = site_id
        self.context["title_placeholders"] = {"site_id": site_id}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user name the discovered site before adding it."""
        assert self._discovered_site is not None
        site_id = self._discovered_site
        if self._mqtt_missing():
            return self.async_abort(reason="mqtt_not_configured")
        if user_input is not None:
            if _topic_in_use(self.hass, f"sot/{site_id}"):
                # Given to a site added while the offer waited: both would take in its messages.
                return self.async_abort(reason="already_configured")
            return self.async_create_entry(
                title=str(user_input[CONF_NAME]).strip() or site_id,
                data={CONF_SITE_ID: site_id, CONF_BASE_TOPIC: f"sot/{site_id}"},
                options=dict(DEFAULT_OPTIONS),
            )
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=vol.Schema(
                {vol.Required(CONF_NAME, default=site_id.capitalize()): selector.TextSelector()}
            ),
            description_placeholders={"site_id": site_id},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the site or move it to another base topic."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            topic, errors = _check_topic(
                self.hass, user_input, entry.data[CONF_BASE_TOPIC], entry.entry_id
            )
            if not errors:
                # The entry's update listener restarts the site once; reloading here too
                # would set it up twice (and is reported as deprecated from HA 2026.7).
                return self.async_update_and_abort(
                    entry,
                    title=str(user_input[CONF_NAME]).strip() or entry.title,
                    data_updates={CONF_BASE_TOPIC: topic},
                )
        return self.async_show_form(
            step_id="reconfigure",
            # Refused input is shown as typed, to be mended.
            data_schema=self.add_suggested_values_to_schema(
                _site_schema(entry.title, None, entry.data[CONF_BASE_TOPIC]), user_input or {}
            ),
            errors=errors,
            description_placeholders={"site_id": entry.data[CONF_SITE_ID]},
        )


class SotOptionsFlow(OptionsFlow):
    """Tank, generator, freezer limits and staleness of one site."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with all settings."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_options(user_input)
            if not errors:
                return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=_options_schema(user_input or dict(self.config_entry.options)),
            errors=errors,
        )
