"""Validate the ESPHome node files with the real `esphome config` and read what they publish."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ESPHOME_DIR = ROOT / "esphome"
ESPHOME = ROOT / ".venv-esphome" / "bin" / "esphome"
NODE_FILES = sorted(
    path.name for path in ESPHOME_DIR.glob("*.yaml") if not path.name.startswith("secrets")
)

# Packages a node picks with a substitution: every choice is validated with every node that
# offers it, so a package no node file uses as shipped is still checked. Choices that claim pins
# are validated in every combination (ESPHome refuses a pin used twice); the others one at a time.
CHOICES: dict[str, tuple[str, ...]] = {
    "network": ("wifi", "ethernet"),
    "tank_sensor": ("a02yyuw", "jsn-sr04t", "ads1115"),
    "tank_shape": ("vertical-cylinder", "horizontal-cylinder", "rectangular"),
}
PIN_CHOICES = ("network", "tank_sensor")


@dataclass(frozen=True)
class Variant:
    """One node file with the substitutions given on the command line (`esphome -s`)."""

    file: str
    substitutions: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        extra = ",".join(f"{key}={value}" for key, value in self.substitutions)
        return f"{self.file}[{extra}]" if extra else self.file


class _RawLoader(yaml.SafeLoader):
    """Reads a node file as written: ESPHome's tags (!include, !secret, ...) become None."""


_RawLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def shipped_choices(file: str) -> dict[str, str]:
    """The package choices a node file makes as shipped (its own `substitutions:`)."""
    raw = yaml.load((ESPHOME_DIR / file).read_text(encoding="utf-8"), Loader=_RawLoader)
    substitutions = raw.get("substitutions", {}) if isinstance(raw, dict) else {}
    return {key: str(substitutions[key]) for key in CHOICES if key in substitutions}


def variants() -> list[Variant]:
    """Every node file as shipped, plus each other package choice it offers."""
    found: list[Variant] = []
    for file in NODE_FILES:
        shipped = shipped_choices(file)
        combinations: list[dict[str, str]] = [shipped]
        for key in (key for key in PIN_CHOICES if key in shipped):
            combinations = [
                {**combo, key: value} for combo in combinations for value in CHOICES[key]
            ]
        for key in (key for key in CHOICES if key in shipped and key not in PIN_CHOICES):
            combinations += [{**shipped, key: value} for value in CHOICES[key]]
        unique: list[Variant] = []
        for combo in combinations:
            variant = Variant(
                file,
                tuple((key, combo[key]) for key in CHOICES if combo.get(key) != shipped.get(key)),
            )
            if variant not in unique:
                unique.append(variant)
        found += unique
    return found


class Lambda(str):
    """C++ code of a `!lambda` in the resolved configuration."""


class Secret(str):
    """Name of a `!secret` in the resolved configuration."""


class _ConfigLoader(yaml.SafeLoader):
    """Reads `esphome config` output, keeping `!lambda` and `!secret` recognisable."""


def _construct_lambda(loader: yaml.SafeLoader, node: yaml.Node) -> Lambda:
    return Lambda(loader.construct_scalar(node))  # type: ignore[arg-type]


def _construct_secret(loader: yaml.SafeLoader, node: yaml.Node) -> Secret:
    return Secret(loader.construct_scalar(node))  # type: ignore[arg-type]


_ConfigLoader.add_constructor("!lambda", _construct_lambda)
_ConfigLoader.add_constructor("!secret", _construct_secret)


@dataclass(repr=False)
class Result:
    """What `esphome config` said about one variant."""

    variant: Variant
    returncode: int
    output: str
    errors: str
    config: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<esphome config {self.variant.label}: exit {self.returncode}>"

    @property
    def report(self) -> str:
        return (
            f"esphome config {self.variant.label} exited {self.returncode}:\n"
            f"{self.errors}\n{self.output}"
        )


def valid_config(results: dict[Variant, Result], variant: Variant) -> dict[str, Any]:
    """The resolved configuration of `variant`, failing with ESPHome's own words if invalid."""
    result = results[variant]
    assert result.returncode == 0, result.report
    assert result.config, f"esphome config {variant.label} printed no configuration"
    return result.config


def esphome_binary() -> Path:
    """The esphome of the project's own venv; its absence is an error, not a reason to skip."""
    if not os.access(ESPHOME, os.X_OK):
        raise FileNotFoundError(
            f"{ESPHOME} is missing: run scripts/setup to install esphome into .venv-esphome"
        )
    return ESPHOME


def prepare_workdir(workdir: Path) -> Path:
    """Copy the node files and a secrets.yaml made from the example, leaving the repo untouched."""
    target = workdir / "esphome"
    shutil.copytree(ESPHOME_DIR, target, ignore=shutil.ignore_patterns(".esphome", "secrets.yaml"))
    shutil.copyfile(ESPHOME_DIR / "secrets.example.yaml", target / "secrets.yaml")
    return target


def run_config(esphome: Path, workdir: Path, variant: Variant) -> Result:
    """Run `esphome config` for one variant and parse the resolved configuration it prints."""
    command = [str(esphome)]
    for key, value in variant.substitutions:
        command += ["-s", key, value]
    command += ["config", variant.file]
    env = {**os.environ, "NO_COLOR": "1", "ESPHOME_NO_COLOR": "1"}
    completed = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=240, env=env, check=False
    )
    result = Result(variant, completed.returncode, completed.stdout, completed.stderr)
    if completed.returncode == 0:
        loaded = yaml.load(completed.stdout, Loader=_ConfigLoader)
        result.config = loaded if isinstance(loaded, dict) else {}
    return result


def run_all(workdir: Path, selected: list[Variant]) -> dict[Variant, Result]:
    """Validate all variants, in parallel: each run is a separate esphome process."""
    esphome = esphome_binary()
    target = prepare_workdir(workdir)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda variant: run_config(esphome, target, variant), selected))
    return {result.variant: result for result in results}


# --- reading what a resolved configuration publishes and subscribes to -----------------------


@dataclass(frozen=True)
class Publication:
    """One message a node publishes: an entity's state, an `mqtt.publish` action, or a
    birth/will/shutdown/log message."""

    source: str  # "sensor", "binary_sensor", "text_sensor", "switch", "mqtt.publish", "birth", ...
    topic: str
    retain: bool | None
    payload: str | None = None  # a fixed payload, or the code of a lambda payload
    payload_is_lambda: bool = False
    entity: dict[str, Any] | None = None


@dataclass(frozen=True)
class Subscription:
    """One topic a node subscribes to, with the actions it runs."""

    source: str  # "on_message", "on_json_message", "command_topic"
    topic: str
    qos: int | None
    actions: list[Any] = field(default_factory=list)


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside `value`, depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


ENTITY_DOMAINS = ("sensor", "binary_sensor", "text_sensor", "switch", "button", "number", "select")


def publications(config: dict[str, Any]) -> list[Publication]:
    """Every message the node publishes that its configuration names a topic for."""
    found: list[Publication] = []
    for domain in ENTITY_DOMAINS:
        for mapping in walk(config.get(domain, [])):
            if "state_topic" in mapping:
                found.append(
                    Publication(
                        domain, mapping["state_topic"], mapping.get("retain"), entity=mapping
                    )
                )
    for mapping in walk(config):
        action = mapping.get("mqtt.publish")
        if isinstance(action, dict):
            payload = action.get("payload")
            found.append(
                Publication(
                    "mqtt.publish",
                    action["topic"],
                    action.get("retain"),
                    str(payload) if payload is not None else None,
                    isinstance(payload, Lambda),
                )
            )
    mqtt = config.get("mqtt", {})
    for key in ("birth_message", "will_message", "shutdown_message", "log_topic"):
        message = mqtt.get(key)
        if message:
            found.append(
                Publication(key, message["topic"], message.get("retain"), message.get("payload"))
            )
    return found


def subscriptions(config: dict[str, Any]) -> list[Subscription]:
    """Every topic the node subscribes to that its configuration names."""
    mqtt = config.get("mqtt", {})
    found = [
        Subscription(key, trigger["topic"], trigger.get("qos"), trigger.get("then", []))
        for key in ("on_message", "on_json_message")
        for trigger in mqtt.get(key, [])
    ]
    for domain in ENTITY_DOMAINS:
        found += [
            Subscription("command_topic", mapping["command_topic"], mapping.get("qos"))
            for mapping in walk(config.get(domain, []))
            if "command_topic" in mapping
        ]
    return found


def string_literals(code: str) -> list[str]:
    """The C++ string literals in a lambda: the payloads it can produce."""
    return re.findall(r'"((?:[^"\\]|\\.)*)"', code)


def lambdas_publishing_to(config: dict[str, Any], entity_id: str) -> list[Lambda]:
    """Lambdas anywhere in the configuration that publish a state to the entity `entity_id`."""
    needle = f"id({entity_id}).publish_state("
    found: list[Lambda] = []
    for mapping in walk(config):
        found += [
            value for value in mapping.values() if isinstance(value, Lambda) and needle in value
        ]
    return found
