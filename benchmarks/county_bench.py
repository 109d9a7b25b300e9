"""The county bridge alone: N site brokers bridged to one county broker, at realistic rates.

`scripts/bench county` (`-- --sites 100`, `-- --quick`) builds a county with `scripts/county`
(its CA, one TLS login and certificate per site, the ACL), starts one Mosquitto per site and
the county's, each run from the generated conf.d, and one county Home Assistant login (paho, a
session the county keeps) subscribed to `sot/#`. No Home Assistant runs: this measures the
brokers and the bridges, not the integration.

Each site's 40 quantities (benchmarks/mqtt_load.py's site: 20 freezers, a generator, a tank, a
grid meter) are published at their realistic periods, about 5.8 msg/s a site, at QoS 0 as
ESPHome nodes do, by one publisher thread per 25 sites. Every payload is the site's message
number, so the receiver counts what was lost and duplicated and, from the send times, the
latency from the site broker through the bridge to the county's subscriber.

Phases:

1. steady: `--seconds` (60) of traffic; messages lost, duplicated, latency p50/p99/max; CPU
   of the county broker and of all site brokers together (utime+stime from /proc).
2. outage: the county broker is stopped for `--outage` seconds (30) while the sites go on,
   then started again: every bridge reconnects and flushes its queue. Lost, duplicated, the
   time from the restart until every message has arrived.
3. day: one site's bridge down while a day of its traffic (8 msg/s x 86 400 s = 691 200
   messages) is published as fast as the broker takes it; the site broker's memory and its
   persistence file (stopped and started again with the queue), then the link restored and
   the day drained to the county: lost, drain time. `--no-day` skips it.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.mqtt_load import expected_rate, realistic, topics_for
from tests.county.brokers import Broker, close_all, make_county, running, wait_for

SITES_PER_PUBLISHER = 25
DAY_MESSAGES = 8 * 86400  # the shipped queue: a day at 8 msg/s
CLK_TCK = os.sysconf("SC_CLK_TCK")
QUIET_LOGS = ("error", "warning", "notice")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def broker_cpu(brokers: list[Broker]) -> float:
    """CPU seconds of these broker processes together."""
    return sum(cpu_seconds(b.proc.pid) for b in brokers if b.proc is not None)


@dataclass
class Tally:
    """What was sent and what arrived, per site: message number → send time / arrivals."""

    sent: dict[str, dict[int, float]] = field(default_factory=dict)
    arrived: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        """The receiver's callback: sot/<site>/... with the site's message number."""
        parts = msg.topic.split("/")
        if len(parts) < 3 or parts[0] != "sot" or not msg.payload.isdigit():
            return
        with self.lock:
            self.arrived.setdefault(parts[1], []).append((int(msg.payload), time.monotonic()))

    def mark(self) -> dict[str, tuple[int, int]]:
        """Where a phase starts, per site: (its first message number, its first arrival)."""
        with self.lock:
            return {
                site: (len(sent), len(self.arrived.get(site, [])))
                for site, sent in self.sent.items()
            }

    def count(self) -> tuple[int, int]:
        """(messages sent, distinct messages arrived)."""
        with self.lock:
            sent = sum(len(v) for v in self.sent.values())
            got = sum(len({k for k, _ in v}) for v in self.arrived.values())
        return sent, got

    def report(self, since: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
        """Lost, duplicated, out of order, latency: of the messages sent since `since`.

        A message of an earlier phase arriving again (re-sent after a cut) counts as a
        duplicate; out of order is a message arriving after a higher-numbered one of its site.
        """
        lost = dup = disorder = sent_total = 0
        latencies: list[float] = []
        with self.lock:
            for site, sent in self.sent.items():
                first_k, first_arrival = (since or {}).get(site, (0, 0))
                arrivals = self.arrived.get(site, [])
                seen = {k for k, _ in arrivals[:first_arrival]}
                last = -1
                for k, t in arrivals[first_arrival:]:
                    if k in seen:
                        dup += 1
                        continue
                    seen.add(k)
                    if k < last:
                        disorder += 1
                    last = max(last, k)
                    if k in sent and k >= first_k:
                        latencies.append((t - sent[k]) * 1000)
                phase = {k for k in sent if k >= first_k}
                sent_total += len(phase)
                lost += len(phase - seen)
        latencies.sort()

        def pct(p: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

        return {
            "sent": sent_total,
            "lost": lost,
            "duplicated": dup,
            "out_of_order": disorder,
            "latency_ms": {
                "p50": pct(0.5) if latencies else None,
                "p99": pct(0.99) if latencies else None,
                "max": round(latencies[-1], 1) if latencies else None,
                "mean": round(statistics.fmean(latencies), 1) if latencies else None,
            },
        }


class Publisher(threading.Thread):
    """Publishes some sites' realistic schedules to their site brokers, numbering messages."""

    def __init__(self, sites: dict[str, int], seconds: float, tally: Tally, seed: int) -> None:
        super().__init__(daemon=True)
        self.tally = tally
        self.clients: dict[str, mqtt.Client] = {}
        for site, port in sites.items():
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-node-{site}")
            client.max_queued_messages_set(0)
            client.connect("127.0.0.1", port)
            client.loop_start()
            self.clients[site] = client
            tally.sent.setdefault(site, {})
        topics = topics_for(list(sites))
        self.schedule = [
            (t, topics[i].site, topics[i].name) for t, i in realistic(topics, seconds, seed)
        ]
        self.next_number = {site: len(tally.sent[site]) for site in sites}

    def run(self) -> None:
        start = time.monotonic()
        for offset, site, topic in self.schedule:
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            k = self.next_number[site]
            self.next_number[site] = k + 1
            now = time.monotonic()
            with self.tally.lock:
                self.tally.sent[site][k] = now
            self.clients[site].publish(topic, str(k), qos=0)

    def close(self) -> None:
        """Disconnect every node client."""
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()


def play(site_ports: dict[str, int], seconds: float, tally: Tally, seed: int) -> None:
    """Publish `seconds` of every site's traffic, SITES_PER_PUBLISHER sites per thread."""
    names = list(site_ports)
    publishers = [
        Publisher(
            {n: site_ports[n] for n in names[i : i + SITES_PER_PUBLISHER]}, seconds, tally, seed + i
        )
        for i in range(0, len(names), SITES_PER_PUBLISHER)
    ]
    for p in publishers:
        p.start()
    for p in publishers:
        p.join()
    for p in publishers:
        p.close()


def drain(tally: Tally, timeout: float, quiet_s: float = 15) -> float:
    """Wait until every sent message has arrived (or none for `quiet_s`, or `timeout`); seconds.

    `quiet_s` is above the bridges' reconnection backoff (at most 10 s here).
    """
    t0 = time.monotonic()
    last, quiet = -1, time.monotonic()
    while time.monotonic() - t0 < timeout:
        sent, got = tally.count()
        if got >= sent:
            break
        if got != last:
            last, quiet = got, time.monotonic()
        elif time.monotonic() - quiet > quiet_s:
            break
        time.sleep(0.05)
    return time.monotonic() - t0


def say(text: str = "") -> None:
    """Print now."""
    print(text, flush=True)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """All phases; the report."""
    names = [f"s{i:03d}" for i in range(1, args.sites + 1)]
    t0 = time.monotonic()
    county = make_county(workdir, names, restart_timeout="2 10", links=False, log_types=QUIET_LOGS)
    report: dict[str, Any] = {"sites": args.sites, "cores": os.cpu_count()}
    rate = expected_rate(topics_for(["x"]))
    report["site_rate_msg_s"] = round(rate, 2)
    say(
        f"county: {args.sites} sites at {rate:.1f} msg/s each, {rate * args.sites:.0f} msg/s in all"
    )
    with running(county):
        report["setup_s"] = round(time.monotonic() - t0, 1)
        tally = Tally()
        receiver = county.ha(client_id="bench-county-ha", clean=False)
        receiver.client.on_message = tally.on_message
        receiver.subscribe("sot/#")
        probe = county.ha()
        probe.subscribe("sot-bridge/+/state")
        wait_for(
            lambda: len({m.topic for m in probe.received() if m.payload == b"1"}) == len(names),
            60,
            "every bridge up",
        )
        say(f"  setup: {report['setup_s']} s ({args.sites + 1} brokers, every bridge up)")
        ports = {n: county.sites[n].port for n in names}
        sites = [county.sites[n].broker for n in names]

        # 1. steady
        cpu0 = (broker_cpu([county.broker]), broker_cpu(sites), time.monotonic())
        play(ports, args.seconds, tally, seed=1)
        drained = drain(tally, 30)
        cpu1 = (broker_cpu([county.broker]), broker_cpu(sites), time.monotonic())
        steady = tally.report()
        window = cpu1[2] - cpu0[2]
        steady["county_cpu_percent"] = round(100 * (cpu1[0] - cpu0[0]) / window, 1)
        steady["sites_cpu_percent"] = round(100 * (cpu1[1] - cpu0[1]) / window, 1)
        steady["county_rss_mb"] = round(rss_mb(county.broker.proc.pid), 1)  # type: ignore[union-attr]
        steady["drain_s"] = round(drained, 2)
        report["steady"] = steady
        say(
            f"  steady {args.seconds:g} s: sent {steady['sent']}, lost {steady['lost']}, "
            f"duplicated {steady['duplicated']}, latency p50 {steady['latency_ms']['p50']} ms, "
            f"p99 {steady['latency_ms']['p99']} ms, max {steady['latency_ms']['max']} ms; "
            f"CPU county {steady['county_cpu_percent']} %, {args.sites} site brokers "
            f"{steady['sites_cpu_percent']} %"
        )

        # 2. outage of the county broker
        if args.outage > 0:
            since = tally.mark()
            county.broker.stop()
            play(ports, args.outage, tally, seed=2)
            restart = time.monotonic()
            county.broker.start()
            drain(tally, 120)
            outage = tally.report(since)
            outage["drain_s"] = round(time.monotonic() - restart, 2)
            report["outage"] = outage
            say(
                f"  county broker down {args.outage:g} s: sent {outage['sent']}, lost "
                f"{outage['lost']}, duplicated {outage['duplicated']}, out of order "
                f"{outage['out_of_order']}; all in {outage['drain_s']} s after its restart"
            )
        receiver.close()
        probe.close()

    if args.day:
        report["day"] = day(workdir / "day", args.day_messages)
    return report


def day(workdir: Path, messages: int) -> dict[str, Any]:
    """A day of one site's traffic queued behind a cut link, persisted, then drained."""
    county = make_county(workdir, ["kall"], log_types=QUIET_LOGS)
    result: dict[str, Any] = {"messages": messages}
    with running(county):
        kall = county.sites["kall"]
        tally = Tally()
        receiver = county.ha(client_id="bench-day", clean=False)
        receiver.client.on_message = tally.on_message
        receiver.subscribe("sot/#")
        rss0 = rss_mb(kall.broker.proc.pid)  # type: ignore[union-attr]
        kall.link.cut()
        node = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-day-node")
        node.max_queued_messages_set(0)
        node.connect("127.0.0.1", kall.port)
        node.loop_start()
        sent = tally.sent.setdefault("kall", {})
        t0 = time.monotonic()
        for k in range(messages):
            sent[k] = 0.0
            node.publish(f"sot/kall/freezer/f{k % 20 + 1}/temperature", str(k), qos=0)
            if k % 2000 == 1999:
                time.sleep(0.02)  # let the broker keep up; QoS 0 has no flow control
        node.publish("sot/kall/node/bench/status", "online", qos=1).wait_for_publish(60)
        node.disconnect()
        node.loop_stop()
        result["publish_s"] = round(time.monotonic() - t0, 1)
        result["site_rss_mb"] = round(rss_mb(kall.broker.proc.pid) - rss0, 1)  # type: ignore[union-attr]
        t1 = time.monotonic()
        kall.broker.stop(timeout=300)
        result["save_s"] = round(time.monotonic() - t1, 2)
        result["persistence_file_mb"] = round(
            (kall.broker.dir / "mosquitto.db").stat().st_size / 1e6, 1
        )
        kall.broker.start()
        t2 = time.monotonic()
        kall.link.restore()
        drain(tally, 300)
        result["drain_s"] = round(time.monotonic() - t2, 1)
        got = tally.report()
        result["lost"] = got["lost"]
        result["duplicated"] = got["duplicated"]
        result["out_of_order"] = got["out_of_order"]
        close_all()
        receiver.close()
    say(
        f"  a day of one site ({messages} messages) behind a cut link: site broker +"
        f"{result['site_rss_mb']} MB, persistence file {result['persistence_file_mb']} MB "
        f"(saved in {result['save_s']} s), drained in {result['drain_s']} s, lost "
        f"{result['lost']}, duplicated {result['duplicated']}"
    )
    return result


def main() -> None:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=50, help="bridged sites (50)")
    parser.add_argument("--seconds", type=float, default=60, help="steady phase (60 s)")
    parser.add_argument("--outage", type=float, default=30, help="county broker down (30 s)")
    parser.add_argument("--no-day", dest="day", action="store_false", help="skip the day phase")
    parser.add_argument("--day-messages", type=int, default=DAY_MESSAGES, help=f"({DAY_MESSAGES})")
    parser.add_argument(
        "--quick", action="store_true", help="10 sites, 20 s, a 10 s outage, a tenth of a day"
    )
    args = parser.parse_args()
    if args.quick:
        args.sites, args.seconds, args.outage = 10, 20, 10
        args.day_messages = DAY_MESSAGES // 10
    with tempfile.TemporaryDirectory(prefix="sot-county-bench-") as tmp:
        report = run(args, Path(tmp))
    say(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
