"""Fix flows for the site's repair issues (see issues.py for when each is raised)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import voluptuous as vol
from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import selector

from .const import CONF_SILENT_AFTER, DEFAULT_OPTIONS, DOMAIN, SUBENTRY_MODBUS
from .coordinator import SotConfigEntry
from .issues import (
    GENERATOR_NOT_EXERCISED,
    MODBUS_BUS_CONFLICT,
    MODBUS_PROFILE_UNUSABLE,
    SITE_SILENT,
)
from .modbus.client import SerialSettings
from .modbus_hub import (
    CONF_BAUDRATE,
    CONF_CONNECTION,
    CONF_PARITY,
    CONF_STOPBITS,
    bus_settings,
)
from .site.readings import Command

# How long "remind me later" puts off the exercise reminder.
EXERCISE_SNOOZE: Final = timedelta(days=7)
_LINE_KEYS: Final = (CONF_CONNECTION, CONF_BAUDRATE, CONF_PARITY, CONF_STOPBITS)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow for one of the site's issues."""
    data = data or {}
    flows: dict[str, type[SiteRepairFlow]] = {
        MODBUS_PROFILE_UNUSABLE: RemoveModbusDeviceFlow,
        MODBUS_BUS_CONFLICT: SettleLineSettingsFlow,
        SITE_SILENT: SilenceLimitFlow,
        GENERATOR_NOT_EXERCISED: ExerciseFlow,
    }
    return flows[str(data.get("kind"))](issue_id, data)


class SiteRepairFlow(RepairsFlow):
    """A fix flow about one site's config entry.

    Home Assistant opens a fix flow with the issue id as the first step's input, so `init`
    only chooses the step that shows the form.
    """

    def __init__(self, issue_id: str, data: dict[str, str | int | float | None]) -> None:
        """Keep what the issue said it is about."""
        self.sot_issue_id = issue_id
        self.issue_data = data

    def _entry(self) -> SotConfigEntry | None:
        entry: SotConfigEntry | None = self.hass.config_entries.async_get_entry(
            str(self.issue_data.get("entry_id"))
        )
        return entry

    def _loaded_entry(self) -> SotConfigEntry:
        entry = self._entry()
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            raise data_entry_flow.AbortFlow("site_not_loaded")
        return entry

    def _placeholders(self) -> dict[str, str]:
        """The issue's own placeholders, so the flow speaks of the same things."""
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.sot_issue_id)
        placeholders = dict(issue.translation_placeholders or {}) if issue else {}
        entry = self._entry()
        placeholders.setdefault("site", entry.title if entry else "")
        return placeholders


class RemoveModbusDeviceFlow(SiteRepairFlow):
    """A Modbus device whose profile cannot be used: remove it, to add it again properly."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Ask first."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Confirm, then remove the device from the site."""
        entry = self._loaded_entry()
        subentry = entry.subentries.get(str(self.issue_data.get("subentry_id")))
        if subentry is None:
            return self.async_create_entry(data={})  # already gone
        if user_input is not None:
            self.hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={**self._placeholders(), "device": subentry.title},
        )


class SettleLineSettingsFlow(SiteRepairFlow):
    """Devices on one line disagree on its settings: the user picks the right ones."""

    def _on_line(self, entry: SotConfigEntry) -> list[ConfigSubentry]:
        line = str(self.issue_data.get("bus"))
        return [
            s
            for s in entry.subentries.values()
            if s.subentry_type == SUBENTRY_MODBUS and bus_settings(s.data).name == line
        ]

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Show the choice."""
        return await self.async_step_choose()

    async def async_step_choose(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Offer each variant of the line's settings; apply the chosen one to every device."""
        entry = self._loaded_entry()
        devices = self._on_line(entry)
        variants: dict[str, str] = {}
        for subentry in devices:
            settings = bus_settings(subentry.data)
            label = describe_line(settings)
            if label not in variants.values():
                variants[subentry.subentry_id] = f"{label} ({subentry.title})"
        if len(variants) < 2:
            return self.async_create_entry(data={})  # settled meanwhile
        errors: dict[str, str] = {}
        if user_input is not None and user_input["settings"] not in entry.subentries:
            errors["settings"] = "device_gone"  # deleted while the form was open: choose again
        elif user_input is not None:
            chosen = entry.subentries[user_input["settings"]]
            line = {key: chosen.data[key] for key in _LINE_KEYS if key in chosen.data}
            for subentry in devices:
                if any(subentry.data.get(key) != value for key, value in line.items()):
                    self.hass.config_entries.async_update_subentry(
                        entry, subentry, data={**subentry.data, **line}
                    )
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="choose",
            data_schema=vol.Schema(
                {
                    vol.Required("settings"): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[
                                selector.SelectOptionDict(value=key, label=label)
                                for key, label in variants.items()
                            ],
                            mode=selector.SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
            errors=errors,
            description_placeholders={
                **self._placeholders(),
                "bus": str(self.issue_data.get("bus")),
            },
        )


class SilenceLimitFlow(SiteRepairFlow):
    """Nothing heard from the site: after checking it, the user can change the limit."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Show the limit."""
        return await self.async_step_limit()

    async def async_step_limit(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Show the limit; a new one applies at once and the issue is checked again."""
        entry = self._loaded_entry()
        current = float(entry.options.get(CONF_SILENT_AFTER, DEFAULT_OPTIONS[CONF_SILENT_AFTER]))
        if user_input is not None:
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_SILENT_AFTER: user_input[CONF_SILENT_AFTER]}
            )
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="limit",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SILENT_AFTER, default=current): selector.NumberSelector(
                        selector.NumberSelectorConfig(
                            min=5,
                            max=10080,
                            step=1,
                            unit_of_measurement="min",
                            mode=selector.NumberSelectorMode.BOX,
                        )
                    )
                }
            ),
            description_placeholders=self._placeholders(),
        )


class ExerciseFlow(SiteRepairFlow):
    """The generator has not run for too long: start a test run, or be reminded later."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Offer a test run where the controller takes commands, else the reminder."""
        entry = self._loaded_entry()
        generator = str(self.issue_data.get("generator"))
        if "start" in entry.runtime_data.actions("generator", generator):
            return self.async_show_menu(
                step_id="init",
                menu_options=["start", "snooze"],
                description_placeholders=self._placeholders(),
            )
        return await self.async_step_snooze()

    async def async_step_start(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Start the generator now; the issue ends when it is seen running.

        The flow ends by saying so rather than by finishing (Home Assistant deletes an issue
        whose fix flow finishes), so the reminder stays until the run is seen.
        """
        entry = self._loaded_entry()
        generator = str(self.issue_data.get("generator"))
        try:
            await entry.runtime_data.async_command(Command("generator", generator, "start"))
        except HomeAssistantError as err:
            return self.async_abort(
                reason="start_failed", description_placeholders={"error": str(err)}
            )
        return self.async_abort(reason="start_sent", description_placeholders=self._placeholders())

    async def async_step_snooze(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Put the reminder off for a week."""
        entry = self._loaded_entry()
        if user_input is not None:
            coordinator = entry.runtime_data
            coordinator.async_snooze_exercise(coordinator.now() + EXERCISE_SNOOZE)
            return self.async_create_entry(data={})
        return self.async_show_form(step_id="snooze", description_placeholders=self._placeholders())


def describe_line(settings: object) -> str:
    """A line's settings as installers write them: `9600 8N1`, or the TCP framing."""
    if isinstance(settings, SerialSettings):
        parity = settings.parity[:1].upper()
        return f"{settings.baudrate} {settings.bytesize}{parity}{settings.stopbits}"
    return "RTU over TCP" if getattr(settings, "rtu_over_tcp", False) else "Modbus TCP"
