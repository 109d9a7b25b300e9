"""Which refused inputs are logged: few enough lines that the log stays readable under garbage.

Every refusal is counted in diagnostics; only some are logged. A line is written at most once
an hour per source (a topic, a Modbus device) and reason, and at most `budget` lines an hour in
all: a client spraying a thousand bad topics costs the log `budget` lines and one saying the
rest are only counted. A good value in between does not reset anything, so a source that
alternates good and bad values is logged once an hour, not at every bad one. Only the `size`
sources refused most recently are remembered, so memory stays bounded whatever the topics are.

The log outlives a reload of its site (the coordinator keeps it in `hass.data`): retained
garbage, which comes again at every subscription, is not logged again after a reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Final

INTERVAL: Final = 3600.0
SIZE: Final = 256
BUDGET: Final = 20


class Verdict(Enum):
    """What to do with one refusal."""

    LOG = auto()
    # Log it, and say that the rest of the hour's refusals are only counted.
    LOG_LAST = auto()
    QUIET = auto()


@dataclass(slots=True)
class RefusalLog:
    """Decides, refusal by refusal, whether it is logged."""

    interval: float = INTERVAL
    size: int = SIZE
    budget: int = BUDGET
    # (source, reason) → when it was last logged, least recently refused first.
    _logged: dict[tuple[str, str], float] = field(default_factory=dict, init=False, repr=False)
    _window_start: float | None = field(default=None, init=False)
    _spent: int = field(default=0, init=False)
    # Refusals that were counted but not logged.
    quiet: int = field(default=0, init=False)

    def verdict(self, source: str, reason: str, now: float) -> Verdict:
        """Whether the refusal of `source` for `reason` at `now` (seconds) is logged."""
        key = (source, reason)
        last = self._logged.pop(key, None)
        if last is not None and now - last < self.interval:
            self._logged[key] = last  # refused again: now the most recent
            self.quiet += 1
            return Verdict.QUIET
        if self._window_start is None or now - self._window_start >= self.interval:
            self._window_start, self._spent = now, 0
        if self._spent >= self.budget:
            self.quiet += 1
            return Verdict.QUIET
        self._spent += 1
        self._logged[key] = now
        while len(self._logged) > self.size:
            del self._logged[next(iter(self._logged))]
        return Verdict.LOG_LAST if self._spent == self.budget else Verdict.LOG

    def __len__(self) -> int:
        """How many (source, reason) pairs are remembered."""
        return len(self._logged)
