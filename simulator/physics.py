"""Physical models: diesel fuel curves (industry charts) and freezer heat balance (Newton)."""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from typing import Final

# Diesel fuel use in L/h by rated kW (rows) at 25/50/75/100 % load (industry charts).
FUEL_TABLE: Final[dict[float, tuple[float, float, float, float]]] = {
    20: (2.3, 3.4, 4.9, 6.1),
    40: (6.1, 8.7, 12.1, 15.1),
    60: (6.8, 11.0, 14.4, 18.2),
    100: (9.8, 15.5, 22.0, 28.0),
}
_LOAD_POINTS: Final = (0.25, 0.5, 0.75, 1.0)


def _row_rate(row: tuple[float, float, float, float], fraction: float) -> float:
    """Fuel rate of one table row at a load fraction, extrapolated linearly at both ends."""
    if fraction <= _LOAD_POINTS[0]:
        # Below 25 % the Willans line continues with the 25–50 % slope down to idle.
        slope = (row[1] - row[0]) / 0.25
        return max(row[0] - slope * (_LOAD_POINTS[0] - fraction), row[0] * 0.3)
    if fraction >= 1.0:
        slope = (row[3] - row[2]) / 0.25
        return row[3] + slope * (fraction - 1.0)
    i = bisect_left(_LOAD_POINTS, fraction)
    lo, hi = _LOAD_POINTS[i - 1], _LOAD_POINTS[i]
    return row[i - 1] + (row[i] - row[i - 1]) * (fraction - lo) / (hi - lo)


def fuel_rate(rating_kw: float, power_kw: float) -> float:
    """Diesel burnt, L/h, by a set of `rating_kw` delivering `power_kw` while running."""
    fraction = max(power_kw, 0.0) / rating_kw
    ratings = sorted(FUEL_TABLE)
    if rating_kw <= ratings[0]:
        return _row_rate(FUEL_TABLE[ratings[0]], fraction) * rating_kw / ratings[0]
    if rating_kw >= ratings[-1]:
        return _row_rate(FUEL_TABLE[ratings[-1]], fraction) * rating_kw / ratings[-1]
    i = bisect_left(ratings, rating_kw)
    lo, hi = ratings[i - 1], ratings[i]
    low_rate = _row_rate(FUEL_TABLE[lo], fraction)
    high_rate = _row_rate(FUEL_TABLE[hi], fraction)
    return low_rate + (high_rate - low_rate) * (rating_kw - lo) / (hi - lo)


# Freezer time constants, hours, from hold-over times (full ≈ 48 h, half ≈ 24 h) and an empty
# upright warming −20 → 0 °C in 3.5 h.
TAU_FULL_H: Final = 35.0
TAU_HALF_H: Final = 13.5
TAU_EMPTY_H: Final = 5.0
# Melting ice holds the air near 0 °C for a while: inside this band warming is this much slower.
PLATEAU_LOW_C: Final = -1.5
PLATEAU_HIGH_C: Final = 0.5
PLATEAU_SLOWDOWN: Final = 4.0
# Share of time a commercial cabinet's compressor runs at its setpoint (glass-door 50–70 %,
# household ≈ 40 %); the rest of its capacity pulls a warmed cabinet back down.
COMPRESSOR_DUTY: Final = 0.45
# An open door swaps cold air for room air: the cabinet warms this much faster.
DOOR_OPEN_FACTOR: Final = 6.0


def newton_temperature(start_c: float, room_c: float, tau_h: float, hours: float) -> float:
    """Closed-form Newton warming, for checking the stepped model and for planning."""
    return room_c + (start_c - room_c) * math.exp(-hours / tau_h)


@dataclass(kw_only=True)
class Freezer:
    """One freezer cabinet: air temperature, door, thermostat-driven compressor."""

    id: str
    tau_h: float = TAU_FULL_H
    room_c: float = 19.0
    setpoint_c: float = -20.0
    hysteresis_c: float = 1.5
    # Compressor pull-down, °C/h; None sizes it so the duty at the setpoint is COMPRESSOR_DUTY.
    cooling_c_per_h: float | None = None
    compressor_kw: float = 0.7
    temperature_c: float = -20.0
    door_open: bool = False
    powered: bool = True
    compressor_on: bool = False

    @property
    def cooling_rate(self) -> float:
        """Pull-down of the running compressor, °C/h."""
        if self.cooling_c_per_h is not None:
            return self.cooling_c_per_h
        leak_at_setpoint = (self.room_c - self.setpoint_c) / self.tau_h
        return leak_at_setpoint / COMPRESSOR_DUTY

    @property
    def power_kw(self) -> float:
        """Electric power drawn right now."""
        return self.compressor_kw if self.powered and self.compressor_on else 0.0

    def step(self, seconds: float) -> None:
        """Advance the cabinet's air temperature by `seconds` of simulated time."""
        if self.powered:
            if self.temperature_c > self.setpoint_c + self.hysteresis_c:
                self.compressor_on = True
            elif self.temperature_c < self.setpoint_c - self.hysteresis_c:
                self.compressor_on = False
        else:
            self.compressor_on = False
        tau = self.tau_h / (DOOR_OPEN_FACTOR if self.door_open else 1.0)
        if PLATEAU_LOW_C <= self.temperature_c <= PLATEAU_HIGH_C and not self.compressor_on:
            tau *= PLATEAU_SLOWDOWN
        hours = seconds / 3600.0
        # Exact solution over the step keeps long steps stable (no overshoot past the room).
        self.temperature_c = newton_temperature(self.temperature_c, self.room_c, tau, hours)
        if self.compressor_on:
            self.temperature_c -= self.cooling_rate * hours
