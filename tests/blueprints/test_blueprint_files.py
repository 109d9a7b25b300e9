"""The blueprint files themselves: valid for Home Assistant, and complete for the UI."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from homeassistant.helpers import selector

from .conftest import BLUEPRINT_DIR, load_blueprint

BLUEPRINTS = sorted(path.name for path in BLUEPRINT_DIR.glob("*.yaml"))
REPO = "https://github.com/sot-monitor/sot-monitor"
RAW = "https://raw.githubusercontent.com/sot-monitor/sot-monitor/main/blueprints/automation/sot"
DOCS = BLUEPRINT_DIR.parents[2] / "docs" / "blueprints.md"


def test_the_four_blueprints_are_there() -> None:
    """Load shedding, outage alerts, the exercise reminder and storm readiness ship together."""
    assert BLUEPRINTS == [
        "generator_exercise.yaml",
        "load_shedding.yaml",
        "outage_alerts.yaml",
        "storm_readiness.yaml",
    ]


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprint_loads_with_the_automation_schema(name: str) -> None:
    """Home Assistant's own blueprint schema accepts the file."""
    blueprint = load_blueprint(name)
    assert blueprint.domain == "automation"
    assert blueprint.metadata["source_url"] == f"{REPO}/blob/main/blueprints/automation/sot/{name}"
    assert blueprint.validate() is None, "needs a newer Home Assistant than the one tested"


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_every_input_is_described_with_a_valid_selector(name: str) -> None:
    """Each input has a name, a description and a selector Home Assistant knows."""
    for key, spec in load_blueprint(name).inputs.items():
        assert spec.get("name"), f"{name}: {key} has no name"
        assert spec.get("description"), f"{name}: {key} has no description"
        selector.validate_selector(spec["selector"])


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_docs_have_an_import_link(name: str) -> None:
    """docs/blueprints.md links each blueprint for one-click import."""
    link = "https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url=" + quote(
        f"{RAW}/{name}", safe=""
    )
    assert link in DOCS.read_text(encoding="utf-8")
