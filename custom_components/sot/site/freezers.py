"""Freezers: food-safety status after the alarm delay, and how fast each one warms."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from .components import Component, iso, optional_time, parse_time
from .events import EventType, SiteEvent

if TYPE_CHECKING:
    from .model import Site

FREEZER_TREND_WINDOW: Final = timedelta(minutes=60)
FREEZER_TREND_MIN_SPAN: Final = timedelta(minutes=10)
# Slower warming than this (°C/h) is noise, not a trend worth a countdown.
FREEZER_MIN_WARMING: Final = 0.05
FREEZER_CLEAR_MARGIN: Final = 0.5


class FreezerStatus(StrEnum):
    """A freezer's food-safety status."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(slots=True)
class FreezerAlarm:
    """Delay bookkeeping for one freezer, so a defrost cycle does not raise an alarm."""

    status: FreezerStatus = FreezerStatus.OK
    above_warning_since: datetime | None = None
    above_critical_since: datetime | None = None
    trend: deque[tuple[datetime, float]] = field(default_factory=deque)

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "status": self.status.value,
            "above_warning_since": iso(self.above_warning_since),
            "above_critical_since": iso(self.above_critical_since),
            "trend": [[t.isoformat(), v] for t, v in self.trend],
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any] | str) -> FreezerAlarm:
        """Read the storage form back (a bare status word is the first version's form)."""
        if isinstance(data, str):
            return cls(status=FreezerStatus(data))
        return cls(
            status=FreezerStatus(data.get("status", FreezerStatus.OK)),
            above_warning_since=optional_time(data.get("above_warning_since")),
            above_critical_since=optional_time(data.get("above_critical_since")),
            trend=deque((parse_time(t), float(v)) for t, v in data.get("trend") or ()),
        )


class Freezers:
    """Every freezer's alarm state and warming trend."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s components."""
        self.site = site
        self.alarms: dict[str, FreezerAlarm] = {}

    def limits(self, freezer: Component) -> tuple[float, float]:
        """(warning, critical) °C: the freezer's own meta, else the site's settings."""
        return (
            freezer.settings.get("warning", self.site.settings.freezer_warning),
            freezer.settings.get("critical", self.site.settings.freezer_critical),
        )

    def status(self, freezer: Component, now: datetime) -> FreezerStatus | None:
        """ok / warning / critical after the alarm delay; None when the temperature is stale."""
        if self.site.number(freezer, "temperature", now) is None:
            return None
        return self.alarms.get(freezer.id, FreezerAlarm()).status

    def warming_rate(self, freezer: Component, now: datetime) -> float | None:
        """°C per hour over the last hour (least squares); None without enough data."""
        alarm = self.alarms.get(freezer.id)
        if alarm is None or self.site.number(freezer, "temperature", now) is None:
            return None
        points = [(t, v) for t, v in alarm.trend if now - t <= FREEZER_TREND_WINDOW]
        if len(points) < 3 or points[-1][0] - points[0][0] < FREEZER_TREND_MIN_SPAN:
            return None
        t0 = points[0][0]
        xs = [(t - t0).total_seconds() / 3600 for t, _ in points]
        ys = [v for _, v in points]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        if spread == 0:
            return None
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread

    def time_to_limit(self, freezer: Component, limit: float, now: datetime) -> float | None:
        """Hours until `limit` at the present warming rate; 0 when past it; None if not warming."""
        temperature = self.site.number(freezer, "temperature", now)
        if temperature is None:
            return None
        if temperature >= limit:
            return 0.0
        rate = self.warming_rate(freezer, now)
        if rate is None or rate < FREEZER_MIN_WARMING:
            return None
        return (limit - temperature) / rate

    def track(self, freezer_id: str, time: datetime, temperature: float) -> None:
        """Take in one temperature reading."""
        trend = self.alarms.setdefault(freezer_id, FreezerAlarm()).trend
        trend.append((time, temperature))
        while trend and time - trend[0][0] > FREEZER_TREND_WINDOW:
            trend.popleft()

    def forget(self, freezer_id: str) -> None:
        """Drop a freezer that is gone for good."""
        self.alarms.pop(freezer_id, None)

    def evaluate(self, freezer: Component, now: datetime, events: list[SiteEvent]) -> None:
        """Move the freezer's status along its delays; add an event when it changes."""
        temperature = self.site.number(freezer, "temperature", now)
        alarm = self.alarms.setdefault(freezer.id, FreezerAlarm())
        if temperature is None:
            # A probe's single "no reading" must not restart the alarm delay, or a thawing
            # freezer with a flaky probe would never alarm; only silence past the timeout does.
            stale = self.site.settings.stale_timeout
            if freezer.last_seen is None or now - freezer.last_seen > stale:
                alarm.above_warning_since = alarm.above_critical_since = None
            return
        warning, critical = self.limits(freezer)
        delay = self.site.settings.alarm_delay
        alarm.above_warning_since = _since(alarm.above_warning_since, temperature > warning, now)
        alarm.above_critical_since = _since(alarm.above_critical_since, temperature > critical, now)
        if alarm.above_critical_since is not None and now - alarm.above_critical_since >= delay:
            status = FreezerStatus.CRITICAL
        elif alarm.above_warning_since is not None and now - alarm.above_warning_since >= delay:
            status = FreezerStatus.WARNING
        else:
            status = FreezerStatus.OK
        # Hold a raised status until the freezer is clearly back below the limit, so a reading
        # hovering at the limit does not raise the same alarm again and again.
        if alarm.status is FreezerStatus.CRITICAL and temperature > critical - FREEZER_CLEAR_MARGIN:
            status = FreezerStatus.CRITICAL
        elif (
            alarm.status is not FreezerStatus.OK
            and status is FreezerStatus.OK
            and temperature > warning - FREEZER_CLEAR_MARGIN
        ):
            status = FreezerStatus.WARNING
        previous, alarm.status = alarm.status, status
        if status is previous or (
            # Falling from critical to warning is not a new warning.
            status is FreezerStatus.WARNING and previous is FreezerStatus.CRITICAL
        ):
            return
        kind = {
            FreezerStatus.OK: EventType.FREEZER_OK,
            FreezerStatus.WARNING: EventType.FREEZER_WARNING,
            FreezerStatus.CRITICAL: EventType.FREEZER_CRITICAL,
        }[status]
        events.append(
            SiteEvent(
                kind,
                "freezer",
                freezer.id,
                now,
                {
                    "temperature": round(temperature, 1),
                    "limit": critical if status is FreezerStatus.CRITICAL else warning,
                },
            )
        )

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {fid: alarm.snapshot() for fid, alarm in self.alarms.items()}

    def restore(self, data: dict[str, Any]) -> None:
        """Read the storage form back."""
        self.alarms = {str(fid): FreezerAlarm.from_snapshot(a) for fid, a in data.items()}


def _since(since: datetime | None, condition: bool, now: datetime) -> datetime | None:
    """Start, keep or clear a 'condition true since' timestamp."""
    if not condition:
        return None
    return since or now
