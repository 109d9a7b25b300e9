"""`scripts/demo`'s options as a user types them: what they start, and what a typo does."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import demo
from simulator.demo import DemoStack


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[DemoStack]:
    """The stacks `main` would start, without starting anything (no broker, no hass)."""
    stacks: list[DemoStack] = []

    def start(self: DemoStack) -> None:
        stacks.append(self)
        raise KeyboardInterrupt  # as Ctrl-C: main stops and returns at once

    monkeypatch.setattr(DemoStack, "start", start)
    monkeypatch.setattr(DemoStack, "stop", lambda self: None)
    return stacks


def test_without_mqtt_only_the_transport_follows_the_integration(
    started: list[DemoStack], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """docs/demo.md: `--mqtt-only` defaults to automatic: Modbus when the checkout's
    integration sets up Modbus devices, MQTT otherwise. `main` passed False, so a checkout
    without Modbus devices got Kall's generator and grid on Modbus that nothing polled."""
    assert demo.main(["--config-dir", str(tmp_path)]) == 0
    assert started[-1].mqtt_only is None
    monkeypatch.setattr(demo, "integration_sets_up_modbus", lambda: False)
    monkeypatch.setattr(demo, "http_store_for", lambda hass, port: None)
    stack = started[-1]
    stack.broker_port, stack.modbus_port = 11883, 15020
    stack.write_config()
    assert stack.mqtt_only is True
    assert demo.main(["--mqtt-only", "--config-dir", str(tmp_path)]) == 0
    assert started[-1].mqtt_only is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "0"], "--speed"),
        (["--speed", "-60"], "--speed"),
        (["--speed", "inf"], "--speed"),
        (["--speed", "nan"], "--speed"),
        (["--start-at", "soon"], "--start-at"),
        (["--start-at", "-5"], "--start-at"),
        (["--scenario", "stromm"], "shipped scenarios: normal, storm"),
        (["--port", "99999"], "--port"),
        (["--port", "0"], "--port"),
        (["--broker-port", "70000"], "--broker-port"),
    ],
)
def test_a_bad_option_is_refused_before_anything_starts(
    started: list[DemoStack], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """A typo is a clear message and exit code 2 at once, not a minute of Home Assistant
    starting and then "the simulator exited with code 2" (or a ZeroDivisionError for
    `--speed 0`, an OverflowError for a port past 65535)."""
    with pytest.raises(SystemExit) as exited:
        demo.main(args)
    assert exited.value.code == 2
    assert started == []
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_scenario_file_is_found_from_where_the_demo_was_started(
    started: list[DemoStack], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The simulator runs in the repository; a relative scenario path is the user's."""
    scenario = tmp_path / "mine.yaml"
    scenario.write_text("events:\n  - {at: '0:10', grid: lost}\n")
    monkeypatch.chdir(tmp_path)
    assert demo.main(["--scenario", "mine.yaml", "--config-dir", str(tmp_path / "c")]) == 0
    assert started[-1].scenario == str(scenario)
    assert demo.main(["--scenario", "normal", "--config-dir", str(tmp_path / "c")]) == 0
    assert started[-1].scenario == "normal"
