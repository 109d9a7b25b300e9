"""SOT Monitor: a SOT point's grid, generator, fuel, freezers and loads in Home Assistant."""

from __future__ import annotations

import logging

from homeassistant.components.mqtt import async_wait_for_mqtt_client
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, PLATFORMS
from .coordinator import SiteCoordinator, SotConfigEntry, settings_snapshot
from .modbus_hub import ModbusHub

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Nothing to set up for the domain: every site is a config entry."""
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SotConfigEntry) -> bool:
    """Start one SOT point: its model, its MQTT subscription, its Modbus devices."""
    if not await async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    coordinator = SiteCoordinator(hass, entry)
    await coordinator.async_start()
    entry.runtime_data = coordinator
    modbus = ModbusHub(hass, entry, coordinator)
    await modbus.async_start()
    coordinator.transports.append(modbus)
    entry.async_on_unload(modbus.async_stop)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SotConfigEntry) -> bool:
    """Stop the site and save what must survive."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def _async_options_updated(hass: HomeAssistant, entry: SotConfigEntry) -> None:
    """New settings or Modbus devices: start the site again with them.

    Other updates of the entry (MQTT discovery recording a node's topic, say) leave it running.
    """
    if entry.runtime_data.started_with != settings_snapshot(entry):
        await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: SotConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user remove a component that is gone for good, but not a live one."""
    coordinator = entry.runtime_data
    for domain, identifier in device.identifiers:
        if domain != DOMAIN:
            continue
        if identifier == coordinator.site_id:
            return False  # the site itself goes with its config entry
        for component in list(coordinator.site.components.values()):
            key = f"{coordinator.site_id}_{component.kind.value}_{component.id}"
            if key == identifier:
                if coordinator.site.available(component, coordinator.now()):
                    return False
                coordinator.async_forget(component.kind.value, component.id)
    return True
