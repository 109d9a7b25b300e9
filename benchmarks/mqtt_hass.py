"""The MQTT benchmark's processes: Mosquitto and Home Assistant instances, their CPU time.

Each Home Assistant gets a configuration directory of its own under the run's temporary
directory: `configuration.yaml` (http on a free loopback port, the probe, and for the core
instance the `mqtt: sensor:` entities), `.storage/core.config_entries` (the MQTT broker and,
for ours, one SOT entry per site), `custom_components/sot` linked to this checkout's
integration and `custom_components/bench_probe` linked to benchmarks/bench_probe. Every child
runs in its own process group and is stopped with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from mqtt_load import Topic

# The demo's own port helpers: the benchmark starts its instances the way the demo does.
from simulator.demo import free_port, wait_for_port

REPO: Final = Path(__file__).resolve().parent.parent
PROBE: Final = REPO / "benchmarks" / "bench_probe"
HASS_START_TIMEOUT_S: Final = 300.0
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


# -- /proc ----------------------------------------------------------------------------------


def parse_stat(text: str) -> tuple[int, int]:
    """utime and stime (clock ticks) from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may hold spaces and parentheses, so the
    fields are counted from the last ')': state is field 3, utime 14 and stime 15.
    """
    rest = text[text.rindex(")") + 2 :].split()
    return int(rest[14 - 3]), int(rest[15 - 3])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far."""
    utime, stime = parse_stat(Path(f"/proc/{pid}/stat").read_text(encoding="ascii"))
    return (utime + stime) / CLOCK_TICKS


def parse_proc_stat(text: str) -> float:
    """Busy CPU seconds of the whole machine since boot, from the text of /proc/stat.

    The first line sums all CPUs: user nice system idle iowait irq softirq steal ...; busy is
    everything but idle and iowait (guest time is already inside user).
    """
    fields = [int(value) for value in text.splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine has used so far."""
    return parse_proc_stat(Path("/proc/stat").read_text(encoding="ascii"))


# -- configuration --------------------------------------------------------------------------


def _entry_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:26].upper()


def _entry(
    domain: str,
    title: str,
    data: dict[str, Any],
    unique_id: str | None,
    version: int,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    return {
        "created_at": now,
        "data": data,
        "discovery_keys": {},
        "disabled_by": None,
        "domain": domain,
        "entry_id": _entry_id(domain, unique_id or title),
        "minor_version": 1,
        "modified_at": now,
        "options": options or {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": title,
        "unique_id": unique_id,
        "version": version,
    }


def config_entries(broker_port: int, sites: Sequence[str]) -> dict[str, Any]:
    """`.storage/core.config_entries`: the broker, and one SOT entry per site."""
    entries = [_entry("mqtt", "127.0.0.1", {"broker": "127.0.0.1", "port": broker_port}, None, 2)]
    entries += [
        _entry(
            "sot",
            site.capitalize(),
            {"name": site.capitalize(), "site_id": site, "base_topic": f"sot/{site}"},
            site,
            1,
            # A 60 kW set, a 1000 L tank, retail freezer limits: the integration's defaults.
            {"freezer_warning": -15.0, "freezer_critical": -12.0},
        )
        for site in sites
    ]
    return {
        "version": 1,
        "minor_version": 5,
        "key": "core.config_entries",
        "data": {"entries": entries},
    }


def mqtt_sensors(topics: Sequence[Topic]) -> list[dict[str, Any]]:
    """Home Assistant's own MQTT sensors for the topics, as a new user writes them."""
    sensors = []
    for topic in topics:
        sensor: dict[str, Any] = {
            "name": f"{topic.site} {topic.q.kind} {topic.q.id} {topic.q.quantity}",
            "unique_id": topic.key,
            "state_topic": topic.name,
        }
        if topic.q.unit is not None:
            sensor["unit_of_measurement"] = topic.q.unit
        if topic.q.device_class is not None:
            sensor["device_class"] = topic.q.device_class
        if topic.q.state_class is not None and topic.numbered:
            sensor["state_class"] = topic.q.state_class
        sensors.append(sensor)
    return sensors


def configuration_yaml(
    http_port: int, core_topics: Sequence[Topic], recorder: bool, name: str
) -> str:
    """Only what is measured: no frontend, no default_config; the recorder on request."""
    lines = [
        "# Written by scripts/bench mqtt (benchmarks/mqtt_hass.py) for one run.",
        "homeassistant:",
        f"  name: {name}",
        "  latitude: 63.474",
        "  longitude: 13.255",
        "  elevation: 420",
        "  unit_system: metric",
        "  time_zone: Europe/Stockholm",
        "  country: SE",
        "http:",
        "  server_host: 127.0.0.1",
        f"  server_port: {http_port}",
        "logger:",
        "  default: warning",
        "bench_probe:",
    ]
    if recorder:
        lines += ["recorder:", "  commit_interval: 5"]
    if core_topics:
        # JSON is YAML: one line per sensor keeps a 2000-sensor file quick to write and read.
        lines += ["mqtt:", "  sensor:"]
        lines += [f"    - {json.dumps(sensor)}" for sensor in mqtt_sensors(core_topics)]
    return "\n".join(lines) + "\n"


def write_config(
    config_dir: Path,
    *,
    name: str,
    http_port: int,
    broker_port: int,
    sites: Sequence[str] = (),
    core_topics: Sequence[Topic] = (),
    recorder: bool = False,
) -> None:
    """A fresh configuration directory for one Home Assistant instance."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        configuration_yaml(http_port, core_topics, recorder, name), encoding="utf-8"
    )
    (storage / "core.config_entries").write_text(
        json.dumps(config_entries(broker_port, sites), indent=1), encoding="utf-8"
    )
    components = config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    (components / "bench_probe").symlink_to(PROBE)
    if sites:
        (components / "sot").symlink_to(REPO / "custom_components" / "sot")


# -- processes ------------------------------------------------------------------------------


@dataclass
class Children:
    """Child processes, each in its own process group, stopped in reverse order."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    def spawn(
        self, argv: Sequence[str], log: Path, stdin: int | None = subprocess.DEVNULL
    ) -> subprocess.Popen[bytes]:
        """Start `argv` in its own process group, its output to `log`, in `log`'s directory."""
        cwd = log.parent
        out = log.open("wb")
        self.logs.append(out)
        # Without PYTHONPATH: scripts/bench puts the checkout on it, whose `custom_components`
        # package would shadow the config directory's, and hass would miss the probe.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
        """TERM the process's group, KILL it if it has not gone within `timeout`."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)
        for log in self.logs:
            log.close()
        self.logs.clear()


def mosquitto_binary() -> str:
    """Debian's broker, or a clear error saying how to get it."""
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("mosquitto is not installed: run scripts/setup (apt-get install mosquitto)")


def start_broker(children: Children, run_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Mosquitto on loopback, no persistence, its per-client queue at the default 1000; its log
    (with each client's connects and disconnects) in the run directory."""
    port = free_port()
    conf = run_dir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n",
        encoding="utf-8",
    )
    proc = children.spawn([mosquitto_binary(), "-c", str(conf)], run_dir / "mosquitto.log")
    wait_for_port(port, proc, "mosquitto", 10)
    return proc, port


def hass_binary() -> Path:
    """The venv's hass, next to the Python that runs the benchmark."""
    hass = Path(sys.executable).with_name("hass")
    if not hass.exists():
        raise RuntimeError(f"{hass} is missing: run scripts/setup")
    return hass


@dataclass
class Hass:
    """One running Home Assistant and its probe."""

    name: str
    config_dir: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        """CPU seconds the process has used so far."""
        return cpu_seconds(self.pid)

    def _request(self, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/bench_probe/{path}",
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def status(self) -> dict[str, Any]:
        return dict(self._request("status"))

    def registry(self) -> list[dict[str, Any]]:
        return list(self._request("registry")["entities"])

    def track(self, tracked: Sequence[str], counted: Sequence[str]) -> dict[str, Any]:
        return dict(self._request("track", {"tracked": list(tracked), "counted": list(counted)}))

    def records(self) -> list[tuple[int, int, str]]:
        return [tuple(r) for r in self._request("records", timeout=120)["records"]]

    def profile(self, action: str, path: Path | None = None) -> None:
        self._request("profile", {"action": action, "path": str(path) if path else None})

    def log_tail(self, lines: int = 30) -> str:
        log = self.config_dir / "home-assistant.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def wait_ready(self, sot_sites: int, timeout: float = HASS_START_TIMEOUT_S) -> dict[str, Any]:
        """Until the probe answers, MQTT is connected and every SOT site is loaded."""
        deadline = time.monotonic() + timeout
        last: object = "no answer"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name}: Home Assistant exited with code {self.proc.returncode}\n"
                    + self.log_tail()
                )
            try:
                last = status = self.status()
            except (urllib.error.URLError, OSError, ValueError) as err:
                last = err
            else:
                if status["mqtt_connected"] and status["sot_loaded"] >= sot_sites:
                    return status
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name}: not ready within {timeout:.0f} s ({last})\n" + self.log_tail()
                )
            time.sleep(0.5)


def start_hass(children: Children, name: str, config_dir: Path, port: int) -> Hass:
    """`hass -c DIR`, its output in DIR/hass.stdout.log (HA logs to DIR/home-assistant.log)."""
    proc = children.spawn(
        [str(hass_binary()), "-c", str(config_dir)], config_dir / "hass.stdout.log"
    )
    return Hass(name, config_dir, port, proc)
