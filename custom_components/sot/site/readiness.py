"""Storm readiness: is the site ready for the next outage, and if not, why.

`assess` reads the site model (nothing is kept here) and answers `ready`, `check` or
`not_ready`, with one reason per finding:

| reason | grade | when |
|---|---|---|
| `fuel_below` | not ready | fewer hours of fuel at the typical load than the setting |
| `fuel_unknown` | check | no tank, or the hours at the typical load are not known yet |
| `no_generator` | check | no generator has reported |
| `generator_fault` | not ready | the controller's last word was a fault (its last run failed) |
| `battery_low` | not ready | starter battery below 12.2 V (24.4 V) while the engine stands still |
| `generator_not_run` | check | not seen running for more than 30 days |
| `service_due_hours` | check | run hours at or past the service setting |
| `service_due_date` | check | the service date setting has come |
| `link_down` | check | no live data: HA's MQTT connection, or the county bridge, is down |
| `node_offline` | check | a node said it is offline |
| `component_silent` | check | a component's data is stale (its node silent) |
| `freezer_not_holding` | check | a freezer above −18 °C for more than an hour |

Texts in English, Swedish and Norwegian Bokmål (`text`). Pure: no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from .alarm_texts import language_of
from .coldchain import HOLD_TEMPERATURE
from .components import Component
from .vocabulary import Kind

if TYPE_CHECKING:
    from .model import Site

# A generator not seen running for longer than this should be exercised before the storm.
IDLE_LIMIT: Final = timedelta(days=30)
# A 12 V starter battery below this at rest is about half charged (24 V systems: twice it).
BATTERY_AT_REST: Final = 12.2
# Readings above this are taken as a 24 V system.
BATTERY_24V_FROM: Final = 18.0
# A freezer above −18 °C for longer than this is not holding it (a defrost lasts 20–30 min).
HOLD_GRACE: Final = timedelta(hours=1)
# States in which the battery reading is not a resting one (cranking dips, charging rises).
_NOT_AT_REST: Final = frozenset({"starting", "stopping"})


class Readiness(StrEnum):
    """The site's readiness for the next outage."""

    READY = "ready"
    CHECK = "check"
    NOT_READY = "not_ready"


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding: its code, how grave it is, what it is about and its figures."""

    code: str
    grade: Readiness
    component: Component | None = None
    figures: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The readiness and its reasons, gravest first."""

    state: Readiness
    reasons: tuple[Reason, ...]

    def attributes(self, language: str | None) -> dict[str, Any]:
        """The entity's attributes: the reasons as data, as texts in `language`, and as texts
        in each of ours (for notifications in a language other than Home Assistant's)."""
        return {
            "reasons": [
                {
                    "reason": reason.code,
                    "grade": reason.grade.value,
                    **(
                        {"kind": reason.component.kind.value, "component_id": reason.component.id}
                        if reason.component is not None
                        else {}
                    ),
                    **reason.figures,
                }
                for reason in self.reasons
            ],
            "texts": [text(reason, language) for reason in self.reasons],
            "texts_by_language": {
                lang: [text(reason, lang) for reason in self.reasons] for lang in _TEXTS
            },
        }


def assess(site: Site, now: datetime, today: date) -> Assessment:
    """The site's readiness at `now` (`today`: the local date, for the service date)."""
    reasons: list[Reason] = []
    _fuel(site, now, reasons)
    _generators(site, now, today, reasons)
    _silence(site, now, reasons)
    _freezers(site, now, reasons)
    order = {Readiness.NOT_READY: 0, Readiness.CHECK: 1}
    reasons.sort(key=lambda reason: order[reason.grade])
    if any(reason.grade is Readiness.NOT_READY for reason in reasons):
        state = Readiness.NOT_READY
    else:
        state = Readiness.CHECK if reasons else Readiness.READY
    return Assessment(state, tuple(reasons))


# -- the rules -----------------------------------------------------------------------------


def _fuel(site: Site, now: datetime, reasons: list[Reason]) -> None:
    limit = site.settings.readiness_fuel_hours
    figure = site.fuel.typical(now) if site.of_kind(Kind.TANK) else None
    if figure is None:
        reasons.append(Reason("fuel_unknown", Readiness.CHECK, figures={"limit": limit}))
        return
    if figure.hours < limit:
        load = None if figure.load is None else round(figure.load, 1)
        reasons.append(
            Reason(
                "fuel_below",
                Readiness.NOT_READY,
                figures={"hours": round(figure.hours, 1), "limit": limit, "load": load},
            )
        )


def _generators(site: Site, now: datetime, today: date, reasons: list[Reason]) -> None:
    generators = site.generators()
    if not generators:
        reasons.append(Reason("no_generator", Readiness.CHECK))
    for generator in generators:
        run = site.runs.get(generator.id)
        if run is not None and run.was_fault:
            figures = {
                "state": site.fresh(generator, "state", now),
                "alarm": site.fresh(generator, "alarm", now),
            }
            reasons.append(Reason("generator_fault", Readiness.NOT_READY, generator, figures))
        _battery(site, generator, now, reasons)
        if run is not None and run.watched_since is not None:
            since = run.last_run or run.watched_since
            if now - since > IDLE_LIMIT:
                figures = {
                    "days": int((now - since) / timedelta(days=1)),
                    "last_run": None if run.last_run is None else run.last_run.isoformat(),
                }
                reasons.append(Reason("generator_not_run", Readiness.CHECK, generator, figures))
        due = site.settings.service_due_hours
        hours = _run_hours(site, generator)
        if due > 0 and hours is not None and hours >= due:
            figures = {"run_hours": round(hours, 1), "due_hours": due}
            reasons.append(Reason("service_due_hours", Readiness.CHECK, generator, figures))
    due_date = site.settings.service_due_date
    if due_date is not None and today >= due_date:
        figures = {"due_date": due_date.isoformat()}
        reasons.append(Reason("service_due_date", Readiness.CHECK, figures=figures))


def _battery(site: Site, generator: Component, now: datetime, reasons: list[Reason]) -> None:
    """The starter battery at rest: while the engine runs the reading is the charger's."""
    voltage = site.number(generator, "battery_voltage", now)
    if voltage is None or site.power.running(generator, now) is not False:
        return
    if site.fresh(generator, "state", now) in _NOT_AT_REST:
        return
    limit = BATTERY_AT_REST * (2 if voltage > BATTERY_24V_FROM else 1)
    if voltage < limit:
        figures = {"voltage": round(voltage, 2), "limit": round(limit, 1)}
        reasons.append(Reason("battery_low", Readiness.NOT_READY, generator, figures))


def _run_hours(site: Site, generator: Component) -> float | None:
    """The controller's run-hour counter as last reported, else the model's estimate."""
    sample = generator.values.get("run_hours")
    if sample is not None and isinstance(sample.value, int | float):
        return float(sample.value)
    if "run_hours" in generator.reported:
        return None  # the controller keeps it, and has no value now
    run = site.runs.get(generator.id)
    return None if run is None else run.seconds / 3600


def _silence(site: Site, now: datetime, reasons: list[Reason]) -> None:
    for link in sorted(site.links_down):
        reasons.append(Reason("link_down", Readiness.CHECK, figures={"link": link}))
    offline = sorted(node for node, online in site.nodes.items() if not online)
    for node in offline:
        reasons.append(Reason("node_offline", Readiness.CHECK, figures={"node": node}))
    for key in sorted(site.components):
        component = site.components[key]
        if component.link in site.links_down or component.node in offline:
            continue  # said above
        if site.available(component, now):
            continue
        last = component.last_seen
        figures = {
            "minutes": None if last is None else int((now - last).total_seconds() // 60),
            "last_seen": None if last is None else last.isoformat(),
        }
        reasons.append(Reason("component_silent", Readiness.CHECK, component, figures))


def _freezers(site: Site, now: datetime, reasons: list[Reason]) -> None:
    # Only those whose last readings were above −18 °C (usually none): cheap on every message.
    for freezer_id, since in sorted(site.coldchain.above_hold_since.items()):
        freezer = site.component(Kind.FREEZER, freezer_id)
        temperature = site.number(freezer, "temperature", now)
        if temperature is None or temperature <= HOLD_TEMPERATURE:
            continue
        if now - since > HOLD_GRACE:
            figures = {
                "temperature": round(temperature, 1),
                "hours": round((now - since).total_seconds() / 3600, 1),
                "since": since.isoformat(),
            }
            reasons.append(Reason("freezer_not_holding", Readiness.CHECK, freezer, figures))


# -- texts ---------------------------------------------------------------------------------

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "fuel_below": "Fuel for {hours} h at the typical load, fewer than the {limit} h asked",
        "fuel_unknown": "Hours of fuel at the typical load not known yet",
        "no_generator": "No generator has reported",
        "generator_fault": "{component}: its last run ended in a fault",
        "battery_low": "{component}: starter battery {voltage} V at rest, below {limit} V",
        "generator_not_run": "{component} has not run for {days} days",
        "service_due_hours": "{component}: service due at {due_hours} h, now at {run_hours} h",
        "service_due_date": "Generator service due on {due_date}",
        "link_down": (
            "No live data from the site: Home Assistant's MQTT connection, or the county"
            " bridge, is down"
        ),
        "node_offline": "Node {node} is offline",
        "component_silent": "{component}: no data for {minutes} min",
        "component_silent_never": "{component}: no data",
        "freezer_not_holding": "{component} at {temperature} °C, above −18 °C for {hours} h",
    },
    "sv": {
        "fuel_below": "Bränsle för {hours} h vid normal last, färre än de {limit} h som krävs",
        "fuel_unknown": "Timmar bränsle vid normal last ännu okänt",
        "no_generator": "Inget elverk har rapporterat",
        "generator_fault": "{component}: senaste körningen slutade med fel",
        "battery_low": "{component}: startbatteriet {voltage} V i vila, under {limit} V",
        "generator_not_run": "{component} har inte gått på {days} dagar",
        "service_due_hours": "{component}: service vid {due_hours} h, nu {run_hours} h",
        "service_due_date": "Service av elverket senast {due_date}",
        "link_down": (
            "Inga aktuella data från platsen: Home Assistants MQTT-anslutning, eller länsbryggan,"
            " är nere"
        ),
        "node_offline": "Noden {node} är frånkopplad",
        "component_silent": "{component}: inga data på {minutes} min",
        "component_silent_never": "{component}: inga data",
        "freezer_not_holding": "{component} håller {temperature} °C, över −18 °C i {hours} h",
    },
    "nb": {
        "fuel_below": "Drivstoff for {hours} t ved normal last, færre enn de {limit} t som kreves",
        "fuel_unknown": "Timer drivstoff ved normal last ennå ukjent",
        "no_generator": "Ingen aggregat har rapportert",
        "generator_fault": "{component}: siste kjøring endte med feil",
        "battery_low": "{component}: startbatteriet {voltage} V i hvile, under {limit} V",
        "generator_not_run": "{component} har ikke gått på {days} dager",
        "service_due_hours": "{component}: service ved {due_hours} t, nå {run_hours} t",
        "service_due_date": "Service av aggregatet senest {due_date}",
        "link_down": (
            "Ingen ferske data fra stedet: Home Assistants MQTT-tilkobling, eller fylkesbroen,"
            " er nede"
        ),
        "node_offline": "Noden {node} er frakoblet",
        "component_silent": "{component}: ingen data på {minutes} min",
        "component_silent_never": "{component}: ingen data",
        "freezer_not_holding": "{component} holder {temperature} °C, over −18 °C i {hours} t",
    },
}
# A component without a meta name: its kind, and its id unless it is the usual `main`.
_KINDS: Final[dict[str, dict[Kind, str]]] = {
    "en": {
        Kind.GRID: "Grid meter",
        Kind.GENERATOR: "Generator",
        Kind.TANK: "Tank",
        Kind.FREEZER: "Freezer",
        Kind.LOAD: "Load",
        Kind.STATION: "Fuel station",
        Kind.NETWORK: "Network",
        Kind.ROOM: "Room",
    },
    "sv": {
        Kind.GRID: "Elmätaren",
        Kind.GENERATOR: "Elverket",
        Kind.TANK: "Tanken",
        Kind.FREEZER: "Frys",
        Kind.LOAD: "Last",
        Kind.STATION: "Drivmedelsstationen",
        Kind.NETWORK: "Nätverket",
        Kind.ROOM: "Rummet",
    },
    "nb": {
        Kind.GRID: "Strømmåleren",
        Kind.GENERATOR: "Aggregatet",
        Kind.TANK: "Tanken",
        Kind.FREEZER: "Fryser",
        Kind.LOAD: "Last",
        Kind.STATION: "Drivstoffstasjonen",
        Kind.NETWORK: "Nettverket",
        Kind.ROOM: "Rommet",
    },
}


# A command in an error message, as the operator would name it.
_ACTIONS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "start": "start",
        "stop": "stop",
        "mode_auto": "auto mode",
        "mode_manual": "manual mode",
        "turn_on": "switch on",
        "turn_off": "switch off",
    },
    "sv": {
        "start": "start",
        "stop": "stopp",
        "mode_auto": "autoläge",
        "mode_manual": "manuellt läge",
        "turn_on": "slå på",
        "turn_off": "slå av",
    },
    "nb": {
        "start": "start",
        "stop": "stopp",
        "mode_auto": "automodus",
        "mode_manual": "manuell modus",
        "turn_on": "slå på",
        "turn_off": "slå av",
    },
}


def action_name(action: str, language: str | None) -> str:
    """A command's name in `language` (its code if it has none)."""
    return _ACTIONS[language_of(language)].get(action, action)


def text(reason: Reason, language: str | None) -> str:
    """The reason in a line, in English, Swedish or Norwegian Bokmål (English otherwise)."""
    lang = language_of(language)
    key = reason.code
    if key == "component_silent" and reason.figures.get("minutes") is None:
        key = "component_silent_never"
    decimal = "." if lang == "en" else ","
    values = {name: _number(value, decimal) for name, value in reason.figures.items()}
    if reason.component is not None:
        values["component"] = component_name(reason.component, lang)
    return _TEXTS[lang][key].format_map(values)


def component_name(component: Component, language: str | None) -> str:
    """A component's name in a text: its meta name, else its kind (and id) in `language`."""
    if component.name:
        return component.name
    return kind_name(component.kind, component.id, language)


def kind_name(kind: Kind, component_id: str, language: str | None) -> str:
    """A component's kind (and id) in `language`: `Elverket b`, `Elmätaren` for `main`."""
    word = _KINDS[language_of(language)][kind]
    return word if component_id == "main" else f"{word} {component_id}"


def _number(value: Any, decimal: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        return str(value)
    shown = f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return shown.replace("-", "−").replace(".", decimal)
