"""Every supported Home Assistant release can satisfy the integration's requirements.

Home Assistant installs a custom integration's requirements under its own pins
(`homeassistant/package_constraints.txt`) and refuses to set the integration up when they
conflict: HA 2026.7 moved pymodbus from 3.11.2 to 3.13.1. Each release's pins are read once
from its wheel by `scripts/ha-constraints` into tests/data/ha_constraints/; this test checks our
manifest, and the environment the tests run in, against them without touching the network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
CONSTRAINTS = Path(__file__).parent / "data" / "ha_constraints"
MANIFEST = ROOT / "custom_components" / "sot" / "manifest.json"
HACS = ROOT / "hacs.json"
# The oldest release we support, the first with pymodbus 3.13.1, the newest with a test plugin,
# and the newest release.
RELEASES = ("2026.2.3", "2026.7.0", "2026.10.4", "2026.11.0")
OLDEST = RELEASES[0]
# What pymodbus needs for RTU (its `serial` extra), which the requirement must bring along.
SERIAL_EXTRA_PACKAGE = "pyserial"


def pins(version: str) -> dict[str, str]:
    """name → pinned version in a release's package_constraints.txt."""
    path = CONSTRAINTS / f"{version}.txt"
    assert path.exists(), f"{path} is missing: run scripts/ha-constraints {version}"
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" not in line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        specifier = next(iter(requirement.specifier))
        if specifier.operator == "==" and not requirement.marker:
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def manifest_requirements() -> list[Requirement]:
    return [Requirement(r) for r in json.loads(MANIFEST.read_text())["requirements"]]


@pytest.mark.parametrize("version", RELEASES)
def test_every_requirement_fits_the_release_pins(version: str) -> None:
    """A pinned package must satisfy our specifier, or that release refuses to set us up."""
    pinned = pins(version)
    for requirement in manifest_requirements():
        name = canonicalize_name(requirement.name)
        if name in pinned:
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"HA {version} pins {name}=={pinned[name]}, which {requirement} refuses"
            )


def test_rtu_support_comes_with_the_requirements() -> None:
    """Modbus RTU needs pyserial: asked for directly or through pymodbus's serial extra."""
    requirements = manifest_requirements()
    names = {canonicalize_name(r.name) for r in requirements}
    extras = {extra for r in requirements if r.name == "pymodbus" for extra in r.extras}
    assert "pymodbus" in names
    assert SERIAL_EXTRA_PACKAGE in names or "serial" in extras


def test_the_check_fails_on_a_requirement_a_release_refuses() -> None:
    """The check itself: the old exact pin is refused by 2026.7's pymodbus 3.13.1."""
    pinned = pins("2026.7.0")
    assert not Requirement("pymodbus==3.11.2").specifier.contains(pinned["pymodbus"])


def test_hacs_minimum_is_the_oldest_release_we_test() -> None:
    """HACS offers the integration from the release the tests run on, not earlier."""
    minimum = json.loads(HACS.read_text())["homeassistant"]
    assert minimum == OLDEST


def test_test_environment_follows_the_oldest_release() -> None:
    """requirements-test.txt pins what HA 2026.2.3 pins, so setup installs under its pins."""
    pinned = pins(OLDEST)
    for raw in (ROOT / "requirements-test.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "homeassistant":
            assert requirement.specifier.contains(OLDEST)
        elif name in pinned:
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"requirements-test.txt asks {requirement}; HA {OLDEST} pins {pinned[name]}"
            )
