"""The demo's clock: a storm played at 60× reads in storm hours, and a real site is untouched.

A site whose entry holds a demo clock (only the demo writes one) takes its time from it: six
wall minutes after the grid went, it has been gone six hours, and a freezer warming over two
storm hours counts down in storm hours. Staleness stays wall-clock business. A site without a
clock (every real site) reads the wall clock exactly as before.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sot.const import DOMAIN
from custom_components.sot.coordinator import SiteCoordinator
from custom_components.sot.sensor import DEMO_CLOCK_SPEED
from custom_components.sot.site.demo_clock import CONF_DEMO_CLOCK, DemoClock
from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readings import Reading

from .helpers import sample, site_entry, start_site, wait_for, wait_for_state, wait_until_subscribed

SINCE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
OUTAGE = "sensor.kall_outage_duration"


def on_demo_clock(speed: float = 60.0, **options: Any) -> MockConfigEntry:
    """Kall with `options` on the clock the demo writes, running from now at `speed`."""
    clock = {"speed": speed, "since": dt_util.utcnow().isoformat()}
    return site_entry(data={CONF_DEMO_CLOCK: clock}, **options)


async def pass_time(hass: HomeAssistant, freezer: FrozenDateTimeFactory, wall: timedelta) -> None:
    """Let `wall` of wall-clock time pass, the site's tick included."""
    freezer.tick(wall)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def lose_the_grid(hass: HomeAssistant, field: aiomqtt.Client) -> None:
    await field.publish("sot/kall/grid/main/present", "ON")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "on")
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(hass, "binary_sensor.kall_grid_present", "off")


def measured(coordinator: SiteCoordinator) -> float | None:
    """The freezer's last temperature as the site took it in."""
    found = sample(coordinator, "freezer/f1/temperature")
    return None if found is None else float(found.value)


def demo_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith("demo_clock_")
    ]


# -- the clock itself ------------------------------------------------------------------------


def test_the_site_time_runs_speed_times_as_fast_from_since() -> None:
    clock = DemoClock.from_data({CONF_DEMO_CLOCK: {"speed": 60, "since": SINCE.isoformat()}})
    assert clock == DemoClock(60.0, SINCE)
    assert clock.site_time(SINCE) == SINCE
    assert clock.site_time(SINCE + timedelta(minutes=6)) == SINCE + timedelta(hours=6)
    assert clock.site_span(timedelta(seconds=5)) == timedelta(minutes=5)
    assert clock.wall_span(timedelta(hours=1)) == timedelta(minutes=1)
    assert DemoClock.from_data({CONF_DEMO_CLOCK: clock.as_data()}) == clock


def test_a_since_in_another_zone_is_the_same_moment() -> None:
    clock = DemoClock.from_data({CONF_DEMO_CLOCK: {"speed": 2, "since": "2026-11-27T23:00+01:00"}})
    assert clock is not None
    assert clock.since == SINCE
    assert clock.since.tzinfo is UTC


def test_no_clock_in_the_data_is_the_wall_clock() -> None:
    assert DemoClock.from_data({"site_id": "kall", "base_topic": "sot/kall"}) is None


@pytest.mark.parametrize(
    "raw",
    [
        "60x",
        {"since": SINCE.isoformat()},
        {"speed": True, "since": SINCE.isoformat()},
        {"speed": "60", "since": SINCE.isoformat()},
        {"speed": 0, "since": SINCE.isoformat()},
        {"speed": -60, "since": SINCE.isoformat()},
        {"speed": math.inf, "since": SINCE.isoformat()},
        {"speed": 60},
        {"speed": 60, "since": "yesterday"},
        {"speed": 60, "since": "2026-11-27T22:00:00"},  # no offset: whose clock?
    ],
)
def test_a_clock_that_cannot_be_read_is_refused(raw: Any) -> None:
    with pytest.raises(ValueError):
        DemoClock.from_data({CONF_DEMO_CLOCK: raw})


def test_only_the_waits_of_the_wall_clock_are_stretched() -> None:
    """A node's silence is wall-clock time; the alarm delay is the site's own."""
    settings = DemoClock(60.0, SINCE).settings(Settings())
    assert settings.stale_timeout == timedelta(hours=5)
    assert settings.silent_after == timedelta(hours=60)
    assert settings.alarm_delay == Settings().alarm_delay
    assert settings.fuel_low_hours == Settings().fuel_low_hours


# -- a site on the demo's clock --------------------------------------------------------------


async def test_an_outage_reads_in_storm_time_across_a_reload(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Six wall minutes at 60× are six hours gone, and a reload keeps the storm's time."""
    entry = on_demo_clock(stale_timeout=3600)
    coordinator = await start_site(mqtt_hass, field, entry, freezer)
    await lose_the_grid(mqtt_hass, field)
    await pass_time(mqtt_hass, freezer, timedelta(minutes=6))
    state = await wait_for_state(mqtt_hass, OUTAGE, "360")
    assert state.attributes[DEMO_CLOCK_SPEED] == 60.0
    started = coordinator.site.outages.current.start  # type: ignore[union-attr]
    assert coordinator.now() - started == timedelta(hours=6)

    assert await mqtt_hass.config_entries.async_reload(entry.entry_id)
    await mqtt_hass.async_block_till_done()
    reloaded: SiteCoordinator = entry.runtime_data
    assert reloaded is not coordinator
    await wait_until_subscribed(mqtt_hass, field, reloaded, freezer)
    await pass_time(mqtt_hass, freezer, timedelta(minutes=1))
    elapsed = reloaded.now() - started
    await wait_for_state(mqtt_hass, OUTAGE, f"{round(elapsed.total_seconds() / 60)}")
    # A minute of waiting plus the few seconds of the probes, all in storm time.
    assert timedelta(hours=7) <= elapsed < timedelta(hours=7, minutes=30)


async def test_a_site_on_the_demo_clock_says_so(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """A notice in Repairs, in the user's language, for as long as the site runs."""
    entry = on_demo_clock(speed=20)
    await start_site(mqtt_hass, field, entry)
    [issue] = demo_issues(mqtt_hass)
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_key == "demo_clock"
    assert issue.translation_placeholders == {"site": "Kall", "speed": "20"}
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    state = await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    assert state.attributes[DEMO_CLOCK_SPEED] == 20.0

    assert await mqtt_hass.config_entries.async_unload(entry.entry_id)
    assert demo_issues(mqtt_hass) == []


async def test_a_freezer_counts_down_in_storm_hours(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Two storm hours of warming, played in two wall minutes, count down in storm hours.

    A full freezer (τ 35 h) from −19 °C in a 20 °C room reaches −15 °C after 3.8 h: with two
    hours gone, 1.8 h are left, and the site shows what a real site shows after those two
    hours. On the wall clock the same readings would leave 1.8 minutes.
    """
    tau, room, start = 35.0, 20.0, -19.0
    crossing = -tau * math.log((room + 15.0) / (room - start))
    entry = on_demo_clock(stale_timeout=3600, room_temperature=room)
    coordinator = await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "OFF")
    await wait_for_state(mqtt_hass, "binary_sensor.kall_grid_present", "off")
    lost = coordinator.now()
    # A real site living through the same storm hours.
    real = Site(Settings(stale_timeout=timedelta(hours=1), room_temperature=room))
    real.apply([Reading("grid", "main", "present", False, lost)], lost)
    for step in range(9):  # every 15 wall seconds, 15 storm minutes
        if step:
            await pass_time(mqtt_hass, freezer, timedelta(seconds=15))
        now = coordinator.now()
        assert now - lost == timedelta(minutes=15 * step)
        temperature = round(room - (room - start) * math.exp(-step / 4 / tau), 2)
        real.apply([Reading("freezer", "f1", "temperature", temperature, now)], now)
        await field.publish("sot/kall/freezer/f1/temperature", f"{temperature}")
        await wait_for(
            mqtt_hass,
            lambda shown=temperature: measured(coordinator) == shown,
            f"{temperature} °C",
        )

    state = mqtt_hass.states.get("sensor.kall_freezer_f1_time_to_warning")
    assert state is not None
    real_freezer = real.component("freezer", "f1")
    assert real_freezer is not None
    shown = real.freezers.time_to_limit(real_freezer, -15.0, coordinator.now())
    assert shown is not None
    assert float(state.state) == round(shown, 2)
    assert state.attributes["estimate"] == pytest.approx(crossing - 2.0, rel=0.05)
    assert state.attributes["warming_basis"] == "power"


async def test_staleness_stays_in_wall_time(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """A probe silent for 50 wall seconds (50 storm minutes) is live; for 70, stale."""
    entry = on_demo_clock(stale_timeout=60)
    await start_site(mqtt_hass, field, entry, freezer)
    await field.publish("sot/kall/freezer/f1/temperature", "-18.0")
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", "-18.0")
    await pass_time(mqtt_hass, freezer, timedelta(seconds=50))
    assert mqtt_hass.states.get("sensor.kall_freezer_f1_temperature").state == "-18.0"  # type: ignore[union-attr]
    await pass_time(mqtt_hass, freezer, timedelta(seconds=20))
    await wait_for_state(mqtt_hass, "sensor.kall_freezer_f1_temperature", STATE_UNAVAILABLE)


# -- a real site -----------------------------------------------------------------------------


async def test_without_the_clock_nothing_changes(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Six minutes are six minutes; no notice, no attribute."""
    coordinator = await start_site(mqtt_hass, field, site_entry(stale_timeout=3600), freezer)
    assert coordinator.clock is None
    await lose_the_grid(mqtt_hass, field)
    await pass_time(mqtt_hass, freezer, timedelta(minutes=6))
    state = await wait_for_state(mqtt_hass, OUTAGE, "6")
    assert DEMO_CLOCK_SPEED not in state.attributes
    assert coordinator.now() == dt_util.utcnow()
    assert coordinator.site.settings.stale_timeout == timedelta(hours=1)
    assert demo_issues(mqtt_hass) == []


async def test_a_clock_that_cannot_be_read_leaves_the_wall_clock(
    mqtt_hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = site_entry(
        stale_timeout=3600,
        data={CONF_DEMO_CLOCK: {"speed": "fast", "since": SINCE.isoformat()}},
    )
    coordinator = await start_site(mqtt_hass, field, broken, freezer)
    assert coordinator.clock is None
    assert "Kall: demo clock speed 'fast' is not a number" in caplog.text
    await lose_the_grid(mqtt_hass, field)
    await pass_time(mqtt_hass, freezer, timedelta(minutes=6))
    await wait_for_state(mqtt_hass, OUTAGE, "6")
    assert demo_issues(mqtt_hass) == []


async def test_a_silent_site_is_told_in_the_minutes_the_operator_set(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Silence is wall-clock time: a minute of it, not a storm minute (a second)."""
    await start_site(mqtt_hass, field, on_demo_clock(silent_after=1), freezer)
    await pass_time(mqtt_hass, freezer, timedelta(seconds=40))
    assert silent_issues(mqtt_hass) == []
    await pass_time(mqtt_hass, freezer, timedelta(seconds=40))
    [silent] = silent_issues(mqtt_hass)
    assert silent.translation_placeholders["minutes"] == "1"


def silent_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith("site_silent")
    ]


async def test_the_summary_left_on_the_broker_waits_one_wall_staleness_timeout(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client
) -> None:
    """Restarted mid-storm, nothing reported yet: the summary the previous run left ("open")
    stays for one staleness timeout of the wall clock (3 seconds here, 5 minutes by default),
    as staleness itself does, not sixty times as long (by default five hours of the demo's
    wall-clock time, the storm long over)."""
    left = {"site": "kall", "name": "Kall", "status": "open", "power": "grid"}
    await field.publish(
        "sot/kall/public", json.dumps({**left, "since": "2026-11-27T22:00:00+00:00"}), retain=True
    )
    try:
        await field.subscribe("sot/kall/public", qos=1)
        await start_site(mqtt_hass, field, on_demo_clock(stale_timeout=3))

        async def told() -> dict[str, Any]:
            async for message in field.messages:
                if message.topic.matches("sot/kall/public") and message.payload:
                    assert isinstance(message.payload, bytes)
                    content: dict[str, Any] = json.loads(message.payload)
                    if content["status"] != "open":
                        return content
            raise AssertionError("no summary")

        async with asyncio.timeout(10):
            content = await told()
        assert content["status"] is None  # nothing reported since the restart: not told
    finally:
        await field.publish("sot/kall/public", b"", retain=True)
