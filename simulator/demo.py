"""The one-command demo: Mosquitto, Home Assistant with the sites configured, the simulator.

`scripts/demo` runs this after `scripts/setup`; the browser test uses `DemoStack` directly, so
both start exactly the same thing. Every child runs in its own process group and is stopped
with its group on exit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from .demo_config import DASHBOARD_URL, REPO, DemoConfig, write_demo_config
from .runner import with_transport
from .scenario import (
    SCENARIO_DIR,
    ScenarioError,
    load_scenario,
    parse_duration,
    scenario_path,
)
from .sites import SITES

DEFAULT_CONFIG_DIR: Final = REPO / "demo-config"
HA_START_TIMEOUT_S: Final = 300.0


def port_is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """Some port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def preferred_port(port: int) -> int:
    """`port` when it is free, else any free one."""
    return port if port_is_free(port) else free_port()


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    """Until something accepts connections on the port; fails early if `proc` dies."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it listened")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")
        time.sleep(0.2)


# From 2026.10 Home Assistant keeps its web server settings in `.storage/http` and takes the
# `http:` YAML only once, as a trial that it reverts (restarting) unless it is confirmed within
# five minutes. The demo writes the confirmed settings there instead, made by that release's
# own schema so nothing is left to a default.
_HTTP_STORE = """
import json, sys
from homeassistant.components.http import HTTP_SCHEMA
stable = HTTP_SCHEMA({"server_host": ["127.0.0.1"], "server_port": int(sys.argv[1])})
print(json.dumps({"version": 2, "minor_version": 2, "key": "http", "data": {
    "stable": stable, "pending": None, "yaml_migration_done": True}}, default=str))
"""


def http_store_for(hass: Path, port: int) -> dict[str, Any] | None:
    """`.storage/http` for a Home Assistant that keeps its web settings there, else None."""
    python = hass.with_name("python")
    if not python.exists():
        return None
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import homeassistant.const as c; print(c.MAJOR_VERSION, c.MINOR_VERSION)",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    try:
        major, minor = (int(part) for part in probe.stdout.split())
    except ValueError:
        return None
    if (major, minor) < (2026, 10):
        return None
    made = subprocess.run(
        [str(python), "-c", _HTTP_STORE, str(port)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    store: dict[str, Any] = json.loads(made.stdout)
    return store


def integration_sets_up_modbus() -> bool:
    """Whether this checkout's integration starts a Modbus hub for a site's device subentries.

    When it does not, Kall's generator and grid go over MQTT instead, so the demo shows them.
    """
    package = REPO / "custom_components" / "sot"
    setup_files = [package / "__init__.py", package / "coordinator.py"]
    return any(
        path.exists() and "ModbusHub(" in path.read_text(encoding="utf-8") for path in setup_files
    )


def mosquitto_binary() -> str:
    """Debian's broker, or a clear error saying how to get it."""
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("mosquitto is not installed: run scripts/setup (apt-get install mosquitto)")


@dataclass(kw_only=True)
class DemoStack:
    """Broker, Home Assistant and simulator, started in that order and stopped in reverse."""

    config_dir: Path = DEFAULT_CONFIG_DIR
    ha_port: int = 8123
    broker_port: int | None = None
    modbus_port: int | None = None
    speed: float = 60.0
    scenario: str = "storm"
    start_at: str = "0"
    site_ids: tuple[str, ...] = tuple(SITES)
    # None: Modbus for Kall when the integration sets up Modbus devices, else MQTT only.
    mqtt_only: bool | None = None
    status_file: Path | None = None
    # From when the sites' clock runs at `speed` (the demo's clock); chosen at the first
    # write_config, so a Home Assistant restarted within the run keeps the storm's time.
    clock_since: datetime | None = None
    # None: children write to this terminal; otherwise their output goes to files in it.
    log_dir: Path | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """The operator dashboard."""
        return f"http://127.0.0.1:{self.ha_port}/{DASHBOARD_URL}/kall"

    def _spawn(
        self, name: str, argv: list[str], quiet_log: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a child in its own process group; `quiet_log` keeps it off the terminal."""
        out: IO[bytes] | int | None = None
        log_path = self.log_dir / f"{name}.log" if self.log_dir is not None else quiet_log
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = log_path.open("wb")
            self._logs.append(log)
            out = log
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start_broker(self) -> None:
        """Mosquitto on loopback only, no persistence."""
        self.broker_port = self.broker_port or preferred_port(1883)
        self._tmp = tempfile.TemporaryDirectory(prefix="sot-demo-")
        conf = Path(self._tmp.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n",
            encoding="utf-8",
        )
        proc = self._spawn("mosquitto", [mosquitto_binary(), "-c", str(conf)])
        wait_for_port(self.broker_port, proc, "mosquitto", 10)

    def write_config(self) -> None:
        """Home Assistant's config directory for these ports and sites."""
        self.modbus_port = self.modbus_port or preferred_port(5020)
        assert self.broker_port is not None
        if self.mqtt_only is None:
            self.mqtt_only = not integration_sets_up_modbus()
        specs = tuple(with_transport(SITES[s], mqtt_only=self.mqtt_only) for s in self.site_ids)
        http_store = http_store_for(self.hass_binary(), self.ha_port)
        if self.speed != 1 and self.clock_since is None:
            self.clock_since = datetime.now(UTC)
        write_demo_config(
            DemoConfig(
                config_dir=self.config_dir,
                ha_port=self.ha_port,
                broker_port=self.broker_port,
                modbus_port=self.modbus_port,
                sites=specs,
                http_store=http_store,
                speed=self.speed,
                clock_since=self.clock_since,
            )
        )

    @staticmethod
    def hass_binary() -> Path:
        """The `hass` to start: this venv's, or another installation's (SOT_HASS)."""
        return Path(os.environ.get("SOT_HASS") or Path(sys.executable).with_name("hass"))

    def start_home_assistant(self) -> None:
        """`hass -c <config>`, then wait until its web server answers."""
        if not port_is_free(self.ha_port):
            raise RuntimeError(f"port {self.ha_port} is taken: pass another with --port")
        # SOT_HASS: another installation's hass (scripts/demo --ha-next: the newest release).
        hass = self.hass_binary()
        if not hass.exists():
            raise RuntimeError(
                f"{hass} is missing: "
                + ("check SOT_HASS" if os.environ.get("SOT_HASS") else "run scripts/setup")
            )
        # The terminal is for the simulator's story; Home Assistant has its own log file.
        proc = self._spawn(
            "home-assistant",
            [str(hass), "-c", str(self.config_dir)],
            quiet_log=self.config_dir / "home-assistant.stdout.log",
        )
        wait_for_port(self.ha_port, proc, "Home Assistant", HA_START_TIMEOUT_S)
        deadline = time.monotonic() + HA_START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.ha_port}/manifest.json", timeout=5
                ):
                    return
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "Home Assistant did not serve its frontend; see "
                        f"{self.config_dir / 'home-assistant.log'}"
                    ) from None
                time.sleep(0.5)

    def start_simulator(self) -> None:
        """The sites, playing the scenario."""
        argv = [
            sys.executable,
            "-m",
            "simulator",
            "--broker",
            f"127.0.0.1:{self.broker_port}",
            "--modbus",
            f"127.0.0.1:{self.modbus_port}",
            "--sites",
            ",".join(self.site_ids),
            "--scenario",
            self.scenario,
            "--speed",
            str(self.speed),
            "--start-at",
            self.start_at,
        ]
        if self.mqtt_only:
            argv.append("--mqtt-only")
        if self.status_file is not None:
            argv += ["--status-file", str(self.status_file)]
        proc = self._spawn("simulator", argv)
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"the simulator exited with code {proc.returncode}")

    def start(self) -> None:
        """Everything, in order; on failure whatever started is stopped again."""
        try:
            self.start_broker()
            self.write_config()
            self.start_home_assistant()
            self.start_simulator()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Each child's whole process group in reverse start order: TERM, then KILL.

        One at a time, so the simulator still reaches the broker to leave its nodes offline.
        """
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @contextlib.contextmanager
    def running(self) -> Iterator[DemoStack]:
        """Started for the `with` block, stopped after it."""
        self.start()
        try:
            yield self
        finally:
            self.stop()


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port


def _speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return speed


def _start_at(value: str) -> str:
    """Checked here, passed on as written: the simulator reads it the same way."""
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or later, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the demo until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=_port, default=8123, help="Home Assistant's port (8123)")
    parser.add_argument(
        "--speed",
        type=_speed,
        default=60.0,
        help="simulated seconds per real second (default 60: an hour a minute)",
    )
    parser.add_argument("--scenario", default="storm", help="scenario name or file (storm)")
    parser.add_argument(
        "--start-at", type=_start_at, default="0", help="jump into the scenario (e.g. 1:30)"
    )
    parser.add_argument("--broker-port", type=_port, help="MQTT port (default 1883 if free)")
    parser.add_argument(
        "--mqtt-only",
        action="store_true",
        help="Kall's generator and grid over MQTT too (no Modbus in HA)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help="Home Assistant config directory the demo writes (demo-config/)",
    )
    args = parser.parse_args(argv)
    # A typo is told now, not after a minute of Home Assistant starting for nothing.
    try:
        load_scenario(args.scenario, SITES)
        scenario = scenario_path(args.scenario)
    except ScenarioError as err:
        parser.error(str(err))
    # The simulator runs in the repository: a scenario file is passed on as a full path.
    if scenario.parent != SCENARIO_DIR:
        args.scenario = str(scenario.resolve())
    stack = DemoStack(
        config_dir=args.config_dir.resolve(),
        ha_port=args.port,
        broker_port=args.broker_port,
        speed=args.speed,
        scenario=args.scenario,
        start_at=args.start_at,
        # Not given: Modbus for Kall when the integration sets up Modbus devices (write_config).
        mqtt_only=True if args.mqtt_only else None,
    )

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Also SIGINT: a shell that starts the demo in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        print("demo: starting Mosquitto, Home Assistant (30–90 s) and the simulator…", flush=True)
        stack.start()
        print(
            f"\ndemo: ready. Open {stack.url}\n"
            f"demo: county view: http://127.0.0.1:{stack.ha_port}/{DASHBOARD_URL}/lan\n"
            f"demo: MQTT on 127.0.0.1:{stack.broker_port}"
            + (
                ""
                if stack.mqtt_only
                else f", Kall's Modbus TCP on 127.0.0.1:{stack.modbus_port} "
                "(units 1 DSE, 2 SDM630, 3 relays)"
            )
            + "\n"
            f"demo: playing '{stack.scenario}' at {stack.speed:g}x; Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(proc.poll() is None for proc in stack.procs):
            time.sleep(1)
        print("demo: a component exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: stopping…", flush=True)
        return 0
    except RuntimeError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
