"""The cold-chain record: what each freezer went through during each outage, kept a year.

Frozen-food temperature records are to be kept at least a year (EU regulation 37/2005), while
Home Assistant's recorder keeps ten days by default. So the site keeps its own record: per
outage and per freezer the highest temperature, the minutes above the warning and the critical
limit, the door openings, when power was restored and when the freezer was back below its
warning limit.

A record opens when the grid goes and stays open after it returns until every freezer is back
at or below its warning limit (at most `RECOVERY_LIMIT`), or the next outage begins: food that
warmed during the outage is still warm for a while after it. Time above a limit is integrated
between readings, the temperature taken as changing linearly from one reading to the next. A
gap across which the last reading was no longer live (stale, its node offline) is not guessed:
it is counted as minutes without data.

The open record belongs to the site's snapshot; finished records are kept here, pruned to
`RETENTION`, and stored on their own (`records_snapshot`), so a year of outages is not written
again with every change of the site.

Pure Python: no Home Assistant imports. Time is always passed in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final

from .components import Component, iso, optional_time, parse_time
from .vocabulary import Kind

if TYPE_CHECKING:
    from .model import Site

# EU 37/2005 asks a year; a little more, so a record is never short of it on the day.
RETENTION: Final = timedelta(days=400)
# A bound on storage for a grid that flaps all year (each record is about 300 bytes a freezer).
MAX_RECORDS: Final = 5000
# How long a record stays open after the grid returns, waiting for the freezers to cool down.
RECOVERY_LIMIT: Final = timedelta(hours=6)
# Frozen food is kept at −18 °C or colder (89/108/EEC).
HOLD_TEMPERATURE: Final = -18.0
RECORDS_VERSION: Final = 1
CSV_COLUMNS: Final = (
    "site",
    "outage_start",
    "power_restored",
    "record_closed",
    "freezer_id",
    "freezer_name",
    "warning_limit_c",
    "critical_limit_c",
    "highest_c",
    "highest_at",
    "minutes_above_warning",
    "minutes_above_critical",
    "door_openings",
    "temperature_at_restore_c",
    "back_below_warning_at",
    "minutes_without_data",
)


@dataclass(slots=True)
class FreezerRecord:
    """One freezer through one outage."""

    id: str
    name: str | None
    warning: float
    critical: float
    highest: float | None = None
    highest_at: datetime | None = None
    # Seconds: above each limit, and covered by live readings.
    above_warning: float = 0.0
    above_critical: float = 0.0
    measured: float = 0.0
    door_openings: int = 0
    door_open: bool | None = None
    # The last point integrated to (time, °C).
    last_time: datetime | None = None
    last_value: float | None = None
    at_restore: float | None = None
    recovered_at: datetime | None = None
    # The first reading at or below the warning limit after readings above it (None while
    # above, or if it never was): when it was back below, also before the grid returned.
    fell_below_at: datetime | None = None

    def add(self, time: datetime, value: float, live_before: bool) -> None:
        """Take in a temperature measured at `time`; integrate since the last point if live."""
        last, before = self.last_time, self.last_value
        if live_before and last is not None and before is not None and time > last:
            span = (time - last).total_seconds()
            self.measured += span
            self.above_warning += span * _share_above(before, value, self.warning)
            self.above_critical += span * _share_above(before, value, self.critical)
        if self.last_time is None or time >= self.last_time:
            if value > self.warning:
                self.fell_below_at = None
            elif before is not None and before > self.warning:
                self.fell_below_at = time
            self.last_time, self.last_value = time, value
        if self.highest is None or value > self.highest:
            self.highest, self.highest_at = value, time

    @property
    def back_below_warning_at(self) -> datetime | None:
        """When it was back at or below its warning limit; None if it never went above it
        (`recovered_at` then only says it needs no waiting for)."""
        above = self.highest is not None and self.highest > self.warning
        if not above:
            return None
        # Back below before the grid returned (the generator cooled it): that reading's time.
        return self.fell_below_at or self.recovered_at

    def as_dict(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "id": self.id,
            "name": self.name,
            "warning": self.warning,
            "critical": self.critical,
            "highest": self.highest,
            "highest_at": iso(self.highest_at),
            "above_warning": round(self.above_warning, 1),
            "above_critical": round(self.above_critical, 1),
            "measured": round(self.measured, 1),
            "door_openings": self.door_openings,
            "door_open": self.door_open,
            "last_time": iso(self.last_time),
            "last_value": self.last_value,
            "at_restore": self.at_restore,
            "recovered_at": iso(self.recovered_at),
            "fell_below_at": iso(self.fell_below_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FreezerRecord:
        """Read the storage form back."""
        door_open = data.get("door_open")
        return cls(
            id=str(data["id"]),
            name=None if data.get("name") is None else str(data["name"]),
            warning=float(data["warning"]),
            critical=float(data["critical"]),
            highest=_optional_float(data.get("highest")),
            highest_at=optional_time(data.get("highest_at")),
            above_warning=float(data.get("above_warning", 0.0)),
            above_critical=float(data.get("above_critical", 0.0)),
            measured=float(data.get("measured", 0.0)),
            door_openings=int(data.get("door_openings", 0)),
            door_open=None if door_open is None else bool(door_open),
            last_time=optional_time(data.get("last_time")),
            last_value=_optional_float(data.get("last_value")),
            at_restore=_optional_float(data.get("at_restore")),
            recovered_at=optional_time(data.get("recovered_at")),
            fell_below_at=optional_time(data.get("fell_below_at")),
        )


@dataclass(slots=True)
class OutageRecord:
    """Every freezer through one outage, from the grid's loss until they had cooled down."""

    start: datetime
    end: datetime | None = None  # power restored (the grid back)
    closed: datetime | None = None
    freezers: dict[str, FreezerRecord] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The outage's name in file names and paths: its start in UTC, `20261122T100000Z`."""
        return outage_key(self.start)

    def covers(self, time: datetime) -> bool:
        """Whether a reading measured at `time` belongs to this record: not one after it
        closed, nor one after it ran out waiting (`RECOVERY_LIMIT`) and is yet to be closed
        (Home Assistant started long after, the reading before the first tick)."""
        if time < self.start or (self.closed is not None and time > self.closed):
            return False
        return self.end is None or time <= self.end + RECOVERY_LIMIT

    def recovered(self) -> bool:
        """Power is back and every freezer has been back at or below its warning limit."""
        return self.end is not None and all(
            f.recovered_at is not None or f.last_value is None for f in self.freezers.values()
        )

    def as_dict(self) -> dict[str, Any]:
        """Storage form."""
        return {
            "start": self.start.isoformat(),
            "end": iso(self.end),
            "closed": iso(self.closed),
            "freezers": [f.as_dict() for f in self.freezers.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutageRecord:
        """Read the storage form back."""
        freezers = [FreezerRecord.from_dict(f) for f in data.get("freezers") or ()]
        return cls(
            start=parse_time(data["start"]),
            end=optional_time(data.get("end")),
            closed=optional_time(data.get("closed")),
            freezers={f.id: f for f in freezers},
        )

    def summary(self, now: datetime | None = None, live: Collection[str] = ()) -> dict[str, Any]:
        """The record as an operator or an inspector reads it (minutes, °C, times).

        `now` and `live` (the freezers whose reading is live then, `live_freezers`): for an
        open record, the minutes without data so far (`freezer_summary`).
        """
        return {
            "outage_start": self.start.isoformat(),
            "power_restored": iso(self.end),
            "record_closed": iso(self.closed),
            "freezers": [freezer_summary(self, f, now, live) for f in self.freezers.values()],
        }


def freezer_summary(
    record: OutageRecord,
    freezer: FreezerRecord,
    now: datetime | None = None,
    live: Collection[str] = (),
) -> dict[str, Any]:
    """One freezer's line of a record.

    While the record is open, its minutes without data are those up to `now` (None without
    it), the time since the freezer's last reading not counted if that reading is still live
    (its id in `live`): a freezer silent during an outage still going shows it. That live
    reading holds until `now` for the minutes above the limits too, as it will when the record
    closes: a freezer sitting above its limit shows those minutes at once.
    """
    tail, last = _live_tail(record, freezer, now, live), freezer.last_value
    above_warning, above_critical = freezer.above_warning, freezer.above_critical
    if tail and last is not None:
        above_warning += tail if last > freezer.warning else 0.0
        above_critical += tail if last > freezer.critical else 0.0
    return {
        "freezer_id": freezer.id,
        "freezer_name": freezer.name,
        "warning_limit": freezer.warning,
        "critical_limit": freezer.critical,
        "highest_temperature": None if freezer.highest is None else round(freezer.highest, 1),
        "highest_at": iso(freezer.highest_at),
        "minutes_above_warning": _minutes(above_warning),
        "minutes_above_critical": _minutes(above_critical),
        "door_openings": freezer.door_openings,
        "temperature_at_restore": (
            None if freezer.at_restore is None else round(freezer.at_restore, 1)
        ),
        "back_below_warning_at": iso(freezer.back_below_warning_at),
        "minutes_without_data": _unmeasured(record, freezer, now, live),
    }


class ColdChain:
    """The open record, the finished ones, and how long each freezer has been above −18 °C."""

    def __init__(self) -> None:
        """Nothing recorded yet."""
        self.current: OutageRecord | None = None
        self.records: list[OutageRecord] = []
        # Freezer id -> since when its readings have been above HOLD_TEMPERATURE.
        self.above_hold_since: dict[str, datetime] = {}
        # Goes up whenever the finished records change (a record added, old ones pruned).
        self.records_revision = 0

    # -- input ------------------------------------------------------------------------------

    def begin(self, start: datetime, site: Site) -> None:
        """The grid has gone: open a record with every freezer as it stands."""
        # One that ran out meanwhile (Home Assistant not running) closes at its limit.
        self.advance(start, site)
        if self.current is not None:
            self._close(start, site)
        record = self.current = OutageRecord(start=start)
        for freezer in site.of_kind(Kind.FREEZER):
            entry = self._freezer(record, freezer, site)
            temperature = site.number(freezer, "temperature", start)
            if temperature is not None:
                entry.add(start, temperature, live_before=False)
            door = freezer.values.get("door")
            if door is not None and isinstance(door.value, bool):
                entry.door_open = door.value

    def temperature(
        self, site: Site, freezer: Component, time: datetime, value: float, live_before: bool
    ) -> None:
        """A freezer's temperature was measured; `live_before`: the last one was live until
        then (a gap in which it was not is counted as without data)."""
        if value > HOLD_TEMPERATURE:
            self.above_hold_since.setdefault(freezer.id, time)
        else:
            self.above_hold_since.pop(freezer.id, None)
        record = self.current
        if record is None or not record.covers(time):
            return
        entry = self._freezer(record, freezer, site)
        entry.add(time, value, live_before)
        if record.end is not None and entry.recovered_at is None and value <= entry.warning:
            entry.recovered_at = time
            if record.recovered():
                self._close(time, site)

    def door(self, site: Site, freezer: Component, time: datetime, is_open: bool) -> None:
        """A freezer's door contact reported."""
        record = self.current
        if record is None or not record.covers(time):
            return
        entry = self._freezer(record, freezer, site)
        if is_open and entry.door_open is not True:
            entry.door_openings += 1
        entry.door_open = is_open

    def restored(self, end: datetime, site: Site) -> None:
        """The grid is back: note each freezer's temperature; close when all are cold."""
        record = self.current
        if record is None:
            return
        record.end = end
        for entry in record.freezers.values():
            freezer = site.component(Kind.FREEZER, entry.id)
            live = None if freezer is None else site.number(freezer, "temperature", end)
            entry.at_restore = live
            if live is not None and live <= entry.warning:
                entry.recovered_at = end
        if record.recovered():
            self._close(end, site)

    def advance(self, now: datetime, site: Site | None = None) -> bool:
        """Time passes: close a record that waited long enough, prune what is too old.

        True when the open record was closed (the site's snapshot changed).
        """
        record = self.current
        closed = False
        if record is not None and record.end is not None and now - record.end > RECOVERY_LIMIT:
            at = record.end + RECOVERY_LIMIT
            # Closed late (Home Assistant was not running then): nothing known held till then.
            late = site is not None and now - at > site.settings.stale_timeout
            self._close(at, None if late else site)
            closed = True
        self.prune(now)
        return closed

    def forget(self, freezer_id: str) -> None:
        """A freezer is gone for good (its lines in records stay)."""
        self.above_hold_since.pop(freezer_id, None)

    def prune(self, now: datetime) -> None:
        """Drop records older than the retention time."""
        cutoff = now - RETENTION
        if self.records and _ended(self.records[0]) < cutoff:
            self.records = [r for r in self.records if _ended(r) >= cutoff]
            self.records_revision += 1

    # -- output -----------------------------------------------------------------------------

    def find(self, key: str) -> OutageRecord | None:
        """The record (finished or open) of the outage that started at `key` (`outage_key`)."""
        return next((record for record in self.all_records() if record.key == key), None)

    def all_records(self) -> list[OutageRecord]:
        """The finished records, oldest first, then the open one."""
        return [*self.records, *((self.current,) if self.current else ())]

    # -- persistence ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The open record and the −18 °C watch: part of the site's snapshot."""
        return {
            "current": None if self.current is None else self.current.as_dict(),
            "above_hold_since": {fid: t.isoformat() for fid, t in self.above_hold_since.items()},
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Read `snapshot` back; damage raises (KeyError, TypeError, ValueError)."""
        current = data.get("current")
        self.current = None if not current else OutageRecord.from_dict(current)
        self.above_hold_since = {
            str(fid): parse_time(t) for fid, t in dict(data.get("above_hold_since") or {}).items()
        }
        self._drop_current_if_finished()

    def records_snapshot(self) -> dict[str, Any]:
        """The finished records, as stored on their own."""
        return {"version": RECORDS_VERSION, "records": [r.as_dict() for r in self.records]}

    def restore_records(self, data: Mapping[str, Any]) -> None:
        """Read `records_snapshot` back; damage raises (KeyError, TypeError, ValueError)."""
        records = [OutageRecord.from_dict(r) for r in data.get("records") or ()]
        self.records = sorted(records, key=lambda r: r.start)[-MAX_RECORDS:]
        self._drop_current_if_finished()

    def _drop_current_if_finished(self) -> None:
        # Home Assistant killed between the two saves: the record was finished and stored, the
        # site's snapshot still had it open. The stored one is complete.
        if self.current is not None and any(r.start == self.current.start for r in self.records):
            self.current = None

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _freezer(record: OutageRecord, freezer: Component, site: Site) -> FreezerRecord:
        entry = record.freezers.get(freezer.id)
        if entry is None:
            warning, critical = site.freezers.limits(freezer)
            entry = record.freezers[freezer.id] = FreezerRecord(
                id=freezer.id, name=freezer.name, warning=warning, critical=critical
            )
        elif freezer.name and entry.name != freezer.name:
            entry.name = freezer.name
        return entry

    def _close(self, at: datetime, site: Site | None = None) -> None:
        record, self.current = self.current, None
        assert record is not None  # only an open record is closed
        if site is not None:
            # A reading still live when the record closes held until then (a probe that
            # reports only on a change, silent because nothing changed).
            live = live_freezers(site, at)
            for entry in record.freezers.values():
                last, value = entry.last_time, entry.last_value
                if entry.id in live and last is not None and value is not None and at > last:
                    entry.add(at, value, live_before=True)
        record.closed = at
        self.records = [*self.records, record][-MAX_RECORDS:]
        self.records_revision += 1
        self.prune(at)


def live_freezers(site: Site, now: datetime) -> frozenset[str]:
    """The freezers whose temperature reading is live at `now`."""
    return frozenset(
        freezer.id
        for freezer in site.of_kind(Kind.FREEZER)
        if site.fresh(freezer, "temperature", now) is not None
    )


def outage_key(start: datetime) -> str:
    """An outage's start as it appears in paths and file names: UTC, `20261122T100000Z`."""
    return start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def records_csv(
    records: Iterable[OutageRecord],
    site_name: str,
    zone: tzinfo | None = None,
    now: datetime | None = None,
    live: Collection[str] = (),
    decimal_comma: bool = False,
) -> str:
    """The records as CSV, one line per outage and freezer; times in `zone` (UTC if None);
    an open record's minutes without data up to `now` (`freezer_summary`).

    `decimal_comma`: for a spreadsheet where a comma is the decimal mark (Swedish, Norwegian),
    which also takes a semicolon, not a comma, between fields.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if decimal_comma else ",", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)

    def figure(value: Any) -> str:
        text = _number(value)
        return text.replace(".", ",") if decimal_comma else text

    for record in records:
        for freezer in record.freezers.values():
            line = freezer_summary(record, freezer, now, live)
            writer.writerow(
                [
                    site_name,
                    _local(record.start, zone),
                    _local(record.end, zone),
                    _local(record.closed, zone),
                    freezer.id,
                    freezer.name or "",
                    figure(freezer.warning),
                    figure(freezer.critical),
                    figure(line["highest_temperature"]),
                    _local(freezer.highest_at, zone),
                    figure(line["minutes_above_warning"]),
                    figure(line["minutes_above_critical"]),
                    freezer.door_openings,
                    figure(line["temperature_at_restore"]),
                    _local(freezer.back_below_warning_at, zone),
                    figure(line["minutes_without_data"]),
                ]
            )
    return out.getvalue()


# -- helpers -------------------------------------------------------------------------------


def _share_above(start: float, end: float, limit: float) -> float:
    """The share of a straight line from `start` to `end` that lies above `limit`."""
    if start > limit and end > limit:
        return 1.0
    if start <= limit and end <= limit:
        return 0.0
    return (max(start, end) - limit) / abs(end - start)


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def _unmeasured(
    record: OutageRecord, freezer: FreezerRecord, now: datetime | None, live: Collection[str]
) -> float | None:
    """Minutes of the record not covered by live readings; while it is open, up to `now`
    (None without it), the time since the last reading covered if it is live (in `live`)."""
    end = record.closed or now
    if end is None:
        return None
    covered = freezer.measured + _live_tail(record, freezer, now, live)
    span = (end - record.start).total_seconds()
    return _minutes(max(span - covered, 0.0))


def _live_tail(
    record: OutageRecord, freezer: FreezerRecord, now: datetime | None, live: Collection[str]
) -> float:
    """Seconds from an open record's last reading of the freezer to `now`, if that reading is
    still live (its id in `live`): it holds until then, as it would to the record's close."""
    if record.closed is not None or now is None or freezer.last_time is None:
        return 0.0
    if freezer.id not in live:
        return 0.0
    return max((now - freezer.last_time).total_seconds(), 0.0)


def _ended(record: OutageRecord) -> datetime:
    return record.closed or record.end or record.start


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _local(moment: datetime | None, zone: tzinfo | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone or UTC).isoformat(timespec="seconds")


def _number(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
