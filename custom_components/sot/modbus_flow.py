"""Adding a Modbus device to a SOT point: profile, connection, a test read, component ids."""

from __future__ import annotations

from typing import Any, Final

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.helpers import selector
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from .const import SUBENTRY_MODBUS
from .modbus.client import PARITY_LETTERS, BusSettings, ModbusBus
from .modbus.poller import DEFAULT_MISSES, MAX_MISSES, BusPoller, DeviceSettings
from .modbus.profile import BAUDRATES as SERIAL_SPEEDS
from .modbus.profile import Profile, ProfileError, builtin_profiles, load_builtin
from .modbus_hub import (
    CONF_BAUDRATE,
    CONF_COMPONENTS,
    CONF_CONNECTION,
    CONF_CONTROL_ENABLED,
    CONF_DEVICE_ID,
    CONF_MISSES,
    CONF_PACING,
    CONF_PARITY,
    CONF_PROFILE,
    CONF_SERIAL_PORT,
    CONF_STOPBITS,
    CONF_TIMEOUT,
    CONF_UNIT,
    CONNECTION_SERIAL,
    CONNECTIONS,
    DEFAULT_BAUDRATE,
    DEFAULT_SERIAL_TIMEOUT,
    DEFAULT_TCP_PORT,
    DEFAULT_TCP_TIMEOUT,
    ModbusHub,
    bus_settings,
    device_settings,
)
from .mqtt.topics import ID_PATTERN
from .site.vocabulary import Kind

BAUDRATES: Final = tuple(str(speed) for speed in SERIAL_SPEEDS)
# Option values are translation keys ([a-z0-9-_]), so words; the bus maps them to N, E, O.
PARITIES: Final = tuple(PARITY_LETTERS)
_PARITY_WORDS: Final = {letter: word for word, letter in PARITY_LETTERS.items()}
MAX_UNIT: Final = 247
MAX_TIMEOUT: Final = 30.0
MAX_PACING_MS: Final = 1000


def controls_a_generator(profile: Profile) -> bool:
    """Whether the profile can start, stop or switch a generator (not only switch loads)."""
    return any(profile.slots[spec.slot] is not Kind.LOAD for spec in profile.commands)


def _all_profiles() -> dict[str, Profile]:
    return {key: load_builtin(key) for key in builtin_profiles()}


class ModbusDeviceSubentryFlow(ConfigSubentryFlow):
    """Add or change one Modbus device of a site."""

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[str, Any] = {}
        self._title = ""
        self._profiles: dict[str, Profile] = {}

    async def _load_profiles(self) -> dict[str, Profile]:
        if not self._profiles:
            try:
                self._profiles = await self.hass.async_add_executor_job(_all_profiles)
            except ProfileError:
                self._profiles = {}
        return self._profiles

    def _others(self) -> list[ConfigSubentry]:
        """The site's other Modbus devices (all of them when adding one)."""
        entry = self._get_entry()
        editing = (
            self._get_reconfigure_subentry().subentry_id
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        return [
            sub
            for sub in entry.subentries.values()
            if sub.subentry_type == SUBENTRY_MODBUS and sub.subentry_id != editing
        ]

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name the device, pick its profile, how it is connected and its unit id."""
        profiles = await self._load_profiles()
        if not profiles:
            return self.async_abort(reason="no_profiles")
        errors: dict[str, str] = {}
        if user_input is not None:
            device_id = str(user_input[CONF_DEVICE_ID]).strip().lower()
            if not ID_PATTERN.match(device_id):
                errors[CONF_DEVICE_ID] = "invalid_device_id"
            elif any(sub.data.get(CONF_DEVICE_ID) == device_id for sub in self._others()):
                errors[CONF_DEVICE_ID] = "device_id_taken"
            if not errors:
                self._title = str(user_input[CONF_NAME]).strip() or device_id
                self._data = {
                    CONF_DEVICE_ID: device_id,
                    CONF_PROFILE: user_input[CONF_PROFILE],
                    CONF_CONNECTION: user_input[CONF_CONNECTION],
                    CONF_UNIT: int(user_input[CONF_UNIT]),
                }
                return await self.async_step_connection()
        name = str((user_input or {}).get(CONF_NAME, ""))
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): selector.TextSelector(),
                vol.Required(CONF_DEVICE_ID, default=slugify(name) or "genset"): (
                    selector.TextSelector()
                ),
                vol.Required(CONF_PROFILE): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[
                            selector.SelectOptionDict(value=key, label=profile.name)
                            for key, profile in profiles.items()
                        ],
                        mode=selector.SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(CONF_CONNECTION, default=CONNECTIONS[0]): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(CONNECTIONS), translation_key="modbus_connection"
                    )
                ),
                vol.Required(CONF_UNIT, default=1): _unit_selector(),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change where an existing device is connected, or its component ids."""
        subentry = self._get_reconfigure_subentry()
        self._data = dict(subentry.data)
        if (parity := self._data.get(CONF_PARITY)) in _PARITY_WORDS:
            # Saved as N, E or O before the options were words: offer the word it means.
            self._data[CONF_PARITY] = _PARITY_WORDS[parity]
        self._title = subentry.title
        return await self.async_step_connection()

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Where the bus is; the device must answer a test read before it is added."""
        profiles = await self._load_profiles()
        profile = profiles.get(self._data[CONF_PROFILE])
        if profile is None:
            return self.async_abort(reason="unknown_profile")
        serial = self._data[CONF_CONNECTION] == CONNECTION_SERIAL
        errors: dict[str, str] = {}
        if user_input is not None:
            candidate = {
                **self._data,
                **user_input,
                CONF_UNIT: int(user_input.get(CONF_UNIT, self._data[CONF_UNIT])),
            }
            # An address pasted from elsewhere often brings a space along.
            if serial:
                candidate[CONF_SERIAL_PORT] = str(candidate[CONF_SERIAL_PORT]).strip()
                candidate[CONF_BAUDRATE] = int(candidate[CONF_BAUDRATE])
                candidate[CONF_STOPBITS] = int(candidate[CONF_STOPBITS])
            else:
                candidate[CONF_HOST] = str(candidate[CONF_HOST]).strip()
                candidate[CONF_PORT] = int(candidate[CONF_PORT])
            candidate[CONF_TIMEOUT] = float(candidate.get(CONF_TIMEOUT) or _default_timeout(serial))
            candidate[CONF_PACING] = int(candidate.get(CONF_PACING) or 0)
            candidate[CONF_MISSES] = int(candidate.get(CONF_MISSES) or DEFAULT_MISSES)
            line = bus_settings(candidate)
            if any(
                bus_settings(sub.data) == line and sub.data.get(CONF_UNIT) == candidate[CONF_UNIT]
                for sub in self._others()
            ):
                errors["base"] = "unit_taken"
            elif any(
                bus_settings(sub.data).name == line.name and bus_settings(sub.data) != line
                for sub in self._others()
            ):
                # One port or gateway runs at one speed and framing: a second setting would
                # open it twice (a serial port cannot be, so the test read would fail as
                # "did not answer"), and the site would not poll the device.
                errors["base"] = "line_settings_differ"
            elif not await self._answers(candidate, profile):
                errors["base"] = "cannot_connect"
            else:
                self._data = candidate
                return await self.async_step_components()
        current = {
            CONF_TIMEOUT: _default_timeout(serial),
            CONF_PACING: 0,
            CONF_MISSES: DEFAULT_MISSES,
            **self._data,
            **(user_input or {}),
        }
        for key in (CONF_BAUDRATE, CONF_STOPBITS):
            if key in current:
                current[key] = str(current[key])  # the selector's options are strings
        return self.async_show_form(
            step_id="connection",
            data_schema=self.add_suggested_values_to_schema(
                _serial_schema(profile.baudrate or DEFAULT_BAUDRATE) if serial else _tcp_schema(),
                current,
            ),
            errors=errors,
            description_placeholders={"profile": profile.name},
        )

    async def async_step_components(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which component id each of the device's slots feeds; blank leaves a slot unused."""
        profile = (await self._load_profiles())[self._data[CONF_PROFILE]]
        current = self._data.get(CONF_COMPONENTS) or {
            slot: profile.default_component_id(slot) for slot in profile.slots
        }
        errors: dict[str, str] = {}
        placeholders = {"profile": profile.name, "component": ""}
        controls = controls_a_generator(profile)
        control_enabled = bool(self._data.get(CONF_CONTROL_ENABLED, False))
        if user_input is not None:
            components = {
                slot: str(user_input.get(slot, "")).strip().lower() for slot in profile.slots
            }
            control_enabled = controls and bool(user_input.get(CONF_CONTROL_ENABLED, False))
            claimed = await self._claimed()
            mine: set[tuple[str, str]] = set()
            for slot, component_id in components.items():
                key = (profile.slots[slot].value, component_id)
                if component_id and not ID_PATTERN.match(component_id):
                    errors[slot] = "invalid_component_id"
                elif component_id and key in claimed:
                    errors[slot] = "component_taken"
                    placeholders["component"] = f"{key[0]}/{component_id}"
                elif component_id and key in mine:
                    # Two slots of this device feeding one component are two feeds too.
                    errors[slot] = "component_twice"
                    placeholders["component"] = f"{key[0]}/{component_id}"
                elif component_id:
                    mine.add(key)
            if not errors and not any(components.values()):
                errors["base"] = "no_components"
            if not errors:
                data = {
                    **self._data,
                    CONF_COMPONENTS: components,
                    CONF_CONTROL_ENABLED: control_enabled,
                }
                if self.source == SOURCE_RECONFIGURE:
                    return self.async_update_and_abort(
                        self._get_entry(), self._get_reconfigure_subentry(), data=data
                    )
                return self.async_create_entry(
                    title=self._title, data=data, unique_id=data[CONF_DEVICE_ID]
                )
            current = components
        fields: dict[vol.Marker, Any] = {
            vol.Optional(slot, description={"suggested_value": current.get(slot, "")}): (
                selector.TextSelector()
            )
            for slot in profile.slots
        }
        if controls:
            # Off unless the operator turns it on: a remote start is a running engine.
            fields[vol.Required(CONF_CONTROL_ENABLED, default=control_enabled)] = (
                selector.BooleanSelector()
            )
        schema = vol.Schema(fields)
        return self.async_show_form(
            step_id="components",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _claimed(self) -> set[tuple[str, str]]:
        """(kind, id) of every component the site's other Modbus devices feed."""
        profiles = await self._load_profiles()
        claimed: set[tuple[str, str]] = set()
        for sub in self._others():
            profile = profiles.get(sub.data.get(CONF_PROFILE, ""))
            if profile is None:
                continue
            settings = device_settings(sub.data, profile)
            for slot, kind in profile.slots.items():
                component_id = settings.components.get(slot, profile.default_component_id(slot))
                if component_id:
                    claimed.add((kind.value, component_id))
        return claimed

    def _bus_in_use(self, settings: BusSettings) -> ModbusBus | None:
        """The site's open connection to this gateway or line, so the test read shares it."""
        entry = self._get_entry()
        coordinator = getattr(entry, "runtime_data", None)
        for transport in getattr(coordinator, "transports", ()):
            if isinstance(transport, ModbusHub):
                return transport.bus_for(settings)
        return None

    async def _answers(self, data: dict[str, Any], profile: Profile) -> bool:
        """Whether the device answers one poll of its registers."""
        settings = device_settings(data, profile, self._title)
        device = DeviceSettings(
            title=settings.title,
            id=settings.id,
            profile=profile,
            unit=settings.unit,
            timeout=settings.timeout,
            pacing=settings.pacing,
        )
        bus = bus_settings(data)
        try:
            poller = BusPoller(bus, [device], bus=self._bus_in_use(bus))
        except ValueError:
            return False
        try:
            result = await poller.poll(dt_util.utcnow())
        finally:
            await poller.close()
        return any(status.online for status in result.statuses)


def _unit_selector() -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=1, max=MAX_UNIT, step=1, mode=selector.NumberSelectorMode.BOX
        )
    )


def _default_timeout(serial: bool) -> float:
    return DEFAULT_SERIAL_TIMEOUT if serial else DEFAULT_TCP_TIMEOUT


def _pace_fields(serial: bool) -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_TIMEOUT, default=_default_timeout(serial)): selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=0.1,
                max=MAX_TIMEOUT,
                step=0.1,
                unit_of_measurement="s",
                mode=selector.NumberSelectorMode.BOX,
            )
        ),
        vol.Required(CONF_PACING, default=0): selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=0,
                max=MAX_PACING_MS,
                step=1,
                unit_of_measurement="ms",
                mode=selector.NumberSelectorMode.BOX,
            )
        ),
        # Polls in a row without an answer before the device is shown offline and alarms.
        vol.Required(CONF_MISSES, default=DEFAULT_MISSES): selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=1, max=MAX_MISSES, step=1, mode=selector.NumberSelectorMode.BOX
            )
        ),
    }


def _tcp_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST): selector.TextSelector(),
            vol.Required(CONF_PORT, default=DEFAULT_TCP_PORT): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=1, max=65535, step=1, mode=selector.NumberSelectorMode.BOX
                )
            ),
            vol.Required(CONF_UNIT): _unit_selector(),
            **_pace_fields(serial=False),
        }
    )


def _serial_schema(baudrate: int) -> vol.Schema:
    """The serial line's settings, suggesting the speed the device ships at."""
    return vol.Schema(
        {
            vol.Required(CONF_SERIAL_PORT): selector.TextSelector(),
            vol.Required(CONF_BAUDRATE, default=str(baudrate)): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=list(BAUDRATES), mode=selector.SelectSelectorMode.DROPDOWN
                )
            ),
            vol.Required(CONF_PARITY, default=PARITIES[0]): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=list(PARITIES), translation_key="modbus_parity"
                )
            ),
            vol.Required(CONF_STOPBITS, default="1"): selector.SelectSelector(
                selector.SelectSelectorConfig(options=["1", "2"])
            ),
            vol.Required(CONF_UNIT): _unit_selector(),
            **_pace_fields(serial=True),
        }
    )
