"""The alarms a site raises, as the `event` entity and the blueprints know them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .components import check_figures, parse_time


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

    def snapshot(self) -> dict[str, Any]:
        """As saved: an alarm raised by the site but not yet by its alarm entity."""
        return {
            "type": self.type.value,
            "kind": self.kind,
            "component_id": self.component_id,
            "time": self.time.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_snapshot(cls, saved: Any) -> SiteEvent | None:
        """Read one back; None for what cannot be read."""
        if not isinstance(saved, dict):
            return None
        try:
            data = dict(saved.get("data") or {})
            check_figures(data, "data")
            return cls(
                EventType(saved["type"]),
                str(saved["kind"]),
                str(saved["component_id"]),
                parse_time(saved["time"]),
                data,
            )
        except (KeyError, TypeError, ValueError):
            return None
