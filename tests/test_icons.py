"""Every Material Design icon the integration, its dashboards and blueprints name is one Home
Assistant's frontend has: a name it does not know shows as an empty space (the fuel hours on
the badge, the tile and the county's row; a load switched off)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import hass_frontend

REPO = Path(__file__).parent.parent
ICON = re.compile(r"mdi:([a-z0-9-]+)")


def known_icons() -> set[str]:
    """The icons of the frontend installed with Home Assistant, with their aliases."""
    path = Path(hass_frontend.where()) / "static" / "mdi" / "iconList.json"
    known: set[str] = set()
    for icon in json.loads(path.read_text(encoding="utf-8")):
        known.add(icon["name"])
        known.update(icon.get("aliases") or [])
    return known


def test_every_icon_named_exists() -> None:
    files = [
        REPO / "custom_components" / "sot" / "icons.json",
        *(REPO / "custom_components" / "sot").rglob("*.py"),
        *(REPO / "dashboards").glob("*.yaml"),
        *(REPO / "blueprints").rglob("*.yaml"),
    ]
    known = known_icons()
    unknown = sorted(
        f"{path.relative_to(REPO)}: mdi:{name}"
        for path in files
        for name in ICON.findall(path.read_text(encoding="utf-8"))
        if name not in known
    )
    assert unknown == []
