"""The Home Assistant configuration directory the demo writes."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.config_entries import STORAGE_VERSION, STORAGE_VERSION_MINOR

from custom_components.sot.site.demo_clock import CONF_DEMO_CLOCK, DemoClock
from simulator.demo import DemoStack
from simulator.demo_config import (
    DASHBOARD_FILE,
    REPO,
    STORM_TIME_DASHBOARD_FILE,
    DemoConfig,
    write_demo_config,
)
from simulator.runner import with_transport
from simulator.sites import SITES


def write_config(tmp_path: Path, *, mqtt_only: bool = False) -> Path:
    config_dir = tmp_path / "demo-config"
    write_demo_config(
        DemoConfig(
            config_dir=config_dir,
            ha_port=18123,
            broker_port=11883,
            modbus_port=15020,
            sites=tuple(with_transport(s, mqtt_only=mqtt_only) for s in SITES.values()),
        )
    )
    return config_dir


def test_config_entries_hold_the_broker_and_the_three_sites(tmp_path: Path) -> None:
    """MQTT entry, one SOT entry per site with its data and options, Kall's devices."""
    storage = json.loads((write_config(tmp_path) / ".storage/core.config_entries").read_text())
    assert (storage["version"], storage["minor_version"]) == (
        STORAGE_VERSION,
        STORAGE_VERSION_MINOR,
    )
    entries = {e["unique_id"] or e["domain"]: e for e in storage["data"]["entries"]}
    assert entries["mqtt"]["data"] == {"broker": "127.0.0.1", "port": 11883}
    assert set(entries) == {"mqtt", "kall", "valsjobyn", "hallen"}
    kall = entries["kall"]
    assert kall["domain"] == "sot"
    assert kall["data"] == {"name": "Kall", "site_id": "kall", "base_topic": "sot/kall"}
    assert kall["options"]["generator_rating"] == 56.0
    assert kall["options"]["freezer_warning"] == -15.0
    assert kall["options"]["freezer_critical"] == -12.0
    assert {s["data"]["profile"] for s in kall["subentries"]} == {
        "deep_sea_gencomm",
        "eastron_sdm630",
    }
    assert all(s["subentry_type"] == "modbus_device" for s in kall["subentries"])
    assert all(s["data"]["port"] == 15020 for s in kall["subentries"])
    control = {s["data"]["device_id"]: s["data"]["control_enabled"] for s in kall["subentries"]}
    assert control == {"dse": True, "meter": False}
    assert entries["valsjobyn"]["title"] == "Valsjöbyn"
    assert entries["valsjobyn"]["subentries"] == []
    for entry in entries.values():
        assert len(entry["entry_id"]) == 26


def test_mqtt_only_leaves_out_the_modbus_devices(tmp_path: Path) -> None:
    """With --mqtt-only nothing in Home Assistant polls Modbus."""
    storage = json.loads(
        (write_config(tmp_path, mqtt_only=True) / ".storage/core.config_entries").read_text()
    )
    assert all(e["subentries"] == [] for e in storage["data"]["entries"])


def test_login_free_owner_and_finished_onboarding(tmp_path: Path) -> None:
    """One owner, trusted_networks with bypass for loopback only, every onboarding step done."""
    root = write_config(tmp_path)
    auth = json.loads((root / ".storage/auth").read_text())["data"]
    assert [(u["name"], u["is_owner"], u["system_generated"]) for u in auth["users"]] == [
        ("Operator", True, False)
    ]
    onboarding = json.loads((root / ".storage/onboarding").read_text())["data"]["done"]
    assert set(onboarding) == {"user", "core_config", "analytics", "integration"}
    config = yaml.safe_load((root / "configuration.yaml").read_text().replace("!include", ""))
    trusted = config["homeassistant"]["auth_providers"][0]
    assert trusted == {
        "type": "trusted_networks",
        "trusted_networks": ["127.0.0.1", "::1"],
        "allow_bypass_login": True,
    }
    assert config["http"] == {"server_host": "127.0.0.1", "server_port": 18123}
    assert "default_config" not in config


def test_integration_dashboard_and_blueprints_are_linked(tmp_path: Path) -> None:
    """Relative symlinks into the repository; the dashboard file named in lovelace exists."""
    root = write_config(tmp_path)
    link = root / "custom_components" / "sot"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link))
    assert link.resolve() == (REPO / "custom_components/sot").resolve()
    config = yaml.safe_load((root / "configuration.yaml").read_text().replace("!include", ""))
    dashboard = config["lovelace"]["dashboards"]["sot-operator"]
    assert (root / dashboard["filename"]).is_file()
    automations = {a["id"]: a for a in yaml.safe_load((root / "automations.yaml").read_text())}
    assert sorted(automations) == [
        "sot_demo_hallen_outage_alerts",
        "sot_demo_kall_outage_alerts",
        "sot_demo_valsjobyn_load_shedding",
        "sot_demo_valsjobyn_outage_alerts",
    ]
    for automation in automations.values():
        assert (root / "blueprints/automation" / automation["use_blueprint"]["path"]).is_file()
    alerts = automations["sot_demo_kall_outage_alerts"]["use_blueprint"]["input"]
    assert alerts == {
        "alarm_entity": "event.kall_alarms",
        "notify_devices": [],
        "show_in_home_assistant": True,
    }


def test_rewriting_keeps_the_user(tmp_path: Path) -> None:
    """A second start rewrites the config but not the owner (or their sessions)."""
    root = write_config(tmp_path)
    (root / ".storage/auth").write_text('{"kept": true}')
    write_config(tmp_path)
    assert json.loads((root / ".storage/auth").read_text()) == {"kept": True}


def test_newer_releases_get_their_web_settings_in_storage(tmp_path: Path) -> None:
    """From 2026.10 the `http:` YAML would be an unconfirmed trial, reverted after 5 minutes."""
    store = {"version": 2, "minor_version": 2, "key": "http", "data": {"stable": {"x": 1}}}
    config = DemoConfig(
        config_dir=tmp_path,
        ha_port=8133,
        broker_port=1883,
        modbus_port=5020,
        sites=(SITES["kall"],),
        http_store=store,
    )
    write_demo_config(config)
    assert "http:" not in (tmp_path / "configuration.yaml").read_text()
    assert json.loads((tmp_path / ".storage" / "http").read_text()) == store
    older = DemoConfig(
        config_dir=tmp_path / "older",
        ha_port=8123,
        broker_port=1883,
        modbus_port=5020,
        sites=(SITES["kall"],),
    )
    write_demo_config(older)
    assert "server_port: 8123" in (tmp_path / "older" / "configuration.yaml").read_text()
    assert not (tmp_path / "older" / ".storage" / "http").exists()


SINCE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def write_storm(tmp_path: Path, speed: float = 60.0, since: datetime | None = SINCE) -> Path:
    config_dir = tmp_path / "demo-config"
    write_demo_config(
        DemoConfig(
            config_dir=config_dir,
            ha_port=18123,
            broker_port=11883,
            modbus_port=15020,
            sites=tuple(with_transport(s, mqtt_only=True) for s in SITES.values()),
            speed=speed,
            clock_since=since,
        )
    )
    return config_dir


def sot_entries(root: Path) -> dict[str, dict[str, Any]]:
    storage = json.loads((root / ".storage/core.config_entries").read_text())
    return {e["unique_id"]: e for e in storage["data"]["entries"] if e["domain"] == "sot"}


def test_a_storm_at_speed_puts_every_site_on_the_demo_clock(tmp_path: Path) -> None:
    """The integration reads the clock the demo writes; at speed 1 there is none."""
    entries = sot_entries(write_storm(tmp_path))
    assert set(entries) == {"kall", "valsjobyn", "hallen"}
    for entry in entries.values():
        assert DemoClock.from_data(entry["data"]) == DemoClock(60.0, SINCE)
        assert entry["data"][CONF_DEMO_CLOCK] == {"speed": 60.0, "since": SINCE.isoformat()}
    # Storm minutes, like the storm's other times.
    assert entries["kall"]["options"]["alarm_delay"] == 10
    real_time = sot_entries(write_storm(tmp_path / "real", speed=1.0, since=None))
    assert all(CONF_DEMO_CLOCK not in entry["data"] for entry in real_time.values())


def _windows(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return ([node] if "hours_to_show" in node else []) + [
            card for value in node.values() for card in _windows(value)
        ]
    if isinstance(node, list):
        return [card for value in node for card in _windows(value)]
    return []


def test_the_dashboard_shows_the_storm_at_speed(tmp_path: Path) -> None:
    """History and logbook cards cover their storm hours in real minutes and say so; each
    view opens with the demo's banner; nothing else of the shipped dashboard changes."""
    root = write_storm(tmp_path)
    config = yaml.safe_load((root / "configuration.yaml").read_text().replace("!include", ""))
    filename = config["lovelace"]["dashboards"]["sot-operator"]["filename"]
    assert filename == STORM_TIME_DASHBOARD_FILE
    shipped_text = (REPO / DASHBOARD_FILE).read_text(encoding="utf-8")
    shipped = yaml.safe_load(shipped_text)
    storm = yaml.safe_load((root / filename).read_text(encoding="utf-8"))

    windows = list(zip(_windows(shipped), _windows(storm), strict=True))
    assert windows, "the operator dashboard has history cards"
    titles = []
    for before, after in windows:
        assert after["hours_to_show"] == pytest.approx(before["hours_to_show"] / 60, abs=1e-4)
        titles.append(after["title"])
    assert "Frystemperatur, senaste 6 timmarna (i demot: 6 min verklig tid, 60×)" in titles
    assert "Matning per punkt, senaste 12 timmarna (i demot: 12 min verklig tid, 60×)" in titles

    for view in storm["views"]:
        first = view["sections"][0]["cards"][0] if "sections" in view else view["cards"][0]
        first = first["cards"][0] if "cards" in first else first
        assert "Demo: stormen i sin egen tid" in first["content"]
        assert "60 gånger så fort" in first["content"]
    # The same entities, templates and all.
    shown = re.compile(r"(?:sensor|binary_sensor|switch|event|button|select)\.[a-z0-9_]+")
    assert set(shown.findall(yaml.safe_dump(storm))) == set(shown.findall(shipped_text))


def test_real_time_keeps_the_shipped_dashboard(tmp_path: Path) -> None:
    root = write_storm(tmp_path, speed=1.0, since=None)
    config = yaml.safe_load((root / "configuration.yaml").read_text().replace("!include", ""))
    assert config["lovelace"]["dashboards"]["sot-operator"]["filename"] == DASHBOARD_FILE
    assert not (root / STORM_TIME_DASHBOARD_FILE).exists()


def test_a_new_clock_starts_the_sites_afresh_but_keeps_their_records(tmp_path: Path) -> None:
    """A state saved on the last run's clock would be ahead of this run's storm time."""
    root = write_storm(tmp_path)
    entry_id = sot_entries(root)["kall"]["entry_id"]
    state = root / ".storage" / f"sot.{entry_id}"
    records = root / ".storage" / f"sot.{entry_id}.coldchain"
    for path in (state, records):
        path.write_text("{}")

    write_storm(tmp_path)  # Home Assistant restarted within the run: the same clock
    assert state.exists()
    write_storm(tmp_path, since=SINCE + timedelta(hours=1))  # the next run
    assert not state.exists()
    assert records.exists()

    state.write_text("{}")
    write_storm(tmp_path, speed=1.0, since=None)  # a run in real time after one at speed
    assert not state.exists()
    state.write_text("{}")
    write_storm(tmp_path, speed=1.0, since=None)  # and another: the wall clock throughout
    assert state.exists()


def test_the_stack_keeps_its_clock_across_home_assistant_restarts(tmp_path: Path) -> None:
    stack = DemoStack(
        config_dir=tmp_path / "config", broker_port=11883, modbus_port=15020, mqtt_only=True
    )
    stack.write_config()
    assert stack.clock_since is not None
    first = sot_entries(stack.config_dir)["kall"]["data"][CONF_DEMO_CLOCK]
    assert first == {"speed": 60.0, "since": stack.clock_since.isoformat()}
    stack.write_config()
    assert sot_entries(stack.config_dir)["kall"]["data"][CONF_DEMO_CLOCK] == first

    real_time = DemoStack(
        config_dir=tmp_path / "real", broker_port=11883, modbus_port=15020, mqtt_only=True, speed=1
    )
    real_time.write_config()
    assert real_time.clock_since is None
    assert CONF_DEMO_CLOCK not in sot_entries(real_time.config_dir)["kall"]["data"]
