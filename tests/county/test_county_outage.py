"""A storm at Kall cuts its link to the county: the county's Home Assistant tells it as it was.

The county's Home Assistant (the integration, its real MQTT client logged in as `county-ha`)
has Kall configured; Kall's nodes publish on Kall's own broker, bridged to the county broker by
the configuration `scripts/county` generated (TLS, Kall's certificate and password). The storm
takes the grid and the link at once: for 16 minutes Kall's broker queues everything its nodes
publish (the grid gone, the generator starting and running, a freezer warming past its warning
limit and staying there past the alarm delay), then the link returns and the queue arrives at
the county in one burst.

Time is Home Assistant's frozen clock, moved in 15 s steps: the county's Home Assistant lives
through the loss as it would (its figures going stale, its ticks running), and the readings
carry their measurement time (`ts`). The county must show the outage, the freezer and its
alarm at the times they were measured, and must have taken in every message Kall published,
refusing none.

The replay here falls between two of the integration's 15 s ticks. The second case puts a tick
in the middle of it, as a replay of a long queue always will: that tick must not judge the
replayed freezer readings stale by the wall clock and restart the freezer's alarm delay, which
would make the warning come late.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sot.const import EVENT_ALARM

from ..helpers import site_entry, start_site, wait_for
from .brokers import County
from .conftest import bridge_state, county_home_assistant

STEP = timedelta(seconds=15)  # one tick of the integration; under MQTT's 60 s keep-alive
LIVE_STEPS = 4  # before the storm: the grid on, the generator stopped, the freezer cold
STORM_STEPS = 67  # the link is down: 16 min 45 s of the site's time
AFTER_STEPS = 3  # the link is back
# The storm's step at which the freezer is first over its warning limit (−14.9 °C).
CROSSING_STEP = 21
# Long waits: a loaded 2-core machine runs three brokers, the bridge and Home Assistant.
WAIT = 60.0


def grid(step: int) -> dict[str, Any]:
    """The grid meter: gone from the first step of the storm."""
    if step < LIVE_STEPS:
        return {"present": "ON", "voltage": 231.0}
    return {"present": "OFF", "voltage": 0.0}


def generator(step: int) -> dict[str, Any]:
    """The generator: starts a step after the grid goes, runs from the step after that."""
    storm = step - LIVE_STEPS
    if storm < 1:
        return {"state": "stopped", "power": 0.0, "speed": 0}
    if storm == 1:
        return {"state": "starting", "power": 0.0, "speed": 400}
    if storm == 2:
        return {"state": "warming_up", "power": 0.0, "speed": 1500}
    return {"state": "running", "power": 18.0, "speed": 1500, "on_load": "ON"}


def freezer_f1(step: int) -> dict[str, Any]:
    """Freezer f1: −17 °C, warming 0.1 °C a step through the storm (its compressor fails)."""
    storm = max(0, step - LIVE_STEPS)
    return {"temperature": round(-17.0 + 0.1 * storm, 1)}


def readings(step: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node's JSON reading of one step: topic and values (without `ts`)."""
    yield "sot/kall/grid/main", grid(step)
    yield "sot/kall/generator/main", generator(step)
    yield "sot/kall/freezer/f1", freezer_f1(step)


# MQTT's keep-alive (paho, under Home Assistant's client and aiomqtt) runs on the real clock:
# fifteen minutes of the site's time pass in seconds, and no broker should see a client that
# missed its pings.
@pytest.mark.freeze_time(ignore=["paho"])
@pytest.mark.parametrize(
    "tick_in_replay",
    [False, True],
    ids=["replay between ticks", "a tick during the replay"],
)
async def test_the_county_shows_a_storm_behind_a_cut_link_as_it_was_measured(
    hass: HomeAssistant,
    county_pair: County,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    tick_in_replay: bool,
) -> None:
    county = county_pair
    # Whole seconds: `ts` is written as whole Unix seconds, as a node with SNTP would.
    start = dt_util.utcnow().replace(microsecond=0) + timedelta(seconds=1)
    freezer.move_to(start)

    mqtt_entry = await county_home_assistant(hass, county, tmp_path)
    try:
        await _storm(hass, county, freezer, tick_in_replay)
    finally:
        await hass.config_entries.async_unload(mqtt_entry.entry_id)
        await hass.async_block_till_done()


async def _storm(
    hass: HomeAssistant, county: County, freezer: FrozenDateTimeFactory, tick_in_replay: bool
) -> None:
    kall = county.sites["kall"]
    # Called after each message the county's MQTT client delivers, with their number so far.
    between_messages: list[Callable[[int], None]] = []
    # What the county's MQTT client hands the integration, message by message.
    delivered: list[tuple[str, bytes]] = []

    @callback
    def record(message: mqtt.ReceiveMessage) -> None:
        payload = message.payload
        delivered.append((message.topic, payload if isinstance(payload, bytes) else b""))
        for call in between_messages:
            call(len(delivered))

    unsubscribe = await mqtt.async_subscribe(hass, "sot/kall/#", record, qos=1, encoding=None)
    alarms: list[dict[str, Any]] = []

    @callback
    def alarm(event: Event) -> None:
        alarms.append(dict(event.data))

    hass.bus.async_listen(EVENT_ALARM, alarm)

    # Kall's nodes, on Kall's own broker: what they publish reaches the county over the bridge.
    async with aiomqtt.Client("127.0.0.1", kall.port, identifier="kall-nodes") as nodes:
        entry = site_entry()
        coordinator = await start_site(hass, nodes, entry, freezer)
        # The probes that found the subscription are all in before the count starts.
        await nodes.publish("sot/kall/node/probe/ping", "last", qos=1)
        await wait_for(
            hass, lambda: ("sot/kall/node/probe/ping", b"last") in delivered, "the last probe", WAIT
        )
        delivered.clear()
        taken_in = coordinator.messages
        if tick_in_replay:
            # The integration ticks every 15 s whatever arrives: a replay of a long queue
            # spans ticks. This one comes when the replay has reached a minute after the
            # freezer crossed its warning limit.
            tick_after = 3 * (LIVE_STEPS + CROSSING_STEP + 5)

            def tick(count: int) -> None:
                if count == tick_after:
                    coordinator._tick(dt_util.utcnow())

            between_messages.append(tick)
        sent: list[tuple[str, bytes]] = []
        measured: dict[int, datetime] = {}

        async def publish_step(step: int, *, sync: bool = False) -> None:
            """One step of the site's time passes, and every node publishes, at QoS 0 as
            ESPHome does; with `sync` the last at QoS 1, so all are at Kall's broker."""
            if step:
                freezer.tick(STEP)
                async_fire_time_changed(hass)
            now = dt_util.utcnow()
            measured[step] = now
            batch = list(readings(step))
            for number, (topic, values) in enumerate(batch):
                payload = json.dumps({**values, "ts": int(now.timestamp())}).encode()
                last = number == len(batch) - 1
                await nodes.publish(topic, payload, qos=1 if sync and last else 0)
                sent.append((topic, payload))

        async def all_delivered(what: str) -> None:
            # Counted once each: a message sent again after the link returned is not another.
            await wait_for(hass, lambda: len(set(delivered)) >= len(sent), what, WAIT)

        for step in range(LIVE_STEPS):
            await publish_step(step, sync=True)
            await all_delivered(f"live step {step}")
        assert hass.states.get("sensor.kall_power_source").state == "grid"  # type: ignore[union-attr]
        assert hass.states.get("sensor.kall_freezer_f1_status").state == "ok"  # type: ignore[union-attr]

        # The storm: the grid goes and the link with it.
        await hass.async_add_executor_job(kall.link.cut)
        await wait_for(
            hass,
            lambda: bridge_state(county, "kall") == b"0",
            "the county to see the link go",
            WAIT,
        )
        for step in range(LIVE_STEPS, LIVE_STEPS + STORM_STEPS):
            await publish_step(step, sync=step == LIVE_STEPS + STORM_STEPS - 1)
        # Nothing came through, and the county's Home Assistant has only old news.
        assert len(delivered) == LIVE_STEPS * 3
        assert hass.states.get("binary_sensor.kall_grid_present").state == "unavailable"  # type: ignore[union-attr]
        assert coordinator.site.outages.current is None

        await hass.async_add_executor_job(kall.link.restore)
        await wait_for(
            hass, lambda: bridge_state(county, "kall") == b"1", "the link to come back", WAIT
        )
        await all_delivered("the queue at the county")
        for step in range(LIVE_STEPS + STORM_STEPS, LIVE_STEPS + STORM_STEPS + AFTER_STEPS):
            await publish_step(step, sync=True)
            await all_delivered(f"live step {step} after the link returned")
        await hass.async_block_till_done()

    # Nothing lost, in the order it was published, none refused. QoS 1 is at least once: a
    # reading whose acknowledgement was still on the link when it was cut is sent again when
    # the link returns (docs/county.md); nothing else may come twice.
    once = list(dict.fromkeys(delivered))
    assert once == sent, f"{len(once)} of {len(sent)} messages"
    before_cut = set(sent[: LIVE_STEPS * 3])
    assert all(m in before_cut for m in _repeats(delivered)), _repeats(delivered)
    assert coordinator.messages - taken_in == len(delivered)
    assert not coordinator.rejected, coordinator.recent_rejections

    at = measured
    storm_began = at[LIVE_STEPS]
    running_from = at[LIVE_STEPS + 2]
    last = LIVE_STEPS + STORM_STEPS + AFTER_STEPS - 1
    crossed = next(s for s in sorted(at) if freezer_f1(s)["temperature"] > -15.0)
    assert crossed == LIVE_STEPS + CROSSING_STEP
    warned = next(s for s in sorted(at) if at[s] - at[crossed] >= timedelta(minutes=10))

    # The outage began when the meter measured the grid gone, 17 minutes ago, not when the
    # county heard of it.
    outage = hass.states.get("sensor.kall_outage_duration")
    assert outage is not None
    assert outage.attributes["started"] == storm_began.isoformat()
    assert outage.state == str(round((dt_util.utcnow() - storm_began).total_seconds() / 60))
    assert hass.states.get("binary_sensor.kall_grid_present").state == "off"  # type: ignore[union-attr]
    assert hass.states.get("sensor.kall_power_source").state == "generator"  # type: ignore[union-attr]

    # The alarms, raised once each, at the times their readings were measured: what the
    # logbook, the event entity and the blueprints get.
    raised = [(a["event_type"], a["component_id"], a["time"]) for a in alarms]
    assert raised == [
        ("grid_lost", "main", storm_began.isoformat()),
        ("generator_started", "main", running_from.isoformat()),
        ("freezer_warning", "f1", at[warned].isoformat()),
    ]
    event = hass.states.get("event.kall_alarms")
    assert event is not None
    assert event.attributes["event_type"] == "freezer_warning"
    assert event.attributes["time"] == at[warned].isoformat()

    # The freezer: its last reading, over its warning limit since it crossed it (between the
    # last reading at the limit and the first over it).
    temperature = hass.states.get("sensor.kall_freezer_f1_temperature")
    assert temperature is not None
    assert float(temperature.state) == freezer_f1(last)["temperature"]
    sample = coordinator.site.component("freezer", "f1").values["temperature"]  # type: ignore[union-attr]
    assert sample.time == at[last]
    assert hass.states.get("sensor.kall_freezer_f1_status").state == "warning"  # type: ignore[union-attr]
    to_warning = hass.states.get("sensor.kall_freezer_f1_time_to_warning")
    assert to_warning is not None
    since = datetime.fromisoformat(to_warning.attributes["crossed_since"])
    assert at[crossed - 1] < since <= at[crossed]

    unsubscribe()
    assert await hass.config_entries.async_unload(entry.entry_id)


def _repeats(messages: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The messages that came more than once."""
    seen: set[tuple[str, bytes]] = set()
    again: list[tuple[str, bytes]] = []
    for message in messages:
        if message in seen:
            again.append(message)
        seen.add(message)
    return again
