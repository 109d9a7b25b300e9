"""The whole site: power flows, fuel burn, commands from people."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.controller import Key
from simulator.physics import fuel_rate
from simulator.site import Site, Source
from simulator.sites import KALL, VALSJOBYN

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_loads_draw_power_and_switching_one_off_changes_the_total() -> None:
    """Switching the heater changes what the site draws."""
    site = Site(KALL, START)
    site.step(60)
    base = site.site_power_kw
    assert site.grid_power_kw == pytest.approx(base)
    site.set_load("heater", True)
    site.step(1)
    assert site.site_power_kw == pytest.approx(base + 50, abs=1.5)
    assert site.load_power_kw("heater") == pytest.approx(50, rel=0.02)
    assert not site.set_load("sauna", True)


def test_generator_load_is_site_power_over_rating_and_fuel_follows_it() -> None:
    """On backup, the set carries the site; the tank drains by the fuel curve."""
    site = Site(VALSJOBYN, START)
    site.set_grid(False)
    site.step(60)
    assert site.source == Source.GENERATOR
    assert site.generator_load_pct == pytest.approx(
        100 * site.site_power_kw / VALSJOBYN.generator_rating_kw
    )
    litres = site.tank_l
    power = site.generator_power_kw
    site.step(3600)
    burnt = litres - site.tank_l
    assert burnt == pytest.approx(fuel_rate(VALSJOBYN.generator_rating_kw, power), rel=0.1)
    assert site.generator.energy_kwh == pytest.approx(power, rel=0.15)


def test_dark_site_powers_nothing_and_freezers_warm() -> None:
    """Grid lost at a manual-changeover site: nothing runs, freezers drift up."""
    site = Site(KALL, START)
    site.step(600)
    before = site.freezers["f2"].temperature_c
    site.set_grid(False)
    site.step(3600)
    assert site.source == Source.NONE
    assert site.site_power_kw == 0
    assert site.freezers["f2"].temperature_c > before + 1.5


def test_freezers_relay_off_warms_them_and_back_on_cools() -> None:
    """A relay command reaches the freezers it powers."""
    site = Site(KALL, START)
    site.set_load("freezers", False)
    site.step(2 * 3600)
    warm = site.freezers["f2"].temperature_c
    assert warm > -17.0
    site.set_load("freezers", True)
    site.step(3 * 3600)
    assert site.freezers["f2"].temperature_c < warm - 1.5


def test_empty_tank_stops_the_engine_with_a_shutdown() -> None:
    """Out of diesel: the set dies and says why."""
    site = Site(VALSJOBYN, START)
    site.set_grid(False)
    site.step(60)
    site.tank_l = 0.5
    site.step(600)
    assert site.generator_state == "fault"
    assert site.generator_alarm == "shutdown"
    assert site.source == Source.NONE
    site.refuel(10_000)
    assert site.tank_level_pct == 100


def test_keys_are_logged_with_their_names() -> None:
    """The console shows what the operator pressed."""
    site = Site(VALSJOBYN, START)
    site.press_key(Key.REMOTE_START)
    site.press_key(4)
    kall = Site(KALL, START)
    kall.press_key(Key.REMOTE_START)
    kall.start_generator_at_panel()
    assert [text for _, text in site.log + kall.log] == [
        "generator key remote_start accepted",
        "generator key 4 refused",
        "generator key remote_start refused",
        "generator start pressed at its panel",
    ]
