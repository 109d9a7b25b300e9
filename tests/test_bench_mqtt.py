"""The building blocks of `scripts/bench mqtt`, without starting Home Assistant.

The workload's numbered values, the schedules, the /proc parsing, the configuration the
benchmark writes, the probe's counting, the publisher process against the real broker, and the
targets' verdicts.
"""

from __future__ import annotations

import array
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import aiomqtt
import pytest
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml

from custom_components.sot.mqtt.topics import parse_message

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_probe  # noqa: E402
import mqtt_bench  # noqa: E402
import mqtt_hass  # noqa: E402
import mqtt_load  # noqa: E402

SITE = mqtt_load.topics_for(mqtt_load.site_ids(1))


# -- the workload ---------------------------------------------------------------------------


def test_a_site_is_forty_quantities_of_twenty_freezers_a_generator_a_tank_and_a_grid() -> None:
    kinds = [topic.q.kind for topic in SITE]
    assert len(SITE) == 40
    assert kinds.count("freezer") == 20
    assert {"generator", "tank", "grid"} <= set(kinds)
    assert sum(topic.numbered for topic in SITE) == 39
    assert len({topic.name for topic in SITE}) == 40
    assert len({topic.key for topic in SITE}) == 40


@pytest.mark.parametrize("k", [0, 1, 999, 12_345])
def test_every_value_says_which_message_it_is(k: int) -> None:
    for topic in SITE:
        payload = topic.payload(k)
        if not topic.numbered:
            assert payload == "ON"
            assert topic.number(payload) is None
            continue
        assert topic.q.low <= float(payload) <= topic.q.high, topic.name
        assert topic.number(payload) == k, topic.name
        # Home Assistant may show the number as Python writes a float: -24.9 for "-24.9000".
        assert topic.number(str(float(payload))) == k, topic.name


def test_a_state_that_is_no_message_of_ours_has_no_number() -> None:
    freezer = SITE[0]
    assert freezer.number("unavailable") is None
    assert freezer.number("") is None
    assert freezer.number("-30.0") is None  # below the range: not one of ours


def test_every_payload_is_a_reading_the_integration_accepts() -> None:
    now = dt_util.utcnow()
    for topic in SITE:
        for k in (0, 5000):
            parsed = parse_message("sot/bench", topic.name, topic.payload(k).encode(), now)
            assert not parsed.rejections, (topic.name, parsed.rejections)
            assert len(parsed.readings) == 1


def test_round_robin_sends_every_topic_in_turn_at_the_rate() -> None:
    schedule = mqtt_load.round_robin(40, 200, 2)
    assert len(schedule) == 400
    assert [index for _, index in schedule[:41]] == [*range(40), 0]
    assert schedule[-1][0] == pytest.approx(399 / 200)


def test_the_county_schedule_sends_each_component_at_its_own_realistic_period() -> None:
    topics = mqtt_load.topics_for(mqtt_load.site_ids(50))
    seconds = 600.0
    schedule = mqtt_load.realistic(topics, seconds)
    offsets = [offset for offset, _ in schedule]
    assert offsets == sorted(offsets)
    assert offsets[0] >= 0
    assert offsets[-1] < seconds
    assert len(schedule) / seconds == pytest.approx(mqtt_load.expected_rate(topics), rel=0.1)
    gaps: dict[int, list[float]] = {}
    last: dict[int, float] = {}
    for offset, index in schedule:
        if index in last:
            gaps.setdefault(index, []).append(offset - last[index])
        last[index] = offset
    for index, between in gaps.items():
        low, high = topics[index].q.period
        assert low - 1e-6 <= min(between) <= max(between) <= high + 1e-6
    # A component's quantities go out together: the generator's 13 at the same moment.
    generator = [i for i, t in enumerate(topics) if t.site == "s01" and t.q.kind == "generator"]
    first = {index: offset for offset, index in reversed(schedule) if index in generator}
    assert len(set(first.values())) == 1


def test_the_plan_numbers_each_topic_on_from_where_the_last_phase_ended() -> None:
    schedule = mqtt_load.round_robin(40, 100, 1)
    data = mqtt_load.plan(1883, SITE, schedule, [5] * 40)
    assert data["next_k"] == [5 + 100 // 40 + (1 if i < 100 % 40 else 0) for i in range(40)]
    offset, index, k, payload = data["messages"][0]
    assert (offset, index, k) == (0.0, 0, 5)
    assert SITE[0].number(payload) == 5
    with pytest.raises(ValueError, match="more messages than its range"):
        mqtt_load.plan(1883, SITE, schedule, [SITE[0].capacity] * 40)


def test_sends_files_are_read_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "sends"
    path.write_bytes(array.array("q", [3, 7, 1000, 4, 8, 2000]).tobytes())
    sends = mqtt_load.Sends.read(path)
    assert len(sends) == 2
    assert sends.by_message() == {(3, 7): 1000, (4, 8): 2000}


# -- /proc ----------------------------------------------------------------------------------


def test_cpu_times_are_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    fields = " ".join(str(n) for n in range(3, 53))
    text = f"4242 (hass (main) x) S {fields[2:]}\n"
    # Fields 3 ("S") to 52: utime is field 14, stime field 15.
    assert mqtt_hass.parse_stat(text) == (14, 15)


def test_this_process_cpu_time_grows_while_it_works() -> None:
    before = mqtt_hass.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert mqtt_hass.cpu_seconds(os.getpid()) >= before + 0.03


def test_machine_busy_time_is_everything_but_idle_and_iowait() -> None:
    text = "cpu  100 20 30 5000 40 5 6 7 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    assert mqtt_hass.parse_proc_stat(text) == (100 + 20 + 30 + 5 + 6 + 7) / mqtt_hass.CLOCK_TICKS
    assert mqtt_hass.machine_busy_seconds() > 0


# -- the configuration ----------------------------------------------------------------------


def test_the_core_instance_gets_one_mqtt_sensor_per_topic(tmp_path: Path) -> None:
    mqtt_hass.write_config(
        tmp_path, name="bench core", http_port=18123, broker_port=11883, core_topics=SITE
    )
    config = load_yaml(tmp_path / "configuration.yaml")
    assert config["http"] == {"server_host": "127.0.0.1", "server_port": 18123}
    assert "bench_probe" in config
    assert "recorder" not in config
    sensors = config["mqtt"]["sensor"]
    assert [s["state_topic"] for s in sensors] == [t.name for t in SITE]
    assert [s["unique_id"] for s in sensors] == [t.key for t in SITE]
    freezer = sensors[0]
    assert freezer["device_class"] == "temperature"
    assert freezer["unit_of_measurement"] == "°C"
    entries = json.loads((tmp_path / ".storage" / "core.config_entries").read_text())
    (broker,) = entries["data"]["entries"]
    assert (broker["domain"], broker["data"]) == ("mqtt", {"broker": "127.0.0.1", "port": 11883})
    assert (tmp_path / "custom_components" / "bench_probe" / "manifest.json").exists()
    assert not (tmp_path / "custom_components" / "sot").exists()


def test_our_instance_gets_one_sot_entry_per_site_and_the_working_tree(tmp_path: Path) -> None:
    mqtt_hass.write_config(
        tmp_path,
        name="bench ours",
        http_port=18124,
        broker_port=11883,
        sites=["s01", "s02"],
        recorder=True,
    )
    config = load_yaml(tmp_path / "configuration.yaml")
    assert "mqtt" not in config
    assert "recorder" in config
    entries = json.loads((tmp_path / ".storage" / "core.config_entries").read_text())
    sot = [e for e in entries["data"]["entries"] if e["domain"] == "sot"]
    assert [e["data"] for e in sot] == [
        {"name": "S01", "site_id": "s01", "base_topic": "sot/s01"},
        {"name": "S02", "site_id": "s02", "base_topic": "sot/s02"},
    ]
    assert len({e["entry_id"] for e in entries["data"]["entries"]}) == 3
    linked = (tmp_path / "custom_components" / "sot").resolve()
    assert linked == (BENCHMARKS.parent / "custom_components" / "sot").resolve()


# -- the probe ------------------------------------------------------------------------------


async def test_the_probe_counts_writes_and_timestamps_tracked_changes(hass: HomeAssistant) -> None:
    probe = bench_probe.Probe(hass)
    hass.bus.async_listen(EVENT_STATE_CHANGED, bench_probe._never, event_filter=probe.on_changed)
    hass.bus.async_listen(EVENT_STATE_REPORTED, bench_probe._never, event_filter=probe.on_reported)
    hass.states.async_set("sensor.seen", "1")
    hass.states.async_set("sensor.other", "1")
    probe.tracked = {"sensor.seen": 0}
    probe.counted = {"sensor.seen"}
    before = time.monotonic_ns()
    hass.states.async_set("sensor.seen", "2")
    hass.states.async_set("sensor.seen", "2")  # the same state again: a write, no change
    hass.states.async_set("sensor.other", "2")  # not counted
    await hass.async_block_till_done()
    assert (probe.changed, probe.reported) == (3, 1)  # two before counting was narrowed
    ((t_ns, index, state),) = probe.records
    assert (index, state) == (0, "2")
    assert before <= t_ns <= time.monotonic_ns()
    assert probe.status()["messages"] is None  # no SOT site loaded
    probe.on_connection(False)
    probe.on_connection(True)
    assert probe.status()["mqtt_disconnects"] == 1


# -- the publisher --------------------------------------------------------------------------


async def test_the_publisher_sends_the_plan_and_records_each_send(
    socket_enabled: None, broker_port: int, tmp_path: Path
) -> None:
    schedule = mqtt_load.round_robin(len(SITE), 400, 0.2)
    plan_path, sends_path = tmp_path / "plan.json", tmp_path / "sends"
    plan_path.write_text(json.dumps(mqtt_load.plan(broker_port, SITE, schedule, [0] * 40)))
    got: list[tuple[str, str]] = []
    async with aiomqtt.Client("127.0.0.1", broker_port, identifier="bench-test") as client:
        await client.subscribe("sot/bench/#")
        publisher = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BENCHMARKS / "mqtt_load.py"),
            str(plan_path),
            str(sends_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert publisher.stdin is not None
        assert publisher.stdout is not None
        assert await asyncio.wait_for(publisher.stdout.readline(), 20) == b"ready\n"
        publisher.stdin.write(b"go\n")
        summary = json.loads(await asyncio.wait_for(publisher.stdout.readline(), 20))
        await publisher.wait()
        async with asyncio.timeout(10):
            async for message in client.messages:
                got.append((str(message.topic), bytes(message.payload).decode()))
                if len(got) == 80:
                    break
    assert summary["sent"] == 80
    assert summary["next_k"] == [2] * 40
    assert got[:40] == [(t.name, t.payload(0)) for t in SITE]
    sends = mqtt_load.Sends.read(sends_path)
    assert sends.topic == [i % 40 for i in range(80)]
    assert sends.k == [i // 40 for i in range(80)]
    assert sends.t_ns == sorted(sends.t_ns)
    # Paced, not bursted: 80 messages at 400/s take about 0.2 s.
    assert 0.15e9 < sends.t_ns[-1] - sends.t_ns[0] < 0.5e9


# -- the verdicts ---------------------------------------------------------------------------


def _rate(cpu_ratio: float, sent: int, taken: int, p99: float, writes: float) -> dict[str, object]:
    ours = {
        "sent": sent,
        "taken": taken,
        "dropped": sent - taken,
        "stale_topics": 0,
        "p99_ms": p99,
        "writes_per_msg": writes,
        "changes_per_msg": 1.0,
    }
    return {"ours": ours, "cpu_ratio": cpu_ratio}


def test_targets_pass_and_fail_as_issue_12_sets_them() -> None:
    args = SimpleNamespace(rate_list=[200.0, 2000.0])
    good = {
        "rates": {"200": _rate(1.2, 100, 100, 12.0, 1.0), "2000": _rate(1.4, 900, 900, 80, 1.0)},
        "drift": {"ours": {"change": 0.05}},
    }
    verdicts = mqtt_bench.targets(good, args)
    assert all(t["pass"] for t in verdicts.values()), verdicts
    assert set(verdicts) == {
        "cpu_ratio_max",
        "no_drop_at_2000",
        "p99_ms_at_200",
        "writes_beyond_changes_per_msg",
        "drift",
    }
    bad = {
        "rates": {"200": _rate(1.6, 100, 100, 60.0, 1.5), "2000": _rate(1.4, 900, 899, 80, 1.0)},
        "drift": {"ours": {"change": 0.05, "change_vs_core": 0.12}},
    }
    verdicts = mqtt_bench.targets(bad, args)
    assert not any(t["pass"] for t in verdicts.values()), verdicts
    assert verdicts["no_drop_at_2000"]["value"] == {"dropped": 1, "stale_topics": 0}


def test_results_give_percentiles_and_per_message_figures() -> None:
    result = mqtt_bench.Result(
        sent=200,
        taken=100,
        shown=1.0,
        cpu=0.5,
        window=1.0,
        latencies_ms=[float(n) for n in range(1, 101)],
        writes=300,
        changes=250,
        stale=0,
    )
    assert result.share == 0.5
    assert result.cpu_per_1000 == 5.0
    assert (result.percentile(0.5), result.percentile(0.99)) == (51.0, 100.0)
    assert (result.writes_per_msg, result.changes_per_msg) == (3.0, 2.5)
    assert result.dropped == 100
    result.eventually = 150  # taken in after the drain, before the next phase
    assert result.dropped == 50
    assert result.summary()["taken_eventually"] == 150
    assert mqtt_bench.Result(0, 0, 1.0, 0, 0, [], 0, 0, 0).summary()["p99_ms"] is None


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["estimates", "--quick"], "'--quick' is an option: options go after '--'"),
        (["estimates", "nope"], "no benchmark 'nope' (have: county estimates modbus mqtt"),
    ],
)
def test_scripts_bench_checks_every_name_before_it_runs_one(argv: list[str], said: str) -> None:
    """A misplaced option or a typo is refused at once, not after a whole benchmark."""

    script = Path(__file__).parents[1] / "scripts" / "bench"
    done = subprocess.run(
        [str(script), *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert said in done.stderr
    assert done.stdout == ""  # not one benchmark ran
