"""The pymodbus these tests run against: one the manifest accepts, and the one asked for.

scripts/test runs the Modbus tests twice, on the venv's pymodbus (HA 2026.2.3's pin) and with
a second one shadowing it through PYTHONPATH (HA 2026.7's pin). SOT_PYMODBUS_VERSION names the
version a run expects, so a second run that silently fell back to the first pymodbus fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pymodbus
from packaging.requirements import Requirement

MANIFEST = Path(__file__).parents[2] / "custom_components" / "sot" / "manifest.json"


def test_pymodbus_is_the_version_asked_for() -> None:
    expected = os.environ.get("SOT_PYMODBUS_VERSION")
    if expected is not None:
        assert pymodbus.__version__ == expected, (
            f"pymodbus {pymodbus.__version__} from {pymodbus.__file__}, expected {expected}"
        )


def test_pymodbus_satisfies_the_manifest() -> None:
    (requirement,) = (
        Requirement(line)
        for line in json.loads(MANIFEST.read_text())["requirements"]
        if Requirement(line).name == "pymodbus"
    )
    assert requirement.specifier.contains(pymodbus.__version__), (
        f"pymodbus {pymodbus.__version__} from {pymodbus.__file__} is outside {requirement}"
    )
