"""A real Mosquitto broker on a free loopback port, for tests, the simulator and benchmarks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("mosquitto is not installed: run scripts/setup (apt-get install mosquitto)")


@contextmanager
def mosquitto(port: int | None = None, persistence: Path | None = None) -> Iterator[int]:
    """Run a broker listening on 127.0.0.1 only; yield its port; stop it (SIGTERM) afterwards.

    With `persistence`, it keeps its retained messages there across a restart, as Debian's
    and the Home Assistant add-on's brokers do.
    """
    port = port or free_port()
    kept = "false" if persistence is None else f"true\npersistence_location {persistence}/"
    with tempfile.TemporaryDirectory(prefix="sot-mosquitto-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence {kept}\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n"
        )
        proc = subprocess.Popen(
            [_mosquitto_binary(), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err = proc.stderr.read().decode() if proc.stderr else ""
                        raise RuntimeError(
                            f"mosquitto did not start on port {port}: {err}"
                        ) from None
                    time.sleep(0.05)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
