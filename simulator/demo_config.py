"""The demo's Home Assistant configuration directory, written from the simulated sites.

Writes a minimal `configuration.yaml` (no `default_config:`), an owner user with finished
onboarding and login-free access from this machine (trusted_networks), the MQTT and SOT config
entries (Kall's Modbus devices as subentries of its site entry), and links the integration,
the dashboards and the blueprints from the repository so edits show up without copying.

A storm played faster than real time puts the sites on the demo's clock (the integration's
`site/demo_clock.py`), so they tell the storm in its own time, and the operator dashboard is
written with its history windows covering the storm at that speed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from .modbus_server import UNIT_GENERATOR, UNIT_GRID_METER
from .site import SiteSpec

REPO: Final = Path(__file__).resolve().parent.parent
DASHBOARD_URL: Final = "sot-operator"
DASHBOARD_FILE: Final = "dashboards/sot_operator.yaml"
# The information display for residents and crews (a screen in the shop window).
PUBLIC_DASHBOARD_URL: Final = "sot-info"
PUBLIC_DASHBOARD_FILE: Final = "dashboards/sot_public.yaml"
# The operator dashboard as a storm at speed shows it (`storm_time_dashboard`), in the config
# directory: `dashboards/` links to the repository, which the demo must not write into.
STORM_TIME_DASHBOARD_FILE: Final = "sot_operator.storm_time.yaml"
# The key of a SOT entry's data holding the demo's clock (the integration's CONF_DEMO_CLOCK).
DEMO_CLOCK: Final = "demo_clock"

# Site settings the operator would enter; freezer limits: brief rises to −15 °C are tolerated,
# −12 °C is the retail cabinet cap.
FREEZER_WARNING_C: Final = -15.0
FREEZER_CRITICAL_C: Final = -12.0
# Storm minutes on the demo's clock, like the storm's other times: the integration's default.
ALARM_DELAY_MIN: Final = 10
STALE_TIMEOUT_S: Final = 300
FUEL_LOW_HOURS: Final = 12


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Where everything of one demo run lives."""

    config_dir: Path
    ha_port: int
    broker_port: int
    modbus_port: int
    sites: tuple[SiteSpec, ...]
    # `.storage/http` for a release that keeps its web settings there (2026.10 on); the
    # `http:` YAML is then left out, which that release would take as an unconfirmed trial.
    http_store: dict[str, Any] | None = None
    # Simulated seconds per real second, and from when the sites' clock runs that fast
    # (None: the sites keep the wall clock's time, as at speed 1).
    speed: float = 1.0
    clock_since: datetime | None = None

    @property
    def demo_clock(self) -> dict[str, Any] | None:
        """The clock the sites' entries hold, or None when they keep the wall clock's time."""
        if self.clock_since is None:
            return None
        return {"speed": self.speed, "since": self.clock_since.isoformat()}


def _stable_id(*parts: str) -> str:
    """Entry ids stay the same across runs, so the entity registry keeps its entity ids."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:26].upper()


def _entry(
    *,
    domain: str,
    title: str,
    data: dict[str, Any],
    options: dict[str, Any],
    unique_id: str | None,
    version: int = 1,
    minor_version: int = 1,
    subentries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    return {
        "created_at": now,
        "data": data,
        "discovery_keys": {},
        "disabled_by": None,
        "domain": domain,
        "entry_id": _stable_id(domain, unique_id or title),
        "minor_version": minor_version,
        "modified_at": now,
        "options": options,
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": subentries or [],
        "title": title,
        "unique_id": unique_id,
        "version": version,
    }


def modbus_subentries(spec: SiteSpec, port: int) -> list[dict[str, Any]]:
    """Kall's generator controller and grid meter as the integration's device subentries.

    A component has one source: the grid meter feeds `grid/main` (it measures power and
    energy too), so the controller's mains slot is left off; the tank node reports the fuel,
    so the controller's fuel slot is off as well. The loads stay on the MQTT relay node (it
    reports each load's power; the relay module's coils do not).
    """
    devices = [
        (
            "Generator controller",
            "dse",
            "deep_sea_gencomm",
            UNIT_GENERATOR,
            {"generator": "main", "mains": "", "fuel": ""},
        ),
        ("Grid meter", "meter", "eastron_sdm630", UNIT_GRID_METER, {"meter": "main"}),
    ]
    kinds = {"generator": "generator", "mains": "grid", "meter": "grid", "fuel": "tank"}
    subentries = []
    for title, device_id, profile, unit, components in devices:
        subentries.append(
            {
                "data": {
                    "device_id": device_id,
                    "profile": profile,
                    "connection": "tcp",
                    "host": "127.0.0.1",
                    "port": port,
                    "unit": unit,
                    "components": components,
                    # The volunteer may start and stop Kall's set from the dashboard.
                    "control_enabled": device_id == "dse",
                    "claimed": [[kinds[slot], cid] for slot, cid in components.items() if cid],
                },
                "subentry_id": _stable_id(spec.id, device_id),
                "subentry_type": "modbus_device",
                "title": title,
                "unique_id": f"{spec.id}-{device_id}",
            }
        )
    return subentries


def config_entries(config: DemoConfig) -> dict[str, Any]:
    """`.storage/core.config_entries` in Home Assistant 2026.2's format (version 1.5)."""
    entries = [
        _entry(
            domain="mqtt",
            title="127.0.0.1",
            data={"broker": "127.0.0.1", "port": config.broker_port},
            options={},
            unique_id=None,
            version=2,
        )
    ]
    modbus_port = config.modbus_port
    for spec in config.sites:
        subentries: list[dict[str, Any]] = []
        if spec.modbus:
            subentries = modbus_subentries(spec, modbus_port)
            modbus_port += 1
        data: dict[str, Any] = {
            "name": spec.name,
            "site_id": spec.id,
            "base_topic": f"sot/{spec.id}",
        }
        if config.demo_clock is not None:
            data[DEMO_CLOCK] = config.demo_clock
        entries.append(
            _entry(
                domain="sot",
                title=spec.name,
                data=data,
                options={
                    "tank_capacity": spec.tank_capacity_l,
                    "tank_reserve": spec.tank_reserve_pct,
                    "generator_rating": spec.generator_rating_kw,
                    "freezer_warning": FREEZER_WARNING_C,
                    "freezer_critical": FREEZER_CRITICAL_C,
                    "alarm_delay": ALARM_DELAY_MIN,
                    "stale_timeout": STALE_TIMEOUT_S,
                    "fuel_low_hours": FUEL_LOW_HOURS,
                },
                unique_id=spec.id,
                subentries=subentries,
            )
        )
    return {
        "version": 1,
        "minor_version": 5,
        "key": "core.config_entries",
        "data": {"entries": entries},
    }


def auth_store() -> dict[str, Any]:
    """One owner user; with no groups stored, Home Assistant makes it an administrator."""
    return {
        "version": 1,
        "minor_version": 1,
        "key": "auth",
        "data": {
            "users": [
                {
                    "id": _stable_id("user", "operator"),
                    "group_ids": [],
                    "is_owner": True,
                    "is_active": True,
                    "name": "Operator",
                    "system_generated": False,
                    "local_only": False,
                }
            ],
            "groups": [],
            "credentials": [],
            "refresh_tokens": [],
        },
    }


def onboarding_done() -> dict[str, Any]:
    """Every onboarding step marked done, so the frontend opens the dashboard directly."""
    return {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": ["user", "core_config", "analytics", "integration"]},
    }


def _http_yaml(config: DemoConfig) -> str:
    if config.http_store is not None:
        return ""  # in .storage/http
    return f"""
http:
  server_host: 127.0.0.1
  server_port: {config.ha_port}
"""


def configuration_yaml(config: DemoConfig) -> str:
    """Only what the dashboard needs; `default_config:` would pull in many more packages."""
    return f"""\
# Written by scripts/demo (simulator/demo_config.py) on every demo start.
homeassistant:
  name: SOT Monitor demo
  latitude: 63.474
  longitude: 13.255
  elevation: 420
  unit_system: metric
  time_zone: Europe/Stockholm
  country: SE
  currency: SEK
  auth_providers:
    - type: trusted_networks
      trusted_networks: [127.0.0.1, "::1"]
      allow_bypass_login: true
    - type: homeassistant
{_http_yaml(config)}
frontend:
config:
history:
logbook:
recorder:
  purge_keep_days: 3
  commit_interval: 2

lovelace:
  dashboards:
    {DASHBOARD_URL}:
      mode: yaml
      filename: {DASHBOARD_FILE if config.demo_clock is None else STORM_TIME_DASHBOARD_FILE}
      title: SOT
      icon: mdi:transmission-tower
      show_in_sidebar: true
    {PUBLIC_DASHBOARD_URL}:
      mode: yaml
      filename: {PUBLIC_DASHBOARD_FILE}
      title: Information
      icon: mdi:information-outline
      show_in_sidebar: true

automation: !include automations.yaml

logger:
  default: warning
  logs:
    custom_components.sot: info
"""


LOAD_SHEDDING_BLUEPRINT: Final = "sot/load_shedding.yaml"
OUTAGE_ALERTS_BLUEPRINT: Final = "sot/outage_alerts.yaml"


def automations_yaml(config: DemoConfig) -> str:
    """Automations from the shipped blueprints: outage alerts for every site, and load shedding
    for the sites whose scenario leaves loads alone.

    Kall's loads are switched by its volunteer in the storm scenario; an automation shedding
    them as well would fight the story, so it gets no load shedding.
    """
    blueprints = REPO / "blueprints" / "automation"
    lines = ["# Written by scripts/demo (simulator/demo_config.py) on every demo start."]
    site_ids = {spec.id for spec in config.sites}
    if (blueprints / LOAD_SHEDDING_BLUEPRINT).exists() and "valsjobyn" in site_ids:
        lines += [
            "- id: sot_demo_valsjobyn_load_shedding",
            "  alias: Valsjöbyn load shedding",
            "  use_blueprint:",
            f"    path: {LOAD_SHEDDING_BLUEPRINT}",
            "    input:",
            "      grid_sensor: binary_sensor.valsjobyn_grid_present",
            "      backup_sensor: binary_sensor.valsjobyn_on_backup_power",
            "      load_sensor: sensor.valsjobyn_generator_load",
            "      tier_2_loads: [switch.valsjobyn_load_coolers]",
            "      tier_4_loads: [switch.valsjobyn_load_carwash]",
            '      changeover_shed: "4"',
        ]
    if (blueprints / OUTAGE_ALERTS_BLUEPRINT).exists():
        # The demo has no phones; its alarms show in Home Assistant's own notifications.
        for spec in config.sites:
            lines += [
                f"- id: sot_demo_{spec.id}_outage_alerts",
                f"  alias: {spec.name} outage alerts",
                "  use_blueprint:",
                f"    path: {OUTAGE_ALERTS_BLUEPRINT}",
                "    input:",
                f"      alarm_entity: event.{spec.id}_alarms",
                "      notify_devices: []",
                "      show_in_home_assistant: true",
            ]
    if len(lines) == 1:
        lines.append("[]")
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Writes text of several lines (the dashboard's templates) as literal blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_Dumper.add_representer(str, _text)


def _real_time(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def _windows(node: Any) -> Iterator[dict[str, Any]]:
    """Every card of the dashboard that shows a span of history (`hours_to_show`)."""
    if isinstance(node, dict):
        if "hours_to_show" in node:
            yield node
        for value in node.values():
            yield from _windows(value)
    elif isinstance(node, list):
        for value in node:
            yield from _windows(value)


def storm_time_dashboard(text: str, speed: float) -> str:
    """The operator dashboard (`text`) for a storm played `speed` times as fast.

    The sites tell their durations and countdowns in storm time, but Home Assistant's history
    and logbook cards count real hours: "the last 6 hours" would hold six hours of real time,
    sixty storms at 60×, with this one squeezed into the right edge. Each such card is given
    the real minutes that hold its storm hours, its title says so, and each view opens with
    a banner saying that the demo runs on its own clock.
    """
    dashboard = yaml.safe_load(text)
    for card in _windows(dashboard):
        hours = float(card["hours_to_show"])
        card["hours_to_show"] = round(hours / speed, 4)
        if "title" in card:
            card["title"] += f" (i demot: {_real_time(hours / speed)} verklig tid, {speed:g}×)"
    banner = {
        "type": "markdown",
        "text_only": True,
        "content": (
            '<ha-alert alert-type="info" title="Demo: stormen i sin egen tid">'
            f"Platsernas klocka går {speed:g} gånger så fort som den verkliga, så stormens"
            " timmar går på minuter. Avbrottstid, nedräkningar, bränsletimmar och"
            " kylkedjeloggens tider är i stormens tid; graferna och larmlistan visar stormens"
            " senaste timmar, med verklig klocktid. En riktig plats går aldrig på demots"
            " klocka.</ha-alert>"
        ),
    }
    for view in dashboard["views"]:
        if "sections" in view:
            view["sections"].insert(0, {"type": "grid", "column_span": 4, "cards": [dict(banner)]})
        elif "cards" in view["cards"][0]:
            view["cards"][0]["cards"].insert(0, dict(banner))
        else:
            view["cards"].insert(0, dict(banner))
    header = (
        f"# Written by scripts/demo (simulator/demo_config.py) on every demo start from\n"
        f"# {DASHBOARD_FILE}, for a storm at {speed:g}×: edit that file, not this one.\n"
    )
    return header + yaml.dump(
        dashboard, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000
    )


def forget_other_clocks(storage: Path, entries: dict[str, Any]) -> None:
    """Start afresh the sites whose saved state was kept on another clock than theirs now.

    A site never takes a reading measured before what it shows, so a state saved on a clock
    that ran ahead (the last run's storm time) would make it refuse the new run's readings
    until its clock caught up. Within one run the clock stays as it is (a restart of Home
    Assistant keeps it), and the cold-chain records, kept a year, stay whatever the clock.
    """
    try:
        old = json.loads((storage / "core.config_entries").read_text(encoding="utf-8"))
        old_entries = old["data"]["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        old_entries = []
    clocks = {
        entry["entry_id"]: entry["data"].get(DEMO_CLOCK)
        for entry in old_entries
        if entry.get("domain") == "sot"
    }
    for entry in entries["data"]["entries"]:
        if entry["domain"] != "sot":
            continue
        if clocks.get(entry["entry_id"]) != entry["data"].get(DEMO_CLOCK):
            (storage / f"sot.{entry['entry_id']}").unlink(missing_ok=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _link(link: Path, target: Path) -> None:
    """A relative symlink, replaced if it points elsewhere."""
    relative = Path(os.path.relpath(target, link.parent))
    if link.is_symlink() and Path(os.readlink(link)) == relative:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(relative)


def write_demo_config(config: DemoConfig) -> None:
    """Create or refresh the config directory; keeps HA's own state (recorder, registries)."""
    root = config.config_dir
    storage = root / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (root / "configuration.yaml").write_text(configuration_yaml(config), encoding="utf-8")
    (root / "automations.yaml").write_text(automations_yaml(config), encoding="utf-8")
    entries = config_entries(config)
    forget_other_clocks(storage, entries)
    _write_json(storage / "core.config_entries", entries)
    if config.demo_clock is not None:
        (root / STORM_TIME_DASHBOARD_FILE).write_text(
            storm_time_dashboard((REPO / DASHBOARD_FILE).read_text(encoding="utf-8"), config.speed),
            encoding="utf-8",
        )
    if not (storage / "auth").exists():
        _write_json(storage / "auth", auth_store())
    _write_json(storage / "onboarding", onboarding_done())
    if config.http_store is not None:
        _write_json(storage / "http", config.http_store)
    _link(root / "custom_components" / "sot", REPO / "custom_components" / "sot")
    _link(root / "dashboards", REPO / "dashboards")
    blueprints = REPO / "blueprints" / "automation" / "sot"
    if blueprints.is_dir():
        _link(root / "blueprints" / "automation" / "sot", blueprints)
