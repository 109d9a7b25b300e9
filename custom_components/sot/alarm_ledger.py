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
from typing import Any, Final, TypeGuard

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
# At most this many stamps of alarms a newer one replaced are kept (within KEPT), so that
# acknowledging one of them is told from acknowledging an alarm the site never raised.
REPLACED_KEPT: Final = 500


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
        # The stamps of alarms a newer one about the same thing replaced, oldest first.
        self._replaced: list[str] = []

    @staticmethod
    def _key(event_type: str, attributes: dict[str, Any]) -> tuple[str, str]:
        return FAMILY.get(event_type, event_type), str(attributes.get("component_id") or "")

    def record(self, stamp: str, event_type: str, attributes: dict[str, Any]) -> None:
        """An alarm was raised: it is now the latest about its thing."""
        key = self._key(event_type, attributes)
        if (replaced := self._latest.get(key)) is not None:
            self._replaced = [*self._replaced, replaced.stamp][-REPLACED_KEPT:]
        self._latest[key] = LedgerAlarm(stamp, event_type, dict(attributes))

    def acknowledge(self, raised: datetime, now: datetime) -> bool | None:
        """Someone acknowledged the alarm raised at `raised` (its stamp, to the millisecond);
        False if it is not the latest about its thing (a newer one replaced it) or was
        acknowledged already: nothing repeats it any more. None if the site raised no such
        alarm in the last `KEPT` (a mistyped stamp, another site's alarm, one forgotten: the
        same answer as after a restart, which keeps no older ones)."""
        if now - raised > KEPT:
            return None
        for alarm in self._latest.values():
            if alarm.raised == raised:
                if alarm.acknowledged:
                    return False
                alarm.acknowledged = True
                return True
        if any(dt_util.parse_datetime(stamp) == raised for stamp in self._replaced):
            return False
        if len(self._replaced) >= REPLACED_KEPT:
            # Older than the replaced stamps kept (a grid flapping for days): it may have been
            # one of them; not told to be unknown.
            oldest = dt_util.parse_datetime(self._replaced[0])
            if oldest is None or raised < oldest:
                return False
        return None

    def forget(self, kind: str, component_id: str) -> None:
        """A component was removed for good: its alarms are not taken up again (they answer
        an acknowledgement as replaced ones do)."""
        for key, alarm in list(self._latest.items()):
            attributes = alarm.attributes
            if attributes.get("kind") == kind and attributes.get("component_id") == component_id:
                del self._latest[key]
                self._replaced = [*self._replaced, alarm.stamp][-REPLACED_KEPT:]

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

    def replaced_snapshot(self, now: datetime) -> list[str]:
        """What is saved of the alarms newer ones replaced: their recent stamps."""
        return [stamp for stamp in self._replaced if _recent_stamp(stamp, now)]

    def restore(self, saved: Any, replaced: Any = None) -> None:
        """Read a snapshot back (and the replaced alarms' stamps); entries that cannot be read
        are left out."""
        self._latest.clear()
        self._replaced = [
            stamp for stamp in (replaced if isinstance(replaced, list) else ()) if _stamp(stamp)
        ][-REPLACED_KEPT:]
        for item in saved if isinstance(saved, list) else ():
            if not isinstance(item, dict):
                continue
            stamp, event_type = item.get("stamp"), item.get("event_type")
            attributes = item.get("attributes")
            if not _stamp(stamp):
                continue
            if not isinstance(event_type, str) or not isinstance(attributes, dict):
                continue
            alarm = LedgerAlarm(stamp, event_type, attributes, bool(item.get("acknowledged")))
            self._latest[self._key(event_type, attributes)] = alarm


def _stamp(stamp: Any) -> TypeGuard[str]:
    """Whether a stored stamp is one an alarm is raised with: a time with its zone (one
    without could not be compared with the time now, and every save would fail on it)."""
    raised = dt_util.parse_datetime(stamp) if isinstance(stamp, str) else None
    return raised is not None and raised.tzinfo is not None


def _recent(alarm: LedgerAlarm, now: datetime) -> bool:
    return _recent_stamp(alarm.stamp, now)


def _recent_stamp(stamp: str, now: datetime) -> bool:
    raised = dt_util.parse_datetime(stamp)
    return raised is not None and now - raised <= KEPT
