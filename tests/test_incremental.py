"""The incremental path gives what a full recomputation gives.

A message moves only what follows from it (the component's own figures, the power figures for
grid, generator and load readings, the fuel figures for tanks); the coordinator's 15 s tick
moves the rest. Two sites are played the same random sequence with that tick: one as it runs,
the other recomputing every alarm after every message. At every tick they must agree on
everything shown and raised, and after every message on what does not wait for a tick.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.sot.site.model import Site, SiteEvent
from custom_components.sot.site.power import Power
from custom_components.sot.site.readings import NodeStatus, Reading

from .test_snapshot import PLAY, SETTINGS, _shown

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TICK = timedelta(seconds=15)  # the coordinator's


class FullSite(Site):
    """Recomputes every alarm after every message, as the model did before it was incremental."""

    def apply(self, readings: Any, now: datetime, node: str | None = None) -> Any:
        events = super().apply(readings, now, node)
        return events + self._evaluate(now)


def _instant(site: Site, now: datetime) -> tuple[Any, ...]:
    """What does not wait for a tick: the power, fuel, fuel-low and availability figures."""
    shown = _shown(site, now)
    return shown[:5] + shown[6:7]


def _step(site: Site, step: tuple[Any, ...], now: datetime) -> list[SiteEvent]:
    if step[0] == "reading":
        _, kind, component_id, name, value = step
        node = "n1" if kind == "generator" else None
        return site.apply([Reading(kind, component_id, name, value, now)], now, node=node)
    if step[0] == "node":
        return site.set_node(NodeStatus(step[1], step[2], now))
    return site.tick(now)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=PLAY)
def test_incremental_equals_full_recomputation(steps: list[tuple[int, tuple[Any, ...]]]) -> None:
    fast, full = Site(SETTINGS), FullSite(SETTINGS)
    raised: dict[str, Counter[Any]] = {"fast": Counter(), "full": Counter()}
    now, next_tick = T0, T0 + TICK
    for seconds, step in steps:
        now += timedelta(seconds=seconds)
        while next_tick <= now:
            raised["fast"].update((e.type, e.component_id) for e in fast.tick(next_tick))
            raised["full"].update((e.type, e.component_id) for e in full.tick(next_tick))
            assert _shown(fast, next_tick) == _shown(full, next_tick)
            assert raised["fast"] == raised["full"]
            next_tick += TICK
        raised["fast"].update((e.type, e.component_id) for e in _step(fast, step, now))
        raised["full"].update((e.type, e.component_id) for e in _step(full, step, now))
        assert _instant(fast, now) == _instant(full, now)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=PLAY,
    probes=st.lists(st.integers(-200, 400), min_size=1, max_size=4),
    lags=st.lists(st.sampled_from([0, 0, 0, 30, 200, 400]), min_size=1, max_size=5),
    links=st.lists(st.sampled_from([None, None, True, False]), min_size=1, max_size=5),
)
def test_kept_power_answers_equal_fresh_ones(
    steps: list[tuple[int, tuple[Any, ...]]],
    probes: list[int],
    lags: list[int],
    links: list[bool | None],
) -> None:
    """Where the power comes from is kept across messages that do not touch it (a freezer's,
    a tank's) until a value it read may have gone stale: asked at any moment, before or after
    the last message, it is what a Power that keeps nothing works out. Readings also come late
    (measured before the last ones), Modbus-fed grid meters too, and the MQTT link goes and
    comes back."""
    site = Site(SETTINGS)
    now = T0
    for index, (seconds, step) in enumerate(steps):
        now += timedelta(seconds=seconds)
        if step[0] == "reading":
            _, kind, component_id, name, value = step
            measured = now - timedelta(seconds=lags[index % len(lags)])
            node = "n1" if kind in ("generator", "grid") and index % 2 else None
            site.apply([Reading(kind, component_id, name, value, measured)], measured, node=node)
        else:
            _step(site, step, now)
        link = links[index % len(links)]
        if link is not None:
            site.set_link("mqtt", link, now)
        for offset in probes:
            at = now + timedelta(seconds=offset)
            fresh = Power(site)
            assert site.power.source(at) == fresh.source(at)
            assert site.power.grid_present(at) == fresh.grid_present(at)
            for generator in site.generators():
                assert site.power.running(generator, at) == fresh.running(generator, at)
                assert site.power.on_load(generator, at) == fresh.on_load(generator, at)


def test_a_reading_the_power_does_not_read_keeps_its_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A generator's coolant temperature leaves where the power comes from as it was worked
    out; one that makes a silent generator heard again brings its state word back to life,
    and the answers follow."""
    site = Site(SETTINGS)
    site.apply([Reading("generator", "main", "state", "running", T0)], T0)
    generator = site.generators()[0]
    assert site.power.running(generator, T0) is True
    worked_out: list[datetime] = []
    work_out = Power._work_out

    def counted(power: Power, now: datetime) -> Any:
        worked_out.append(now)
        return work_out(power, now)

    monkeypatch.setattr(Power, "_work_out", counted)
    soon = T0 + timedelta(seconds=0.5)  # within the run time's integration step
    site.apply([Reading("generator", "main", "coolant_temperature", 80.0, soon)], soon)
    assert site.power.running(generator, soon) is True
    assert worked_out == []

    later = soon + SETTINGS.stale_timeout + timedelta(seconds=1)
    assert site.power.running(generator, later) is None  # silent past the timeout
    site.apply([Reading("generator", "main", "coolant_temperature", 81.0, later)], later)
    assert site.power.running(generator, later) is True
    assert site.power.running(generator, later) == Power(site).running(generator, later)
