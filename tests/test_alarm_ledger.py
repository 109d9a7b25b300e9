"""The site's ledger of unacknowledged alarms, and its two actions."""

from __future__ import annotations

import json
from datetime import timedelta

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.sot.alarm_ledger import REPLACED_KEPT, AlarmLedger
from custom_components.sot.site.events import EventType, SiteEvent

from .helpers import site_entry, start_site, unacknowledged_alarms, wait_for, wait_for_state

T0 = dt_util.parse_datetime("2026-11-22T10:00:00.000+00:00")
assert T0 is not None


def _stamp(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


def test_the_latest_alarm_about_each_thing_until_acknowledged() -> None:
    ledger = AlarmLedger()
    ledger.record(_stamp(0), "freezer_warning", {"component_id": "f1"})
    ledger.record(_stamp(1), "freezer_warning", {"component_id": "f2"})
    ledger.record(_stamp(2), "grid_lost", {"component_id": "main"})
    # f1 goes critical: its warning is over, replaced by the critical alarm.
    ledger.record(_stamp(3), "freezer_critical", {"component_id": "f1"})
    ledger.record(_stamp(4), "generator_fault", {"component_id": "main"})
    now = T0 + timedelta(minutes=5)
    assert [(a.event_type, a.stamp) for a in ledger.unacknowledged(now)] == [
        ("freezer_warning", _stamp(1)),
        ("grid_lost", _stamp(2)),
        ("freezer_critical", _stamp(3)),
        ("generator_fault", _stamp(4)),
    ]
    assert ledger.acknowledge(T0, now) is False  # replaced: nothing repeats it any more
    assert ledger.acknowledge(T0 + timedelta(minutes=2), now)
    assert ledger.acknowledge(T0 + timedelta(minutes=2), now) is False  # a second phone's tap
    assert [a.event_type for a in ledger.unacknowledged(now)] == [
        "freezer_warning",
        "freezer_critical",
        "generator_fault",
    ]
    # Saved and read back, acknowledgements with it; nine days on, all is forgotten.
    again = AlarmLedger()
    again.restore(ledger.snapshot(now))
    assert [a.as_dict() for a in again.unacknowledged(now)] == [
        a.as_dict() for a in ledger.unacknowledged(now)
    ]
    assert len(again.unacknowledged(T0 + timedelta(days=9, minutes=3))) == 2
    assert again.unacknowledged(T0 + timedelta(days=9, minutes=5)) == []
    assert again.snapshot(T0 + timedelta(days=9, minutes=5)) == []


def test_an_alarm_older_than_the_ledger_keeps_is_unknown_before_a_restart_too() -> None:
    """Ten days on, a grid_lost replaced by grid_restored and the grid_restored itself are
    forgotten: acknowledging either is refused (None) as it is after a restart, not answered
    `acknowledged: true` for an alarm nobody lists any more."""
    ledger = AlarmLedger()
    ledger.record(_stamp(0), "grid_lost", {"component_id": "main"})
    ledger.record(_stamp(1), "grid_restored", {"component_id": "main"})
    now = T0 + timedelta(days=10)
    again = AlarmLedger()
    again.restore(ledger.snapshot(now), ledger.replaced_snapshot(now))
    for stamp in (T0, T0 + timedelta(minutes=1)):
        assert again.acknowledge(stamp, now) is None
        assert ledger.acknowledge(stamp, now) is None


def test_a_replaced_alarm_past_the_stamps_kept_is_not_called_unknown() -> None:
    """A grid flapping for days replaces more alarms than the ledger keeps stamps of: an
    acknowledgement of one of the oldest answers as for a replaced alarm, not "never raised";
    a stamp among the kept ones' times that no alarm had is still unknown."""
    ledger = AlarmLedger()
    for minute in range(0, 2 * (REPLACED_KEPT + 10), 2):
        ledger.record(_stamp(minute), "grid_lost", {"component_id": "main"})
        ledger.record(_stamp(minute + 1), "grid_restored", {"component_id": "main"})
    now = T0 + timedelta(days=1)
    assert ledger.acknowledge(T0, now) is False  # replaced, its stamp no longer kept
    assert ledger.acknowledge(T0 + timedelta(minutes=900, seconds=30), now) is None


@pytest.mark.parametrize(
    "saved",
    [
        None,
        {"stamp": _stamp(0)},
        [None, {"stamp": "yesterday", "event_type": "grid_lost", "attributes": {}}],
        [{"stamp": _stamp(0), "event_type": 7, "attributes": {}}],
        [{"stamp": _stamp(0), "event_type": "grid_lost", "attributes": "main"}],
    ],
)
def test_a_saved_ledger_that_cannot_be_read_is_left_out(saved: object) -> None:
    ledger = AlarmLedger()
    ledger.record(_stamp(0), "grid_lost", {"component_id": "main"})
    ledger.restore(saved)
    assert ledger.unacknowledged(T0) == []


async def test_the_actions_list_and_acknowledge_the_sites_alarms(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    hass = mqtt_hass
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry)
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
    await field.publish("sot/kall/grid/main/present", "OFF")

    def lost() -> bool:
        state = hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == "grid_lost"

    await wait_for(hass, lost, "grid_lost")
    stamp = hass.states.get("event.kall_alarms").state  # type: ignore[union-attr]
    found = await unacknowledged_alarms(hass, entry.entry_id)
    assert found["site_name"] == "Kall"
    [alarm] = found["alarms"]  # type: ignore[misc]
    assert alarm["stamp"] == stamp
    assert alarm["event_type"] == "grid_lost"
    assert alarm["component_name"] == "Grid meter"

    # The same instant written another way: in local time, to the microsecond.
    raised = dt_util.parse_datetime(stamp)
    assert raised is not None
    other_way = raised.astimezone(dt_util.get_time_zone("America/Los_Angeles")).isoformat()
    assert other_way != stamp
    answer = await hass.services.async_call(
        "sot",
        "acknowledge_alarm",
        {"config_entry_id": entry.entry_id, "alarm": other_way},
        blocking=True,
        return_response=True,
    )
    assert answer == {"acknowledged": True}
    await hass.services.async_call(
        "sot",
        "acknowledge_alarm",
        {"config_entry_id": entry.entry_id, "alarm": stamp},
        blocking=True,
    )
    found = await unacknowledged_alarms(hass, entry.entry_id)
    assert found["alarms"] == []

    # Bad input gets a clear error.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "sot",
            "acknowledge_alarm",
            {"config_entry_id": "nope", "alarm": stamp},
            blocking=True,
        )
    assert err.value.translation_key == "site_not_found"
    for not_a_time in ("now", "2026-11-22", "2026-11-22T10:00:00"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                "sot",
                "acknowledge_alarm",
                {"config_entry_id": entry.entry_id, "alarm": not_a_time},
                blocking=True,
            )
        assert err.value.translation_key == "alarm_not_a_time"
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "sot",
            "unacknowledged_alarms",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "site_not_loaded"


async def test_acknowledging_an_alarm_the_site_never_raised_is_refused(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A mistyped stamp, or another site's alarm, gets a clear error: the alarm it meant
    would go on repeating while the answer said nothing was wrong. An alarm a newer one
    replaced still answers `acknowledged: false`, also after a reload."""
    hass = mqtt_hass
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry)

    def alarm(event_type: str) -> bool:
        state = hass.states.get("event.kall_alarms")
        return state is not None and state.attributes.get("event_type") == event_type

    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for(hass, lambda: alarm("grid_lost"), "grid_lost")
    lost = hass.states.get("event.kall_alarms").state  # type: ignore[union-attr]
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for(hass, lambda: alarm("grid_restored"), "grid_restored")

    async def acknowledge(stamp: str) -> object:
        return await hass.services.async_call(
            "sot",
            "acknowledge_alarm",
            {"config_entry_id": entry.entry_id, "alarm": stamp},
            blocking=True,
            return_response=True,
        )

    raised = dt_util.parse_datetime(lost)
    assert raised is not None
    never = (raised + timedelta(minutes=7)).isoformat(timespec="milliseconds")
    with pytest.raises(ServiceValidationError) as err:
        await acknowledge(never)
    assert err.value.translation_key == "alarm_unknown"
    assert err.value.translation_placeholders == {"alarm": never, "site": "Kall"}
    assert await acknowledge(lost) == {"acknowledged": False}  # replaced by grid_restored

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert await acknowledge(lost) == {"acknowledged": False}
    with pytest.raises(ServiceValidationError) as err:
        await acknowledge(never)
    assert err.value.translation_key == "alarm_unknown"


def test_an_alarm_not_raised_yet_is_saved_and_read_back() -> None:
    event = SiteEvent(EventType.GRID_LOST, "grid", "main", T0, {"fuel_hours": None})
    assert SiteEvent.from_snapshot(json.loads(json.dumps(event.snapshot()))) == event
    for saved in (None, {}, {**event.snapshot(), "type": "grid_gone"}, {"time": 7}):
        assert SiteEvent.from_snapshot(saved) is None


async def test_diagnostics_show_the_alarms_and_who_acknowledged_them(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, hass_client: ClientSessionGenerator
) -> None:
    """Phones ring again after a restart, or not: the diagnostics show the ledger the outage
    alerts take their repeats up from, acknowledged or not."""
    hass = mqtt_hass
    entry = site_entry(alarm_delay=0)
    await start_site(hass, field, entry)
    await field.publish("sot/kall/grid/main/present", "ON")
    await field.publish("sot/kall/freezer/f1/temperature", "-19.0")
    await wait_for_state(hass, "sensor.kall_freezer_f1_temperature", "-19.0")
    await field.publish("sot/kall/grid/main/present", "OFF")
    await field.publish("sot/kall/freezer/f1/temperature", "-10.0")

    def raised() -> bool:
        return [a["event_type"] for a in entry.runtime_data.alarms.snapshot(dt_util.utcnow())] == [
            "grid_lost",
            "freezer_critical",
        ]

    await wait_for(hass, raised, "grid_lost and freezer_critical")
    found = await unacknowledged_alarms(hass, entry.entry_id)
    grid, freezer = found["alarms"]  # type: ignore[misc]
    await hass.services.async_call(
        "sot",
        "acknowledge_alarm",
        {"config_entry_id": entry.entry_id, "alarm": grid["stamp"]},
        blocking=True,
    )
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert [(a["event_type"], a["stamp"], a["acknowledged"]) for a in diagnostics["alarms"]] == [
        ("grid_lost", grid["stamp"], True),
        ("freezer_critical", freezer["stamp"], False),
    ]
