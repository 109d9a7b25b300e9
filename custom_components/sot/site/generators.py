"""Each generator's run: what the model integrates for it, and what it last said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .components import iso, optional_time, stored_total


@dataclass(slots=True)
class GeneratorRun:
    """The model's own figures for one generator, and the flags that keep alarms from repeating.

    `seconds`, `kwh` and `fuel` are integrated from the running state, the power and the fuel
    rate; they are shown only for counters the controller does not report itself.
    """

    seconds: float = 0.0
    kwh: float = 0.0
    fuel: float = 0.0
    was_running: bool | None = None
    was_fault: bool = False
    smoothed_rate: float | None = None
    # A rise of the rate above its smoothing: its first and its last reading's time, and its
    # lowest rate. Not saved: a rise is minutes long, and one across a restart is not known to
    # have held.
    rise_since: datetime | None = None
    rise_seen: datetime | None = None
    rise_floor: float | None = None
    watched_since: datetime | None = None
    last_run: datetime | None = None
    # The measurement time its figures are integrated to. Not saved: after a restart the count
    # resumes from the first new measurement, and the gap is not guessed.
    integrated_to: datetime | None = None

    def forget_rate(self) -> None:
        """Start the rate's smoothing afresh (the set took load, or a new run began)."""
        self.smoothed_rate = None
        self.forget_rise()

    def forget_rise(self) -> None:
        """No rise is going on (or none is known to have held: a gap in the readings)."""
        self.rise_since = self.rise_seen = self.rise_floor = None

    def follow_rise(self, rate: float, time: datetime, high: bool) -> None:
        """A reading of the rate at `time`, high above its smoothing or not."""
        if not high:
            self.forget_rise()
        elif self.rise_since is None or self.rise_floor is None:
            self.rise_since, self.rise_seen, self.rise_floor = time, time, rate
        else:
            self.rise_seen, self.rise_floor = time, min(self.rise_floor, rate)

    def step_rate(self, hold: float) -> float | None:
        """The lowest rate of a rise read high in readings `hold` seconds apart; else None."""
        since, seen = self.rise_since, self.rise_seen
        if since is None or seen is None or (seen - since).total_seconds() < hold:
            return None
        return self.rise_floor

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "seconds": self.seconds,
            "kwh": self.kwh,
            "fuel": self.fuel,
            "was_running": self.was_running,
            "was_fault": self.was_fault,
            "smoothed_rate": self.smoothed_rate,
            "watched_since": iso(self.watched_since),
            "last_run": iso(self.last_run),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> GeneratorRun:
        """Read the storage form back."""
        was_running = data.get("was_running")
        rate = data.get("smoothed_rate")
        return cls(
            seconds=stored_total(data.get("seconds", 0.0)),
            kwh=stored_total(data.get("kwh", 0.0)),
            fuel=stored_total(data.get("fuel", 0.0)),
            was_running=None if was_running is None else bool(was_running),
            was_fault=bool(data.get("was_fault", False)),
            smoothed_rate=None if rate is None else float(rate),
            watched_since=optional_time(data.get("watched_since")),
            last_run=optional_time(data.get("last_run")),
        )
