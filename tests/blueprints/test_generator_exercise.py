"""Generator exercise reminder: exercises recorded in a helper, overdue and weekly reminders."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiomqtt
import pytest
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import CoreState, HomeAssistant, State
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import mock_restore_cache

from ..helpers import site_entry, start_site, wait_for_state
from .conftest import START, Clock, Notification, Phones, save_an_edit, setup_blueprint_automation

RUNNING = "binary_sensor.kall_generator_running"
LOAD = "sensor.kall_generator_load"
HELPER = "input_datetime.kall_last_exercise"
HOUR = 3600
DAY = 24 * HOUR
# START is Sunday 22 November 2026, 11:00 in Stockholm.
MONDAY_0900 = 22 * HOUR
MONDAY_1000 = 23 * HOUR


async def setup_site(hass: HomeAssistant, clock: Clock, last_exercise: str | None) -> None:
    """Generator stopped, and the helper holding the last exercise (None: never set)."""
    helper: dict[str, Any] = {"name": "Kall last exercise", "has_date": True, "has_time": True}
    if last_exercise is not None:
        helper["initial"] = last_exercise
    assert await async_setup_component(
        hass, "input_datetime", {"input_datetime": {"kall_last_exercise": helper}}
    )
    hass.states.async_set(RUNNING, STATE_OFF)
    hass.states.async_set(LOAD, "0.0")
    await clock.settle()


async def setup_reminder(hass: HomeAssistant, phones: Phones, **inputs: Any) -> None:
    """Create the reminder automation for one phone."""
    phones.add("Pixel 7")
    await setup_blueprint_automation(
        hass,
        "generator_exercise.yaml",
        {
            "running_sensor": RUNNING,
            "load_sensor": LOAD,
            "site_name": "Kall",
            "last_exercise_helper": HELPER,
            "notify_devices": list(phones.device_ids.values()),
            **inputs,
        },
    )


async def generator(hass: HomeAssistant, clock: Clock, running: str, load: str) -> None:
    """The integration reporting the generator's running state and load."""
    hass.states.async_set(RUNNING, running)
    hass.states.async_set(LOAD, load)
    await clock.settle()


def last_exercise(hass: HomeAssistant) -> str:
    """The helper's value as the dashboard shows it (local time)."""
    return hass.states.get(HELPER).state


async def test_only_a_long_enough_loaded_run_counts_as_exercise(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """30 min at 30 % load or more is recorded; a light run or a short one is not."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    await setup_reminder(hass, phones)

    # 40 min idling at 10 %: wet stacking, not an exercise.
    await clock.advance_to(60)
    await generator(hass, clock, STATE_ON, "10.0")
    # Then 20 min at 45 % before it is stopped.
    await clock.advance_to(60 + 40 * 60, step=10)
    await generator(hass, clock, STATE_ON, "45.0")
    await clock.advance_to(60 + 60 * 60, step=10)
    await generator(hass, clock, STATE_OFF, "0.0")
    await clock.advance_to(2 * HOUR, step=10)
    assert last_exercise(hass) == "2026-10-01 12:00:00"

    # A proper test run: started 13:00, recorded at 13:30 while it keeps running.
    await generator(hass, clock, STATE_ON, "48.0")
    await clock.advance_to(2 * HOUR + 30 * 60 - 10, step=10)
    assert last_exercise(hass) == "2026-10-01 12:00:00"
    await clock.advance_to(2 * HOUR + 30 * 60 + 10, step=10)
    assert last_exercise(hass) == "2026-11-22 13:30:00"
    await clock.advance_to(3 * HOUR, step=10)
    await generator(hass, clock, STATE_OFF, "0.0")
    assert last_exercise(hass) == "2026-11-22 13:30:00"
    assert phones.take() == []


async def test_with_the_defaults_and_no_load_sensor_a_long_run_counts(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """The load sensor left at its default (none) and the minimum load at its 30 %: the load
    cannot be checked, so a run of the exercise duration counts; a short one does not."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    phones.add("Pixel 7")
    await setup_blueprint_automation(
        hass,
        "generator_exercise.yaml",
        {
            "running_sensor": RUNNING,
            "last_exercise_helper": HELPER,
            "notify_devices": list(phones.device_ids.values()),
        },
    )
    await clock.advance_to(60)
    await generator(hass, clock, STATE_ON, "80.0")
    await clock.advance_to(60 + 20 * 60, step=10)
    await generator(hass, clock, STATE_OFF, "0.0")
    await clock.advance_to(HOUR, step=10)
    assert last_exercise(hass) == "2026-10-01 12:00:00"
    await generator(hass, clock, STATE_ON, "80.0")
    await clock.advance_to(HOUR + 30 * 60 + 10, step=10)
    assert last_exercise(hass) == "2026-11-22 12:30:00"


async def test_overdue_exercise_is_reminded_daily_until_done(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """32 days after the last exercise a reminder comes at 10:00, and stops after an exercise."""
    await setup_site(hass, clock, "2026-10-22 10:30:00")
    await setup_reminder(hass, phones, weekly_inspection=False)

    await clock.advance_to(MONDAY_1000 - 60, step=60)
    assert phones.take() == []
    await clock.advance_to(MONDAY_1000 + 60, step=60)
    assert phones.take() == [
        Notification(
            MONDAY_1000,
            "mobile_app_pixel_7",
            {
                "title": "Kall: Provkör elverket",
                "message": (
                    "Elverket provkördes senast 2026-10-22, för 32 dagar sedan. "
                    "Kör det minst 30 minuter med minst 30 % last."
                ),
                "data": {"tag": "sot-kall-exercise", "group": "sot-kall"},
            },
        )
    ]

    # The operator runs the generator on load on Monday afternoon.
    await clock.advance_to(MONDAY_1000 + 4 * HOUR, step=60)
    await generator(hass, clock, STATE_ON, "55.0")
    await clock.advance_to(MONDAY_1000 + 5 * HOUR, step=60)
    await generator(hass, clock, STATE_OFF, "0.0")
    await clock.advance_to(MONDAY_1000 + 2 * DAY + 60, step=300)
    assert phones.take() == []


async def test_new_helper_counts_from_its_creation_day_and_any_run_counts_without_load(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """A new helper starts at midnight of its first day; with minimum load 0 any run counts."""
    await setup_site(hass, clock, None)
    assert last_exercise(hass) == "2026-11-22 00:00:00"
    await setup_reminder(
        hass,
        phones,
        language="en",
        max_days=1,
        minimum_load=0,
        load_sensor=None,
        weekly_inspection=False,
    )
    await clock.advance_to(MONDAY_1000 + 60, step=300)
    assert phones.take() == [
        Notification(
            MONDAY_1000,
            "mobile_app_pixel_7",
            {
                "title": "Kall: Exercise the generator",
                "message": (
                    "The generator was last exercised on 2026-11-22, 1 day ago. "
                    "Run it for at least 30 minutes."
                ),
                "data": {"tag": "sot-kall-exercise", "group": "sot-kall"},
            },
        )
    ]
    # No load reading at all; the run still counts after 30 min.
    hass.states.async_set(LOAD, STATE_UNAVAILABLE)
    await generator(hass, clock, STATE_ON, STATE_UNAVAILABLE)
    await clock.advance_to(MONDAY_1000 + 60 + 30 * 60 - 10, step=10)
    assert last_exercise(hass) == "2026-11-22 00:00:00"
    await clock.advance_to(MONDAY_1000 + 60 + 30 * 60 + 10, step=10)
    assert last_exercise(hass) == "2026-11-23 10:31:00"


async def test_reminder_in_norwegian_bokmal(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    await setup_site(hass, clock, None)
    await setup_reminder(hass, phones, language="nb", max_days=1, weekly_inspection=False)
    await clock.advance_to(MONDAY_1000 + 60, step=300)
    ((notification),) = phones.take()
    assert notification.data["title"] == "Kall: Prøvekjør aggregatet"
    assert notification.data["message"] == (
        "Aggregatet ble sist prøvekjørt 2026-11-22, for 1 dag siden. "
        "Kjør det minst 30 minutter med minst 30 % last."
    )


async def test_missing_helper_means_no_exercise_on_record(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """A deleted helper is no excuse: the reminder says no exercise is on record.

    The first phone chosen has had its app disabled since; the reminder still reaches the other.
    """
    phones.add("Old phone", app_loaded=False)
    hass.states.async_set(RUNNING, STATE_OFF)
    hass.states.async_set(LOAD, "0.0")
    await setup_reminder(hass, phones, weekly_inspection=False)
    await clock.advance_to(MONDAY_1000 + 60, step=300)
    assert phones.take() == [
        Notification(
            MONDAY_1000,
            "mobile_app_pixel_7",
            {
                "title": "Kall: Provkör elverket",
                "message": (
                    "Ingen provkörning är registrerad. "
                    "Kör det minst 30 minuter med minst 30 % last."
                ),
                "data": {"tag": "sot-kall-exercise", "group": "sot-kall"},
            },
        )
    ]


@pytest.mark.parametrize("enabled", [True, False])
async def test_weekly_inspection_reminder(
    hass: HomeAssistant, clock: Clock, phones: Phones, enabled: bool
) -> None:
    """The inspection reminder comes on the chosen day and time only, and can be turned off."""
    await setup_site(hass, clock, "2026-11-20 15:00:00")
    await setup_reminder(
        hass,
        phones,
        weekly_inspection=enabled,
        inspection_weekday="wed",
        inspection_time="08:30:00",
    )
    await clock.advance_to(7 * DAY, step=300)
    wednesday_0830 = 3 * DAY - (2 * HOUR + 30 * 60)
    expected = [
        Notification(
            wednesday_0830,
            "mobile_app_pixel_7",
            {
                "title": "Kall: Veckotillsyn av elverket",
                "message": (
                    "Kontrollera bränslenivå och läckage, olja och kylvätska, startbatteriet "
                    "(cirka 13,5 V på laddning), larm på panelen och att styrningen står i AUTO."
                ),
                "data": {"tag": "sot-kall-inspection", "group": "sot-kall"},
            },
        )
    ]
    assert phones.take() == (expected if enabled else [])


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        pytest.param(
            {"last_exercise_helper": None}, "Missing input last_exercise_helper", id="no-helper"
        ),
        pytest.param({"check_time": "25:00"}, "Expected HH:MM, HH:MM:SS", id="bad-time"),
        pytest.param({"inspection_weekday": "monday"}, "value must be one of", id="bad-weekday"),
        pytest.param(
            {"exercise_minutes": "half an hour"}, "expected float", id="duration-not-a-number"
        ),
    ],
)
async def test_invalid_inputs_are_refused_at_setup(
    hass: HomeAssistant,
    clock: Clock,
    phones: Phones,
    caplog: pytest.LogCaptureFixture,
    inputs: dict[str, Any],
    error: str,
) -> None:
    """Home Assistant refuses to set up the automation and says why."""
    await setup_site(hass, clock, None)
    if inputs.get("last_exercise_helper", "") is None:
        phones.add("Pixel 7")
        await setup_blueprint_automation(
            hass,
            "generator_exercise.yaml",
            {"running_sensor": RUNNING, "notify_devices": [phones.device_ids["Pixel 7"]]},
        )
    else:
        await setup_reminder(hass, phones, **inputs)
    assert hass.states.get("automation.under_test").state == STATE_UNAVAILABLE
    assert error in caplog.text


def test_start_is_a_sunday_morning() -> None:
    """The timings above count from Sunday 11:00 in Stockholm."""
    assert START.isoformat() == "2026-11-22T10:00:00+00:00"
    assert START.weekday() == 6


async def test_a_run_under_way_when_home_assistant_starts_counts_from_the_start(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """Home Assistant restarts during a monthly exercise: the engine already runs at 50 % when
    automations are set up, and 30 minutes more of it are recorded."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    hass.states.async_set(RUNNING, STATE_ON)
    hass.states.async_set(LOAD, "50.0")
    hass.set_state(CoreState.not_running)
    await setup_reminder(hass, phones)
    await hass.async_start()
    await clock.settle()
    await clock.advance_to(29 * 60, step=10)
    assert last_exercise(hass) == "2026-10-01 12:00:00"
    await clock.advance_to(31 * 60, step=10)
    assert last_exercise(hass) == "2026-11-22 11:30:00"


async def test_a_run_under_way_when_the_automation_is_edited_is_recorded(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """An edit saved ten minutes into a run: the run is followed on and recorded; one that
    stops before the duration is not."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    await setup_reminder(hass, phones, weekly_inspection=False)
    await generator(hass, clock, STATE_ON, "50.0")
    await clock.advance_to(10 * 60, step=10)
    inputs = {
        "running_sensor": RUNNING,
        "load_sensor": LOAD,
        "site_name": "Kall",
        "last_exercise_helper": HELPER,
        "notify_devices": list(phones.device_ids.values()),
        "weekly_inspection": False,
        "max_days": 35,
    }
    await save_an_edit(hass, clock, "generator_exercise.yaml", inputs)
    await clock.advance_to(39 * 60, step=10)
    assert last_exercise(hass) == "2026-10-01 12:00:00"
    await clock.advance_to(41 * 60, step=10)
    assert last_exercise(hass) == "2026-11-22 11:40:00"


def edited_inputs(phones: Phones, **inputs: Any) -> dict[str, Any]:
    """The reminder's inputs as setup_reminder gives them, with some changed."""
    return {
        "running_sensor": RUNNING,
        "load_sensor": LOAD,
        "site_name": "Kall",
        "last_exercise_helper": HELPER,
        "notify_devices": list(phones.device_ids.values()),
        **inputs,
    }


async def test_a_check_behind_a_followed_run_sees_the_exercise_it_recorded(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """Overdue, the operator starts the test run at 09:35 on Monday; an edit saved at 09:45
    makes the run be followed on until 10:15. The 10:00 check waits behind it, and must not
    then remind of an exercise that was just recorded."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    await setup_reminder(hass, phones, weekly_inspection=False)
    await clock.advance_to(MONDAY_1000 - 25 * 60, step=300)
    await generator(hass, clock, STATE_ON, "50.0")
    await clock.advance_to(MONDAY_1000 - 15 * 60, step=10)
    await save_an_edit(
        hass,
        clock,
        "generator_exercise.yaml",
        edited_inputs(phones, weekly_inspection=False, max_days=35),
    )
    await clock.advance_to(MONDAY_1000 + 20 * 60, step=10)
    assert last_exercise(hass) == "2026-11-23 10:15:00"
    assert phones.take() == []


async def test_an_exercise_recorded_in_the_second_of_the_check_is_not_reminded(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """Overdue, a test run started at 09:30:00 is recorded at 10:00:00, the second of the daily
    check: the check sees it and sends nothing."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    await setup_reminder(hass, phones, weekly_inspection=False)
    await clock.advance_to(MONDAY_1000 - 30 * 60, step=300)
    await generator(hass, clock, STATE_ON, "50.0")
    await clock.advance_to(MONDAY_1000 + 60, step=1)
    assert last_exercise(hass) == "2026-11-23 10:00:00"
    assert phones.take() == []


async def test_a_reload_leaving_the_automation_unchanged_records_the_run_once_on_time(
    hass: HomeAssistant, clock: Clock, phones: Phones
) -> None:
    """Automations reloaded ten minutes into a run (another one edited, or all reloaded) with
    this one unchanged: its own trigger goes on counting, and the run is recorded at 30
    minutes, not held back to 30 minutes after the reload."""
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    await setup_reminder(hass, phones, weekly_inspection=False)
    await generator(hass, clock, STATE_ON, "50.0")
    await clock.advance_to(10 * 60, step=10)
    await save_an_edit(
        hass, clock, "generator_exercise.yaml", edited_inputs(phones, weekly_inspection=False)
    )
    written: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: (
            written.append(event.data["new_state"].state)
            if event.data["entity_id"] == HELPER
            else None
        ),
    )
    await clock.advance_to(45 * 60, step=10)
    assert written == ["2026-11-22 11:30:00"]


@pytest.mark.parametrize(
    ("down_from", "language", "expected"),
    [
        pytest.param(
            MONDAY_0900 - 10 * 60,
            "sv",
            ["Kall: Veckotillsyn av elverket", "Kall: Provkör elverket"],
            id="both-missed",
        ),
        pytest.param(
            MONDAY_0900 + 10 * 60,
            "nb",
            ["Kall: Prøvekjør aggregatet"],
            id="check-missed",
        ),
        pytest.param(MONDAY_1000 + 10 * 60, "en", [], id="none-missed"),
    ],
)
async def test_reminders_due_while_home_assistant_was_down_come_when_it_starts(
    hass: HomeAssistant,
    clock: Clock,
    phones: Phones,
    down_from: float,
    language: str,
    expected: list[str],
) -> None:
    """Home Assistant was down from `down_from` until Monday 10:20, the exercise overdue: the
    inspection reminder (Monday 09:00) and the daily check (10:00) that fell due meanwhile come
    when it starts, once; those sent before it went down are not sent again. The automation's
    last trigger, kept across the restart, tells which."""
    last_run = START + timedelta(
        seconds=max(t for t in (-HOUR, MONDAY_0900, MONDAY_1000) if t < down_from)
    )
    mock_restore_cache(
        hass, [State("automation.under_test", STATE_ON, {"last_triggered": last_run.isoformat()})]
    )
    await clock.advance_to(MONDAY_1000 + 20 * 60, step=HOUR)
    hass.set_state(CoreState.not_running)
    await setup_site(hass, clock, "2026-10-01 12:00:00")
    await setup_reminder(hass, phones, language=language)
    await hass.async_start()
    await clock.settle()
    sent = phones.take()
    assert [n.data["title"] for n in sent] == expected
    assert {n.at for n in sent} <= {MONDAY_1000 + 20 * 60}
    await clock.advance_to(MONDAY_0900 + DAY - 60, step=300)
    assert phones.take() == []


@pytest.mark.parametrize(
    ("generator_id", "meta_name", "title", "tag"),
    [
        ("main", None, "Kall elverk: Provkör elverket", "sot-kall_elverk-exercise"),
        ("b", None, "Kall elverk b: Provkör elverket", "sot-kall_elverk_b-exercise"),
        # A name of the site's own is left as it is.
        ("b", "Reservkraft", "Kall Reservkraft: Provkör elverket", "sot-kall_reservkraft-exercise"),
    ],
)
async def test_the_generators_device_is_named_in_the_automations_language(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    clock: Clock,
    phones: Phones,
    generator_id: str,
    meta_name: str | None,
    title: str,
    tag: str,
) -> None:
    """Home Assistant in English, the phones in Swedish, no site name given: the reminder is
    titled with the generator's device name as Swedish names it ("Kall elverk"), not with
    Home Assistant's English one ("Kall generator: Provkör elverket")."""
    hass = mqtt_hass
    assert hass.config.language == "en"
    entry = site_entry()
    await start_site(hass, field, entry, clock.freezer)
    try:
        if meta_name is not None:
            await field.publish(
                f"sot/kall/generator/{generator_id}/meta", json.dumps({"name": meta_name})
            )
        await field.publish(f"sot/kall/generator/{generator_id}/state", "stopped")
        suffix = "" if generator_id == "main" else f"_{generator_id}"
        running = f"binary_sensor.kall_generator{suffix}_running"
        await wait_for_state(hass, running, STATE_OFF)
        helper = {
            "name": "Kall last exercise",
            "has_date": True,
            "has_time": True,
            "initial": "2026-10-01 12:00:00",
        }
        assert await async_setup_component(
            hass, "input_datetime", {"input_datetime": {"kall_last_exercise": helper}}
        )
        phones.add("Pixel 7")
        await setup_blueprint_automation(
            hass,
            "generator_exercise.yaml",
            {
                "running_sensor": running,
                "last_exercise_helper": HELPER,
                "check_time": "11:05:00",
                "weekly_inspection": False,
                "notify_devices": list(phones.device_ids.values()),
            },
        )
        await clock.advance(6 * 60, step=60)
        (sent,) = phones.take()
        assert (sent.data["title"], sent.data["data"]["tag"]) == (title, tag)
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
