"""Fuel: what the tanks hold above their reserve, what the generators burn, hours left.

Two figures: hours at the present load (while a generator runs) and hours at the site's
typical load (always, also on the grid: what the site would last if the grid went now). Both
divide the usable litres, smoothed by the level's own line (`fuel_estimate`), by a fuel rate
corrected by what the level says was really burned.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .components import Component
from .events import EventType, SiteEvent
from .fuel_curve import fuel_rate
from .fuel_estimate import (
    CURVE_TRUST,
    DEFAULT_NOISE,
    DRAIN_HOLD,
    DRAIN_MIN,
    DRAIN_REFERENCE,
    DRAIN_SETTLE,
    DRAIN_SIGMAS,
    DRAIN_WINDOW,
    FORGET_HOURS,
    GAUGE_STEPS,
    LEVEL_ONLY_PRECISION,
    LEVEL_SMOOTHING,
    LOG_LENGTH,
    LONG_STOP,
    RATE_TRUST,
    REFILL_MIN,
    REFILL_SETTLE,
    REFILL_SIGMAS,
    FuelEstimate,
    Line,
    Tally,
    fused,
)
from .vocabulary import Kind

if TYPE_CHECKING:
    from .generators import GeneratorRun
    from .model import Site

FUEL_LOW_CLEAR_FACTOR: Final = 1.2
# A rise in usable fuel beyond this (on top of the factor) is a refill, not sensor noise.
REFILL_LITRES: Final = 20.0
# The fuel rate's smoothing, from when the generator takes load (a compressor start must not
# swing the figure; the warm-up's idle burn must not linger in it).
RATE_SMOOTHING: Final = 600.0
# A rate read more than SWING above its smoothing in readings this far apart (s) and in every
# reading between is a step up in load (a heater on): the figure takes the lowest rate of the
# rise at once rather than wait for the smoothing. A single high reading (a motor start),
# however far apart the readings, and the rate's scatter do not move it.
RISE_HOLD: Final = 120.0
# A generator whose smoothed rate swung this far (share) across its hour's average at least
# SWINGS times within the hour runs a rotating load: its figure assumes the hour's average.
SWING: Final = 0.08
SWINGS: Final = 2
# Fuel low is checked at most this often (s of the readings' time), and at every tick.
LOW_CHECK_INTERVAL: Final = 1.0
# The typical load is the site's demand averaged over this long (s).
DEMAND_SMOOTHING: Final = 3600.0


class _Every:
    """Every quantity of a kind."""

    def __contains__(self, _: object) -> bool:
        return True


# What the fuel figures read, by kind: the tanks' level or volume (all of a tank's quantities),
# a generator's state, speed, breaker, output and fuel rate (whether it runs and feeds the
# site, what it burns), the grid's presence and import and the loads' power (the site's
# demand). A reading of anything else (a coolant temperature, a run-hour counter) leaves them
# as they were; time moves them at the site's tick.
FUEL_INPUTS: Final[dict[Kind, Container[str]]] = {
    Kind.TANK: _Every(),
    Kind.GENERATOR: frozenset({"state", "speed", "on_load", "power", "load", "fuel_rate"}),
    Kind.GRID: frozenset({"present", "voltage", "power"}),
    Kind.LOAD: frozenset({"state", "power"}),
}


@dataclass(frozen=True, slots=True)
class Figure:
    """Hours of fuel and what they rest on."""

    hours: float
    rate: float  # L/h assumed
    usable: float  # litres above the reserve (smoothed)
    # The load assumed (kW; None when only the level is known) and which: "present" (the
    # last ten minutes), "typical" (the last hour's demand), "history" (the level's own rate).
    load: float | None
    basis: str
    # The source's correction by the level (1 = none), and the rate's source.
    correction: float
    source: str


class Fuel:
    """The site's fuel: tanks, burn rates, runtime, refills, drains and the fuel-low alarm."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s components."""
        self.site = site
        self.low = False
        self.low_litres: float | None = None
        self.estimate = FuelEstimate()
        # When fuel low was last checked (POSIX s of the readings' time).
        self._checked: float | None = None

    # -- the tanks ---------------------------------------------------------------------------

    def _tank_setting(self, tank: Component, key: str, default: float) -> float:
        return tank.settings.get(key, default)

    def capacity(self, tank: Component) -> float:
        """A tank's capacity, L: its meta, else the site setting."""
        return self._tank_setting(tank, "capacity", self.site.settings.tank_capacity)

    def reserve(self, tank: Component) -> float:
        """A tank's reserve, L."""
        share = self._tank_setting(tank, "reserve", self.site.settings.tank_reserve)
        return share / 100 * self.capacity(tank)

    def tank_litres(self, tank: Component, now: datetime) -> float | None:
        """Fuel in the tank, L: its volume, else its level times its capacity."""
        volume = self.site.number(tank, "volume", now)
        if volume is not None:
            return volume
        level = self.site.number(tank, "level", now)
        return None if level is None else level / 100 * self.capacity(tank)

    def litres(self, now: datetime) -> float | None:
        """Fuel in all tanks, L; None when any tank's reading is not live."""
        tanks = self.site.of_kind(Kind.TANK)
        return _total(self.tank_litres(tank, now) for tank in tanks) if tanks else None

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
            usable += max(0.0, litres - self.reserve(tank))
        return usable

    def level(self, now: datetime) -> float | None:
        """All tanks' fuel as a share of their capacity, %; None when any is not live."""
        tanks = self.site.of_kind(Kind.TANK)
        litres = [self.tank_litres(t, now) for t in tanks]
        if not tanks or any(v is None for v in litres):
            return None
        return sum(v or 0.0 for v in litres) / sum(self.capacity(t) for t in tanks) * 100

    def smoothed_usable(self, now: datetime) -> float | None:
        """Usable litres from the level's line (or its average), not one noisy reading."""
        raw = self.litres(now)
        if raw is None:
            return None
        estimate = self.estimate
        smoothed: float | None = None
        if estimate.scale is not None and estimate.scale != self._scale():
            # A capacity changed since the last reading was taken in (a setting, a meta): the
            # smoothed litres are on the old scale until the next reading starts them afresh.
            smoothed = raw
        elif estimate.filling is None and estimate.draining is None:
            if self.site.power.any_running(now):
                smoothed = self._line_value(now)
            elif estimate.still is not None:
                smoothed = estimate.still[1]
        if smoothed is None:
            smoothed = raw if estimate.level is None else estimate.level
        reserve = sum(self.reserve(t) for t in self.site.of_kind(Kind.TANK))
        return max(0.0, smoothed - reserve)

    def gauge_noise(self) -> float:
        """The tank gauge's scatter (L, one standard deviation): measured, else assumed."""
        if self.estimate.noise is not None:
            return self.estimate.noise
        capacity = sum(self.capacity(t) for t in self.site.of_kind(Kind.TANK))
        return DEFAULT_NOISE * (capacity or self.site.settings.tank_capacity)

    def gauge_step(self) -> float | None:
        """The tanks' gauges' step (L): the coarsest of their last decimal places, a whole
        per cent of 1000 L being 10 L; None before any has been read."""
        steps = [
            10.0**-places * (1.0 if "volume" in tank.values else self.capacity(tank) / 100)
            for tank in self.site.of_kind(Kind.TANK)
            if (places := self.estimate.decimals.get(tank.id)) is not None
        ]
        return max(steps, default=None)

    def gauge_steps(self) -> float:
        """What the gauge's step can make of no change at all (L): GAUGE_STEPS of its steps."""
        step = self.gauge_step()
        return 0.0 if step is None else GAUGE_STEPS * step

    # -- the generators' burn ------------------------------------------------------------------

    def rate(self, generator: Component, now: datetime) -> float | None:
        """A generator's fuel use now, L/h: measured, else from the curve; None unknown."""
        running = self.site.power.running(generator, now)
        if not running:
            return 0.0 if running is False else None
        measured = self.measured_rate(generator, now)
        if measured is not None:
            return measured
        return self.curve_rate(generator, now)

    def measured_rate(self, generator: Component, now: datetime) -> float | None:
        """A generator's live fuel rate from its controller, L/h; None without one. A running
        diesel always burns fuel: a rate of 0 is a controller whose engine gives it none."""
        measured = self.site.number(generator, "fuel_rate", now)
        return measured if measured else None

    def load(self, generator: Component, now: datetime) -> float | None:
        """A generator's output, kW: its power, else its load % of its rating."""
        power = self.site.number(generator, "power", now)
        if power is not None:
            return max(power, 0.0)
        load = self.site.number(generator, "load", now)
        return None if load is None else load / 100 * self.site.power.rating(generator)

    def curve_rate(self, generator: Component, now: datetime) -> float | None:
        """A running generator's fuel use by the curve at its load; None without a load."""
        if not self.site.power.running(generator, now):
            return 0.0
        rating = self.site.power.rating(generator)
        load = self.load(generator, now)
        return None if load is None else fuel_rate(rating, load / rating)

    def rate_now(self, now: datetime) -> float | None:
        """All generators' fuel use now, L/h; None when one that may run is unknown."""
        return _total(self.rate(g, now) for g in self.site.of_kind(Kind.GENERATOR))

    def unrated_running(self, now: datetime) -> bool:
        """Whether a generator runs with no rate known (neither a fuel rate nor a load); one
        whose state is unknown (its controller silent) is not known to run."""
        return any(
            self.site.power.running(generator, now) and self.rate(generator, now) is None
            for generator in self.site.of_kind(Kind.GENERATOR)
        )

    def integrate(
        self,
        generator: Component,
        run: GeneratorRun,
        rate: float | None,
        last: datetime,
        until: datetime,
    ) -> None:
        """Move a generator's smoothed rate and what it burned from `last` to `until`.

        The smoothing starts afresh when the generator takes load: the warm-up's idle burn
        must not linger in the figure.
        """
        seconds = (until - last).total_seconds()
        hours = seconds / 3600
        estimate = self.estimate
        on_load = bool(self.site.power.on_load(generator, last))
        if on_load and not estimate.loaded.get(generator.id, False):
            run.forget_rate()
            estimate.hourly.pop(generator.id, None)
        estimate.loaded[generator.id] = on_load
        if rate:
            weight = 1 - math.exp(-seconds / RATE_SMOOTHING)
            previous = rate if run.smoothed_rate is None else run.smoothed_rate
            run.smoothed_rate = previous + (rate - previous) * weight
            run.follow_rise(rate, last, rate > run.smoothed_rate * (1 + SWING))
            estimate.burned += rate * hours
            self._follow_hour(generator.id, run.smoothed_rate, seconds, until.timestamp())
        else:
            estimate.hourly.pop(generator.id, None)
            run.forget_rise()
        curve = self.curve_rate(generator, last)
        if curve:
            estimate.curve_burned += curve * hours
        if self.site.power.running(generator, last):
            estimate.run_hours += hours
            if rate is None:
                estimate.unrated_hours += hours

    def _follow_hour(self, generator_id: str, smoothed: float, seconds: float, time: float) -> None:
        """The last hour's average rate, and when the smoothed rate last swung across it."""
        hourly = self.estimate.hourly.get(generator_id)
        if hourly is None:
            self.estimate.hourly[generator_id] = [smoothed, 0.0]
            return
        average = hourly[0] + (smoothed - hourly[0]) * (1 - math.exp(-seconds / 3600))
        side = hourly[1]
        if smoothed > average * (1 + SWING):
            side = 1.0
        elif smoothed < average * (1 - SWING):
            side = -1.0
        swung = bool(hourly[1]) and side != hourly[1]
        hourly[0], hourly[1] = average, side
        # The swings' times, oldest first: those older than the hour leave from the front.
        while len(hourly) > 2 and hourly[2] <= time - 3600:
            del hourly[2]
        if swung:
            hourly.append(time)

    def assumed_rate(
        self, generator: Component, run: GeneratorRun, rate: float
    ) -> tuple[float, bool] | None:
        """The rate a figure assumes for a generator (reading `rate` now) and whether it is
        the last hour's.

        The last ten minutes, unless the load has swung back and forth within the last hour
        (loads rotated every 20 minutes, say): then the hour's average says more of what comes.
        A rise held for RISE_HOLD is a step up: its lowest rate at once (a figure that lags a
        heater coming on is optimistic), and no more than the rate now (the heater went off).
        """
        if run.smoothed_rate is None:
            return None
        hourly = self.estimate.hourly.get(generator.id)
        if hourly is not None and len(hourly) - 2 >= SWINGS:
            return hourly[0], True
        step = run.step_rate(RISE_HOLD)
        if step is not None:
            return max(run.smoothed_rate, min(step, rate)), False
        return run.smoothed_rate, False

    def _follow_demand(self, now: datetime) -> None:
        """Average the site's demand over the last hour (each value held until the next)."""
        estimate = self.estimate
        time = now.timestamp()
        if estimate.demand_time is not None and time <= estimate.demand_time:
            return
        demand = self._demand(now)
        if demand is None:
            return
        if estimate.demand is None or estimate.demand_time is None:
            estimate.demand = demand
        else:
            fade = math.exp(-(time - estimate.demand_time) / DEMAND_SMOOTHING)
            estimate.demand = demand + (estimate.demand - demand) * fade
        estimate.demand_time = time

    def _demand(self, now: datetime) -> float | None:
        """What the site draws now, kW: its generators' output on load, else the grid's import,
        else its loads' power; None when nothing measures it."""
        feeding = [g for g in self.site.generators() if self.site.power.on_load(g, now)]
        if feeding:
            return _total(self.load(generator, now) for generator in feeding)
        if not self.site.power.grid_present(now):
            return None
        grid = [self.site.number(meter, "power", now) for meter in self.site.of_kind(Kind.GRID)]
        imported = [p for p in grid if p is not None]
        if imported:
            return max(sum(imported), 0.0)
        loads = [self.site.number(load, "power", now) for load in self.site.of_kind(Kind.LOAD)]
        drawn = [max(p, 0.0) for p in loads if p is not None]
        return sum(drawn) if drawn else None

    # -- the level's evidence ------------------------------------------------------------------

    def observe(self, now: datetime, events: list[SiteEvent]) -> None:
        """Take in the tanks' newest reading: the lines, refills and drains."""
        tanks = self.site.of_kind(Kind.TANK)
        # Most calls come with another reading (a generator's output): no newer level, so
        # nothing to take in, and the litres need not be worked out.
        newest: datetime | None = None
        for tank in tanks:
            for name in ("level", "volume"):
                sample = tank.values.get(name)
                if sample is not None and (newest is None or sample.time > newest):
                    newest = sample.time
        if newest is None:
            return
        time = newest.timestamp()
        estimate = self.estimate
        if estimate.level_time is not None and time <= estimate.level_time:
            return
        litres = self.litres(now)
        if litres is None:
            return
        previous_time, estimate.level_time = estimate.level_time, time
        for tank in tanks:
            sample = tank.values.get("volume") or tank.values.get("level")
            if sample is not None and isinstance(sample.value, int | float):
                places = _decimals(float(sample.value))
                if places > estimate.decimals.get(tank.id, -1):
                    estimate.decimals[tank.id] = places
        scale = self._scale()
        previous_scale, estimate.scale = estimate.scale, scale
        unscaled = litres - self._scaled(now)
        if previous_scale is not None and scale != previous_scale:
            # A tank's capacity changed (a setting, its meta): the litres taken in before were
            # on another scale; a difference from them is neither a refill nor a drain.
            draining, filling = estimate.draining, estimate.filling
            if previous_scale and all("volume" not in t.values for t in tanks):
                estimate.draining = None  # not logged on the old scale: it goes on below
            else:
                draining = None  # a drain logged as it stands, and ended
            self._start_afresh(time, litres, rescaled=True)
            ratio = scale / previous_scale if previous_scale else 1.0
            if draining is not None:
                # A drain under way goes on as the same drain, its litres on the new scale:
                # the fuel still going is not a second one.
                start, reference, lost, lower_at = draining
                estimate.draining = [start, reference * ratio, lost * ratio, lower_at]
            if filling is not None and previous_scale and scale:
                # So does a delivery: its refill is the whole of it, from when it began. Only
                # the litres in tanks read in per cent move (all of them, on a site with no
                # tank that reports litres). With no such tank left (removed, or reporting
                # litres now) there is no scale to move them by: the delivery is taken from
                # the level as it stands, as after a gap.
                start, before, peak, rose_at, in_scaled = filling
                now_scaled = (litres - unscaled) / ratio
                estimate.filling = [
                    start,
                    before + in_scaled * (ratio - 1),
                    peak + now_scaled * (ratio - 1),
                    rose_at,
                    in_scaled * ratio,
                ]
            estimate.unscaled = unscaled
            self._window(time, litres)
            return
        running = self.site.power.any_running(now)
        if running and estimate.draining is not None:
            # A run began while fuel was being lost: the loss is logged as it stands (it was
            # raised already), and the burn is judged from the level it left.
            self._end_drain(time)
            window = [r[1] for r in estimate.recent]
            estimate.level = sum(window) / len(window)
        expected = self._expected(running, now)
        if estimate.level is None or estimate.unscaled is None or previous_time is None:
            estimate.level, estimate.unscaled = litres, unscaled
        else:
            fade = math.exp(-(time - previous_time) / LEVEL_SMOOTHING)
            estimate.level = litres + (estimate.level - litres) * fade
            estimate.unscaled = unscaled + (estimate.unscaled - unscaled) * fade
        if estimate.recent and abs(litres - estimate.recent[-1][1]) > 1e-6:
            estimate.moved = True
        self._window(time, litres)
        if estimate.filling is not None:
            self._follow_refill(time, litres, now, events)
            return
        threshold = max(REFILL_MIN, REFILL_SIGMAS * self.gauge_noise(), self.gauge_steps())
        # Unheard for longer than a reading may take to come again (the staleness timeout, or
        # a polled gauge's own time): not known to have held.
        gap = max(
            self.site.stale_after(tank, name)
            for tank in tanks
            for name in ("level", "volume")
            if name in tank.values
        ).total_seconds()
        # A drain under way when the gauge went unheard (Home Assistant restarted or killed),
        # the set still standing and the gap short: the same drain goes on, counted from the
        # level the tank held before it, and is not raised a second time.
        carried = (
            estimate.draining is not None
            and running is False
            and previous_time is not None
            and time - previous_time <= LONG_STOP
        )
        if (
            previous_time is not None
            and time - previous_time > gap
            and not carried
            and (expected is None or litres - expected <= threshold)
        ):
            # Nothing is known of what burned while the gauge was not heard (Home Assistant not
            # running, a silent gauge): a lower level then is not judged a drain. A higher one
            # is a refill all the same: burning only lowers it.
            self._start_afresh(time, litres, rescaled=False)
            return
        if expected is not None and litres - expected > threshold:
            # Of the litres before, those in tanks read in per cent: all but those in tanks
            # reporting litres, less the rise if it is theirs (they rose more than the others
            # since the level's average).
            theirs = unscaled - estimate.unscaled
            before = unscaled - (
                litres - expected if theirs > litres - estimate.level - theirs else 0.0
            )
            in_scaled = max(0.0, expected - before)
            estimate.filling = [time, expected, litres, time, in_scaled]
            self._end_drain(time)
            return
        if running is not False and expected is not None and expected - litres > threshold:
            # Far below what the burn explains: a second such reading is a loss, not noise.
            if estimate.dropped is None:
                estimate.dropped = expected
                return
            self._lost(time, estimate.dropped, litres, now, events)
            return
        estimate.dropped = None
        if running and (
            estimate.unburned
            or any(
                (run := self.site.runs.get(g.id)) is None or run.integrated_to is None
                for g in self.site.generators()
                if self.site.power.running(g, now)
            )
        ):
            # What a running set burned since the last level is not known (Home Assistant
            # started since, before or after the set's first reading; its controller silent
            # for longer than the timeout): the level fell by it, which no rate says. The lines
            # are cut, as after a gap in the gauge's readings.
            self._start_afresh(time, litres, rescaled=False)
        elif running:
            self._running(time, litres, now)
        elif running is False:
            estimate.unburned = False
            self._still(time, litres, now, events)

    def _scale(self) -> float:
        """The capacity the tanks' levels are read against, L (0 when all report litres)."""
        return sum(
            self.capacity(tank)
            for tank in self.site.of_kind(Kind.TANK)
            if "volume" not in tank.values
        )

    def _scaled(self, now: datetime) -> float:
        """The litres in the tanks read in per cent (against the scale), L."""
        return sum(
            self.tank_litres(tank, now) or 0.0
            for tank in self.site.of_kind(Kind.TANK)
            if "volume" not in tank.values
        )

    def _start_afresh(self, time: float, litres: float, rescaled: bool) -> None:
        """The level's evidence starts again at `litres`: after a gap in the gauge's readings
        the lines are cut (their correction stays); after a capacity change nothing taken in
        before is on the same scale, so the lines and the gauge's noise are learnt again."""
        estimate = self.estimate
        self._end_drain(time)
        estimate.level = litres
        estimate.unburned = False
        estimate.dropped = estimate.filling = None
        self._settle(None)
        if rescaled:
            estimate.recent = []
            estimate.by_rate, estimate.by_curve, estimate.by_hours = Line(), Line(), Line()
            estimate.by_unrated = Line()
            estimate.noise, estimate.moved = None, False
            return
        for line in estimate.lines():
            line.cut()

    def _line_value(self, now: datetime) -> float | None:
        """The litres in the tanks by the level's line while a generator runs; None before
        a line has enough readings.

        While one runs without a rate, the lines of the rates leave out its burn: the litres
        are the line of the level with the rated burn added back, less that burn."""
        estimate = self.estimate
        lines = (
            (
                (estimate.by_unrated, estimate.unrated_hours, estimate.burned),
                (estimate.by_hours, estimate.run_hours, 0.0),
            )
            if self.rate_now(now) is None
            else (
                (estimate.by_rate, estimate.burned, 0.0),
                (estimate.by_curve, estimate.curve_burned, 0.0),
                (estimate.by_hours, estimate.run_hours, 0.0),
            )
        )
        for line, x, rated in lines:
            value = line.value(x)
            if value is not None:
                return value - rated
        return None

    def _expected(self, running: bool | None, now: datetime) -> float | None:
        """The litres the tank should hold now, by the line, the still tank or the average."""
        estimate = self.estimate
        if running:
            value = self._line_value(now)
            if value is not None:
                return value
        if running is False and estimate.still is not None and estimate.draining is None:
            return estimate.still[1]
        return estimate.level

    def _window(self, time: float, litres: float) -> None:
        """Keep the last minute's readings; fold older ones into the still tank's level.

        The readings are in time order (`observe` takes only newer ones), so those that left
        the minute are at the front: a reading costs what leaves, not the whole minute.
        """
        estimate = self.estimate
        recent = estimate.recent
        gone = 0
        while gone < len(recent) and recent[gone][0] <= time - DRAIN_WINDOW:
            if estimate.still is not None and estimate.draining is None:
                self._hold(recent[gone])
            gone += 1
        del recent[:gone]
        recent.append([time, litres])

    def _hold(self, reading: list[float]) -> None:
        """A reading that left the minute: the still tank's level learns it once it is older
        than `DRAIN_HOLD`, so the first litres of a drain not yet raised are not learnt as the
        level the tank held (they would be missing from the loss). A young level learns at
        once, so that a drain can be judged soon after the engine stopped; only until it holds
        its first readings back: a minute that brings more readings than it has learnt (they
        come unevenly) would otherwise teach it a drain's first litres."""
        estimate = self.estimate
        assert estimate.still is not None
        held = estimate.held
        if not held and estimate.still[2] < len(estimate.recent):
            self._learn(reading[0], reading[1], 1.0)
            return
        if not held or reading[0] - held[-1][0] >= DRAIN_HOLD:
            held.append([reading[0], 0.0, 0.0])
            if len(held) > 2:
                start, total, count = held.pop(0)
                self._learn(start, total / count, count)
        held[-1][1] += reading[1]
        held[-1][2] += 1.0

    def _learn(self, time: float, litres: float, count: float) -> None:
        """The still tank's level takes in `count` readings averaging `litres`."""
        estimate = self.estimate
        assert estimate.still is not None
        since, mean, weight = estimate.still
        fade = math.exp(-(time - since) / DRAIN_REFERENCE) if weight else 1.0
        weight = weight * fade + count
        estimate.still = [time, mean + (litres - mean) * count / weight, weight]

    def _settle(self, still: list[float] | None) -> None:
        """The still tank's level starts again (or is unknown): nothing held is learnt."""
        self.estimate.still = still
        self.estimate.held = []

    def _running(self, time: float, litres: float, now: datetime) -> None:
        """A reading while a generator runs: a point on each line whose x is known."""
        estimate = self.estimate
        if estimate.stopped_at is not None and time - estimate.stopped_at > LONG_STOP:
            for line in estimate.lines():
                line.cut()
        estimate.stopped_at = None
        self._settle(None)
        fade = math.exp(-(estimate.run_hours - estimate.faded_at) / FORGET_HOURS)
        estimate.faded_at = estimate.run_hours
        rate_known = self.rate_now(now) is not None
        curve_known = all(self.curve_rate(g, now) is not None for g in self.site.generators())
        if rate_known:
            estimate.by_rate.add(estimate.burned, litres, fade)
            # No set without a rate runs: the rated litres added back hold the rates' error
            # meanwhile, not the unrated sets' burn. Their line's stretch ends (its slope stays).
            estimate.by_unrated.cut()
        else:
            estimate.by_rate.cut()
        if curve_known:
            estimate.by_curve.add(estimate.curve_burned, litres, fade)
        else:
            estimate.by_curve.cut()
        estimate.by_hours.add(estimate.run_hours, litres, fade)
        if not rate_known:
            estimate.by_unrated.add(estimate.unrated_hours, litres + estimate.burned, fade)
        best = estimate.by_rate if rate_known else estimate.by_hours
        noise = best.noise() if best.closed_n + best.n >= LINE_NOISE_POINTS else None
        if noise is not None:
            estimate.noise = noise

    def _lost(
        self, time: float, before: float, litres: float, now: datetime, events: list[SiteEvent]
    ) -> None:
        """The level fell far faster than the generators burn: raise it, start a new stretch."""
        estimate = self.estimate
        estimate.dropped = None
        window = [r[1] for r in estimate.recent[-2:]]
        after = sum(window) / len(window)
        estimate.level = after
        for line in estimate.lines():
            line.cut()
        lost = before - after
        estimate.drains = [*estimate.drains, Tally(time, round(lost, 1))][-LOG_LENGTH:]
        events.append(
            SiteEvent(
                EventType.FUEL_DRAIN,
                "tank",
                self._tank_id(),
                now,
                {"litres_lost": round(lost, 1), **self.figures(now)},
            )
        )

    def _still(self, time: float, litres: float, now: datetime, events: list[SiteEvent]) -> None:
        """A reading while every generator stands still: the tank must hold its level."""
        estimate = self.estimate
        if estimate.stopped_at is None:
            estimate.stopped_at = time
        if estimate.draining is not None:
            self._follow_drain(time)
            return
        if estimate.still is None:
            if time - estimate.stopped_at >= DRAIN_SETTLE - DRAIN_WINDOW:
                self._settle([time, litres, 0.0])
            return
        _, reference, weight = estimate.still
        window = [r[1] for r in estimate.recent]
        if not estimate.held and weight < len(window):
            return  # the level the tank held is not known yet (still learning at once)
        mean = sum(window) / len(window)
        spread = self.gauge_noise() * math.sqrt(1 / len(window) + 1 / weight)
        lost = reference - mean
        if lost > max(DRAIN_MIN, DRAIN_SIGMAS * spread, self.gauge_steps()):
            estimate.draining = [estimate.recent[0][0], reference, lost, time]
            events.append(
                SiteEvent(
                    EventType.FUEL_DRAIN,
                    "tank",
                    self._tank_id(),
                    now,
                    {"litres_lost": round(lost, 1), **self.figures(now)},
                )
            )

    def _follow_drain(self, time: float) -> None:
        estimate = self.estimate
        assert estimate.draining is not None
        start, reference, lost, lower_at = estimate.draining
        window = [r[1] for r in estimate.recent]
        now_lost = reference - sum(window) / len(window)
        noise = self.gauge_noise() / math.sqrt(len(window))
        if now_lost > lost + noise:
            estimate.draining = [start, reference, now_lost, time]
        elif time - lower_at >= DRAIN_SETTLE:
            # The level has held: the loss is what it held at, not the last step above the
            # noise (which lags the level by up to one step, or leads it by one noisy mean).
            estimate.draining = [start, reference, now_lost, lower_at]
            self._end_drain(time)

    def _end_drain(self, time: float) -> None:
        """A drain is over (or a refill or a run began): log it, start a new stretch."""
        estimate = self.estimate
        if estimate.draining is None:
            return
        start, _, lost, _ = estimate.draining
        estimate.draining = None
        estimate.drains = [*estimate.drains, Tally(start, round(lost, 1))][-LOG_LENGTH:]
        for line in estimate.lines():
            line.cut()
        window = [r[1] for r in estimate.recent]
        self._settle([time, sum(window) / len(window), float(len(window))])

    def _follow_refill(
        self, time: float, litres: float, now: datetime, events: list[SiteEvent]
    ) -> None:
        estimate = self.estimate
        assert estimate.filling is not None
        start, before, peak, rose_at, in_scaled = estimate.filling
        if litres > peak + self.gauge_noise():
            estimate.filling = [start, before, litres, time, in_scaled]
            return
        if time - rose_at < REFILL_SETTLE:
            return
        estimate.filling = None
        window = [r[1] for r in estimate.recent]
        after = sum(window) / len(window)
        added = after - before
        estimate.level = after
        if added < max(REFILL_MIN, REFILL_SIGMAS * self.gauge_noise() / 2):
            return  # a spike, not a delivery
        for line in estimate.lines():
            line.cut()
        self._settle(None if estimate.stopped_at is None else [time, after, 0.0])
        estimate.refills = [*estimate.refills, Tally(start, round(added, 1))][-LOG_LENGTH:]
        began = datetime.fromtimestamp(start, now.tzinfo)
        self.site.outages.refilled(began, round(added, 1))
        events.append(
            SiteEvent(
                EventType.FUEL_REFILLED,
                "tank",
                self._tank_id(),
                began,
                {"litres_added": round(added, 1), **self.figures(now)},
            )
        )

    def _tank_id(self) -> str:
        tanks = self.site.of_kind(Kind.TANK)
        return tanks[0].id if tanks else "main"

    # -- the figures ---------------------------------------------------------------------------

    def slope(self, line: Line) -> tuple[float, float] | None:
        """The level's slope on `line` and its variance, no more precise than the gauge's step
        allows; None while the gauge has not moved at all (stuck at one reading, or still
        within its first step: that says nothing of the burn).

        A gauge whose readings scatter across its steps (by half a step or more) tells the
        level between them by how often it reads each: its scatter is its precision."""
        slope = line.slope()
        step = self.gauge_step()
        if slope is None or step is None or not self.estimate.moved:
            return None
        scatter = line.noise()
        if scatter is not None and scatter >= step / 2:
            return slope
        return slope[0], max(slope[1], line.step_variance(step))

    def correction(self, line: Line, trust: float) -> float:
        """The level's correction of a rate source (1 while the level has not spoken)."""
        slope = self.slope(line)
        if slope is None:
            return 1.0
        return fused(-slope[0], slope[1], trust)

    def rate_correction(self, now: datetime) -> float:
        """The level's correction of the generators' rates as it stands: what the litres the
        rates say were burned are multiplied by to give what the tanks lost; the same as the
        fuel hours show."""
        trust = RATE_TRUST if self._measured(now) else CURVE_TRUST
        return self.correction(self.estimate.by_rate, trust)

    def _measured(self, now: datetime) -> bool:
        """Whether the rates the level corrects are the controllers' own: every generator
        burning now reports its fuel rate (one standing still burns nothing, whether its last
        rate is stale or not). While none burns (the sets stopped before the grid came back),
        whether every generator's controller has reported one at all."""
        generators = self.site.generators()
        burning = [generator for generator in generators if self.rate(generator, now)]
        if not burning:
            return all("fuel_rate" in generator.values for generator in generators)
        return all(self.measured_rate(g, now) is not None for g in burning)

    def level_rate(self) -> float:
        """The level's own fall per hour run (L/h): what a generator with no rate burns on
        a site where none has one; 0 while the level has not told it."""
        return self._fall(self.estimate.by_hours)

    def unrated_rate(self) -> float:
        """What a generator with no rate burns per hour run beside generators with one
        (L/h): the level's fall less what the rated ones burned, per hour the unrated ones
        ran (the level's own fall per hour run holds the rated ones' burn too); never below
        0, and 0 while the level has not told it."""
        return self._fall(self.estimate.by_unrated)

    def _fall(self, line: Line) -> float:
        """The level's fall per unit of `line`'s x (L); 0 while it has not fallen."""
        slope = self.slope(line)
        return 0.0 if slope is None or slope[0] >= 0 else -slope[0]

    def present(self, now: datetime) -> Figure | None:
        """Hours at the present load; None when no generator runs or an input is not live."""
        usable = self.smoothed_usable(now)
        if usable is None or not self.site.power.any_running(now):
            return None
        generators = self.site.generators()
        running = [self.site.power.running(g, now) for g in generators]
        if None in running:
            # Whether one set runs cannot be told (its controller silent) while another does:
            # its burn, if it runs, is in the level's fall and in no rate or hour counted, so
            # any figure would be a guess, and an optimistic one (35.7 h shown for 20.3 h).
            return None
        # Every set's state known: a rate of None is a running set without one.
        rates = [(generator, self.rate(generator, now)) for generator in generators]
        unrated = [generator for generator, rate in rates if rate is None]
        # Only the level knows the burn: its fall per hour run, for every set that runs.
        sets = max(sum(bool(r) for r in running), 1)
        if unrated and not any(rate for _, rate in rates):
            # None with a rate burns: the level's fall per hour a set without one ran (on a
            # site with rated sets, their burn left out), else per hour any set ran.
            return self._by_level(usable, "present", sets, unrated=True)
        smoothed = 0.0
        hour = False
        loads: list[float | None] = []
        for generator, rate in rates:
            if not rate:
                continue
            loads.append(self.load(generator, now))
            run = self.site.runs.get(generator.id)
            # The reading it takes load with: its smoothing starts afresh from it (`integrate`,
            # at the next reading), and must not show the warm-up's idle burn meanwhile.
            loaded = self.estimate.loaded.get(generator.id, False)
            taking_load = not loaded and self.site.power.on_load(generator, now)
            assumed = (
                None if run is None or taking_load else self.assumed_rate(generator, run, rate)
            )
            # Its first reading, before there is anything to smooth: the rate as it is.
            smoothed += rate if assumed is None else assumed[0]
            hour = hour or (assumed is not None and assumed[1])
        if not smoothed:
            return None
        measured = self._measured(now)
        trust = RATE_TRUST if measured else CURVE_TRUST
        correction = self.correction(self.estimate.by_rate, trust)
        rate = smoothed * correction
        if unrated:
            # Beside them, sets with no rate: each the level's fall less the rated sets' burn
            # per hour it ran, once the hours are that clear. That fall holds the rates' error
            # as well: their correction is not applied on top of it.
            # Until then (a state saved before it was learnt), as if all had none.
            slope = self.slope(self.estimate.by_unrated)
            if slope is None or slope[0] >= 0:
                return self._by_level(usable, "present", sets)
            correction = 1.0
            rate = smoothed - slope[0] * len(unrated)
            if math.sqrt(slope[1]) * len(unrated) > LEVEL_ONLY_PRECISION * rate:
                return self._by_level(usable, "present", sets)
        load = None if any(v is None for v in loads) else sum(v or 0.0 for v in loads)
        if unrated:
            load = None
        elif hour:
            # The hour's rate goes with the hour's load (the site's demand over the last hour),
            # not with the load of this moment's swing.
            load = self.estimate.demand
        return Figure(
            hours=usable / rate,
            rate=rate,
            usable=usable,
            load=load,
            basis="hour" if hour else "present",
            correction=correction,
            source="level" if unrated else "controller" if measured else "curve",
        )

    def _by_level(
        self, usable: float, basis: str, sets: int = 1, unrated: bool = False
    ) -> Figure | None:
        """Hours at the rate the level itself has fallen per hour run, for `sets` sets
        running, once that is clear; with `unrated`, per hour a set without a rate ran
        first, once that is clear."""
        lines = (self.estimate.by_unrated, self.estimate.by_hours)
        for line in lines if unrated else lines[1:]:
            slope = self.slope(line)
            if slope is None or slope[0] >= 0:
                continue
            if math.sqrt(slope[1]) > LEVEL_ONLY_PRECISION * -slope[0]:
                continue
            break
        else:
            return None
        rate = -slope[0] * sets
        return Figure(
            hours=usable / rate,
            rate=rate,
            usable=usable,
            load=None,
            basis=basis,
            correction=1.0,
            source="level",
        )

    def typical(self, now: datetime) -> Figure | None:
        """Hours at the site's typical load: the last hour's demand on the fuel curve.

        Known at every moment the tanks are, on the grid too, once the demand has been
        measured (generator output, grid import or the loads' power); else at the rate the
        level has fallen per hour run.
        """
        usable = self.smoothed_usable(now)
        if usable is None:
            return None
        demand = self.estimate.demand
        if demand is None:
            return self._by_level(usable, "history")
        ratings = sorted(
            (self.site.power.rating(g) for g in self.site.generators()), reverse=True
        ) or [self.site.settings.generator_rating]
        carrying: list[float] = []
        for rating in ratings:
            carrying.append(rating)
            if sum(carrying) >= demand:
                break
        share = demand / sum(carrying)
        curve = sum(fuel_rate(rating, share) for rating in carrying)
        correction = self.correction(self.estimate.by_curve, CURVE_TRUST)
        rate = curve * correction
        return Figure(
            hours=usable / rate,
            rate=rate,
            usable=usable,
            load=demand,
            basis="typical",
            correction=correction,
            source="curve",
        )

    def runtime(self, now: datetime) -> float | None:
        """Hours until the tanks reach their reserve at the present load.

        None when no generator is running or any input is not live.
        """
        figure = self.present(now)
        return None if figure is None else figure.hours

    def figures(self, now: datetime) -> dict[str, Any]:
        """What alarms about fuel and power say of it."""
        hours = self.runtime(now)
        level = self.level(now)
        return {
            "fuel_hours": None if hours is None else round(hours, 1),
            "fuel_level": None if level is None else round(level, 1),
        }

    def evaluate(self, now: datetime, events: list[SiteEvent], every: bool = False) -> None:
        """Take in the level, then raise fuel-low once when it starts; clear it on evidence.

        The fuel-low check works the whole estimate out: a burst of a controller's readings
        (its rate, load and power within the same second) needs it once. It runs at most once
        per `LOW_CHECK_INTERVAL` of the readings' time, and whenever `every` (the site's tick):
        a check the interval put off runs at the next reading after it, or the next tick.
        """
        self._follow_demand(now)
        self.observe(now, events)
        time = now.timestamp()
        if (
            not every
            and self._checked is not None
            and 0 < time - self._checked < LOW_CHECK_INTERVAL
        ):
            return
        self._checked = time
        hours = self.runtime(now)
        usable = self.usable(now)
        limit = self.site.settings.fuel_low_hours
        low_now = (hours is not None and hours < limit) or (usable is not None and usable <= 0)
        if low_now and not self.low:
            self.low, self.low_litres = True, usable
            events.append(
                SiteEvent(EventType.FUEL_LOW, "tank", self._tank_id(), now, self.figures(now))
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
        return {
            "fuel_low": self.low,
            "fuel_low_litres": self.low_litres,
            "fuel_estimate": self.estimate.snapshot(),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Read the storage form back."""
        self.low = bool(data.get("fuel_low", False))
        litres = data.get("fuel_low_litres")
        self.low_litres = None if litres is None else float(litres)
        self.estimate = FuelEstimate.from_snapshot(dict(data.get("fuel_estimate") or {}))


# The line's scatter is taken as the gauge's noise once it rests on this many readings.
LINE_NOISE_POINTS: Final = 60


def _decimals(value: float) -> int:
    """How many decimal places a reading shows (up to four): a gauge in whole per cent, 0."""
    for places in range(4):
        scaled = value * 10**places
        if abs(scaled - round(scaled)) < 1e-6:
            return places
    return 4


def _total(values: Iterable[float | None]) -> float | None:
    """The sum of `values`; None when any of them is unknown."""
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total
