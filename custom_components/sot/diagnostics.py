"""Diagnostics: the site's state, its alarms, what was refused and why, and the Modbus devices'
health."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import CONF_BASE_TOPIC
from .coordinator import SotConfigEntry

# Hosts and serial ports say where a site's equipment is (a by-id serial port also holds the
# adapter's serial number); topics are kept (they are needed to debug) but not the broker
# credentials, which belong to the MQTT entry anyway. "bus" is a bus's address, should a
# transport ever report one.
TO_REDACT = {"host", "serial_port", "bus", "password", "username"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SotConfigEntry
) -> dict[str, Any]:
    """What a maintainer needs to see why a site shows what it shows."""
    coordinator = entry.runtime_data
    site, now = coordinator.site, coordinator.now()
    components = {
        f"{component.kind.value}/{component.id}": {
            "name": component.name,
            "node": component.node,
            "node_online": site.node_online(component),
            "available": site.available(component, now),
            "settings": component.settings,
            "values": {
                quantity: {
                    "value": sample.value,
                    "age_s": round((now - sample.time).total_seconds(), 1),
                }
                for quantity, sample in component.values.items()
            },
        }
        for component in site.components.values()
    }
    return {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
            "subentries": [
                async_redact_data(dict(subentry.data), TO_REDACT)
                for subentry in entry.subentries.values()
            ],
        },
        "base_topic": entry.data[CONF_BASE_TOPIC],
        # At the county: when the site's own settings last came over the bridge (None: never).
        "site_settings_at": (
            None
            if coordinator.site_settings_at is None
            else coordinator.site_settings_at.isoformat()
        ),
        "messages": coordinator.messages,
        "rejected": dict(coordinator.rejected),
        "recent_rejections": list(coordinator.recent_rejections),
        "nodes": dict(site.nodes),
        "components": components,
        "derived": {
            "grid_present": site.power.grid_present(now),
            "power_source": site.power.source(now),
            "fuel_runtime_h": site.fuel.runtime(now),
            "usable_fuel_l": site.fuel.usable(now),
        },
        "state": {k: v for k, v in site.snapshot().items() if k != "components"},
        # The latest alarm about each thing and whether it was acknowledged: what the outage
        # alerts take their repeats up from after a restart (alarm_ledger.py).
        "alarms": coordinator.alarms.snapshot(dt_util.utcnow()),
        "modbus": async_redact_data(coordinator.transport_diagnostics(), TO_REDACT),
    }
