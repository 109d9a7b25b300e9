"""A site's components and their last good values, with the time each was measured."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from .values import parse_json_value
from .vocabulary import Kind, Value, quantity


@dataclass(slots=True)
class Sample:
    """The last good value of a quantity and when it was measured."""

    value: Value
    time: datetime
    # Delivered by its transport while that transport knew the node was silent: a conclusion
    # drawn from the silence itself (a grid-side meter that stops answering: no grid).
    despite_offline: bool = False
    # When its sensor first said it has no reading since (NaN, a probe's error value): a probe
    # that reports only on a change is then live no longer than the staleness timeout.
    failed: datetime | None = None


def as_number(value: Value | None) -> float | None:
    """A value as a number, or None (exact types: a bool is an int, and not a number here)."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    return float(value) if kind is int else None  # type: ignore[arg-type]


def as_flag(value: Value | None) -> bool | None:
    """A value as ON/OFF, or None."""
    return value if type(value) is bool else None


@dataclass(slots=True)
class Component:
    """One grid connection, generator, tank, freezer or load, and its last good values."""

    kind: Kind
    id: str
    values: dict[str, Sample] = field(default_factory=dict)
    # Every quantity ever reported, so a counter's source is fixed once it has reported.
    reported: set[str] = field(default_factory=set)
    last_seen: datetime | None = None
    name: str | None = None
    node: str | None = None
    settings: dict[str, float] = field(default_factory=dict)
    # The link its readings come over ("mqtt", or "modbus" for a polled device).
    link: str = "mqtt"
    # The services it provides (vocabulary.SERVICES), as its meta declares them.
    provides: tuple[str, ...] = ()
    # (kind, id), the component's identity within its site: made once, asked on every message.
    key: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Make the key (kind and id do not change)."""
        self.key = (self.kind.value, self.id)

    def snapshot(self) -> dict[str, Any]:
        """Storage form: everything, values with the time they were measured."""
        return {
            "kind": self.kind.value,
            "id": self.id,
            "values": {
                name: [sample.value, sample.time.isoformat(), sample.despite_offline]
                + ([] if sample.failed is None else [sample.failed.isoformat()])
                for name, sample in self.values.items()
            },
            "reported": sorted(self.reported),
            "last_seen": iso(self.last_seen),
            "name": self.name,
            "node": self.node,
            "settings": dict(self.settings),
            "link": self.link,
            "provides": list(self.provides),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any], dropped: list[str] | None = None) -> Component:
        """Read the storage form back. A last reading that would be refused if it arrived now
        is left out (its quantity waits for the next one), said in `dropped` if given."""
        values: dict[str, Sample] = {}
        for name, (value, time, despite, *failed) in dict(data.get("values") or {}).items():
            try:
                kept = _stored_value(data["kind"], str(name), value)
            except ValueError as err:
                if dropped is not None:
                    dropped.append(f"{data['kind']} {data['id']}: {err}")
                continue
            values[str(name)] = Sample(
                kept,
                parse_time(time),
                bool(despite),
                parse_time(failed[0]) if failed else None,
            )
        return cls(
            kind=Kind(data["kind"]),
            id=str(data["id"]),
            values=values,
            reported={str(q) for q in data.get("reported") or ()},
            last_seen=optional_time(data.get("last_seen")),
            name=_optional_text(data.get("name"), "name"),
            node=_optional_text(data.get("node"), "node"),
            settings={str(k): _setting(k, v) for k, v in dict(data.get("settings") or {}).items()},
            link=str(data.get("link", "mqtt")),
            provides=tuple(str(service) for service in data.get("provides") or ()),
        )


def _stored_value(kind: str, name: str, value: Any) -> Value:
    """A stored reading, held to the vocabulary as a JSON value arriving now is: a level of
    -5 % or nan read back would be shown, or fail its entity."""
    spec = quantity(kind, name)
    if spec is None:
        if not isinstance(value, bool | int | float | str):
            raise ValueError(f"value of {name} is {value!r}")
        return value
    return parse_json_value(spec, value)


# Meta settings that divide or scale a figure: none of them is 0 or less when a meta sets it.
_POSITIVE_SETTINGS = frozenset({"capacity", "rating"})


def _setting(key: str, value: Any) -> float:
    """A stored meta setting: a finite number (and above 0 for a capacity or a rating)."""
    number = float(value)
    if not math.isfinite(number) or (key in _POSITIVE_SETTINGS and number <= 0):
        raise ValueError(f"setting {key} is {value!r}")
    return number


def _optional_text(value: Any, what: str) -> str | None:
    """A stored name or node: text or nothing (anything else would fail every later message)."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{what} is {value!r}")
    return value


def iso(moment: datetime | None) -> str | None:
    """A time in storage form."""
    return None if moment is None else moment.isoformat()


# Stored times lie in these years: one near year 1 or 9999 fails the first time a duration is
# added to it, and a time in POSIX seconds beyond them cannot be shown.
STORED_YEARS: Final = (1970, 2999)
_STORED_SECONDS: Final = (
    datetime(STORED_YEARS[0], 1, 1, tzinfo=UTC).timestamp(),
    datetime(STORED_YEARS[1] + 1, 1, 1, tzinfo=UTC).timestamp(),
)
# No figure of a site comes near this (litres, kWh, seconds, or a fuel line's sum of squares).
STORED_LIMIT: Final = 1e15


def parse_time(text: Any) -> datetime:
    """A stored time; one written without a zone is UTC, never compared naive."""
    moment = datetime.fromisoformat(str(text))
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not STORED_YEARS[0] <= moment.year <= STORED_YEARS[1]:
        raise ValueError(f"time {text!r} is out of range")
    return moment


def optional_time(text: Any) -> datetime | None:
    """A stored time that may be absent."""
    return None if text is None else parse_time(text)


def stored_seconds(value: Any) -> float:
    """A stored time in POSIX seconds, in the years `parse_time` takes."""
    seconds = float(value)
    if not _STORED_SECONDS[0] <= seconds < _STORED_SECONDS[1]:  # a nan is neither
        raise ValueError(f"time {value!r} is out of range")
    return seconds


def stored_total(value: Any) -> float:
    """A stored total that only grows from 0 (litres burned, hours run, energy made)."""
    total = float(value)
    if not total >= 0:  # a nan is not either
        raise ValueError(f"a total of {value!r}")
    return total


def check_figures(value: Any, where: str) -> None:
    """Every number in a restored state, at any depth, is finite and short of `STORED_LIMIT`:
    a nan or an infinity read back would be shown, or fail every later reading."""
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > STORED_LIMIT:
            raise ValueError(f"{where} is {value!r}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > STORED_LIMIT:
            raise ValueError(f"{where} is {value!r}")
    elif isinstance(value, dict):
        for key, each in value.items():
            check_figures(each, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for place, each in enumerate(value):
            check_figures(each, f"{where}.{place}")
