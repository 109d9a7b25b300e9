"""docs/mqtt.md and the code say the same thing: quantities, ranges, meta settings and what a
meta may not do (silence a freezer's alarms)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.sot.config_flow import OPTIONS_FIELDS
from custom_components.sot.const import (
    CONF_FREEZER_CRITICAL,
    CONF_FREEZER_WARNING,
    CONF_GENERATOR_RATING,
    CONF_TANK_CAPACITY,
    CONF_TANK_RESERVE,
)
from custom_components.sot.mqtt.meta import SETTINGS, check_settings
from custom_components.sot.mqtt.topics import parse_message
from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readings import Meta, Reading, RejectReason
from custom_components.sot.site.vocabulary import QUANTITIES, Kind, ValueType
from custom_components.sot.site.warming import Basis

DOC = (Path(__file__).parent.parent / "docs" / "mqtt.md").read_text()
TRANSLATIONS = Path(__file__).parent.parent / "custom_components" / "sot" / "translations"
BASE = "sot/kall"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def _rows(section: str) -> list[list[str]]:
    """The body rows of the tables in `section`, cells stripped."""
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _number(text: str) -> float:
    """`−2000`, `10⁹`, `100000` as written in the document."""
    text = text.replace("−", "-")
    if "10" in text and text.translate(SUPERSCRIPT) != text:
        return float(10 ** int(text.split("10", 1)[1].translate(SUPERSCRIPT)))
    return float(text)


def _range(cell: str) -> tuple[float, float]:
    found = re.match(r"(10[⁰-⁹]+|−?[0-9.]+)–(10[⁰-⁹]+|−?[0-9.]+)", cell)
    assert found, f"no range in {cell!r}"
    return _number(found[1]), _number(found[2])


def test_the_quantity_table_is_the_vocabulary() -> None:
    documented = {}
    for kind, name, kind_of_value, unit, accepted in _rows(_section("Kinds and quantities")):
        documented[(kind.strip("`"), name.strip("`"))] = (kind_of_value, unit, accepted)
    assert set(documented) == {(k.value, q) for k, specs in QUANTITIES.items() for q in specs}
    for kind, specs in QUANTITIES.items():
        for name, spec in specs.items():
            kind_of_value, unit, accepted = documented[(kind.value, name)]
            assert kind_of_value == spec.type.value, (kind, name)
            assert unit == (spec.unit or ""), (kind, name)
            if spec.type is ValueType.NUMBER:
                assert _range(accepted) == (spec.minimum, spec.maximum), (kind, name)
            if spec.type is ValueType.ENUM:
                assert re.findall(r"`([a-z_]+)`", accepted) == list(spec.options), (kind, name)


def test_the_meta_table_is_the_settings() -> None:
    rows = _rows(_section("Meta (retained)"))
    documented = {}
    for key, kinds, _, accepted in rows:
        if key.strip("`") in ("name", "node", "provides"):
            continue
        documented[(kinds, key.strip("`"))] = accepted
    assert set(documented) == {(k.value, key) for k, keys in SETTINGS.items() for key in keys}
    for kind, keys in SETTINGS.items():
        for key, setting in keys.items():
            accepted = documented[(kind.value, key)]
            assert _range(accepted.removeprefix("a whole number ")) == (setting.low, setting.high)
            assert ("whole number" in accepted) == setting.whole


@pytest.mark.parametrize(
    ("kind", "key", "option"),
    [
        (Kind.GENERATOR, "rating", CONF_GENERATOR_RATING),
        (Kind.TANK, "capacity", CONF_TANK_CAPACITY),
        (Kind.TANK, "reserve", CONF_TANK_RESERVE),
        (Kind.FREEZER, "warning", CONF_FREEZER_WARNING),
        (Kind.FREEZER, "critical", CONF_FREEZER_CRITICAL),
    ],
)
def test_meta_settings_are_held_to_the_options_flows_ranges(
    kind: Kind, key: str, option: str
) -> None:
    setting = SETTINGS[kind][key]
    field = OPTIONS_FIELDS[option].config
    assert (setting.low, setting.high) == (field["min"], field["max"])
    if kind is Kind.FREEZER:
        # Stricter than the options: a freezer's own limit is always below 0 °C.
        assert setting.unsafe_from == 0


def _meta(kind: str, payload: object) -> tuple[dict[str, float], list[RejectReason], Meta]:
    parsed = parse_message(BASE, f"{BASE}/{kind}/meta", json.dumps(payload), NOW)
    assert parsed.meta is not None
    return parsed.meta.settings, [r.reason for r in parsed.rejections], parsed.meta


def test_a_meta_cannot_silence_a_freezer() -> None:
    """The issue's meta: limits above 0 °C are refused, so −5 °C is critical, not ok."""
    settings, refused, meta = _meta(
        "freezer/f1", {"name": "Frysbox 1", "node": "freezers", "warning": 15, "critical": 20}
    )
    assert settings == {}
    assert refused == [RejectReason.UNSAFE_SETTING, RejectReason.UNSAFE_SETTING]
    assert (meta.name, meta.node) == ("Frysbox 1", "freezers")

    site = Site(Settings(alarm_delay=timedelta(0)))
    site.set_meta(meta)
    site.apply([Reading("freezer", "f1", "temperature", -5.0, NOW)], NOW)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.freezers.limits(freezer) == (-15.0, -12.0)
    status = site.freezers.status(freezer, NOW)
    assert status is not None
    assert status.value == "critical"


@pytest.mark.parametrize(
    ("payload", "kept", "refused"),
    [
        # Limits the options flow would refuse: critical not above warning. Both go.
        ({"warning": -12, "critical": -15}, {}, [RejectReason.CONFLICTING_SETTINGS]),
        ({"warning": -12, "critical": -12}, {}, [RejectReason.CONFLICTING_SETTINGS]),
        # At 0 °C food thaws: a limit must be below it.
        ({"warning": -15, "critical": 0}, {"warning": -15.0}, [RejectReason.UNSAFE_SETTING]),
        ({"warning": -1.0, "critical": -0.5}, {"warning": -1.0, "critical": -0.5}, []),
        ({"warning": 1e999}, {}, [RejectReason.BAD_SETTING]),
        # Below the options flow's range.
        ({"warning": -41, "critical": -12}, {"critical": -12.0}, [RejectReason.BAD_SETTING]),
        ({"warning": "-15", "critical": True}, {}, [RejectReason.BAD_SETTING] * 2),
        ({"warning": -15}, {"warning": -15.0}, []),
        ({"critical": -10, "rating": 50}, {"critical": -10.0}, []),  # rating: not a freezer's
    ],
)
def test_freezer_limits_in_a_meta(
    payload: dict[str, object], kept: dict[str, float], refused: list[RejectReason]
) -> None:
    settings, reasons, meta = _meta("freezer/f1", {"name": "Frysbox", **payload})
    assert (settings, reasons) == (kept, refused)
    assert meta.name == "Frysbox"


@pytest.mark.parametrize(
    ("kind", "payload", "kept", "refused"),
    [
        ("tank/main", {"capacity": 1200, "reserve": 10}, {"capacity": 1200.0, "reserve": 10.0}, 0),
        ("tank/main", {"capacity": 100_000, "reserve": 90}, {"capacity": 1e5, "reserve": 90.0}, 0),
        ("tank/main", {"capacity": 0, "reserve": 10}, {"reserve": 10.0}, 1),
        ("tank/main", {"capacity": 1_000_000}, {}, 1),  # the options flow stops at 100 000 L
        ("tank/main", {"capacity": 1200, "reserve": 95}, {"capacity": 1200.0}, 1),
        ("tank/main", {"reserve": -1}, {}, 1),
        ("generator/main", {"rating": 0.5}, {}, 1),
        ("generator/main", {"rating": 5001}, {}, 1),
        ("generator/main", {"rating": 60}, {"rating": 60.0}, 0),
        ("load/heater", {"priority": 2}, {"priority": 2.0}, 0),
        ("load/heater", {"priority": 2.0}, {"priority": 2.0}, 0),
        ("load/heater", {"priority": 2.5}, {}, 1),
        ("load/heater", {"priority": 6}, {}, 1),
        ("load/heater", {"priority": 10**400}, {}, 1),
    ],
)
def test_tank_generator_and_load_settings(
    kind: str, payload: dict[str, object], kept: dict[str, float], refused: int
) -> None:
    settings, reasons, _ = _meta(kind, {"node": "n1", **payload})
    assert settings == kept
    assert reasons == [RejectReason.BAD_SETTING] * refused


def test_each_refusal_says_what_is_accepted() -> None:
    _, refused = check_settings(Kind.FREEZER, {"warning": 15, "critical": -50})
    assert [detail for _, detail in refused] == [
        "meta warning 15 °C would keep a thawing freezer ok",
        "meta critical must be a number from -40 to -0.5 °C",
    ]
    _, refused = check_settings(Kind.LOAD, {"priority": 9})
    assert refused == [
        (RejectReason.BAD_SETTING, "meta priority must be a whole number from 1 to 5")
    ]


@pytest.mark.parametrize("language", ["en", "sv", "nb"])
def test_the_estimates_attribute_words_are_translated(language: str) -> None:
    """Every word the fuel and countdown attributes can take has a name in each language."""
    translations = json.loads((TRANSLATIONS / f"{language}.json").read_text())["entity"]["sensor"]
    words = {
        "assumes": {"present", "hour", "typical", "history"},
        "rate_source": {"controller", "curve", "level"},
        "warming_basis": {Basis.POWER, Basis.READINGS},
        "room_temperature_source": {"sensor", "setting"},
    }
    for sensor, attributes in (
        ("fuel_runtime", ("assumes", "rate_source")),
        ("fuel_runtime_typical", ("assumes", "rate_source")),
        ("time_to_warning", ("warming_basis", "room_temperature_source")),
        ("time_to_critical", ("warming_basis", "room_temperature_source")),
    ):
        for attribute in attributes:
            shown = translations[sensor]["state_attributes"][attribute]
            assert shown["name"], (sensor, attribute)
            assert set(shown["state"]) == words[attribute], (sensor, attribute)
