"""The settings a component's retained meta may carry, checked like the site's options.

A meta moves a component's limits for as long as it stays retained, so it is held to the
options flow's ranges (`config_flow.OPTIONS_FIELDS`) and to food safety: a freezer limit at or
above 0 °C, or a critical limit not above the warning one, would let a thawing freezer stay
`ok`. Each bad setting is refused with its reason; the good ones are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ..site.readings import RejectReason
from ..site.vocabulary import SERVICES, Kind


@dataclass(frozen=True, slots=True)
class Setting:
    """One meta setting: a JSON number from `low` to `high`."""

    low: float
    high: float
    unit: str = ""
    # A setting that must be a whole number (a tier, not a measure).
    whole: bool = False
    # Values from this one up are refused as unsafe, whatever the range says.
    unsafe_from: float | None = None

    def describe(self) -> str:
        """The accepted values, for a log line."""
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {self.low:g} to {self.high:g} {self.unit}".rstrip()


# The same ranges as the site's options (where a freezer's limits are below 0 °C too).
SETTINGS: Final[dict[Kind, dict[str, Setting]]] = {
    Kind.GRID: {},
    Kind.GENERATOR: {"rating": Setting(1, 5000, "kW")},
    Kind.TANK: {"capacity": Setting(1, 100_000, "L"), "reserve": Setting(0, 90, "%")},
    Kind.FREEZER: {
        "warning": Setting(-40, -0.5, "°C", unsafe_from=0),
        "critical": Setting(-40, -0.5, "°C", unsafe_from=0),
    },
    Kind.LOAD: {"priority": Setting(1, 5, whole=True)},
    # A station product's tank, and the litres kept back from sale (for the rescue services,
    # or what the pump cannot draw).
    Kind.STATION: {"capacity": Setting(1, 100_000, "L"), "reserve": Setting(0, 100_000, "L")},
    Kind.NETWORK: {},
    # Below this the warm room is not warm (WHO's 18 °C is the default).
    Kind.ROOM: {"minimum": Setting(5, 25, "°C")},
}
# The meta key naming the services a component provides: one service word or a list of them.
PROVIDES: Final = "provides"


def check_settings(
    kind: Kind, data: Mapping[str, object]
) -> tuple[dict[str, float], list[tuple[RejectReason, str]]]:
    """The good settings of a meta object, and a (reason, detail) for each refused one.

    Keys that are not settings of `kind` (a name, a node, anything else) are left alone.
    """
    settings: dict[str, float] = {}
    refused: list[tuple[RejectReason, str]] = []
    for key, setting in SETTINGS[kind].items():
        if key not in data:
            continue
        number = _number(data[key])
        if number is None:
            refused.append((RejectReason.BAD_SETTING, f"meta {key} must be {setting.describe()}"))
            continue
        if setting.unsafe_from is not None and number >= setting.unsafe_from:
            refused.append(
                (
                    RejectReason.UNSAFE_SETTING,
                    f"meta {key} {number:g} {setting.unit} would keep a thawing freezer ok",
                )
            )
            continue
        if not setting.low <= number <= setting.high or (setting.whole and number % 1):
            refused.append((RejectReason.BAD_SETTING, f"meta {key} must be {setting.describe()}"))
            continue
        settings[key] = number + 0.0
    if "warning" in settings and "critical" in settings:
        warning, critical = settings["warning"], settings["critical"]
        if critical <= warning:
            # Which of the two is wrong is unknown: both go, and the site's pair applies.
            del settings["warning"], settings["critical"]
            refused.append(
                (
                    RejectReason.CONFLICTING_SETTINGS,
                    f"meta critical {critical:g} °C must be above warning {warning:g} °C",
                )
            )
    return settings, refused


def check_provides(
    data: Mapping[str, object],
) -> tuple[tuple[str, ...] | None, list[tuple[RejectReason, str]]]:
    """The services a meta says its component provides (None: it does not say), and refusals.

    A service word or a list of them, from the vocabulary's services; anything else is refused
    whole (a half-read list would open a service the site did not mean to declare).
    """
    if PROVIDES not in data:
        return None, []
    value = data[PROVIDES]
    words = [value] if isinstance(value, str) else value
    if (
        isinstance(words, list)
        and len(words) <= len(SERVICES)
        and all(isinstance(word, str) and word in SERVICES for word in words)
    ):
        return tuple(dict.fromkeys(words)), []
    return None, [
        (RejectReason.BAD_SETTING, f"meta provides must be one or more of {', '.join(SERVICES)}")
    ]


def _number(value: object) -> float | None:
    """A finite JSON number as a float; None for anything else (a string, true, NaN, 1e999)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer too large for a float
        return None
    return number if math.isfinite(number) else None
