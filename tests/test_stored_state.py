"""A saved site state damaged by hand or by an old version: refused at the start, kept aside
and told, never shown as nan or infinity, and the site runs on."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sot.const import DOMAIN
from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readings import Reading

from .helpers import site_entry, start_site, unacknowledged_alarms, wait_for, wait_for_state

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _saved_outage() -> dict[str, Any]:
    """Two hours of an outage on the generator, as the site saved it at NOW."""
    site = Site(Settings(tank_capacity=1000.0, tank_reserve=10.0))
    start = NOW - timedelta(minutes=120)
    site.apply([Reading("grid", "main", "present", False, start)], start)
    rng = random.Random(1)
    litres = 800.0
    for minute in range(121):
        now = start + timedelta(minutes=minute)
        readings = [
            Reading("generator", "main", "state", "running", now),
            Reading("generator", "main", "on_load", True, now),
            Reading("generator", "main", "fuel_rate", 10.0, now),
            Reading("tank", "main", "level", round(litres / 10 + rng.gauss(0, 0.3), 2), now),
        ]
        site.apply(readings, now)
        litres -= 12.5 / 60
    saved: dict[str, Any] = json.loads(json.dumps(site.snapshot()))
    return saved


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Damage one stored figure: `path` is its keys and list places, by dots."""

    def damage(saved: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        place: Any = saved
        for key in parents:
            place = place[int(key)] if isinstance(place, list) else place[key]
        if isinstance(place, list):
            place[int(last)] = value
        else:
            place[last] = value

    return damage


def _damaged_notices(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith("stored_state_damaged_")
    ]


async def _start_with(
    hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    saved: dict[str, Any],
    **options: Any,
) -> str:
    freezer.move_to(NOW)
    entry = site_entry(**options)
    key = f"sot.{entry.entry_id}"
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": saved}
    await start_site(hass, field, entry, freezer)
    return key


async def test_an_undamaged_outage_is_shown_at_once(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    await _start_with(mqtt_hass, field, freezer, hass_storage, _saved_outage())
    assert _damaged_notices(mqtt_hass) == []
    runtime = mqtt_hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    assert 50 < float(runtime.state) < 70  # about 775 L at 12.5 L/h


@pytest.mark.parametrize(
    "damage",
    [
        _set("fuel_estimate.burned", "nan"),
        _set("fuel_estimate.run_hours", "inf"),
        _set("fuel_estimate.level", "-inf"),
        _set("fuel_estimate.noise", "NaN"),
        _set("fuel_estimate.by_rate.5", "Infinity"),
        _set("fuel_estimate.faded_at", 1e300),
        _set("fuel_estimate.run_hours", -1e300),
        _set("fuel_estimate.hourly.main.0", "nan"),
        _set("fuel_estimate.refills", [[1e300, 300.0]]),
        _set("fuel_estimate.refills", [["nan", 300.0]]),
        _set("fuel_estimate.recent.0.1", "inf"),
        _set("fuel_low_litres", "nan"),
        _set("generators.main.seconds", "inf"),
        _set("generators.main.fuel", "nan"),
    ],
)
async def test_a_stored_figure_not_finite_is_refused_and_the_site_runs_on(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[dict[str, Any]], None],
) -> None:
    """A figure of the fuel estimate or a generator's run that is nan, infinite or beyond any
    float's reach: once a runtime of nan hours, or every tank reading failing on it."""
    saved = _saved_outage()
    damage(saved)
    key = await _start_with(mqtt_hass, field, freezer, hass_storage, saved)
    kept = [k for k in hass_storage if k.startswith(f"{key}.damaged.")]
    assert len(kept) == 1
    [notice] = _damaged_notices(mqtt_hass)
    assert notice.translation_placeholders is not None
    assert notice.translation_placeholders["kept"] == f".storage/{kept[0]}"
    told = [r for r in caplog.records if "starting afresh" in r.getMessage()]
    assert [r.levelno for r in told] == [logging.WARNING]
    for entity_id in ("sensor.kall_fuel_runtime", "sensor.kall_fuel_at_typical_load"):
        state = mqtt_hass.states.get(entity_id)
        assert state is None or state.state.lower() not in ("nan", "inf", "-inf")
    # Later readings are taken in.
    caplog.clear()
    await field.publish(
        "sot/kall/generator/main", json.dumps({"state": "running", "fuel_rate": 10.0})
    )
    await field.publish("sot/kall/tank/main/level", "77.5")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "77.5")
    freezer.tick(timedelta(seconds=20))
    await field.publish("sot/kall/tank/main/level", "77.4")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "77.4")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    "damage",
    [
        # A reading measured in the year 9999: its staleness is its time plus the timeout.
        _set("components.2.values.level.1", "9999-12-31T23:59:59+00:00"),
        _set("components.1.last_seen", "9999-12-31T23:59:59"),
        _set("outage.start", "0001-01-01T00:00:00+00:00"),
        _set("last_reading", "9999-12-31T23:59:59+00:00"),
        _set("generators.main.last_run", "0001-01-01T00:00:00"),
        _set("coldchain.current.start", "0001-01-01T00:00:00+00:00"),
        # POSIX seconds past the year 9999: a refill that cannot be shown.
        _set("fuel_estimate.refills", [[1e13, 300.0]]),
        _set("fuel_estimate.refills", [[-1e13, 300.0]]),
        _set("freezer_power.supply_since", 1e13),
    ],
)
async def test_a_stored_time_out_of_range_is_refused_and_the_site_runs_on(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[dict[str, Any]], None],
) -> None:
    """A time near the year 1 or 9999 fails the first time a duration is added to it."""
    saved = _saved_outage()
    damage(saved)
    key = await _start_with(mqtt_hass, field, freezer, hass_storage, saved)
    kept = [k for k in hass_storage if k.startswith(f"{key}.damaged.")]
    assert len(kept) == 1
    told = [r for r in caplog.records if "starting afresh" in r.getMessage()]
    assert [r.levelno for r in told] == [logging.WARNING]
    assert "out of range" in told[0].getMessage()
    caplog.clear()
    await field.publish("sot/kall/tank/main/level", "77.5")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "77.5")
    for _ in range(3):
        freezer.tick(timedelta(seconds=20))
        async_fire_time_changed(mqtt_hass)
        await mqtt_hass.async_block_till_done()
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_reading_stored_as_measured_in_the_year_9999_does_not_stay_live(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Its age would be negative for ever: the tank's level shown as live long after the
    staleness timeout (60 s here), with the fuel figures worked out from it."""
    saved = _saved_outage()
    _set("components.2.values.level.1", "9999-12-31T23:59:59+00:00")(saved)
    await _start_with(mqtt_hass, field, freezer, hass_storage, saved, stale_timeout=60)
    for _ in range(3):  # the tank silent for half as long again as the staleness timeout
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(mqtt_hass)
        await mqtt_hass.async_block_till_done()
    level = mqtt_hass.states.get("sensor.kall_tank_level")
    assert level is None or level.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("components.2.values.level.0", "nan"),
        ("components.2.values.level.0", 1e14),
        ("components.2.values.level.0", -5.0),
        ("components.2.values.level.0", 250.0),
        ("components.2.values.level.0", True),
        ("components.1.values.state.0", "melting"),
        ("components.1.values.state.0", 3.0),
        ("components.1.values.on_load.0", "maybe"),
    ],
)
async def test_a_stored_reading_the_vocabulary_refuses_is_left_out_and_the_rest_kept(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    path: str,
    value: Any,
) -> None:
    """A stored last reading goes through the gate every live one does: a tank level of
    1e+14 % or -5 %, or one the sensor cannot show at all (its entity never added), is left
    out with one warning; the rest of the state (the other readings, the outage, the fuel
    learnt) is kept, as it would be were the range narrowed by a later release."""
    saved = _saved_outage()
    _set(path, value)(saved)
    key = await _start_with(mqtt_hass, field, freezer, hass_storage, saved)
    assert [k for k in hass_storage if k.startswith(f"{key}.damaged.")] == []
    assert _damaged_notices(mqtt_hass) == []
    told = [r for r in caplog.records if "saved readings left out" in r.getMessage()]
    assert [r.levelno for r in told] == [logging.WARNING]
    entities = {
        "level": "sensor.kall_tank_level",
        "state": "sensor.kall_generator_state",
    }
    damaged = path.split(".")[3]
    for quantity, entity_id in entities.items():
        shown = mqtt_hass.states.get(entity_id)
        if quantity == damaged:
            assert shown is None or shown.state in (STATE_UNAVAILABLE, STATE_UNKNOWN), entity_id
        else:
            assert shown is not None, entity_id
            assert shown.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN), entity_id
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    await field.publish(
        "sot/kall/generator/main", json.dumps({"state": "running", "on_load": True})
    )
    await field.publish("sot/kall/tank/main/level", "77.5")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "77.5")
    await wait_for_state(mqtt_hass, "sensor.kall_generator_state", "running")
    # The fuel learnt over the outage's two hours kept: a figure at once, about 765 L over
    # the reserve at 12.5 L/h (a site started afresh on a tank gauge has none for an hour).
    freezer.tick(timedelta(seconds=20))
    async_fire_time_changed(mqtt_hass)
    await mqtt_hass.async_block_till_done()
    runtime = mqtt_hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    assert 50 < float(runtime.state) < 70
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_stored_alarm_stamp_without_a_zone_is_left_out_and_the_state_saved_again(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An alarm stamp written without a zone (by hand) could not be compared with the time:
    the unacknowledged_alarms action failed, and so did every later save of the site."""
    saved = _saved_outage()
    grid = {"kind": "grid", "component_id": "main"}
    saved["alarms"] = [
        {"stamp": "2026-11-22T11:59:00.000", "event_type": "grid_lost", "attributes": grid},
        {
            "stamp": "2026-11-22T11:58:00.000+00:00",
            "event_type": "generator_started",
            "attributes": {"kind": "generator", "component_id": "main"},
        },
    ]
    saved["replaced_alarms"] = ["2026-11-22T11:00:00.000", "2026-11-22T11:30:00.000+00:00"]
    key = await _start_with(mqtt_hass, field, freezer, hass_storage, saved)
    found = await unacknowledged_alarms(mqtt_hass, key.split(".")[1])
    assert [a["stamp"] for a in found["alarms"]] == ["2026-11-22T11:58:00.000+00:00"]
    await field.publish("sot/kall/tank/main/level", "77.5")
    await wait_for_state(mqtt_hass, "sensor.kall_tank_level", "77.5")
    freezer.tick(timedelta(seconds=70))
    async_fire_time_changed(mqtt_hass)
    await wait_for(
        mqtt_hass,
        lambda: hass_storage[key]["data"]["components"][2]["values"]["level"][0] == 77.5,
        "the site's state to be saved",
    )
    assert hass_storage[key]["data"]["replaced_alarms"] == ["2026-11-22T11:30:00.000+00:00"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_stored_unraised_alarm_with_a_figure_not_finite_is_left_out(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Alarms saved before the alarm entity raised them are raised at the start: not one
    saying the fuel lasts 1e+300 or infinite hours, nor one raised in the year 1; one whose
    time has no zone is read as UTC, as every stored time is."""
    saved = _saved_outage()
    lost = {"type": "grid_lost", "kind": "grid"}
    saved["unraised"] = [
        {**lost, "component_id": "a", "time": "2026-11-22T11:57:00+00:00", "data": {}},
        {**lost, "component_id": "b", "time": "2026-11-22T11:58:00+00:00", "data": {}},
        {**lost, "component_id": "c", "time": "0001-01-01T00:00:00+00:00", "data": {}},
        {**lost, "component_id": "main", "time": "2026-11-22T11:59:00", "data": {}},
    ]
    saved["unraised"][0]["data"]["fuel_hours"] = 1e300
    saved["unraised"][1]["data"]["fuel_hours"] = float("inf")
    saved["unraised"][2]["data"]["fuel_hours"] = 50.0
    saved["unraised"][3]["data"]["fuel_hours"] = 50.0
    key = await _start_with(mqtt_hass, field, freezer, hass_storage, saved)
    found = await unacknowledged_alarms(mqtt_hass, key.split(".")[1])
    assert [(a["component_id"], a["time"], a["fuel_hours"]) for a in found["alarms"]] == [
        ("main", "2026-11-22T11:59:00+00:00", 50.0)
    ]


@pytest.mark.parametrize(
    "damage",
    [
        _set("fuel_estimate.burned", -7200.0),
        _set("fuel_estimate.curve_burned", -1.0),
        _set("fuel_estimate.unrated_hours", -1.0),
        _set("generators.main.seconds", -7200.0),
        _set("generators.main.kwh", -1.0),
        _set("generators.main.fuel", -1.0),
    ],
)
async def test_a_stored_total_below_zero_is_refused(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    damage: Callable[[dict[str, Any]], None],
) -> None:
    """Litres burned and hours run only grow: -7200 L burned read back showed 810 hours of
    fuel for a tank that holds 54, and -7200 s run showed -2.0 estimated run hours."""
    saved = _saved_outage()
    damage(saved)
    key = await _start_with(mqtt_hass, field, freezer, hass_storage, saved)
    assert len([k for k in hass_storage if k.startswith(f"{key}.damaged.")]) == 1
    for entity_id in ("sensor.kall_fuel_runtime", "sensor.kall_generator_run_hours_estimated"):
        state = mqtt_hass.states.get(entity_id)
        assert state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)
