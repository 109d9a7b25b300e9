"""Constants of the SOT Monitor integration."""

from __future__ import annotations

from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "sot"
MQTT_DOMAIN: Final = "mqtt"

CONF_SITE_ID: Final = "site_id"
CONF_BASE_TOPIC: Final = "base_topic"

CONF_TANK_CAPACITY: Final = "tank_capacity"
CONF_TANK_RESERVE: Final = "tank_reserve"
CONF_GENERATOR_RATING: Final = "generator_rating"
CONF_FREEZER_WARNING: Final = "freezer_warning"
CONF_FREEZER_CRITICAL: Final = "freezer_critical"
CONF_ALARM_DELAY: Final = "alarm_delay"
CONF_STALE_TIMEOUT: Final = "stale_timeout"
CONF_FUEL_LOW_HOURS: Final = "fuel_low_hours"
CONF_ROOM_TEMPERATURE: Final = "room_temperature"
CONF_SILENT_AFTER: Final = "silent_after"
CONF_GRID_VOLTAGE: Final = "grid_voltage"
CONF_READINESS_FUEL_HOURS: Final = "readiness_fuel_hours"
CONF_SERVICE_DUE_HOURS: Final = "service_due_hours"
# The site's data comes through a county bridge: its notification topic says whether it is up.
CONF_COUNTY_BRIDGE: Final = "county_bridge"
# A date (`2026-12-01`), absent when not set: not in DEFAULT_OPTIONS.
CONF_SERVICE_DUE_DATE: Final = "service_due_date"

DEFAULT_OPTIONS: Final = {
    CONF_TANK_CAPACITY: 1000.0,
    CONF_TANK_RESERVE: 10.0,
    CONF_GENERATOR_RATING: 56.0,
    CONF_FREEZER_WARNING: -15.0,
    CONF_FREEZER_CRITICAL: -12.0,
    CONF_ALARM_DELAY: 10,
    CONF_STALE_TIMEOUT: 300,
    CONF_FUEL_LOW_HOURS: 12.0,
    CONF_ROOM_TEMPERATURE: 20.0,
    CONF_SILENT_AFTER: 60,
    # 0.8 of 230 V, inside EN 50160's 207-253 V band: below it the grid counts as gone.
    CONF_GRID_VOLTAGE: 184.0,
    CONF_READINESS_FUEL_HOURS: 72.0,
    CONF_SERVICE_DUE_HOURS: 0.0,
    CONF_COUNTY_BRIDGE: False,
}

# Each number setting's range, step and unit: the options form, and the settings a site
# publishes for the county (site_settings.py), are held to them.
OPTION_RANGES: Final[dict[str, tuple[float, float, float, str]]] = {
    CONF_TANK_CAPACITY: (1, 100000, 1, "L"),
    CONF_TANK_RESERVE: (0, 90, 1, "%"),
    CONF_GENERATOR_RATING: (1, 5000, 0.5, "kW"),
    # Below 0 °C, as for a freezer's own meta: a limit above freezing would silence the alarms.
    CONF_FREEZER_WARNING: (-40, -0.5, 0.5, "°C"),
    CONF_FREEZER_CRITICAL: (-40, -0.5, 0.5, "°C"),
    CONF_ALARM_DELAY: (0, 240, 1, "min"),
    CONF_ROOM_TEMPERATURE: (-30, 40, 0.5, "°C"),
    CONF_STALE_TIMEOUT: (30, 86400, 1, "s"),
    CONF_FUEL_LOW_HOURS: (0, 240, 0.5, "h"),
    CONF_SILENT_AFTER: (5, 10080, 1, "min"),
    CONF_GRID_VOLTAGE: (100, 230, 1, "V"),
    CONF_READINESS_FUEL_HOURS: (0, 720, 1, "h"),
    CONF_SERVICE_DUE_HOURS: (0, 100000, 1, "h"),
}

SUBENTRY_MODBUS: Final = "modbus_device"

PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TEXT,
]

# How often staleness, alarm delays and countdowns are re-evaluated without new data.
TICK_SECONDS: Final = 15
STORAGE_VERSION: Final = 1
# Fired on the bus with every alarm a site raises (the logbook describes it).
EVENT_ALARM: Final = "sot_alarm"
# Commands to loads: at-least-once delivery, never retained (a stale OFF must not come back).
COMMAND_QOS: Final = 1
# The public summary (`<base>/public`): retained for displays that connect later, at least once.
PUBLIC_QOS: Final = 1
