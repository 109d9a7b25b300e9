"""An alarm in words an operator reads back after the storm: which alarm, with its figures.

Used for the logbook, in English, Swedish or Norwegian Bokmål (the user's language, English
for any other). Pure: no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "grid_lost": "Grid lost",
        "grid_lost_fuel": "Grid lost — fuel for {fuel_hours} h",
        "grid_restored": "Grid back after {outage_minutes} min, {fuel_used} L of fuel used",
        "generator_started": "{component} started",
        "generator_stopped": "{component} stopped",
        "generator_fault": "{component} fault: {generator_alarm}",
        "fuel_low": "Fuel low",
        "fuel_low_fuel": "Fuel low — {fuel_hours} h left",
        "fuel_refilled": "{litres_added} L of fuel delivered",
        "fuel_drain": "{litres_lost} L of fuel lost from the tank",
        "freezer_warning": "{component} above {limit} °C ({temperature} °C)",
        "freezer_critical": "{component} above {limit} °C ({temperature} °C): food at risk",
        "freezer_ok": "{component} back below its limit ({temperature} °C)",
        "node_offline": "Node {component} offline",
        "node_online": "Node {component} back online",
    },
    "sv": {
        "grid_lost": "Strömavbrott",
        "grid_lost_fuel": "Strömavbrott — bränsle för {fuel_hours} h",
        "grid_restored": "Nätet tillbaka efter {outage_minutes} min, {fuel_used} L bränsle använt",
        "generator_started": "{component} startade",
        "generator_stopped": "{component} stannade",
        "generator_fault": "{component} fel: {generator_alarm}",
        "fuel_low": "Lite bränsle",
        "fuel_low_fuel": "Lite bränsle — {fuel_hours} h kvar",
        "fuel_refilled": "{litres_added} L bränsle påfyllt",
        "fuel_drain": "{litres_lost} L bränsle har försvunnit ur tanken",
        "freezer_warning": "{component} över {limit} °C ({temperature} °C)",
        "freezer_critical": "{component} över {limit} °C ({temperature} °C): maten i fara",
        "freezer_ok": "{component} under gränsen igen ({temperature} °C)",
        "node_offline": "Nod {component} frånkopplad",
        "node_online": "Nod {component} ansluten igen",
    },
    "nb": {
        "grid_lost": "Strømbrudd",
        "grid_lost_fuel": "Strømbrudd — drivstoff for {fuel_hours} t",
        "grid_restored": (
            "Strømmen tilbake etter {outage_minutes} min, {fuel_used} L drivstoff brukt"
        ),
        "generator_started": "{component} startet",
        "generator_stopped": "{component} stoppet",
        "generator_fault": "{component} feil: {generator_alarm}",
        "fuel_low": "Lite drivstoff",
        "fuel_low_fuel": "Lite drivstoff — {fuel_hours} t igjen",
        "fuel_refilled": "{litres_added} L drivstoff fylt på",
        "fuel_drain": "{litres_lost} L drivstoff har forsvunnet fra tanken",
        "freezer_warning": "{component} over {limit} °C ({temperature} °C)",
        "freezer_critical": "{component} over {limit} °C ({temperature} °C): maten i fare",
        "freezer_ok": "{component} under grensen igjen ({temperature} °C)",
        "node_offline": "Node {component} frakoblet",
        "node_online": "Node {component} tilkoblet igjen",
    },
}
LANGUAGES: Final = tuple(_TEXTS)


def language_of(tag: str | None) -> str:
    """One of ours for a language tag (`sv-SE`, `nb`, `no`, `en-GB` ...); English otherwise."""
    base = (tag or "en").lower().replace("_", "-").split("-")[0]
    if base in ("no", "nn"):
        base = "nb"
    return base if base in _TEXTS else "en"


def describe(event_type: str, data: Mapping[str, Any], language: str | None) -> str:
    """The alarm in a line: `Grid lost — fuel for 31 h`, `Frys 2 above −12 °C (−11.4 °C)`."""
    texts = _TEXTS[language_of(language)]
    key = event_type
    if event_type in ("grid_lost", "fuel_low") and isinstance(data.get("fuel_hours"), int | float):
        key = f"{event_type}_fuel"
    template = texts.get(key)
    if template is None:
        return event_type
    decimal = "." if language_of(language) == "en" else ","
    values = {name: _number(value, decimal) for name, value in data.items()}
    values.setdefault("component", data.get("component_name") or data.get("component_id", ""))
    return template.format_map(_Blank(values))


def _number(value: Any, decimal: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    # From ten thousand in threes: `12,040` in English, `12 040` (a space that does not break
    # the line) where the decimal mark is a comma.
    grouped = f"{value:,.1f}" if abs(value) >= 10000 else f"{value:.1f}"
    group = "," if decimal == "." else "\u00a0"
    text = grouped.replace(",", "_").replace(".", decimal).replace("_", group).replace("-", "−")
    return text[:-2] if text.endswith(f"{decimal}0") else text


class _Blank(dict[str, Any]):
    """A figure the alarm did not carry shows as `?`, not as an error."""

    def __missing__(self, key: str) -> str:
        return "?"
