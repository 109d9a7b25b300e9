"""Fuel: what the tanks hold above their reserve, what the generators burn, hours left."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .components import Component
from .events import EventType, SiteEvent
from .fuel_curve import fuel_rate
from .vocabulary import Kind

if TYPE_CHECKING:
    from .model import Site

FUEL_LOW_CLEAR_FACTOR: Final = 1.2
# A rise in usable fuel beyond this (on top of the factor) is a refill, not sensor noise.
REFILL_LITRES: Final = 20.0


class Fuel:
    """The site's fuel: tanks, burn rates, runtime and the fuel-low alarm."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s components."""
        self.site = site
        self.low = False
        self.low_litres: float | None = None

    def _tank_setting(self, tank: Component, key: str, default: float) -> float:
        return tank.settings.get(key, default)

    def capacity(self, tank: Component) -> float:
        """A tank's capacity, L: its meta, else the site setting."""
        return self._tank_setting(tank, "capacity", self.site.settings.tank_capacity)

    def tank_litres(self, tank: Component, now: datetime) -> float | None:
        """Fuel in the tank, L: its volume, else its level times its capacity."""
        volume = self.site.number(tank, "volume", now)
        if volume is not None:
            return volume
        level = self.site.number(tank, "level", now)
        return None if level is None else level / 100 * self.capacity(tank)

    def usable(self, now: datetime) -> float | None:
        """Litres above the reserve in all tanks; None when any tank's level is not live."""
        tanks = self.site.of_kind(Kind.TANK)
        if not tanks:
            return None
        usable = 0.0
        for tank in tanks:
            litres = self.tank_litres(tank, now)
            if litres is None:
                return None
            reserve = self._tank_setting(tank, "reserve", self.site.settings.tank_reserve)
            usable += max(0.0, litres - reserve / 100 * self.capacity(tank))
        return usable

    def level(self, now: datetime) -> float | None:
        """All tanks' fuel as a share of their capacity, %; None when any is not live."""
        tanks = self.site.of_kind(Kind.TANK)
        litres = [self.tank_litres(t, now) for t in tanks]
        if not tanks or any(v is None for v in litres):
            return None
        return sum(v or 0.0 for v in litres) / sum(self.capacity(t) for t in tanks) * 100

    def rate(self, generator: Component, now: datetime) -> float | None:
        """A generator's fuel use now, L/h: measured, else from the curve; None unknown."""
        running = self.site.power.running(generator, now)
        if not running:
            return 0.0 if running is False else None
        measured = self.site.number(generator, "fuel_rate", now)
        if measured is not None:
            return measured
        rating = self.site.power.rating(generator)
        load = self.site.number(generator, "load", now)
        if load is None:
            power = self.site.number(generator, "power", now)
            load = None if power is None else power / rating * 100
        return None if load is None else fuel_rate(rating, load / 100)

    def rate_now(self, now: datetime) -> float | None:
        """All generators' fuel use now, L/h; None when one that may run is unknown."""
        total = 0.0
        for generator in self.site.of_kind(Kind.GENERATOR):
            rate = self.rate(generator, now)
            if rate is None:
                return None
            total += rate
        return total

    def runtime(self, now: datetime) -> float | None:
        """Hours until the tanks reach their reserve at the smoothed present fuel use.

        None when no generator is running or any input is not live.
        """
        usable = self.usable(now)
        rate = self.rate_now(now)
        if usable is None or not rate:
            return None
        smoothed = 0.0
        for generator in self.site.of_kind(Kind.GENERATOR):
            if not self.rate(generator, now):
                continue
            run = self.site.runs.get(generator.id)
            if run is None or run.smoothed_rate is None:
                return None
            smoothed += run.smoothed_rate
        return usable / smoothed if smoothed else None

    def figures(self, now: datetime) -> dict[str, Any]:
        """What alarms about fuel and power say of it."""
        hours = self.runtime(now)
        level = self.level(now)
        return {
            "fuel_hours": None if hours is None else round(hours, 1),
            "fuel_level": None if level is None else round(level, 1),
        }

    def evaluate(self, now: datetime, events: list[SiteEvent]) -> None:
        """Raise fuel-low once when it starts; clear it only on evidence."""
        hours = self.runtime(now)
        usable = self.usable(now)
        limit = self.site.settings.fuel_low_hours
        low_now = (hours is not None and hours < limit) or (usable is not None and usable <= 0)
        if low_now and not self.low:
            self.low, self.low_litres = True, usable
            tanks = self.site.of_kind(Kind.TANK)
            events.append(
                SiteEvent(
                    EventType.FUEL_LOW,
                    "tank",
                    tanks[0].id if tanks else "main",
                    now,
                    self.figures(now),
                )
            )
            return
        # Cleared only on evidence (a known runtime well above the limit, or a refill), never
        # because the runtime is momentarily unknown (a missed poll, the engine restarting).
        refilled = (
            usable is not None
            and self.low_litres is not None
            and usable > self.low_litres * FUEL_LOW_CLEAR_FACTOR + REFILL_LITRES
        )
        if (
            self.low
            and not low_now
            and (refilled or (hours is not None and hours > limit * FUEL_LOW_CLEAR_FACTOR))
        ):
            self.low, self.low_litres = False, None

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {"fuel_low": self.low, "fuel_low_litres": self.low_litres}

    def restore(self, data: dict[str, Any]) -> None:
        """Read the storage form back."""
        self.low = bool(data.get("fuel_low", False))
        litres = data.get("fuel_low_litres")
        self.low_litres = None if litres is None else float(litres)
