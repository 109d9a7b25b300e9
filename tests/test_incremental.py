"""The incremental path gives what a full recomputation gives.

A message moves only what follows from it (the component's own figures, the power figures for
grid, generator and load readings, the fuel figures for tanks); the 15 s tick moves the rest.
Two sites are played the same random sequence: one as it runs, the other recomputing every
alarm after every message. At every tick they must agree on everything shown and raised, and in
between on what does not wait for a tick.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.sot.site.model import Site
from custom_components.sot.site.readings import NodeStatus, Reading

from .test_snapshot import PLAY, SETTINGS, _shown

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FullSite(Site):
    """Recomputes every alarm after every message, as the model did before it was incremental."""

    def apply(self, readings: Any, now: datetime, node: str | None = None) -> Any:
        events = super().apply(readings, now, node)
        return events + self._evaluate(now)


def _instant(site: Site, now: datetime) -> tuple[Any, ...]:
    """What does not wait for a tick: the power, fuel and availability figures."""
    return _shown(site, now)[:4] + _shown(site, now)[6:7]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=PLAY, tick_every=st.integers(2, 6))
def test_incremental_equals_full_recomputation(
    steps: list[tuple[int, tuple[Any, ...]]], tick_every: int
) -> None:
    fast, full = Site(SETTINGS), FullSite(SETTINGS)
    raised_fast: Counter[Any] = Counter()
    raised_full: Counter[Any] = Counter()
    now = T0
    for index, (seconds, step) in enumerate(steps):
        now += timedelta(seconds=seconds)
        for site, raised in ((fast, raised_fast), (full, raised_full)):
            if step[0] == "reading":
                _, kind, component_id, name, value = step
                node = "n1" if kind == "generator" else None
                reading = Reading(kind, component_id, name, value, now)
                events = site.apply([reading], now, node=node)
            elif step[0] == "node":
                events = site.set_node(NodeStatus(step[1], step[2], now))
            else:
                events = site.tick(now)
            raised.update((e.type, e.component_id) for e in events)
        assert _instant(fast, now) == _instant(full, now)
        if index % tick_every == 0:
            raised_fast.update((e.type, e.component_id) for e in fast.tick(now))
            raised_full.update((e.type, e.component_id) for e in full.tick(now))
            assert _shown(fast, now) == _shown(full, now)
            assert raised_fast == raised_full
