"""Freezer countdowns and fuel hours against a ground truth of our own.

`scripts/bench estimates` (`-- --quick` for one noise seed) plays each case through the site
model (`Site.apply`, as the integration feeds it) from physics written here for the purpose,
not the simulator's:

- freezers, two kinds of cabinet: "newton", one heat mass warming by Newton's law with
  DOMAIN.md's time constants (35 / 13.5 / 5 h), the model the issue measured with; and "air",
  two heat masses, the air the probe sits in and the contents, fitted to DOMAIN.md's measured
  curves (loaded: −20 → −14 °C in 3.5 h and −11.5 °C at 7.5 h; empty: −20 → 0 °C in 3.5 h),
  so the air jumps about 4 °C in its first hour before it follows the contents' slow rise.
  A thermostat cycles the compressor while powered; a defrost heats for 20 minutes. Probes
  scatter by 0.1 °C, send one decimal, every 10 s, every 60 s or on a 0.5 °C change.
- fuel: a set burning by DOMAIN.md's Willans line (3.0 L/h + 0.253 L/kWh, not the
  integration's chart), an ECU rate that scatters 3 % and may be biased, a tank gauge with
  0.5 % noise (one standard deviation) every 10 s.

Each case prints its error against the future truth (what then happened in the physics) at
10, 30, 60 and 120 minutes, and the share of the run within ±10 % / ±20 %. The last line is
one JSON summary with issue 11's targets, the figures measured and whether each is met.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readings import Meta, NodeStatus, Reading

T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
STEP = 10.0  # seconds of simulated time per step
CHECKS = (10, 30, 60, 120)  # minutes of warming (or of running) at which errors are printed

# -- freezer physics ------------------------------------------------------------------------

ROOM_C = 19.0  # DOMAIN.md's test room; the site's setting stays at its 20 °C default
SETPOINT_C = -19.0
DUTY = 0.45
DEFROST_MIN = 20.0
# Two kinds of cabinet:
# - "air": two heat masses, the air the probe reads and the contents. The air's share of the
#   heat leak (f) and the contents' time constants come from fitting DOMAIN.md's measured
#   curves; the air's own time constant (20 min) from a household cycle of about half an
#   hour at a ±1.5 °C band and 40-50 % duty. The air jumps about 4 °C in the first hour.
# - "newton": one heat mass (the probe in the contents), DOMAIN.md's simulation defaults
#   τ 35 / 13.5 / 5 h: the model the measurements used.
AIR_SHARE = 0.105
AIR_TAU_H = 20 / 60
CONTENTS_TAU_H = {"loaded": 5.02, "half": 1.4, "empty": 0.2}
NEWTON_TAU_H = {"loaded": 35.0, "half": 13.5, "empty": 5.0}
BAND_C = {"air": 1.5, "newton": 0.5}
# Defrost heat, °C/h into what the probe reads: the air peaks near −14 °C (DOMAIN.md: brief
# rises to −15 °C are tolerated in defrost).
DEFROST_HEAT = {"air": 25.0, "newton": 6.0}


@dataclass
class Cabinet:
    """A freezer cabinet: a thermostat on what the probe reads, and a defrost heater."""

    load: str
    model: str = "air"
    air: float = SETPOINT_C
    contents: float = SETPOINT_C
    powered: bool = True
    compressor: bool = False
    defrost_left: float = 0.0  # hours

    @property
    def cooling(self) -> float:
        """Compressor pull-down, °C/h of the probe's mass, sized for the duty at the setpoint."""
        if self.model == "newton":
            return (ROOM_C - SETPOINT_C) / NEWTON_TAU_H[self.load] / DUTY
        return AIR_SHARE * (ROOM_C - SETPOINT_C) / AIR_TAU_H / DUTY

    def step(self, hours: float) -> None:
        heat = 0.0
        band = BAND_C[self.model]
        if self.defrost_left > 0:
            self.defrost_left -= hours
            self.compressor = False
            heat = DEFROST_HEAT[self.model]
        elif self.powered:
            if self.air > SETPOINT_C + band:
                self.compressor = True
            elif self.air < SETPOINT_C - band:
                self.compressor = False
        if not self.powered:
            self.compressor, heat, self.defrost_left = False, 0.0, 0.0
        cooling = self.cooling if self.compressor else 0.0
        if self.model == "newton":
            self.air += ((ROOM_C - self.air) / NEWTON_TAU_H[self.load] + heat - cooling) * hours
            self.contents = self.air
            return
        leak = AIR_SHARE * (ROOM_C - self.air) + (1 - AIR_SHARE) * (self.contents - self.air)
        d_air = leak / AIR_TAU_H + heat - cooling
        d_contents = (self.air - self.contents) / CONTENTS_TAU_H[self.load]
        self.air += d_air * hours
        self.contents += d_contents * hours


@dataclass
class Probe:
    """A DS18B20-like probe: noise, one decimal, sent every `every` s or on a `delta` change."""

    every: float = 10.0
    delta: float | None = None
    noise: float = 0.1
    last_sent: float | None = None
    next_at: float = 0.0

    def read(self, now: float, true: float, rng: random.Random) -> float | None:
        if now < self.next_at:
            return None
        value = round(true + rng.gauss(0, self.noise), 1)
        if self.delta is None:
            self.next_at = now + self.every
            return value
        self.next_at = now + STEP
        if self.last_sent is not None and abs(value - self.last_sent) < self.delta:
            return None
        self.last_sent = value
        return value


PROBES = {
    "10 s": lambda: Probe(every=10.0),
    "60 s": lambda: Probe(every=60.0),
    "0.5 °C": lambda: Probe(delta=0.5),
}


@dataclass(frozen=True)
class FreezerCase:
    """One freezer scenario."""

    name: str
    load: str
    probe: str
    # outage: the grid goes; defrost: a defrost ends 15 min before the outage; rotation: the
    # freezers' relay goes off, back on after an hour, off again (the second is measured);
    # no_signal: the site has no grid meter; powered: no outage (cycling and defrosts).
    kind: str = "outage"
    model: str = "air"
    hours: float = 9.0


def _cases(model: str) -> list[FreezerCase]:
    return [
        *(
            FreezerCase(f"{model}: {load}, probe {probe}", load, probe, model=model)
            for load in ("loaded", "half", "empty")
            for probe in PROBES
        ),
        *(
            FreezerCase(f"{model}: {load}, defrost first", load, "10 s", "defrost", model)
            for load in ("loaded", "half", "empty")
        ),
        FreezerCase(f"{model}: loaded, rotation", "loaded", "60 s", "rotation", model),
        FreezerCase(f"{model}: half, no power signal", "half", "60 s", "no_signal", model),
        FreezerCase(f"{model}: loaded, no power signal", "loaded", "60 s", "no_signal", model),
    ]


def _quiet(model: str) -> list[FreezerCase]:
    return [
        FreezerCase(f"{model}: powered, probe {probe}", "loaded", probe, "powered", model, 14.0)
        for probe in PROBES
    ] + [FreezerCase(f"{model}: powered, no signal", "half", "60 s", "powered_ns", model, 14.0)]


MODELS = ("newton", "air")
# When the measured warming starts, hours into the run.
OUTAGE_H = 3.0
LIMITS = {"warning": -15.0, "critical": -12.0}


@dataclass
class Track:
    """A countdown's figures against the truth, minute by minute: (minutes, shown, truth)."""

    rows: list[tuple[float, float | None, float]] = field(default_factory=list)


def _freezer_run(case: FreezerCase, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    cabinet = Cabinet(case.load, case.model)
    probe = PROBES[case.probe]()
    site = Site(Settings())
    site.set_meta(Meta("freezer", "f1", node="freezers"))
    site.set_node(NodeStatus("freezers", True, T0))
    grid = case.kind not in ("no_signal", "powered_ns")
    relay = case.kind == "rotation"
    # Warm up the cabinet's cycle before the site starts to watch.
    for _ in range(int(6 * 3600 / STEP)):
        cabinet.step(STEP / 3600)
    off_at = None if case.kind.startswith("powered") else OUTAGE_H
    if case.kind == "rotation":
        off_at = OUTAGE_H + 2.0
    # The air's true temperature from `off_at` on, to find when each limit is crossed.
    truth: dict[str, float | None] = {}
    history: list[tuple[float, float]] = []
    shown: dict[str, list[tuple[float, float | None]]] = {name: [] for name in LIMITS}
    countdowns_while_powered = 0
    checks_while_powered = 0
    steps = int(case.hours * 3600 / STEP)
    for i in range(steps):
        t = i * STEP
        hours = t / 3600
        now = T0 + timedelta(seconds=t)
        if case.kind in ("defrost", "powered", "powered_ns") and _defrost_due(case, hours):
            cabinet.defrost_left = DEFROST_MIN / 60
        powered = True
        if case.kind == "rotation":
            powered = not (OUTAGE_H <= hours < OUTAGE_H + 1.0 or hours >= OUTAGE_H + 2.0)
        elif off_at is not None:
            powered = hours < off_at
        cabinet.powered = powered
        cabinet.step(STEP / 3600)
        history.append((hours, cabinet.air))
        readings: list[Reading] = []
        if grid and i % 3 == 0:
            grid_on = powered or case.kind == "rotation"
            readings.append(Reading("grid", "main", "present", grid_on, now))
        if relay and i % 3 == 0:
            readings.append(Reading("load", "freezers", "state", powered, now))
        value = probe.read(t, cabinet.air, rng)
        if value is not None:
            readings.append(Reading("freezer", "f1", "temperature", value, now))
        if readings:
            site.apply(readings, now)
        if i % 6 == 0:
            site.tick(now)
        if i % 6 != 0:
            continue
        freezer = site.component("freezer", "f1")
        if freezer is None:
            continue
        figures = {
            name: site.freezers.time_to_limit(freezer, lim, now) for name, lim in LIMITS.items()
        }
        warming = off_at is not None and hours >= off_at
        if not warming:
            if not powered:
                continue  # the rotation's first hour off: warming, but not the one measured
            checks_while_powered += 1
            if any(v is not None and v > 0 for v in figures.values()):
                countdowns_while_powered += 1
            continue
        assert off_at is not None
        for name, value in figures.items():
            shown[name].append(((hours - off_at) * 60, value))
    result: dict[str, Any] = {
        "false_countdowns": countdowns_while_powered,
        "powered_checks": checks_while_powered,
    }
    if off_at is None:
        return result
    # Play the physics on, unpowered and noise-free, until both limits are crossed.
    rest = replace(cabinet)
    t_h = case.hours
    while t_h < 60 and rest.air < max(LIMITS.values()):
        rest.step(STEP / 3600)
        t_h += STEP / 3600
        history.append((t_h, rest.air))
    for name, lim in LIMITS.items():
        truth[name] = next((h for h, air in history if h >= off_at and air >= lim), None)
    tracks = {}
    for name in LIMITS:
        crossing = truth[name]
        assert crossing is not None
        rows = [(m, v, (crossing - off_at) * 60 - m) for m, v in shown[name]]
        tracks[name] = rows
    result["tracks"] = tracks
    result["crossing_min"] = {name: (truth[name] - off_at) * 60 for name in LIMITS}  # type: ignore[operator]
    return result


def _defrost_due(case: FreezerCase, hours: float) -> bool:
    """Defrosts: ending 15 min before the outage (defrost case), every 6 h when powered."""
    step = STEP / 3600
    if case.kind == "defrost":
        return abs(hours - (OUTAGE_H - (DEFROST_MIN + 15) / 60)) < step / 2
    return any(abs(hours - at) < step / 2 for at in (2.0, 8.0))


def _error(shown: float | None, truth_min: float) -> float | None:
    """Relative error of a countdown (h) against the truth (min); + is optimistic."""
    if shown is None:
        return None
    return (shown * 60 - truth_min) / truth_min


def _freezer_summary(case: FreezerCase, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per case: errors at the checks, share within ±10/±20 %, pass of the 30-minute target."""
    at: dict[str, dict[int, list[float | None]]] = {n: {c: [] for c in CHECKS} for n in LIMITS}
    within10 = within20 = counted = 0
    after30 = after30_ok = 0
    worst_optimism = -math.inf
    limits_checked: set[str] = set()
    for run in runs:
        for name, rows in run["tracks"].items():
            for minutes, value, left in rows:
                if left < 10:
                    continue  # a countdown under ten minutes is not judged in per cent
                error = _error(value, left)
                counted += 1
                if error is not None and abs(error) <= 0.10:
                    within10 += 1
                if error is not None and abs(error) <= 0.20:
                    within20 += 1
                if minutes >= 30:
                    limits_checked.add(name)
                    after30 += 1
                    if error is not None and abs(error) <= 0.20:
                        after30_ok += 1
                    if error is not None:
                        worst_optimism = max(worst_optimism, error)
                for check in CHECKS:
                    if abs(minutes - check) < 0.5:
                        at[name][check].append(error)
    share20_after30 = after30_ok / after30 if after30 else None
    return {
        "good_from": _good_from(runs),
        "case": case.name,
        "at": {
            name: {c: _worst(values) for c, values in checks.items()} for name, checks in at.items()
        },
        "crossing_min": {n: round(runs[0]["crossing_min"][n]) for n in LIMITS},
        "within10": within10 / counted if counted else None,
        "within20": within20 / counted if counted else None,
        "within20_after30": share20_after30,
        "worst_optimism_after30": None if worst_optimism == -math.inf else worst_optimism,
        "limits_after30": sorted(limits_checked),
        "passes": share20_after30 is not None and share20_after30 >= 0.9,
        "false_countdowns": sum(r["false_countdowns"] for r in runs),
    }


def _good_from(runs: list[dict[str, Any]]) -> float | None:
    """The first minute of warming from which every seed's critical countdown stays within
    ±20 % (until 10 min before the crossing); None if it never does."""
    latest = 0.0
    for run in runs:
        rows = [(m, v, left) for m, v, left in run["tracks"]["critical"] if left >= 10]
        bad = [m for m, v, left in rows if (e := _error(v, left)) is None or abs(e) > 0.20]
        if rows and bad and bad[-1] >= rows[-1][0]:
            return None
        latest = max(latest, (bad[-1] + 1) if bad else 0.0)
    return latest


def _worst(values: list[float | None]) -> float | str | None:
    """The error furthest from zero across seeds; 'none' if any seed showed no figure."""
    if not values:
        return None
    if any(v is None for v in values):
        return "none"
    return max(values, key=lambda v: abs(v or 0.0))


def _pct(value: float | str | None) -> str:
    if value is None:
        return "    –"
    if isinstance(value, str):
        return " none"
    return f"{value * 100:+5.0f}%"


def freezers(seeds: int, out: Callable[[str], None]) -> dict[str, Any]:
    """Run the freezer cases of both cabinet models; print one line per case and limit."""
    out("Freezer countdowns: error of the figure shown against the truth (+ = optimistic),")
    out("worst over the seeds at 10/30/60/120 min of warming; shares over every minute until")
    out("10 min before the crossing; ok≥30m: share within ±20 % from 30 min on.")
    results: dict[str, Any] = {}
    for model in MODELS:
        out("")
        out(
            f"{'case':36} {'limit':8} {'crosses':>7}  "
            + " ".join(f"{c:>5}m" for c in CHECKS)
            + "   ±10%   ±20%  ok≥30m  max+  ±20% from"
        )
        summaries = []
        for case in _cases(model):
            runs = [_freezer_run(case, seed) for seed in range(seeds)]
            summary = _freezer_summary(case, runs)
            summaries.append(summary)
            for name in LIMITS:
                cells = " ".join(_pct(summary["at"][name][c]) for c in CHECKS)
                tail = ""
                if name == "critical" and summary["within10"] is not None:
                    tail = (
                        f"  {summary['within10'] * 100:4.0f}%  {summary['within20'] * 100:4.0f}%"
                        f"  {(summary['within20_after30'] or 0) * 100:4.0f}%"
                        f"  {_pct(summary['worst_optimism_after30'])}"
                        + (
                            "      never"
                            if summary["good_from"] is None
                            else f"  {summary['good_from']:7.0f} min"
                        )
                        + ("" if summary["passes"] else "  ✗")
                    )
                crosses = summary["crossing_min"][name]
                out(f"{case.name:36} {name:8} {crosses:5.0f}m  {cells}{tail}")
        quiet = []
        for case in _quiet(model):
            runs = [_freezer_run(case, seed) for seed in range(seeds)]
            shown = sum(r["false_countdowns"] for r in runs)
            checks = sum(r["powered_checks"] for r in runs)
            quiet.append({"case": case.name, "countdowns": shown, "checks": checks})
            out(f"{case.name:36} countdowns without warming: {shown} of {checks} checks")
        optimistic = max(
            (
                s["worst_optimism_after30"]
                for s in summaries
                if s["worst_optimism_after30"] is not None
            ),
            default=0.0,
        )
        results[model] = {
            "cases": len(summaries),
            "within20_after30_cases": sum(1 for s in summaries if s["passes"]),
            "worst_optimism_after30": round(optimistic, 3),
            "countdowns_without_warming": sum(q["countdowns"] for q in quiet)
            + sum(s["false_countdowns"] for s in summaries),
            "failing": [s["case"] for s in summaries if not s["passes"]],
            "within20_from_min": {s["case"]: s["good_from"] for s in summaries},
        }
    return results


# -- fuel physics ----------------------------------------------------------------------------

RATING_KW = 56.0  # Kall's 70 kVA set
TANK_L = 600.0
RESERVE_PCT = 10.0
GAUGE_NOISE_PCT = 0.5  # one standard deviation, % of the tank (an ultrasonic gauge's ±1 %)
ECU_SCATTER = 0.03
WARM_UP_MIN = 3.0


def burn(kw: float) -> float:
    """True fuel use, L/h: DOMAIN.md's Willans line for a 60 kW set (3.0 L/h + 0.253 L/kWh),
    its idle part scaled to the rating. Not the integration's chart: a curve error of its own.
    """
    return 3.0 * RATING_KW / 60 + 0.253 * kw


@dataclass(frozen=True)
class FuelCase:
    """One generator run on a tank, from start to the reserve."""

    name: str
    # What the controller reports: "ecu" (fuel rate and power), "load" (power only),
    # "level" (running state only).
    reports: str = "ecu"
    bias: float = 0.0  # the ECU rate's error, share
    profile: str = "steady"  # steady 60 %; steps 30→98→60 %; rotation 45↔75 % every 20 min
    start_pct: float = 80.0
    refuel_at_h: float | None = None
    refuel_l: float = 400.0
    gauge_pct: float = GAUGE_NOISE_PCT
    gauge_whole: bool = False  # the controller's own gauge: whole per cent
    # Judged by: "rate" (±10 % for 90 % of the run) or "level" (±15 % after an hour); "load"
    # cases (the load changes) are judged against the truth at the present load.
    target: str = "rate"


FUEL_CASES = [
    FuelCase("ECU fuel rate"),
    FuelCase("load only (fuel curve)", reports="load"),
    FuelCase("ECU rate 20 % high", bias=0.20),
    FuelCase("ECU rate 20 % low", bias=-0.20),
    FuelCase("400 L refuel at 3 h", start_pct=30.0, refuel_at_h=3.0),
    FuelCase("level only", reports="level", target="level"),
    FuelCase("level only, gauge σ 1 %", reports="level", gauge_pct=1.0, target="sensitivity"),
    FuelCase("load steps 30→98→60 %", profile="steps", target="load"),
    FuelCase("rotation every 20 min", profile="rotation", target="rotation"),
    FuelCase("ECU rate, whole-% gauge", gauge_whole=True),
    # A controller's sender, filtered so that it does not flicker: an hour on one reading.
    FuelCase("ECU rate, quiet whole-% gauge", gauge_whole=True, gauge_pct=0.1),
]


def demand_kw(profile: str, hours: float) -> float:
    """The site's demand, kW."""
    if profile == "steps":
        share = 0.30 if hours < 2 else 0.98 if hours < 5 else 0.60
    elif profile == "rotation":
        share = 0.45 if int(hours * 3) % 2 == 0 else 0.75
    else:
        share = 0.60
    return share * RATING_KW


class Burn:
    """The future truth: hours until a given amount of fuel is burned, from a given hour on.

    Cumulative true burn on a one-minute grid of the case's load profile.
    """

    def __init__(self, profile: str, hours: float = 200.0) -> None:
        self.total = [0.0]
        for minute in range(int(hours * 60)):
            self.total.append(self.total[-1] + burn(demand_kw(profile, minute / 60)) / 60)

    def hours_left(self, litres: float, from_h: float) -> float:
        """Hours from `from_h` until `litres` more are burned."""
        start = self._at(from_h)
        target = start + litres
        low, high = from_h, len(self.total) / 60 - 1 / 60
        for _ in range(40):
            middle = (low + high) / 2
            low, high = (middle, high) if self._at(middle) < target else (low, middle)
        return low - from_h

    def _at(self, hours: float) -> float:
        minute = min(max(hours * 60, 0.0), len(self.total) - 2)
        whole = int(minute)
        return self.total[whole] + (self.total[whole + 1] - self.total[whole]) * (minute - whole)


def _fuel_run(case: FuelCase, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    reserve = RESERVE_PCT / 100 * TANK_L
    site = Site(
        Settings(tank_capacity=TANK_L, tank_reserve=RESERVE_PCT, generator_rating=RATING_KW)
    )
    litres = case.start_pct / 100 * TANK_L
    rows: list[tuple[float, float | None, float, float]] = []
    refuel_left = case.refuel_l if case.refuel_at_h is not None else 0.0
    refill_logged: list[float] = []
    started = WARM_UP_MIN / 60
    future = Burn(case.profile)
    t = 0.0
    i = 0
    while litres > reserve and t < 60 * 3600:
        hours = t / 3600
        now = T0 + timedelta(seconds=t)
        loaded = hours >= started
        kw = demand_kw(case.profile, hours - started) if loaded else 0.0
        true_rate = burn(kw)
        litres -= true_rate * STEP / 3600
        if case.refuel_at_h is not None and hours >= case.refuel_at_h and refuel_left > 0:
            delivered = min(refuel_left, 40.0 * STEP / 60)  # 40 L/min from the bowser
            litres += delivered
            refuel_left -= delivered
        readings = [
            Reading("grid", "main", "present", False, now),
            Reading("generator", "main", "state", "running" if loaded else "warming_up", now),
        ]
        if case.reports in ("ecu", "load"):
            power = kw * (1 + rng.gauss(0, 0.01))
            readings.append(Reading("generator", "main", "power", round(power, 1), now))
            readings.append(Reading("generator", "main", "on_load", loaded, now))
        else:
            readings.append(Reading("generator", "main", "on_load", loaded, now))
        if case.reports == "ecu":
            ecu = true_rate * (1 + case.bias) * (1 + rng.gauss(0, ECU_SCATTER))
            readings.append(Reading("generator", "main", "fuel_rate", round(ecu, 2), now))
        level = litres / TANK_L * 100 + rng.gauss(0, case.gauge_pct)
        level = round(level) if case.gauge_whole else round(level, 1)
        readings.append(Reading("tank", "main", "level", min(max(level, 0.0), 100.0), now))
        events = site.apply(readings, now)
        refill_logged += [e.data["litres_added"] for e in events if e.type.value == "fuel_refilled"]
        if i % 6 == 0 and loaded:
            run_h = hours - started
            figure = site.fuel.present(now)
            truth = future.hours_left(litres - reserve, run_h)
            at_load = (litres - reserve) / true_rate
            rows.append((run_h * 60, None if figure is None else figure.hours, truth, at_load))
        t += STEP
        i += 1
    return {"rows": rows, "refills": refill_logged}


def _fuel_summary(case: FuelCase, runs: list[dict[str, Any]]) -> dict[str, Any]:
    at: dict[int, list[float | None]] = {c: [] for c in CHECKS}
    counted = within10 = within20 = 0
    after60 = within15_after60 = 0
    for run in runs:
        for minutes, shown, truth, at_load in run["rows"]:
            if truth < 1.0:
                continue  # the last hour is not judged in per cent
            reference = at_load if case.target == "load" else truth
            error = None if shown is None else (shown - reference) / reference
            counted += 1
            within10 += error is not None and abs(error) <= 0.10
            within20 += error is not None and abs(error) <= 0.20
            if minutes >= 60:
                after60 += 1
                within15_after60 += error is not None and abs(error) <= 0.15
            for check in CHECKS:
                if abs(minutes - check) < 0.5:
                    at[check].append(error)
    future: dict[str, float] = {}
    if case.target == "load":
        # Against the future truth too: no estimate knows the load steps to come.
        total = inside = 0
        for run in runs:
            for _, shown, truth, _ in run["rows"]:
                if truth >= 1.0:
                    total += 1
                    inside += shown is not None and abs(shown - truth) / truth <= 0.10
        future["within10_future"] = inside / total if total else 0.0
        # The dangerous side: how optimistic the figure is in the half hour after the step up
        # (2 h into the run) once the new load has held for three minutes, and for how many
        # minutes of that half hour it is more than 10 % so.
        worst = 0.0
        minutes_over = 0
        for run in runs:
            for minutes, shown, _, at_load in run["rows"]:
                if 120 <= minutes < 150 and shown is not None:
                    error = (shown - at_load) / at_load
                    if minutes >= 123:
                        worst = max(worst, error)
                    minutes_over += error > 0.10
        future["step_up_worst_optimism"] = worst
        future["step_up_minutes_over10"] = minutes_over / len(runs)
    share10 = within10 / counted if counted else 0.0
    share15 = within15_after60 / after60 if after60 else 0.0
    level_at_60 = at[60]
    if case.target in ("level", "sensitivity"):
        passes = share15 >= 0.9 and all(e is not None and abs(e) <= 0.15 for e in level_at_60)
    else:
        passes = share10 >= 0.9
    return {
        "case": case.name,
        "at": {c: _worst(v) for c, v in at.items()},
        "within10": share10,
        "within20": within20 / counted if counted else 0.0,
        "within15_after60": share15,
        "passes": passes,
        "refills": [r for run in runs for r in run["refills"]],
        **future,
    }


def fuel(seeds: int, out: Callable[[str], None]) -> dict[str, Any]:
    """Run the fuel cases; print one line per case."""
    out("")
    out("Fuel hours at the present load against the future truth (hours until the reserve,")
    out("as the physics then burned), from the moment the set takes load; the last hour is not")
    out("judged. Load cases: against the hours at the load of the moment (and the future truth).")
    out(f"{'case':32} " + " ".join(f"{c:>5}m" for c in CHECKS) + "   ±10%   ±20%  ±15%≥60m")
    summaries = []
    for case in FUEL_CASES:
        runs = [_fuel_run(case, seed) for seed in range(seeds)]
        summary = _fuel_summary(case, runs)
        summaries.append(summary)
        cells = " ".join(_pct(summary["at"][c]) for c in CHECKS)
        extra = ""
        if "within10_future" in summary:
            extra = (
                f"  (future truth ±10 %: {summary['within10_future'] * 100:.0f}%; after the step"
                f" up: {summary['step_up_minutes_over10']:.0f} min above +10 %, then at worst"
                f" {summary['step_up_worst_optimism'] * 100:+.0f}%)"
            )
        if summary["refills"]:
            extra += f"  refill logged: {', '.join(f'{r:.0f} L' for r in summary['refills'])}"
        out(
            f"{case.name:32} {cells}  {summary['within10'] * 100:4.0f}%  "
            f"{summary['within20'] * 100:4.0f}%  {summary['within15_after60'] * 100:5.0f}%"
            + ("" if summary["passes"] else "  ✗")
            + extra
        )
    rate_cases = [s for s in summaries if s["case"] in RATE_CASES]
    level_cases = [s for s in summaries if s["case"] in LEVEL_CASES]
    return {
        "rate_cases_within10_share": {s["case"]: round(s["within10"], 3) for s in rate_cases},
        "rate_cases_pass": all(s["passes"] for s in rate_cases),
        "level_only_within15_after60": {
            s["case"]: round(s["within15_after60"], 3) for s in level_cases
        },
        "level_only_pass": all(s["passes"] for s in level_cases),
        "failing": [s["case"] for s in summaries if not s["passes"]],
        "step_up_worst_optimism": round(
            max(s.get("step_up_worst_optimism", 0.0) for s in summaries), 3
        ),
    }


def _standing(
    hours: float,
    seed: int,
    *,
    drain_at_h: float | None = None,
    drain_l: float = 0.0,
    drain_l_per_min: float = 15.0,
    refill_at_h: float | None = None,
    refill_l: float = 0.0,
    grid_kw: float = 30.0,
    outage_at_h: float | None = None,
) -> dict[str, Any]:
    """A site on the grid with its set standing still (then, optionally, an outage)."""
    rng = random.Random(seed)
    reserve = RESERVE_PCT / 100 * TANK_L
    site = Site(
        Settings(tank_capacity=TANK_L, tank_reserve=RESERVE_PCT, generator_rating=RATING_KW)
    )
    litres = 0.8 * TANK_L
    drained = refilled = 0.0
    events: list[tuple[float, str, dict[str, Any]]] = []
    typical: list[tuple[float, float | None, float]] = []
    t = 0.0
    i = 0
    while t < hours * 3600:
        h = t / 3600
        now = T0 + timedelta(seconds=t)
        outage = outage_at_h is not None and h >= outage_at_h
        loaded = outage and h >= (outage_at_h or 0) + WARM_UP_MIN / 60
        if loaded:
            litres -= burn(grid_kw) * STEP / 3600
        if drain_at_h is not None and h >= drain_at_h and drained < drain_l:
            step = min(drain_l - drained, drain_l_per_min * STEP / 60)
            litres -= step
            drained += step
        if refill_at_h is not None and h >= refill_at_h and refilled < refill_l:
            step = min(refill_l - refilled, 40.0 * STEP / 60)
            litres += step
            refilled += step
        state = "running" if loaded else "warming_up" if outage else "stopped"
        readings = [
            Reading("grid", "main", "present", not outage, now),
            Reading("grid", "main", "power", 0.0 if outage else round(grid_kw, 1), now),
            Reading("generator", "main", "state", state, now),
            Reading("generator", "main", "power", round(grid_kw if loaded else 0.0, 1), now),
            Reading("generator", "main", "on_load", loaded, now),
        ]
        level = round(litres / TANK_L * 100 + rng.gauss(0, GAUGE_NOISE_PCT), 1)
        readings.append(Reading("tank", "main", "level", level, now))
        for event in site.apply(readings, now):
            events.append((h, event.type.value, event.data))
        if i % 6 == 0 and not outage:
            figure = site.fuel.typical(now)
            truth = (litres - reserve) / burn(grid_kw)
            typical.append((h, None if figure is None else figure.hours, truth))
        t += STEP
        i += 1
    return {"events": events, "typical": typical, "drains": site.fuel.estimate.drains}


def fuel_events(seeds: int, out: Callable[[str], None]) -> dict[str, Any]:
    """Hours at typical load on the grid; drains and deliveries while the set stands still."""
    out("")
    out(
        f"Gauge noise σ {GAUGE_NOISE_PCT} % of {TANK_L:.0f} L = "
        f"{GAUGE_NOISE_PCT / 100 * TANK_L:.0f} L, a reading every {STEP:.0f} s."
    )
    shown = total = 0
    errors: list[float] = []
    for seed in range(seeds):
        run = _standing(4.0, seed)
        for h, hours, truth in run["typical"]:
            total += 1
            if hours is not None:
                shown += 1
                if h >= 1.0:
                    errors.append((hours - truth) / truth)
    worst = max(errors, key=abs) if errors else None
    out(
        f"hours at typical load on the grid (30 kW measured): shown {shown} of {total} minutes,"
        f" worst error after the first hour {_pct(worst).strip()}"
    )
    result: dict[str, Any] = {
        "typical_on_grid_shown": shown / total if total else 0.0,
        "typical_on_grid_worst_error": worst,
    }
    drains = {
        "theft 60 L at 15 L/min": {"drain_l": 60.0, "drain_l_per_min": 15.0},
        "theft 20 L at 10 L/min": {"drain_l": 20.0, "drain_l_per_min": 10.0},
        "leak 30 L at 1 L/min": {"drain_l": 30.0, "drain_l_per_min": 1.0},
    }
    result["drains"] = {}
    for name, spec in drains.items():
        delays: list[float | None] = []
        said: list[float] = []
        logged: list[float] = []
        for seed in range(seeds):
            run = _standing(2.5, seed, drain_at_h=1.0, **spec)
            raised = [(h, data) for h, kind, data in run["events"] if kind == "fuel_drain"]
            delays.append((raised[0][0] - 1.0) * 3600 if raised else None)
            said += [data["litres_lost"] for _, data in raised[:1]]
            logged += [d.litres for d in run["drains"]]
        worst_delay = None if None in delays else max(d or 0.0 for d in delays)
        out(
            f"{name:26} raised after "
            + ("never" if worst_delay is None else f"{worst_delay:.0f} s (worst)")
            + f", saying {', '.join(f'{v:.0f}' for v in said)} L lost;"
            + f" logged {', '.join(f'{v:.0f}' for v in logged)} L"
        )
        result["drains"][name] = {"raised_after_s": worst_delay, "litres_logged": logged}
    false_drains = 0
    for seed in range(seeds):
        run = _standing(12.0, seed)
        false_drains += sum(1 for _, kind, _ in run["events"] if kind == "fuel_drain")
    out(f"12 h standing still, no drain: {false_drains} drain alarms over {seeds} seeds")
    result["false_drains_12h"] = false_drains
    delivered: list[float] = []
    for seed in range(seeds):
        run = _standing(2.0, seed, refill_at_h=1.0, refill_l=300.0)
        delivered += [d["litres_added"] for _, k, d in run["events"] if k == "fuel_refilled"]
    out(
        f"300 L delivered while standing still: logged {', '.join(f'{v:.0f}' for v in delivered)} L"
    )
    result["delivery_logged"] = delivered
    return result


RATE_CASES = {c.name for c in FUEL_CASES if c.target == "rate"}
LEVEL_CASES = {c.name for c in FUEL_CASES if c.target == "level"}


def _targets(summary: dict[str, Any]) -> dict[str, Any]:
    """Issue 11's targets, each with the figure measured and whether it is met."""
    targets: dict[str, Any] = {}
    for model, result in summary.get("freezers", {}).items():
        targets[f"freezer_{model}_within20_after30_cases"] = {
            "target": ">= 14 of 15",
            "measured": result["within20_after30_cases"],
            "met": result["within20_after30_cases"] >= 14,
        }
        targets[f"freezer_{model}_worst_optimism_after30"] = {
            "target": "<= 0.20",
            "measured": result["worst_optimism_after30"],
            "met": result["worst_optimism_after30"] <= 0.20,
        }
        targets[f"freezer_{model}_countdowns_without_warming"] = {
            "target": 0,
            "measured": result["countdowns_without_warming"],
            "met": result["countdowns_without_warming"] == 0,
        }
    if "fuel" in summary:
        fuel = summary["fuel"]
        shares = fuel["rate_cases_within10_share"]
        targets["fuel_rate_cases_within10_share"] = {
            "target": ">= 0.90 in each",
            "measured": min(shares.values()),
            "met": fuel["rate_cases_pass"],
        }
        levels = fuel["level_only_within15_after60"]
        targets["fuel_level_only_within15_after60"] = {
            "target": "within ±15 % from 60 min",
            "measured": min(levels.values()),
            "met": fuel["level_only_pass"],
        }
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds per case")
    parser.add_argument("--quick", action="store_true", help="one seed per case")
    parser.add_argument("--only", choices=("freezers", "fuel"), help="run one half only")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = 1
    started = time.monotonic()
    summary: dict[str, Any] = {"benchmark": "estimates", "seeds": args.seeds}
    if args.only in (None, "freezers"):
        summary["freezers"] = freezers(args.seeds, print)
    if args.only in (None, "fuel"):
        summary["fuel"] = fuel(args.seeds, print)
        summary["fuel"]["events"] = fuel_events(args.seeds, print)
    summary["targets"] = _targets(summary)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
