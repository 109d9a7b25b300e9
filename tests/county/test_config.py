"""What scripts/county writes: the queue sizing, the bridge, the ACL, and what it refuses."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from .brokers import SCRIPT, county

A_DAY_AT_7 = 7 * 86400  # messages: a day of the benchmark's site (7.0 msg/s)


def conf_values(path: Path) -> dict[str, list[str]]:
    """Option → values (in order) of a Mosquitto configuration file."""
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            values.setdefault(key, []).append(value)
    return values


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A county with kall at the defaults and hallen at 10 msg/s for 24 h."""
    root = tmp_path_factory.mktemp("county") / "c"
    county("init", root, "--host", "mqtt.county.example", "--host", "10.0.0.5")
    county("add-site", root, "kall")
    county("add-site", root, "hallen", "--rate", "10", "--hours", "24")
    return root


def test_the_site_queue_holds_more_than_a_day_of_its_traffic(made: Path) -> None:
    kall = conf_values(made / "sites" / "kall" / "conf.d" / "sot-county.conf")
    # 8 msg/s x 24 h x 3600 s; 64 payload bytes each (the contract's largest plain payload).
    assert kall["max_queued_messages"] == [str(8 * 24 * 3600)] == ["691200"]
    assert int(kall["max_queued_messages"][0]) >= A_DAY_AT_7
    assert kall["max_queued_bytes"] == [str(691200 * 64)]
    hallen = conf_values(made / "sites" / "hallen" / "conf.d" / "sot-county.conf")
    assert hallen["max_queued_messages"] == [str(math.ceil(10 * 24 * 3600))]
    # The arithmetic is written next to the numbers.
    text = (made / "sites" / "kall" / "conf.d" / "sot-county.conf").read_text()
    assert "8 msg/s x 24 h x 3600 s = 691,200 messages" in text


def test_the_bridge_is_mqtt5_persistent_tls_and_scoped_to_its_site(made: Path) -> None:
    kall = conf_values(made / "sites" / "kall" / "conf.d" / "sot-county.conf")
    assert kall["connection"] == ["sot-county"]
    assert kall["address"] == ["mqtt.county.example:8883"]
    assert kall["bridge_protocol_version"] == ["mqttv50"]
    assert kall["cleansession"] == kall["local_cleansession"] == ["false"]
    assert kall["persistence"] == ["true"]
    assert kall["upgrade_outgoing_qos"] == ["true"]
    assert kall["topic"] == ["sot/kall/# out 1", "sot/kall/load/+/set in 1"]
    assert kall["remote_username"] == kall["remote_clientid"] == ["site-kall"]
    assert kall["bridge_insecure"] == ["false"]
    assert kall["bridge_certfile"] == ["/etc/mosquitto/sot-county/site-kall.crt"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", kall["remote_password"][0])
    assert (made / "sites" / "kall" / "conf.d" / "sot-county.conf").stat().st_mode & 0o007 == 0
    # The password is stored hashed at the county, never in clear.
    passwd = (made / "county" / "sot-county" / "passwd").read_text()
    assert kall["remote_password"][0] not in passwd
    assert re.search(r"^site-kall:\$7\$101\$[^$]+\$[^$]+$", passwd, re.M)
    # The server certificate names every address the sites use.
    san = subprocess.run(
        [
            "openssl",
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            str(made / "county" / "sot-county" / "server.crt"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:mqtt.county.example" in san
    assert "IP Address:10.0.0.5" in san


def test_the_county_requires_certificates_and_logins(made: Path) -> None:
    conf = conf_values(made / "county" / "conf.d" / "sot-county.conf")
    assert conf["allow_anonymous"] == ["false"]
    assert conf["require_certificate"] == ["true"]
    assert conf["use_username_as_clientid"] == ["true"]
    assert conf["crlfile"] == ["/etc/mosquitto/sot-county/crl.pem"]
    assert conf["listener"] == ["8883", "1883 127.0.0.1"]
    # It holds a whole site queue for its Home Assistant (the flush after a link loss is faster
    # than HA reads) plus five minutes of every site: hallen's 864 000 + 300 s x 18 msg/s.
    assert conf["max_queued_messages"] == [str(10 * 24 * 3600 + 300 * 18)]


def test_the_acl_gives_each_site_only_its_own_prefix(made: Path) -> None:
    users: dict[str, list[str]] = {}
    current = ""
    for line in (made / "county" / "sot-county" / "acl").read_text().splitlines():
        if line.startswith("user "):
            current = line.split()[1]
            users[current] = []
        elif line.startswith("topic "):
            users[current].append(line.removeprefix("topic "))
    assert users["county-ha"] == [
        "read sot/#",
        "write sot/+/load/+/set",
        "read sot-bridge/#",
    ]
    for site in ("kall", "hallen"):
        rules = users[f"site-{site}"]
        assert all(
            rule.split()[1].startswith((f"sot/{site}/", f"sot-bridge/{site}/")) for rule in rules
        )
        assert [rule for rule in rules if rule.startswith("read")] == [
            f"read sot/{site}/load/+/set"
        ]
        # No wildcard a command topic could match.
        writes = [rule.split()[1] for rule in rules if rule.startswith("write")]
        assert not any(w.endswith("/load/#") or w == f"sot/{site}/#" for w in writes)
        assert f"sot/{site}/+/+/+" not in writes
    assert set(users) == {"county-ha", "site-kall", "site-hallen"}


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """scripts/county, its exit status kept."""
    return subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def test_mistakes_are_refused(made: Path, tmp_path: Path) -> None:
    for bad in ("Kall", "_kall", "kall/x", "k" * 33, "kall+", "ka ll"):
        result = run("add-site", made, bad)
        assert result.returncode == 1
        assert "site id" in result.stderr
    assert "already added" in run("add-site", made, "kall").stderr
    assert "at least 24" in run("add-site", made, "short", "--hours", "12").stderr
    # Not a number, or without end: refused before any certificate is issued.
    for option, value in (("--rate", "nan"), ("--rate", "inf"), ("--hours", "inf")):
        result = run("add-site", made, "odd", option, value)
        assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
        assert "--rate must be positive" in result.stderr
    assert "site-odd" not in (made / "ca" / "index.txt").read_text()
    assert "not a current site" in run("revoke-site", made, "nowhere").stderr
    assert "already holds a county" in run("init", made, "--host", "x").stderr
    assert "is not a county directory" in run("add-site", tmp_path, "kall").stderr


def test_revoking_removes_the_login_and_rule_and_lists_the_serial(tmp_path: Path) -> None:
    root = tmp_path / "c"
    county("init", root, "--host", "127.0.0.1", "--local-port", "0")
    county("add-site", root, "kall")
    serial = json.loads((root / "county.json").read_text())["sites"]["kall"]["serial"]
    output = county("revoke-site", root, "kall")
    assert "mosquitto_sub" in output
    assert "site-kall" not in (root / "county" / "sot-county" / "passwd").read_text()
    acl = (root / "county" / "sot-county" / "acl").read_text()
    assert "user site-kall" not in acl
    # Until re-added, the county's HA login may clear kall's retained messages.
    assert "write sot/kall/#" in acl
    crl = subprocess.run(
        [
            "openssl",
            "crl",
            "-noout",
            "-text",
            "-in",
            str(root / "county" / "sot-county" / "crl.pem"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Serial Number: {serial}" in crl
    assert f"revoked: kall (certificate serial {serial})" in county("list", root)
    assert not (root / "sites" / "kall").exists()
    # A re-added site gets new credentials; the clearing rule goes.
    county("add-site", root, "kall")
    acl = (root / "county" / "sot-county" / "acl").read_text()
    assert "user site-kall" in acl
    assert "write sot/kall/#" not in acl
    # Without a local listener the listener list has only the TLS port.
    conf = conf_values(root / "county" / "conf.d" / "sot-county.conf")
    assert conf["listener"] == ["8883"]


def test_refresh_writes_an_older_countys_acl_anew_and_keeps_its_logins(tmp_path: Path) -> None:
    """A county made by an older version lacks the rule for the sites' settings: `refresh`
    writes it again from county.json, and no certificate or password changes."""
    root = tmp_path / "c"
    county("init", root, "--host", "127.0.0.1")
    county("add-site", root, "kall")
    acl = root / "county" / "sot-county" / "acl"
    older = acl.read_text().replace("topic write sot/kall/settings\n", "")
    acl.write_text(older)
    passwd = (root / "county" / "sot-county" / "passwd").read_text()
    issued = (root / "ca" / "index.txt").read_text()
    assert "copy county/conf.d/" in county("refresh", root)
    assert "topic write sot/kall/settings\n" in acl.read_text()
    assert (root / "county" / "sot-county" / "passwd").read_text() == passwd
    assert (root / "ca" / "index.txt").read_text() == issued


def test_a_port_mosquitto_would_refuse_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    """Mosquitto will not start on `listener 0` or `listener 70000`, nor bind one port twice:
    `init` says so at once instead of writing a configuration the county broker refuses."""
    for option, value in (
        ("--port", "0"),
        ("--port", "70000"),
        ("--local-port", "-1"),
        ("--local-port", "65536"),
        ("--local-port", "8883"),
    ):
        root = tmp_path / f"{option}{value}"
        result = run("init", root, "--host", "127.0.0.1", option, value)
        assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
        assert "port" in result.stderr
        assert not (root / "county.json").exists()
        assert not (root / "ca").exists()


def test_a_validity_or_host_openssl_would_refuse_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    """openssl fails on `-days 0` or a name with a slash half-way through, after the CA was
    made: `init` refuses them first, so nothing half-made is left to clear up."""
    for number, options in enumerate(
        (
            ("--host", "127.0.0.1", "--days", "0"),
            ("--host", "mqtt/county"),
            ("--host", "mqtt.county.example", "--host", ""),
            ("--host", "a b"),
        )
    ):
        root = tmp_path / str(number)
        result = run("init", root, *options)
        assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
        assert "--days" in result.stderr or "--host" in result.stderr, result.stderr
        assert not root.exists()


def test_a_bridge_setting_mosquitto_would_misread_is_refused(tmp_path: Path) -> None:
    """Mosquitto reads `restart_timeout abc` as 1 s (a reconnection every second) and an
    `address` without a port as port 1883: `add-site` refuses both before issuing anything."""
    made = tmp_path / "c"
    county("init", made, "--host", "mqtt.county.example")
    for option, value in (
        ("--restart-timeout", "abc"),
        ("--restart-timeout", "0 60"),
        ("--restart-timeout", "60 5"),
        ("--restart-timeout", "5 60 90"),
        ("--address", "mqtt.county.example"),
        ("--address", "mqtt.county.example:0"),
        ("--address", "mqtt.county.example:http"),
    ):
        result = run("add-site", made, "odd", option, value)
        assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
        assert option in result.stderr
        assert not (made / "sites" / "odd").exists()
    assert "site-odd" not in (made / "ca" / "index.txt").read_text()
    # What the help asks for still goes.
    county("add-site", made, "odd", "--restart-timeout", "10", "--address", "10.0.0.5:8883")
    odd = conf_values(made / "sites" / "odd" / "conf.d" / "sot-county.conf")
    assert (odd["restart_timeout"], odd["address"]) == (["10"], ["10.0.0.5:8883"])


def test_the_guide_copies_everything_refresh_writes() -> None:
    """`refresh` writes the broker's configuration and its ACL: wherever docs/county.md has a
    coordinator run it, it has them copy both, or the broker keeps its old configuration."""
    guide = (SCRIPT.parent.parent / "docs" / "county.md").read_text()
    paragraphs = [p for p in guide.split("\n\n") if "refresh" in p]
    assert paragraphs
    for paragraph in paragraphs:
        flat = " ".join(paragraph.split())
        assert "`county/conf.d/`" in flat, flat
        assert "`county/sot-county/`" in flat, flat
