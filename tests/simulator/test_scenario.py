"""Scenario files: parsing, validation, timing in simulated time, and the storm's story."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.scenario import (
    Player,
    ScenarioError,
    load_scenario,
    parse_duration,
    parse_scenario,
)
from simulator.site import Site, Source
from simulator.sites import HALLEN, KALL, SITES, VALSJOBYN

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def play(*specs: object, scenario: str = "storm") -> Player:
    sites = {spec.id: Site(spec, START) for spec in specs}  # type: ignore[attr-defined]
    return Player(load_scenario(scenario, SITES), sites)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1:30", 5400), ("0:00:02", 2), ("90s", 90), ("15m", 900), ("2h", 7200), (45, 45), ("0", 0)],
)
def test_durations(text: object, seconds: float) -> None:
    """Times are written the way people write them."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "1:xx", "", True, None, "5 parsecs"])
def test_bad_durations_are_refused(text: object) -> None:
    """A typo is an error, not 'now'."""
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"grid": "lost"}, "needs 'at'"),
        ({"at": "1:00", "grid": "gone"}, "grid must be lost or restored"),
        ({"at": "1:00", "generator": "explode"}, "generator must be one of"),
        ({"at": "1:00", "grid": "lost", "refuel": 5}, "exactly one of"),
        ({"at": "1:00", "weather": "snow"}, "unknown keys"),
        ({"at": "1:00", "site": "oslo", "grid": "lost"}, "unknown site"),
        ({"at": "1:00", "refuel": -3}, "positive number of litres"),
        # `refuel: .nan` filled the tank to the brim, `.inf` too.
        ({"at": "1:00", "refuel": float("nan")}, "positive number of litres"),
        ({"at": "1:00", "refuel": float("inf")}, "positive number of litres"),
        ({"at": "1:00", "load": {"heater": "maybe"}}, "expected on/off"),
        # A misspelt load or freezer did nothing, silently.
        ({"at": "1:00", "site": "kall", "load": {"heatr": "on"}}, "no load 'heatr' at kall"),
        ({"at": "1:00", "site": "kall", "door": {"f3": "open"}}, "no freezer 'f3' at kall"),
        ({"at": "1:00", "load": {"sauna": "on"}}, "no load 'sauna' at any site"),
        (
            {"at": "1:00", "site": ["kall", "valsjobyn"], "load": {"carwash": "off"}},
            "no load 'carwash' at kall",
        ),
    ],
)
def test_invalid_events_name_the_file_and_event(event: dict[str, object], message: str) -> None:
    """Errors say where the mistake is."""
    with pytest.raises(ScenarioError, match=message) as info:
        parse_scenario({"events": [{"at": 0, "note": "ok"}, event]}, "my.yaml", SITES)
    assert "my.yaml: event 2" in str(info.value)


def test_a_load_or_freezer_of_some_site_is_enough_for_an_event_of_every_site() -> None:
    """Without `site`, an event switches what each site has (Valsjöbyn's f3, its car wash)."""
    scenario = parse_scenario(
        {"events": [{"at": 0, "door": {"f3": "open"}}, {"at": 0, "load": {"carwash": "off"}}]},
        "my.yaml",
        SITES,
    )
    assert len(scenario.events) == 2


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    """`--scenario typo` tells what exists."""
    with pytest.raises(ScenarioError, match="storm"):
        load_scenario("stromm")


def test_events_happen_at_their_simulated_time_even_in_big_steps() -> None:
    """Advancing an hour at once still applies 1:00:00 exactly at 1:00:00."""
    player = play(KALL)
    kall = player.sites["kall"]
    player.advance(3599)
    assert kall.grid_present
    player.advance(3600)
    assert not kall.grid_present
    lost = [at for at, text in kall.log if text == "grid lost"]
    assert lost == [2400.0, 3600.0]


def test_start_at_jumps_ahead() -> None:
    """A player created at 1:30 has already lost the grid and started Kall's set."""
    player = Player(load_scenario("storm", SITES), {"kall": Site(KALL, START)}, start_at_s=5400)
    kall = player.sites["kall"]
    assert kall.source == Source.GENERATOR
    assert kall.generator_state == "running"


def test_storm_story_at_kall() -> None:
    """The storm as Kall's volunteer lives it, hour by hour."""
    player = play(KALL)
    kall = player.sites["kall"]
    player.advance(3600 + 60)
    assert kall.source == Source.NONE  # grid lost, nobody there yet
    assert kall.generator_state == "stopped"
    player.advance(3600 * 1.35 - player.elapsed_s)  # 1:21
    assert kall.generator_state == "running"
    assert kall.source == Source.NONE  # running, not on load: the switch is still on grid
    player.advance(6000 - player.elapsed_s + 30)  # 1:40:30, heater on
    assert kall.generator_load_pct > 100
    player.advance(60)
    assert kall.generator_alarm == "warning"
    player.advance(3600 * 1.8 - player.elapsed_s)  # shed at 1:45
    assert not kall.loads["freezers"].on
    assert kall.generator_load_pct < 100
    assert kall.generator_alarm == "ok"
    player.advance(3600 * 3.5 - player.elapsed_s)
    assert kall.freezers["f2"].temperature_c > -15.0  # the half-full one warmed past warning
    player.advance(3600 * 8.9 - player.elapsed_s)
    assert kall.generator_alarm == "warning"  # low fuel
    assert kall.tank_level_pct < KALL.low_fuel_pct
    player.advance(3600 * 10.1 - player.elapsed_s)
    assert kall.tank_level_pct > 70  # refuelled at 9:00
    assert kall.grid_present
    assert kall.source == Source.GENERATOR  # grid back, still on generator
    player.advance(3600 * 11 - player.elapsed_s)
    assert kall.source == Source.GRID
    assert kall.generator_state == "stopped"
    player.advance(3600 * 12 - player.elapsed_s)
    assert player.finished


def test_storm_leaves_hallen_on_the_grid_while_valsjobyn_runs_on_backup() -> None:
    """The county view has one site in outage and one not, at the same time."""
    player = play(KALL, VALSJOBYN, HALLEN)
    player.advance(3600 * 2)
    assert player.sites["valsjobyn"].source == Source.GENERATOR
    assert player.sites["hallen"].source == Source.GRID
    player.advance(3600 * 5.2 - player.elapsed_s)
    assert player.sites["hallen"].generator_state == "fault"
    player.advance(3600 * 7.2 - player.elapsed_s)
    assert player.sites["valsjobyn"].source == Source.GRID
    assert player.sites["valsjobyn"].generator_state == "stopped"
    assert player.sites["hallen"].generator_state == "stopped"
