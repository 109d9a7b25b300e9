"""The Home Assistant configuration directory the demo writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from homeassistant.config_entries import STORAGE_VERSION, STORAGE_VERSION_MINOR

from simulator.demo_config import REPO, DemoConfig, write_demo_config
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
