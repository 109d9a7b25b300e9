"""Freezer heat balance and fuel curves against published hold-over times and fuel charts."""

from __future__ import annotations

import pytest

from simulator.physics import (
    TAU_EMPTY_H,
    TAU_FULL_H,
    TAU_HALF_H,
    Freezer,
    fuel_rate,
    newton_temperature,
)


@pytest.mark.parametrize(
    ("tau_h", "hours"),
    [(TAU_FULL_H, 8.0), (TAU_HALF_H, 6.0), (TAU_EMPTY_H, 2.0)],
)
def test_unpowered_freezer_follows_newton(tau_h: float, hours: float) -> None:
    """A closed freezer off for N hours ends where Newton's law puts it."""
    freezer = Freezer(id="f1", tau_h=tau_h, temperature_c=-20.0, powered=False)
    for _ in range(int(hours * 3600)):
        freezer.step(1.0)
    expected = newton_temperature(-20.0, 19.0, tau_h, hours)
    assert freezer.temperature_c == pytest.approx(expected, abs=0.05)
    assert freezer.temperature_c < -1.5  # still below the melting plateau


def test_full_freezer_holds_longer_than_a_half_full_one() -> None:
    """A full freezer keeps food frozen about twice as long as a half-full one (USDA)."""

    def hours_to_warning(tau_h: float) -> float:
        freezer = Freezer(id="f", tau_h=tau_h, temperature_c=-20.0, powered=False)
        seconds = 0
        while freezer.temperature_c < -15.0:
            freezer.step(60.0)
            seconds += 60
        return seconds / 3600

    full, half = hours_to_warning(TAU_FULL_H), hours_to_warning(TAU_HALF_H)
    assert 4.0 < full < 6.0
    assert 1.5 < half < 2.5
    assert full / half == pytest.approx(TAU_FULL_H / TAU_HALF_H, rel=0.05)


def test_melting_plateau_slows_warming_near_zero() -> None:
    """Thawing food holds the air near 0 °C for a while."""
    freezer = Freezer(id="f", tau_h=TAU_EMPTY_H, temperature_c=-1.4, powered=False)
    for _ in range(3600):
        freezer.step(1.0)
    plain = newton_temperature(-1.4, 19.0, TAU_EMPTY_H, 1.0)
    assert freezer.temperature_c < plain - 2.0


def test_open_door_warms_faster() -> None:
    """An open door lets room air in."""
    closed = Freezer(id="a", tau_h=TAU_FULL_H, temperature_c=-20.0, powered=False)
    opened = Freezer(id="b", tau_h=TAU_FULL_H, temperature_c=-20.0, powered=False, door_open=True)
    for _ in range(1800):
        closed.step(1.0)
        opened.step(1.0)
    assert opened.temperature_c > closed.temperature_c + 1.0


def test_powered_freezer_recovers_and_cycles_around_setpoint() -> None:
    """Power back: the compressor pulls a warm cabinet down, then its thermostat cycles."""
    freezer = Freezer(id="f", tau_h=TAU_HALF_H, temperature_c=-12.0)
    for _ in range(6 * 3600):
        freezer.step(1.0)
    assert -21.6 < freezer.temperature_c < -18.4
    on_seconds = 0
    for _ in range(12 * 3600):
        freezer.step(1.0)
        on_seconds += freezer.compressor_on
        assert -22.0 < freezer.temperature_c < -18.0
    assert 0.3 < on_seconds / (12 * 3600) < 0.6
    assert freezer.power_kw in (0.0, freezer.compressor_kw)


def test_unpowered_freezer_draws_nothing() -> None:
    """No supply, no compressor."""
    freezer = Freezer(id="f", temperature_c=-10.0, powered=False)
    freezer.step(10.0)
    assert not freezer.compressor_on
    assert freezer.power_kw == 0.0


@pytest.mark.parametrize(
    ("rating", "load", "expected"),
    [(20, 0.25, 2.3), (40, 0.5, 8.7), (60, 0.75, 14.4), (100, 1.0, 28.0), (60, 0.5, 11.0)],
)
def test_fuel_rate_matches_the_table(rating: float, load: float, expected: float) -> None:
    """The industry chart's points are reproduced exactly."""
    assert fuel_rate(rating, rating * load) == pytest.approx(expected)


def test_fuel_rate_follows_the_willans_line_for_a_60_kw_set() -> None:
    """A 60 kW set burns ≈ 3.0 L/h + 0.253 L/kWh × P (the Willans line of the chart)."""
    for power in (15, 30, 45, 60):
        assert fuel_rate(60, power) == pytest.approx(3.0 + 0.253 * power, abs=1.0)


def test_fuel_rate_grows_with_load_and_rating() -> None:
    """More load or a bigger set burns more; an idle set still burns some."""
    kall = [fuel_rate(56, p) for p in (0, 14, 28, 42, 56, 62)]
    assert kall == sorted(kall)
    assert kall[0] > 1.0
    assert fuel_rate(40, 20) < fuel_rate(56, 28) < fuel_rate(60, 30)
    assert fuel_rate(200, 100) == pytest.approx(2 * fuel_rate(100, 50))
