"""The site model: readings in, component state and the derived values an operator needs out.

Pure Python: no Home Assistant imports, so the simulator, the benchmarks and fast unit tests
share it. Time is always passed in; the model never reads a clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from .fuel import fuel_rate
from .readings import Meta, NodeStatus, Reading
from .vocabulary import Kind, Value, ValueType, quantity

# Generator states in which the engine turns.
RUNNING_STATES: Final = frozenset({"warming_up", "running", "cooling_down"})
# Grid voltage (V, phase to neutral) above which the grid counts as present when no meter
# reports `present` itself; well inside the 207-253 V band of EN 50160.
GRID_PRESENT_VOLTAGE: Final = 184.0
# Below this generator output the breaker is taken to be open ("running, not on load").
ON_LOAD_KW: Final = 0.2
ON_LOAD_PERCENT: Final = 1.0
FUEL_RATE_SMOOTHING: Final = timedelta(minutes=10)
FREEZER_TREND_WINDOW: Final = timedelta(minutes=60)
FREEZER_TREND_MIN_SPAN: Final = timedelta(minutes=10)
# Slower warming than this (°C/h) is noise, not a trend worth a countdown.
FREEZER_MIN_WARMING: Final = 0.05
FREEZER_CLEAR_MARGIN: Final = 0.5
FUEL_LOW_CLEAR_FACTOR: Final = 1.2
# A rise in usable fuel beyond this (on top of the factor) is a refill, not sensor noise.
REFILL_LITRES: Final = 20.0
OUTAGE_LOG_LENGTH: Final = 100
# NFPA 110's monthly exercise, "monthly" being 20-40 days apart (DOMAIN.md).
EXERCISE_DUE: Final = timedelta(days=40)


class EventType(StrEnum):
    """Site alarms, as the `event` entity and the blueprints know them."""

    GRID_LOST = "grid_lost"
    GRID_RESTORED = "grid_restored"
    GENERATOR_STARTED = "generator_started"
    GENERATOR_STOPPED = "generator_stopped"
    GENERATOR_FAULT = "generator_fault"
    FUEL_LOW = "fuel_low"
    FREEZER_WARNING = "freezer_warning"
    FREEZER_CRITICAL = "freezer_critical"
    FREEZER_OK = "freezer_ok"
    NODE_OFFLINE = "node_offline"
    NODE_ONLINE = "node_online"


class PowerSource(StrEnum):
    """What feeds the site right now."""

    GRID = "grid"
    GENERATOR = "generator"
    NONE = "none"


class FreezerStatus(StrEnum):
    """A freezer's food-safety status."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class SiteEvent:
    """An alarm the site raised, with the figures that matter to the operator."""

    type: EventType
    kind: str
    component_id: str
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """The site's settings (the config entry's options)."""

    tank_capacity: float = 1000.0
    tank_reserve: float = 10.0
    generator_rating: float = 56.0
    freezer_warning: float = -15.0
    freezer_critical: float = -12.0
    alarm_delay: timedelta = timedelta(minutes=10)
    stale_timeout: timedelta = timedelta(minutes=5)
    fuel_low_hours: float = 12.0
    silent_after: timedelta = timedelta(minutes=60)


@dataclass(slots=True)
class Sample:
    """The last good value of a quantity and when it arrived."""

    value: Value
    time: datetime
    # Delivered by its transport while that transport knew the node was silent: a conclusion
    # drawn from the silence itself (a grid-side meter that stops answering: no grid).
    despite_offline: bool = False


@dataclass(slots=True)
class Outage:
    """One grid outage: when, how long the generator ran, how much fuel it used."""

    start: datetime
    end: datetime | None = None
    generator_seconds: float = 0.0
    fuel_used: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "generator_seconds": round(self.generator_seconds, 1),
            "fuel_used": round(self.fuel_used, 2),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outage:
        """Read the storage form back."""
        return cls(
            start=_aware(datetime.fromisoformat(data["start"])),
            end=_aware(datetime.fromisoformat(data["end"])) if data.get("end") else None,
            generator_seconds=float(data.get("generator_seconds", 0.0)),
            fuel_used=float(data.get("fuel_used", 0.0)),
        )


@dataclass(slots=True)
class FreezerAlarm:
    """Delay bookkeeping for one freezer, so a defrost cycle does not raise an alarm."""

    status: FreezerStatus = FreezerStatus.OK
    above_warning_since: datetime | None = None
    above_critical_since: datetime | None = None
    trend: deque[tuple[datetime, float]] = field(default_factory=deque)


@dataclass(slots=True)
class Component:
    """One grid connection, generator, tank, freezer or load, and its last good values."""

    kind: Kind
    id: str
    values: dict[str, Sample] = field(default_factory=dict)
    # Every quantity ever reported, so a counter's source is fixed once it has reported.
    reported: set[str] = field(default_factory=set)
    last_seen: datetime | None = None
    name: str | None = None
    node: str | None = None
    settings: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """(kind, id), the component's identity within its site."""
        return (self.kind.value, self.id)


class Site:
    """All components of one SOT point, their availability, and what follows from them."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.components: dict[tuple[str, str], Component] = {}
        self.nodes: dict[str, bool] = {}
        self.outage: Outage | None = None
        self.outage_log: list[Outage] = []
        self.generator_seconds = 0.0
        self.generator_kwh = 0.0
        self.fuel_used = 0.0
        self._freezers: dict[str, FreezerAlarm] = {}
        self._smoothed_rate: float | None = None
        self._last_advance: datetime | None = None
        self._was_running: bool | None = None
        self._was_fault = False
        self._fuel_low = False
        self._fuel_low_litres: float | None = None
        # When anything last reported, and what is known of the generator's exercise.
        self.last_reading: datetime | None = None
        self.generator_watched_since: datetime | None = None
        self.generator_last_run: datetime | None = None
        self.exercise_snoozed_until: datetime | None = None

    # -- input -----------------------------------------------------------------------------

    def apply(
        self, readings: Iterable[Reading], now: datetime, node: str | None = None
    ) -> list[SiteEvent]:
        """Take in readings (already checked against the vocabulary); return new alarms.

        `node` names the source that measured them (a Modbus device, say), which then decides
        the components' availability together with their data's age.
        """
        self._advance(now)
        for reading in readings:
            component = self.component(reading.kind, reading.id, create=True)
            assert component is not None  # created on demand
            if node is not None:
                component.node = node
            silent = node is not None and not self.nodes.get(node, True)
            component.values[reading.quantity] = Sample(reading.value, reading.time, silent)
            component.reported.add(reading.quantity)
            component.last_seen = max(component.last_seen or reading.time, reading.time)
            self.last_reading = max(self.last_reading or reading.time, reading.time)
            if component.kind is Kind.FREEZER and reading.quantity == "temperature":
                self._track_trend(component.id, reading.time, float(reading.value))
        return self._evaluate(now)

    def set_meta(self, meta: Meta) -> None:
        """Take in a component's retained description."""
        component = self.component(meta.kind, meta.id, create=True)
        assert component is not None
        component.name = meta.name
        if meta.node is not None:
            component.node = meta.node
        component.settings = dict(meta.settings)

    def set_node(self, status: NodeStatus) -> list[SiteEvent]:
        """Take in a node's birth or last will; return node and follow-on alarms."""
        self._advance(status.time)
        previous = self.nodes.get(status.node)
        self.nodes[status.node] = status.online
        events: list[SiteEvent] = []
        if previous is not None and previous != status.online:
            events.append(
                SiteEvent(
                    EventType.NODE_ONLINE if status.online else EventType.NODE_OFFLINE,
                    "node",
                    status.node,
                    status.time,
                )
            )
        return events + self._evaluate(status.time)

    def tick(self, now: datetime) -> list[SiteEvent]:
        """Let time pass: staleness, alarm delays, integrators."""
        self._advance(now)
        return self._evaluate(now)

    def forget(self, kind: str, component_id: str) -> None:
        """Drop a component that is gone for good (it comes back if it reports again)."""
        self.components.pop((kind, component_id), None)
        if kind == Kind.FREEZER:
            self._freezers.pop(component_id, None)

    def component(self, kind: str, component_id: str, create: bool = False) -> Component | None:
        """The component (kind, id); created when asked to and the kind is known."""
        found = self.components.get((kind, component_id))
        if found is None and create:
            found = self.components[(kind, component_id)] = Component(Kind(kind), component_id)
        return found

    def of_kind(self, kind: Kind) -> list[Component]:
        """All components of one kind, in a stable order."""
        return sorted((c for c in self.components.values() if c.kind is kind), key=lambda c: c.id)

    # -- availability ----------------------------------------------------------------------

    def node_online(self, component: Component) -> bool:
        """False only when the component's node has said it is offline."""
        return component.node is None or self.nodes.get(component.node, True)

    def no_reading(self, kind: str, component_id: str, name: str) -> None:
        """A sensor said it has no reading (NaN, a probe's error value): drop the last one."""
        component = self.component(kind, component_id)
        if component is not None:
            component.values.pop(name, None)

    def fresh(self, component: Component, name: str, now: datetime) -> Value | None:
        """The quantity's value if its node is online and it is not older than the timeout.

        ON/OFF and state words are published when they change, not on a timer: they stay
        live while the node says it is online or the component still reports anything else.
        """
        sample = component.values.get(name)
        if sample is None or not (self.node_online(component) or sample.despite_offline):
            return None
        timeout = self.settings.stale_timeout
        if now - sample.time <= timeout:
            return sample.value
        spec = quantity(component.kind, name)
        if spec is None or spec.type is ValueType.NUMBER:
            return None
        node_alive = component.node is not None and self.nodes.get(component.node) is True
        heard_lately = component.last_seen is not None and now - component.last_seen <= timeout
        return sample.value if node_alive or heard_lately else None

    def available(self, component: Component, now: datetime) -> bool:
        """Whether any of the component's values is live."""
        return any(self.fresh(component, q, now) is not None for q in component.values)

    def _number(self, component: Component | None, quantity: str, now: datetime) -> float | None:
        if component is None:
            return None
        value = self.fresh(component, quantity, now)
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    def _flag(self, component: Component | None, quantity: str, now: datetime) -> bool | None:
        if component is None:
            return None
        value = self.fresh(component, quantity, now)
        return value if isinstance(value, bool) else None

    # -- grid and power source ---------------------------------------------------------------

    def grid_present(self, now: datetime) -> bool | None:
        """Whether the grid is there: a meter's own word first, else its voltage; None unknown."""
        answers: list[bool] = []
        for grid in self.of_kind(Kind.GRID):
            present = self._flag(grid, "present", now)
            if present is None:
                voltage = self._number(grid, "voltage", now)
                present = None if voltage is None else voltage >= GRID_PRESENT_VOLTAGE
            if present is not None:
                answers.append(present)
        return any(answers) if answers else None

    def generator(self) -> Component | None:
        """The site's generator (the first, when a site has several)."""
        generators = self.of_kind(Kind.GENERATOR)
        return generators[0] if generators else None

    def generator_running(self, now: datetime) -> bool | None:
        """Whether the engine turns: from its state word, else from its speed."""
        generator = self.generator()
        state = None if generator is None else self.fresh(generator, "state", now)
        if isinstance(state, str):
            return state in RUNNING_STATES
        speed = self._number(generator, "speed", now)
        return None if speed is None else speed > 300

    def generator_on_load(self, now: datetime) -> bool | None:
        """Whether the generator feeds the site: breaker, else output, else that it runs."""
        generator = self.generator()
        if generator is None:
            return None
        on_load = self._flag(generator, "on_load", now)
        if on_load is not None:
            # A closed breaker on a stopped engine feeds nothing; an unknown engine state does
            # not overrule the breaker.
            return on_load and self.generator_running(now) is not False
        power = self._number(generator, "power", now)
        if power is not None:
            return power > ON_LOAD_KW
        load = self._number(generator, "load", now)
        if load is not None:
            return load > ON_LOAD_PERCENT
        return self.generator_running(now)

    def power_source(self, now: datetime) -> PowerSource | None:
        """Grid, generator (also while the grid is back but not yet switched over) or none.

        None (unknown) when the grid is unknown, or when the site has a generator whose state
        is unknown: "no power" must not be shown for a controller that merely missed a poll.
        """
        on_load = self.generator_on_load(now)
        if on_load:
            return PowerSource.GENERATOR
        grid = self.grid_present(now)
        if grid is None or (on_load is None and self.generator() is not None):
            return None
        return PowerSource.GRID if grid else PowerSource.NONE

    def outage_duration(self, now: datetime) -> timedelta | None:
        """How long the present outage has lasted; None when there is none."""
        return None if self.outage is None else now - self.outage.start

    # -- fuel --------------------------------------------------------------------------------

    def _tank_setting(self, tank: Component, key: str, default: float) -> float:
        return tank.settings.get(key, default)

    def tank_litres(self, tank: Component, now: datetime) -> float | None:
        """Fuel in the tank, L: its volume, else its level times its capacity."""
        volume = self._number(tank, "volume", now)
        if volume is not None:
            return volume
        level = self._number(tank, "level", now)
        capacity = self._tank_setting(tank, "capacity", self.settings.tank_capacity)
        return None if level is None else level / 100 * capacity

    def usable_fuel(self, now: datetime) -> float | None:
        """Litres above the reserve in all tanks; None when any tank's level is not live."""
        tanks = self.of_kind(Kind.TANK)
        if not tanks:
            return None
        usable = 0.0
        for tank in tanks:
            litres = self.tank_litres(tank, now)
            if litres is None:
                return None
            capacity = self._tank_setting(tank, "capacity", self.settings.tank_capacity)
            reserve = self._tank_setting(tank, "reserve", self.settings.tank_reserve)
            usable += max(0.0, litres - reserve / 100 * capacity)
        return usable

    def rating(self) -> float:
        """The generator's rated power, kW: its meta, else the site setting."""
        generator = self.generator()
        if generator is not None and "rating" in generator.settings:
            return generator.settings["rating"]
        return self.settings.generator_rating

    def fuel_rate_now(self, now: datetime) -> float | None:
        """Fuel use now, L/h: measured by the controller, else from the curve; None unknown."""
        running = self.generator_running(now)
        if not running:
            return 0.0 if running is False else None
        generator = self.generator()
        measured = self._number(generator, "fuel_rate", now)
        if measured is not None:
            return measured
        load = self._number(generator, "load", now)
        if load is None:
            power = self._number(generator, "power", now)
            load = None if power is None else power / self.rating() * 100
        return None if load is None else fuel_rate(self.rating(), load / 100)

    def fuel_runtime(self, now: datetime) -> float | None:
        """Hours until the tanks reach their reserve at the smoothed present fuel use.

        None when the generator is not running or any input is not live.
        """
        usable = self.usable_fuel(now)
        rate = self.fuel_rate_now(now)
        if usable is None or not rate or self._smoothed_rate is None:
            return None
        return usable / self._smoothed_rate

    # -- freezers ----------------------------------------------------------------------------

    def freezer_limits(self, freezer: Component) -> tuple[float, float]:
        """(warning, critical) °C: the freezer's own meta, else the site's settings."""
        return (
            freezer.settings.get("warning", self.settings.freezer_warning),
            freezer.settings.get("critical", self.settings.freezer_critical),
        )

    def freezer_status(self, freezer: Component, now: datetime) -> FreezerStatus | None:
        """ok / warning / critical after the alarm delay; None when the temperature is stale."""
        if self._number(freezer, "temperature", now) is None:
            return None
        return self._freezers.get(freezer.id, FreezerAlarm()).status

    def warming_rate(self, freezer: Component, now: datetime) -> float | None:
        """°C per hour over the last hour (least squares); None without enough data."""
        alarm = self._freezers.get(freezer.id)
        if alarm is None or self._number(freezer, "temperature", now) is None:
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
        temperature = self._number(freezer, "temperature", now)
        if temperature is None:
            return None
        if temperature >= limit:
            return 0.0
        rate = self.warming_rate(freezer, now)
        if rate is None or rate < FREEZER_MIN_WARMING:
            return None
        return (limit - temperature) / rate

    def _track_trend(self, freezer_id: str, time: datetime, temperature: float) -> None:
        trend = self._freezers.setdefault(freezer_id, FreezerAlarm()).trend
        trend.append((time, temperature))
        while trend and time - trend[0][0] > FREEZER_TREND_WINDOW:
            trend.popleft()

    # -- derivation --------------------------------------------------------------------------

    def _advance(self, now: datetime) -> None:
        """Integrate run time, energy and fuel over the time since the last call."""
        last, self._last_advance = self._last_advance, now
        if last is None or now <= last:
            return
        elapsed = now - last
        if elapsed > self.settings.stale_timeout:
            return  # a gap in the data; do not guess what happened in it
        hours = elapsed.total_seconds() / 3600
        generator = self.generator()
        if self.generator_running(last):
            self.generator_seconds += elapsed.total_seconds()
            if self.outage is not None:
                self.outage.generator_seconds += elapsed.total_seconds()
        power = self._number(generator, "power", last)
        if power is not None and power > 0:
            self.generator_kwh += power * hours
        rate = self.fuel_rate_now(last)
        if rate:
            self.fuel_used += rate * hours
            if self.outage is not None:
                self.outage.fuel_used += rate * hours
            weight = 1 - math.exp(-elapsed / FUEL_RATE_SMOOTHING)
            previous = rate if self._smoothed_rate is None else self._smoothed_rate
            self._smoothed_rate = previous + (rate - previous) * weight

    def _evaluate(self, now: datetime) -> list[SiteEvent]:
        events: list[SiteEvent] = []
        self._evaluate_grid(now, events)
        self._evaluate_generator(now, events)
        self._evaluate_fuel(now, events)
        for freezer in self.of_kind(Kind.FREEZER):
            self._evaluate_freezer(freezer, now, events)
        return events

    def _fuel_figures(self, now: datetime) -> dict[str, Any]:
        hours = self.fuel_runtime(now)
        level = None
        tanks = self.of_kind(Kind.TANK)
        if tanks:
            level = self._number(tanks[0], "level", now)
        return {
            "fuel_hours": None if hours is None else round(hours, 1),
            "fuel_level": None if level is None else round(level, 1),
        }

    def _evaluate_grid(self, now: datetime, events: list[SiteEvent]) -> None:
        present = self.grid_present(now)
        if present is False and self.outage is None:
            start = self._grid_change_time(now)
            self.outage = Outage(start=start)
            events.append(
                SiteEvent(EventType.GRID_LOST, "grid", "main", start, self._fuel_figures(now))
            )
        elif present is True and self.outage is not None:
            outage, self.outage = self.outage, None
            outage.end = self._grid_change_time(now)
            self.outage_log = [*self.outage_log, outage][-OUTAGE_LOG_LENGTH:]
            minutes = (outage.end - outage.start).total_seconds() / 60
            events.append(
                SiteEvent(
                    EventType.GRID_RESTORED,
                    "grid",
                    "main",
                    outage.end,
                    {"outage_minutes": round(minutes, 1), "fuel_used": round(outage.fuel_used, 1)},
                )
            )

    def _grid_change_time(self, now: datetime) -> datetime:
        """When the grid reading that changed the state arrived (not when we noticed)."""
        times = [
            sample.time
            for grid in self.of_kind(Kind.GRID)
            for q, sample in grid.values.items()
            if q in ("present", "voltage") and self.fresh(grid, q, now) is not None
        ]
        return max(times, default=now)

    def _evaluate_generator(self, now: datetime, events: list[SiteEvent]) -> None:
        generator = self.generator()
        if generator is None:
            return
        running = self.generator_running(now)
        if running is not None and self._was_running is not None and running != self._was_running:
            kind = EventType.GENERATOR_STARTED if running else EventType.GENERATOR_STOPPED
            if running:
                self._smoothed_rate = None  # a new run: forget the last run's consumption
            events.append(SiteEvent(kind, "generator", generator.id, now, self._fuel_figures(now)))
        if running is not None:
            self._was_running = running
            self.generator_watched_since = self.generator_watched_since or now
            if running:
                self.generator_last_run = now
        state = self.fresh(generator, "state", now)
        alarm = self.fresh(generator, "alarm", now)
        fault = state == "fault" or alarm in ("shutdown", "trip")
        if fault and not self._was_fault:
            events.append(
                SiteEvent(
                    EventType.GENERATOR_FAULT,
                    "generator",
                    generator.id,
                    now,
                    {"generator_alarm": alarm, "generator_state": state, **self._fuel_figures(now)},
                )
            )
        if state is not None or alarm is not None:
            self._was_fault = fault

    def _evaluate_fuel(self, now: datetime, events: list[SiteEvent]) -> None:
        hours = self.fuel_runtime(now)
        usable = self.usable_fuel(now)
        limit = self.settings.fuel_low_hours
        low_now = (hours is not None and hours < limit) or (usable is not None and usable <= 0)
        if low_now and not self._fuel_low:
            self._fuel_low, self._fuel_low_litres = True, usable
            tanks = self.of_kind(Kind.TANK)
            events.append(
                SiteEvent(
                    EventType.FUEL_LOW,
                    "tank",
                    tanks[0].id if tanks else "main",
                    now,
                    self._fuel_figures(now),
                )
            )
            return
        # Cleared only on evidence (a known runtime well above the limit, or a refill), never
        # because the runtime is momentarily unknown (a missed poll, the engine restarting).
        refilled = (
            usable is not None
            and self._fuel_low_litres is not None
            and usable > self._fuel_low_litres * FUEL_LOW_CLEAR_FACTOR + REFILL_LITRES
        )
        if (
            self._fuel_low
            and not low_now
            and (refilled or (hours is not None and hours > limit * FUEL_LOW_CLEAR_FACTOR))
        ):
            self._fuel_low, self._fuel_low_litres = False, None

    def _evaluate_freezer(self, freezer: Component, now: datetime, events: list[SiteEvent]) -> None:
        temperature = self._number(freezer, "temperature", now)
        alarm = self._freezers.setdefault(freezer.id, FreezerAlarm())
        if temperature is None:
            # A probe's single "no reading" must not restart the alarm delay, or a thawing
            # freezer with a flaky probe would never alarm; only silence past the timeout does.
            if freezer.last_seen is None or now - freezer.last_seen > self.settings.stale_timeout:
                alarm.above_warning_since = alarm.above_critical_since = None
            return
        warning, critical = self.freezer_limits(freezer)
        delay = self.settings.alarm_delay
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

    # -- watchfulness ------------------------------------------------------------------------

    def silent_since(self, now: datetime) -> datetime | None:
        """When the site last reported, if nothing has for longer than the silence limit."""
        if self.last_reading is None or now - self.last_reading <= self.settings.silent_after:
            return None
        return self.last_reading

    def days_without_exercise(self, now: datetime) -> int | None:
        """Days since the generator last ran, once that exceeds the exercise interval.

        Only what was watched counts: a generator seen for less than the interval, or one whose
        reminder was put off, is not called overdue.
        """
        if self.generator() is None or self.generator_watched_since is None:
            return None
        if self.exercise_snoozed_until is not None and now < self.exercise_snoozed_until:
            return None
        since = self.generator_last_run or self.generator_watched_since
        if now - since <= EXERCISE_DUE:
            return None
        return int((now - since) / timedelta(days=1))

    # -- persistence -------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """What must survive a restart: outages, counters and integrators."""
        return {
            "outage": self.outage.as_dict() if self.outage else None,
            "outage_log": [o.as_dict() for o in self.outage_log],
            "generator_seconds": round(self.generator_seconds, 1),
            "generator_kwh": round(self.generator_kwh, 4),
            "fuel_used": round(self.fuel_used, 3),
            "fuel_low": self._fuel_low,
            "fuel_low_litres": self._fuel_low_litres,
            "freezers": {fid: alarm.status.value for fid, alarm in self._freezers.items()},
            "last_reading": _iso(self.last_reading),
            "generator_watched_since": _iso(self.generator_watched_since),
            "generator_last_run": _iso(self.generator_last_run),
            "exercise_snoozed_until": _iso(self.exercise_snoozed_until),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Read `as_dict` back after a restart; a damaged record is ignored, not fatal."""
        try:
            self.outage = Outage.from_dict(data["outage"]) if data.get("outage") else None
            self.outage_log = [Outage.from_dict(o) for o in data.get("outage_log", [])]
            self.generator_seconds = float(data.get("generator_seconds", 0.0))
            self.generator_kwh = float(data.get("generator_kwh", 0.0))
            self.fuel_used = float(data.get("fuel_used", 0.0))
            self._fuel_low = bool(data.get("fuel_low", False))
            litres = data.get("fuel_low_litres")
            self._fuel_low_litres = None if litres is None else float(litres)
            for freezer_id, status in dict(data.get("freezers") or {}).items():
                self._freezers[str(freezer_id)] = FreezerAlarm(status=FreezerStatus(status))
            self.last_reading = _time(data.get("last_reading"))
            self.generator_watched_since = _time(data.get("generator_watched_since"))
            self.generator_last_run = _time(data.get("generator_last_run"))
            self.exercise_snoozed_until = _time(data.get("exercise_snoozed_until"))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            self.outage, self.outage_log = None, []
            self.generator_seconds = self.generator_kwh = self.fuel_used = 0.0
            raise ValueError(f"stored site state is damaged: {err}") from err


def _aware(moment: datetime) -> datetime:
    """Stored times are UTC; one written without a zone is read as UTC, not compared naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: Any) -> datetime | None:
    return None if text is None else _aware(datetime.fromisoformat(str(text)))


def _since(since: datetime | None, condition: bool, now: datetime) -> datetime | None:
    """Start, keep or clear a 'condition true since' timestamp."""
    if not condition:
        return None
    return since or now
