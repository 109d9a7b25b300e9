"""SOT Monitor: a SOT point's grid, generator, fuel, freezers and loads in Home Assistant."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components import mqtt as ha_mqtt
from homeassistant.components.mqtt import async_wait_for_mqtt_client
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .alarm_actions import async_setup_alarm_actions
from .cold_chain import async_setup_cold_chain, coldchain_store
from .const import (
    CONF_BASE_TOPIC,
    CONF_COUNTY_BRIDGE,
    DOMAIN,
    MQTT_DOMAIN,
    PLATFORMS,
    PUBLIC_QOS,
    STORAGE_VERSION,
)
from .coordinator import CARRIED, SiteCoordinator, SotConfigEntry, settings_snapshot
from .issues import SiteIssues, async_show_demo_clock
from .modbus_hub import ModbusHub
from .mqtt.topics import public_topic as summary_topic
from .mqtt.topics import settings_topic
from .public_topic import PublicTopic
from .site_settings import async_follow_connection, async_publish_settings

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Every site is a config entry; the domain has the cold-chain and alarm actions and the
    cold-chain downloads."""
    async_setup_cold_chain(hass)
    async_setup_alarm_actions(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SotConfigEntry) -> bool:
    """Start one SOT point: its model, its MQTT subscription, its Modbus devices."""
    if not await async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    coordinator = SiteCoordinator(hass, entry)
    coordinator.async_register_site_device()
    await coordinator.async_start()
    entry.runtime_data = coordinator
    if coordinator.clock is not None:
        entry.async_on_unload(
            async_show_demo_clock(hass, entry.entry_id, entry.title, coordinator.clock.speed)
        )
    modbus = ModbusHub(hass, entry, coordinator)
    await modbus.async_start()
    coordinator.transports.append(modbus)
    entry.async_on_unload(modbus.async_stop)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if not coordinator.site.settings.county_bridge:
        # At the county the site's own Home Assistant publishes its summary and settings.
        entry.async_on_unload(await PublicTopic(hass, coordinator).async_start())
        entry.async_on_unload(async_follow_connection(hass, entry, coordinator.base_topic))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SotConfigEntry) -> bool:
    """Stop the site and save what must survive.

    The site stops taking readings first: one taken while its entities go would raise alarms
    nobody hears, in a state that is then saved as if they had been raised.
    """
    coordinator = entry.runtime_data
    coordinator.listening = False
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await coordinator.async_stop()
        if entry.disabled_by is not None:
            # Disabled, not reloaded: nothing would withdraw its issues, and none can be fixed;
            # nor would anything stand behind its public summary (a display would go on
            # reading "open"). Enabled again, it publishes afresh.
            coordinator.issues.clear_fixable()
            if not coordinator.site.settings.county_bridge:
                await _clear_retained(hass, entry, coordinator.base_topic, settings=False)
    else:
        coordinator.listening = True
    return unloaded


async def _async_entry_updated(hass: HomeAssistant, entry: SotConfigEntry) -> None:
    """Apply a change of the entry: settings at once, anything else by one reload.

    The flows only save; this listener is the one place that decides, so a reconfigure, a
    rename or a new Modbus device restarts the site exactly once. Changed thresholds and
    timeouts take effect in the running site without a reload, so nothing shown goes blank.
    Other updates (MQTT discovery recording a node's topic, say) leave the site running.
    """
    coordinator = entry.runtime_data
    data, options, subentries = settings_snapshot(entry)
    started_data, started_options, started_subentries = coordinator.started_with
    # An entry from before the setting existed has no key: the same as off.
    bridge = bool(options.get(CONF_COUNTY_BRIDGE, False))
    bridge_changed = bridge != bool(started_options.get(CONF_COUNTY_BRIDGE, False))
    if bridge_changed or (data, subentries, entry.title) != (
        started_data,
        started_subentries,
        coordinator.site_name,
    ):
        # Through a county bridge or not decides what the site publishes: a restart.
        old_topic = started_data.get(CONF_BASE_TOPIC)
        if not bridge and old_topic != data.get(CONF_BASE_TOPIC):
            # Moved: the summary and settings left on the old topic would go on saying what
            # they said.
            await _clear_retained(hass, entry, old_topic)
        hass.config_entries.async_schedule_reload(entry.entry_id)
    elif options != started_options:
        coordinator.async_apply_options()
        if not bridge:
            await async_publish_settings(hass, entry, coordinator.base_topic)


async def async_remove_entry(hass: HomeAssistant, entry: SotConfigEntry) -> None:
    """The site is deleted: its saved state, cold-chain records and repair issues go with it,
    and so does the public summary it left retained (a display would go on reading "open").

    (Home Assistant's mqtt is `ha_mqtt` here, and the topic `summary_topic`: importing this
    package's own `mqtt` and `public_topic` modules binds those names in this module.)"""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}").async_remove()
    await coldchain_store(hass, entry.entry_id).async_remove()
    SiteIssues(hass, entry.entry_id).clear_all()
    hass.data.get(CARRIED, {}).pop(entry.entry_id, None)
    if not entry.options.get(CONF_COUNTY_BRIDGE):
        await _clear_retained(hass, entry, entry.data.get(CONF_BASE_TOPIC))


async def _clear_retained(
    hass: HomeAssistant, entry: SotConfigEntry, base: str | None, *, settings: bool = True
) -> None:
    """Take the site's retained public summary and (unless `settings` is False) its settings
    under `base` off the broker, if they can be."""
    if not base:
        return
    topics = (summary_topic(base), settings_topic(base)) if settings else (summary_topic(base),)
    if not hass.config_entries.async_loaded_entries(MQTT_DOMAIN) or not ha_mqtt.is_connected(hass):
        for topic in topics:
            _LOGGER.warning("%s: MQTT is not connected; %s stays on the broker", entry.title, topic)
        return
    for topic in topics:
        try:
            await ha_mqtt.async_publish(hass, topic, "", qos=PUBLIC_QOS, retain=True)
        except HomeAssistantError as err:
            _LOGGER.warning("%s: %s stays on the broker: %s", entry.title, topic, err)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: SotConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user remove a component that is gone for good, but not a live one.

    Only while the site runs: its saved state still holds the component otherwise, and would
    bring the device back at the next start.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return False
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
