"""A link loss queues what the site publishes; the county gets all of it, in order, counted.

A field node at Kall publishes numbered freezer readings at QoS 0, as ESPHome does. The link
between Kall's broker and the county is cut (a relay the test controls), or the county broker
itself is stopped, for longer than Mosquitto's default per-client queue (1000 messages) can
cover at the message rate used; the county's Home Assistant login then counts what arrived.
Scenario time is compressed: 3000 messages stand for about 7 minutes of a site at 7 msg/s.
"""

from __future__ import annotations

import re
import time

import pytest

from .brokers import Client, County, Site, wait_for
from .conftest import bridge_state

TOPIC = "sot/kall/freezer/f1/temperature"
MOSQUITTO_DEFAULT_QUEUE = 1000


def publish_numbered(node: Client, first: int, last: int) -> None:
    """Readings `first`..`last`-1 at QoS 0; the last at QoS 1, so all have reached the broker."""
    for k in range(first, last - 1):
        node.client.publish(TOPIC, str(k), qos=0)
        if k % 100 == 0:
            time.sleep(0.005)  # paces the publisher a little, as a node would
    node.publish(TOPIC, str(last - 1), qos=1)


def numbers(county: County) -> list[int]:
    """The numbered readings the county's HA login has received, in arrival order."""
    return [int(m.payload) for m in county.watcher.received(TOPIC)]


def settle(county: County, expected: int, timeout: float = 30) -> list[int]:
    """Wait until `expected` distinct readings arrived (or `timeout`), then a little longer."""
    wait = time.monotonic() + timeout
    while len(set(numbers(county))) < expected and time.monotonic() < wait:
        time.sleep(0.05)
    time.sleep(0.3)  # late duplicates, or (with a too small queue) nothing more
    return numbers(county)


def cut(county: County, site: Site) -> None:
    """Cut a site's link and wait until the county has noticed (the bridge's will)."""
    site.link.cut()
    wait_for(lambda: bridge_state(county, site.name) == b"0", 10, f"{site.name}'s link down")


def restore(county: County, site: Site) -> None:
    """Restore the link and wait until the bridge is back."""
    site.link.restore()
    wait_for(lambda: bridge_state(county, site.name) == b"1", 60, f"{site.name}'s link back")


@pytest.mark.parametrize("queue", ["shipped", "mosquitto_default"])
def test_readings_queued_during_a_link_loss_all_arrive_in_order(
    county_pair: County, queue: str
) -> None:
    kall = county_pair.sites["kall"]
    if queue == "mosquitto_default":
        # The same configuration with Mosquitto's default per-client queue instead.
        conf = kall.files / "conf.d" / "sot-county.conf"
        text = conf.read_text()
        assert "max_queued_messages 691200" in text
        conf.write_text(
            re.sub(
                r"max_queued_messages \d+", f"max_queued_messages {MOSQUITTO_DEFAULT_QUEUE}", text
            )
        )
        # Restarted on it, and its bridge seen down and up again before the cut: a cut while
        # the bridge is still connecting could leave it hanging in a connection the cut missed.
        kall.broker.stop()
        wait_for(lambda: bridge_state(county_pair, "kall") == b"0", 30, "kall's bridge down")
        kall.broker.start()
        wait_for(lambda: bridge_state(county_pair, "kall") == b"1", 60, "kall's bridge back")
    node = Client(kall.port)
    cut(county_pair, kall)
    sent = 3 * MOSQUITTO_DEFAULT_QUEUE
    publish_numbered(node, 0, sent)
    restore(county_pair, kall)
    if queue == "shipped":
        got = settle(county_pair, sent)
    else:
        settle(county_pair, MOSQUITTO_DEFAULT_QUEUE)
        time.sleep(1)  # and nothing more comes
        got = numbers(county_pair)
    if queue == "shipped":
        assert got == list(range(sent)), f"{len(got)} of {sent}, lost {sent - len(set(got))}"
    else:
        # The oldest 1000 are kept, every later one is dropped at the site.
        assert got == list(range(MOSQUITTO_DEFAULT_QUEUE)), f"{len(got)} of {sent}"
        assert "Outgoing messages are being dropped" in kall.broker.log_text()
    node.close()


def test_a_cut_mid_stream_and_a_site_broker_restart_lose_nothing(county_pair: County) -> None:
    kall = county_pair.sites["kall"]
    node = Client(kall.port)
    publish_numbered(node, 0, 500)
    kall.link.cut()  # while readings are in flight, without waiting for the county to notice
    publish_numbered(node, 500, 1500)
    node.close()
    # The site broker restarts with about 1000 readings queued: its persistence file keeps them.
    kall.broker.stop()
    kall.broker.start()
    wait_for(lambda: bridge_state(county_pair, "kall") == b"0", 10, "kall's link down")
    node = Client(kall.port)
    publish_numbered(node, 1500, 2000)
    restore(county_pair, kall)
    publish_numbered(node, 2000, 2500)
    got = settle(county_pair, 2500)
    # Nothing lost.
    assert set(got) == set(range(2500)), f"{len(set(got))} distinct of 2500"
    # QoS 1 is at least once: what was unacknowledged at the cut or at the restart is re-sent
    # when the link returns, so the county may see those readings twice; nothing sent after the
    # link returned comes twice.
    twice = sorted({k for k in got if got.count(k) > 1})
    assert all(k < 2000 for k in twice), twice
    # In order, but for one reading at most: Mosquitto 2.0.11, reconnecting with a backlog
    # restored from its persistence file, may send one reading published just then ahead of the
    # backlog (seen in some runs, never more than one). The county's order is the arrival order;
    # only a measurement time in the payload restores the true order (docs/county.md).
    first = list(dict.fromkeys(got))
    early, smallest_after = [], len(first)
    for k in reversed(first):
        if k > smallest_after:
            early.append(k)
        smallest_after = min(smallest_after, k)
    assert len(early) <= 1, early
    assert [k for k in first if k not in early] == sorted(set(range(2500)) - set(early))
    node.close()


def test_nothing_lost_while_the_county_broker_is_down(county_pair: County) -> None:
    kall = county_pair.sites["kall"]
    # A subscriber with a session the county keeps across its restart (persistence).
    ha = county_pair.ha(client_id="county-ha-persistent", clean=False)
    ha.subscribe(TOPIC)
    node = Client(kall.port)
    county_pair.broker.stop()
    sent = 1500
    publish_numbered(node, 0, sent)
    county_pair.broker.start()
    wait_for(lambda: len(ha.received(TOPIC)) >= sent, 30, "every reading at the county")
    assert [int(m.payload) for m in ha.received(TOPIC)][:sent] == list(range(sent))
    node.close()
    ha.close()


def test_a_command_reaches_the_sites_relay_with_its_expiry(county_pair: County) -> None:
    relay = Client(county_pair.sites["kall"].port)
    relay.subscribe("sot/kall/load/+/set")
    other = Client(county_pair.sites["valsjobyn"].port)
    other.subscribe("sot/#")
    ha = county_pair.ha()
    ha.publish("sot/kall/load/heater/set", "OFF", expiry=30)
    wait_for(relay.received, 10, "the command at kall")
    [command] = relay.received()
    assert (command.topic, command.payload, command.retain) == (
        "sot/kall/load/heater/set",
        b"OFF",
        False,
    )
    # The MQTT 5 bridge carries the message expiry interval, less the time spent on the way.
    assert command.expiry is not None
    assert 0 < command.expiry <= 30
    # Valsjöbyn's broker never sees it.
    ha.publish("sot/valsjobyn/load/heater/set", "ON")
    wait_for(lambda: other.received("sot/valsjobyn/load"), 10, "valsjobyn's own command")
    assert [m.topic for m in other.received()] == ["sot/valsjobyn/load/heater/set"]
    for client in (relay, other, ha):
        client.close()


def test_a_command_sent_during_a_link_loss_never_fires_late(county_pair: County) -> None:
    kall = county_pair.sites["kall"]
    relay = Client(kall.port)
    relay.subscribe("sot/kall/load/+/set")
    ha = county_pair.ha()
    cut(county_pair, kall)
    # Sent while the link is down, with a long expiry: the county does not keep it for the
    # bridge (Mosquitto 2.0's MQTT 5 bridge asks for no session expiry, so its session at the
    # county ends with the connection), and it is never executed later.
    ha.publish("sot/kall/load/heater/set", "OFF", expiry=600)
    time.sleep(1)
    restore(county_pair, kall)
    # The bridge says it is back as it connects, and may subscribe at the county just after:
    # a command published in between reaches no subscriber, so it is sent again until one does.
    deadline = time.monotonic() + 30
    while not relay.received() and time.monotonic() < deadline:
        ha.publish("sot/kall/load/heater/set", "ON", expiry=30)
        try:
            wait_for(relay.received, 2, "the command sent after the link returned")
        except AssertionError:
            continue
    time.sleep(0.5)
    payloads = [m.payload for m in relay.received()]
    assert payloads, "no command sent after the link returned reached the site in 30 s"
    assert set(payloads) == {b"ON"}, payloads  # never the OFF sent during the loss
    relay.close()
    ha.close()


def test_an_expired_command_is_dropped_at_the_site(county_pair: County) -> None:
    kall = county_pair.sites["kall"]
    # A relay with a session the site broker keeps while it is offline.
    relay = Client(kall.port, client_id="relay-heater", clean=False)
    relay.subscribe("sot/kall/load/+/set")
    relay.close()
    ha = county_pair.ha()
    ha.publish("sot/kall/load/heater/set", "OFF", expiry=1)
    ha.publish("sot/kall/load/pump/set", "OFF", expiry=60)
    # Both reached the site broker (the county HA's own subscription at the county shows they
    # went out); the relay comes back after the first has expired there.
    wait_for(lambda: "load/pump/set" in kall.broker.log_text(), 10, "the commands at kall")
    time.sleep(2.2)
    relay = Client(kall.port, client_id="relay-heater", clean=False)
    wait_for(relay.received, 10, "the unexpired command")
    time.sleep(0.3)
    assert [m.topic for m in relay.received()] == ["sot/kall/load/pump/set"]
    relay.close()
    ha.close()
