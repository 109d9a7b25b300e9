"""Freezers: food-safety status after the alarm delay, and when each will cross its limits.

Whether a freezer warms is decided by its power first: the site's supply (grid, or a generator
on load) and the relay that feeds it (the load with the freezer's own id, else the load
`freezers`). Only without any power signal do its readings decide (`warming.Warming`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from .components import Component, iso, optional_time, stored_seconds
from .events import EventType, SiteEvent
from .power import PowerSource
from .vocabulary import Kind
from .warming import Basis, Fit, Warming, moment, seconds

if TYPE_CHECKING:
    from .model import Site

FREEZER_CLEAR_MARGIN: Final = 0.5
# The load that feeds a site's freezers when none is named after the freezer itself.
FREEZER_GROUP_LOAD: Final = "freezers"
# Room sensors (kind `room`), and the room the freezers stand in.
ROOM_KIND: Final = "room"
STORE_ROOM: Final = "store"


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
    # When the newest temperature taken into the delays was measured.
    reading_time: datetime | None = None
    warming: Warming = field(default_factory=Warming)
    # Since when the readings have been above each limit: unlike the delays above, kept
    # through a silence (a restart, a probe that was quiet), cleared only by a reading below.
    crossed_warning_since: datetime | None = None
    crossed_critical_since: datetime | None = None
    # Whether the temperature before the newest one was still live when that one was measured
    # (a probe that reports only on a change, its node online): its silence was no gap. Not
    # saved: it is read when the reading is evaluated.
    live_before: bool = False

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "status": self.status.value,
            "above_warning_since": iso(self.above_warning_since),
            "above_critical_since": iso(self.above_critical_since),
            "reading_time": iso(self.reading_time),
            "warming": self.warming.snapshot(),
            "crossed_warning_since": iso(self.crossed_warning_since),
            "crossed_critical_since": iso(self.crossed_critical_since),
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
            reading_time=optional_time(data.get("reading_time")),
            warming=Warming.from_snapshot(dict(data.get("warming") or {})),
            # Saved before the crossings were kept apart: the delays' start is the best known.
            crossed_warning_since=optional_time(
                data.get("crossed_warning_since", data.get("above_warning_since"))
            ),
            crossed_critical_since=optional_time(
                data.get("crossed_critical_since", data.get("above_critical_since"))
            ),
        )


@dataclass(frozen=True, slots=True)
class Countdown:
    """Hours until a freezer crosses a limit, or since it did, with what the figure rests on."""

    # The figure shown: hours left on the early side of the estimate; negative once crossed
    # (hours since the crossing).
    hours: float
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    crossed_since: datetime | None = None
    warming_since: datetime | None = None
    basis: str | None = None
    room: float | None = None
    room_source: str | None = None
    tau: float | None = None


class Freezers:
    """Every freezer's alarm state and warming, and the power that keeps them cold."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s components."""
        self.site = site
        self.alarms: dict[str, FreezerAlarm] = {}
        # The site's supply (grid, or a generator on load) as last known, and since when.
        self.supply: bool | None = None
        self.supply_since: float | None = None
        # Relays feeding freezers: load id -> [on, since].
        self.relays: dict[str, list[Any]] = {}
        self._fits: dict[str, tuple[tuple[Any, ...], Fit | None]] = {}

    def paired(self, own: dict[str, float]) -> tuple[float, float] | None:
        """(warning, critical) °C: a freezer's own limits, the site's for one it does not give;
        None when critical would not be above warning."""
        site = self.site.settings
        warning = own.get("warning", site.freezer_warning)
        critical = own.get("critical", site.freezer_critical)
        return (warning, critical) if critical > warning else None

    def limits(self, freezer: Component) -> tuple[float, float]:
        """(warning, critical) °C: the freezer's own meta, else the site's settings (both, if
        the settings changed since so that the meta's one limit no longer fits the other)."""
        site = self.site.settings
        return self.paired(freezer.settings) or (site.freezer_warning, site.freezer_critical)

    def status(self, freezer: Component, now: datetime) -> FreezerStatus | None:
        """ok / warning / critical after the alarm delay; None when the temperature is stale."""
        if self.site.number(freezer, "temperature", now) is None:
            return None
        alarm = self.alarms.get(freezer.id)
        return FreezerStatus.OK if alarm is None else alarm.status

    # -- power -------------------------------------------------------------------------------

    def observe_power(self, now: datetime) -> None:
        """Note when the site's supply and the freezers' relays change (on every message)."""
        source = self.site.power.source(now)
        if source is not None and (source is not PowerSource.NONE) != self.supply:
            self.supply, self.supply_since = source is not PowerSource.NONE, self._measured(now)
        for load in self.site.of_kind(Kind.LOAD):
            if load.id != FREEZER_GROUP_LOAD and (Kind.FREEZER.value, load.id) not in (
                self.site.components
            ):
                continue
            on = self.site.flag(load, "state", now)
            known = self.relays.get(load.id)
            if on is not None and (known is None or known[0] != on):
                sample = load.values["state"]
                self.relays[load.id] = [on, seconds(min(sample.time, now))]

    def _measured(self, now: datetime) -> float:
        """When the newest grid or generator reading was measured (it changed the supply)."""
        times = [
            sample.time
            for component in (*self.site.of_kind(Kind.GRID), *self.site.generators())
            for sample in component.values.values()
            if sample.time <= now
        ]
        return seconds(max(times, default=now))

    def relay(self, freezer: Component) -> Component | None:
        """The load whose relay feeds the freezer: its namesake, else the load `freezers`."""
        # `Site.component`, written out: this is asked on every freezer reading.
        components = self.site.components
        return components.get((Kind.LOAD, freezer.id)) or components.get(
            (Kind.LOAD, FREEZER_GROUP_LOAD)
        )

    def powered(self, freezer: Component, now: datetime) -> tuple[bool | None, float | None]:
        """Whether the freezer has power, and since when it has none; None without a signal."""
        source = self.site.power.source(now)
        supply = None if source is None else source is not PowerSource.NONE
        relay = self.relay(freezer)
        relay_on = None if relay is None else self.site.flag(relay, "state", now)
        off: list[float] = []
        if supply is False and self.supply_since is not None:
            off.append(self.supply_since)
        if relay_on is False and relay is not None and relay.id in self.relays:
            off.append(float(self.relays[relay.id][1]))
        if supply is False or relay_on is False:
            return False, min(off, default=seconds(now))
        if supply is True:
            return True, None
        return None, None

    # -- warming -------------------------------------------------------------------------------

    def room(self, freezer: Component, now: datetime) -> tuple[float, str]:
        """The room's temperature and where it comes from: a room sensor, else the setting.

        The room `store` (where the freezers stand) when it reports, else the warmest room
        that does (a warmer room warms a freezer sooner: the cautious choice).
        """
        del freezer  # one room for all of a site's freezers
        readings: dict[str, float] = {}
        for (kind, room_id), room in self.site.components.items():
            if (
                kind == ROOM_KIND
                and (value := self.site.number(room, "temperature", now)) is not None
            ):
                readings[room_id] = value
        if readings:
            return readings.get(STORE_ROOM, max(readings.values())), "sensor"
        return self.site.settings.room_temperature, "setting"

    def fit(self, freezer: Component, now: datetime) -> Fit | None:
        """Newton's curve through the freezer's present warming, if it warms."""
        alarm = self.alarms.get(freezer.id)
        if alarm is None or alarm.warming.start is None:
            return None
        warming = alarm.warming
        room, _ = self.room(freezer, now)
        last = warming.buckets[-1] if warming.buckets else None
        key = (
            now,
            warming.start,
            room,
            warming.tau,
            warming.last,
            None if last is None else last[3],
        )
        cached = self._fits.get(freezer.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        fit = warming.fit(seconds(now), room)
        self._fits[freezer.id] = (key, fit)
        return fit

    def warming_rate(self, freezer: Component, now: datetime) -> float | None:
        """°C per hour now, from the fitted curve; None unless the freezer clearly warms."""
        if self.site.number(freezer, "temperature", now) is None:
            return None
        fit = self.fit(freezer, now)
        if fit is None or not fit.clear:
            return None
        return -fit.slope * (fit.room - fit.now())

    def countdown(self, freezer: Component, limit: float, now: datetime) -> Countdown | None:
        """Hours until `limit`, or since it was crossed; None while the freezer does not warm.

        None while it has power and is not above the limit for longer than the alarm delay
        (a defrost), while its readings are stale, and until the rise is statistically clear.
        """
        temperature = self.site.number(freezer, "temperature", now)
        alarm = self.alarms.get(freezer.id)
        if temperature is None or alarm is None:
            return None
        warming = alarm.warming
        warming_since = None if warming.start is None else moment(warming.start)
        if temperature > limit:
            crossed = warming.crossed_at(limit)
            candidates = [self._crossed_since(freezer, alarm, limit)]
            candidates.append(None if crossed is None else moment(crossed))
            since = min((c for c in candidates if c is not None), default=now)
            if warming.start is None and now - since < self.site.settings.alarm_delay:
                return None
            return Countdown(
                hours=-(now - since).total_seconds() / 3600,
                crossed_since=since,
                warming_since=warming_since,
                basis=warming.basis,
            )
        fit = self.fit(freezer, now)
        if fit is None or not fit.clear:
            return None
        figures = fit.hours_to(limit)
        if figures is None:
            return None
        shown, estimate, low, high = figures
        room, room_source = self.room(freezer, now)
        return Countdown(
            hours=shown,
            estimate=estimate,
            low=low,
            high=high,
            warming_since=warming_since,
            basis=warming.basis,
            room=room,
            room_source=room_source,
            tau=fit.tau,
        )

    def time_to_limit(self, freezer: Component, limit: float, now: datetime) -> float | None:
        """The countdown's figure: hours left (cautious), negative once crossed; None if none."""
        countdown = self.countdown(freezer, limit, now)
        return None if countdown is None else countdown.hours

    def _crossed_since(
        self, freezer: Component, alarm: FreezerAlarm, limit: float
    ) -> datetime | None:
        warning, critical = self.limits(freezer)
        if limit == critical:
            return alarm.crossed_critical_since
        if limit == warning:
            return alarm.crossed_warning_since
        return None

    def track(self, freezer_id: str, time: datetime, temperature: float, live_before: bool) -> None:
        """Take in one temperature reading; `live_before`: the last one was live until then."""
        alarm = self._alarm(freezer_id)
        alarm.warming.add(seconds(time), temperature)
        alarm.live_before = live_before

    def reports_on_change(self, component: Component, name: str) -> bool:
        """Whether `name` of `component` is a freezer probe that reports only on a change."""
        if component.kind is not Kind.FREEZER or name != "temperature":
            return False
        alarm = self.alarms.get(component.id)
        return alarm is not None and alarm.warming.step is not None

    def _follow_warming(self, freezer: Component, alarm: FreezerAlarm, now: datetime) -> None:
        """Start or end the freezer's warming by its power, else by its readings."""
        warming = alarm.warming
        powered, since = self.powered(freezer, now)
        if powered is False:
            if warming.basis != Basis.POWER:
                warming.begin(since if since is not None else seconds(now), Basis.POWER)
        elif powered is True:
            if warming.start is not None:
                warming.end(seconds(now), self.room(freezer, now)[0])
        elif warming.basis != Basis.POWER:
            warming.follow_band(seconds(now))

    def _alarm(self, freezer_id: str) -> FreezerAlarm:
        """The freezer's alarm state, made on first use (not made and dropped on every call)."""
        alarm = self.alarms.get(freezer_id)
        if alarm is None:
            alarm = self.alarms[freezer_id] = FreezerAlarm()
        return alarm

    def forget(self, freezer_id: str) -> None:
        """Drop a freezer that is gone for good."""
        self.alarms.pop(freezer_id, None)

    def evaluate(self, freezer: Component, now: datetime, events: list[SiteEvent]) -> None:
        """Move the freezer's status along its delays; add an event when it changes."""
        temperature = self.site.number(freezer, "temperature", now)
        alarm = self._alarm(freezer.id)
        if temperature is None:
            return
        # A probe's single "no reading" must not restart the alarm delay, or a thawing freezer
        # with a flaky probe would never alarm; only a silence past the staleness timeout does,
        # measured between two readings' own times: readings a bridge queued through a link
        # loss arrive late, and look stale to the wall clock while they are replayed. A probe
        # that reports only on a change and stayed live meanwhile was not silent, or a freezer
        # warming by one report every 13 minutes would never reach a 30-minute delay.
        measured = sampled = freezer.values["temperature"].time
        if alarm.reading_time is not None:
            if (
                measured - alarm.reading_time > self.site.settings.stale_timeout
                and not alarm.live_before
            ):
                alarm.above_warning_since = alarm.above_critical_since = None
            measured = max(measured, alarm.reading_time)
        alarm.reading_time = measured
        self._follow_warming(freezer, alarm, now)
        warning, critical = self.limits(freezer)
        delay = self.site.settings.alarm_delay
        # The temperature was seen then, not before: a queued message whose temperature was
        # history but whose door was news is evaluated at its own, earlier time.
        seen = max(now, sampled)
        alarm.above_warning_since = _since(alarm.above_warning_since, temperature > warning, seen)
        alarm.above_critical_since = _since(
            alarm.above_critical_since, temperature > critical, seen
        )
        alarm.crossed_warning_since = _since(
            alarm.crossed_warning_since, temperature > warning, alarm.above_warning_since or now
        )
        alarm.crossed_critical_since = _since(
            alarm.crossed_critical_since, temperature > critical, alarm.above_critical_since or now
        )
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

    def power_snapshot(self) -> dict[str, Any]:
        """Storage form of what the freezers' power was seen to do."""
        return {
            "supply": self.supply,
            "supply_since": self.supply_since,
            "relays": {load: list(state) for load, state in self.relays.items()},
        }

    def restore_power(self, data: dict[str, Any]) -> None:
        """Read `power_snapshot`'s form back."""
        supply, since = data.get("supply"), data.get("supply_since")
        self.supply = None if supply is None else bool(supply)
        # Times (POSIX seconds) a warming may begin at, and be shown from.
        self.supply_since = None if since is None else stored_seconds(since)
        self.relays = {
            str(load): [bool(on), stored_seconds(at)]
            for load, (on, at) in dict(data.get("relays") or {}).items()
        }


def _since(since: datetime | None, condition: bool, now: datetime) -> datetime | None:
    """Start, keep or clear a 'condition true since' timestamp.

    Never later than `now`: a time ahead of it was taken by a clock since set back, and would
    hold an alarm back by the step.
    """
    if not condition:
        return None
    return now if since is None or since > now else since
