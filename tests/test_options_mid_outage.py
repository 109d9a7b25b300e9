"""Settings changed through the options form in the middle of a storm: nothing raised twice,
nothing lost, and the change takes effect as the settings table says (docs/integration.md)."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

import aiomqtt
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.sot.const import EVENT_ALARM
from custom_components.sot.coordinator import SiteCoordinator

from .helpers import heard, site_entry, start_site, wait_for


async def _configure(hass: HomeAssistant, entry: Any, **changes: Any) -> None:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**entry.options, **changes}
    )
    assert result["type"] == "create_entry", result
    await hass.async_block_till_done()


async def _tank(
    hass: HomeAssistant,
    field: aiomqtt.Client,
    freezer: FrozenDateTimeFactory,
    coordinator: SiteCoordinator,
    levels: list[float],
    day_tank_litres: float | None = None,
) -> None:
    """The gauge reads each of `levels` (%), 10 s apart, the set standing still; the day
    tank, if it has `day_tank_litres`, reports them once a minute."""
    for step, level in enumerate(levels):
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        if step % 6 == 0:
            await field.publish("sot/kall/generator/main/state", "stopped")
            if day_tank_litres is not None:
                await field.publish("sot/kall/tank/day/volume", f"{day_tank_litres:.1f}")
        await field.publish("sot/kall/tank/main/level", f"{level:.2f}")
        at = dt_util.utcnow()
        await wait_for(hass, lambda at=at: heard(coordinator, "tank/main/level", at), "the reading")


async def _on_backup_standing(
    hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory, event_type: str
) -> tuple[Any, SiteCoordinator, list[Event]]:
    """Kall in an outage, its set standing; the `event_type` alarms raised from then on."""
    entry = site_entry(alarm_delay=0)
    coordinator = await start_site(hass, field, entry, freezer)
    fired: list[Event] = []
    hass.bus.async_listen(
        EVENT_ALARM,
        callback(lambda e: fired.append(e) if e.data["event_type"] == event_type else None),
    )
    await field.publish("sot/kall/grid/main/present", "OFF")
    return entry, coordinator, fired


async def test_a_tank_capacity_corrected_during_a_theft_raises_the_drain_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Fuel is being stolen from the standing set's tank, 15 L a minute of the 1000 L the
    site takes it for; the drain is raised. The operator corrects the capacity to the tank's
    600 L while the theft goes on: the same drain goes on, on the new scale, and is not raised
    a second time; it is logged once, with every litre lost."""
    hass = mqtt_hass
    entry, coordinator, fired = await _on_backup_standing(hass, field, freezer, "fuel_drain")
    rng = random.Random(4)
    await _tank(hass, field, freezer, coordinator, [60.0 + rng.gauss(0, 0.3) for _ in range(180)])
    assert fired == []
    level = 60.0
    stolen: list[float] = []
    for _ in range(12):  # two minutes, 2.5 L each 10 s
        level -= 0.25
        stolen.append(level + rng.gauss(0, 0.3))
    await _tank(hass, field, freezer, coordinator, stolen)
    assert len(fired) == 1

    await _configure(hass, entry, tank_capacity=600.0)
    stolen = []
    for _ in range(18):  # three minutes more
        level -= 0.25
        stolen.append(level + rng.gauss(0, 0.3))
    await _tank(hass, field, freezer, coordinator, stolen)
    await _tank(hass, field, freezer, coordinator, [level + rng.gauss(0, 0.3) for _ in range(60)])
    assert len(fired) == 1, [e.data for e in fired]
    runtime = hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    assert runtime.attributes["draining"] is False
    # 7.5 % of the tank: 45 L taken of 600 L.
    assert runtime.attributes["last_drain"]["litres"] == pytest.approx(45.0, abs=4.0)


async def test_a_tank_capacity_corrected_during_a_delivery_logs_the_whole_refill(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """The tanker fills the standing set's tank from 30 % to 78 %; a third of the way through,
    the operator corrects the capacity from 1000 L to the tank's 600 L. The refill raised and
    logged is the whole delivery on the new scale, 288 L, from when it began."""
    hass = mqtt_hass
    entry, coordinator, fired = await _on_backup_standing(hass, field, freezer, "fuel_refilled")
    rng = random.Random(4)
    await _tank(hass, field, freezer, coordinator, [30.0 + rng.gauss(0, 0.3) for _ in range(180)])
    began = dt_util.utcnow()
    await _tank(hass, field, freezer, coordinator, [30.0 + 2.0 * (n + 1) for n in range(6)])
    changed = dt_util.utcnow()
    await _configure(hass, entry, tank_capacity=600.0)
    await _tank(hass, field, freezer, coordinator, [42.0 + 2.0 * (n + 1) for n in range(18)])
    await _tank(hass, field, freezer, coordinator, [78.0 + rng.gauss(0, 0.3) for _ in range(60)])
    assert len(fired) == 1, [e.data for e in fired]
    assert fired[0].data["litres_added"] == pytest.approx(288.0, abs=6.0)
    assert began < datetime.fromisoformat(fired[0].data["time"]) < changed


async def test_a_longer_alarm_delay_still_raises_a_probe_that_reports_on_a_change(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """Mid-outage the operator sets the freezer alarm delay to 30 minutes. Freezer f1's probe
    reports only on a change of 0.5 °C (ESPHome's delta filter), every 13 minutes as the
    cabinet warms, its node online: it stays live between reports. It crosses −15 °C and
    stays above: the warning is raised 30 minutes later, once, not put off at every report."""
    hass = mqtt_hass
    entry = site_entry()
    coordinator = await start_site(hass, field, entry, freezer)
    fired: list[tuple[str, datetime]] = []
    hass.bus.async_listen(
        EVENT_ALARM,
        callback(lambda e: fired.append((e.data["event_type"], dt_util.utcnow()))),
    )
    await field.publish("sot/kall/node/freezers/status", "online")
    await field.publish("sot/kall/freezer/f1/meta", '{"node": "freezers"}')
    await field.publish("sot/kall/grid/main/present", "OFF")
    await _configure(hass, entry, alarm_delay=30)
    crossed: datetime | None = None
    for report in range(14):
        temperature = -19.0 + 0.5 * report
        await field.publish("sot/kall/freezer/f1/temperature", f"{temperature:.1f}")
        at = dt_util.utcnow()
        await wait_for(
            hass, lambda at=at: heard(coordinator, "freezer/f1/temperature", at), "the report"
        )
        if crossed is None and temperature > -15.0:
            crossed = at
        for _ in range(52):  # 13 minutes
            freezer.tick(timedelta(seconds=15))
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
            # The broker's answers (a ping's, a publish's) come in real time.
            await hass.async_add_executor_job(time.sleep, 0.01)
    assert crossed is not None
    warnings = [at for kind, at in fired if kind == "freezer_warning"]
    assert len(warnings) == 1, fired
    assert timedelta(minutes=30) <= warnings[0] - crossed <= timedelta(minutes=31)


async def test_a_reload_after_a_silent_controller_keeps_the_rate_correction(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """The set burns 30 L/h, as its controller says; the controller falls silent for 8
    minutes (the staleness timeout is 30 s) while the gauge goes on reading the tank's fall.
    The site is reloaded (renamed, a Modbus device added) after the controller is heard again
    and before the next level: the 4 L burned meanwhile, which no rate integrated, are not the
    rate's error (the correction was 1.29 after it, the fuel hours a fifth short)."""
    hass = mqtt_hass
    entry = site_entry(alarm_delay=0, stale_timeout=30)
    coordinator = await start_site(hass, field, entry, freezer)
    await field.publish("sot/kall/grid/main/present", "OFF")
    litres = 500.0

    async def reading(controller: bool, gauge: bool = True) -> None:
        nonlocal litres
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        litres -= 30.0 / 360
        at = dt_util.utcnow()
        if controller:
            await field.publish("sot/kall/generator/main/state", "running")
            await field.publish("sot/kall/generator/main/on_load", "ON")
            await field.publish("sot/kall/generator/main/fuel_rate", "30.0")
            await wait_for(
                hass, lambda: heard(coordinator, "generator/main/fuel_rate", at), "the rate"
            )
        if gauge:
            await field.publish("sot/kall/tank/main/volume", f"{litres:.2f}")
            await wait_for(hass, lambda: heard(coordinator, "tank/main/volume", at), "the volume")

    for _ in range(120):
        await reading(controller=True)
    runtime = hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    held = runtime.attributes["rate_correction"]
    assert held == pytest.approx(1.0, abs=0.03)
    for _ in range(48):
        await reading(controller=False)
    await reading(controller=True, gauge=False)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    for _ in range(30):
        await reading(controller=True)
    runtime = hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    assert runtime.attributes["rate_correction"] == pytest.approx(held, abs=0.02)


async def test_a_capacity_corrected_during_a_delivery_on_a_mixed_site_logs_the_refill_once(
    mqtt_hass: HomeAssistant, field: aiomqtt.Client, freezer: FrozenDateTimeFactory
) -> None:
    """The day tank reports litres (150 L), the main tank per cent. The tanker fills the main
    tank from 30 % to 78 %; a third of the way through, the operator corrects its capacity
    from 1000 L to its 600 L. One refill is raised and logged, the whole delivery on the new
    scale, 288 L, from when it began."""
    hass = mqtt_hass
    entry, coordinator, fired = await _on_backup_standing(hass, field, freezer, "fuel_refilled")
    rng = random.Random(4)

    async def tanks(levels: list[float]) -> None:
        await _tank(hass, field, freezer, coordinator, levels, day_tank_litres=150.0)

    await tanks([30.0 + rng.gauss(0, 0.3) for _ in range(180)])
    began = dt_util.utcnow()
    await tanks([30.0 + 2.0 * (n + 1) for n in range(6)])
    changed = dt_util.utcnow()
    await _configure(hass, entry, tank_capacity=600.0)
    await tanks([42.0 + 2.0 * (n + 1) for n in range(18)])
    await tanks([78.0 + rng.gauss(0, 0.3) for _ in range(60)])
    assert len(fired) == 1, [e.data for e in fired]
    assert fired[0].data["litres_added"] == pytest.approx(288.0, abs=6.0)
    assert began < datetime.fromisoformat(fired[0].data["time"]) < changed
    runtime = hass.states.get("sensor.kall_fuel_runtime")
    assert runtime is not None
    assert runtime.attributes["last_refill"]["litres"] == pytest.approx(288.0, abs=6.0)
