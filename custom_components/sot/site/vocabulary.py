"""The shared vocabulary: component kinds, their quantities, units and physical ranges.

Every transport (MQTT, Modbus), the simulator and the ESPHome node files speak these words.
A reading outside a quantity's physical range is rejected, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    """The kinds of component a SOT point has."""

    GRID = "grid"
    GENERATOR = "generator"
    TANK = "tank"
    FREEZER = "freezer"
    LOAD = "load"
    # A product the fuel station sells (diesel, petrol 95, HVO, AdBlue): its own storage tank,
    # dispenser pump and availability, separate from the generator's day tank (`tank`).
    STATION = "station"
    # A router, card terminal or mobile modem: online or not, and its mobile signal.
    NETWORK = "network"
    # A room people use, the warm room above all: its air temperature.
    ROOM = "room"


class ValueType(StrEnum):
    """How a quantity's value is written."""

    NUMBER = "number"
    BOOL = "bool"
    ENUM = "enum"


@dataclass(frozen=True, kw_only=True, slots=True)
class Quantity:
    """One measurable quantity of a component kind."""

    name: str
    type: ValueType
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[str, ...] = ()
    # Values a sensor reports when it has no reading (DS18B20 power-on and disconnected values).
    no_reading: tuple[float, ...] = ()


def _number(
    name: str,
    unit: str | None,
    minimum: float,
    maximum: float,
    no_reading: tuple[float, ...] = (),
) -> Quantity:
    return Quantity(
        name=name,
        type=ValueType.NUMBER,
        unit=unit,
        minimum=minimum,
        maximum=maximum,
        no_reading=no_reading,
    )


def _bool(name: str) -> Quantity:
    return Quantity(name=name, type=ValueType.BOOL)


def _enum(name: str, *options: str) -> Quantity:
    return Quantity(name=name, type=ValueType.ENUM, options=options)


GENERATOR_STATES: Final = (
    "stopped",
    "starting",
    "warming_up",
    "running",
    "cooling_down",
    "stopping",
    "fault",
)
GENERATOR_MODES: Final = ("off", "auto", "manual", "test")
GENERATOR_ALARMS: Final = ("ok", "warning", "shutdown", "trip")

# Probe values that mean "no reading" for a DS18B20 (power-on, library's "disconnected").
DS18B20_NO_READING: Final = (85.0, -127.0)

QUANTITIES: Final[dict[Kind, dict[str, Quantity]]] = {
    Kind.GRID: {
        q.name: q
        for q in (
            _bool("present"),
            _number("voltage", "V", 0, 300),
            _number("frequency", "Hz", 0, 70),
            _number("power", "kW", -2000, 2000),
            _number("energy", "kWh", 0, 1e9),
        )
    },
    Kind.GENERATOR: {
        q.name: q
        for q in (
            _enum("state", *GENERATOR_STATES),
            _enum("mode", *GENERATOR_MODES),
            _enum("alarm", *GENERATOR_ALARMS),
            _bool("on_load"),
            _number("power", "kW", -50, 2000),
            _number("load", "%", 0, 200),
            _number("voltage", "V", 0, 300),
            _number("frequency", "Hz", 0, 70),
            _number("current", "A", 0, 5000),
            _number("oil_pressure", "kPa", 0, 1500),
            _number("coolant_temperature", "°C", -50, 150),
            _number("battery_voltage", "V", 0, 40),
            _number("speed", "rpm", 0, 5000),
            _number("fuel_rate", "L/h", 0, 500),
            _number("run_hours", "h", 0, 1e6),
            _number("energy", "kWh", 0, 1e9),
            _number("starts", None, 0, 1e7),
        )
    },
    Kind.TANK: {
        q.name: q
        for q in (
            _number("level", "%", 0, 100),
            _number("volume", "L", 0, 1e6),
        )
    },
    Kind.FREEZER: {
        q.name: q
        for q in (
            _number("temperature", "°C", -60, 40, DS18B20_NO_READING),
            _bool("door"),
        )
    },
    Kind.LOAD: {
        q.name: q
        for q in (
            _bool("state"),
            _number("power", "kW", -1, 500),
        )
    },
    Kind.STATION: {
        q.name: q
        for q in (
            _number("volume", "L", 0, 1e6),
            _number("level", "%", 0, 100),
            _number("ullage", "L", 0, 1e6),
            _bool("pump"),
            _bool("available"),
        )
    },
    Kind.NETWORK: {
        q.name: q
        for q in (
            _bool("online"),
            _number("signal", "dBm", -150, 0),
        )
    },
    Kind.ROOM: {q.name: q for q in (_number("temperature", "°C", -50, 60),)},
}

# What a SOT point offers people: a component's meta says which it provides
# (`{"provides": ["card_payment"]}`); freezers, station products and rooms count by their kind.
SERVICES: Final = ("food", "fuel", "card_payment", "cash", "warm_room", "communications")

Value = float | bool | str


def quantity(kind: str, name: str) -> Quantity | None:
    """Return the quantity `name` of `kind`, or None when the vocabulary has no such word."""
    try:
        return QUANTITIES[Kind(kind)].get(name)
    except ValueError:
        return None
