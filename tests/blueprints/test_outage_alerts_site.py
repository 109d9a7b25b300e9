"""Outage alerts fed by the real site: the integration's alarm entity, a real broker, HA's
automation engine and its start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import aiomqtt
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_persistent_notifications,
)

from ..helpers import (
    site_entry,
    start_site,
    unacknowledged_alarms,
    wait_for,
    wait_for_state,
    wait_for_thread,
)
from .conftest import START, Clock, Phones, save_an_edit, setup_blueprint_automation

ALARMS = "event.kall_alarms"


@asynccontextmanager
async def _alerting(
    hass: HomeAssistant, field: aiomqtt.Client, clock: Clock, inputs: dict[str, Any]
) -> AsyncIterator[MockConfigEntry]:
    """Kall running on the grid with the outage alerts on its alarms; both stopped after."""
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry, clock.freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
    await setup_blueprint_automation(hass, "outage_alerts.yaml", inputs)
    try:
        yield entry
    finally:
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_alarm_raised_while_home_assistant_starts_reaches_the_phones(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones
) -> None:
    """Home Assistant arms automations only once it has started; the site hears its retained
    messages before that. The grid going while Home Assistant starts still reaches the phone."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(
        hass,
        "outage_alerts.yaml",
        {"alarm_entity": ALARMS, "notify_devices": [phone], "language": "en", "max_repeats": 0},
    )
    try:
        await start_site(hass, field, site_entry(alarm_delay=0))
        await field.publish("sot/kall/grid/main/present", "ON")
        await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
        await field.publish("sot/kall/grid/main/present", "OFF")
        await wait_for_state(hass, "binary_sensor.kall_grid_present", "off")
        await hass.async_start()
        await wait_for(hass, lambda: bool(phones.sent), "the grid-lost notification", limit=20)
        assert [n.data["title"] for n in phones.sent] == ["Kall: Grid power lost"]
        alarm = hass.states.get(ALARMS)
        assert alarm is not None
        assert alarm.attributes["event_type"] == "grid_lost"
    finally:
        await hass.async_stop()


async def _lose_the_grid(
    hass: HomeAssistant, field: aiomqtt.Client, what: Callable[[], bool], name: str
) -> None:
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_thread(hass, what, name)


def _titles(phones: Phones) -> list[tuple[float, str]]:
    return [(n.at, n.data["message"].split(":")[0]) for n in phones.take()]


async def _ledger(hass: HomeAssistant, entry_id: str) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], (await unacknowledged_alarms(hass, entry_id))["alarms"])


async def test_repeats_go_on_after_the_site_and_the_automation_restart(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """A restart of Home Assistant ends the runs that repeat an alarm: the site's ledger
    brings them back, on their schedule, and an acknowledged alarm stays acknowledged."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    inputs = {"alarm_entity": ALARMS, "notify_devices": [phone], "language": "en"}
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry, clock.freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
    await setup_blueprint_automation(hass, "outage_alerts.yaml", inputs)

    await _lose_the_grid(hass, field, lambda: bool(phones.sent), "the grid-lost notification")
    stamp = hass.states.get(ALARMS).state  # type: ignore[union-attr]
    raised_at = phones.sent[0].at
    await clock.advance(610, step=10)
    assert [t for _, t in _titles(phones)] == ["Grid voltage was lost at 11", "Reminder 1"]

    # Home Assistant restarts 12 minutes in: the site saves and restores its state, the
    # automation is set up again (an edit or reload of automations does the same).
    await clock.advance(110, step=10)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await clock.settle()
    assert [a["stamp"] for a in await _ledger(hass, entry.entry_id)] == [stamp]
    await save_an_edit(hass, clock, "outage_alerts.yaml", inputs)
    # Reminder 2 goes when it was due, 20 minutes after the alarm; none before it.
    await clock.advance_to(raised_at + 1199, step=1)
    assert phones.take() == []
    await clock.advance_to(raised_at + 1202, step=1)
    sent = phones.take()
    assert [n.data["message"].split(":")[0] for n in sent] == ["Reminder 2"]
    ack = sent[0].data["data"]["actions"][0]["action"]

    # Acknowledged on the phone: the site keeps it, so the next restart takes nothing up.
    hass.bus.async_fire("mobile_app_notification_action", {"action": ack})
    await clock.settle()
    assert await _ledger(hass, entry.entry_id) == []
    assert await hass.config_entries.async_reload(entry.entry_id)
    await clock.settle()
    await save_an_edit(hass, clock, "outage_alerts.yaml", inputs)
    await clock.advance_to(3000, step=30)
    assert phones.take() == []


async def _lost_before_a_restart(
    hass: HomeAssistant, field: aiomqtt.Client, clock: Clock
) -> MockConfigEntry:
    """Kall loses the grid, then stops (Home Assistant going down) for five minutes."""
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry, clock.freezer)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")

    def lost() -> bool:
        state = hass.states.get(ALARMS)
        return state is not None and state.attributes.get("event_type") == "grid_lost"

    await _lose_the_grid(hass, field, lost, "grid_lost")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await clock.advance(300, step=10)
    return entry


async def test_home_assistant_starting_takes_up_an_unacknowledged_alarm(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """The alarm was raised before a restart: as Home Assistant starts, its repeats go on."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    entry = await _lost_before_a_restart(hass, field, clock)

    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(
        hass,
        "outage_alerts.yaml",
        {"alarm_entity": ALARMS, "notify_devices": [phone], "language": "sv"},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_start()

    await clock.settle()
    raised = dt_util.parse_datetime(hass.states.get(ALARMS).state)  # type: ignore[union-attr]
    assert raised is not None
    raised_at = (raised - START).total_seconds()
    await clock.advance_to(raised_at + 599, step=1)
    assert phones.take() == []
    await clock.advance_to(raised_at + 602, step=1)
    assert [(n.data["title"], n.data["message"][:15]) for n in phones.take()] == [
        ("Kall: Strömavbrott", "Påminnelse 1: N")
    ]
    # Stopped here, on the frozen clock: Home Assistant, once started, would wait for them.
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_alarm_taken_up_at_start_shows_in_home_assistant_again(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """Home Assistant keeps its own notifications in memory only: an unacknowledged alarm
    taken up as it starts is posted there again, once, before its next reminder."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    entry = await _lost_before_a_restart(hass, field, clock)

    assert await async_setup_component(hass, "persistent_notification", {})

    def shown() -> list[tuple[str, str]]:
        return [
            (n["notification_id"], n["title"])
            for n in async_get_persistent_notifications(hass).values()
        ]

    hass.set_state(CoreState.not_running)
    inputs = {
        "alarm_entity": ALARMS,
        "notify_devices": [phone],
        "language": "en",
        "show_in_home_assistant": True,
    }
    await setup_blueprint_automation(hass, "outage_alerts.yaml", inputs)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_start()
    try:
        await clock.advance(5, step=1)  # the take-up waits 2 s for the automations to be armed
        assert shown() == [("sot-kall-grid-main", "Kall: Grid power lost")]
        assert phones.take() == []  # the phones have it: the next reminder goes when it is due
        raised = dt_util.parse_datetime(hass.states.get(ALARMS).state)  # type: ignore[union-attr]
        assert raised is not None
        await clock.advance_to((raised - START).total_seconds() + 602, step=1)
        assert [n.data["message"][:10] for n in phones.take()] == ["Reminder 1"]
        assert shown() == [("sot-kall-grid-main", "Kall: Grid power lost")]
    finally:
        # Stopped on the frozen clock: Home Assistant, once started, would wait for them.
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_site_that_loads_after_home_assistant_has_started_is_taken_up(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """The site is not loaded yet as Home Assistant starts (its broker came up late, say): its
    unacknowledged alarm is taken up once it loads, and reminded when due."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    entry = await _lost_before_a_restart(hass, field, clock)

    hass.set_state(CoreState.not_running)
    await setup_blueprint_automation(
        hass,
        "outage_alerts.yaml",
        {"alarm_entity": ALARMS, "notify_devices": [phone], "language": "en"},
    )
    await hass.async_start()
    try:
        await clock.advance(60, step=1)  # the take-up at the start finds no site
        assert await hass.config_entries.async_setup(entry.entry_id)
        await clock.settle()
        raised = dt_util.parse_datetime(hass.states.get(ALARMS).state)  # type: ignore[union-attr]
        assert raised is not None
        raised_at = (raised - START).total_seconds()
        await clock.advance_to(raised_at + 599, step=1)
        assert phones.take() == []
        await clock.advance_to(raised_at + 602, step=1)
        assert [n.data["message"][:10] for n in phones.take()] == ["Reminder 1"]
    finally:
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
        )
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_edit_does_not_show_a_dismissed_alarm_again(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """Home Assistant's own notifications outlive an edit of the automation: one the screen's
    operator dismissed stays dismissed when the edit takes the alarm up, and the phones get
    no more than the reminders due."""
    hass = mqtt_hass
    pixel = phones.add("Pixel 7")
    assert await async_setup_component(hass, "persistent_notification", {})
    inputs = {
        "alarm_entity": ALARMS,
        "notify_devices": [pixel],
        "language": "en",
        "show_in_home_assistant": True,
    }
    async with _alerting(hass, field, clock, inputs):
        await _lose_the_grid(hass, field, lambda: bool(phones.sent), "the grid-lost notification")
        raised_at = phones.take()[0].at
        assert [n["title"] for n in async_get_persistent_notifications(hass).values()] == [
            "Kall: Grid power lost"
        ]
        await hass.services.async_call(
            "persistent_notification",
            "dismiss",
            {"notification_id": "sot-kall-grid-main"},
            blocking=True,
        )

        # Five minutes on, a second phone is added to the automation.
        await clock.advance(300, step=10)
        annas = phones.add("Annas iPhone")
        await save_an_edit(
            hass, clock, "outage_alerts.yaml", {**inputs, "notify_devices": [pixel, annas]}
        )
        await clock.advance(10, step=1)
        assert async_get_persistent_notifications(hass) == {}
        await clock.advance_to(raised_at + 602, step=2)
        assert [(n.service, n.data["message"][:10]) for n in phones.take()] == [
            ("mobile_app_pixel_7", "Reminder 1"),
            ("mobile_app_annas_iphone", "Reminder 1"),
        ]
        assert async_get_persistent_notifications(hass) == {}


async def test_a_tap_on_the_last_reminder_is_kept(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """The last reminder carries the Acknowledge button too: a tap on it is kept by the site,
    so a restart does not take the alarm up again."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    inputs = {"alarm_entity": ALARMS, "notify_devices": [phone], "max_repeats": 1}
    async with _alerting(hass, field, clock, inputs) as entry:
        await _lose_the_grid(hass, field, lambda: bool(phones.sent), "the grid-lost notification")
        raised_at = phones.sent[0].at
        await clock.advance_to(raised_at + 660, step=10)
        sent = phones.take()
        assert [n.data["message"][:12] for n in sent] == ["Nätspänninge", "Påminnelse 1"]
        hass.bus.async_fire(
            "mobile_app_notification_action",
            {"action": sent[-1].data["data"]["actions"][0]["action"]},
        )
        await clock.settle()
        assert await _ledger(hass, entry.entry_id) == []
        await clock.advance_to(raised_at + 3600, step=60)
        assert phones.take() == []


async def test_a_reload_of_the_site_neither_repeats_nor_ends_the_reminders(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """The site reloads (renamed, say) while an alarm is being reminded: its alarm entity goes
    and comes back, which is neither a new alarm nor a reason to take the alarm up twice."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    inputs = {"alarm_entity": ALARMS, "notify_devices": [phone], "language": "en"}
    async with _alerting(hass, field, clock, inputs) as entry:
        await _lose_the_grid(hass, field, lambda: bool(phones.sent), "the grid-lost notification")
        raised_at = phones.take()[0].at
        await clock.advance(300, step=10)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await clock.advance_to(raised_at + 1210, step=10)
        assert [n.data["message"][:10] for n in phones.take()] == ["Reminder 1", "Reminder 2"]


async def test_a_reload_of_the_site_after_the_reminders_ran_out_shows_nothing_again(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """An alarm nobody acknowledged has had its last reminder, and the operator dismissed it
    at the screen: a reload of the site (a rename, say) posts it nowhere again."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    assert await async_setup_component(hass, "persistent_notification", {})
    inputs = {
        "alarm_entity": ALARMS,
        "notify_devices": [phone],
        "language": "en",
        "max_repeats": 1,
        "show_in_home_assistant": True,
    }
    async with _alerting(hass, field, clock, inputs) as entry:
        await _lose_the_grid(hass, field, lambda: bool(phones.sent), "the grid-lost notification")
        raised_at = phones.sent[0].at
        await clock.advance_to(raised_at + 1300, step=10)
        assert [n.data["message"][:10] for n in phones.take()] == ["Grid volta", "Reminder 1"]
        await hass.services.async_call(
            "persistent_notification",
            "dismiss",
            {"notification_id": "sot-kall-grid-main"},
            blocking=True,
        )
        assert await hass.config_entries.async_reload(entry.entry_id)
        await clock.advance(1300, step=10)
        assert async_get_persistent_notifications(hass) == {}
        assert phones.take() == []


async def test_a_freezer_is_named_in_the_automations_language(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, phones: Phones, clock: Clock
) -> None:
    """Home Assistant in English, the volunteers' phones in Swedish: a freezer without a meta
    name is "Frys f2" in the Swedish text, not "Freezer f2"; a meta name stays as it is."""
    hass = mqtt_hass
    phone = phones.add("Pixel 7")
    inputs = {
        "alarm_entity": ALARMS,
        "notify_devices": [phone],
        "language": "sv",
        "max_repeats": 0,
        "alarm_types": ["freezer_warning"],
    }
    async with _alerting(hass, field, clock, inputs):
        await field.publish("sot/kall/freezer/f1/meta", '{"name": "Glassboxen"}')
        for freezer in ("f1", "f2"):
            await field.publish(f"sot/kall/freezer/{freezer}/temperature", "-20.0")
            await wait_for_state(hass, f"sensor.kall_freezer_{freezer}_temperature", "-20.0")
        await field.publish("sot/kall/freezer/f2/temperature", "-14.0")
        await wait_for_thread(hass, lambda: len(phones.sent) == 1, "f2's warning")
        await field.publish("sot/kall/freezer/f1/temperature", "-14.0")
        # Each alarm has a stamp of its own: the next comes a millisecond on.
        await clock.advance(1)
        await wait_for_thread(hass, lambda: len(phones.sent) == 2, "f1's warning")
        assert [n.data["title"] for n in phones.take()] == [
            "Kall: Frys f2 blir varm",
            "Kall: Glassboxen blir varm",
        ]
