"""What the tank level says about the fuel burned: rate correction, refills and drains.

The level falls by what the generators burn. So against the litres the site's rate source
says were burned (the controller's fuel rate, else the fuel curve at the measured load), the
level's slope is the source's error: −1 for a true rate, −1.25 for a rate 20 % low. A weighted
least-squares line through (litres burned, litres in the tanks), one intercept per stretch
between refills and drains and one slope across them, forgets with a time constant of
`FORGET_HOURS` of running. Its slope, weighed against how far the source is trusted
(`RATE_TRUST`, `CURVE_TRUST`), corrects the rate; the same line's value now is the tank's
smoothed level. A site whose only signal is the tank gauge gets the slope against the hours
run, in L/h, once it is clear.

A level that rises beyond the gauge's noise is a refill, logged once it settles; a level that
falls while every generator stands still is a drain (theft, a leak), raised as soon as the
last minute's readings lie clearly below the level the tank held.

Everything is kept as running sums: the same to store after an hour as after a year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from .components import stored_seconds, stored_total

# The line forgets with this time constant, in hours of running.
FORGET_HOURS: Final = 6.0
# How far each source is trusted before the level has spoken: the standard deviation of its
# error as a share (a controller's measured rate; the industry-average fuel curve, which a
# Cummins datasheet beats by 20 %).
RATE_TRUST: Final = 0.10
CURVE_TRUST: Final = 0.20
# The correction stays within these bounds whatever the level says: a gauge stuck at one
# reading must not double the hours shown.
CORRECTION_LIMITS: Final = (0.75, 2.0)
# A level-only figure needs its slope this precise (share, one standard deviation).
LEVEL_ONLY_PRECISION: Final = 0.06
# A stretch's line needs this many readings before its value replaces the level's average.
LINE_POINTS: Final = 20
# The level's own average, for when no line is ready (seconds).
LEVEL_SMOOTHING: Final = 300.0
# Gauge noise (one standard deviation, share of capacity) until it has been measured.
DEFAULT_NOISE: Final = 0.005
# A refill: readings this many gauge deviations (and at least REFILL_MIN litres) above what
# the tank should hold; it has ended when the level has not risen for REFILL_SETTLE seconds.
REFILL_SIGMAS: Final = 5.0
REFILL_MIN: Final = 20.0
REFILL_SETTLE: Final = 120.0
# A drain: the last DRAIN_WINDOW seconds' mean this many deviations of that mean (and at least
# DRAIN_MIN litres) below the still tank's level, which is learnt over DRAIN_REFERENCE seconds
# from DRAIN_SETTLE after the engine stopped; it has ended when the level has held for
# DRAIN_SETTLE.
DRAIN_WINDOW: Final = 60.0
DRAIN_SIGMAS: Final = 4.0
DRAIN_MIN: Final = 5.0
DRAIN_REFERENCE: Final = 7200.0
DRAIN_SETTLE: Final = 300.0
# A level that moves by no more than this many of the gauge's steps (its least change between
# two readings) is not a refill or a drain: a level sitting on a step reads the one or the
# other, and a tank cooling by a few litres overnight may tick down a step (a whole-per-cent
# gauge on 1000 L steps by 10 L).
GAUGE_STEPS: Final = 1.5
# Readings leave the drain window into the still tank's level only once they are this old
# (DRAIN_HOLD to twice it, held in two batches): the minutes of a slow drain before it is raised
# are not learnt as the level the tank held.
DRAIN_HOLD: Final = 600.0
# A run that starts after a stop this long starts a new stretch (the level may have drifted
# with the temperature meanwhile).
LONG_STOP: Final = 3600.0
# The refills and drains remembered for the dashboard.
LOG_LENGTH: Final = 10


@dataclass(slots=True)
class Line:
    """Least squares of y on x with one intercept per stretch and one slope, forgetting.

    Sums of the present stretch are raw; those of closed stretches are kept centred, so only
    their contribution to the slope remains.
    """

    n: float = 0.0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0
    closed_xx: float = 0.0
    closed_xy: float = 0.0
    closed_yy: float = 0.0
    closed_n: float = 0.0
    stretches: float = 0.0

    def add(self, x: float, y: float, fade: float) -> None:
        """Take in one point after fading everything by `fade` (0..1)."""
        for name in ("n", "sx", "sy", "sxx", "sxy", "syy"):
            setattr(self, name, getattr(self, name) * fade)
        self.closed_xx *= fade
        self.closed_xy *= fade
        self.closed_yy *= fade
        self.closed_n *= fade
        self.stretches *= fade
        if self.n == 0:
            self.stretches += 1
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.sxy += x * y
        self.syy += y * y

    def _centred(self) -> tuple[float, float, float]:
        if self.n <= 0:
            return 0.0, 0.0, 0.0
        return (
            self.sxx - self.sx * self.sx / self.n,
            self.sxy - self.sx * self.sy / self.n,
            self.syy - self.sy * self.sy / self.n,
        )

    def cut(self) -> None:
        """End the present stretch: its intercept goes, what it said of the slope stays."""
        xx, xy, yy = self._centred()
        self.closed_xx += xx
        self.closed_xy += xy
        self.closed_yy += yy
        self.closed_n += self.n
        self.n = self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0

    def slope(self) -> tuple[float, float] | None:
        """(slope, its variance); None while x has not moved."""
        xx, xy, yy = self._centred()
        total_xx = self.closed_xx + xx
        if total_xx <= 1e-9:
            return None
        slope = (self.closed_xy + xy) / total_xx
        residual = max(self.closed_yy + yy - slope * slope * total_xx, 0.0)
        freedom = self.closed_n + self.n - self.stretches - 1
        if freedom < 1:
            return None
        return slope, residual / freedom / total_xx

    def step_variance(self, step: float) -> float:
        """The least variance of the slope from readings that move in steps of `step`: each
        end of the x range is known to within a step, however many readings lie between (a
        gauge in whole per cent reads the same for an hour, with no scatter to tell by)."""
        xx, _, _ = self._centred()
        total_xx = self.closed_xx + xx
        if total_xx <= 1e-9:
            return math.inf
        # Readings spread evenly over a span: xx = n·span²/12; the slope's deviation is
        # step/(√6·span) (each end uniform within a step).
        return step * step * (self.closed_n + self.n) / (72 * total_xx)

    def noise(self) -> float | None:
        """The scatter of y about the line (one standard deviation)."""
        xx, xy, yy = self._centred()
        total_xx = self.closed_xx + xx
        freedom = self.closed_n + self.n - self.stretches - 1
        if total_xx <= 1e-9 or freedom < 3:
            return None
        slope = (self.closed_xy + xy) / total_xx
        return math.sqrt(max(self.closed_yy + yy - slope * slope * total_xx, 0.0) / freedom)

    def value(self, x: float) -> float | None:
        """The present stretch's line at x; None before it has LINE_POINTS readings."""
        fitted = self.slope()
        if fitted is None or self.n < LINE_POINTS:
            return None
        return self.sy / self.n + fitted[0] * (x - self.sx / self.n)

    def snapshot(self) -> list[float]:
        """Storage form."""
        return [
            self.n,
            self.sx,
            self.sy,
            self.sxx,
            self.sxy,
            self.syy,
            self.closed_xx,
            self.closed_xy,
            self.closed_yy,
            self.closed_n,
            self.stretches,
        ]

    @classmethod
    def from_snapshot(cls, data: Any) -> Line:
        """Read the storage form back."""
        values = [float(v) for v in data or ()]
        if not values:
            return cls()
        if len(values) != 11:
            raise ValueError("a fuel line is damaged")
        return cls(*values)


@dataclass(slots=True)
class Tally:
    """A refill or a drain: when and how many litres."""

    time: float  # POSIX seconds
    litres: float

    def snapshot(self) -> list[float]:
        """Storage form."""
        return [self.time, self.litres]


@dataclass(slots=True)
class FuelEstimate:
    """The running sums and states behind the site's fuel figures."""

    # Litres burned by the site's rate source, litres by the fuel curve (where the load is
    # known), and hours run: the x of each line.
    burned: float = 0.0
    curve_burned: float = 0.0
    run_hours: float = 0.0
    by_rate: Line = field(default_factory=Line)
    by_curve: Line = field(default_factory=Line)
    by_hours: Line = field(default_factory=Line)
    # Hours run by generators with no rate (neither a fuel rate nor a load), summed over them,
    # and against them the litres in the tanks plus what the rated ones burned (`burned`): the
    # level as if only the unrated ones drew on it, taken while one of them runs. Its slope is
    # their burn on a site where they run beside generators with a rate.
    unrated_hours: float = 0.0
    by_unrated: Line = field(default_factory=Line)
    # The running hours at the last point taken in (for the forgetting).
    faded_at: float = 0.0
    # The newest tank reading taken in (POSIX s), and the level's own average.
    level_time: float | None = None
    level: float | None = None
    # The gauge's scatter (L), once measured.
    noise: float | None = None
    # Whether the litres read have changed at all since the level's evidence began, and per
    # tank the most decimal places its readings have shown (in its unit, % or L): its step.
    moved: bool = False
    decimals: dict[str, int] = field(default_factory=dict)
    # A refill under way: [start, litres before, highest reading, when last higher, of the
    # litres before those in tanks read in per cent].
    filling: list[float] | None = None
    # The still tank: [since, mean level, weight] learnt while every engine stands still.
    still: list[float] | None = None
    # Readings that left the drain window, not yet learnt: [[first time, sum, count], ...].
    held: list[list[float]] = field(default_factory=list)
    # The last readings within the drain window: [[time, litres], ...].
    recent: list[list[float]] = field(default_factory=list)
    # While running: the litres expected before a reading far below them (one more confirms).
    dropped: float | None = None
    # A drain under way: [start, level before, litres lost, when last lower].
    draining: list[float] | None = None
    stopped_at: float | None = None
    refills: list[Tally] = field(default_factory=list)
    drains: list[Tally] = field(default_factory=list)
    # The site's demand averaged over the last hour (kW) and when it was last measured.
    demand: float | None = None
    demand_time: float | None = None
    # Per generator: whether it was on load at the last step (its smoothing restarts on load),
    # and [the last hour's average rate, the side the smoothed rate is on, when it swung].
    loaded: dict[str, bool] = field(default_factory=dict)
    hourly: dict[str, list[float]] = field(default_factory=dict)
    # The capacity (L) the tanks' levels were read against when the evidence was taken, and
    # the level's average of the litres in tanks reporting litres.
    scale: float | None = None
    unscaled: float | None = None
    # A generator's burn was not integrated up to its newest reading (Home Assistant not
    # running, a silent controller): the level's next fall is not the rate's error. Saved, so
    # that a reload between the controller's return and the next level keeps it (a start is
    # such a gap again anyway).
    unburned: bool = False

    def lines(self) -> tuple[Line, Line, Line, Line]:
        """Every line of the level's evidence: cut together at refills, drains and gaps."""
        return self.by_rate, self.by_curve, self.by_hours, self.by_unrated

    def snapshot(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "burned": self.burned,
            "curve_burned": self.curve_burned,
            "run_hours": self.run_hours,
            "by_rate": self.by_rate.snapshot(),
            "by_curve": self.by_curve.snapshot(),
            "by_hours": self.by_hours.snapshot(),
            "unrated_hours": self.unrated_hours,
            "by_unrated": self.by_unrated.snapshot(),
            "faded_at": self.faded_at,
            "level_time": self.level_time,
            "level": self.level,
            "noise": self.noise,
            "moved": self.moved,
            "decimals": dict(self.decimals),
            "filling": None if self.filling is None else list(self.filling),
            "still": None if self.still is None else list(self.still),
            "held": [list(h) for h in self.held],
            "recent": [list(r) for r in self.recent],
            "dropped": self.dropped,
            "draining": None if self.draining is None else list(self.draining),
            "stopped_at": self.stopped_at,
            "refills": [r.snapshot() for r in self.refills],
            "drains": [d.snapshot() for d in self.drains],
            "demand": self.demand,
            "demand_time": self.demand_time,
            "loaded": dict(self.loaded),
            "hourly": {g: list(v) for g, v in self.hourly.items()},
            "scale": self.scale,
            "unscaled": self.unscaled,
            "unburned": self.unburned,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> FuelEstimate:
        """Read the storage form back."""

        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        def numbers(key: str, length: int) -> list[float] | None:
            value = data.get(key)
            if value is None:
                return None
            values = [float(v) for v in value]
            if len(values) != length:
                raise ValueError(f"fuel {key} is damaged")
            return values

        def filling() -> list[float] | None:
            value = data.get("filling")
            if value is not None and len(value) == 4:
                # Saved before the litres in tanks read in per cent were kept: all of them,
                # as was taken then.
                return [*(float(v) for v in value), float(value[1])]
            return numbers("filling", 5)

        def hour(values: Any) -> list[float]:
            numbers = [float(x) for x in values]
            if len(numbers) < 2:
                raise ValueError("a generator's hourly fuel rate is damaged")
            return numbers

        def batch(values: Any) -> list[float]:
            numbers = [float(x) for x in values]
            if len(numbers) != 3 or numbers[2] <= 0:
                raise ValueError("fuel held readings are damaged")
            return numbers

        def places(value: Any) -> int:
            places = int(value)
            if not 0 <= places <= 4:  # as many as a reading shows (`fuel._decimals`)
                raise ValueError("a fuel gauge's decimal places are damaged")
            return places

        def tallies(key: str) -> list[Tally]:
            return [Tally(stored_seconds(t), float(litres)) for t, litres in data.get(key) or ()]

        run_hours = float(data.get("run_hours", 0.0))
        faded_at = float(data.get("faded_at", 0.0))
        if not 0 <= faded_at <= run_hours:  # the line would fade by e to the power of it
            raise ValueError("the fuel line's running hours are damaged")
        return cls(
            burned=stored_total(data.get("burned", 0.0)),
            curve_burned=stored_total(data.get("curve_burned", 0.0)),
            run_hours=run_hours,
            by_rate=Line.from_snapshot(data.get("by_rate")),
            by_curve=Line.from_snapshot(data.get("by_curve")),
            by_hours=Line.from_snapshot(data.get("by_hours")),
            # Saved before it was kept: learnt afresh from the next readings.
            unrated_hours=stored_total(data.get("unrated_hours", 0.0)),
            by_unrated=Line.from_snapshot(data.get("by_unrated")),
            faded_at=faded_at,
            level_time=number("level_time"),
            level=number("level"),
            noise=number("noise"),
            # Saved before it was kept: the lines were taken as they stood, and are again.
            moved=bool(
                data["moved"]
                if "moved" in data
                else any(data.get(k) for k in ("by_rate", "by_curve", "by_hours"))
            ),
            decimals={str(t): places(d) for t, d in dict(data.get("decimals") or {}).items()},
            filling=filling(),
            still=numbers("still", 3),
            held=[batch(h) for h in data.get("held") or ()],
            recent=[[float(t), float(v)] for t, v in data.get("recent") or ()],
            dropped=number("dropped"),
            draining=numbers("draining", 4),
            stopped_at=number("stopped_at"),
            refills=tallies("refills"),
            drains=tallies("drains"),
            demand=number("demand"),
            demand_time=number("demand_time"),
            loaded={str(g): bool(v) for g, v in dict(data.get("loaded") or {}).items()},
            hourly={str(g): hour(v) for g, v in dict(data.get("hourly") or {}).items()},
            scale=number("scale"),
            unscaled=number("unscaled"),
            unburned=bool(data.get("unburned", False)),
        )


def fused(estimate: float, variance: float, trust: float) -> float:
    """A correction factor between the source (1) and what the level says, by precision."""
    weight = trust**2 / (trust**2 + variance)
    low, high = CORRECTION_LIMITS
    return min(max(1 + (estimate - 1) * weight, low), high)
