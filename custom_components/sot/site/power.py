"""Where the site's power comes from: the grid, its generators, or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .components import Component
from .vocabulary import Kind

if TYPE_CHECKING:
    from .model import Settings, Site

# Generator states in which the engine turns.
RUNNING_STATES: Final = frozenset({"warming_up", "running", "cooling_down"})
# Above this engine speed (rpm) the engine turns, when no state word says so.
RUNNING_RPM: Final = 300
# Below this generator output the breaker is taken to be open ("running, not on load").
ON_LOAD_KW: Final = 0.2
ON_LOAD_PERCENT: Final = 1.0


class PowerSource(StrEnum):
    """What feeds the site right now."""

    GRID = "grid"
    GENERATOR = "generator"
    NONE = "none"


class Power:
    """The grid's presence and every generator's state, and the source they add up to."""

    def __init__(self, site: Site) -> None:
        """Read from `site`'s components."""
        self.site = site
        # The last answers, with the moment, the site's revision and settings they hold for:
        # one message asks the same of a generator many times (its run time, fuel, the freezers'
        # power, the entities), and nothing changes in between without a new revision.
        self._running: dict[str, tuple[tuple[datetime, int, Settings], bool | None]] = {}
        self._source: tuple[tuple[datetime, int, Settings], PowerSource | None] | None = None

    def _stamp(self, now: datetime) -> tuple[datetime, int, Settings]:
        # The settings object itself, not its id: an id can come back for new settings.
        return (now, self.site.revision, self.site.settings)

    def grid_present(self, now: datetime) -> bool | None:
        """Whether the grid is there: a meter's own word first, else its voltage; None unknown."""
        answers: list[bool] = []
        for grid in self.site.of_kind(Kind.GRID):
            present = self.site.flag(grid, "present", now)
            if present is None:
                voltage = self.site.number(grid, "voltage", now)
                present = None if voltage is None else voltage >= self.site.settings.grid_voltage
            if present is not None:
                answers.append(present)
        return any(answers) if answers else None

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
        stamp = self._stamp(now)
        known = self._running.get(generator.id)
        if known is not None and known[0] == stamp:
            return known[1]
        answer = self._running_now(generator, now)
        self._running[generator.id] = (stamp, answer)
        return answer

    def _running_now(self, generator: Component, now: datetime) -> bool | None:
        state = self.site.fresh(generator, "state", now)
        if isinstance(state, str):
            return state in RUNNING_STATES
        speed = self.site.number(generator, "speed", now)
        return None if speed is None else speed > RUNNING_RPM

    def on_load(self, generator: Component, now: datetime) -> bool | None:
        """Whether the generator feeds the site: breaker, else output, else that it runs."""
        on_load = self.site.flag(generator, "on_load", now)
        if on_load is not None:
            # A closed breaker on a stopped engine feeds nothing; an unknown engine state does
            # not overrule the breaker.
            return on_load and self.running(generator, now) is not False
        power = self.site.number(generator, "power", now)
        if power is not None:
            return power > ON_LOAD_KW
        load = self.site.number(generator, "load", now)
        if load is not None:
            return load > ON_LOAD_PERCENT
        return self.running(generator, now)

    def any_running(self, now: datetime) -> bool | None:
        """Whether any generator runs; None when none is known to and one is unknown."""
        return _any(self.running(g, now) for g in self.site.of_kind(Kind.GENERATOR))

    def any_on_load(self, now: datetime) -> bool | None:
        """Whether any generator feeds the site; None when none is known to and one is unknown."""
        return _any(self.on_load(g, now) for g in self.site.of_kind(Kind.GENERATOR))

    def source(self, now: datetime) -> PowerSource | None:
        """Grid, generator (also while the grid is back but not yet switched over) or none.

        None (unknown) when the grid is unknown, or when a generator's state is unknown and no
        other feeds the site: "no power" must not be shown for a controller that merely missed
        a poll.
        """
        stamp = self._stamp(now)
        if self._source is not None and self._source[0] == stamp:
            return self._source[1]
        answer = self._source_now(now)
        self._source = (stamp, answer)
        return answer

    def _source_now(self, now: datetime) -> PowerSource | None:
        on_load = self.any_on_load(now)
        if on_load:
            return PowerSource.GENERATOR
        grid = self.grid_present(now)
        if grid is None or on_load is None:
            return None
        return PowerSource.GRID if grid else PowerSource.NONE

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
