"""How fast an unpowered freezer warms, and when it will cross a limit.

A closed cabinet without power warms towards the room's temperature by Newton's law,
`dT/dt = (T_room − T)/τ`, so `ln(T_room − T)` falls on a straight line in time with slope
`−1/τ`. The fit is a weighted least-squares line through that logarithm, over the readings
since the warming began and never before it (a powered cabinet's compressor cycles and defrosts
are not warming). Recent readings weigh more, with a memory of half the warming's age (15 min
to 2 h): a probe in the cabinet's air first rises fast, while the air warms up to the contents,
then settles on the contents' slow rise, which is what decides the hours left.

The countdown is the time until the fitted curve reaches the limit,
`τ · ln((T_room − T_now) / (T_room − T_limit))`, with its uncertainty from the fit (delta
method on the slope and the level); the figure shown is one standard deviation on the early
side, the bounds two.

Readings are kept as one-minute means over the last three hours: little to store, and the
same for a probe that reports every ten seconds as for one that reports only on a change.
Times are stored as POSIX seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .components import stored_seconds

BUCKET_SECONDS: Final = 60.0
RETAIN: Final = timedelta(hours=3).total_seconds()
# Readings this close to the room's temperature say little about the curve (the log blows up).
ROOM_MARGIN: Final = 1.0
# A bucket of many readings counts at most as this many: probe noise is not independent.
MAX_BUCKET_WEIGHT: Final = 6.0
# No probe reads better than this (°C), whatever the residuals say.
NOISE_FLOOR: Final = 0.1
# A rise is clear when the slope is this many standard deviations from flat...
CLEAR_SIGMAS: Final = 3.0
# ...over at least this many buckets and this span.
MIN_BUCKETS: Final = 3
MIN_SPAN: Final = timedelta(minutes=5).total_seconds()
# The fit's windows (s back from now), and how far a shorter window's slope may stray from a
# longer one's before the curve counts as bending: further when it warms more slowly lately.
WINDOWS: Final = tuple(timedelta(minutes=m).total_seconds() for m in (10, 20, 40, 80, 160))
SLOWER_SIGMAS: Final = 4.0
FASTER_SIGMAS: Final = 2.5
# A window's line counts only through this many minutes of readings (else the whole warming).
WINDOW_POINTS: Final = 5
# The figure shown lies this many standard deviations early; the bounds are at BOUND_SIGMAS.
CAUTION_SIGMAS: Final = 1.0
BOUND_SIGMAS: Final = 2.0
# A warming time constant learnt from the freezer's last warming is a prior this uncertain.
PRIOR_SPREAD: Final = 0.35
# What a warming must show to teach the time constant: its length and the slope's precision.
LEARN_AFTER: Final = timedelta(minutes=45).total_seconds()
LEARN_PRECISION: Final = 0.25
# Without a power signal: a warming is a rise since the last fall this much larger than the
# cabinet's usual rise between compressor runs (at least MIN_CYCLE_RISE; DEFAULT_CYCLE_RISE
# until a cycle has been seen)...
BAND_MARGIN: Final = 1.0
MIN_CYCLE_RISE: Final = 1.0
DEFAULT_CYCLE_RISE: Final = 2.0
# ...judged on at least this much history...
BAND_HISTORY: Final = timedelta(minutes=60).total_seconds()
# ...that has gone on this long without a fall (a defrost heater, 20-30 min, is off by then).
BAND_PERSIST: Final = timedelta(minutes=30).total_seconds()
RISEN_PERSIST: Final = timedelta(minutes=5).total_seconds()
# A rest that has risen past the cabinet's usual rise between runs and lasted this much longer
# than any rest between runs seen (at least REST_CYCLES of them) is a warming too: the compressor
# would have run by then.
REST_FACTOR: Final = 1.25
REST_CYCLES: Final = 3
# A rise over the last HEATER_WINDOW this much faster than between compressor runs is a heater
# (a defrost) or an open door, not a cabinet without power.
HEATER_WINDOW: Final = timedelta(minutes=15).total_seconds()
HEATER_FACTOR: Final = 2.0
# A fall this large (°C) is the compressor running: a cycle's end, or a warming's.
FALL: Final = 0.5
# A probe whose last reports each moved at least this much reports on a change (delta filter).
ON_CHANGE_STEP: Final = 0.3
ON_CHANGE_REPORTS: Final = 3
# A reading this much older than the newest minute (s) was measured after the clock was set
# back (or the curve was saved by a clock that ran ahead): the curve's times are another
# clock's, so it starts again.
CLOCK_STEP: Final = 60.0


class Basis:
    """Why a freezer is taken to be warming."""

    POWER = "power"  # its power is gone: the grid, no generator on load, or its relay off
    READINGS = "readings"  # no power signal: its readings left their powered band


def seconds(moment: datetime) -> float:
    """A time as POSIX seconds, the storage form here."""
    return moment.timestamp()


def moment(value: float) -> datetime:
    """POSIX seconds back to an aware time."""
    return datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True, slots=True)
class Fit:
    """Newton's curve through one warming: `ln(T_room − T) = level + slope · t`, t in hours
    from now."""

    room: float
    slope: float  # per hour; negative while warming
    slope_var: float
    level: float  # ln(T_room − T) now
    level_var: float
    covariance: float  # of level and slope
    clear: bool
    # With a report-on-change probe, the present reading is known within ±step of the last.
    bounds: tuple[float, float] | None = None

    @property
    def tau(self) -> float | None:
        """The warming's time constant, hours."""
        return -1.0 / self.slope if self.slope < 0 else None

    def now(self) -> float:
        """The fitted temperature now."""
        return self.room - math.exp(self._level_now())

    def _level_now(self) -> float:
        level = self.level
        if self.bounds is not None:
            low, high = self.bounds
            # Temperatures between the bounds, as logs of the distance to the room.
            level = min(max(level, _log_gap(self.room, high)), _log_gap(self.room, low))
        return level

    def hours_to(self, limit: float) -> tuple[float, float, float, float | None] | None:
        """(shown, estimate, low, high) hours until `limit`; None when it is never reached."""
        if self.slope >= 0 or limit >= self.room - 1e-6:
            return None
        target = math.log(self.room - limit)
        level = self._level_now()
        estimate = max(0.0, (level - target) / -self.slope)
        # Delta method on estimate = (level − target) / −slope.
        by_level, by_slope = -1 / self.slope, (level - target) / self.slope**2
        spread = math.sqrt(
            max(
                by_level**2 * self.level_var
                + by_slope**2 * self.slope_var
                + 2 * by_level * by_slope * self.covariance,
                0.0,
            )
        )
        low = max(0.0, estimate - BOUND_SIGMAS * spread)
        shown = max(0.0, estimate - CAUTION_SIGMAS * spread)
        # The slow end: a slope within its bounds of flat may never reach the limit.
        slow = self.slope + BOUND_SIGMAS * math.sqrt(self.slope_var)
        high = None if slow >= 0 else estimate + BOUND_SIGMAS * spread
        return shown, estimate, low, high


@dataclass(frozen=True, slots=True)
class _Line:
    """A weighted least-squares line of ln(T_room − T) over time, level and slope at now."""

    level: float
    slope: float
    level_var: float
    slope_var: float
    covariance: float
    points: int
    span: float  # seconds

    @classmethod
    def through(cls, points: list[tuple[float, float, float]], room: float) -> _Line | None:
        """The line through (hours from now, ln gap, weight); None through fewer than two."""
        if len(points) < 2:
            return None
        total = sum(w for _, _, w in points)
        centre = sum(t * w for t, _, w in points) / total
        mean = sum(z * w for _, z, w in points) / total
        sxx = sum(w * (t - centre) ** 2 for t, _, w in points)
        if sxx <= 0:
            return None
        slope = sum(w * (t - centre) * (z - mean) for t, z, w in points) / sxx
        residual = sum(w * (z - mean - slope * (t - centre)) ** 2 for t, z, w in points)
        # The variance of one reading: a bucket's mean of n readings scatters by 1/n of it, so
        # each bucket counts once in the degrees of freedom. No probe reads better than the floor.
        floor = (NOISE_FLOOR / max(math.exp(mean), ROOM_MARGIN)) ** 2
        unit_var = max(residual / max(len(points) - 2, 0.5), floor)
        slope_var = unit_var / sxx
        mean_var = unit_var / total
        # Moved from the centre to now (t = 0): level = mean − slope · centre.
        return cls(
            level=mean - slope * centre,
            slope=slope,
            level_var=mean_var + centre**2 * slope_var,
            slope_var=slope_var,
            covariance=-centre * slope_var,
            points=len(points),
            span=(points[-1][0] - points[0][0]) * 3600,
        )


def _bends(longer: _Line, shorter: _Line) -> bool:
    """Whether a shorter (more recent) window's slope strays from the longer one's.

    Slower warming lately (the air's first rise settling) must stray further than faster
    warming lately: taking noise for a settling would make the figure optimistic.
    """
    sigma = math.sqrt(shorter.slope_var)
    if shorter.slope > longer.slope:  # slower lately
        return shorter.slope - longer.slope > SLOWER_SIGMAS * sigma
    return longer.slope - shorter.slope > FASTER_SIGMAS * sigma


def _last_low(
    buckets: list[list[float]],
) -> tuple[list[float], list[tuple[float, float, float]]]:
    """The bucket of the last low point (after the last fall), and every earlier rise before a
    fall: (°C, °C per hour, hours)."""
    # Each bucket's neighbourhood mean: one noisy reading is not a fall.
    smooth = [
        [
            b[0],
            b[1],
            sum(n[2] for n in buckets[max(i - 1, 0) : i + 2]) / len(buckets[max(i - 1, 0) : i + 2]),
            b[3],
        ]
        for i, b in enumerate(buckets)
    ]
    low, high = smooth[0], smooth[0]
    rises: list[tuple[float, float, float]] = []
    for bucket in smooth[1:]:
        value = bucket[2]
        if value < low[2]:
            low, high = bucket, bucket
            continue
        if value > high[2]:
            high = bucket
        if value <= high[2] - FALL:
            hours = (high[1] - low[1]) / 3600
            if hours > 0:
                rises.append((high[2] - low[2], (high[2] - low[2]) / hours, hours))
            low, high = bucket, bucket
    return low, rises


def _log_gap(room: float, temperature: float) -> float:
    return math.log(max(room - temperature, 1e-3))


@dataclass(slots=True)
class Warming:
    """One freezer's readings and the warming the model follows, if any."""

    # One-minute means: [minute number, mean time (POSIX s), mean °C, readings].
    buckets: list[list[float]] = field(default_factory=list)
    start: float | None = None
    basis: str | None = None
    peak: float | None = None
    # The time constant (h) learnt from the last warming that showed it clearly.
    tau: float | None = None
    # ... and how fast it rose then (°C/h).
    cycle_rate: float | None = None
    # Without a power signal: since when the readings have risen past their usual cycle.
    risen: float | None = None
    # The largest rise between compressor runs in the last readings that showed any (°C).
    cycle: float | None = None
    # The longest rest between compressor runs then (s), when they showed REST_CYCLES or more.
    rest: float | None = None
    # The last report and how far each of the last ones moved (to tell report-on-change).
    last: float | None = None
    steps: list[float] = field(default_factory=list)

    def add(self, time: float, temperature: float) -> None:
        """Take in one reading."""
        last = self.last
        if last is not None:
            steps = self.steps
            steps.append(abs(temperature - last))
            if len(steps) > ON_CHANGE_REPORTS:
                del steps[0]
        self.last = temperature
        minute = math.floor(time / BUCKET_SECONDS)
        buckets = self.buckets
        newest = buckets[-1] if buckets else None
        if newest is not None and time < newest[1] - CLOCK_STEP:
            buckets.clear()
            newest = None
            if self.start is not None and self.start > time:
                self.start = time  # a warming under way goes on, its curve from here
            if self.risen is not None and self.risen > time:
                self.risen = None
        if newest is not None and newest[0] == minute:
            n = newest[3] + 1
            newest[1] += (time - newest[1]) / n
            newest[2] += (temperature - newest[2]) / n
            newest[3] = n
        elif newest is None or minute > newest[0]:
            buckets.append([float(minute), time, temperature, 1.0])
        # (A reading a little older than the last bucket is kept as the value, not in the curve.)
        cutoff = time - RETAIN
        while buckets and buckets[0][1] < cutoff:
            buckets.pop(0)

    @property
    def step(self) -> float | None:
        """The probe's report step (°C) when it reports only on a change, else None."""
        if len(self.steps) < ON_CHANGE_REPORTS or min(self.steps) < ON_CHANGE_STEP:
            return None
        return min(self.steps)

    def crossed_at(self, limit: float) -> float | None:
        """When the readings went above `limit` and stayed there (POSIX s); None if not above."""
        since = None
        for bucket in reversed(self.buckets):
            if bucket[2] <= limit:
                break
            since = bucket[1]
        return since

    def begin(self, start: float, basis: str) -> None:
        """Warming starts at `start`; nothing before it enters the fit."""
        self.start, self.basis, self.risen = start, basis, None
        self.peak = max((b[2] for b in self.buckets if b[1] >= start), default=None)

    def end(self, now: float, room: float) -> None:
        """The cabinet is cooled again: remember its time constant if the warming showed it."""
        if self.start is not None and now - self.start >= LEARN_AFTER:
            fit = self.fit(now, room, prior=False)
            if fit is not None and fit.clear and fit.tau is not None:
                precision = math.sqrt(fit.slope_var) / -fit.slope
                if precision <= LEARN_PRECISION:
                    self.tau = fit.tau if self.tau is None else (self.tau + fit.tau) / 2
        self.start = self.basis = self.peak = None

    def _fell_to(self, start: float) -> float:
        """Where the curve to fit begins: the warming's start, unless its readings first fell.

        A probe in the air reads falling after the power went when the air was warmer than the
        contents (a defrost heater, an open door): it falls back towards them while they warm,
        and then rises more slowly than they do until that excess has gone, so a figure from
        that rise would be late. The fit then begins as long after the low as the fall took.
        """
        since = [b for b in self.buckets if b[1] >= start]
        if len(since) < 3:
            return start
        # Each bucket's neighbourhood mean: one noisy reading is not a fall.
        smooth = []
        for i, bucket in enumerate(since):
            around = since[max(i - 1, 0) : i + 2]
            smooth.append((bucket[1], sum(b[2] for b in around) / len(around)))
        low_time, low = min(smooth, key=lambda point: point[1])
        if smooth[0][1] - low < FALL:
            return start
        return low_time + (low_time - start)

    def follow_band(self, now: float) -> None:
        """Without a power signal: start a warming when the readings rise past their cycle.

        A powered cabinet rises while its compressor rests and falls when it runs. A rise
        since the last fall that is `BAND_MARGIN` larger than the cabinet's usual rise between
        runs (a defrost's included), and has gone on for `BAND_PERSIST` without a fall, is a
        warming (once it has also stayed past that for `RISEN_PERSIST`); it began at that
        last low point.
        """
        if not self.buckets:
            return
        current = self.buckets[-1][2]
        if self.start is not None:
            self.peak = current if self.peak is None else max(self.peak, current)
            if current <= self.peak - FALL:
                self.start = self.basis = self.peak = None  # cooled again: it was not an outage
            return
        if self.buckets[-1][1] - self.buckets[0][1] < BAND_HISTORY:
            return
        onset, rises = _last_low(self.buckets)
        if rises:
            self.cycle = max(r for r, _, _ in rises)
            self.cycle_rate = max(r for _, r, _ in rises)
            if len(rises) >= REST_CYCLES:
                self.rest = max(h for _, _, h in rises) * 3600
        usual = DEFAULT_CYCLE_RISE if self.cycle is None else self.cycle
        rise = current - onset[2]
        beyond = rise >= max(usual, MIN_CYCLE_RISE) + BAND_MARGIN
        # A rest longer than any seen, above the usual rise: the compressor did not come on.
        unbroken = (
            self.rest is not None
            and rise >= max(usual, MIN_CYCLE_RISE)
            and now - onset[1] >= REST_FACTOR * self.rest
        )
        if not (beyond or unbroken) or self._heated(now):
            self.risen = None
            return
        if self.risen is None:
            self.risen = now
        if now - onset[1] >= BAND_PERSIST and now - self.risen >= RISEN_PERSIST:
            self.begin(onset[1], Basis.READINGS)

    def _heated(self, now: float) -> bool:
        """Whether the last minutes rose much faster than the cabinet warms between runs.

        A cabinet without power warms as it does while its compressor rests; a defrost heater
        (or an open door) warms it faster, and is not an outage.
        """
        if self.cycle_rate is None:
            return False
        recent = [b for b in self.buckets if b[1] >= now - HEATER_WINDOW]
        if len(recent) < 2 or recent[-1][1] <= recent[0][1]:
            return False
        rate = (recent[-1][2] - recent[0][2]) / ((recent[-1][1] - recent[0][1]) / 3600)
        return rate > HEATER_FACTOR * self.cycle_rate

    def fit(self, now: float, room: float, prior: bool = True) -> Fit | None:
        """Newton's curve through the readings since the warming began; None without enough.

        The line is fitted over the last 10, 20, 40 ... minutes of the warming, and the longest
        of these windows is kept whose slope agrees with every shorter one's (`_bends`): a long
        window where the curve is straight (a steady warming, precise),
        a short one where it still bends (the air's first fast rise), so the slope is the
        present one, not an average over a curve. Readings that first fell (the air warmer
        than the contents when the power went) hold the fit back (`_fell_to`).
        """
        if self.start is None:
            return None
        begin = self._fell_to(self.start)
        points = [
            ((time - now) / 3600, _log_gap(room, temperature), min(count, MAX_BUCKET_WEIGHT))
            for _, time, temperature, count in self.buckets
            if time >= begin and room - temperature >= ROOM_MARGIN
        ]
        chosen: _Line | None = None
        shorter: list[_Line] = []
        for window in WINDOWS:
            inside = [p for p in points if -p[0] * 3600 <= window]
            if len(inside) < WINDOW_POINTS and len(inside) < len(points):
                continue  # too few to judge a bend by; a longer window will tell
            line = _Line.through(inside, room)
            if line is None:
                continue
            if any(_bends(line, other) for other in shorter):
                break
            shorter.append(line)
            chosen = line
            if len(inside) == len(points):
                break
        if chosen is None:
            return None
        slope, slope_var, covariance = chosen.slope, chosen.slope_var, chosen.covariance
        clear = (
            slope < 0
            and -slope >= CLEAR_SIGMAS * math.sqrt(slope_var)
            and chosen.points >= MIN_BUCKETS
            and chosen.span >= MIN_SPAN
        )
        if prior and self.tau is not None:
            expected = -1.0 / self.tau
            prior_var = (PRIOR_SPREAD * expected) ** 2
            slope = (slope / slope_var + expected / prior_var) / (1 / slope_var + 1 / prior_var)
            shrink = prior_var / (slope_var + prior_var)
            slope_var, covariance = slope_var * shrink, covariance * shrink
        step = self.step
        bounds = None
        if step is not None and self.last is not None:
            bounds = (self.last - step, self.last + step)
        return Fit(
            room=room,
            slope=slope,
            slope_var=slope_var,
            level=chosen.level,
            level_var=chosen.level_var,
            covariance=covariance,
            clear=clear,
            bounds=bounds,
        )

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "buckets": [list(b) for b in self.buckets],
            "start": self.start,
            "basis": self.basis,
            "peak": self.peak,
            "tau": self.tau,
            "cycle": self.cycle,
            "rest": self.rest,
            "cycle_rate": self.cycle_rate,
            "risen": self.risen,
            "last": self.last,
            "steps": list(self.steps),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Warming:
        """Read the storage form back."""

        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        basis = data.get("basis")
        if basis not in (None, Basis.POWER, Basis.READINGS):
            raise ValueError(f"unknown warming basis {basis!r}")
        buckets = [[float(v) for v in b] for b in data.get("buckets") or ()]
        if any(len(b) != 4 for b in buckets):
            raise ValueError("a warming bucket is damaged")
        return cls(
            buckets=buckets,
            # Shown as a time (when the warming began).
            start=None if data.get("start") is None else stored_seconds(data["start"]),
            basis=basis,
            peak=number("peak"),
            tau=number("tau"),
            cycle=number("cycle"),
            rest=number("rest"),
            cycle_rate=number("cycle_rate"),
            risen=number("risen"),
            last=number("last"),
            steps=[float(s) for s in data.get("steps") or ()],
        )
