"""The alarms a site raises, as the `event` entity and the blueprints know them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Site alarms."""

    GRID_LOST = "grid_lost"
    GRID_RESTORED = "grid_restored"
    GENERATOR_STARTED = "generator_started"
    GENERATOR_STOPPED = "generator_stopped"
    GENERATOR_FAULT = "generator_fault"
    FUEL_LOW = "fuel_low"
    FUEL_REFILLED = "fuel_refilled"
    FUEL_DRAIN = "fuel_drain"
    FREEZER_WARNING = "freezer_warning"
    FREEZER_CRITICAL = "freezer_critical"
    FREEZER_OK = "freezer_ok"
    NODE_OFFLINE = "node_offline"
    NODE_ONLINE = "node_online"


@dataclass(frozen=True, slots=True)
class SiteEvent:
    """An alarm the site raised, with the figures that matter to the operator."""

    type: EventType
    kind: str
    component_id: str
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)
