"""The MQTT benchmark's workload: which topics, which values, when; and the publisher process.

Every numeric quantity carries its own message number in its value: the k-th message on a
topic is `low + k * 10^-decimals`, printed with `decimals` digits. A state seen in Home
Assistant thus says which message it shows, and so when that message was sent, with no
timestamp in the payload (the payload stays a plain number, as a field node sends it).

The publisher runs in its own process (`python benchmarks/mqtt_load.py PLAN SENDS`): it
connects, prints `ready`, waits for `go` on stdin, publishes the plan, writes one record per
message to SENDS (topic index, message number, monotonic send time in ns) and prints a JSON
summary line. Its own CPU time is thereby kept off the process that measures.
"""

from __future__ import annotations

import array
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

FREEZERS: Final = 20
# One message that changes nothing: a meter repeating that the grid is there.
CONSTANT_PAYLOAD: Final = "ON"


@dataclass(frozen=True, kw_only=True)
class Quantity:
    """One quantity of a bench site: its range, its resolution and how often it is sent."""

    kind: str
    id: str
    quantity: str
    low: float = 0.0
    high: float = 0.0
    decimals: int = 0
    # Realistic seconds between two messages of this component (the county run).
    period: tuple[float, float] = (1.0, 5.0)
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = "measurement"
    # A constant payload (not numbered): its messages never change a state.
    constant: str | None = None


@dataclass(frozen=True)
class Topic:
    """One quantity of one site: what is published where."""

    site: str
    q: Quantity

    @property
    def name(self) -> str:
        """The MQTT topic."""
        return f"sot/{self.site}/{self.q.kind}/{self.q.id}/{self.q.quantity}"

    @property
    def key(self) -> str:
        """The unique id of the entity that shows it, in both instances."""
        return f"{self.site}_{self.q.kind}_{self.q.id}_{self.q.quantity}"

    @property
    def numbered(self) -> bool:
        """Whether its values say which message they are."""
        return self.q.constant is None

    @property
    def capacity(self) -> int:
        """How many distinct messages fit in the quantity's range."""
        if not self.numbered:
            return sys.maxsize
        return round((self.q.high - self.q.low) * 10**self.q.decimals)

    def payload(self, k: int) -> str:
        """The k-th message's payload."""
        if self.q.constant is not None:
            return self.q.constant
        scaled = round(self.q.low * 10**self.q.decimals) + k
        return f"{Decimal(scaled).scaleb(-self.q.decimals):.{self.q.decimals}f}"

    def number(self, state: str) -> int | None:
        """Which message a state shows (None: not one of ours)."""
        if self.q.constant is not None:
            return None
        try:
            scaled = round(float(state) * 10**self.q.decimals)
        except ValueError:
            return None
        k = scaled - round(self.q.low * 10**self.q.decimals)
        return k if 0 <= k < self.capacity else None


# Component: (kind, id, seconds between its messages in the county run).
# Quantity: (quantity, low, high, decimals, unit, device class); counters are "total_increasing".
_M: Final = "measurement"
_TOTAL: Final = "total_increasing"
_GENERATOR: Final = (
    ("power", 10, 60, 4, "kW", "power", _M),
    ("load", 20, 90, 4, "%", None, _M),
    ("voltage", 225, 235, 4, "V", "voltage", _M),
    ("frequency", 49.5, 50.5, 5, "Hz", "frequency", _M),
    ("current", 10, 90, 4, "A", "current", _M),
    ("oil_pressure", 300, 400, 3, "kPa", "pressure", _M),
    ("coolant_temperature", 70, 90, 4, "°C", "temperature", _M),
    ("battery_voltage", 13, 14.5, 5, "V", "voltage", _M),
    ("speed", 1450, 1550, 3, "rpm", None, _M),
    ("fuel_rate", 5, 15, 4, "L/h", "volume_flow_rate", _M),
    ("run_hours", 1000, 1e6, 3, "h", "duration", _TOTAL),
    ("energy", 5e4, 1e9, 2, "kWh", "energy", _TOTAL),
    ("starts", 100, 1e7, 0, None, None, _TOTAL),
)
_TANK: Final = (
    ("level", 30, 90, 4, "%", None, _M),
    ("volume", 300, 900, 3, "L", "volume_storage", _M),
)
_GRID: Final = (
    ("voltage", 225, 235, 4, "V", "voltage", _M),
    ("frequency", 49.9, 50.1, 5, "Hz", "frequency", _M),
    ("power", 0, 50, 4, "kW", "power", _M),
    ("energy", 1e5, 1e9, 2, "kWh", "energy", _TOTAL),
)
_FREEZER: Final = (("temperature", -25, -18, 4, "°C", "temperature", _M),)


def _component(
    kind: str, id_: str, period: tuple[float, float], rows: Sequence[tuple[Any, ...]]
) -> list[Quantity]:
    return [
        Quantity(
            kind=kind,
            id=id_,
            quantity=name,
            low=low,
            high=high,
            decimals=decimals,
            period=period,
            unit=unit,
            device_class=device_class,
            state_class=state_class,
        )
        for name, low, high, decimals, unit, device_class, state_class in rows
    ]


def site_quantities() -> tuple[Quantity, ...]:
    """A SOT point during a generator test run: 20 freezers, a generator, a tank, a grid meter.

    40 quantities: 39 numbers, each with a realistic range wide enough for 10^4 to 10^7
    numbered messages, and the grid meter's `present`, always ON (a message that changes
    nothing). Periods: a freezer probe every 10-60 s, the generator controller every 1-5 s, the
    tank gauge every 30-60 s, the grid meter every 2-10 s.
    """
    freezers = [
        q
        for i in range(1, FREEZERS + 1)
        for q in _component("freezer", f"f{i}", (10, 60), _FREEZER)
    ]
    present = Quantity(
        kind="grid",
        id="main",
        quantity="present",
        period=(2.0, 10.0),
        state_class=None,
        constant=CONSTANT_PAYLOAD,
    )
    return (
        *freezers,
        *_component("generator", "main", (1, 5), _GENERATOR),
        *_component("tank", "main", (30, 60), _TANK),
        *_component("grid", "main", (2, 10), _GRID),
        present,
    )


def site_ids(count: int) -> list[str]:
    """`bench` for one site; `s01`… for a county."""
    return ["bench"] if count == 1 else [f"s{i:02d}" for i in range(1, count + 1)]


def topics_for(sites: Sequence[str]) -> list[Topic]:
    """Every topic of every site, sites in order."""
    quantities = site_quantities()
    return [Topic(site, q) for site in sites for q in quantities]


# -- schedules ------------------------------------------------------------------------------


def round_robin(topic_count: int, rate: float, seconds: float) -> list[tuple[float, int]]:
    """(offset in s, topic index): `rate` messages a second, the topics taking turns."""
    total = int(rate * seconds)
    return [(m / rate, m % topic_count) for m in range(total)]


def realistic(topics: Sequence[Topic], seconds: float, seed: int = 12) -> list[tuple[float, int]]:
    """Each component at its own period (drawn from its range), its quantities in one burst.

    A freezer probe every 10-60 s, a generator controller every 1-5 s, a tank gauge every
    30-60 s, a grid meter every 2-10 s; every component starts at a random point of its period.
    """
    rng = random.Random(seed)
    components: dict[tuple[str, str, str], list[int]] = {}
    periods: dict[tuple[str, str, str], tuple[float, float]] = {}
    for index, topic in enumerate(topics):
        key = (topic.site, topic.q.kind, topic.q.id)
        components.setdefault(key, []).append(index)
        periods[key] = topic.q.period
    schedule: list[tuple[float, int]] = []
    for key, indexes in components.items():
        period = rng.uniform(*periods[key])
        t = rng.uniform(0, period)
        while t < seconds:
            schedule.extend((t, index) for index in indexes)
            t += period
    schedule.sort()
    return schedule


def expected_rate(topics: Sequence[Topic]) -> float:
    """Messages a second of the realistic schedule, expected over the drawn periods.

    A period P drawn uniformly from [a, b] sends 1/P messages a second, whose mean is
    ln(b/a) / (b - a).
    """
    components: dict[tuple[str, str, str], tuple[int, tuple[float, float]]] = {}
    for topic in topics:
        key = (topic.site, topic.q.kind, topic.q.id)
        count = components.get(key, (0, topic.q.period))[0]
        components[key] = (count + 1, topic.q.period)
    return sum(n * math.log(b / a) / (b - a) for n, (a, b) in components.values())


# -- send records ---------------------------------------------------------------------------


@dataclass
class Sends:
    """What the publisher sent: per message its topic index, its number, its send time (ns)."""

    topic: list[int]
    k: list[int]
    t_ns: list[int]

    def __len__(self) -> int:
        return len(self.t_ns)

    @classmethod
    def read(cls, path: Path) -> Sends:
        """A SENDS file: int64 triples."""
        data = array.array("q")
        data.frombytes(path.read_bytes())
        return cls(list(data[0::3]), list(data[1::3]), list(data[2::3]))

    def by_message(self) -> dict[tuple[int, int], int]:
        """(topic index, message number) → send time."""
        return {(t, k): s for t, k, s in zip(self.topic, self.k, self.t_ns, strict=True)}


# -- the publisher process ------------------------------------------------------------------


def plan(
    port: int,
    topics: Sequence[Topic],
    schedule: Sequence[tuple[float, int]],
    next_k: Sequence[int],
    qos: int = 0,
) -> dict[str, Any]:
    """Everything the publisher needs, as JSON (payloads computed ahead, off the clock)."""
    counters = list(next_k)
    messages = []
    for offset, index in schedule:
        k = counters[index]
        counters[index] += 1
        messages.append((offset, index, k, topics[index].payload(k)))
        if k >= topics[index].capacity:
            raise ValueError(f"{topics[index].name}: more messages than its range can number")
    return {
        "port": port,
        "qos": qos,
        "topics": [topic.name for topic in topics],
        "messages": messages,
        "next_k": counters,
    }


def publish(plan_data: dict[str, Any], sends_path: Path) -> dict[str, Any]:
    """Connect, wait for `go`, publish every message when due, record the send times."""
    import paho.mqtt.client as mqtt  # noqa: PLC0415

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"sot-bench-{time.monotonic_ns()}",
        protocol=mqtt.MQTTv311,
    )
    # At QoS 1 the broker's limits are what is measured, not paho's 20 messages in flight.
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", plan_data["port"], keepalive=60)
    deadline = time.monotonic() + 10
    while not client.is_connected():
        client.loop(0.1)
        if time.monotonic() > deadline:
            raise RuntimeError("publisher: no CONNACK from the broker")
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"sent": 0}
    topics, qos = plan_data["topics"], plan_data["qos"]
    record = array.array("q")
    infos = []
    late_ns = 0
    start = time.monotonic_ns()
    # No network thread: publish() writes to the socket at once, so the recorded time is the
    # time the message left; loop() reads the broker's acknowledgements and keeps the
    # connection alive while waiting for the next message's time.
    for n, (offset, index, k, payload) in enumerate(plan_data["messages"]):
        due = start + int(offset * 1e9)
        wait_ns = due - time.monotonic_ns()
        if wait_ns < 0:
            late_ns = max(late_ns, -wait_ns)
            if n % 64 == 0:
                client.loop(0)
        while wait_ns > 0:
            client.loop(min(wait_ns / 1e9, 0.1))
            wait_ns = due - time.monotonic_ns()
        sent = time.monotonic_ns()
        infos.append(client.publish(topics[index], payload, qos=qos))
        record.extend((index, k, sent))
    end = time.monotonic_ns()
    # Everything written (and at QoS 1 acknowledged) before disconnecting, which drops the rest.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(info.is_published() for info in infos):
        client.loop(0.01)
    unpublished = sum(not info.is_published() for info in infos)
    client.disconnect()
    sends_path.write_bytes(record.tobytes())
    return {
        "sent": len(record) // 3,
        "start_ns": start,
        "end_ns": end,
        "max_late_ms": late_ns / 1e6,
        "unpublished": unpublished,
        "cpu_s": time.process_time(),
        "next_k": plan_data["next_k"],
    }


def main(argv: Sequence[str]) -> int:
    """`mqtt_load.py PLAN SENDS`: publish PLAN (JSON), write the send records to SENDS."""
    plan_path, sends_path = Path(argv[0]), Path(argv[1])
    summary = publish(json.loads(plan_path.read_text(encoding="utf-8")), sends_path)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
