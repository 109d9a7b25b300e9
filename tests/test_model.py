"""The pure site model: derivations an operator relies on, edge cases, restart recovery."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.sot.site.fuel_curve import fuel_rate
from custom_components.sot.site.model import (
    Component,
    EventType,
    FreezerStatus,
    PowerSource,
    Settings,
    Site,
    SiteEvent,
)
from custom_components.sot.site.readings import Meta, NodeStatus, Reading
from custom_components.sot.site.vocabulary import Value

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def main_generator(site: Site) -> Component:
    generator = site.component("generator", "main")
    assert generator is not None
    return generator


def feed(
    site: Site, minutes: float, kind: str, component_id: str, **values: Value
) -> list[SiteEvent]:
    now = at(minutes)
    return site.apply(
        [Reading(kind, component_id, quantity, value, now) for quantity, value in values.items()],
        now,
    )


def types(events: list[SiteEvent]) -> list[EventType]:
    return [event.type for event in events]


# -- fuel curve -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "load", "litres_per_hour"),
    [(20, 0.25, 2.3), (40, 0.5, 8.7), (60, 0.75, 14.4), (100, 1.0, 28.0), (60, 0.5, 11.0)],
)
def test_fuel_curve_matches_the_chart(rating: float, load: float, litres_per_hour: float) -> None:
    assert fuel_rate(rating, load) == pytest.approx(litres_per_hour)


def test_fuel_curve_between_and_beyond_the_chart() -> None:
    # Kall's 70 kVA set (about 56 kW) at half load lies between the 40 and 60 kW rows.
    assert fuel_rate(40, 0.5) < fuel_rate(56, 0.5) < fuel_rate(60, 0.5)
    assert fuel_rate(200, 1.0) == pytest.approx(56.0)  # scaled from the 100 kW row
    assert fuel_rate(10, 1.0) == pytest.approx(3.05)  # scaled from the 20 kW row
    assert 0 < fuel_rate(60, 0.0) < fuel_rate(60, 0.25)  # idle burn, never zero
    assert fuel_rate(60, 5.0) == fuel_rate(60, 1.2)  # overload is capped
    with pytest.raises(ValueError, match="rating"):
        fuel_rate(0, 0.5)


# -- grid, power source, outages -------------------------------------------------------------


def test_power_source_follows_grid_and_generator() -> None:
    site = Site()
    assert site.power.source(at(0)) is None
    feed(site, 0, "grid", "main", present=True)
    assert site.power.source(at(0)) is PowerSource.GRID
    feed(site, 1, "grid", "main", present=False)
    assert site.power.source(at(1)) is PowerSource.NONE
    feed(site, 2, "generator", "main", state="running", on_load=False)
    # Kall's manual changeover: running, not on load, the shop is still dark.
    assert site.power.source(at(2)) is PowerSource.NONE
    feed(site, 3, "generator", "main", on_load=True)
    assert site.power.source(at(3)) is PowerSource.GENERATOR
    feed(site, 4, "grid", "main", present=True)
    # The grid is back, but the site still runs on the generator until changed over.
    assert site.power.source(at(4)) is PowerSource.GENERATOR
    assert site.power.grid_present(at(4)) is True


def test_grid_presence_from_voltage_when_no_meter_says_so() -> None:
    site = Site()
    feed(site, 0, "grid", "main", voltage=231.0)
    assert site.power.grid_present(at(0)) is True
    feed(site, 1, "grid", "main", voltage=12.0)
    assert site.power.grid_present(at(1)) is False


def test_generator_on_load_from_power_or_load_when_no_breaker_signal() -> None:
    site = Site()
    feed(site, 0, "generator", "main", state="running", power=0.0)
    assert site.power.on_load(main_generator(site), at(0)) is False
    feed(site, 1, "generator", "main", power=12.0)
    assert site.power.on_load(main_generator(site), at(1)) is True
    other = Site()
    feed(other, 0, "generator", "main", load=30.0)
    assert other.power.on_load(main_generator(other), at(0)) is True
    by_speed = Site()
    feed(by_speed, 0, "generator", "main", speed=1500.0)
    assert by_speed.power.running(main_generator(by_speed), at(0)) is True
    assert by_speed.power.on_load(main_generator(by_speed), at(0)) is True


def test_outage_is_logged_with_generator_time_and_fuel() -> None:
    site = Site(Settings(generator_rating=60.0))
    feed(site, 0, "grid", "main", present=True)
    events = feed(site, 10, "grid", "main", present=False)
    assert types(events) == [EventType.GRID_LOST]
    assert site.outages.current is not None
    assert site.outages.current.start == at(10)
    feed(site, 11, "generator", "main", state="running", on_load=True, load=50.0)
    for minute in range(12, 72):  # an hour on the generator, a reading a minute
        feed(site, minute, "generator", "main", load=50.0)
        feed(site, minute, "grid", "main", present=False)
    assert site.outages.duration(at(71)) == timedelta(minutes=61)
    events = feed(site, 72, "grid", "main", present=True)
    assert types(events) == [EventType.GRID_RESTORED]
    assert events[0].data["outage_minutes"] == pytest.approx(62)
    assert site.outages.current is None
    logged = site.outages.log[-1]
    assert logged.start == at(10)
    assert logged.end == at(72)
    # From the generator's first reading on load (minute 11) to its last (minute 71): what was
    # measured, not the minute after its last reading.
    assert logged.generator_seconds == pytest.approx(60 * 60)
    # 60 kW at 50 %: 11 L/h for an hour.
    assert logged.fuel_used == pytest.approx(11.0, rel=0.02)
    assert site.runs["main"].seconds == pytest.approx(60 * 60)


def test_outage_survives_a_restart() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=False)
    for minute in range(1, 32):
        feed(site, minute, "generator", "main", state="running", power=20.0)
    stored = site.snapshot()

    restarted = Site()
    restarted.restore(stored)
    assert restarted.outages.current is not None
    assert restarted.outages.current.start == at(0)
    assert restarted.runs["main"].kwh == pytest.approx(10.0)
    # The grid is still down after the restart: no second "grid lost".
    assert types(feed(restarted, 40, "grid", "main", present=False)) == []
    assert types(feed(restarted, 50, "grid", "main", present=True)) == [EventType.GRID_RESTORED]
    assert restarted.outages.log[-1].start == at(0)


def test_damaged_storage_is_refused_and_leaves_a_clean_site() -> None:
    site = Site()
    with pytest.raises(ValueError, match="damaged"):
        site.restore({"outage": {"start": "not a time"}})
    assert site.outages.current is None
    assert site.outages.log == []


def test_no_integration_across_a_gap_in_the_data() -> None:
    site = Site(Settings(stale_timeout=timedelta(minutes=5)))
    feed(site, 0, "generator", "main", state="running", power=30.0)
    feed(site, 60, "generator", "main", state="running", power=30.0)  # an hour of silence
    assert site.runs["main"].kwh == 0
    assert site.runs["main"].seconds == 0


# -- fuel runtime ----------------------------------------------------------------------------


def test_fuel_runtime_from_the_controllers_fuel_rate() -> None:
    site = Site(Settings(tank_capacity=1000.0, tank_reserve=10.0))
    feed(site, 0, "tank", "main", level=50.0)
    feed(site, 0, "generator", "main", state="running", fuel_rate=10.0)
    for minute in range(1, 4):
        feed(site, minute, "generator", "main", fuel_rate=10.0)
        feed(site, minute, "tank", "main", level=50.0)
    # (50 % - 10 %) of 1000 L at 10 L/h.
    assert site.fuel.runtime(at(3)) == pytest.approx(40.0)


def test_fuel_runtime_from_the_curve_is_smoothed() -> None:
    site = Site(Settings(tank_capacity=1000.0, tank_reserve=0.0, generator_rating=60.0))
    feed(site, 0, "tank", "main", level=100.0)
    feed(site, 0, "generator", "main", state="running", load=50.0)
    feed(site, 1, "generator", "main", load=50.0)
    steady = site.fuel.runtime(at(1))
    assert steady == pytest.approx(1000 / 11.0, rel=0.01)
    # A one-minute spike to full load moves the estimate only a little.
    feed(site, 2, "generator", "main", load=100.0)
    feed(site, 3, "generator", "main", load=50.0)
    spiked = site.fuel.runtime(at(3))
    assert spiked is not None
    assert 1000 / 18.2 < spiked < steady


def test_fuel_runtime_uses_tank_meta_and_volume() -> None:
    site = Site(Settings(tank_capacity=1000.0, tank_reserve=10.0))
    site.set_meta(Meta("tank", "main", settings={"capacity": 2000.0, "reserve": 0.0}))
    feed(site, 0, "tank", "main", volume=500.0)
    feed(site, 0, "generator", "main", state="running", fuel_rate=5.0)
    feed(site, 1, "generator", "main", fuel_rate=5.0)
    assert site.fuel.usable(at(1)) == pytest.approx(500.0)
    assert site.fuel.runtime(at(1)) == pytest.approx(100.0)


def test_fuel_runtime_is_not_shown_from_stale_inputs_or_a_stopped_engine() -> None:
    site = Site(Settings(stale_timeout=timedelta(minutes=5)))
    feed(site, 0, "tank", "main", level=50.0)
    feed(site, 0, "generator", "main", state="running", fuel_rate=10.0)
    feed(site, 1, "generator", "main", fuel_rate=10.0)
    assert site.fuel.runtime(at(1)) is not None
    assert site.fuel.runtime(at(7)) is None  # the tank level is six minutes old
    feed(site, 8, "tank", "main", level=50.0)
    feed(site, 8, "generator", "main", state="stopped")
    assert site.fuel.runtime(at(8)) is None
    assert site.fuel.rate_now(at(8)) == 0.0
    assert Site().fuel.runtime(at(0)) is None


def test_fuel_low_alarm_once_and_again_after_refuelling() -> None:
    site = Site(Settings(tank_capacity=100.0, tank_reserve=0.0, fuel_low_hours=12.0))
    feed(site, 0, "generator", "main", state="running", fuel_rate=5.0)
    feed(site, 0, "tank", "main", level=100.0)
    assert EventType.FUEL_LOW not in types(
        feed(site, 1, "generator", "main", fuel_rate=5.0)
    )  # 20 h
    # Half the tank gone in a minute: one such reading may be the gauge; the second is a loss
    # (the burn explains 0.1 L), raised as a drain, and 10 h left is fuel low.
    assert types(feed(site, 2, "tank", "main", level=50.0)) == []
    events = feed(site, 3, "tank", "main", level=50.0)
    assert types(events) == [EventType.FUEL_DRAIN, EventType.FUEL_LOW]
    assert events[1].data == {"fuel_hours": 10.0, "fuel_level": 50.0}
    assert types(feed(site, 4, "tank", "main", level=45.0)) == []  # once, not every reading
    assert types(feed(site, 5, "tank", "main", level=55.0)) == []  # 11 h: still low
    # A delivery: logged, and fuel low cleared, once the level has settled.
    assert types(feed(site, 6, "tank", "main", level=100.0)) == []
    refilled = feed(site, 9, "tank", "main", level=100.0)
    assert types(refilled) == [EventType.FUEL_REFILLED]
    assert not site.fuel.low
    assert refilled[0].data["litres_added"] == pytest.approx(50.0, abs=6.0)
    feed(site, 10, "generator", "main", fuel_rate=5.0)
    assert types(feed(site, 10, "tank", "main", level=40.0)) == []  # one reading: the gauge?
    assert types(feed(site, 11, "tank", "main", level=40.0)) == [
        EventType.FUEL_DRAIN,
        EventType.FUEL_LOW,
    ]


def test_fuel_low_is_checked_once_a_second_of_readings_and_at_every_tick() -> None:
    """A controller's burst is one check; what it puts off comes with the next reading a second
    on, or the tick."""
    second = 1 / 60
    for follow_up in ("reading", "tick"):
        site = Site(Settings(tank_capacity=100.0, tank_reserve=0.0, fuel_low_hours=12.0))
        feed(site, 0, "tank", "main", level=100.0)
        assert types(feed(site, 0, "generator", "main", state="running", fuel_rate=5.0)) == []
        # Half the tank gone (a loss once seen twice): 10 h left, fuel low.
        assert types(feed(site, 0.2 * second, "tank", "main", level=50.0)) == []
        if follow_up == "reading":
            raised = types(feed(site, 1.2 * second, "tank", "main", level=50.0))
            assert raised == [EventType.FUEL_DRAIN, EventType.FUEL_LOW]
            continue
        # Within the second of the last check: the loss at once, fuel low at the tick.
        raised = types(feed(site, 0.4 * second, "tank", "main", level=50.0))
        assert raised == [EventType.FUEL_DRAIN]
        assert types(site.tick(at(0.5 * second))) == [EventType.FUEL_LOW]
        assert types(site.tick(at(1))) == []  # once


def test_fuel_at_the_reserve_is_low_even_with_the_engine_stopped() -> None:
    site = Site(Settings(tank_capacity=100.0, tank_reserve=20.0))
    feed(site, 0, "generator", "main", state="stopped")
    assert types(feed(site, 0, "tank", "main", level=20.0)) == [EventType.FUEL_LOW]


# -- freezers --------------------------------------------------------------------------------


def test_freezer_alarms_wait_out_a_defrost() -> None:
    site = Site(Settings(alarm_delay=timedelta(minutes=30)))
    feed(site, 0, "freezer", "f1", temperature=-19.0)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.freezers.status(freezer, at(0)) is FreezerStatus.OK
    # A 20-minute defrost up to -13 °C raises nothing.
    for minute in range(1, 21):
        assert types(feed(site, minute, "freezer", "f1", temperature=-13.0)) == []
    feed(site, 21, "freezer", "f1", temperature=-19.0)
    assert site.freezers.status(freezer, at(21)) is FreezerStatus.OK


def test_freezer_warning_then_critical_then_ok() -> None:
    site = Site(Settings(alarm_delay=timedelta(minutes=10)))
    for minute in range(10):  # a reading a minute: the probe is not silent
        assert types(feed(site, minute, "freezer", "f1", temperature=-14.0)) == []
    events = feed(site, 10, "freezer", "f1", temperature=-14.0)
    assert types(events) == [EventType.FREEZER_WARNING]
    assert events[0].data == {"temperature": -14.0, "limit": -15.0}
    for minute in range(11, 21):
        feed(site, minute, "freezer", "f1", temperature=-11.0)
    events = feed(site, 21, "freezer", "f1", temperature=-11.0)
    assert types(events) == [EventType.FREEZER_CRITICAL]
    assert events[0].data["limit"] == -12.0
    # Cooling back past the critical limit is not a new warning.
    assert types(feed(site, 30, "freezer", "f1", temperature=-13.5)) == []
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.freezers.status(freezer, at(30)) is FreezerStatus.WARNING
    assert types(feed(site, 40, "freezer", "f1", temperature=-18.0)) == [EventType.FREEZER_OK]


def test_a_silent_probe_restarts_the_alarm_delay_but_a_late_replay_does_not() -> None:
    """Silence past the staleness timeout (5 min) between two readings restarts the delay;
    readings that arrive late (a bridge's queue), with the site's tick judging them stale by
    the wall clock while they are replayed, do not."""
    site = Site(Settings(alarm_delay=timedelta(minutes=10)))
    for minute in range(5):
        feed(site, minute, "freezer", "f1", temperature=-14.0)
    site.tick(at(12))  # nothing for eight minutes
    for minute in range(12, 21):
        assert types(feed(site, minute, "freezer", "f1", temperature=-14.0)) == []
    assert types(feed(site, 22, "freezer", "f1", temperature=-14.0)) == [EventType.FREEZER_WARNING]

    late = Site(Settings(alarm_delay=timedelta(minutes=10)))
    raised: list[tuple[EventType, datetime]] = []
    for minute in range(11):
        # Measured a minute apart, arriving together 30 minutes later, ticks in between.
        late.tick(at(30 + minute / 100))
        reading = Reading("freezer", "f1", "temperature", -14.0, at(minute))
        raised += [(e.type, e.time) for e in late.apply([reading], at(minute))]
    assert raised == [(EventType.FREEZER_WARNING, at(10))]


def test_freezer_hovering_at_the_limit_does_not_flap() -> None:
    site = Site(Settings(alarm_delay=timedelta(minutes=0)))
    raised = []
    for minute, temperature in enumerate([-14.9, -15.1, -14.9, -15.2, -14.8, -15.3, -14.9]):
        raised += types(feed(site, minute, "freezer", "f1", temperature=temperature))
    assert raised == [EventType.FREEZER_WARNING]


def test_freezer_limits_from_meta() -> None:
    site = Site(Settings(alarm_delay=timedelta(0)))
    site.set_meta(
        Meta("freezer", "chill", name="Kyldisk", settings={"warning": 8.0, "critical": 10.0})
    )
    assert types(feed(site, 0, "freezer", "chill", temperature=5.0)) == []
    assert types(feed(site, 1, "freezer", "chill", temperature=9.0)) == [EventType.FREEZER_WARNING]


def test_time_to_limits_by_newton_from_the_loss_of_power() -> None:
    """The grid goes; the cabinet warms towards the room (20 °C) with τ 10 h."""
    site = Site()
    feed(site, -30, "grid", "main", present=True)
    for minute in range(-30, 0):
        feed(site, minute, "freezer", "f1", temperature=-20.0)
    feed(site, 0, "grid", "main", present=False)
    for minute in range(0, 31):
        temperature = 20.0 - 40.0 * math.exp(-minute / 600)
        feed(site, minute, "freezer", "f1", temperature=temperature)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    now = 20.0 - 40.0 * math.exp(-0.05)
    assert site.freezers.warming_rate(freezer, at(30)) == pytest.approx((20 - now) / 10, rel=1e-3)
    for limit in (-15.0, -12.0):
        countdown = site.freezers.countdown(freezer, limit, at(30))
        assert countdown is not None
        exact = 10 * math.log((20 - now) / (20 - limit))
        assert countdown.estimate == pytest.approx(exact, rel=1e-3)
        assert countdown.low is not None
        assert countdown.high is not None
        assert countdown.low <= countdown.hours <= countdown.estimate <= countdown.high
        assert (countdown.basis, countdown.room_source) == ("power", "setting")
        assert countdown.warming_since == at(0)
        assert site.freezers.time_to_limit(freezer, limit, at(30)) == countdown.hours
    # Past a limit: crossed, and since when (the first reading above it, at 8 min), not "0 h".
    crossed = site.freezers.countdown(freezer, -19.5, at(30))
    assert crossed is not None
    assert crossed.crossed_since == at(8)
    assert crossed.hours == pytest.approx(-22 / 60)


def test_no_countdown_for_a_cold_or_barely_known_freezer() -> None:
    site = Site()
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "freezer", "f1", temperature=-20.0)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.freezers.warming_rate(freezer, at(1)) is None  # not enough history
    for minute in range(2, 40, 5):
        feed(site, minute, "freezer", "f1", temperature=-20.0)
    assert site.freezers.time_to_limit(freezer, -15.0, at(37)) is None  # steady, not warming
    assert site.freezers.time_to_limit(freezer, -15.0, at(60)) is None  # stale


# -- availability and nodes ------------------------------------------------------------------


def freezer_on_its_node(online: bool, reading_at: float) -> tuple[Site, Component]:
    """Freezer f1 on node `freezers`, the node `online` or not from minute 0, and f1's
    −18 °C reading at minute `reading_at`."""
    site = Site()
    site.set_meta(Meta("freezer", "f1", node="freezers"))
    site.set_node(NodeStatus("freezers", online, at(0)))
    feed(site, reading_at, "freezer", "f1", temperature=-18.0)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    return site, freezer


def test_node_offline_makes_components_unavailable_and_raises_an_alarm() -> None:
    site, freezer = freezer_on_its_node(online=True, reading_at=0)
    assert site.available(freezer, at(0))
    events = site.set_node(NodeStatus("freezers", False, at(1)))
    assert types(events) == [EventType.NODE_OFFLINE]
    assert not site.available(freezer, at(1))
    assert site.freezers.status(freezer, at(1)) is None
    assert types(site.set_node(NodeStatus("freezers", True, at(2)))) == [EventType.NODE_ONLINE]
    assert site.available(freezer, at(2))


def test_a_will_over_mqtt_is_raised_after_the_hold_unless_the_broker_went() -> None:
    """A will that came over MQTT: the components go at once, the alarm after 10 s with the
    link up (at the will's time). One followed by the link going (a broker restart) and the
    node back: nothing raised either way. Still away once the link is back: raised 10 s on."""
    site, freezer = freezer_on_its_node(online=True, reading_at=0)
    will = at(1)
    assert site.set_node(NodeStatus("freezers", False, will), held=True) == []
    assert not site.available(freezer, will)
    assert site.node_hold_ends() == will + timedelta(seconds=10)
    assert site.tick(will + timedelta(seconds=9)) == []
    [raised] = site.tick(will + timedelta(seconds=10))
    assert (raised.type, raised.component_id, raised.time) == (
        EventType.NODE_OFFLINE,
        "freezers",
        will,
    )
    assert types(site.set_node(NodeStatus("freezers", True, at(2)), held=True)) == [
        EventType.NODE_ONLINE
    ]

    site.set_node(NodeStatus("freezers", False, at(3)), held=True)
    site.set_link("mqtt", False, at(3) + timedelta(seconds=1))
    assert site.node_hold_ends() is None
    assert site.tick(at(4)) == []
    site.set_link("mqtt", True, at(4))
    assert site.set_node(NodeStatus("freezers", True, at(4)), held=True) == []
    assert site.tick(at(5)) == []

    site.set_node(NodeStatus("freezers", False, at(6)), held=True)
    site.set_link("mqtt", False, at(6))
    back = at(7)
    site.set_link("mqtt", True, back)
    assert site.tick(back + timedelta(seconds=9)) == []
    assert types(site.tick(back + timedelta(seconds=10))) == [EventType.NODE_OFFLINE]
    assert site.tick(at(8)) == []


def test_a_held_will_survives_a_restart_and_is_raised_once() -> None:
    site = Site()
    site.set_node(NodeStatus("gw", True, at(0)))
    site.set_node(NodeStatus("gw", False, at(1)), held=True)
    restarted = Site()
    restarted.restore(site.snapshot())
    # Its retained will, again at the start: held from then.
    assert restarted.set_node(NodeStatus("gw", False, at(2)), held=True) == []
    [raised] = restarted.tick(at(2) + timedelta(seconds=10))
    assert (raised.type, raised.time) == (EventType.NODE_OFFLINE, at(1))
    again = Site()
    again.restore(restarted.snapshot())
    assert again.set_node(NodeStatus("gw", False, at(3)), held=True) == []
    assert again.tick(at(4)) == []
    assert types(again.set_node(NodeStatus("gw", True, at(5)), held=True)) == [
        EventType.NODE_ONLINE
    ]


def test_a_polled_device_back_online_takes_back_what_its_silence_meant() -> None:
    """A silent grid meter means no grid; once it answers again, even with "no reading"
    only, that meaning is gone: the grid is unknown, not lost."""
    site = Site()
    site.set_node(NodeStatus("meter", True, at(0)))
    site.apply([Reading("grid", "main", "present", True, at(0))], at(0), node="meter")
    site.set_node(NodeStatus("meter", False, at(1)))
    site.apply([Reading("grid", "main", "present", False, at(1))], at(1), node="meter")
    assert site.power.grid_present(at(1)) is False
    site.set_node(NodeStatus("meter", True, at(2)))
    assert site.power.grid_present(at(2)) is None


def test_a_forgotten_node_no_longer_speaks_for_its_components() -> None:
    """A removed node's cleared status: no event, no node; values go stale by their own time."""
    site, freezer = freezer_on_its_node(online=False, reading_at=1)
    assert not site.available(freezer, at(1))
    assert site.forget_node("freezers", at(2)) == []
    assert "freezers" not in site.nodes
    assert site.available(freezer, at(2))
    assert site.number(freezer, "temperature", at(2)) == -18.0
    assert site.number(freezer, "temperature", at(30)) is None  # stale
    assert site.forget_node("freezers", at(3)) == []  # gone already: nothing to do


def test_a_meta_cleared_or_without_its_node_takes_the_component_off_that_node() -> None:
    """A freezer moved off a node whose retained last will says offline: its fresh readings
    are live again, after a restart too; a polled device keeps the node it is read through."""
    site = Site()
    site.set_meta(Meta("freezer", "f1", node="freezers"))
    site.set_node(NodeStatus("freezers", False, at(0)))
    site.set_meta(Meta("freezer", "f1"))  # the empty retained message
    feed(site, 1, "freezer", "f1", temperature=-18.5)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.available(freezer, at(1))
    restarted = Site()
    restarted.restore(site.snapshot())
    again = restarted.component("freezer", "f1")
    assert again is not None
    assert restarted.available(again, at(1))
    site.apply([Reading("generator", "main", "state", "running", at(2))], at(2), node="modbus-dse")
    site.set_meta(Meta("generator", "main", name="Elverket"))
    assert main_generator(site).node == "modbus-dse"


def test_a_single_freezer_limit_that_does_not_fit_the_sites_other_is_refused() -> None:
    """A meta's critical −20 °C against the site's warning −15 °C would raise "critical" at a
    normal −18 °C: that limit is refused and said why, and the site's pair applies."""
    site = Site()  # warning −15, critical −12
    refused = site.set_meta(Meta("freezer", "f1", settings={"critical": -20.0}))
    assert refused == [
        "meta critical -20 °C does not fit the site's warning -15 °C: critical must be above "
        "warning"
    ]
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.freezers.limits(freezer) == (-15.0, -12.0)
    for minute in range(0, 15):
        assert EventType.FREEZER_CRITICAL not in types(
            feed(site, minute, "freezer", "f1", temperature=-18.0)
        )
    assert site.set_meta(Meta("freezer", "f1", settings={"critical": -10.0})) == []
    assert site.freezers.limits(freezer) == (-15.0, -10.0)
    # The site's warning raised later past the meta's critical: the site's pair again.
    site.settings = Settings(freezer_warning=-9.0, freezer_critical=-5.0)
    assert site.freezers.limits(freezer) == (-9.0, -5.0)


def test_readings_from_a_named_source_follow_its_status() -> None:
    site = Site()
    site.apply([Reading("generator", "main", "state", "running", at(0))], at(0), node="modbus-dse")
    generator = site.component("generator", "main")
    assert generator is not None
    assert generator.node == "modbus-dse"
    site.set_node(NodeStatus("modbus-dse", False, at(1)))
    assert site.power.running(main_generator(site), at(1)) is None


def test_stale_data_is_unavailable() -> None:
    site = Site(Settings(stale_timeout=timedelta(minutes=5)))
    feed(site, 0, "freezer", "f1", temperature=-18.0)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.fresh(freezer, "temperature", at(5)) == -18.0
    assert site.fresh(freezer, "temperature", at(5.1)) is None
    assert not site.available(freezer, at(6))


def test_generator_start_stop_and_fault_alarms() -> None:
    site = Site()
    assert types(feed(site, 0, "generator", "main", state="stopped")) == []
    assert types(feed(site, 1, "generator", "main", state="running")) == [
        EventType.GENERATOR_STARTED
    ]
    assert types(feed(site, 2, "generator", "main", alarm="warning")) == []
    events = feed(site, 3, "generator", "main", alarm="shutdown", state="fault")
    assert types(events) == [EventType.GENERATOR_STOPPED, EventType.GENERATOR_FAULT]
    assert events[1].data["generator_alarm"] == "shutdown"
    assert types(feed(site, 4, "generator", "main", alarm="shutdown")) == []  # once per fault


def test_forgotten_component_is_gone_until_it_reports_again() -> None:
    site = Site()
    feed(site, 0, "freezer", "old", temperature=-18.0)
    site.forget("freezer", "old")
    assert site.component("freezer", "old") is None
    feed(site, 1, "freezer", "old", temperature=-18.0)
    assert site.component("freezer", "old") is not None


# -- what a flaky field must not do ----------------------------------------------------------


def test_a_silent_grid_side_meter_means_no_grid() -> None:
    """The transport reports the meter offline and, from that silence, the grid as gone."""
    site = Site()
    site.apply([Reading("grid", "main", "present", True, at(0))], at(0), node="modbus-pzem")
    site.set_node(NodeStatus("modbus-pzem", True, at(0)))
    site.set_node(NodeStatus("modbus-pzem", False, at(1)))
    assert site.power.grid_present(at(1)) is None  # its last live value is not shown
    events = site.apply(
        [Reading("grid", "main", "present", False, at(1))], at(1), node="modbus-pzem"
    )
    assert types(events) == [EventType.GRID_LOST]
    assert site.power.grid_present(at(1)) is False
    assert site.power.source(at(1)) is PowerSource.NONE
    site.set_node(NodeStatus("modbus-pzem", True, at(30)))
    events = site.apply(
        [Reading("grid", "main", "present", True, at(30))], at(30), node="modbus-pzem"
    )
    assert types(events) == [EventType.GRID_RESTORED]


def test_a_probe_dropout_does_not_restart_the_alarm_delay() -> None:
    site = Site(Settings(alarm_delay=timedelta(minutes=10)))
    raised: list[EventType] = []
    for minute in range(0, 16):
        if minute % 4 == 3:  # every fourth reading the probe says "no reading"
            site.no_reading("freezer", "f1", "temperature", at(minute))
            raised += types(site.tick(at(minute)))
        else:
            raised += types(feed(site, minute, "freezer", "f1", temperature=-8.0))
    assert EventType.FREEZER_CRITICAL in raised


def test_fuel_low_is_not_raised_again_by_a_missed_poll_or_an_engine_restart() -> None:
    site = Site(Settings(tank_capacity=100.0, tank_reserve=0.0, fuel_low_hours=12.0))
    site.set_meta(Meta("generator", "main", node="controller"))
    site.set_node(NodeStatus("controller", True, at(0)))
    feed(site, 0, "tank", "main", level=50.0)
    raised = types(feed(site, 0, "generator", "main", state="running", fuel_rate=5.0))
    raised += types(feed(site, 1, "generator", "main", fuel_rate=5.0))
    assert raised == [EventType.FUEL_LOW]  # from the first reading of the rate
    raised = types(site.set_node(NodeStatus("controller", False, at(2))))  # one missed poll
    raised += types(site.set_node(NodeStatus("controller", True, at(3))))
    raised += types(feed(site, 3, "generator", "main", state="running", fuel_rate=5.0))
    raised += types(feed(site, 4, "generator", "main", state="stopped"))
    raised += types(feed(site, 6, "generator", "main", state="running", fuel_rate=5.0))
    raised += types(feed(site, 7, "generator", "main", state="running", fuel_rate=5.0))
    assert EventType.FUEL_LOW not in raised


def test_power_source_is_unknown_while_the_generator_is() -> None:
    site = Site()
    site.set_meta(Meta("generator", "main", node="controller"))
    site.set_node(NodeStatus("controller", True, at(0)))
    feed(site, 0, "grid", "main", present=False)
    feed(site, 0, "generator", "main", state="running", on_load=True)
    assert site.power.source(at(0)) is PowerSource.GENERATOR
    site.set_node(NodeStatus("controller", False, at(1)))
    feed(site, 1, "grid", "main", present=False)
    assert site.power.source(at(1)) is None  # not "no power"
    # A closed breaker with an unknown engine state still counts as on load.
    other = Site()
    feed(other, 0, "generator", "main", on_load=True)
    assert other.power.on_load(main_generator(other), at(0)) is True


def test_active_alarms_are_not_raised_again_after_a_restart() -> None:
    settings = Settings(alarm_delay=timedelta(minutes=5), tank_capacity=100.0, tank_reserve=0.0)
    site = Site(settings)
    feed(site, 0, "generator", "main", state="running", fuel_rate=5.0)
    raised = types(feed(site, 0, "tank", "main", level=20.0))
    feed(site, 0, "freezer", "f1", temperature=-8.0)
    raised += types(feed(site, 5, "freezer", "f1", temperature=-8.0))
    raised += types(feed(site, 5, "generator", "main", fuel_rate=5.0))
    assert set(raised) == {EventType.FREEZER_CRITICAL, EventType.FUEL_LOW}

    restarted = Site(settings)
    restarted.restore(site.snapshot())
    raised = types(feed(restarted, 10, "freezer", "f1", temperature=-8.0))
    raised += types(feed(restarted, 10, "generator", "main", state="running", fuel_rate=5.0))
    raised += types(feed(restarted, 10, "tank", "main", level=20.0))
    raised += types(feed(restarted, 20, "freezer", "f1", temperature=-8.0))
    assert raised == []
    freezer = restarted.component("freezer", "f1")
    assert freezer is not None
    assert restarted.freezers.status(freezer, at(10)) is FreezerStatus.CRITICAL


@pytest.mark.parametrize(
    "stored",
    [
        {"outage": "yesterday"},
        {"outage_log": [42]},
        {"freezers": {"f1": "melting"}},
        # A JSON integer too large for a float.
        {"generators": {"main": {"seconds": 10**400}}},
        # A name or node that is no text: every later message about the site would fail on it.
        {"components": [{"kind": "freezer", "id": "f1", "node": {"id": "freezers"}}]},
        {"components": [{"kind": "freezer", "id": "f1", "name": 7}]},
        # A tank capacity of nothing (every level divided by it) or a setting that is no number.
        {"components": [{"kind": "tank", "id": "main", "settings": {"capacity": 0}}]},
        {"components": [{"kind": "tank", "id": "main", "settings": {"capacity": -0.0}}]},
        {"components": [{"kind": "freezer", "id": "f1", "settings": {"warning": "nan"}}]},
        {"components": [{"kind": "generator", "id": "main", "settings": {"rating": "inf"}}]},
    ],
)
def test_any_damaged_storage_is_refused_cleanly(stored: dict[str, object]) -> None:
    site = Site()
    with pytest.raises(ValueError, match="damaged"):
        site.restore(stored)  # type: ignore[arg-type]
    assert site.outages.current is None


def test_stored_times_without_a_zone_are_read_as_utc() -> None:
    site = Site()
    site.restore({"outage": {"start": "2026-11-22T12:00:00"}})
    assert site.outages.current is not None
    assert site.outages.current.start == T0
    assert types(feed(site, 30, "grid", "main", present=True)) == [EventType.GRID_RESTORED]


# -- several generators ----------------------------------------------------------------------


@pytest.mark.parametrize(("standby", "feeding"), [("a", "b"), ("b", "a"), ("main", "z")])
def test_two_generators_in_any_order_of_ids(standby: str, feeding: str) -> None:
    """The set on load feeds the site whatever its id; fuel and runtime add up both."""
    site = Site(Settings(tank_capacity=1000.0, tank_reserve=0.0))
    feed(site, 0, "grid", "main", present=False)
    feed(site, 0, "tank", "main", level=50.0)
    feed(site, 0, "generator", standby, state="stopped", power=0.0)
    feed(site, 0, "generator", feeding, state="running", power=30.0, fuel_rate=8.0)
    assert site.power.source(at(0)) is PowerSource.GENERATOR
    assert site.fuel.rate_now(at(0)) == pytest.approx(8.0)
    for minute in range(1, 61):
        feed(site, minute, "generator", feeding, power=30.0, fuel_rate=8.0)
        feed(site, minute, "generator", standby, state="stopped", power=0.0)
        feed(site, minute, "tank", "main", level=50.0 - 0.8 * minute / 60)  # 8 L/h
    assert site.runs[feeding].seconds == pytest.approx(3600)
    assert site.runs[feeding].kwh == pytest.approx(30.0)
    assert site.runs[standby].seconds == 0
    # 492 L left at 8 L/h.
    assert site.fuel.runtime(at(60)) == pytest.approx(492 / 8.0, rel=0.01)
    # The second set starts too: both burn.
    feed(site, 61, "generator", standby, state="running", power=10.0, fuel_rate=4.0)
    assert site.fuel.rate_now(at(61)) == pytest.approx(12.0)
    # The second set's controller goes silent: its state is unknown, the first still feeds.
    site.apply([Reading("generator", standby, "power", 10.0, at(62))], at(62), node="ctl")
    site.set_node(NodeStatus("ctl", False, at(62)))
    standby_set = site.component("generator", standby)
    assert standby_set is not None
    assert site.power.on_load(standby_set, at(62)) is None
    assert site.power.source(at(62)) is PowerSource.GENERATOR


def test_a_fault_on_one_generator_is_its_own_alarm() -> None:
    site = Site()
    feed(site, 0, "generator", "a", state="running")
    feed(site, 0, "generator", "b", state="running")
    events = feed(site, 1, "generator", "b", alarm="shutdown")
    assert [(e.type, e.component_id) for e in events] == [(EventType.GENERATOR_FAULT, "b")]
    events = feed(site, 2, "generator", "a", alarm="shutdown")
    assert [(e.type, e.component_id) for e in events] == [(EventType.GENERATOR_FAULT, "a")]


def test_late_delivery_integrates_like_live_delivery() -> None:
    """A bridge replaying an hour of queued readings gives the figures live delivery gave."""
    live, late = Site(), Site()
    readings = [
        Reading("generator", "main", name, value, at(minute / 6))
        for minute in range(360)
        for name, value in (("state", "running"), ("power", 20.0 + minute % 7))
    ]
    for reading in readings:
        live.apply([reading], reading.time)
    arrival = at(120)  # the link came back an hour after the last reading
    for reading in readings:
        late.apply([reading], arrival)
    assert late.runs["main"].seconds == pytest.approx(live.runs["main"].seconds)
    assert late.runs["main"].kwh == pytest.approx(live.runs["main"].kwh)
    assert live.runs["main"].seconds == pytest.approx(3590)  # first to last reading


def test_one_grid_voltage_decides_presence_for_every_meter() -> None:
    """A 150 V brown-out is an outage at 184 V, and not on a site set to 140 V."""
    default, weak_line = Site(), Site(Settings(grid_voltage=140.0))
    for site in (default, weak_line):
        feed(site, 0, "grid", "main", voltage=150.0)
        site.apply([Reading("grid", "meter", "voltage", 150.0, at(0))], at(0), node="sdm630")
    assert default.power.grid_present(at(0)) is False
    assert weak_line.power.grid_present(at(0)) is True


@pytest.mark.parametrize("how", ["clock set back", "restored from a clock ahead"])
def test_a_clock_set_back_does_not_keep_a_warming_freezer_shown_as_fine(how: str) -> None:
    """Home Assistant's clock ran an hour ahead and is set right: the freezer's new readings
    are measured before the one shown, yet they are the news, and its status follows them."""
    site = Site(Settings(alarm_delay=timedelta(0)))
    feed(site, 60, "freezer", "f1", temperature=-18.0)  # at the clock an hour ahead
    if how == "restored from a clock ahead":
        restored = Site(Settings(alarm_delay=timedelta(0)))
        restored.restore(site.snapshot())
        site = restored
    feed(site, 0, "freezer", "f1", temperature=-5.0)  # the clock set right
    feed(site, 1, "freezer", "f1", temperature=-5.0)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.number(freezer, "temperature", at(1)) == -5.0
    assert site.freezers.status(freezer, at(1)) is FreezerStatus.CRITICAL


def test_a_reading_measured_before_the_one_shown_is_history() -> None:
    """A queued reading that arrives after a newer one (a bridge's late delivery) is not shown
    over it, however late it comes."""
    site = Site(Settings())
    feed(site, 10, "freezer", "f1", temperature=-18.0)
    late = at(-50)
    site.apply([Reading("freezer", "f1", "temperature", -12.0, late)], late, arrived=at(11))
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.number(freezer, "temperature", at(11)) == -18.0


def test_a_clock_set_back_does_not_hold_a_freezer_alarm_back_by_the_step() -> None:
    """A freezer went above −15 °C two minutes before Home Assistant's clock, an hour ahead,
    was set right: its warning comes one alarm delay after the step, not an hour later."""
    site = Site(Settings(alarm_delay=timedelta(minutes=10)))
    feed(site, 58, "freezer", "f1", temperature=-14.0)  # at the clock an hour ahead
    feed(site, 60, "freezer", "f1", temperature=-14.0)
    events: list[SiteEvent] = []
    for minute in range(0, 15):  # the clock set right
        events += feed(site, minute, "freezer", "f1", temperature=-14.0)
        events += site.tick(at(minute))
    assert EventType.FREEZER_WARNING in types(events)
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    assert site.freezers.status(freezer, at(14)) is FreezerStatus.WARNING


def test_a_clock_set_back_does_not_keep_a_silent_grid_meter_live_for_the_step() -> None:
    """Home Assistant's clock ran an hour ahead and is set right; the grid meter reports once
    more and falls silent. Its grid reading goes stale one staleness timeout after that
    report, not an hour later, and the site's last reading is that report."""
    site = Site(Settings())
    feed(site, 60, "grid", "main", present=True)  # at the clock an hour ahead
    feed(site, 0, "grid", "main", present=True)  # the clock set right
    grid = site.component("grid", "main")
    assert grid is not None
    assert grid.last_seen == at(0)
    assert site.last_reading == at(0)
    later = at(0) + Settings().stale_timeout + timedelta(minutes=1)
    assert site.power.grid_present(later) is None


def test_a_late_door_reading_does_not_start_the_alarm_delay_before_the_warm_reading() -> None:
    """A freezer read −14 °C at 10 min; its door's first reading, queued, arrives measured at
    5 min. The warmth was seen at 10 min: its alarm delay counts from then, not from 5."""
    site = Site(Settings(alarm_delay=timedelta(minutes=10)))
    feed(site, 10, "freezer", "f1", temperature=-14.0)
    late = at(5)
    site.apply([Reading("freezer", "f1", "door", False, late)], late, arrived=at(11))
    freezer = site.component("freezer", "f1")
    assert freezer is not None
    for minute in range(11, 21):
        feed(site, minute, "freezer", "f1", temperature=-14.0)
        expected = FreezerStatus.WARNING if minute >= 20 else FreezerStatus.OK
        assert site.freezers.status(freezer, at(minute)) is expected, minute
