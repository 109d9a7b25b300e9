"""Load shedding blueprint, run by Home Assistant's automation engine through simulated outages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from homeassistant.const import (
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import CoreState, HomeAssistant, ServiceCall, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_restore_cache

from .conftest import START, Clock, Relays, save_an_edit, setup_blueprint_automation

GRID = "binary_sensor.kall_grid_present"
BACKUP = "binary_sensor.kall_on_backup_power"
LOAD = "sensor.kall_generator_load"

CHILLED_CASE = "switch.kall_load_chilled_case"
COLD_ROOM = "switch.kall_load_cold_room"
WARM_ROOM = "switch.kall_load_warm_room_heater"
CAR_HEATERS = "switch.kall_load_car_heaters"
OFFICE = "switch.kall_load_office"
FREEZER_1 = "switch.kall_load_freezer_1"
FREEZER_2 = "switch.kall_load_freezer_2"
FREEZER_1_TEMP = "sensor.kall_freezer_f1_temperature"
FREEZER_2_TEMP = "sensor.kall_freezer_f2_temperature"

ALL_LOADS = (CHILLED_CASE, COLD_ROOM, WARM_ROOM, CAR_HEATERS, OFFICE)

INPUTS: dict[str, Any] = {
    "grid_sensor": GRID,
    "backup_sensor": BACKUP,
    "load_sensor": LOAD,
    "tier_2_loads": [CHILLED_CASE, COLD_ROOM],
    "tier_3_loads": [WARM_ROOM],
    "tier_4_loads": [CAR_HEATERS, OFFICE],
    # The blueprint's defaults, spelled out so that the timings below can be read against them.
    "changeover_shed": "4",
    "shed_level": 90,
    "shed_delay": {"seconds": 30},
    "restore_level": 50,
    "restore_delay": {"minutes": 5},
    "min_off_time": 5,
    "stagger_delay": 15,
}

OFF = "turn_off"
ON = "turn_on"


async def site_on_grid(hass: HomeAssistant, relays: Relays, clock: Clock) -> None:
    """A normal day: grid present, generator stopped, every load powered."""
    hass.states.async_set(GRID, STATE_ON)
    hass.states.async_set(BACKUP, STATE_OFF)
    hass.states.async_set(LOAD, "0.0")
    relays.set(STATE_ON, *ALL_LOADS)
    await clock.settle()


async def set_states(hass: HomeAssistant, clock: Clock, **states: str) -> None:
    """Report new sensor readings, the way the integration would."""
    names = {
        "grid": GRID,
        "backup": BACKUP,
        "load": LOAD,
        "f1": FREEZER_1_TEMP,
        "f2": FREEZER_2_TEMP,
    }
    for key, value in states.items():
        hass.states.async_set(names[key], value)
    await clock.settle()


async def test_outage_sheds_changeover_tier_then_next_tiers_on_overload(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Grid loss sheds tier 4 at once; a sustained overload sheds tier 3, then tier 2."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)

    await set_states(hass, clock, grid=STATE_OFF)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE))]

    # The operator connects the generator; it carries the rest at 70 %.
    await clock.advance_to(20)
    await set_states(hass, clock, backup=STATE_ON, load="70.0")
    await clock.advance_to(60)
    assert relays.take() == []

    # The warm-room heater kicks in: 96 % for 30 s sheds tier 3.
    await set_states(hass, clock, load="96.0")
    await clock.advance_to(89)
    assert relays.take() == []
    await clock.advance_to(91)
    assert relays.take() == [(90.0, OFF, (WARM_ROOM,))]

    # Still overloaded for another shed delay: tier 2 goes as well.
    await clock.advance_to(95)
    await set_states(hass, clock, load="93.0")
    await clock.advance_to(130)
    assert relays.take() == [(120.0, OFF, (CHILLED_CASE, COLD_ROOM))]

    # Nothing left to shed: tier 1 is never touched, however long the overload lasts.
    await clock.advance_to(400)
    assert relays.take() == []
    assert all(hass.states.get(e).state == STATE_OFF for e in ALL_LOADS)


async def test_spare_capacity_restores_last_tier_shed_first_and_staggered(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Below the restore level the most important shed tier returns first, one load at a time."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "changeover_shed": "2"})
    await set_states(hass, clock, grid=STATE_OFF)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE, WARM_ROOM, CHILLED_CASE, COLD_ROOM))]

    await clock.advance_to(10)
    await set_states(hass, clock, backup=STATE_ON, load="20.0")
    # 5 min below 50 %: tier 2 first, its second load 15 s after the first.
    await clock.advance_to(309)
    assert relays.take() == []
    await clock.advance_to(330)
    assert relays.take() == [(310.0, ON, (CHILLED_CASE,)), (325.0, ON, (COLD_ROOM,))]

    # The load rises but stays below the restore level: after another 5 min, tier 3.
    await set_states(hass, clock, load="38.0")
    await clock.advance_to(650)
    assert relays.take() == [(625.0, ON, (WARM_ROOM,))]

    # Above the restore level for a moment at 650 s: the 5 min start over when it falls back.
    await set_states(hass, clock, load="55.0")
    await clock.advance_to(700)
    await set_states(hass, clock, load="45.0")
    await clock.advance_to(999)
    assert relays.take() == []
    assert hass.states.get(CAR_HEATERS).state == STATE_OFF
    await clock.advance_to(1030)
    assert relays.take() == [(1000.0, ON, (CAR_HEATERS,)), (1015.0, ON, (OFFICE,))]


async def test_load_hovering_at_a_threshold_does_not_flap(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Readings dancing around the shed or the restore level never switch anything."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_OFF)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE))]
    await set_states(hass, clock, backup=STATE_ON, load="80.0")

    # 89 % / 91 % every 10 s for 10 minutes: never above 90 % for 30 s in a row.
    for second in range(10, 610, 10):
        await clock.advance_to(second)
        await set_states(hass, clock, load="91.0" if second % 20 else "89.0")
    # Between the levels nothing happens at all.
    await set_states(hass, clock, load="70.0")
    await clock.advance_to(1000, step=5)
    # 49 % / 51 % every minute for 20 minutes: never below 50 % for 5 min in a row.
    for minute in range(17, 37):
        await clock.advance_to(minute * 60, step=5)
        await set_states(hass, clock, load="49.0" if minute % 2 else "51.0")
    await clock.advance_to(37 * 60 - 1, step=5)
    assert relays.take() == []

    # A reading held above the level for the whole delay does shed.
    await set_states(hass, clock, load="91.0")
    await clock.advance_to(37 * 60 + 35)
    assert relays.take() == [(37 * 60 + 29.0, OFF, (WARM_ROOM,))]


async def test_overload_at_changeover_waits_the_full_shed_delay(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A generator taking a heavy load sheds only once the load has stayed high for 30 s."""
    await site_on_grid(hass, relays, clock)
    # Written the way YAML users often write durations.
    await setup_blueprint_automation(
        hass, "load_shedding.yaml", {**INPUTS, "changeover_shed": "none", "shed_delay": "00:00:30"}
    )
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(100)
    await set_states(hass, clock, backup=STATE_ON, load="97.0")
    # A dip below the level at 115 s starts the 30 s over again.
    await clock.advance_to(115)
    await set_states(hass, clock, load="85.0")
    await clock.advance_to(120)
    await set_states(hass, clock, load="97.0")
    await clock.advance_to(149)
    assert relays.take() == []
    await clock.advance_to(160)
    assert relays.take() == [(150.0, OFF, (CAR_HEATERS, OFFICE))]


async def test_each_shed_restarts_the_shed_delay(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """An overload timed before a shed does not count after it: the next tier waits 30 s more."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    # Exercise on load, grid present; the load climbs to 97 % at 10 s.
    await set_states(hass, clock, backup=STATE_ON, load="60.0")
    await clock.advance_to(10)
    await set_states(hass, clock, load="97.0")
    # The grid fails at 20 s: tier 4 is shed at changeover, inside the overload's 30 s.
    await clock.advance_to(20)
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(49)
    assert relays.take() == [(20.0, OFF, (CAR_HEATERS, OFFICE))]
    await clock.advance_to(60)
    assert relays.take() == [(50.0, OFF, (WARM_ROOM,))]


async def test_minimum_off_time_holds_a_shed_load_off(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A load comes back no sooner than its minimum off time, even with capacity to spare."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(
        hass, "load_shedding.yaml", {**INPUTS, "restore_delay": {"minutes": 1}}
    )
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(10)
    await set_states(hass, clock, backup=STATE_ON, load="30.0")
    # Spare capacity is confirmed at 70 s, but the loads were switched off at 0 s.
    await clock.advance_to(299)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE))]
    await clock.advance_to(320)
    assert relays.take() == [(300.0, ON, (CAR_HEATERS,)), (315.0, ON, (OFFICE,))]


async def test_grid_return_restores_everything_in_priority_order(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Back on the grid, every shed load returns: tier 2 first, staggered, after its off time."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(10)
    await set_states(hass, clock, backup=STATE_ON, load="97.0")
    await clock.advance_to(200)
    assert relays.take() == [
        (0.0, OFF, (CAR_HEATERS, OFFICE)),
        (40.0, OFF, (WARM_ROOM,)),
        (70.0, OFF, (CHILLED_CASE, COLD_ROOM)),
    ]

    # Grid back while still on the generator (manual changeover): nothing is restored yet.
    await set_states(hass, clock, grid=STATE_ON)
    await clock.advance_to(300)
    assert relays.take() == []

    # The operator switches back to the grid. Tier 2 has been off for 260 s of its 300 s.
    await set_states(hass, clock, backup=STATE_OFF, load="0.0")
    await clock.advance_to(500)
    assert relays.take() == [
        (370.0, ON, (CHILLED_CASE,)),
        (385.0, ON, (COLD_ROOM,)),
        (400.0, ON, (WARM_ROOM,)),
        (415.0, ON, (CAR_HEATERS,)),
        (430.0, ON, (OFFICE,)),
    ]


async def test_grid_lost_again_during_staggered_restore(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A grid that drops again mid-restore cuts the restore short; its return finishes it."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "min_off_time": 0})
    relays.set(STATE_OFF, *ALL_LOADS)
    await clock.settle()

    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, grid=STATE_ON)
    await clock.advance_to(20)
    # The storm: the grid flickers out again after two loads are back.
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(120)
    assert relays.take() == [
        (0.0, ON, (CHILLED_CASE,)),
        (15.0, ON, (COLD_ROOM,)),
    ]
    await set_states(hass, clock, grid=STATE_ON)
    await clock.advance_to(200)
    assert relays.take() == [
        (120.0, ON, (WARM_ROOM,)),
        (135.0, ON, (CAR_HEATERS,)),
        (150.0, ON, (OFFICE,)),
    ]


async def test_generator_restart_sheds_changeover_tiers_again(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A generator back on load after a stop sheds again at changeover; a grid test run does not."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)

    # Monthly exercise on load while the grid is present: no changeover shedding.
    await set_states(hass, clock, backup=STATE_ON, load="60.0")
    await clock.advance_to(100)
    await set_states(hass, clock, backup=STATE_OFF, load="0.0")
    await clock.advance_to(200)
    assert relays.take() == []

    # Outage; spare capacity brings tier 4 back; the generator trips and restarts.
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="30.0")
    await clock.advance_to(520)
    await set_states(hass, clock, backup=STATE_OFF, load="0.0")
    await clock.advance_to(560)
    await set_states(hass, clock, backup=STATE_ON, load="40.0")
    await clock.settle()
    assert relays.take() == [
        (200.0, OFF, (CAR_HEATERS, OFFICE)),
        (500.0, ON, (CAR_HEATERS,)),
        (515.0, ON, (OFFICE,)),
        (560.0, OFF, (CAR_HEATERS, OFFICE)),
    ]


async def test_an_overload_during_a_test_run_on_load_is_shed(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A test run on load with the grid present sheds nothing at the changeover, but the
    generator carries the site: an overload is shed, and the loads return after the run."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "min_off_time": 0})
    await set_states(hass, clock, backup=STATE_ON, load="95.0")
    await clock.advance_to(40)
    assert relays.take() == [(30.0, OFF, (CAR_HEATERS, OFFICE))]
    await set_states(hass, clock, backup=STATE_OFF, load="0.0")
    await clock.advance_to(60)
    assert relays.take() == [(40.0, ON, (CAR_HEATERS,)), (55.0, ON, (OFFICE,))]


async def test_a_load_switched_off_by_hand_on_the_grid_is_switched_on_at_the_next_reload(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The automation does not watch its switches; it switches on what it finds off when it acts."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    relays.set(STATE_OFF, OFFICE)
    await clock.advance_to(600, step=10)
    assert relays.take() == []
    await save_an_edit(hass, clock, "load_shedding.yaml", INPUTS)
    await clock.advance_to(610)
    assert relays.take() == [(600.0, ON, (OFFICE,))]


async def test_a_relay_that_does_not_answer_does_not_keep_the_others_off(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The car heaters' relay reports every command as failed (no echo): the grid returns and
    every other load still comes back; the car heaters are tried again, a stagger delay apart."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "changeover_shed": "2"})
    await set_states(hass, clock, grid=STATE_OFF)
    relays.take()
    tries: list[float] = []

    async def switch_on(call: ServiceCall) -> None:
        if CAR_HEATERS in cv.comp_entity_ids(call.data["entity_id"]):
            tries.append(clock.elapsed.total_seconds())
            raise HomeAssistantError("Car heaters: no echo from the relay")
        relays._handle(call)

    hass.services.async_register("switch", "turn_on", switch_on)
    await clock.advance_to(400)
    await set_states(hass, clock, grid=STATE_ON)
    await clock.advance_to(500)
    assert relays.take() == [
        (400.0, ON, (CHILLED_CASE,)),
        (415.0, ON, (COLD_ROOM,)),
        (430.0, ON, (WARM_ROOM,)),
        (445.0, ON, (OFFICE,)),
    ]
    assert tries[:3] == [445.0, 460.0, 475.0]


async def test_a_load_that_stays_on_when_shed_is_passed_over_for_the_next_tier(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The car heaters' relay is welded shut: shedding tier 4 leaves them running and the
    generator overloaded, so tier 3 is shed next, not the car heaters again and again."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(
        hass, "load_shedding.yaml", {**INPUTS, "changeover_shed": "none"}
    )
    relays.stick(CAR_HEATERS)
    await set_states(hass, clock, grid=STATE_OFF, backup=STATE_ON, load="97.0")
    await clock.advance_to(31)
    assert relays.take() == [(30.0, OFF, (CAR_HEATERS, OFFICE))]
    await set_states(hass, clock, load="95.0")

    # Tier 4 gone but for the car heaters, and still 95 %: after the stagger delay the car
    # heaters had to follow and a shed delay, tier 3 goes, the car heaters commanded again.
    await clock.advance_to(74)
    assert relays.take() == []
    await clock.advance_to(76)
    assert relays.take() == [(75.0, OFF, (WARM_ROOM, CAR_HEATERS))]
    await set_states(hass, clock, load="80.0")

    # The overload is relieved: nothing more is shed, nothing flaps.
    await clock.advance_to(600, step=5)
    assert relays.take() == []
    assert {e: hass.states.get(e).state for e in ALL_LOADS} == {
        CHILLED_CASE: STATE_ON,
        COLD_ROOM: STATE_ON,
        WARM_ROOM: STATE_OFF,
        CAR_HEATERS: STATE_ON,
        OFFICE: STATE_OFF,
    }


async def test_a_relay_that_does_not_answer_its_off_command_does_not_hold_up_the_next_tiers(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The car heaters' relay fails every command through a long overload: every further tier
    is shed a step at a time, the car heaters commanded off with each, then on their own."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(
        hass, "load_shedding.yaml", {**INPUTS, "changeover_shed": "none"}
    )
    relays.stick(CAR_HEATERS, answered=False)
    await set_states(hass, clock, grid=STATE_OFF, backup=STATE_ON, load="97.0")
    try:
        await clock.advance_to(220)
        assert relays.take() == [
            (30.0, OFF, (CAR_HEATERS, OFFICE)),
            (75.0, OFF, (WARM_ROOM, CAR_HEATERS)),
            (120.0, OFF, (CHILLED_CASE, COLD_ROOM, CAR_HEATERS)),
            (165.0, OFF, (CAR_HEATERS,)),
            (210.0, OFF, (CAR_HEATERS,)),
        ]
    finally:
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )


async def test_after_a_restart_mid_outage_the_switches_tell_what_is_shed(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Home Assistant restarting on the generator carries on from the switches it finds."""
    hass.states.async_set(GRID, STATE_OFF)
    hass.states.async_set(BACKUP, STATE_ON)
    hass.states.async_set(LOAD, "95.0")
    relays.set(STATE_ON, CHILLED_CASE, COLD_ROOM, WARM_ROOM)
    relays.set(STATE_OFF, CAR_HEATERS, OFFICE)
    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    # Home Assistant's own start: HA 2026.10+ arms automations in a startup job, run between
    # the start and started events, so firing `homeassistant_started` alone arms nothing.
    await hass.async_start()
    await clock.settle()

    # Tier 4 is found off, so an overload lasting 30 s sheds tier 3 next.
    await clock.advance_to(29)
    assert relays.take() == []
    await clock.advance_to(40)
    assert relays.take() == [(30.0, OFF, (WARM_ROOM,))]
    # And spare capacity brings back tier 3 first, tier 4 after it.
    await set_states(hass, clock, load="40.0")
    await clock.advance_to(700)
    assert relays.take() == [
        (340.0, ON, (WARM_ROOM,)),
        (640.0, ON, (CAR_HEATERS,)),
        (655.0, ON, (OFFICE,)),
    ]


async def test_a_grid_loss_unseen_while_the_sensors_were_unavailable_is_shed(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The grid meter's node loses power with the grid: its sensors come back off and on
    backup power, not from on to off. The generator carries the site by then: tier 4 is shed."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_UNAVAILABLE, backup=STATE_UNAVAILABLE)
    # The generator's own controller reports it taking the load.
    await clock.advance_to(10)
    await set_states(hass, clock, load="70.0")
    await clock.advance_to(20)
    # The grid is reported first: nothing yet, the generator is not known to take the load.
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(25)
    assert relays.take() == []
    await set_states(hass, clock, backup=STATE_ON)
    assert relays.take() == [(25.0, OFF, (CAR_HEATERS, OFFICE))]
    await clock.advance_to(200)
    assert relays.take() == []


async def meter_drops_out_and_returns(hass: HomeAssistant, clock: Clock, load: str) -> None:
    """Mid-outage the generator's load settles at `load`; the grid meter's node drops out at
    400 s and is back at 460 s, the grid still off; then 900 s go by."""
    await set_states(hass, clock, load=load)
    await clock.advance_to(400)
    await set_states(hass, clock, grid=STATE_UNAVAILABLE, backup=STATE_UNAVAILABLE)
    await clock.advance_to(460)
    await set_states(hass, clock, grid=STATE_OFF, backup=STATE_ON)
    await clock.advance_to(900, step=5)


async def test_sensors_reconnecting_mid_outage_toggle_nothing(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Tier 3 is back on for spare capacity, tier 4 still shed, when the grid meter's node
    reconnects, the grid still off: its sensors coming back change nothing, nor do the loads."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "changeover_shed": "3"})
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="30.0")
    await clock.advance_to(310)
    assert relays.take() == [
        (0.0, OFF, (CAR_HEATERS, OFFICE, WARM_ROOM)),
        (300.0, ON, (WARM_ROOM,)),
    ]

    # The warm room heats up: 60 %, between the levels. The meter's node drops out and is back.
    await meter_drops_out_and_returns(hass, clock, load="60.0")
    assert relays.take() == []


@pytest.mark.parametrize(
    ("load", "shed"),
    [
        pytest.param("70.0", [(0.0, OFF, (CAR_HEATERS, OFFICE))], id="changeover-missed"),
        pytest.param("30.0", [], id="spare-capacity-for-everything"),
        pytest.param(STATE_UNAVAILABLE, [(0.0, OFF, (CAR_HEATERS, OFFICE))], id="load-not-known"),
    ],
)
async def test_a_restart_mid_outage_with_nothing_shed(
    hass: HomeAssistant,
    clock: Clock,
    relays: Relays,
    load: str,
    shed: list[tuple[float, str, tuple[str, ...]]],
) -> None:
    """Home Assistant starts on the generator with every load on: the grid was lost while it
    was down, so tier 4 is shed; unless the load is known to be below the restore level, when
    shedding would only be undone (that is also how it looks after everything was given back)."""
    hass.states.async_set(GRID, STATE_OFF)
    hass.states.async_set(BACKUP, STATE_ON)
    hass.states.async_set(LOAD, load)
    relays.set(STATE_ON, *ALL_LOADS)
    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await hass.async_start()
    await clock.settle()
    await clock.advance_to(600, step=5)
    assert relays.take() == shed


OUTAGE = "sensor.kall_outage_duration"


def site_device(hass: HomeAssistant, outage_started: datetime) -> None:
    """The site's device with its backup and outage sensors, and its grid meter's device with
    the grid sensor, as the integration makes them; the outage sensor says when the present
    outage began. (Before any state is set: the registry gives an id in use another.)"""
    entry = MockConfigEntry(domain="sot", title="Kall")
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    site = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("sot", "kall")}, name="Kall"
    )
    # Linked to the site by its device id where Home Assistant knows that (2026.10 on).
    link: dict[str, Any] = (
        {"via_device_id": site.id}
        if "via_device_id" in dr.DeviceInfo.__optional_keys__
        else {"via_device": ("sot", "kall")}
    )
    grid = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("sot", "kall_grid_main")}, **link
    )
    for entity_id, device in ((BACKUP, site), (OUTAGE, site), (GRID, grid)):
        domain, object_id = entity_id.split(".")
        er.async_get(hass).async_get_or_create(
            domain, "sot", object_id, suggested_object_id=object_id, device_id=device.id
        )
    minutes = (START - outage_started).total_seconds() / 60
    hass.states.async_set(OUTAGE, str(round(minutes)), {"started": outage_started.isoformat()})


async def start_mid_outage(
    hass: HomeAssistant, clock: Clock, relays: Relays, last_ran: int, **states: str
) -> None:
    """Home Assistant starts 30 minutes into an outage (the site's outage sensor says so) with
    every load on and the sensors as given; the automation last ran `last_ran` minutes from
    the start (restored)."""
    last = START + timedelta(minutes=last_ran)
    mock_restore_cache(
        hass, [State("automation.under_test", STATE_ON, {"last_triggered": last.isoformat()})]
    )
    site_device(hass, START - timedelta(minutes=30))
    for entity_id, key in ((GRID, "grid"), (BACKUP, "backup"), (LOAD, "load")):
        hass.states.async_set(entity_id, states[key])
    relays.set(STATE_ON, *ALL_LOADS)
    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await hass.async_start()
    await clock.settle()


@pytest.mark.parametrize(
    ("last_ran", "load", "shed"),
    [
        # The grid went while Home Assistant was down: the changeover is shed.
        pytest.param(-60, "70.0", [(0.0, OFF, (CAR_HEATERS, OFFICE))], id="unseen-changeover"),
        # It ran during this outage (it shed, then gave everything back for spare capacity), and
        # the loads given back brought the load above the restore level: nothing is toggled.
        pytest.param(-10, "70.0", [], id="seen-and-given-back"),
    ],
)
async def test_a_restart_mid_outage_sheds_only_a_changeover_it_did_not_see(
    hass: HomeAssistant,
    clock: Clock,
    relays: Relays,
    last_ran: int,
    load: str,
    shed: list[tuple[float, str, tuple[str, ...]]],
) -> None:
    """The outage began 30 minutes before Home Assistant starts with every load on; the site's
    outage sensor says when, the automation's last run is restored."""
    await start_mid_outage(
        hass, clock, relays, last_ran, grid=STATE_OFF, backup=STATE_ON, load=load
    )
    await clock.advance_to(600, step=5)
    assert relays.take() == shed


async def test_sensors_reconnecting_after_everything_was_given_back_toggle_nothing(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The changeover was shed and every load given back for spare capacity; with them on, the
    load is above the restore level when the grid meter's node drops out and is back."""
    site_device(hass, START)
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="30.0")
    await clock.advance_to(330)
    assert relays.take() == [
        (0.0, OFF, (CAR_HEATERS, OFFICE)),
        (300.0, ON, (CAR_HEATERS,)),
        (315.0, ON, (OFFICE,)),
    ]
    await meter_drops_out_and_returns(hass, clock, load="65.0")
    assert relays.take() == []


ROTATION_INPUTS: dict[str, Any] = {
    **INPUTS,
    "tier_2_loads": [CHILLED_CASE],
    "changeover_shed": "2",
    "rotated_freezers": [
        {"switch": FREEZER_1, "temperature": FREEZER_1_TEMP},
        {"switch": FREEZER_2, "temperature": FREEZER_2_TEMP},
    ],
    "rotation_tier": "2",
    "rotation_low_limit": -18,
    "rotation_high_limit": -15,
    "critical_limit": -12,
}


async def test_freezer_rotation_keeps_freezers_between_limits(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """While tier 2 is shed, freezers are switched off when cold and on again at the high limit."""
    await site_on_grid(hass, relays, clock)
    relays.set(STATE_ON, FREEZER_1, FREEZER_2)
    await set_states(hass, clock, f1="-21.0", f2="-14.5")
    await setup_blueprint_automation(hass, "load_shedding.yaml", ROTATION_INPUTS)

    # Changeover: the cold freezer 1 is shed with tier 2; freezer 2, already at -14.5 °C, stays on.
    await set_states(hass, clock, grid=STATE_OFF)
    assert relays.take() == [
        (0.0, OFF, (CAR_HEATERS, OFFICE, WARM_ROOM, FREEZER_1, CHILLED_CASE)),
    ]
    await clock.advance_to(10)
    await set_states(hass, clock, backup=STATE_ON, load="60.0")

    # Freezer 2 pulls down; it is switched off once colder than -18 °C, not before.
    for second, reading in ((600, "-16.0"), (1200, "-17.9"), (1800, "-18.0")):
        await clock.advance_to(second, step=10)
        await set_states(hass, clock, f2=reading)
    assert relays.take() == []
    await clock.advance_to(2400, step=10)
    await set_states(hass, clock, f2="-18.2")
    assert relays.take() == [(2400.0, OFF, (FREEZER_2,))]

    # Freezer 1 drifts up (a loaded freezer takes hours); at -15 °C it runs again.
    for second, reading in ((3600, "-17.0"), (7200, "-15.6"), (9000, "-15.1")):
        await clock.advance_to(second, step=30)
        await set_states(hass, clock, f1=reading)
    assert relays.take() == []
    await clock.advance_to(9600, step=30)
    await set_states(hass, clock, f1="-15.0")
    assert relays.take() == [(9600.0, ON, (FREEZER_1,))]

    # Both warm past the high limit in the same minute: their compressors start 15 s apart.
    await clock.advance_to(10800, step=30)
    await set_states(hass, clock, f1="-18.5")
    assert relays.take() == [(10800.0, OFF, (FREEZER_1,))]
    await clock.advance_to(14300, step=30)
    await set_states(hass, clock, load="40.0")
    await clock.advance_to(14400)
    await set_states(hass, clock, f1="-14.9", f2="-14.8")
    await clock.advance_to(14430)
    assert relays.take() == [(14400.0, ON, (FREEZER_1,)), (14415.0, ON, (FREEZER_2,))]

    # Capacity to spare from 14300 s: tier 2 is restored in full and rotation stops. The freezers
    # starting counts as a load step, so the restore waits 5 min from 14415 s, not from 14300 s.
    await clock.advance_to(14800)
    assert relays.take() == [(14715.0, ON, (CHILLED_CASE,))]
    await set_states(hass, clock, f1="-20.0", f2="-20.0")
    await clock.advance_to(15000)
    assert relays.take() == []


async def test_freezer_rotation_never_lets_a_freezer_past_the_critical_limit(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A rotated freezer reported at the critical limit, or not reported at all, runs at once."""
    await site_on_grid(hass, relays, clock)
    relays.set(STATE_ON, FREEZER_1, FREEZER_2)
    await set_states(hass, clock, f1="-21.0", f2="-21.0")
    await setup_blueprint_automation(
        hass, "load_shedding.yaml", {**ROTATION_INPUTS, "min_off_time": 10}
    )
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="60.0")
    assert relays.take() == [
        (0.0, OFF, (CAR_HEATERS, OFFICE, WARM_ROOM, FREEZER_1, FREEZER_2, CHILLED_CASE)),
    ]

    # Freezer 1's node was offline; its first reading after reconnecting is past -12 °C. It is
    # switched on at once, inside its 10 min minimum off time and without a stagger delay.
    await clock.advance_to(120)
    await set_states(hass, clock, f1="-11.5")
    assert relays.take() == [(120.0, ON, (FREEZER_1,))]

    # Freezer 2's sensor goes silent: without a reading it is kept running.
    await clock.advance_to(300)
    await set_states(hass, clock, f2=STATE_UNAVAILABLE)
    await clock.advance_to(650)
    assert relays.take() == [(600.0, ON, (FREEZER_2,))]


async def test_a_freezer_at_the_critical_limit_does_not_wait_behind_another_freezer(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Freezer 1 waits out its minimum off time (its sensor went silent); freezer 2 reaching
    the critical limit meanwhile runs at once, not after freezer 1."""
    await site_on_grid(hass, relays, clock)
    relays.set(STATE_ON, FREEZER_1, FREEZER_2)
    await set_states(hass, clock, f1="-21.0", f2="-21.0")
    await setup_blueprint_automation(
        hass, "load_shedding.yaml", {**ROTATION_INPUTS, "min_off_time": 10}
    )
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="60.0")
    relays.take()

    await clock.advance_to(60)
    await set_states(hass, clock, f1=STATE_UNAVAILABLE)
    await clock.advance_to(120)
    await set_states(hass, clock, f2="-11.5")
    await clock.advance_to(700)
    assert relays.take() == [(120.0, ON, (FREEZER_2,)), (600.0, ON, (FREEZER_1,))]


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        pytest.param(
            {k: v for k, v in INPUTS.items() if k != "load_sensor"},
            "Missing input load_sensor",
            id="missing-required-input",
        ),
        pytest.param(
            {**INPUTS, "restore_level": 95},
            "A value can never be above 95",
            id="restore-level-above-shed-level",
        ),
        pytest.param(
            {**ROTATION_INPUTS, "rotation_low_limit": -14},
            "A value can never be above -14",
            id="rotation-low-limit-above-high-limit",
        ),
        pytest.param(
            {**ROTATION_INPUTS, "rotation_high_limit": -10},
            "A value can never be above -10",
            id="rotation-high-limit-above-critical-limit",
        ),
        pytest.param(
            {**INPUTS, "shed_level": "ninety"},
            "expected float",
            id="shed-level-not-a-number",
        ),
        pytest.param(
            {**INPUTS, "grid_sensor": "kall grid present"},
            "Entity kall grid present is neither a valid entity ID nor a valid UUID",
            id="grid-sensor-not-an-entity",
        ),
        pytest.param(
            {**INPUTS, "shed_delay": "soon"},
            "offset soon should be format",
            id="shed-delay-not-a-duration",
        ),
    ],
)
async def test_invalid_inputs_are_refused_at_setup(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, inputs: dict[str, Any], error: str
) -> None:
    """Home Assistant refuses to set up the automation and says why."""
    await setup_blueprint_automation(hass, "load_shedding.yaml", inputs)
    assert hass.states.get("automation.under_test").state == STATE_UNAVAILABLE
    assert error in caplog.text


async def test_valid_inputs_set_up(hass: HomeAssistant) -> None:
    """The inputs the failure cases start from are themselves accepted."""
    await setup_blueprint_automation(hass, "load_shedding.yaml", ROTATION_INPUTS)
    assert hass.states.get("automation.under_test").state == STATE_ON


async def test_an_overload_already_there_when_the_automation_is_edited_is_shed(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """At 97 % the operator lowers the shed level: the next tier is shed after the delay, not
    only once the load has dipped and risen again."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="97.0")
    await clock.advance_to(15)
    await save_an_edit(hass, clock, "load_shedding.yaml", {**INPUTS, "shed_level": 85})
    await clock.advance_to(600, step=5)
    calls = relays.take()
    assert calls[0] == (0.0, OFF, (CAR_HEATERS, OFFICE))
    assert (45.0, OFF, (WARM_ROOM,)) in calls, calls


async def test_a_restore_on_the_grid_cut_short_by_an_edit_is_finished(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """An edit saved during the staggered restore on the grid: every load comes back on."""
    inputs = {**INPUTS, "min_off_time": 0}
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", inputs)
    relays.set(STATE_OFF, *ALL_LOADS)
    await clock.settle()
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, grid=STATE_ON)
    await clock.advance_to(20)
    await save_an_edit(hass, clock, "load_shedding.yaml", {**inputs, "stagger_delay": 20})
    await clock.advance_to(3600, step=10)
    assert {e: hass.states.get(e).state for e in ALL_LOADS} == dict.fromkeys(ALL_LOADS, STATE_ON)


@pytest.mark.parametrize("before", ["start", "overload"])
async def test_a_run_that_could_not_see_the_changeover_does_not_count_as_having_seen_it(
    hass: HomeAssistant, clock: Clock, relays: Relays, before: str
) -> None:
    """The grid went while Home Assistant was down, or with the grid meter's node: the site's
    sensors are still unavailable when it starts (its broker came up late), or when the
    generator's own controller reports it carrying everything at 95 %. Such a run saw no
    changeover: when the sensors report the grid off and the site on backup power, the
    changeover tiers are shed."""
    await start_mid_outage(
        hass, clock, relays, -60, grid=STATE_UNAVAILABLE, backup=STATE_UNAVAILABLE, load="60.0"
    )
    if before == "overload":
        await set_states(hass, clock, load="95.0")
    await clock.advance_to(60, step=5)
    assert relays.take() == []
    await set_states(hass, clock, grid=STATE_OFF, backup=STATE_ON)
    assert relays.take()[:1] == [(60.0, OFF, (CAR_HEATERS, OFFICE))]


async def test_sensors_back_one_after_the_other_still_shed_an_unseen_changeover(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """The grid meter's node is back first, the generator's controller five seconds later: the
    run the grid sensor's return starts can do nothing yet, and must not count as having seen
    the changeover the backup sensor's return then shows."""
    await start_mid_outage(
        hass, clock, relays, -60, grid=STATE_UNAVAILABLE, backup=STATE_UNAVAILABLE, load="60.0"
    )
    await clock.advance_to(60, step=5)
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(65, step=1)
    assert relays.take() == []
    await set_states(hass, clock, backup=STATE_ON)
    assert relays.take()[:1] == [(65.0, OFF, (CAR_HEATERS, OFFICE))]


async def test_a_start_on_backup_power_with_the_grid_unknown_sheds_an_unseen_changeover(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Home Assistant starts with the site on backup power and the grid meter's node not yet
    back: as when the generator takes the load with the grid unknown, the changeover the
    automation did not see is shed at once, not left to a grid sensor it will not wait for."""
    await start_mid_outage(
        hass, clock, relays, -60, grid=STATE_UNAVAILABLE, backup=STATE_ON, load="70.0"
    )
    await clock.advance_to(60, step=5)
    await set_states(hass, clock, grid=STATE_OFF)
    await clock.advance_to(600, step=5)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE))]


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        pytest.param("97.0", [(135.0, OFF, (WARM_ROOM,))], id="first-reading-overloaded"),
        pytest.param(
            "20.0", [(405.0, ON, (CAR_HEATERS,)), (420.0, ON, (OFFICE,))], id="first-reading-low"
        ),
    ],
)
async def test_a_load_sensor_that_appears_only_during_the_outage_is_acted_on(
    hass: HomeAssistant,
    clock: Clock,
    relays: Relays,
    load: str,
    expected: list[tuple[float, str, tuple[str, ...]]],
) -> None:
    """The generator's controller reports no load while the set is stopped, so the load sensor
    is created by the first reading of the first run. That reading already beyond a level must
    still be acted on after the delay, not only once the load has crossed the level again."""
    hass.states.async_set(GRID, STATE_ON)
    hass.states.async_set(BACKUP, STATE_OFF)
    relays.set(STATE_ON, *ALL_LOADS)
    await clock.settle()
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_OFF)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE))]
    await clock.advance_to(100)
    await set_states(hass, clock, backup=STATE_ON)
    # The controller's first reading comes with its next poll.
    await clock.advance_to(105)
    await set_states(hass, clock, load=load)
    await clock.advance_to(140)
    if load == "97.0":
        # Tier 3 shed brings the set down to 85 %.
        await set_states(hass, clock, load="85.0")
    await clock.advance_to(450, step=5)
    assert relays.take() == expected


async def test_a_load_found_off_after_its_relay_node_restarted_comes_back_when_there_is_room(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """Mid-outage the relay node restarts: the heater's relay comes up off (docs/esphome.md)
    with the generator at 30 %. It is switched on again after the restore delay, as a shed
    tier is, not left off, and the warm room cold, until the grid is back."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    await set_states(hass, clock, grid=STATE_OFF)
    await set_states(hass, clock, backup=STATE_ON, load="30.0")
    await clock.advance_to(320)
    assert relays.take() == [
        (0.0, OFF, (CAR_HEATERS, OFFICE)),
        (300.0, ON, (CAR_HEATERS,)),
        (315.0, ON, (OFFICE,)),
    ]
    await set_states(hass, clock, load="45.0")
    await clock.advance_to(1000, step=5)
    relays.set(STATE_UNAVAILABLE, CHILLED_CASE, COLD_ROOM, WARM_ROOM)
    await clock.advance_to(1020)
    relays.set(STATE_ON, CHILLED_CASE, COLD_ROOM)
    relays.set(STATE_OFF, WARM_ROOM)
    await set_states(hass, clock, load="25.0")
    await clock.advance_to(1400, step=5)
    assert relays.take() == [(1320.0, ON, (WARM_ROOM,))]


async def test_a_load_found_off_after_its_relay_node_restarted_on_the_grid_comes_back(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """On a normal day the relay node restarts (an update): the heater comes up off and is
    switched on again once its minimum off time has passed."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    relays.set(STATE_UNAVAILABLE, CHILLED_CASE, COLD_ROOM, WARM_ROOM)
    await clock.advance_to(20)
    relays.set(STATE_ON, CHILLED_CASE, COLD_ROOM)
    relays.set(STATE_OFF, WARM_ROOM)
    await clock.advance_to(400, step=5)
    assert relays.take() == [(320.0, ON, (WARM_ROOM,))]


async def test_a_relay_node_back_on_the_grid_switches_on_what_was_switched_off_by_hand(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """On a normal day the office heater is switched off by hand; later the warm room's relay
    node restarts and brings its relay up off. The automation acts on the grid then, as at a
    restart of Home Assistant: every switch it owns found off is switched on, the office too."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", INPUTS)
    relays.set(STATE_OFF, OFFICE)
    await clock.advance_to(600, step=10)
    assert relays.take() == []
    relays.set(STATE_UNAVAILABLE, WARM_ROOM)
    await clock.advance_to(620)
    relays.set(STATE_OFF, WARM_ROOM)
    await clock.advance_to(1000, step=5)
    assert relays.take() == [(920.0, ON, (WARM_ROOM,)), (935.0, ON, (OFFICE,))]


async def test_a_tier_with_no_loads_given_as_an_empty_list_still_sheds(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """A site with nothing in tier 3 (`tier_3_loads: []`, as docs/blueprints.md says to write
    it): the automation is set up and sheds the changeover tier at the grid loss."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "tier_3_loads": []})
    assert hass.states.get("automation.under_test").state == STATE_ON  # type: ignore[union-attr]
    await set_states(hass, clock, grid=STATE_OFF)
    assert relays.take() == [(0.0, OFF, (CAR_HEATERS, OFFICE))]


async def test_a_tier_left_empty_in_yaml_is_not_set_up(
    hass: HomeAssistant, clock: Clock, relays: Relays
) -> None:
    """`tier_3_loads:` with nothing after it: Home Assistant refuses the automation (a state
    trigger's entities cannot be None), as docs/blueprints.md warns."""
    await site_on_grid(hass, relays, clock)
    await setup_blueprint_automation(hass, "load_shedding.yaml", {**INPUTS, "tier_3_loads": None})
    state = hass.states.get("automation.under_test")
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
