"""The demo's clock: a site whose time runs faster than the wall clock, for a storm at speed.

`scripts/demo` plays a twelve-hour storm in twelve minutes. A site that took the wall clock's
time would call six storm-hours six minutes: an outage "6 min" long, freezers warming sixty
times faster than they do, fuel burnt by the minute. A site with a demo clock keeps the storm's
time instead: from `since` on, its clock runs `speed` times as fast as the wall clock, so its
durations, countdowns and rates read in storm hours.

Only the demo's own configuration (simulator/demo_config.py) writes one into a site's config
entry; no flow offers it, and a site without one (every real site) reads the wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .model import Settings

# The key of a config entry's data that holds the clock.
CONF_DEMO_CLOCK: Final = "demo_clock"


@dataclass(frozen=True, slots=True)
class DemoClock:
    """From `since` (wall-clock time) on, the site's time runs `speed` times as fast."""

    speed: float
    since: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> DemoClock | None:
        """The clock a config entry's data holds; None without one.

        Raises ValueError for a clock that cannot be read (a speed that is not a positive
        number, a `since` without its offset).
        """
        raw = data.get(CONF_DEMO_CLOCK)
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise ValueError(f"demo clock {raw!r} is not a mapping")
        speed = raw.get("speed")
        if isinstance(speed, bool) or not isinstance(speed, int | float):
            raise ValueError(f"demo clock speed {speed!r} is not a number")
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"demo clock speed {speed!r} is not above 0")
        since = datetime.fromisoformat(str(raw.get("since")))
        if since.utcoffset() is None:
            raise ValueError(f"demo clock since {since.isoformat()} has no offset")
        return cls(float(speed), since.astimezone(UTC))

    def as_data(self) -> dict[str, Any]:
        """The clock as a config entry's data holds it."""
        return {"speed": self.speed, "since": self.since.isoformat()}

    def site_time(self, wall: datetime) -> datetime:
        """The site's time when the wall clock reads `wall`."""
        return self.since + (wall - self.since) * self.speed

    def site_span(self, wall: timedelta) -> timedelta:
        """A span of wall-clock time in the site's time."""
        return wall * self.speed

    def wall_span(self, site: timedelta) -> timedelta:
        """A span of the site's time in wall-clock time."""
        return site / self.speed

    def settings(self, settings: Settings) -> Settings:
        """The site's settings with the waits that belong to the wall clock made site time.

        How long a node may stay quiet before its values count as stale, or the site as
        silent, follows how often the nodes publish and the network delivers, which the demo
        does not speed up; the alarm delay and the fuel and readiness thresholds are about the
        site itself and stay in its time.
        """
        return replace(
            settings,
            stale_timeout=self.site_span(settings.stale_timeout),
            silent_after=self.site_span(settings.silent_after),
        )
