"""The simulator's MQTT nodes on a real Mosquitto broker, checked with the contract's parser."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest

from custom_components.sot.mqtt.topics import command_payload, parse_message
from custom_components.sot.site.readings import Command
from simulator.mqtt_nodes import SiteNodes
from simulator.site import Site
from simulator.sites import VALSJOBYN

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
BASE = "sot/valsjobyn"


class Observer:
    """Everything a site's topic tree carries, as the last payload per topic."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.last: dict[str, tuple[str, bool]] = {}
        self.changed = asyncio.Event()

    async def listen(self) -> None:
        async for message in self.client.messages:
            payload = message.payload
            text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
            self.last[message.topic.value] = (text, message.retain)
            self.changed.set()

    async def wait_for(self, topic: str, payload: str | None = None) -> str:
        async with asyncio.timeout(10):
            while True:
                seen = self.last.get(topic)
                if seen is not None and (payload is None or seen[0] == payload):
                    return seen[0]
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def site_on_broker(
    sim_broker: int,
) -> AsyncIterator[tuple[Site, SiteNodes, Observer, aiomqtt.Client]]:
    """Valsjöbyn's nodes on a fresh broker, plus an observer of its topics."""
    broker_port = sim_broker
    site = Site(VALSJOBYN, START)
    site.step(10)
    nodes = SiteNodes(site, "127.0.0.1", broker_port, interval_s=0.2)
    async with aiomqtt.Client("127.0.0.1", broker_port, identifier="sim-test-observer") as client:
        await client.subscribe(f"{BASE}/#", qos=1)
        observer = Observer(client)
        listener = asyncio.create_task(observer.listen())
        tasks = [asyncio.create_task(c.run()) for c in nodes.clients]
        try:
            async with asyncio.timeout(10):
                await nodes.wait_connected()
            yield site, nodes, observer, client
        finally:
            for task in [*tasks, listener]:
                task.cancel()
            for task in [*tasks, listener]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def test_nodes_publish_birth_meta_and_values_the_contract_accepts(
    site_on_broker: tuple[Site, SiteNodes, Observer, aiomqtt.Client],
) -> None:
    """Every message parses without a rejection; meta is retained, has node, has no name."""
    site, _, observer, _ = site_on_broker
    await observer.wait_for(f"{BASE}/generator/main")
    await observer.wait_for(f"{BASE}/freezer/f3/temperature")
    await observer.wait_for(f"{BASE}/grid/main/energy")
    for node in ("freezers", "tank", "relays", "grid", "gateway"):
        assert observer.last[f"{BASE}/node/{node}/status"][0] == "online"
    for topic, (payload, _) in observer.last.items():
        parsed = parse_message(BASE, topic, payload.encode(), START)
        assert not parsed.rejections, (topic, payload, parsed.rejections)
        if topic.endswith("/meta"):
            assert parsed.meta is not None
            assert parsed.meta.node is not None
            assert parsed.meta.name is None
    tank_meta = json.loads(observer.last[f"{BASE}/tank/main/meta"][0])
    assert tank_meta == {"node": "tank", "capacity": 800.0, "reserve": 10.0}
    generator = json.loads(observer.last[f"{BASE}/generator/main"][0])
    assert generator["state"] == "stopped"
    assert generator["mode"] == "auto"
    temperature = float(observer.last[f"{BASE}/freezer/f1/temperature"][0])
    assert temperature == pytest.approx(site.freezers["f1"].temperature_c, abs=0.2)


async def test_outage_shows_on_the_grid_node_and_the_gateway(
    site_on_broker: tuple[Site, SiteNodes, Observer, aiomqtt.Client],
) -> None:
    """Grid lost: the grid node says OFF at once, the gateway reports the set on load."""
    site, nodes, observer, _ = site_on_broker
    site.set_grid(False)
    nodes.poke()
    await observer.wait_for(f"{BASE}/grid/main/present", "OFF")
    site.step(60)
    nodes.poke()
    async with asyncio.timeout(10):
        while True:
            generator = json.loads(await observer.wait_for(f"{BASE}/generator/main"))
            if generator["on_load"]:
                break
            await asyncio.sleep(0.1)
    assert generator["state"] == "running"
    assert generator["load"] > 0


async def test_relay_obeys_commands_and_ignores_retained_and_garbage(
    site_on_broker: tuple[Site, SiteNodes, Observer, aiomqtt.Client],
    sim_broker: int,
) -> None:
    """OFF switches the freezers off and is echoed; retained and garbage commands do nothing."""
    site, _, observer, client = site_on_broker
    relays = next(c for c in site_on_broker[1].clients if c.node.id == "relays")
    await client.publish(f"{BASE}/load/freezers/set", "OFF", qos=1)
    await observer.wait_for(f"{BASE}/load/freezers/state", "OFF")
    assert not site.loads["freezers"].on
    site.step(120)
    assert all(not f.powered for f in site.freezers.values())
    await observer.wait_for(f"{BASE}/load/freezers/power", "0.00")

    for garbage in (b"MAYBE", b"\xff\xfe", b"x" * 1000, b"", b'{"state": "ON"}'):
        await client.publish(f"{BASE}/load/freezers/set", garbage, qos=1)
    await client.publish(f"{BASE}/load/sauna/set", "ON", qos=1)
    await client.publish(f"{BASE}/load/freezers/set", "on", qos=1)
    await observer.wait_for(f"{BASE}/load/freezers/state", "ON")
    assert relays.commands_obeyed == 2

    # A retained OFF left on the broker, then a relay that (re)subscribes: it must not obey.
    await client.publish(f"{BASE}/load/freezers/set", "OFF", qos=1, retain=True)
    # A subscriber that is already connected gets it as a live message and obeys it...
    await observer.wait_for(f"{BASE}/load/freezers/state", "OFF")
    site.set_load("freezers", True)
    late = SiteNodes(site, "127.0.0.1", sim_broker, interval_s=0.2)
    late_relays = next(c for c in late.clients if c.node.id == "relays")
    task = asyncio.create_task(late_relays.run())
    try:
        await asyncio.wait_for(late_relays.connected.wait(), 10)
        await asyncio.sleep(0.5)
        # ...but one that subscribes later gets it flagged retained and must not.
        assert late_relays.commands_obeyed == 0
        assert site.loads["freezers"].on
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.publish(f"{BASE}/load/freezers/set", b"", retain=True)


async def test_relay_ignores_an_expired_command_and_obeys_a_fresh_one(
    site_on_broker: tuple[Site, SiteNodes, Observer, aiomqtt.Client],
) -> None:
    """What Home Assistant sends, once past its expiry (queued on the way) and once in time."""
    site, nodes, observer, client = site_on_broker
    relays = next(c for c in nodes.clients if c.node.id == "relays")
    assert site.loads["freezers"].on
    shed = Command("load", "freezers", "turn_off")
    late = command_payload(shed, datetime.now(UTC) - timedelta(seconds=173))
    await client.publish(f"{BASE}/load/freezers/set", late, qos=1)
    # The relay says so on its debug topic, as an ESPHome node logs a warning there.
    warning = await observer.wait_for(f"{BASE}/node/relays/debug")
    assert warning == f"{BASE}/load/freezers/set: ignored an expired command"
    assert (relays.commands_expired, relays.commands_obeyed) == (1, 0)
    assert site.loads["freezers"].on
    await observer.wait_for(f"{BASE}/load/freezers/state", "ON")

    fresh = command_payload(shed, datetime.now(UTC) + timedelta(seconds=10))
    await client.publish(f"{BASE}/load/freezers/set", fresh, qos=1)
    await observer.wait_for(f"{BASE}/load/freezers/state", "OFF")
    assert (relays.commands_expired, relays.commands_obeyed) == (1, 1)
    assert not site.loads["freezers"].on
    # A JSON command must say when it expires; one that does not is no command.
    for malformed in ('{"state": "ON"}', '{"state": "ON", "expires": "soon"}', "[1]", "{"):
        await client.publish(f"{BASE}/load/freezers/set", malformed, qos=1)
    await client.publish(f"{BASE}/load/freezers/set", "ON", qos=1)  # plain, as before
    await observer.wait_for(f"{BASE}/load/freezers/state", "ON")
    assert (relays.commands_expired, relays.commands_obeyed) == (1, 2)


async def test_node_goes_offline_when_the_simulator_stops(
    site_on_broker: tuple[Site, SiteNodes, Observer, aiomqtt.Client],
) -> None:
    """Stopping a node leaves `offline` retained on its status topic."""
    _, nodes, observer, _ = site_on_broker
    await observer.wait_for(f"{BASE}/node/tank/status", "online")
    tank = next(c for c in nodes.clients if c.node.id == "tank")
    task = asyncio.create_task(tank.run())  # a second session of the same node id
    await asyncio.sleep(0.3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await observer.wait_for(f"{BASE}/node/tank/status", "offline")
