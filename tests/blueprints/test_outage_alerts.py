"""Outage alerts blueprint: a site's alarms pushed to phones, repeated until acknowledged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_mock_service

from .conftest import Clock, Notification, Phones, setup_blueprint_automation

ALARMS = "event.kall_alarms"
EVENT_TYPES = [
    "grid_lost",
    "grid_restored",
    "generator_started",
    "generator_stopped",
    "generator_fault",
    "fuel_low",
    "fuel_refilled",
    "fuel_drain",
    "freezer_warning",
    "freezer_critical",
    "freezer_ok",
    "node_offline",
    "node_online",
]
# The notify actions the mobile app creates for the two phones.
PIXEL = "mobile_app_pixel_7"
IPHONE = "mobile_app_annas_iphone"
# START, 10:00 UTC, is 11:00 in Stockholm; as a Unix time, 1795341600.
STAMP_AT_START = 1795341600

CRITICAL = {
    "push": {"sound": {"name": "default", "critical": 1, "volume": 1.0}},
    "ttl": 0,
    "priority": "high",
    "channel": "alarm_stream",
}


def critical(tag: str, ack: str, button: str = "Kvittera") -> dict[str, Any]:
    """What a critical alert carries: its tag (`sot-kall-` and `tag`), the site's group, the
    acknowledge action `ack` on a button labelled `button`, and the critical sound."""
    return {
        "tag": f"sot-kall-{tag}",
        "group": "sot-kall",
        "actions": [{"action": ack, "title": button}],
        **CRITICAL,
    }


@pytest.fixture
async def site(hass: HomeAssistant, phones: Phones) -> Phones:
    """Kall's alarm entity before any alarm, and two phones with the app."""
    hass.states.async_set(ALARMS, STATE_UNKNOWN, {"event_types": EVENT_TYPES})
    phones.add("Pixel 7")
    phones.add("Annas iPhone")
    return phones


async def setup_alerts(hass: HomeAssistant, phones: Phones, **inputs: Any) -> None:
    """Create the alerts automation for all phones."""
    await setup_blueprint_automation(
        hass,
        "outage_alerts.yaml",
        {"alarm_entity": ALARMS, "notify_devices": list(phones.device_ids.values()), **inputs},
    )


async def alarm(hass: HomeAssistant, clock: Clock, event_type: str, **data: Any) -> None:
    """The integration's event entity firing: a new timestamp state, the event in attributes."""
    stamp = dt_util.utcnow().isoformat(timespec="milliseconds")
    hass.states.async_set(
        ALARMS,
        stamp,
        {
            "event_types": EVENT_TYPES,
            "event_type": event_type,
            "site_id": "kall",
            "site_name": "Kall",
            "kind": "grid",
            "time": stamp,
            **data,
        },
    )
    await clock.settle()


async def tap(hass: HomeAssistant, clock: Clock, action: str) -> None:
    """The operator taps a notification's action button in the app."""
    hass.bus.async_fire("mobile_app_notification_action", {"action": action})
    await clock.settle()


def running(hass: HomeAssistant) -> int:
    """Runs of the automation in progress (alarms still waiting to repeat)."""
    return int(hass.states.get("automation.under_test").attributes["current"])


def to_both(at: float, title: str, message: str, data: dict[str, Any]) -> list[Notification]:
    """The same notification to both phones, in the order they were chosen."""
    content = {"title": title, "message": message, "data": data}
    return [Notification(at, PIXEL, content), Notification(at, IPHONE, content)]


async def test_grid_lost_is_critical_and_repeats_until_acknowledged(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """Grid loss reaches both phones as a critical alert every 10 min until someone taps it."""
    await setup_alerts(hass, site)
    await alarm(
        hass,
        clock,
        "grid_lost",
        component_id="main",
        component_name="Elnät",
        fuel_hours=5.54,
        fuel_level=40.2,
    )
    ack = f"SOT_ACK_KALL_GRID_MAIN_{STAMP_AT_START}"
    data = critical("grid-main", ack)
    title = "Kall: Strömavbrott"
    text = "Nätspänningen försvann kl. 11:00. Bränsle för ca 5,5 h, tanken 40 %."
    assert site.take() == to_both(0.0, title, text, data)

    # A tap on some other notification's button changes nothing.
    await clock.advance_to(300, step=10)
    await tap(hass, clock, "SOT_ACK_KALL_GRID_MAIN_1795300000")
    await clock.advance_to(1210, step=10)
    assert site.take() == [
        *to_both(600.0, title, "Påminnelse 1: " + text, data),
        *to_both(1200.0, title, "Påminnelse 2: " + text, data),
    ]

    await clock.advance_to(1500, step=10)
    assert running(hass) == 1
    await tap(hass, clock, ack)
    assert running(hass) == 0
    await clock.advance_to(5700, step=30)
    assert site.take() == []

    # The grid returns after 95 min: a normal notification replaces the alarm (same tag).
    await alarm(
        hass,
        clock,
        "grid_restored",
        component_id="main",
        component_name="Elnät",
        outage_minutes=95.2,
        fuel_used=38.5,
    )
    await clock.advance_to(7200, step=30)
    assert site.take() == to_both(
        5700.0,
        "Kall: Strömmen är tillbaka",
        "Nätspänningen kom tillbaka kl. 12:35. Avbrottet varade 1 h 35 min.",
        {"tag": "sot-kall-grid-main", "group": "sot-kall"},
    )


async def test_alarms_in_norwegian_bokmal(hass: HomeAssistant, clock: Clock, site: Phones) -> None:
    """A Norwegian volunteer gets the alarms, the reminders and the button in Bokmål."""
    await setup_alerts(hass, site, language="nb")
    await alarm(
        hass,
        clock,
        "grid_lost",
        component_id="main",
        component_name="Strømnett",
        fuel_hours=5.54,
        fuel_level=40.2,
    )
    data = critical("grid-main", f"SOT_ACK_KALL_GRID_MAIN_{STAMP_AT_START}", "Kvitter")
    title = "Kall: Strømbrudd"
    text = "Nettspenningen forsvant kl. 11:00. Drivstoff for ca 5,5 h, tanken 40 %."
    assert site.take() == to_both(0.0, title, text, data)
    await clock.advance_to(610, step=10)
    assert site.take() == to_both(600.0, title, "Påminnelse 1: " + text, data)

    await alarm(
        hass,
        clock,
        "generator_fault",
        kind="generator",
        component_id="main",
        component_name="Aggregat",
        generator_alarm="shutdown",
    )
    await clock.advance_to(630, step=10)
    await alarm(
        hass,
        clock,
        "grid_restored",
        component_id="main",
        component_name="Strømnett",
        outage_minutes=95.2,
        fuel_used=38.5,
    )
    await clock.advance_to(700, step=10)
    sent = [(n.data["title"], n.data["message"]) for n in site.take()]
    assert (
        "Kall: Feil på aggregatet",
        "Aggregatet melder alarm (nedstengning) kl. 11:10. Kontroller aggregatets panel.",
    ) in sent
    assert (
        "Kall: Strømmen er tilbake",
        "Nettspenningen kom tilbake kl. 11:10. Strømbruddet varte 1 h 35 min.",
    ) in sent


async def test_fuel_lost_from_the_tank_is_critical_and_a_delivery_ends_low_fuel(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """A drain (leak or theft) is a critical alert with the litres lost, timed when it began;
    a delivery ends the low-fuel repeats and replaces that notification."""
    await setup_alerts(hass, site)
    began = "2026-11-22T09:52:00+00:00"  # 10:52 in Stockholm, heard of at 11:00
    await alarm(
        hass,
        clock,
        "fuel_drain",
        kind="tank",
        component_id="main",
        litres_lost=61.6,
        fuel_level=58.3,
        time=began,
    )
    drain = critical("fuel_drain-main", f"SOT_ACK_KALL_FUEL_DRAIN_MAIN_{STAMP_AT_START}")
    assert site.take() == to_both(
        0.0,
        "Kall: Bränsle försvinner ur tanken",
        "62 L har försvunnit ur tanken sedan kl. 10:52, mer än elverken förbränner. "
        "Kontrollera tanken: läcka eller stöld? Tanken 58 %.",
        drain,
    )
    await tap(hass, clock, drain["actions"][0]["action"])

    await clock.advance_to(60, step=10)
    await alarm(
        hass, clock, "fuel_low", kind="tank", component_id="main", fuel_hours=6.5, fuel_level=18.0
    )
    site.take()
    assert running(hass) == 1
    await clock.advance_to(300, step=10)
    await alarm(
        hass,
        clock,
        "fuel_refilled",
        kind="tank",
        component_id="main",
        litres_added=398.7,
        fuel_hours=31.04,
        fuel_level=92.0,
    )
    await clock.advance_to(1300, step=10)
    assert running(hass) == 0  # no reminder of the low fuel at 11:10
    assert site.take() == to_both(
        300.0,
        "Kall: Bränsle påfyllt",
        "399 L bränsle fylldes på kl. 11:05. Bränsle för ca 31,0 h, tanken 92 %.",
        {"tag": "sot-kall-fuel-main", "group": "sot-kall"},
    )


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("sv", "12\u00a0040 L bränsle fylldes på kl. 11:00. Tanken 96 %."),
        ("nb", "12\u00a0040 L drivstoff ble fylt på kl. 11:00. Tanken 96 %."),
        ("en", "12,040 L of fuel was delivered at 11:00. Tank 96 %."),
    ],
)
async def test_a_tanker_delivery_is_written_as_each_language_writes_large_numbers(
    hass: HomeAssistant, clock: Clock, site: Phones, language: str, text: str
) -> None:
    """A station's delivery runs to tens of thousands of litres: "12 040 L" in Swedish and
    Norwegian (with a space that does not break the line), "12,040 L" in English."""
    await setup_alerts(hass, site, language=language)
    await alarm(
        hass,
        clock,
        "fuel_refilled",
        kind="tank",
        component_id="main",
        litres_added=12040.4,
        fuel_level=96.0,
    )
    await clock.advance_to(10, step=10)
    assert [n.data["message"] for n in site.take()] == [text, text]


async def test_freezer_alarm_in_english_ends_when_the_freezer_is_cold_again(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """A critical freezer repeats until the same freezer reports OK, which replaces it."""
    await setup_alerts(hass, site, language="en")
    await alarm(
        hass,
        clock,
        "freezer_critical",
        component_id="f1",
        component_name="Freezer 1",
        temperature=-11.04,
        limit=-12,
    )
    f1_critical = critical("freezer-f1", f"SOT_ACK_KALL_FREEZER_F1_{STAMP_AT_START}", "Acknowledge")
    critical_text = (
        "Freezer 1 is at -11.0 °C, above the critical limit of -12.0 °C. Check the goods."
    )
    assert site.take() == to_both(0.0, "Kall: Freezer 1 is too warm", critical_text, f1_critical)

    # Another freezer's warning is a normal notification, sent once; freezer 1 keeps repeating.
    await clock.advance_to(300, step=10)
    await alarm(
        hass,
        clock,
        "freezer_warning",
        component_id="f2",
        component_name="Freezer 2",
        temperature=-14.6,
        limit=-15,
    )
    await clock.advance_to(610, step=10)
    assert site.take() == [
        *to_both(
            300.0,
            "Kall: Freezer 2 is warming up",
            "Freezer 2 is at -14.6 °C, the warning limit is -15.0 °C.",
            {"tag": "sot-kall-freezer-f2", "group": "sot-kall"},
        ),
        *to_both(600.0, "Kall: Freezer 1 is too warm", "Reminder 1: " + critical_text, f1_critical),
    ]

    await clock.advance_to(900, step=10)
    await alarm(
        hass, clock, "freezer_ok", component_id="f1", component_name="Freezer 1", temperature=-16.5
    )
    assert running(hass) == 0, "freezer 1's alarm still waiting to repeat"
    await clock.advance_to(3600, step=30)
    assert site.take() == to_both(
        900.0,
        "Kall: Freezer 1 is cold again",
        "Freezer 1 is back at -16.5 °C.",
        {"tag": "sot-kall-freezer-f1", "group": "sot-kall"},
    )


async def test_repeats_stop_after_the_maximum(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """An alarm nobody acknowledges is repeated max_repeats times, then left alone."""
    await setup_alerts(hass, site, repeat_interval=5, max_repeats=2)
    await alarm(
        hass, clock, "fuel_low", component_id="tank", component_name="Tank", fuel_level=18.4
    )
    await clock.advance_to(7200, step=30)
    data = critical("fuel-tank", f"SOT_ACK_KALL_FUEL_TANK_{STAMP_AT_START}")
    title = "Kall: Lite bränsle kvar"
    assert site.take() == [
        *to_both(0.0, title, "Tanken 18 %. Ordna påfyllning.", data),
        *to_both(300.0, title, "Påminnelse 1: Tanken 18 %. Ordna påfyllning.", data),
        *to_both(600.0, title, "Påminnelse 2: Tanken 18 %. Ordna påfyllning.", data),
    ]


async def test_each_alarm_repeats_on_its_own(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """Two alarms at once run side by side; acknowledging one leaves the other repeating."""
    await setup_alerts(hass, site)
    await alarm(
        hass,
        clock,
        "generator_fault",
        component_id="main",
        component_name="Elverk",
        generator_alarm="shutdown",
    )
    await clock.advance_to(5)
    await alarm(
        hass,
        clock,
        "freezer_critical",
        component_id="f1",
        component_name="Frysbox 1",
        temperature=-10.96,
        limit=-12.0,
    )
    fault = critical("generator_fault-main", f"SOT_ACK_KALL_GENERATOR_FAULT_MAIN_{STAMP_AT_START}")
    freezer = critical("freezer-f1", f"SOT_ACK_KALL_FREEZER_F1_{STAMP_AT_START + 5}")
    fault_text = "Elverket larmar (nedstängning) kl. 11:00. Kontrollera elverkets panel."
    freezer_text = (
        "Frysbox 1 håller -11,0 °C, över den kritiska gränsen -12,0 °C. Kontrollera varorna."
    )
    assert site.take() == [
        *to_both(0.0, "Kall: Fel på elverket", fault_text, fault),
        *to_both(5.0, "Kall: Frysbox 1 är för varm", freezer_text, freezer),
    ]

    await clock.advance_to(60)
    await tap(hass, clock, f"SOT_ACK_KALL_GENERATOR_FAULT_MAIN_{STAMP_AT_START}")
    await clock.advance_to(1210, step=5)
    assert site.take() == [
        *to_both(605.0, "Kall: Frysbox 1 är för varm", "Påminnelse 1: " + freezer_text, freezer),
        *to_both(1205.0, "Kall: Frysbox 1 är för varm", "Påminnelse 2: " + freezer_text, freezer),
    ]


async def test_a_phone_without_the_app_does_not_block_the_others(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """A phone whose app was disabled comes first in the list; the others still get the alert."""
    site.device_ids = {"Old phone": site.add("Old phone", app_loaded=False), **site.device_ids}
    await setup_alerts(hass, site, max_repeats=0)
    await alarm(hass, clock, "node_offline", component_id="n2", component_name="Frysnod")
    assert site.take() == to_both(
        0.0,
        "Kall: Frysnod svarar inte",
        "Frysnod har inte hörts av sedan kl. 11:00.",
        {"tag": "sot-kall-node-n2", "group": "sot-kall"},
    )


async def test_a_phone_the_app_cannot_reach_does_not_block_the_others(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """A phone with local push only, away from home: its notify action fails. It comes first
    in the list; the others still get the alarm and its reminder."""
    site.device_ids = {"Tablet": site.add("Tablet"), **site.device_ids}

    async def unreachable(call: ServiceCall) -> None:
        raise HomeAssistantError("Device not connected to local push notifications")

    hass.services.async_register("notify", "mobile_app_tablet", unreachable)
    await setup_alerts(hass, site, max_repeats=1)
    await alarm(hass, clock, "grid_lost", component_id="main", fuel_level=40.0)
    await clock.advance_to(610, step=10)
    title, text = "Kall: Strömavbrott", "Nätspänningen försvann kl. 11:00. Tanken 40 %."
    data = critical("grid-main", f"SOT_ACK_KALL_GRID_MAIN_{STAMP_AT_START}")
    assert site.take() == [
        *to_both(0.0, title, text, data),
        *to_both(600.0, title, "Påminnelse 1: " + text, data),
    ]


async def test_information_is_sent_once_and_non_events_are_ignored(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """Normal events go out once without repeats; attribute changes and restores are not alarms."""
    await setup_alerts(hass, site, alarm_types=[t for t in EVENT_TYPES if t != "node_online"])
    await alarm(
        hass,
        clock,
        "generator_started",
        component_id="main",
        component_name="Elverk",
        fuel_hours=31.0,
    )
    stamp = hass.states.get(ALARMS).state
    attributes = dict(hass.states.get(ALARMS).attributes)

    # Same event, an attribute updated; the entity unavailable during a reload, then restored.
    hass.states.async_set(ALARMS, stamp, {**attributes, "fuel_hours": 30.5})
    await clock.settle()
    hass.states.async_set(ALARMS, STATE_UNAVAILABLE, {})
    await clock.settle()
    hass.states.async_set(ALARMS, stamp, attributes)
    await clock.settle()
    # An alarm type that was left out.
    await clock.advance_to(60)
    await alarm(hass, clock, "node_online", component_id="n1", component_name="Nod 1")
    await clock.advance_to(3600, step=30)

    assert site.take() == to_both(
        0.0,
        "Kall: Elverket har startat",
        "Elverket startade kl. 11:00. Bränsle för ca 31,0 h.",
        {"tag": "sot-kall-generator-main", "group": "sot-kall"},
    )


async def test_a_site_deleted_sends_nothing_and_logs_no_template_warning(
    hass: HomeAssistant, clock: Clock, site: Phones, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the site removes its alarm entity: no alarm, and nothing in the log about it."""
    await setup_alerts(hass, site)
    await alarm(hass, clock, "node_offline", component_id="freezers", component_name="Frysnod")
    assert len(site.take()) == 2
    caplog.clear()

    hass.states.async_remove(ALARMS)
    await clock.settle()

    assert site.take() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        pytest.param({"alarm_entity": ALARMS}, "Missing input notify_devices", id="no-phones"),
        pytest.param(
            {"alarm_entity": "kall alarms", "notify_devices": ["abc"]},
            "Entity kall alarms is neither a valid entity ID nor a valid UUID",
            id="alarm-entity-not-an-entity",
        ),
    ],
)
async def test_invalid_inputs_are_refused_at_setup(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, inputs: dict[str, Any], error: str
) -> None:
    """Home Assistant refuses to set up the automation and says why."""
    await setup_blueprint_automation(hass, "outage_alerts.yaml", inputs)
    assert hass.states.get("automation.under_test").state == STATE_UNAVAILABLE
    assert error in caplog.text


async def test_alarms_also_shown_in_home_assistant_once_each(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    """The screen at the site shows each alarm once; 'grid back' replaces 'grid lost' there."""
    posted = async_mock_service(hass, "persistent_notification", "create")
    await setup_alerts(hass, site, show_in_home_assistant=True, language="en", max_repeats=2)
    await alarm(hass, clock, "grid_lost", fuel_hours=30.5, fuel_level=64.0)
    await clock.advance_to(1300, step=30)  # both repeats sent to the phones
    await alarm(hass, clock, "grid_restored", outage_minutes=95)
    assert [(call.data["notification_id"], call.data["title"]) for call in posted] == [
        ("sot-kall-grid", "Kall: Grid power lost"),
        ("sot-kall-grid", "Kall: Grid power is back"),
    ]
    assert posted[0].data["message"] == (
        "Grid voltage was lost at 11:00. Fuel for about 30.5 h, tank 64 %."
    )
    assert len(site.take()) == 2 * 4  # phones: lost + 2 repeats, then restored, on both


async def test_home_assistant_notifications_are_off_by_default(
    hass: HomeAssistant, clock: Clock, site: Phones
) -> None:
    posted = async_mock_service(hass, "persistent_notification", "create")
    await setup_alerts(hass, site)
    await alarm(hass, clock, "node_offline", component_id="freezers", component_name="Frysnod")
    assert posted == []
    assert len(site.take()) == 2
