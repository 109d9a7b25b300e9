"""The grid monitor keeps a lost grid lost for the whole outage.

The PZEM-004T is powered by the mains it measures, so when the grid fails it goes silent and
the node's filters turn the silence into 0 V. The filters are taken from the configuration
`esphome config` resolved, played the way ESPHome's `sensor/filter.cpp` runs them (a
`timeout` sends its value once, then waits for the next input; a `heartbeat` repeats the last
value every period, and with `optimistic` passes each value on at once), and what comes out is
handed to the integration's own parser and site model. The firmware itself cannot run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from custom_components.sot.mqtt import topics
from custom_components.sot.site.model import Site
from custom_components.sot.site.readings import NodeStatus

from .nodes import Result, Variant, valid_config

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PZEM_EVERY = 2  # s, the node's update_interval
ANSWERS = {"voltage": 231.2, "frequency": 50.0, "power": 3400.0}  # W, as the PZEM reads it


def _seconds(text: str) -> int:
    units = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return round(float(text.removesuffix(unit)) * factor)
    raise AssertionError(f"a time this test cannot read: {text!r}")


@dataclass
class Chain:
    """One sensor's filter chain, stepped once a second; what it publishes, with when."""

    filters: list[dict[str, Any]]
    published: list[tuple[int, float]] = field(default_factory=list)
    timeout_started: dict[int, int | None] = field(default_factory=dict)
    heartbeat_last: dict[int, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.filters:
            [name] = item
            if name not in ("timeout", "heartbeat", "multiply"):
                raise AssertionError(f"filter {name!r}: teach this test how ESPHome runs it")

    def input(self, now: int, value: float, start: int = 0) -> None:
        for index in range(start, len(self.filters)):
            [(name, spec)] = self.filters[index].items()
            if name == "multiply":
                value *= float(spec)
            elif name == "timeout":
                self.timeout_started[index] = now
            elif name == "heartbeat":
                self.heartbeat_last[index] = value
                if not spec.get("optimistic", False):
                    return
        self.published.append((now, value))

    def tick(self, now: int) -> None:
        for index, item in enumerate(self.filters):
            [(name, spec)] = item.items()
            if name == "timeout":
                started = self.timeout_started.get(index)
                if started is not None and now - started >= _seconds(spec["timeout"]):
                    self.timeout_started[index] = None  # once, until the next input
                    self.input(now, float(spec["value"]), index + 1)
            elif name == "heartbeat" and now > 0 and now % _seconds(spec["period"]) == 0:
                last = self.heartbeat_last.get(index)
                if last is not None:
                    self.input(now, last, index + 1)


def _play(
    config: dict[str, Any], silent_from: int, answers_again: int, until: int
) -> dict[int, bool | None]:
    """Whether the site takes the grid as present, minute by minute."""
    pzem = next(s for s in config["sensor"] if s["platform"] == "pzemac")
    chains = {name: Chain(pzem[name].get("filters", [])) for name in ANSWERS}
    for second in range(until):
        for name, chain in chains.items():
            answering = second < silent_from or second >= answers_again
            if answering and second % PZEM_EVERY == 0:
                chain.input(second, ANSWERS[name])
            chain.tick(second)
    messages = sorted(
        (second, name, value) for name, chain in chains.items() for second, value in chain.published
    )
    site = Site()
    site.set_node(NodeStatus(config["esphome"]["name"], True, T0))
    meta = topics.parse_message(
        "sot/kall", "sot/kall/grid/main/meta", '{"name": "Grid", "node": "grid-monitor"}', T0
    ).meta
    assert meta is not None
    site.set_meta(meta)
    played = 0
    checks: dict[int, bool | None] = {}
    for minute in range(until // 60 + 1):
        now = T0 + timedelta(minutes=minute)
        while played < len(messages) and messages[played][0] <= minute * 60:
            second, name, value = messages[played]
            at = T0 + timedelta(seconds=second)
            parsed = topics.parse_message("sot/kall", pzem[name]["state_topic"], f"{value:.3f}", at)
            assert not parsed.rejections, parsed.rejections
            site.apply(parsed.readings, at)
            played += 1
        site.tick(now)
        checks[minute] = site.power.grid_present(now)
    return checks


def test_a_lost_grid_stays_lost_for_the_whole_outage(
    esphome_results: dict[Variant, Result],
) -> None:
    config = valid_config(esphome_results, Variant("grid-monitor.yaml"))
    # The grid for 10 minutes, an outage of two hours, the grid again for 10 minutes.
    checks = _play(config, silent_from=600, answers_again=600 + 7200, until=600 + 7200 + 600)
    assert all(checks[minute] is True for minute in range(1, 10)), checks
    # From the first minute after the PZEM went silent to the end of the outage: lost, never
    # unknown (a number older than the staleness timeout counts as no reading).
    during = {minute: checks[minute] for minute in range(11, 130)}
    assert all(present is False for present in during.values()), {
        minute: present for minute, present in during.items() if present is not False
    }
    assert all(checks[minute] is True for minute in range(131, 140)), checks
