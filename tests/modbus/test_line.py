"""How the poller treats the line: exception answers, refused registers over time, a dead unit
on a shared RS-485 line, and each device's own timeout and pacing."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import UTC, datetime

import pytest
from pymodbus.constants import ExcCodes

from custom_components.sot.modbus.client import SerialSettings, TcpSettings
from custom_components.sot.modbus.poller import (
    QUARANTINE_SECONDS,
    BusPoller,
    DeviceSettings,
)
from custom_components.sot.modbus.profile import load_builtin
from custom_components.sot.site.readings import RejectReason

from .polling import Clock, dse_settings, values_of
from .server import SimulatedDevice, dse_on_load_during_outage, rtu_server, tcp_server

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


async def test_device_failure_answer_blanks_only_that_block(socket_enabled: None) -> None:
    """The controller answers "slave device failure" for its power page; the rest reads on."""
    device = dse_on_load_during_outage()
    device.failing[1536] = ExcCodes.DEVICE_FAILURE
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings()])
        result = await poller.poll(NOW)
        await poller.close()
    values = values_of(result)
    assert "generator/main/power" not in values
    assert values["generator/main/state"] == "running"
    assert values["generator/main/load"] == 42.0  # its own block, next to the failing one
    (rejection,) = result.rejections
    assert rejection.reason is RejectReason.DEVICE_ERROR
    assert "device failure" in rejection.detail
    assert [(s.node, s.online) for s in result.statuses] == [("genset", True)]
    diagnostics = poller.diagnostics()["devices"][0]
    assert diagnostics["errors"] == {"device_failure": 1}
    # A passing fault is not a missing register: it is asked again next time.
    assert diagnostics["quarantined"] == {}


async def test_refused_register_is_asked_again_after_an_hour(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    device = dse_on_load_during_outage(holes=[1290, 1291])
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings()], clock=clock)
        await poller.poll(NOW)
        assert list(poller.diagnostics()["devices"][0]["quarantined"]) == [
            "holding 1290 (generator/fuel_rate)"
        ]
        # Still missing an hour later: asked once more, quarantined again, not logged again.
        clock.now += QUARANTINE_SECONDS
        await poller.poll(NOW)
        warnings = [
            r for r in caplog.records if r.levelname == "WARNING" and "holding 1290" in r.message
        ]
        assert len(warnings) == 1
        # An engine ECU was fitted: the next hourly retry finds the register.
        device.set("holding", 1290, [0, 1234])
        clock.now += QUARANTINE_SECONDS
        back = await poller.poll(NOW)
        await poller.close()
    assert values_of(back)["generator/main/fuel_rate"] == 12.34
    assert poller.diagnostics()["devices"][0]["quarantined"] == {}


async def test_a_dead_unit_on_the_line_does_not_starve_the_live_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An RS-485 line: a grid meter polled every 0.3 s, and a controller that never answers.

    pymodbus would log an ERROR with a dump of the last frames at every unanswered request;
    the log holds one line of ours for the whole outage instead.
    """
    caplog.set_level(logging.INFO)
    meter = SimulatedDevice(input={0: [0] * 0x4A})
    meter.set("input", 0, [0x4367, 0x3333])  # 231.2 V as float32
    devices = [
        DeviceSettings(
            id="meter", profile=load_builtin("eastron_sdm120"), scan_intervals={"fast": 0.3}
        ),
        # Unit 10 does not answer at all; it costs its timeout every time it is asked.
        dse_settings(
            unit=10, timeout=0.25, scan_intervals={"fast": 0.3}, components={"mains": None}
        ),
    ]
    async with rtu_server({1: meter}) as serial_port:
        poller = BusPoller(SerialSettings(port=serial_port, timeout=1.0), devices)
        meter_polls = 0
        started = time.monotonic()
        while time.monotonic() - started < 2.5:
            result = await poller.poll(NOW)
            meter_polls += sum(1 for s in result.statuses if s.node == "meter" and s.online)
            await asyncio.sleep(poller.seconds_to_next_poll())
        elapsed = time.monotonic() - started
        diagnostics = {d["id"]: d for d in poller.diagnostics()["devices"]}
        await poller.close()
    # Close to its own rate: the dead unit is asked ever less often (backoff) and briefly.
    assert meter_polls >= 0.7 * elapsed / 0.3, (meter_polls, elapsed)
    assert diagnostics["genset"]["online"] is False
    assert 2 <= diagnostics["genset"]["errors"]["timeout"] <= 5
    assert diagnostics["meter"]["errors"] == {}
    assert diagnostics["meter"]["online"] is True
    ours = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name.startswith("custom_components.sot") and r.levelno >= logging.INFO
    ]
    assert len(ours) == 1, ours
    assert ours[0][0] == logging.INFO
    assert ours[0][1].startswith("genset does not answer")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno > 20]


async def test_each_device_waits_its_own_timeout(socket_enabled: None) -> None:
    """A silent unit with a short timeout on a gateway whose default timeout is long."""
    async with tcp_server({1: dse_on_load_during_outage()}) as port:
        poller = BusPoller(
            TcpSettings(host="127.0.0.1", port=port, timeout=5.0),
            [
                dse_settings(components={"mains": None}),
                DeviceSettings(
                    id="meter", profile=load_builtin("pzem_004t"), unit=2, timeout=0.2, misses=1
                ),
            ],
        )
        started = time.monotonic()
        result = await poller.poll(NOW)
        took = time.monotonic() - started
        await poller.close()
    assert {s.node: s.online for s in result.statuses} == {"genset": True, "meter": False}
    assert took < 1.5


async def test_pacing_keeps_the_line_quiet_between_requests(socket_enabled: None) -> None:
    device = dse_on_load_during_outage()
    async with tcp_server({1: device}) as port:
        poller = BusPoller(TcpSettings(host="127.0.0.1", port=port), [dse_settings(pacing=0.05)])
        await poller.poll(NOW)
        await poller.close()
    assert len(device.arrivals) == 7
    gaps = [later - earlier for earlier, later in itertools.pairwise(device.arrivals)]
    assert min(gaps) >= 0.045, gaps
    diagnostics = poller.diagnostics()["devices"][0]
    assert diagnostics["requests_per_poll"] == 7
    assert diagnostics["pacing_s"] == 0.05
    assert diagnostics["last_poll"] == NOW.isoformat()
    assert diagnostics["last_poll_ms"] >= 6 * 50
