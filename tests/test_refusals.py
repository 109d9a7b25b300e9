"""Which refusals are logged: bounded lines and memory; good values in between change nothing."""

from __future__ import annotations

from custom_components.sot.refusals import BUDGET, INTERVAL, SIZE, RefusalLog, Verdict

HOUR = INTERVAL


def logged(log: RefusalLog, refusals: list[tuple[str, str]], now: float) -> int:
    return sum(log.verdict(source, reason, now) is not Verdict.QUIET for source, reason in refusals)


def test_one_line_per_topic_and_reason_an_hour() -> None:
    log = RefusalLog()
    assert log.verdict("sot/kall/freezer/f1/temperature", "not_a_number", 0) is Verdict.LOG
    assert log.verdict("sot/kall/freezer/f1/temperature", "not_a_number", 10) is Verdict.QUIET
    # Another reason on the same topic is another line.
    assert log.verdict("sot/kall/freezer/f1/temperature", "out_of_range", 20) is Verdict.LOG
    assert log.verdict("sot/kall/freezer/f1/temperature", "not_a_number", HOUR - 1) is Verdict.QUIET
    assert log.verdict("sot/kall/freezer/f1/temperature", "not_a_number", HOUR) is Verdict.LOG
    assert log.quiet == 2


def test_a_thousand_bad_values_between_good_ones_are_one_line() -> None:
    """The old rule forgot at every good value: 281 lines per 1000 bad messages."""
    log = RefusalLog()
    lines = logged(log, [("sot/kall/tank/main/level", "not_a_number")] * 1000, 0)
    assert lines == 1


def test_a_flood_of_topics_is_held_to_the_budget_and_memory_stays_bounded() -> None:
    log = RefusalLog()
    verdicts = [
        log.verdict(f"sot/kall/freezer/x{n}/temperature", "bad_id", n / 2) for n in range(5000)
    ]
    assert verdicts.count(Verdict.LOG) == BUDGET - 1
    assert verdicts.index(Verdict.LOG_LAST) == BUDGET - 1
    assert verdicts.count(Verdict.LOG_LAST) == 1
    assert len(log) <= SIZE
    # A new hour, a new budget.
    assert log.verdict("sot/kall/freezer/y/temperature", "bad_id", HOUR + 5000) is Verdict.LOG


def test_memory_keeps_the_most_recently_refused() -> None:
    log = RefusalLog(size=3, budget=100)
    for source in ("a", "b", "c"):
        log.verdict(source, "bad_json", 0)
    log.verdict("a", "bad_json", 1)  # refused again: now the most recent
    log.verdict("d", "bad_json", 2)  # pushes out "b", the least recent
    assert len(log) == 3
    assert log.verdict("a", "bad_json", 3) is Verdict.QUIET
    assert log.verdict("b", "bad_json", 4) is Verdict.LOG
