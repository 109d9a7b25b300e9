"""Storm readiness: each rule on its own, its grade, and its text in three languages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readiness import (
    Readiness,
    Reason,
    assess,
    component_name,
    text,
)
from custom_components.sot.site.readings import Meta, NodeStatus, Reading
from custom_components.sot.site.vocabulary import Value

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def feed(site: Site, minutes: float, kind: str, component_id: str, **values: Value) -> None:
    now = at(minutes)
    site.apply(
        [Reading(kind, component_id, quantity, value, now) for quantity, value in values.items()],
        now,
    )


def typical(site: Site, monkeypatch: pytest.MonkeyPatch, hours: float | None) -> None:
    """The fuel model's hours at the typical load, as the readiness rules read them."""
    figure = None if hours is None else SimpleNamespace(hours=hours, load=21.04)
    monkeypatch.setattr(site.fuel, "typical", lambda now: figure)


def ready_site(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Site:
    """A site with nothing to say: grid, a stopped generator on a good battery, a tank with
    fuel for 100 h at the typical load, a freezer at −20 °C."""
    site = Site(Settings(**settings))
    feed(site, 0, "grid", "main", present=True, power=21.0)
    feed(site, 0, "generator", "main", state="stopped", alarm="ok", battery_voltage=12.9)
    feed(site, 0, "tank", "main", volume=900.0)
    feed(site, 0, "freezer", "f1", temperature=-20.0, door=False)
    typical(site, monkeypatch, 100.0)
    return site


def alive(site: Site, minute: float) -> None:
    """Grid, generator and tank report again (so that none of them is silent)."""
    feed(site, minute, "grid", "main", present=True, power=21.0)
    feed(site, minute, "generator", "main", state="stopped", battery_voltage=12.9)
    feed(site, minute, "tank", "main", volume=900.0)


def codes(site: Site, minutes: float = 0, today: date = TODAY) -> list[tuple[str, str]]:
    assessment = assess(site, at(minutes), today)
    return [(reason.code, reason.grade.value) for reason in assessment.reasons]


def test_a_site_with_nothing_to_say_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch)
    assessment = assess(site, at(1), TODAY)
    assert assessment.state is Readiness.READY
    assert assessment.reasons == ()
    assert assessment.attributes("sv") == {
        "reasons": [],
        "texts": [],
        "texts_by_language": {"en": [], "sv": [], "nb": []},
    }


# -- fuel -------------------------------------------------------------------------------------


def test_fewer_hours_of_fuel_than_the_setting_is_not_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch, readiness_fuel_hours=72.0)
    typical(site, monkeypatch, 71.94)
    assessment = assess(site, at(1), TODAY)
    assert assessment.state is Readiness.NOT_READY
    english = ["Fuel for 71.9 h at the typical load, fewer than the 72 h asked"]
    assert assessment.attributes("en") == {
        "reasons": [
            {
                "reason": "fuel_below",
                "grade": "not_ready",
                "hours": 71.9,
                "limit": 72.0,
                "load": 21.0,
            }
        ],
        "texts": english,
        # Whatever Home Assistant's language, for notifications in another.
        "texts_by_language": {
            "en": english,
            "sv": ["Bränsle för 71,9 h vid normal last, färre än de 72 h som krävs"],
            "nb": ["Drivstoff for 71,9 t ved normal last, færre enn de 72 t som kreves"],
        },
    }
    assert assessment.attributes("sv")["texts"] == [
        "Bränsle för 71,9 h vid normal last, färre än de 72 h som krävs"
    ]
    typical(site, monkeypatch, 72.0)
    assert codes(site, 1) == []


def test_unknown_fuel_hours_ask_for_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch)
    typical(site, monkeypatch, None)
    assert codes(site, 1) == [("fuel_unknown", "check")]
    # A site without a tank cannot know either, whatever the fuel model says.
    bare = Site()
    feed(bare, 0, "generator", "main", state="stopped", alarm="ok")
    typical(bare, monkeypatch, 100.0)
    assert codes(bare, 1) == [("fuel_unknown", "check")]


def test_the_fuel_models_own_typical_hours_are_what_is_graded() -> None:
    """No stand-in: the fuel model's figure from a measured demand and a tank."""
    site = Site(Settings(readiness_fuel_hours=1000.0))
    for minute in range(0, 61, 5):
        feed(site, minute, "grid", "main", present=True, power=20.0)
        feed(site, minute, "tank", "main", volume=800.0)
        feed(site, minute, "generator", "main", state="stopped", alarm="ok")
    figure = site.fuel.typical(at(60))
    found = dict(codes(site, 60))
    if figure is None:
        assert found == {"fuel_unknown": "check"}
    else:
        assert figure.hours < 1000.0
        assert found == {"fuel_below": "not_ready"}


# -- generators -------------------------------------------------------------------------------


def test_no_generator_asks_for_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site()
    feed(site, 0, "tank", "main", volume=900.0)
    typical(site, monkeypatch, 100.0)
    assert codes(site, 1) == [("no_generator", "check")]


def test_a_generator_whose_last_run_failed_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch)
    feed(site, 1, "generator", "main", state="starting")
    feed(site, 2, "generator", "main", state="fault", alarm="shutdown")
    assessment = assess(site, at(3), TODAY)
    assert assessment.state is Readiness.NOT_READY
    assert assessment.attributes("en")["reasons"] == [
        {
            "reason": "generator_fault",
            "grade": "not_ready",
            "kind": "generator",
            "component_id": "main",
            "state": "fault",
            "alarm": "shutdown",
        }
    ]
    assert assessment.attributes("nb")["texts"] == ["Aggregatet: siste kjøring endte med feil"]
    # Reset at the panel: the controller's word is no longer a fault.
    feed(site, 4, "generator", "main", state="stopped", alarm="ok")
    assert codes(site, 5) == []


@pytest.mark.parametrize(
    ("state", "voltage", "expected"),
    [
        ("stopped", 12.1, [("battery_low", "not_ready")]),
        ("stopped", 12.2, []),
        ("stopped", 24.3, [("battery_low", "not_ready")]),  # a 24 V system
        ("stopped", 24.5, []),
        # Cranking dips and charging rises are not a battery at rest.
        ("starting", 9.8, []),
        ("running", 11.0, []),
        ("stopping", 11.9, []),
    ],
)
def test_starter_battery_below_12_2_volts_at_rest_is_not_ready(
    monkeypatch: pytest.MonkeyPatch, state: str, voltage: float, expected: list[tuple[str, str]]
) -> None:
    site = ready_site(monkeypatch)
    feed(site, 1, "generator", "main", state=state, battery_voltage=voltage)
    found = [pair for pair in codes(site, 1) if pair[0] == "battery_low"]
    assert found == expected


def test_battery_text_names_the_generator_by_its_meta_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch)
    site.set_meta(Meta("generator", "main", name="Elverk 70 kVA"))
    feed(site, 1, "generator", "main", battery_voltage=11.84)
    (reason,) = assess(site, at(1), TODAY).reasons
    assert text(reason, "sv-SE") == "Elverk 70 kVA: startbatteriet 11,8 V i vila, under 12,2 V"
    assert text(reason, "en") == "Elverk 70 kVA: starter battery 11.8 V at rest, below 12.2 V"


def test_a_generator_not_run_for_more_than_30_days_asks_for_a_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch)
    feed(site, 40, "generator", "main", state="running")
    feed(site, 41, "generator", "main", state="stopped")
    days = 60 * 24
    for day in range(1, 32):
        alive(site, 40 + day * days)
        feed(site, 40 + day * days, "freezer", "f1", temperature=-20.0)
    # Last seen running at minute 40: thirty days later is not yet more than thirty days.
    assert codes(site, 40 + 30 * days) == []
    later = 40 + 31 * days
    assessment = assess(site, at(later), TODAY)
    assert [r.code for r in assessment.reasons] == ["generator_not_run"]
    assert assessment.state is Readiness.CHECK
    assert text(assessment.reasons[0], "sv") == "Elverket har inte gått på 31 dagar"


def test_a_generator_never_seen_running_counts_from_when_it_was_first_watched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch)
    run = site.runs["main"]
    assert run.last_run is None
    run.watched_since = at(0) - timedelta(days=31)
    (reason,) = assess(site, at(0), TODAY).reasons
    assert (reason.code, reason.figures["days"], reason.figures["last_run"]) == (
        "generator_not_run",
        31,
        None,
    )


def test_service_due_by_the_controllers_run_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch, service_due_hours=500.0)
    feed(site, 1, "generator", "main", run_hours=499.9)
    assert codes(site, 1) == []
    feed(site, 2, "generator", "main", run_hours=500.0)
    (reason,) = assess(site, at(2), TODAY).reasons
    assert (reason.code, reason.grade) == ("service_due_hours", Readiness.CHECK)
    assert text(reason, "en") == "Generator: service due at 500 h, now at 500 h"
    # A stale counter still counts: a counter does not go back.
    assert [r.code for r in assess(site, at(30), TODAY).reasons].count("service_due_hours") == 1


def test_service_due_by_the_models_estimate_without_a_counter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch, service_due_hours=250.0)
    site.runs["main"].seconds = 250 * 3600
    assert codes(site, 1) == [("service_due_hours", "check")]
    site.settings = replace(site.settings, service_due_hours=0.0)  # not set
    assert codes(site, 1) == []


def test_a_controller_counter_that_has_no_value_now_is_not_replaced_by_the_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch, service_due_hours=10.0)
    feed(site, 1, "generator", "main", run_hours=5.0)
    generator = site.component("generator", "main")
    assert generator is not None
    site.no_reading("generator", "main", "run_hours", at(1))
    site.runs["main"].seconds = 20 * 3600
    alive(site, 7)
    feed(site, 7, "freezer", "f1", temperature=-20.0, door=False)
    assert site.fresh(generator, "run_hours", at(7)) is None  # stale since the no-reading
    assert "run_hours" in generator.reported
    assert codes(site, 7) == []


def test_service_due_by_date(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch, service_due_date=date(2026, 12, 1))
    assert codes(site, 1, today=date(2026, 11, 30)) == []
    (reason,) = assess(site, at(1), date(2026, 12, 1)).reasons
    assert reason.code == "service_due_date"
    assert reason.component is None
    assert text(reason, "sv") == "Service av elverket senast 2026-12-01"


# -- silence ----------------------------------------------------------------------------------


def test_a_node_that_said_offline_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch)
    site.set_meta(Meta("freezer", "f1", node="frys-nod"))
    site.set_node(NodeStatus("frys-nod", True, at(1)))
    site.set_node(NodeStatus("frys-nod", False, at(2)))
    alive(site, 2)
    assessment = assess(site, at(3), TODAY)
    assert [(r.code, r.figures) for r in assessment.reasons] == [
        ("node_offline", {"node": "frys-nod"})
    ]
    assert assessment.attributes("sv")["texts"] == ["Noden frys-nod är frånkopplad"]


def test_a_component_gone_quiet_is_named_with_how_long(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch)
    for minute in (5, 10):
        alive(site, minute)
    (reason,) = assess(site, at(10), TODAY).reasons
    assert (reason.code, reason.component and reason.component.key) == (
        "component_silent",
        ("freezer", "f1"),
    )
    assert reason.figures["minutes"] == 10
    assert text(reason, "en") == "Freezer f1: no data for 10 min"
    assert text(reason, "nb") == "Fryser f1: ingen data på 10 min"


def test_a_component_never_heard_reads_no_data() -> None:
    site = Site()
    feed(site, 0, "freezer", "f2", temperature=-20.0)
    freezer = site.component("freezer", "f2")
    assert freezer is not None
    silent = Reason("component_silent", Readiness.CHECK, freezer, {"minutes": None})
    assert text(silent, "sv") == "Frys f2: inga data"


@pytest.mark.parametrize(
    ("kind", "quantity", "value", "named"),
    [
        ("network", "online", True, {"sv": "Nätverket router", "nb": "Nettverket router"}),
        ("room", "temperature", 19.5, {"sv": "Rummet router", "nb": "Rommet router"}),
        (
            "station",
            "level",
            40.0,
            {"sv": "Drivmedelsstationen router", "nb": "Drivstoffstasjonen router"},
        ),
    ],
)
def test_every_kind_is_named_in_the_operators_language(
    kind: str, quantity: str, value: Value, named: dict[str, str]
) -> None:
    """A component without a meta name gets its kind's word in the reason's language, never
    the English key ("network: inga data")."""
    site = Site()
    feed(site, 0, kind, "router", **{quantity: value})
    component = site.component(kind, "router")
    assert component is not None
    silent = Reason("component_silent", Readiness.CHECK, component, {"minutes": 12})
    assert text(silent, "sv") == f"{named['sv']}: inga data på 12 min"
    assert text(silent, "nb") == f"{named['nb']}: ingen data på 12 min"


def test_mqtt_disconnected_is_one_reason_not_one_per_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch)
    site.set_link("mqtt", False, at(1))
    assert codes(site, 1) == [("link_down", "check")]
    site.set_link("mqtt", True, at(2))
    assert codes(site, 2) == []


# -- freezers ---------------------------------------------------------------------------------


def test_a_freezer_above_minus_18_for_more_than_an_hour_is_not_holding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = ready_site(monkeypatch)
    # A defrost: above −18 °C for 40 minutes, then back down; nothing to say.
    for minute in range(1, 41):
        feed(site, minute, "freezer", "f1", temperature=-16.0)
        alive(site, minute)
    feed(site, 41, "freezer", "f1", temperature=-19.0)
    assert codes(site, 41) == []
    # Then a failing compressor: above −18 °C from minute 50.
    for minute in range(50, 112):
        feed(site, minute, "freezer", "f1", temperature=-17.0 + (minute - 50) * 0.01)
        alive(site, minute)
    assert codes(site, 110) == []  # 60 minutes: not yet
    (reason,) = assess(site, at(111), TODAY).reasons
    assert (reason.code, reason.grade) == ("freezer_not_holding", Readiness.CHECK)
    assert reason.figures["temperature"] == -16.4
    assert text(reason, "sv") == "Frys f1 håller −16,4 °C, över −18 °C i 1 h"
    # Silent: said as silent, not as not holding.
    for minute in range(112, 118):
        alive(site, minute)
    assert codes(site, 117) == [("component_silent", "check")]
    # Back at −18 °C: holding again.
    feed(site, 118, "freezer", "f1", temperature=-18.0)
    assert codes(site, 118) == []


# -- grading and texts ------------------------------------------------------------------------


def test_not_ready_reasons_come_first_and_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    site = ready_site(monkeypatch, service_due_date=date(2026, 1, 1))
    feed(site, 1, "generator", "main", battery_voltage=11.5)
    assessment = assess(site, at(1), TODAY)
    assert assessment.state is Readiness.NOT_READY
    assert [r.code for r in assessment.reasons] == ["battery_low", "service_due_date"]


def test_component_names_in_each_language() -> None:
    site = Site()
    feed(site, 0, "freezer", "f2", temperature=-20.0)
    feed(site, 0, "tank", "main", volume=10.0)
    freezer, tank = site.component("freezer", "f2"), site.component("tank", "main")
    assert freezer is not None
    assert tank is not None
    assert [component_name(freezer, lang) for lang in ("en", "sv", "nb", "de")] == [
        "Freezer f2",
        "Frys f2",
        "Fryser f2",
        "Freezer f2",
    ]
    assert component_name(tank, "sv") == "Tanken"
