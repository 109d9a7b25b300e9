"""Where the site's power comes from: the grid, its generators, or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .components import Component, as_flag, as_number
from .vocabulary import Kind, Value

if TYPE_CHECKING:
    from .model import Settings, Site

# Generator states in which the engine turns.
RUNNING_STATES: Final = frozenset({"warming_up", "running", "cooling_down"})
# Above this engine speed (rpm) the engine turns, when no state word says so.
RUNNING_RPM: Final = 300
# Below this generator output the breaker is taken to be open ("running, not on load").
ON_LOAD_KW: Final = 0.2
ON_LOAD_PERCENT: Final = 1.0
# What the answers read of each kind's values, and of those the words and ON/OFF values: these
# stay live past their age while their component is heard from (`Site.fresh`).
_READS: Final[dict[Kind, frozenset[str]]] = {
    Kind.GENERATOR: frozenset({"state", "speed", "on_load", "power", "load"}),
    Kind.GRID: frozenset({"present", "voltage"}),
}
_WORDS: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.GENERATOR: ("state", "on_load"),
    Kind.GRID: ("present",),
}


class PowerSource(StrEnum):
    """What feeds the site right now."""

    GRID = "grid"
    GENERATOR = "generator"
    NONE = "none"


@dataclass(slots=True)
class _Answers:
    """Everything `Power` answers, worked out at one moment, and for how long it holds."""

    revision: int
    settings: Settings
    since: datetime
    until: datetime | None = None
    running: dict[str, bool | None] = field(default_factory=dict)
    on_load: dict[str, bool | None] = field(default_factory=dict)
    grid: bool | None = None
    source: PowerSource | None = None


class Power:
    """The grid's presence and every generator's state, and the source they add up to."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s components."""
        self.site = site
        # The answers last worked out: one message asks them many times (a generator's run
        # time and fuel, the freezers' power, the entities), and a freezer's or a tank's
        # reading changes none of them. They hold while nothing they read has changed (the
        # site's revision less its quiet ones, the settings) and no value they read has aged
        # past the staleness timeout (a value only ever goes stale as time passes, never live
        # again).
        self._kept: _Answers | None = None

    def _answers(self, now: datetime) -> _Answers:
        site = self.site
        kept = self._kept
        if (
            kept is not None
            and kept.revision == site.revision - site.quiet_revisions
            and kept.settings is site.settings
            and kept.since <= now
            and (kept.until is None or now <= kept.until)
        ):
            return kept
        kept = self._kept = self._work_out(now)
        return kept

    def unmoved_by(self, component: Component, name: str) -> bool:
        """Whether a new value of `name` of `component` (a grid meter or generator the answers
        already know, over the link it had) leaves the kept answers as they hold.

        True for a quantity the answers do not read (a coolant temperature, a frequency, a
        counter), unless the component has a word or ON/OFF value they read that was already
        older than the staleness timeout when they were worked out: the reading moves when the
        component was last heard from, and that can make such a value live again. A value
        within its age when they were worked out bounds how long they hold, so a later
        hearing cannot change them before they are worked out again.
        """
        reads = _READS.get(component.kind)
        if reads is None or name in reads:
            return False
        kept = self._kept
        if kept is None:
            return True
        timeout = self.site.settings.stale_timeout
        values = component.values
        for word in _WORDS[component.kind]:
            sample = values.get(word)
            if sample is not None and sample.time + timeout < kept.since:
                return False
        return True

    def _work_out(self, now: datetime) -> _Answers:
        site = self.site
        answers = _Answers(site.revision - site.quiet_revisions, site.settings, now)
        generators = site.of_kind(Kind.GENERATOR)
        for generator in generators:
            answers.running[generator.id] = self._running_now(generator, now, answers)
        for generator in generators:
            answers.on_load[generator.id] = self._on_load_now(generator, now, answers)
        answers.grid = self._grid_present(now, answers)
        on_load = _any(answers.on_load.values())
        if on_load:
            answers.source = PowerSource.GENERATOR
        elif answers.grid is not None and on_load is not None:
            answers.source = PowerSource.GRID if answers.grid else PowerSource.NONE
        return answers

    def _live(
        self, component: Component, name: str, now: datetime, answers: _Answers
    ) -> Value | None:
        """A value the answers read (`Site.fresh`): they hold only until it may go stale."""
        value = self.site.fresh(component, name, now)
        if value is None:
            return None  # stale stays stale, and nothing arrives without a new revision
        timeout = self.site.stale_after(component, name)
        sample = component.values[name]
        expires = sample.time + timeout
        if expires < now:
            # Live beyond its age while its node is online, or while the component reports
            # anything else: until the component has been silent too long; and one timeout
            # after its source said it has no reading, however long those hold.
            bounds = [] if sample.failed is None else [sample.failed + timeout]
            seen = component.last_seen
            if seen is not None and now <= seen + timeout:
                bounds.append(seen + timeout)
            if not bounds:
                return value  # while its node is online: a new revision when that changes
            expires = min(bounds)
        if answers.until is None or expires < answers.until:
            answers.until = expires
        return value

    def _flag(
        self, component: Component, name: str, now: datetime, answers: _Answers
    ) -> bool | None:
        return as_flag(self._live(component, name, now, answers))

    def _number(
        self, component: Component, name: str, now: datetime, answers: _Answers
    ) -> float | None:
        return as_number(self._live(component, name, now, answers))

    def grid_present(self, now: datetime) -> bool | None:
        """Whether the grid is there: a meter's own word first, else its voltage; None unknown."""
        return self._answers(now).grid

    def _grid_present(self, now: datetime, answers: _Answers) -> bool | None:
        found: list[bool] = []
        for grid in self.site.of_kind(Kind.GRID):
            present = self._flag(grid, "present", now, answers)
            if present is None:
                voltage = self._number(grid, "voltage", now, answers)
                present = None if voltage is None else voltage >= self.site.settings.grid_voltage
            if present is not None:
                found.append(present)
        return any(found) if found else None

    def grid_change_time(self, now: datetime) -> datetime:
        """When the grid reading that changed the state was measured (not when we noticed)."""
        times = [
            sample.time
            for grid in self.site.of_kind(Kind.GRID)
            for q, sample in grid.values.items()
            if q in ("present", "voltage") and self.site.fresh(grid, q, now) is not None
        ]
        return max(times, default=now)

    def running(self, generator: Component, now: datetime) -> bool | None:
        """Whether the engine turns: from its state word, else from its speed."""
        answers = self._answers(now)
        if generator.id in answers.running:
            return answers.running[generator.id]
        return self._running_now(generator, now, answers)  # not (or no longer) the site's

    def _running_now(self, generator: Component, now: datetime, answers: _Answers) -> bool | None:
        state = self._live(generator, "state", now, answers)
        if isinstance(state, str):
            return state in RUNNING_STATES
        speed = self._number(generator, "speed", now, answers)
        return None if speed is None else speed > RUNNING_RPM

    def on_load(self, generator: Component, now: datetime) -> bool | None:
        """Whether the generator feeds the site: breaker, else output, else that it runs."""
        answers = self._answers(now)
        if generator.id in answers.on_load:
            return answers.on_load[generator.id]
        return self._on_load_now(generator, now, answers)

    def _on_load_now(self, generator: Component, now: datetime, answers: _Answers) -> bool | None:
        running = answers.running.get(generator.id)
        if generator.id not in answers.running:
            running = self._running_now(generator, now, answers)
        on_load = self._flag(generator, "on_load", now, answers)
        if on_load is not None:
            # A closed breaker on a stopped engine feeds nothing; an unknown engine state does
            # not overrule the breaker.
            return on_load and running is not False
        power = self._number(generator, "power", now, answers)
        if power is not None:
            return power > ON_LOAD_KW
        load = self._number(generator, "load", now, answers)
        if load is not None:
            return load > ON_LOAD_PERCENT
        return running

    def any_running(self, now: datetime) -> bool | None:
        """Whether any generator runs; None when none is known to and one is unknown."""
        return _any(self._answers(now).running.values())

    def any_on_load(self, now: datetime) -> bool | None:
        """Whether any generator feeds the site; None when none is known to and one is unknown."""
        return _any(self._answers(now).on_load.values())

    def source(self, now: datetime) -> PowerSource | None:
        """Grid, generator (also while the grid is back but not yet switched over) or none.

        None (unknown) when the grid is unknown, or when a generator's state is unknown and no
        other feeds the site: "no power" must not be shown for a controller that merely missed
        a poll.
        """
        return self._answers(now).source

    def shown(self, now: datetime) -> tuple[PowerSource | None, bool | None]:
        """`source` and `grid_present` together: what the site's power figures show."""
        answers = self._answers(now)
        return answers.source, answers.grid

    def rating(self, generator: Component) -> float:
        """A generator's rated power, kW: its meta, else the site setting."""
        return generator.settings.get("rating", self.site.settings.generator_rating)


def _any(answers: Iterable[bool | None]) -> bool | None:
    """True if any answer is True; None if none is and one is unknown; False otherwise.

    No answers at all (a site without generators) is False.
    """
    unknown = False
    for answer in answers:
        if answer:
            return True
        unknown = unknown or answer is None
    return None if unknown else False
