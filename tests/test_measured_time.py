"""Measurement time travels with the reading: a queued reading is placed when it was measured.

A county broker receives a site's readings through a bridge that queues them across a link
loss; they arrive minutes or hours late. A JSON reading may carry `ts` (docs/mqtt.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.sot.mqtt.topics import parse_message
from custom_components.sot.site.readings import RejectReason

from .helpers import site_entry, start_site, wait_for, wait_for_state

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ts", "measured"),
    [
        (NOW.timestamp() - 600, NOW - timedelta(minutes=10)),
        ("2026-11-27T11:50:00Z", NOW - timedelta(minutes=10)),
        ("2026-11-27T12:50:00+01:00", NOW - timedelta(minutes=10)),
        (NOW.timestamp() + 20, NOW),  # a clock a little ahead: taken as now
    ],
)
def test_ts_is_the_readings_time(ts: object, measured: datetime) -> None:
    parsed = parse_message(
        "sot/kall", "sot/kall/freezer/f1", json.dumps({"temperature": -17.5, "ts": ts}), NOW
    )
    assert parsed.rejections == []
    assert [(r.quantity, r.value, r.time) for r in parsed.readings] == [
        ("temperature", -17.5, measured)
    ]


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("yesterday", RejectReason.BAD_TIME),
        ("2026-11-27T11:50:00", RejectReason.BAD_TIME),  # no offset: whose clock?
        (True, RejectReason.BAD_TIME),
        # A JSON integer too large for a float: no time either, not a crash.
        pytest.param(10**400, RejectReason.BAD_TIME, id="huge-integer"),
        pytest.param(-(10**400), RejectReason.BAD_TIME, id="huge-negative-integer"),
        (NOW.timestamp() + 3600, RejectReason.FUTURE_TIME),
        (NOW.timestamp() - 3 * 86400, RejectReason.TOO_OLD),
    ],
)
def test_a_bad_ts_refuses_the_message(ts: object, reason: RejectReason) -> None:
    parsed = parse_message(
        "sot/kall", "sot/kall/freezer/f1", json.dumps({"temperature": -17.5, "ts": ts}), NOW
    )
    assert parsed.readings == []
    assert [r.reason for r in parsed.rejections] == [reason]


async def test_a_replayed_outage_starts_when_it_was_measured(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Readings queued for ten minutes: the outage starts, and is logged, at measured times."""
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=3600))
    now = dt_util.utcnow()
    lost, back = now - timedelta(minutes=10), now - timedelta(minutes=2)
    for minute in range(10, -1, -1):
        at = now - timedelta(minutes=minute)
        present = not (lost <= at < back)
        await field.publish(
            "sot/kall/grid/main",
            json.dumps({"present": "ON" if present else "OFF", "ts": at.timestamp()}),
        )
    await wait_for(mqtt_hass, lambda: bool(coordinator.site.outages.log), "the outage to end")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "on")
    [outage] = coordinator.site.outages.log
    assert outage.start == lost
    assert outage.end == back
    # An older reading arriving after a newer one does not overwrite what is shown.
    await field.publish(
        "sot/kall/grid/main",
        json.dumps({"present": "OFF", "ts": (now - timedelta(minutes=5)).timestamp()}),
    )
    await field.publish("sot/kall/grid/main/voltage", "230.0")
    await wait_for_state(mqtt_hass, "sensor.kall_grid_voltage", "230.0")
    assert mqtt_hass.states.get("binary_sensor.kall_grid_present").state == "on"
    assert coordinator.site.outages.current is None
