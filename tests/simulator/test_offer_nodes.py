"""What the simulated sites offer: fuel sold from the station, the warm room's air, and the
nodes that publish them with the services each component provides."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime

import aiomqtt
import pytest

from custom_components.sot.mqtt.topics import parse_message
from simulator.mqtt_nodes import SiteNodes
from simulator.site import Site
from simulator.sites import KALL

from .test_mqtt import Observer

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
BASE = "sot/kall"


def test_the_station_sells_while_its_pumps_have_power_and_keeps_its_reserve() -> None:
    site = Site(KALL, START)
    diesel = KALL.products[0]
    site.step(3600)
    assert site.pumps_powered
    assert site.stock_l["diesel"] == pytest.approx(diesel.start_l - diesel.sales_l_per_h, rel=0.01)
    # Kall's changeover is manual: with the grid gone the pumps are dark and nothing sells.
    site.set_grid(False)
    before = dict(site.stock_l)
    site.step(1800)
    assert not site.pumps_powered
    assert site.stock_l == before
    # Back on the grid, for long enough to sell down to the reserve: it stops there.
    site.set_grid(True)
    site.step(3600 * 40)
    assert site.stock_l["diesel"] == diesel.reserve_l
    # The pumps' relay off: no sales either.
    site.set_load("pumps", False)
    assert not site.pumps_powered


def test_the_warm_room_cools_without_heat_and_warms_with_the_heater() -> None:
    site = Site(KALL, START)
    site.set_grid(False)
    site.step(3 * 3600)
    cooled = site.warm_room_c
    assert cooled < 17.0
    # The volunteer starts the set, moves the switch and turns the heater on.
    site.start_generator_at_panel()
    site.step(120)
    site.set_changeover(True)
    site.set_load("heater", True)
    site.step(3600)
    assert site.warm_room_c > 20.0 > cooled


async def test_kalls_nodes_publish_what_the_services_need(sim_broker: int) -> None:
    site = Site(KALL, START)
    site.step(10)
    nodes = SiteNodes(site, "127.0.0.1", sim_broker, interval_s=0.2)
    async with aiomqtt.Client("127.0.0.1", sim_broker, identifier="offer-observer") as client:
        await client.subscribe(f"{BASE}/#", qos=1)
        observer = Observer(client)
        listener = asyncio.create_task(observer.listen())
        tasks = [asyncio.create_task(c.run()) for c in nodes.clients]
        try:
            station = json.loads(await observer.wait_for(f"{BASE}/station/diesel"))
            await observer.wait_for(f"{BASE}/network/router")
            await observer.wait_for(f"{BASE}/room/warm/temperature")
            await observer.wait_for(f"{BASE}/load/heater/meta")
            await observer.wait_for(f"{BASE}/station/petrol95/meta")
        finally:
            for task in [*tasks, listener]:
                task.cancel()
            for task in [*tasks, listener]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    assert station == {"volume": 6200, "ullage": 3800, "pump": True}
    provides: dict[str, tuple[str, ...]] = {}
    for topic, (payload, _) in observer.last.items():
        parsed = parse_message(BASE, topic, payload.encode(), START)
        assert not parsed.rejections, (topic, payload, parsed.rejections)
        if parsed.meta is not None and parsed.meta.provides:
            provides[f"{parsed.meta.kind}/{parsed.meta.id}"] = parsed.meta.provides
    assert provides == {
        "load/store": ("food", "cash"),
        "load/pumps": ("fuel",),
        "load/coolers": ("food",),
        "load/heater": ("warm_room",),
        "network/router": ("communications", "card_payment"),
        "network/terminal": ("card_payment",),
        "room/warm": ("warm_room",),
    }
    for node in ("station", "network", "room"):
        assert observer.last[f"{BASE}/node/{node}/status"][0] == "online"
