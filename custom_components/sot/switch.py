"""Switches for the site's loads: the relay's echoed state, commands out to its transport."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchDeviceClass, SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import SotConfigEntry
from .entity import SotEntity, SotEntityDescription, async_setup_discovery
from .site.readings import Command
from .site.vocabulary import Kind

# Loads switched together are commanded together: each command waits for its own relay's echo
# (up to its expiry), and a relay that does not answer must not hold back the others while a
# generator takes the site. A Modbus bus still takes one request at a time.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SotSwitchDescription(SotEntityDescription, SwitchEntityDescription):
    """A switch row."""


SWITCHES: tuple[SotSwitchDescription, ...] = (
    SotSwitchDescription(
        key="state",
        kind=Kind.LOAD,
        name=None,
        translation_key="load",
        device_class=SwitchDeviceClass.OUTLET,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SotConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch for every load that reports its relay state."""
    async_setup_discovery(entry, async_add_entities, SWITCHES, SotLoadSwitch)


class SotLoadSwitch(SotEntity, SwitchEntity):
    """A load's relay. Its state is what the relay echoes, never what was asked."""

    entity_description: SotSwitchDescription

    @property
    def is_on(self) -> bool | None:
        """The relay's last echoed state (None while unknown)."""
        component = self.component
        if component is None:
            return None
        value = self.coordinator.site.fresh(component, "state", self.coordinator.now())
        return value if isinstance(value, bool) else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The last command sent to the relay over MQTT: pending, confirmed or expired."""
        sent = self.coordinator.sent_commands.get((Kind.LOAD, self.component_id or ""))
        if sent is None:
            return None
        return {
            "last_command": sent.status_at(dt_util.utcnow()).value,
            "last_command_state": "on" if sent.state else "off",
            "last_command_sent": sent.sent,
            "last_command_expires": sent.expires,
        }

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the load on."""
        await self._command("turn_on")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Shed the load."""
        await self._command("turn_off")

    async def _command(self, action: str) -> None:
        """Send `action`, showing it pending, then confirmed or expired."""
        try:
            await self.coordinator.async_command(
                Command("load", self.component_id or "", action), self.async_write_ha_state
            )
        finally:
            self.async_write_ha_state()
