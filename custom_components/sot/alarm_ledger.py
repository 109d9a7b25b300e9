"""The latest alarm about each thing a site watches, and whether someone acknowledged it.

The outage alerts repeat a critical alarm until someone taps "Acknowledge". Those repeats live in
an automation's run, which a restart of Home Assistant or an edit of the automation ends; the
ledger is what lets the automation take them up again (`sot.unacknowledged_alarms`) without
repeating an alarm someone has acknowledged (`sot.acknowledge_alarm`). It is saved with the
site's state.

Alarms about one thing replace one another: "grid restored" ends "grid lost", a freezer's
critical alarm its warning. The families are the outage alerts blueprint's (its `family`
variable), so that the alarm the ledger holds is the one whose repeats the blueprint would run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.util import dt as dt_util

FAMILY: Final = {
    "grid_lost": "grid",
    "grid_restored": "grid",
    "generator_started": "generator",
    "generator_stopped": "generator",
    "fuel_low": "fuel",
    "fuel_refilled": "fuel",
    "freezer_warning": "freezer",
    "freezer_critical": "freezer",
    "freezer_ok": "freezer",
    "node_offline": "node",
    "node_online": "node",
}
# Longer than the blueprint's longest repeats (50 repeats 240 min apart): older alarms are
# forgotten.
KEPT: Final = timedelta(days=9)


@dataclass
class LedgerAlarm:
    """One alarm as it was raised: its stamp (the alarm entity's state), type and attributes."""

    stamp: str
    event_type: str
    attributes: dict[str, Any]
    acknowledged: bool = False

    @property
    def raised(self) -> datetime | None:
        """When it was raised (its stamp as a time)."""
        return dt_util.parse_datetime(self.stamp)

    def as_dict(self) -> dict[str, Any]:
        """As the action returns it: the event's attributes, its type and its stamp."""
        return {**self.attributes, "event_type": self.event_type, "stamp": self.stamp}


class AlarmLedger:
    """The latest alarm about each thing (an alarm family and a component)."""

    def __init__(self) -> None:
        """Start empty."""
        self._latest: dict[tuple[str, str], LedgerAlarm] = {}

    @staticmethod
    def _key(event_type: str, attributes: dict[str, Any]) -> tuple[str, str]:
        return FAMILY.get(event_type, event_type), str(attributes.get("component_id") or "")

    def record(self, stamp: str, event_type: str, attributes: dict[str, Any]) -> None:
        """An alarm was raised: it is now the latest about its thing."""
        self._latest[self._key(event_type, attributes)] = LedgerAlarm(
            stamp, event_type, dict(attributes)
        )

    def acknowledge(self, raised: datetime) -> bool:
        """Someone acknowledged the alarm raised at `raised` (its stamp, to the millisecond);
        False if it is not the latest about its thing (or already acknowledged): nothing
        repeats it any more."""
        for alarm in self._latest.values():
            if alarm.raised == raised and not alarm.acknowledged:
                alarm.acknowledged = True
                return True
        return False

    def unacknowledged(self, now: datetime) -> list[LedgerAlarm]:
        """The latest alarm about each thing that nobody acknowledged, oldest first."""
        return sorted(
            (
                alarm
                for alarm in self._latest.values()
                if not alarm.acknowledged and _recent(alarm, now)
            ),
            key=lambda alarm: alarm.stamp,
        )

    def snapshot(self, now: datetime) -> list[dict[str, Any]]:
        """What is saved: the recent alarms."""
        return [
            {
                "stamp": alarm.stamp,
                "event_type": alarm.event_type,
                "attributes": alarm.attributes,
                "acknowledged": alarm.acknowledged,
            }
            for alarm in self._latest.values()
            if _recent(alarm, now)
        ]

    def restore(self, saved: Any) -> None:
        """Read a snapshot back; entries that cannot be read are left out."""
        self._latest.clear()
        for item in saved if isinstance(saved, list) else ():
            if not isinstance(item, dict):
                continue
            stamp, event_type = item.get("stamp"), item.get("event_type")
            attributes = item.get("attributes")
            if not isinstance(stamp, str) or dt_util.parse_datetime(stamp) is None:
                continue
            if not isinstance(event_type, str) or not isinstance(attributes, dict):
                continue
            alarm = LedgerAlarm(stamp, event_type, attributes, bool(item.get("acknowledged")))
            self._latest[self._key(event_type, attributes)] = alarm


def _recent(alarm: LedgerAlarm, now: datetime) -> bool:
    raised = alarm.raised
    return raised is not None and now - raised <= KEPT
