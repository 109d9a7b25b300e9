"""Each site's credentials reach only its own topics at the county; revoked sites are cut off.

The attacker here holds valsjobyn's county login and certificate (they sit in its bridge
configuration) and connects straight to the county broker, the way the issue's client calling
itself Valsjöbyn did on a shared broker. Its own bridge is cut first, so the two do not take
turns disconnecting each other (a login is its client id at the county).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from custom_components.sot.site.vocabulary import Kind

from .brokers import Client, County, county, refused, wait_for
from .conftest import bridge_state

NOT_AUTHORIZED = 135


class Publisher(Client):
    """A client that records the reason code of every PUBACK."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.reasons: dict[int, int] = {}
        self.acked = threading.Condition()
        self.client.on_publish = self._on_publish

    def _on_publish(self, _c: object, _u: object, mid: int, rc: object, _p: object) -> None:
        with self.acked:
            self.reasons[mid] = int(rc.value)  # type: ignore[attr-defined]
            self.acked.notify_all()

    def send(self, topic: str, payload: str, retain: bool = False) -> int:
        """Publish at QoS 1; the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self.acked:
            assert self.acked.wait_for(lambda: info.mid in self.reasons, 10), f"no PUBACK: {topic}"
            return self.reasons[info.mid]


def attacker(county: County, site: str = "valsjobyn", **kwargs: object) -> Publisher:
    """A client holding `site`'s county credentials, its bridge's link cut first."""
    county.sites[site].link.cut()
    wait_for(lambda: bridge_state(county, site) == b"0", 10, f"{site}'s bridge down")
    user, password, tls = county.sites[site].credentials()
    return Publisher(county.port, username=user, password=password, tls=tls, **kwargs)


def test_a_site_writes_only_its_own_readings(county_pair: County) -> None:
    evil = attacker(county_pair)
    forbidden = [
        ("sot/kall/freezer/f1/temperature", "5", False),  # another site's reading
        ("sot/kall/node/relays/status", "offline", True),  # blanking another site's loads
        ("sot/kall/load/heater/set", "OFF", False),  # switching another site's heater
        ("sot/valsjobyn/load/heater/set", "OFF", False),  # even its own: commands are HA's
        ("sot/madeup/node/n1/status", "online", True),  # a made-up site (a discovery flow)
        ("sot/valsjobyn/bogus/x/y", "1", False),  # outside the contract's kinds
        ("sot-bridge/kall/state", "0", True),  # another site's link state
        ("sot/kall/settings", '{"tank_capacity": 100000}', True),  # another site's figures
        ("$SYS/broker/uptime", "0", False),
    ]
    reasons = {topic: evil.send(topic, payload, retain) for topic, payload, retain in forbidden}
    assert reasons == dict.fromkeys(reasons, NOT_AUTHORIZED)

    # Its own readings do pass; once the county sees this one, it has seen all before it.
    assert evil.send("sot/valsjobyn/freezer/f1/temperature", "-20") == 0
    watcher = county_pair.watcher
    wait_for(lambda: watcher.received("sot/valsjobyn/freezer/f1/temperature"), 10, "own reading")
    seen = {(m.topic, m.payload.decode()) for m in watcher.received()}
    assert not seen & {(topic, payload) for topic, payload, _ in forbidden}, seen
    # Nothing was retained either: a newcomer at the county gets no stale `offline`.
    newcomer = county_pair.ha()
    newcomer.subscribe("sot/kall/#")
    newcomer.subscribe("sot/madeup/#")
    newcomer.publish("sot/kall/load/marker/set", "ON")
    wait_for(lambda: newcomer.received("sot/kall/load/marker"), 10, "the marker")
    assert [m.topic for m in newcomer.received()] == ["sot/kall/load/marker/set"]
    newcomer.close()
    evil.close()


def test_everything_a_site_publishes_reaches_the_county(county_pair: County) -> None:
    """A reading and a meta of every kind of the contract, node statuses, the public summary
    and the site's settings: the county's view of fuel for sale, payment, the warm room, what
    the site offers and the site's own figures come from these."""
    sent = [
        *(
            (f"sot/kall/{kind}/x1/{quantity}", payload, retain)
            for kind in Kind
            for quantity, payload, retain in (
                ("meta", '{"name": "X"}', True),
                ("state" if kind is Kind.LOAD else "reading", "1", False),
            )
        ),
        ("sot/kall/node/n1/status", "online", True),
        ("sot/kall/public", '{"site": "kall", "status": "open"}', True),
        ("sot/kall/settings", '{"tank_capacity": 600}', True),
    ]
    node = Client(county_pair.sites["kall"].port)
    for topic, payload, retain in sent:
        node.publish(topic, payload, retain=retain)
    marker = "sot/kall/grid/main/voltage"
    node.publish(marker, "230")
    watcher = county_pair.watcher
    # The bridge keeps the order of one site's messages: once the marker is in, all are.
    wait_for(lambda: watcher.received(marker), 15, "the marker at the county")
    seen = {m.topic for m in watcher.received("sot/kall/")}
    assert [topic for topic, _, _ in sent if topic not in seen] == []
    assert county_pair.broker.log_text().count("Denied PUBLISH") == 0
    node.close()


def test_a_site_reads_only_its_own_commands(county_pair: County) -> None:
    evil = attacker(county_pair)
    for topic in ("#", "sot/#", "sot/kall/#", "sot-bridge/#", "$SYS/#"):
        evil.subscribe(topic)  # Mosquitto grants the subscription; the ACL filters delivery
    node = Client(county_pair.sites["kall"].port)
    node.publish("sot/kall/freezer/f1/temperature", "-18.5")
    watcher = county_pair.watcher
    wait_for(lambda: watcher.received("sot/kall/freezer"), 10, "kall's reading at the county")
    ha = county_pair.ha()
    ha.publish("sot/kall/load/heater/set", "OFF")
    ha.publish("sot/valsjobyn/load/heater/set", "ON")
    wait_for(lambda: evil.received("sot/valsjobyn/load"), 10, "valsjobyn's own command")
    # Delivered once per matching subscription (#, sot/#): only its own command, nothing else.
    assert {(m.topic, m.payload) for m in evil.received()} == {
        ("sot/valsjobyn/load/heater/set", b"ON")
    }
    for client in (node, ha, evil):
        client.close()


def test_a_site_cannot_take_over_another_sites_session(county_pair: County) -> None:
    # The county replaces a client's id with its login: this one is site-valsjobyn, whatever
    # it asks for, so kall's bridge (client id site-kall) stays connected.
    evil = attacker(county_pair, client_id="site-kall")
    node = Client(county_pair.sites["kall"].port)
    node.publish("sot/kall/freezer/f2/temperature", "-19.0")
    watcher = county_pair.watcher
    wait_for(lambda: watcher.received("sot/kall/freezer/f2"), 10, "kall's reading")
    assert [m.payload for m in watcher.received("sot-bridge/kall/state")] == [b"1"]
    node.close()
    evil.close()


def test_only_the_countys_certificates_and_logins_connect(
    county_pair: County, tmp_path: Path
) -> None:
    user, password, (ca, cert, key) = county_pair.sites["kall"].credentials()
    port = county_pair.port
    # No client certificate.
    assert refused(port, username=user, password=password, tls=(ca, None, None))
    # A wrong password with the right certificate.
    assert refused(port, username=user, password="guess", tls=(ca, cert, key))
    # A certificate from another county's CA.
    other = tmp_path / "other"
    county("init", other, "--host", "127.0.0.1", "--install-dir", other)
    ha_dir = other / "county" / "home-assistant"
    assert refused(
        port,
        username=user,
        password=password,
        tls=(ca, ha_dir / "county-ha.crt", ha_dir / "county-ha.key"),
    )
    # Anonymous, and a site login, on the county HA's loopback listener.
    assert refused(county_pair.local_port)
    assert refused(county_pair.local_port, username="county-ha", password="guess")


def test_a_revoked_site_is_cut_off(county_pair: County) -> None:
    watcher = county_pair.watcher
    kall = county_pair.sites["kall"]
    _, _, (ca, kall_cert, kall_key) = kall.credentials()
    kall_node = Client(kall.port)
    kall_node.publish("sot/kall/node/relays/status", "online", retain=True)
    wait_for(lambda: watcher.received("sot/kall/node/relays"), 10, "kall's node status")

    output = county("revoke-site", county_pair.root, "kall")
    log_before = len(county_pair.broker.log_text())
    county_pair.broker.reload()

    def county_log() -> str:
        return county_pair.broker.log_text()[log_before:]

    # Its bridge is disconnected at once, and its reconnections fail at the TLS handshake (its
    # certificate is on the CRL) while Valsjöbyn's readings keep flowing.
    wait_for(lambda: "Client site-kall disconnected" in county_log(), 10, "kall disconnected")
    refusals = kall.broker.log_text().count("certificate revoked")
    kall_node.publish("sot/kall/freezer/f1/temperature", "-17.0")
    wait_for(
        lambda: kall.broker.log_text().count("certificate revoked") > refusals,
        10,
        "kall's bridge refused after its reading was queued",
    )
    vals_node = Client(county_pair.sites["valsjobyn"].port)
    vals_node.publish("sot/valsjobyn/freezer/f1/temperature", "-21.0")
    wait_for(lambda: watcher.received("sot/valsjobyn/freezer"), 10, "valsjobyn's reading")
    assert not watcher.received("sot/kall/freezer")
    # The certificate itself is refused, even with another site's valid login.
    v_user, v_password, _ = county_pair.sites["valsjobyn"].credentials()
    assert refused(
        county_pair.port, username=v_user, password=v_password, tls=(ca, kall_cert, kall_key)
    )

    # Its retained messages stay until cleared, with the command revoke-site printed.
    command = next(line for line in output.splitlines() if "mosquitto_sub" in line).split()
    command[command.index("PASSWORD")] = county_pair.ha_password()
    command = [word.strip("'") for word in command]
    subprocess.run(command, check=False, timeout=20, capture_output=True)
    newcomer = county_pair.ha()
    newcomer.subscribe("sot/kall/#")
    newcomer.subscribe("sot-bridge/kall/#")
    newcomer.publish("sot/kall/load/marker/set", "ON")
    wait_for(lambda: newcomer.received("sot/kall/load/marker"), 10, "the marker")
    assert [m.topic for m in newcomer.received()] == ["sot/kall/load/marker/set"]
    for client in (kall_node, vals_node, newcomer):
        client.close()
