"""The cold-chain record in the pure model: what an outage did to each freezer, kept a year."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.sot.site.coldchain import (
    CSV_COLUMNS,
    MAX_RECORDS,
    RECOVERY_LIMIT,
    RETENTION,
    ColdChain,
    FreezerRecord,
    OutageRecord,
    live_freezers,
    outage_key,
    records_csv,
)
from custom_components.sot.site.model import Settings, Site
from custom_components.sot.site.readings import Meta, NodeStatus, Reading
from custom_components.sot.site.vocabulary import Value

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def feed(site: Site, minutes: float, kind: str, component_id: str, **values: Value) -> None:
    now = at(minutes)
    site.apply(
        [Reading(kind, component_id, quantity, value, now) for quantity, value in values.items()],
        now,
    )


def storm(site: Site) -> None:
    """Grid lost at minute 1, back at 90; freezer f1 warms 0.1 °C/min from −20 °C, then cools
    0.2 °C/min once the grid is back; its door opened twice during the outage."""
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0, door=False)
    feed(site, 1, "grid", "main", present=False)
    for minute in range(2, 91):
        feed(site, minute, "freezer", "f1", temperature=round(-20.05 + 0.1 * minute, 2))
        feed(site, minute, "grid", "main", present=False)
        if minute in (20, 30):
            feed(site, minute, "freezer", "f1", door=True)
        if minute in (21, 31):
            feed(site, minute, "freezer", "f1", door=False)
    feed(site, 90, "grid", "main", present=True)
    for minute in range(91, 121):
        feed(site, minute, "freezer", "f1", temperature=round(-11.05 - 0.2 * (minute - 90), 2))
        feed(site, minute, "grid", "main", present=True)


def test_one_outage_one_freezer_every_figure() -> None:
    site = Site()
    storm(site)
    assert site.coldchain.current is None
    (record,) = site.coldchain.records
    assert (record.start, record.end, record.closed) == (at(1), at(90), at(110))
    line = record.summary()["freezers"][0]
    assert line == {
        "freezer_id": "f1",
        "freezer_name": None,
        "warning_limit": -15.0,
        "critical_limit": -12.0,
        "highest_temperature": -11.1,
        "highest_at": at(90).isoformat(),
        # Above −15 °C from 50.5 min (warming) to 109.75 min (cooling): 59.25 min.
        "minutes_above_warning": pytest.approx(59.2, abs=0.06),
        # Above −12 °C from 80.5 min to 94.75 min.
        "minutes_above_critical": pytest.approx(14.2, abs=0.06),
        "door_openings": 2,
        "temperature_at_restore": -11.1,
        "back_below_warning_at": at(110).isoformat(),
        "minutes_without_data": 0.0,
    }
    assert site.coldchain.records_revision == 1


def test_a_gap_in_the_readings_is_counted_as_without_data_not_guessed() -> None:
    site = Site(Settings(stale_timeout=timedelta(minutes=5)))
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "freezer", "f1", temperature=-19.0)
    # Twenty minutes without a reading (the probe's node rebooting), then warm.
    feed(site, 22, "freezer", "f1", temperature=-10.0)
    feed(site, 23, "freezer", "f1", temperature=-10.0)
    feed(site, 23, "grid", "main", present=True)
    site.tick(at(23) + RECOVERY_LIMIT + timedelta(minutes=1))
    (record,) = site.coldchain.records
    line = record.summary()["freezers"][0]
    # Only minute 22 to 23 was measured above either limit; the gap is not integrated.
    assert line["minutes_above_warning"] == 1.0
    assert line["minutes_above_critical"] == 1.0
    assert line["highest_temperature"] == -10.0
    # The record ran 6 h 22 min; 2 min were measured (1-2, 22-23).
    assert line["minutes_without_data"] == pytest.approx(6 * 60 + 22 - 2)
    assert line["back_below_warning_at"] is None
    assert record.closed == at(23) + RECOVERY_LIMIT


def test_a_node_offline_breaks_the_measured_time() -> None:
    site = Site()
    site.set_meta(Meta("freezer", "f1", node="frys"))
    site.set_node(NodeStatus("frys", True, at(0)))
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    site.set_node(NodeStatus("frys", False, at(2)))
    feed(site, 3, "freezer", "f1", temperature=-14.0)  # its last will is still the word
    site.set_node(NodeStatus("frys", True, at(4)))
    feed(site, 4, "freezer", "f1", temperature=-14.0)
    current = site.coldchain.current
    assert current is not None
    entry = current.freezers["f1"]
    assert entry.measured == 60.0  # minute 3 to 4 only
    assert entry.above_warning == 60.0


def test_a_freezer_warm_at_restore_keeps_the_record_open_until_the_limit() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 0, "freezer", "f2", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "freezer", "f1", temperature=-13.0)
    feed(site, 2, "freezer", "f2", temperature=-19.0)
    feed(site, 3, "grid", "main", present=True)
    current = site.coldchain.current
    assert current is not None
    assert current.end == at(3)
    assert current.freezers["f2"].recovered_at == at(3)  # cold at restore
    assert current.freezers["f1"].recovered_at is None
    site.tick(at(3) + RECOVERY_LIMIT)
    assert site.coldchain.current is current  # six hours exactly: still waiting
    feed(site, 4, "freezer", "f1", temperature=-15.5)
    assert site.coldchain.current is None
    assert site.coldchain.records[-1].closed == at(4)


def test_the_next_outage_closes_a_record_still_waiting() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "freezer", "f1", temperature=-13.0)
    feed(site, 3, "grid", "main", present=True)
    feed(site, 4, "grid", "main", present=False)
    assert [r.closed for r in site.coldchain.records] == [at(4)]
    current = site.coldchain.current
    assert current is not None
    assert current.start == at(4)
    assert current.freezers["f1"].last_value == -13.0


def test_a_record_that_ran_out_unseen_closes_at_its_limit_not_at_the_next_outage() -> None:
    """Home Assistant stopped while a record waited for f1 to cool, and started ten hours on
    with the grid gone again: the earlier record ran out six hours after the grid returned."""
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "freezer", "f1", temperature=-13.0)
    feed(site, 3, "grid", "main", present=True)
    feed(site, 603, "grid", "main", present=False)
    assert [(r.end, r.closed) for r in site.coldchain.records] == [(at(3), at(3) + RECOVERY_LIMIT)]
    current = site.coldchain.current
    assert current is not None
    assert current.start == at(603)


def test_door_found_open_counts_and_readings_from_before_the_outage_do_not() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 5, "grid", "main", present=False)
    # Measured before the outage began (a bridge delivering late): not part of the record.
    site.apply([Reading("freezer", "f1", "door", True, at(4))], at(5))
    site.apply([Reading("freezer", "f1", "temperature", -3.0, at(4))], at(5))
    current = site.coldchain.current
    assert current is not None
    assert current.freezers["f1"].door_openings == 0
    assert current.freezers["f1"].highest == -20.0
    feed(site, 6, "freezer", "f1", door=True)
    feed(site, 7, "freezer", "f1", door=True)  # still open: the same opening
    assert current.freezers["f1"].door_openings == 1


def test_a_freezer_that_appears_during_the_outage_gets_its_line() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 1, "grid", "main", present=False)
    site.set_meta(Meta("freezer", "f9", name="Glasfrys", settings={"warning": -16.0}))
    feed(site, 2, "freezer", "f9", temperature=-17.0)
    current = site.coldchain.current
    assert current is not None
    entry = current.freezers["f9"]
    assert (entry.name, entry.warning, entry.critical) == ("Glasfrys", -16.0, -12.0)


def test_the_open_record_survives_a_restart_and_carries_on() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0, door=False)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "freezer", "f1", temperature=-14.0, door=True)
    stored = json.loads(json.dumps(site.snapshot()))
    restored = Site()
    restored.restore(stored)
    assert restored.snapshot() == site.snapshot()
    for each in (site, restored):
        feed(each, 3, "freezer", "f1", temperature=-14.0, door=False)
        feed(each, 4, "freezer", "f1", door=True)
        feed(each, 5, "freezer", "f1", temperature=-20.0)
        feed(each, 5, "grid", "main", present=True)
    assert [r.as_dict() for r in restored.coldchain.records] == [
        r.as_dict() for r in site.coldchain.records
    ]
    assert restored.coldchain.records[0].freezers["f1"].door_openings == 2


def test_finished_records_are_stored_on_their_own() -> None:
    site = Site()
    storm(site)
    snapshot = site.snapshot()
    assert snapshot["coldchain"]["current"] is None
    assert "records" not in json.dumps(snapshot["coldchain"])
    stored = json.loads(json.dumps(site.coldchain.records_snapshot()))
    assert stored["version"] == 1
    fresh = ColdChain()
    fresh.restore_records(stored)
    assert [r.as_dict() for r in fresh.records] == [r.as_dict() for r in site.coldchain.records]
    # A site restored later keeps the records it already has.
    site.restore(json.loads(json.dumps(snapshot)))
    assert len(site.coldchain.records) == 1


def test_a_record_both_finished_and_open_is_kept_once() -> None:
    """Killed between the two saves: the record store has it finished, the site's snapshot
    still open. The finished one wins."""
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    open_snapshot = json.loads(json.dumps(site.snapshot()))
    feed(site, 2, "freezer", "f1", temperature=-20.0)
    feed(site, 2, "grid", "main", present=True)
    records = json.loads(json.dumps(site.coldchain.records_snapshot()))
    restarted = Site()
    restarted.restore(open_snapshot)
    assert restarted.coldchain.current is not None
    restarted.coldchain.restore_records(records)
    assert restarted.coldchain.current is None
    assert len(restarted.coldchain.records) == 1


def test_a_year_of_outages_is_kept_and_older_ones_pruned() -> None:
    """Two outages a week for 420 days: those that ended more than 400 days ago go."""
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    day = 24 * 60
    starts = [d * day + 60 for d in range(0, 420, 3)]
    for start in starts:
        feed(site, start, "freezer", "f1", temperature=-20.0)
        feed(site, start, "grid", "main", present=False)
        feed(site, start + 30, "freezer", "f1", temperature=-19.0)
        feed(site, start + 30, "grid", "main", present=True)
    now = at(starts[-1] + 31)
    site.tick(now)
    # Each record closed when the grid came back (the freezer was cold): 30 min after it began.
    expected = [at(s) for s in starts if now - at(s + 30) <= RETENTION]
    assert [r.start for r in site.coldchain.records] == expected
    assert len(expected) < len(starts)
    # Nothing of the last year is missing.
    year = [s for s in starts if now - at(s) <= timedelta(days=365)]
    assert {outage_key(at(s)) for s in year} <= {r.key for r in site.coldchain.records}


def test_records_are_bounded_for_a_grid_that_flaps_all_year() -> None:
    chain = ColdChain()
    chain.records = [OutageRecord(start=at(i), end=at(i), closed=at(i)) for i in range(MAX_RECORDS)]
    chain.current = OutageRecord(start=at(MAX_RECORDS), end=at(MAX_RECORDS))
    chain.advance(at(MAX_RECORDS) + RECOVERY_LIMIT + timedelta(seconds=1))
    assert len(chain.records) == MAX_RECORDS
    assert chain.records[0].start == at(1)


def test_find_a_record_by_its_outage_start() -> None:
    site = Site()
    storm(site)
    key = outage_key(at(1))
    assert key == "20261122T100100Z"
    assert site.coldchain.find(key) is site.coldchain.records[0]
    assert site.coldchain.find("20261122T100000Z") is None


def test_csv_one_line_per_outage_and_freezer_in_local_time() -> None:
    site = Site()
    storm(site)
    site.coldchain.records[0].freezers["f1"].name = "Frys 1, glasdörr"
    text = records_csv(site.coldchain.records, "Kall", ZoneInfo("Europe/Stockholm"))
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1] == [
        "Kall",
        "2026-11-22T11:01:00+01:00",
        "2026-11-22T12:30:00+01:00",
        "2026-11-22T12:50:00+01:00",
        "f1",
        "Frys 1, glasdörr",
        "-15",
        "-12",
        "-11.1",
        "2026-11-22T12:30:00+01:00",
        rows[1][10],
        rows[1][11],
        "2",
        "-11.1",
        "2026-11-22T12:50:00+01:00",
        "0",
    ]
    assert float(rows[1][10]) == pytest.approx(59.2, abs=0.06)
    assert text.endswith("\r\n")


def test_an_open_record_has_no_unmeasured_figure_yet() -> None:
    record = OutageRecord(start=at(0))
    entry = FreezerRecord(id="f1", name=None, warning=-15.0, critical=-12.0)
    record.freezers["f1"] = entry
    assert record.summary()["freezers"][0]["minutes_without_data"] is None
    assert records_csv([record], "Kall").splitlines()[1].split(",")[2] == ""


def test_a_freezer_silent_in_an_outage_still_going_shows_the_gap() -> None:
    """An hour into an outage f1 has said nothing since minute 2, f2 every minute: the file
    shows f1's gap now, not only once the record closes."""
    site = Site(Settings(stale_timeout=timedelta(minutes=5)))
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 0, "freezer", "f2", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    feed(site, 2, "freezer", "f1", temperature=-19.0)
    for minute in range(2, 61):
        feed(site, minute, "freezer", "f2", temperature=-20.0)
    records = site.coldchain.all_records()
    text = records_csv(records, "Kall", now=at(60), live=live_freezers(site, at(60)))
    rows = list(csv.DictReader(text.splitlines()))
    assert [(r["freezer_id"], r["record_closed"], r["minutes_without_data"]) for r in rows] == [
        # 59 minutes of outage: f1 measured from 1 to 2 only.
        ("f1", "", "58"),
        ("f2", "", "0"),
    ]
    # Without a time to count to, the figure is not claimed.
    assert records[0].summary()["freezers"][0]["minutes_without_data"] is None


def test_a_probe_silent_because_nothing_changed_is_counted_to_the_close() -> None:
    """A probe that reports only on a 0.5 °C change sits at −14.5 °C from minute 32 until the
    record closes six hours after the grid came back: live all along (its node online), so
    those hours are above the warning limit, not without data."""
    site = Site()
    site.set_meta(Meta("freezer", "f1", node="frys"))
    site.set_node(NodeStatus("frys", True, at(0)))
    feed(site, 0, "grid", "main", present=True)
    for n, minute in enumerate(range(0, 40, 8)):
        feed(site, minute, "freezer", "f1", temperature=-16.5 + 0.5 * n)
        if minute == 0:
            feed(site, 1, "grid", "main", present=False)
    feed(site, 40, "grid", "main", present=True)
    site.tick(at(40) + RECOVERY_LIMIT + timedelta(seconds=15))
    (record,) = site.coldchain.records
    assert record.closed == at(40) + RECOVERY_LIMIT
    rows = list(csv.DictReader(records_csv([record], "Kall").splitlines()))
    # Above −15 °C from minute 24 (−15.0, then −14.5 at 32) to the close at minute 400.
    assert rows[0]["minutes_above_warning"] == "376"
    # Until the probe's step was known (minute 16), readings 8 minutes apart were stale.
    assert rows[0]["minutes_without_data"] == "23"


def test_forgetting_a_freezer_ends_its_minus_18_watch() -> None:
    site = Site()
    feed(site, 0, "freezer", "f1", temperature=-10.0)
    assert "f1" in site.coldchain.above_hold_since
    site.forget("freezer", "f1")
    assert "f1" not in site.coldchain.above_hold_since


def test_damaged_storage_is_refused() -> None:
    with pytest.raises(KeyError):
        OutageRecord.from_dict({"end": None})
    site = Site()
    with pytest.raises(ValueError, match="damaged"):
        site.restore({"coldchain": {"current": {"start": "not a time"}}})


def test_a_freezer_named_during_the_outage_is_recorded_by_its_name() -> None:
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    site.set_meta(Meta("freezer", "f1", name="Glasfrys"))
    feed(site, 2, "freezer", "f1", temperature=-19.0)
    current = site.coldchain.current
    assert current is not None
    assert current.freezers["f1"].name == "Glasfrys"


def test_an_outage_saved_before_there_was_a_record_ends_without_one() -> None:
    """A snapshot of an earlier version: the outage is there, its record is not."""
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-20.0)
    feed(site, 1, "grid", "main", present=False)
    stored = json.loads(json.dumps(site.snapshot()))
    del stored["coldchain"]
    restored = Site()
    restored.restore(stored)
    assert restored.outages.current is not None
    assert restored.coldchain.current is None
    feed(restored, 2, "grid", "main", present=True)
    assert restored.outages.current is None
    assert restored.coldchain.records == []


def test_a_freezer_back_below_its_limit_before_the_grid_returned_says_when() -> None:
    """Warmed past −15 °C while shed, then cooled again on the generator an hour before the grid
    came back: back below its limit when it crossed it (interpolated between readings as the
    minutes above are), not when the grid returned."""
    site = Site()
    feed(site, 0, "grid", "main", present=True)
    feed(site, 0, "freezer", "f1", temperature=-16.0)
    feed(site, 1, "grid", "main", present=False)
    for minute in range(2, 121):
        # Up 0.1 °C/min to −14 °C at minute 20, then down 0.2 °C/min on the generator.
        temperature = -16.0 + 0.1 * minute if minute <= 20 else -14.0 - 0.2 * (minute - 20)
        feed(site, minute, "freezer", "f1", temperature=round(max(temperature, -20.0), 2))
        feed(site, minute, "grid", "main", present=False)
    feed(site, 121, "grid", "main", present=True)
    feed(site, 122, "freezer", "f1", temperature=-20.0)
    (record,) = site.coldchain.records
    line = record.summary()["freezers"][0]
    # Above −15 °C from minute 10 to minute 25.
    assert line["minutes_above_warning"] == pytest.approx(15.0, abs=0.06)
    assert line["back_below_warning_at"] == at(25).isoformat()
    # Saved and read back mid-record, the crossing is kept.
    entry = FreezerRecord.from_dict(json.loads(json.dumps(record.freezers["f1"].as_dict())))
    assert entry.back_below_warning_at == at(25)
