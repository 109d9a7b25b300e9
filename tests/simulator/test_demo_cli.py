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
