"""`python -m simulator` as a user runs it: a whole storm at 3600× against a real broker."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from simulator.demo_config import REPO

from ..mosquitto import free_port


def run_simulator(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_storm_plays_to_its_end_at_high_speed(sim_broker: int, tmp_path: Path) -> None:
    """Twelve simulated hours in about twelve seconds; the console tells the story."""
    status = tmp_path / "status.json"
    started = time.monotonic()
    result = run_simulator(
        "--broker", f"127.0.0.1:{sim_broker}",
        "--modbus", f"127.0.0.1:{free_port()}",
        "--speed", "3600",
        "--exit-at-end",
        "--status-file", str(status),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 45
    log = result.stderr
    for line in (
        "valsjobyn  grid lost",
        "kall       changeover to generator",
        "hallen     generator failed",
        "kall       refuelled 400 L",
        "kall       generator stopped",
        "Storm over",
    ):
        assert line in log, f"{line!r} missing from the console:\n{log}"
    state = json.loads(status.read_text())
    assert state["finished"]
    kall = state["sites"]["kall"]
    assert kall["source"] == "grid"
    assert kall["generator"]["state"] == "stopped"
    assert kall["tank"]["level"] > 70
    assert state["sites"]["valsjobyn"]["generator"]["starts"] == 1


def test_bad_arguments_are_explained(tmp_path: Path) -> None:
    """A typo in a scenario or site name is a clear message and exit code 2, not a traceback."""
    result = run_simulator("--scenario", "stromm")
    assert result.returncode == 2
    assert "shipped scenarios: normal, storm" in result.stderr
    result = run_simulator("--sites", "kall,oslo")
    assert result.returncode == 2
    assert "unknown site(s) ['oslo']" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("events:\n  - {at: soon, grid: lost}\n")
    result = run_simulator("--scenario", str(broken))
    assert result.returncode == 2
    assert "event 1: not a duration: 'soon'" in result.stderr
    assert "Traceback" not in result.stderr


def test_scenario_times_and_actions_it_cannot_play_are_explained(tmp_path: Path) -> None:
    """A negative or non-finite time in a scenario file played on: `at: nan` silently held
    back every later event, `at: -60` ran at once, `duration: .inf` never ended. A generator
    action written as a list or mapping was a TypeError traceback (exit code 1). Each is a
    message naming the file and the event, and exit code 2."""
    cases = (
        ("- {at: .nan, site: kall, grid: lost}", "event 1: not a duration: nan"),
        ("- {at: '-60', site: kall, grid: lost}", "event 1: not a duration: '-60'"),
        ("- {at: -60, site: kall, grid: lost}", "event 1: not a duration: -60"),
        ("- {at: inf, site: kall, grid: lost}", "event 1: not a duration: 'inf'"),
        ("- {at: '1:00', site: kall, generator: [start]}", "event 1: generator must be one of"),
        ("- {at: '1:00', site: kall, generator: {start: 1}}", "event 1: generator must be"),
    )
    options = ("--sites", "hallen", "--broker", "127.0.0.1:1", "--speed", "1000", "--exit-at-end")
    for number, (event, message) in enumerate(cases):
        scenario = tmp_path / f"case{number}.yaml"
        scenario.write_text(f"events:\n  {event}\n", encoding="utf-8")
        result = run_simulator("--scenario", str(scenario), *options, timeout=20)
        assert result.returncode == 2, (event, result.returncode, result.stderr[-300:])
        assert f"{scenario}: {message}" in result.stderr, (event, result.stderr[-300:])
        assert "Traceback" not in result.stderr
    endless = tmp_path / "endless.yaml"
    endless.write_text("duration: .inf\nevents:\n  - {at: '1:00', note: x}\n", encoding="utf-8")
    result = run_simulator("--scenario", str(endless), *options, timeout=20)
    assert result.returncode == 2, result.stderr[-300:]
    assert f"{endless}: duration: not a duration: inf" in result.stderr


def test_numbers_it_cannot_play_are_refused() -> None:
    """`--speed inf` spun a core and ignored Ctrl-C; `nan`, a negative start or a publish
    interval of 0 ran on with nonsense. Each is a clear message and exit code 2 at once."""
    for option, value in (
        ("--speed", "inf"),
        ("--speed", "nan"),
        ("--start-at", "-5"),
        ("--start-at", "nan"),
        ("--publish-interval", "0"),
        ("--publish-interval", "-1"),
        ("--publish-interval", "nan"),
    ):
        result = run_simulator(option, value, "--broker", "127.0.0.1:1", timeout=20)
        assert result.returncode == 2, (option, value, result.stderr)
        assert option in result.stderr
        assert "Traceback" not in result.stderr


def test_addresses_it_cannot_use_are_explained(socket_enabled: None) -> None:
    """A port past 65535 was an OverflowError traceback (or, for the broker, "connection
    refused" retried for ever), and a Modbus port already taken a RuntimeError traceback."""
    for option, value in (
        ("--modbus", "127.0.0.1:99999"),
        ("--modbus", "127.0.0.1:0"),
        ("--broker", "127.0.0.1:70000"),
    ):
        result = run_simulator(option, value, timeout=20)
        assert result.returncode == 2, (option, value, result.stderr)
        assert f"argument {option}: a port is 1 to 65535" in result.stderr
        assert "Traceback" not in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_simulator(
            "--modbus", f"127.0.0.1:{port}", "--broker", "127.0.0.1:1", timeout=20
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"kall: cannot listen for Modbus TCP on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
