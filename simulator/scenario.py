"""Scenario files: a timeline of what happens to the sites, in simulated time.

```yaml
name: storm
duration: "12:00"            # h:mm, or 90s / 15m / 2h, or plain seconds
events:
  - at: "1:00"
    site: [kall, valsjobyn]  # omitted: every site played
    grid: lost               # lost | restored
  - at: "1:20"
    site: kall
    generator: start         # start | stop | auto | manual | off | fail_next_start
  - {at: "1:25", site: kall, changeover: generator}   # generator | grid (manual switch)
  - {at: "1:40", site: kall, load: {heater: "on"}}
  - {at: "2:00", site: valsjobyn, door: {f3: open}}
  - {at: "9:00", site: kall, refuel: 400}             # litres
  - {at: "9:00", note: "Fuel delivery"}
```
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from .controller import Key, Mode
from .site import Site, SiteSpec

SCENARIO_DIR: Final = Path(__file__).parent / "scenarios"

GENERATOR_ACTIONS: Final = {
    "start": Key.REMOTE_START,
    "stop": Key.REMOTE_STOP,
    "auto": Key.AUTO_MODE,
    "manual": Key.MANUAL_MODE,
    "off": Key.STOP_MODE,
}
ACTIONS: Final = ("grid", "generator", "changeover", "load", "door", "refuel", "note")
_ON_WORDS: Final = {"on": True, "off": False, "open": True, "closed": False}
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


class ScenarioError(ValueError):
    """A scenario file that cannot be played; the message names the file and the event."""


def parse_duration(value: object) -> float:
    """Seconds in `1:30` (h:mm), `1:30:15`, `90s`, `15m`, `2h`, `1d` or a plain number.

    Never negative, never infinite or NaN: such a time would be played at once, never, or
    hold back every event after it.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"not a duration: {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not a duration: {value!r}")
    if ":" in value:
        parts = value.strip().split(":")
        if len(parts) not in (2, 3) or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"not a duration: {value!r}")
        numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
        return float(numbers[0] * 3600 + numbers[1] * 60 + numbers[2])
    number: float | None = None
    with contextlib.suppress(ValueError):
        number = float(value)
    if number is not None:
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"not a duration: {value!r}")
        return number
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * factor


def format_duration(seconds: float) -> str:
    """`h:mm:ss` for console lines."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happens at a simulated time to some sites (None: all of them)."""

    at_s: float
    sites: tuple[str, ...] | None
    action: str
    argument: Any


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named, validated timeline."""

    name: str
    description: str
    duration_s: float
    events: tuple[Event, ...]


def _on_off(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _ON_WORDS:
        return _ON_WORDS[value.lower()]
    raise ScenarioError(f"{where}: expected on/off (or open/closed), got {value!r}")


def _switches(value: object, where: str) -> dict[str, bool]:
    if not isinstance(value, Mapping) or not value:
        raise ScenarioError(f"{where}: expected a mapping of ids to on/off, got {value!r}")
    return {str(key): _on_off(state, where) for key, state in value.items()}


def _argument(action: str, value: object, where: str) -> Any:
    match action:
        case "grid":
            word = str(value).lower() if not isinstance(value, bool) else ""
            if word not in ("lost", "restored"):
                raise ScenarioError(f"{where}: grid must be lost or restored, got {value!r}")
            return word == "restored"
        case "generator":
            if isinstance(value, str) and (
                value == "fail_next_start" or value in GENERATOR_ACTIONS
            ):
                return value
            allowed = ", ".join([*GENERATOR_ACTIONS, "fail_next_start"])
            raise ScenarioError(f"{where}: generator must be one of {allowed}, got {value!r}")
        case "changeover":
            if value not in ("generator", "grid"):
                raise ScenarioError(f"{where}: changeover must be generator or grid")
            return value == "generator"
        case "load" | "door":
            return _switches(value, where)
        case "refuel":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ScenarioError(f"{where}: refuel needs a positive number of litres")
            return float(value)
        case _:
            return str(value)


def _check_ids(
    action: str,
    ids: Iterable[str],
    sites: tuple[str, ...] | None,
    specs: Mapping[str, SiteSpec],
    where: str,
) -> None:
    """Each load or freezer an event switches exists at each of its sites (at one site at
    least for an event of every site): a misspelt one would otherwise do nothing, silently."""
    kind = "load" if action == "load" else "freezer"
    targets = [specs[s] for s in sites] if sites is not None else list(specs.values())
    for item_id in ids:
        lacking = [
            spec.id
            for spec in targets
            if item_id not in {x.id for x in (spec.loads if kind == "load" else spec.freezers)}
        ]
        if sites is None and len(lacking) == len(targets):
            raise ScenarioError(f"{where}: no {kind} {item_id!r} at any site")
        if sites is not None and lacking:
            raise ScenarioError(f"{where}: no {kind} {item_id!r} at {', '.join(lacking)}")


def parse_scenario(
    data: object,
    source: str,
    known_sites: Iterable[str] | Mapping[str, SiteSpec] | None = None,
) -> Scenario:
    """Validate a loaded YAML document; errors name `source` and the event's index.

    With the sites' specs (`SITES`) as `known_sites`, the loads and freezers an event
    switches are checked as well.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario is a mapping with name and events")
    raw_events = data.get("events")
    if not isinstance(raw_events, list):
        raise ScenarioError(f"{source}: 'events' must be a list")
    known = set(known_sites) if known_sites is not None else None
    events: list[Event] = []
    for index, raw in enumerate(raw_events):
        where = f"{source}: event {index + 1}"
        if not isinstance(raw, Mapping) or "at" not in raw:
            raise ScenarioError(f"{where}: each event needs 'at'")
        try:
            at_s = parse_duration(raw["at"])
        except ValueError as err:
            raise ScenarioError(f"{where}: {err}") from None
        actions = [key for key in raw if key in ACTIONS]
        unknown = [key for key in raw if key not in (*ACTIONS, "at", "site")]
        if unknown or len(actions) != 1:
            raise ScenarioError(
                f"{where}: exactly one of {', '.join(ACTIONS)} is needed"
                + (f"; unknown keys {unknown}" if unknown else "")
            )
        sites_value = raw.get("site")
        sites: tuple[str, ...] | None
        if sites_value is None:
            sites = None
        elif isinstance(sites_value, str):
            sites = (sites_value,)
        elif isinstance(sites_value, list) and all(isinstance(s, str) for s in sites_value):
            sites = tuple(sites_value)
        else:
            raise ScenarioError(f"{where}: site must be a site id or a list of them")
        if known is not None and sites is not None and not set(sites) <= known:
            raise ScenarioError(f"{where}: unknown site {sorted(set(sites) - known)}")
        action = actions[0]
        argument = _argument(action, raw[action], where)
        if action in ("load", "door") and isinstance(known_sites, Mapping):
            _check_ids(action, argument, sites, known_sites, where)
        events.append(Event(at_s, sites, action, argument))
    events.sort(key=lambda event: event.at_s)
    try:
        duration = parse_duration(data.get("duration", events[-1].at_s if events else 0))
    except ValueError as err:
        raise ScenarioError(f"{source}: duration: {err}") from None
    return Scenario(
        name=str(data.get("name", Path(source).stem)),
        description=str(data.get("description", "")),
        duration_s=duration,
        events=tuple(events),
    )


def scenario_path(name: str) -> Path:
    """A scenario by file path or by the name of a shipped one (`storm`)."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    shipped = SCENARIO_DIR / f"{name}.yaml"
    if shipped.exists():
        return shipped
    available = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
    raise ScenarioError(f"no scenario {name!r}; shipped scenarios: {available}")


def load_scenario(
    name: str, known_sites: Iterable[str] | Mapping[str, SiteSpec] | None = None
) -> Scenario:
    """Load and validate a scenario file."""
    path = scenario_path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: not valid YAML: {err}") from None
    return parse_scenario(data, str(path), known_sites)


def apply_event(event: Event, site: Site) -> None:
    """Make one event happen at one site."""
    match event.action:
        case "grid":
            site.set_grid(bool(event.argument))
        case "generator":
            if event.argument == "fail_next_start":
                site.fail_next_start()
            elif event.argument == "start" and site.generator.mode == Mode.MANUAL:
                # A person at the set: in manual mode the remote keys do nothing.
                site.start_generator_at_panel()
            elif event.argument == "stop" and site.generator.mode == Mode.MANUAL:
                site.stop_generator_at_panel()
            else:
                site.press_key(GENERATOR_ACTIONS[event.argument])
        case "changeover":
            site.set_changeover(bool(event.argument))
        case "load":
            for load_id, on in event.argument.items():
                site.set_load(load_id, on)
        case "door":
            for freezer_id, is_open in event.argument.items():
                site.set_door(freezer_id, is_open)
        case "refuel":
            site.refuel(event.argument)
        case "note":
            site.note(event.argument)


class Player:
    """Plays a scenario over a set of sites sharing one simulated clock."""

    def __init__(
        self, scenario: Scenario, sites: Mapping[str, Site], start_at_s: float = 0
    ) -> None:
        self.scenario = scenario
        self.sites = dict(sites)
        self.elapsed_s = 0.0
        self._next = 0
        if start_at_s > 0:
            self.advance(start_at_s)

    @property
    def finished(self) -> bool:
        """The timeline has been played to its end."""
        return self.elapsed_s >= self.scenario.duration_s

    def advance(self, seconds: float) -> None:
        """Step every site by `seconds`, applying each event at its exact time."""
        target = self.elapsed_s + seconds
        events = self.scenario.events
        while True:
            due = events[self._next].at_s if self._next < len(events) else None
            if due is not None and due <= target:
                self._step_sites(due - self.elapsed_s)
                self._apply(events[self._next])
                self._next += 1
            else:
                self._step_sites(target - self.elapsed_s)
                return

    def _apply(self, event: Event) -> None:
        targets = event.sites if event.sites is not None else tuple(self.sites)
        for site_id in targets:
            site = self.sites.get(site_id)
            if site is not None:
                apply_event(event, site)

    def _step_sites(self, seconds: float) -> None:
        if seconds > 0:
            for site in self.sites.values():
                site.step(seconds)
            self.elapsed_s += seconds
