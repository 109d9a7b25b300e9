"""Grid outages: the present one and the log of those that ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from .components import optional_time, parse_time

OUTAGE_LOG_LENGTH: Final = 100


@dataclass(slots=True)
class Outage:
    """One grid outage: when, how long the generators ran, how much fuel they used."""

    start: datetime
    end: datetime | None = None
    generator_seconds: float = 0.0
    # Litres: the generators' rates integrated while the outage lasts; once it has ended, that
    # times the level's correction of the rates when the grid came back (what the tanks lost).
    fuel_used: float = 0.0
    # Seconds a generator ran with no rate known (it reports neither a fuel rate nor a load):
    # its burn is the level's own fall per hour run (beside generators with a rate, less what
    # they burned), counted in `fuel_used` when it ends.
    unrated_seconds: float = 0.0
    # Of `fuel_used`, the litres burned beside a generator with no rate: the level's fall less
    # them, which that generator's burn is taken from, holds their rates' error as well, so
    # the level's correction of the rates is not applied to them.
    fuel_beside_unrated: float = 0.0
    # Fuel delivered during the outage: (when the refill began, litres).
    refills: list[tuple[datetime, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "generator_seconds": round(self.generator_seconds, 1),
            "fuel_used": round(self.fuel_used, 3),
            "unrated_seconds": round(self.unrated_seconds, 1),
            "fuel_beside_unrated": round(self.fuel_beside_unrated, 3),
            "refills": [[time.isoformat(), litres] for time, litres in self.refills],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outage:
        """Read the storage form back."""
        return cls(
            start=parse_time(data["start"]),
            end=optional_time(data.get("end")),
            generator_seconds=float(data.get("generator_seconds", 0.0)),
            fuel_used=float(data.get("fuel_used", 0.0)),
            unrated_seconds=float(data.get("unrated_seconds", 0.0)),
            fuel_beside_unrated=float(data.get("fuel_beside_unrated", 0.0)),
            refills=[(parse_time(t), float(litres)) for t, litres in data.get("refills") or ()],
        )


class Outages:
    """The present outage, if any, and the last outages that ended."""

    def __init__(self) -> None:
        """No outage known."""
        self.current: Outage | None = None
        self.log: list[Outage] = []

    def duration(self, now: datetime) -> timedelta | None:
        """How long the present outage has lasted; None when there is none."""
        return None if self.current is None else now - self.current.start

    def begin(self, start: datetime) -> Outage:
        """The grid has gone."""
        self.current = Outage(start=start)
        return self.current

    def refilled(self, time: datetime, litres: float) -> None:
        """Fuel was delivered: log it with the present outage, if any."""
        if self.current is not None:
            self.current.refills.append((time, litres))

    def end(self, end: datetime, correction: float = 1.0, level_rate: float = 0.0) -> Outage | None:
        """The grid is back: log the outage that ended, its fuel by the rates times the
        level's `correction` of them (but for their litres beside a generator without a
        rate), and for the time run without a rate, what a generator without one burns per
        hour run (`level_rate`, L/h)."""
        outage, self.current = self.current, None
        if outage is not None:
            outage.end = end
            beside = outage.fuel_beside_unrated
            outage.fuel_used = (outage.fuel_used - beside) * correction + beside
            outage.fuel_used += outage.unrated_seconds / 3600 * level_rate
            self.log = [*self.log, outage][-OUTAGE_LOG_LENGTH:]
        return outage

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "outage": self.current.as_dict() if self.current else None,
            "outage_log": [o.as_dict() for o in self.log],
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Read the storage form back."""
        self.current = Outage.from_dict(data["outage"]) if data.get("outage") else None
        self.log = [Outage.from_dict(o) for o in data.get("outage_log") or ()]
