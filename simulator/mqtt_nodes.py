"""ESPHome-like MQTT nodes of one site, speaking the topic contract (docs/mqtt.md).

Each node is its own MQTT client with a retained `online` birth and an `offline` last will on
`sot/<site>/node/<node>/status`, and retained meta (with `node`, without `name`) for every
component it measures:

- `freezers`: `freezer/<id>/temperature` and `/door`, plain payloads;
- `tank`: `tank/main/level` and `/volume`;
- `relays`: `load/<id>/state` and `/power`; obeys `load/<id>/set` (ON/OFF, or JSON with the
  time the command expires; never retained, never once expired);
- `grid` (grid monitor): `grid/main/present`, `/voltage`, `/frequency`, `/power`, `/energy`;
- `gateway`: the generator controller's values as one JSON object on `generator/main`, as a
  Modbus-to-MQTT gateway at a site without Modbus in Home Assistant would publish them;
- `station`: each product the station sells as one JSON object on `station/<id>` (stock,
  ullage, pump power), as a tank gauge's gateway would;
- `network`: the router and the card terminal, `network/<id>` (online, the router's signal);
- `room`: the warm room's air, `room/<id>/temperature`.

A load's meta says which services it keeps going (`provides`), as do the router, the terminal
and the warm room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import aiomqtt

from .site import Site

_LOGGER = logging.getLogger(__name__)

ON_WORDS: Final = frozenset({"on", "true", "1"})
OFF_WORDS: Final = frozenset({"off", "false", "0"})
RECONNECT_DELAY_S: Final = 2.0


def on_off(value: bool) -> str:
    """The contract's boolean payload."""
    return "ON" if value else "OFF"


MAX_COMMAND: Final = 128


@dataclass(frozen=True, slots=True)
class RelayCommand:
    """A load command: the state asked for, and when it expires (Unix seconds; None: never)."""

    state: bool
    expires: float | None = None


def _word(text: str) -> bool | None:
    word = text.strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    return None


def parse_command(payload: bytes) -> RelayCommand | None:
    """`ON`/`OFF`, or `{"state": "ON", "expires": <Unix seconds>}`; anything else → None.

    The JSON form must say when it expires: that is what it is for (docs/mqtt.md#commands).
    """
    if len(payload) > MAX_COMMAND:
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.lstrip().startswith("{"):
        state = _word(text) if len(text) <= 16 else None
        return None if state is None else RelayCommand(state)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    word, expires = data.get("state"), data.get("expires")
    state = _word(word) if isinstance(word, str) else None
    if (
        state is None
        or isinstance(expires, bool)
        or not isinstance(expires, int | float)
        or not math.isfinite(expires)
    ):
        return None
    return RelayCommand(state, float(expires))


class Verdict(StrEnum):
    """What a relay did with one message on a command topic."""

    OBEYED = "obeyed"
    EXPIRED = "expired"
    IGNORED = "ignored"


Message = tuple[str, str, bool]  # topic, payload, retain


@dataclass(frozen=True, slots=True)
class Node:
    """One field node: which messages it publishes for the site's current state."""

    id: str
    meta: Callable[[Site, str], list[Message]]
    values: Callable[[Site, str], list[Message]]
    obeys_load_commands: bool = False


def _meta(topic: str, data: dict[str, object]) -> Message:
    return (topic, json.dumps(data, separators=(",", ":")), True)


def _freezer_meta(site: Site, base: str) -> list[Message]:
    messages = []
    for spec in site.spec.freezers:
        data: dict[str, object] = {"node": "freezers"}
        if spec.warning_c is not None:
            data["warning"] = spec.warning_c
        if spec.critical_c is not None:
            data["critical"] = spec.critical_c
        messages.append(_meta(f"{base}/freezer/{spec.id}/meta", data))
    return messages


def _freezer_values(site: Site, base: str) -> list[Message]:
    messages = []
    for freezer in site.freezers.values():
        prefix = f"{base}/freezer/{freezer.id}"
        messages.append((f"{prefix}/temperature", f"{freezer.temperature_c:.1f}", False))
        messages.append((f"{prefix}/door", on_off(freezer.door_open), False))
    return messages


def _tank_meta(site: Site, base: str) -> list[Message]:
    data = {
        "node": "tank",
        "capacity": site.spec.tank_capacity_l,
        "reserve": site.spec.tank_reserve_pct,
    }
    return [_meta(f"{base}/tank/main/meta", data)]


def _tank_values(site: Site, base: str) -> list[Message]:
    return [
        (f"{base}/tank/main/level", f"{site.tank_level_pct:.1f}", False),
        (f"{base}/tank/main/volume", f"{site.tank_l:.0f}", False),
    ]


def _relay_meta(site: Site, base: str) -> list[Message]:
    messages = []
    for load_id, load in site.loads.items():
        data: dict[str, object] = {"node": "relays", "priority": load.spec.priority}
        if load.spec.provides:
            data["provides"] = list(load.spec.provides)
        messages.append(_meta(f"{base}/load/{load_id}/meta", data))
    return messages


def _relay_values(site: Site, base: str) -> list[Message]:
    messages = []
    for load_id, load in site.loads.items():
        messages.append((f"{base}/load/{load_id}/state", on_off(load.on), False))
        messages.append(
            (f"{base}/load/{load_id}/power", f"{site.load_power_kw(load_id):.2f}", False)
        )
    return messages


def _grid_meta(site: Site, base: str) -> list[Message]:
    return [_meta(f"{base}/grid/main/meta", {"node": "grid"})]


def _grid_values(site: Site, base: str) -> list[Message]:
    prefix = f"{base}/grid/main"
    return [
        (f"{prefix}/present", on_off(site.grid_present), False),
        (f"{prefix}/voltage", f"{site.grid_voltage:.1f}", False),
        (f"{prefix}/frequency", f"{site.grid_frequency:.2f}", False),
        (f"{prefix}/power", f"{site.grid_power_kw:.2f}", False),
        (f"{prefix}/energy", f"{site.grid_energy_kwh:.1f}", False),
    ]


def _gateway_meta(site: Site, base: str) -> list[Message]:
    data = {"node": "gateway", "rating": site.spec.generator_rating_kw}
    return [_meta(f"{base}/generator/main/meta", data)]


def generator_object(site: Site) -> dict[str, object]:
    """The generator's quantities as a gateway's JSON object."""
    gen = site.generator
    return {
        "state": site.generator_state,
        "mode": {0: "off", 1: "auto", 2: "manual", 3: "test"}[int(gen.mode)],
        "alarm": site.generator_alarm,
        "on_load": gen.breaker_closed,
        "power": round(site.generator_power_kw, 2),
        "load": round(site.generator_load_pct, 1),
        "voltage": round(site.generator_voltage, 1),
        "frequency": round(site.generator_frequency, 2),
        "current": round(site.generator_current, 1),
        "oil_pressure": round(site.oil_pressure),
        "coolant_temperature": round(site.coolant_c, 1),
        "battery_voltage": round(site.battery_v, 2),
        "speed": round(site.engine_speed),
        "fuel_rate": round(site.fuel_rate, 2),
        "run_hours": round(gen.run_seconds / 3600.0, 2),
        "energy": round(gen.energy_kwh, 1),
        "starts": gen.starts,
    }


def _gateway_values(site: Site, base: str) -> list[Message]:
    payload = json.dumps(generator_object(site), separators=(",", ":"))
    return [(f"{base}/generator/main", payload, False)]


def _station_meta(site: Site, base: str) -> list[Message]:
    return [
        _meta(
            f"{base}/station/{product.id}/meta",
            {"node": "station", "capacity": product.capacity_l, "reserve": product.reserve_l},
        )
        for product in site.spec.products
    ]


def _station_values(site: Site, base: str) -> list[Message]:
    messages = []
    for product in site.spec.products:
        stock = site.stock_l[product.id]
        data = {
            "volume": round(stock),
            "ullage": round(product.capacity_l - stock),
            "pump": site.pumps_powered,
        }
        messages.append((f"{base}/station/{product.id}", json.dumps(data), False))
    return messages


# The router carries the terminal's payments when its own line is down: both provide them.
NETWORK_PROVIDES: Final = {
    "router": ["communications", "card_payment"],
    "terminal": ["card_payment"],
}


def _network_meta(site: Site, base: str) -> list[Message]:
    return [
        _meta(f"{base}/network/{device}/meta", {"node": "network", "provides": provides})
        for device, provides in NETWORK_PROVIDES.items()
    ]


def _network_values(site: Site, base: str) -> list[Message]:
    online = site.network_online
    router = {"online": online, "signal": round(site.mobile_signal_dbm)}
    return [
        (f"{base}/network/router", json.dumps(router), False),
        (f"{base}/network/terminal/online", on_off(online), False),
    ]


def _room_meta(site: Site, base: str) -> list[Message]:
    room = site.spec.warm_room
    assert room is not None
    data: dict[str, object] = {"node": "room", "provides": ["warm_room"]}
    return [_meta(f"{base}/room/{room.id}/meta", data)]


def _room_values(site: Site, base: str) -> list[Message]:
    room = site.spec.warm_room
    assert room is not None
    return [(f"{base}/room/{room.id}/temperature", f"{site.warm_room_c:.1f}", False)]


def nodes_for(site: Site) -> list[Node]:
    """The MQTT nodes a site has, from its spec."""
    nodes = [
        Node("freezers", _freezer_meta, _freezer_values),
        Node("tank", _tank_meta, _tank_values),
        Node("relays", _relay_meta, _relay_values, obeys_load_commands=True),
    ]
    if site.spec.grid_over_mqtt:
        nodes.append(Node("grid", _grid_meta, _grid_values))
    if site.spec.generator_over_mqtt:
        nodes.append(Node("gateway", _gateway_meta, _gateway_values))
    if site.spec.products:
        nodes.append(Node("station", _station_meta, _station_values))
    if site.spec.network:
        nodes.append(Node("network", _network_meta, _network_values))
    if site.spec.warm_room is not None:
        nodes.append(Node("room", _room_meta, _room_values))
    return nodes


def handle_command(
    site: Site, base: str, topic: str, payload: bytes, retain: bool, now: float
) -> Verdict:
    """Obey one `load/<id>/set` message, unless it is not valid or expired at `now` (Unix s)."""
    if retain:
        # A stale retained OFF must never switch a freezer off after a reconnect.
        _LOGGER.warning("%s: ignoring a retained command on %s", site.spec.id, topic)
        return Verdict.IGNORED
    parts = topic.removeprefix(base + "/").split("/")
    if len(parts) != 3 or parts[0] != "load" or parts[2] != "set":
        return Verdict.IGNORED
    command = parse_command(payload)
    if command is None:
        _LOGGER.warning("%s: ignoring command %r on %s", site.spec.id, payload[:32], topic)
        return Verdict.IGNORED
    if parts[1] not in site.loads:
        _LOGGER.warning("%s: no load %r", site.spec.id, parts[1])
        return Verdict.IGNORED
    if command.expires is not None and now > command.expires:
        # Sent for a moment that has passed (queued across a link loss): the sender has been
        # told it expired, so carrying it out now would surprise everyone.
        return Verdict.EXPIRED
    site.set_load(parts[1], command.state)
    return Verdict.OBEYED


class NodeClient:
    """Keeps one node connected and publishing; reconnects when the broker goes away."""

    def __init__(
        self,
        site: Site,
        node: Node,
        host: str,
        port: int,
        interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.site = site
        # A relay's clock, for commands' expiry: the wall clock, never the scenario's.
        self.clock = clock
        self.node = node
        self.host = host
        self.port = port
        self.interval_s = interval_s
        self.base = f"sot/{site.spec.id}"
        self.status_topic = f"{self.base}/node/{node.id}/status"
        self.connected = asyncio.Event()
        self.commands_obeyed = 0
        self.commands_expired = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Publish now rather than at the next interval (a command or a state change)."""
        self._wake.set()

    async def run(self) -> None:
        """Connect, publish birth and meta, then values, forever."""
        will = aiomqtt.Will(self.status_topic, "offline", qos=1, retain=True)
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=f"sim-{self.site.spec.id}-{self.node.id}",
                    will=will,
                    keepalive=15,
                ) as client:
                    await self._session(client)
            except aiomqtt.MqttError as err:
                self.connected.clear()
                _LOGGER.info("%s: broker connection lost (%s), retrying", self.status_topic, err)
                await asyncio.sleep(RECONNECT_DELAY_S)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.publish(self.status_topic, "online", qos=1, retain=True)
        for topic, payload, retain in self.node.meta(self.site, self.base):
            await client.publish(topic, payload, qos=1, retain=retain)
        listener = None
        if self.node.obeys_load_commands:
            await client.subscribe(f"{self.base}/load/+/set", qos=1)
            listener = asyncio.create_task(self._listen(client))
        self.connected.set()
        try:
            while True:
                for topic, payload, retain in self.node.values(self.site, self.base):
                    await client.publish(topic, payload, qos=0, retain=retain)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval_s)
        finally:
            if listener is not None:
                listener.cancel()
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.status_topic, "offline", qos=1, retain=True)

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            topic = message.topic.value
            now = self.clock()
            verdict = handle_command(self.site, self.base, topic, payload, message.retain, now)
            if verdict is Verdict.OBEYED:
                self.commands_obeyed += 1
            elif verdict is Verdict.EXPIRED:
                # Told, as the ESPHome relay tells: a warning on the node's debug topic, and
                # the relay's unchanged state published at once.
                self.commands_expired += 1
                text = f"{topic}: ignored an expired command"
                _LOGGER.warning("%s: %s", self.site.spec.id, text)
                await client.publish(f"{self.base}/node/{self.node.id}/debug", text, qos=0)
            else:
                continue
            self.wake()


class SiteNodes:
    """All MQTT nodes of one site."""

    def __init__(self, site: Site, host: str, port: int, interval_s: float = 2.0) -> None:
        self.site = site
        self.clients = [NodeClient(site, node, host, port, interval_s) for node in nodes_for(site)]
        self._revision = site.revision

    def poke(self) -> None:
        """Wake every node when the site changed discretely since the last poke."""
        if self.site.revision != self._revision:
            self._revision = self.site.revision
            for client in self.clients:
                client.wake()

    async def wait_connected(self) -> None:
        """Until every node has published its birth and meta."""
        await asyncio.gather(*(client.connected.wait() for client in self.clients))
