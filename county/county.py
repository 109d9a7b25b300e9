"""The county broker and its site bridges: certificates, credentials, ACL and configurations.

`scripts/county` runs this file (Python 3.9+, standard library only, plus the `openssl` and
Mosquitto 2.0 the brokers need anyway). Everything is written into one directory the county
names (its CA key included: keep it off the broker if you can). docs/county.md is the guide.

    scripts/county init DIR --host mqtt.county.example [--port 8883]
    scripts/county add-site DIR kall [--rate 6] [--hours 36]
    scripts/county revoke-site DIR kall
    scripts/county list DIR
    scripts/county refresh DIR

What lands where:

    DIR/county.json                     the county's settings and its sites (no secrets)
    DIR/ca/                             the county CA: key, openssl database, CRL
    DIR/county/conf.d/sot-county.conf   → the county broker's /etc/mosquitto/conf.d/
    DIR/county/sot-county/              → /etc/mosquitto/sot-county/ (certs, passwd, acl, crl)
    DIR/county/home-assistant.txt       the county Home Assistant's MQTT login
    DIR/sites/<site>/conf.d/sot-county.conf  → the site broker's /etc/mosquitto/conf.d/
    DIR/sites/<site>/sot-county/        → the site's /etc/mosquitto/sot-county/ (cert, key, CA)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# The MQTT contract's id rule (docs/mqtt.md): 1-32 of a-z 0-9 _ -, starting with a letter/digit.
SITE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
HA_USER = "county-ha"
INSTALL_DIR = "/etc/mosquitto/sot-county"

# Queue sizing (docs/county.md, "Queues"). A SOT point with 20 freezer probes, a generator
# gateway, a tank gauge and a grid meter sends about 6 messages a second with the shipped
# ESPHome nodes, 7.0 in benchmarks/mqtt_load.py's site model; the default assumes 8 and keeps
# a day of it.
DEFAULT_RATE = 8.0  # messages per second
DEFAULT_HOURS = 24.0
# A plain payload is at most 64 bytes by the contract (a reading is usually under 8); the byte
# bound allows 64 per message, so JSON-form sites (fewer, larger messages) fit as well.
PAYLOAD_BYTES = 64
# Mosquitto 2.0.11 holds a queued reading in about 360 bytes of memory with its payload and
# writes about 130 bytes of it to its persistence file (measured by benchmarks/county_bench.py).
MEMORY_PER_MESSAGE = 360
FILE_PER_MESSAGE = 130

# What the county broker may hold for one client, its Home Assistant (subscribed at QoS 1):
# when a link returns, the site's bridge sends its whole queue as fast as the county takes it,
# faster than Home Assistant reads, and the county holds the rest for it. So: the largest site
# queue, plus five minutes of every site's traffic, and never less than COUNTY_MIN_QUEUE.
COUNTY_MIN_QUEUE = 100_000
COUNTY_SLACK_S = 300

# The kinds of docs/mqtt.md. A site may write its readings, metas and node statuses, its public
# summary and its settings (which the county's Home Assistant takes), and under `load/`
# everything but the command topic `set`, which only the county's Home Assistant writes.
# Mosquitto's ACL file has no write-only deny, so the allowed topics are listed
# (tests/county/test_config.py checks them against the contract's kinds).
KINDS = ("grid", "generator", "tank", "freezer", "station", "network", "room", "node")
LOAD_WRITES = ("load/+", "load/+/state", "load/+/power", "load/+/meta")
SITE_WRITES = ("public", "settings")

DAYS = 3650
CURVE = "prime256v1"

OPENSSL_CNF = """\
# The county CA's openssl configuration (scripts/county). Paths are relative to this directory.
[ ca ]
default_ca = county_ca

[ county_ca ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = {days}
# Mosquitto refuses every client certificate once the CRL has passed its next update: the CRL
# is valid as long as the certificates, and re-issued at each revocation.
default_crl_days = {days}
policy = policy_cn
copy_extensions = copy
unique_subject = no
email_in_dn = no

[ policy_cn ]
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class CountyError(Exception):
    """A mistake the user can fix; printed without a traceback."""


# -- sizing -----------------------------------------------------------------------------------


def queue_sizing(rate: float, hours: float) -> dict[str, int]:
    """The site bridge's queue bounds for `hours` of traffic at `rate` messages a second."""
    messages = math.ceil(rate * hours * 3600)
    return {
        "max_queued_messages": messages,
        "max_queued_bytes": messages * PAYLOAD_BYTES,
        "memory_bytes": messages * MEMORY_PER_MESSAGE,
        "file_bytes": messages * FILE_PER_MESSAGE,
    }


def sizing_text(rate: float, hours: float) -> str:
    """The arithmetic, as the configuration and `list` print it."""
    q = queue_sizing(rate, hours)
    return (
        f"{rate:g} msg/s x {hours:g} h x 3600 s = {q['max_queued_messages']:,} messages; "
        f"x {PAYLOAD_BYTES} B = {q['max_queued_bytes']:,} payload bytes; when full, about "
        f"{q['memory_bytes'] / 1e6:.0f} MB of memory and a {q['file_bytes'] / 1e6:.0f} MB "
        "persistence file"
    )


# -- helpers ----------------------------------------------------------------------------------


def mosquitto_password_hash(password: str, iterations: int = 101) -> str:
    """A password file entry's hash, as `mosquitto_passwd` 2.0 writes it (PBKDF2-SHA512)."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def site_user(site: str) -> str:
    """A site's login at the county (also its client id there: use_username_as_clientid)."""
    return f"site-{site}"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _openssl(ca: Path, *args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CountyError("openssl is not installed (apt-get install openssl)")
    result = subprocess.run(
        [openssl, *args], cwd=ca, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise CountyError(f"openssl {args[0]} failed:\n{result.stderr.strip()}")


def _new_key(ca: Path, name: str) -> None:
    _openssl(ca, "ecparam", "-name", CURVE, "-genkey", "-noout", "-out", name)
    (ca / name).chmod(0o600)


def _issue(ca: Path, name: str, cn: str, ext: str, san: list[str] | None = None) -> None:
    """A key `name`.key and a certificate `name`.crt signed by the county CA, in `ca`/work."""
    work = ca / "work"
    work.mkdir(exist_ok=True)
    _new_key(ca, f"work/{name}.key")
    req = ["req", "-new", "-config", "openssl.cnf", "-key", f"work/{name}.key"]
    req += ["-subj", f"/CN={cn}", "-out", f"work/{name}.csr"]
    if san:
        req += ["-addext", "subjectAltName=" + ",".join(san)]
    _openssl(ca, *req)
    _openssl(
        ca, "ca", "-batch", "-config", "openssl.cnf", "-extensions", ext, "-notext",
        "-in", f"work/{name}.csr", "-out", f"work/{name}.crt",
    )  # fmt: skip
    (work / f"{name}.csr").unlink()


def _gencrl(ca: Path) -> None:
    _openssl(ca, "ca", "-config", "openssl.cnf", "-gencrl", "-out", "crl.pem")


def _san(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"DNS:{host}"
    return f"IP:{host}"


def _load(root: Path) -> dict[str, Any]:
    state = root / "county.json"
    if not state.exists():
        raise CountyError(f"{root} is not a county directory: run `scripts/county init` first")
    data: dict[str, Any] = json.loads(state.read_text())
    return data


def _save(root: Path, data: dict[str, Any]) -> None:
    _write(root / "county.json", json.dumps(data, indent=2, sort_keys=True) + "\n")


def _check_site(site: str) -> str:
    if not SITE_ID.fullmatch(site):
        raise CountyError(
            f"site id {site!r}: 1-32 characters of a-z, 0-9, _ and -, starting with a letter or "
            "digit (the MQTT contract's id, docs/mqtt.md)"
        )
    return site


def _check_bridge(address: str, restart_timeout: str) -> None:
    """What Mosquitto would misread without a word: a port-less address is port 1883, and a
    restart_timeout it cannot parse is a reconnection every second."""
    if address:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise CountyError(f"--address {address!r}: host:port, the port 1-65535")
    parts = restart_timeout.split()
    if not (
        1 <= len(parts) <= 2
        and all(p.isdigit() and int(p) > 0 for p in parts)
        and int(parts[0]) <= int(parts[-1])
    ):
        raise CountyError(
            f"--restart-timeout {restart_timeout!r}: seconds, or base and cap ('5 60'), "
            "both positive, the cap not below the base"
        )


# -- the county broker ------------------------------------------------------------------------


def county_queue(data: dict[str, Any]) -> tuple[int, str]:
    """The county's per-client queue bound and its arithmetic."""
    sites = data["sites"].values()
    largest = max(
        (queue_sizing(s["rate"], s["hours"])["max_queued_messages"] for s in sites), default=0
    )
    total_rate = sum(s["rate"] for s in sites)
    slack = math.ceil(COUNTY_SLACK_S * total_rate)
    queue = max(COUNTY_MIN_QUEUE, largest + slack)
    text = (
        f"largest site queue {largest:,} + {COUNTY_SLACK_S} s x {total_rate:g} msg/s of all "
        f"{len(data['sites'])} sites = {largest + slack:,} (at least {COUNTY_MIN_QUEUE:,})"
    )
    return queue, text


def county_conf(data: dict[str, Any]) -> str:
    """The county broker's conf.d file."""
    inst = data["install_dir"]
    queue, queue_text = county_queue(data)
    bind = f" {data['bind']}" if data.get("bind") else ""
    local = ""
    if data.get("local_port"):
        local = f"""
# The county's own Home Assistant, on this machine: password only, loopback only. Client ids
# are the clients' own here, so an administrator's mosquitto_sub does not replace HA's session.
listener {data["local_port"]} 127.0.0.1
"""
    return f"""\
# SOT county broker: generated by scripts/county; docs/county.md explains every line.
# Regenerated by `scripts/county init|add-site|revoke-site`: edit county.json, not this file.

# Everyone logs in; the ACL decides what each login may read and write.
per_listener_settings false
allow_anonymous false
password_file {inst}/passwd
acl_file {inst}/acl

# Retained metas and node statuses survive a restart of the county broker.
persistence true
autosave_interval 300
# What the county holds for a client that reads slower than the sites send (its Home
# Assistant, at QoS 1, while a site's bridge sends the queue of a link loss), before dropping:
#   {queue_text}.
max_queued_messages {queue}

# The sites' bridges: TLS, a client certificate from the county CA, and the site's password.
listener {data["port"]}{bind}
certfile {inst}/server.crt
keyfile {inst}/server.key
cafile {inst}/ca.crt
crlfile {inst}/crl.pem
require_certificate true
use_identity_as_username false
tls_version tlsv1.2
# A login is its own client id: one site cannot take over (and disconnect) another's session.
use_username_as_clientid true
{local}"""


def county_acl(data: dict[str, Any]) -> str:
    """The county broker's ACL: each site its own prefix; the county's HA reads all, commands."""
    lines = [
        "# SOT county ACL: generated by scripts/county from county.json; docs/county.md.",
        "# A site writes its own readings, metas and node statuses, reads only its own commands.",
        "# Only the county's Home Assistant reads every site and writes commands.",
        "",
        f"user {data['ha_user']}",
        "topic read sot/#",
        "topic write sot/+/load/+/set",
        "topic read sot-bridge/#",
    ]
    # A revoked site's retained messages (metas, node statuses, its link state) stay at the
    # county until cleared: the county's HA login may clear them (revoke-site prints how).
    for site in sorted({r["site"] for r in data["revoked"]} - set(data["sites"])):
        lines += [f"topic write sot/{site}/#", f"topic write sot-bridge/{site}/state"]
    for site in sorted(data["sites"]):
        lines += ["", f"user {site_user(site)}"]
        lines += [f"topic write sot/{site}/{kind}/#" for kind in KINDS]
        lines += [f"topic write sot/{site}/{topic}" for topic in (*LOAD_WRITES, *SITE_WRITES)]
        lines += [f"topic read sot/{site}/load/+/set", f"topic write sot-bridge/{site}/state"]
    return "\n".join(lines) + "\n"


def _passwd_lines(root: Path) -> dict[str, str]:
    path = root / "county" / "sot-county" / "passwd"
    entries: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if ":" in line:
                user, _, hashed = line.partition(":")
                entries[user] = hashed
    return entries


def _write_passwd(root: Path, entries: dict[str, str]) -> None:
    text = "".join(f"{user}:{hashed}\n" for user, hashed in sorted(entries.items()))
    _write(root / "county" / "sot-county" / "passwd", text, 0o640)


def _render_county(root: Path, data: dict[str, Any]) -> None:
    broker = root / "county"
    _write(broker / "conf.d" / "sot-county.conf", county_conf(data))
    _write(broker / "sot-county" / "acl", county_acl(data), 0o640)
    shutil.copy(root / "ca" / "crl.pem", broker / "sot-county" / "crl.pem")


def cmd_init(args: argparse.Namespace) -> None:
    """The county CA, the broker's certificate, its configuration and the HA login."""
    root: Path = args.dir
    if (root / "county.json").exists():
        raise CountyError(f"{root} already holds a county (county.json): nothing done")
    # Mosquitto does not start on a port outside 1-65535, nor with two listeners on one port.
    if not 1 <= args.port <= 65535:
        raise CountyError(f"--port {args.port}: a TCP port is 1-65535")
    if not 0 <= args.local_port <= 65535:
        raise CountyError(f"--local-port {args.local_port}: a TCP port is 1-65535, or 0 for none")
    if args.local_port == args.port:
        raise CountyError(f"--local-port {args.local_port} is the TLS --port: choose another")
    # openssl would fail half-way through, leaving a CA without its broker certificate.
    if args.days < 1:
        raise CountyError(f"--days {args.days}: a certificate is valid for 1 day or more")
    for host in args.host:
        if not host or any(c.isspace() or c in "/,=" for c in host):
            raise CountyError(f"--host {host!r}: a host name or an address, nothing else")
    ca = root / "ca"
    (ca / "issued").mkdir(parents=True, exist_ok=True)
    (ca / "index.txt").write_text("")
    (ca / "serial").write_text(secrets.token_hex(8).upper() + "\n")
    (ca / "crlnumber").write_text("01\n")
    (ca / "openssl.cnf").write_text(OPENSSL_CNF.format(days=args.days))
    _new_key(ca, "ca.key")
    _openssl(
        ca, "req", "-new", "-x509", "-config", "openssl.cnf", "-extensions", "ca_ext",
        "-key", "ca.key", "-subj", f"/CN={args.name} CA", "-days", str(args.days),
        "-sha256", "-out", "ca.crt",
    )  # fmt: skip
    _gencrl(ca)
    _issue(ca, "server", args.host[0], "server_ext", [_san(h) for h in args.host])
    _issue(ca, HA_USER, HA_USER, "client_ext")

    data: dict[str, Any] = {
        "name": args.name,
        "hosts": args.host,
        "port": args.port,
        "bind": args.bind,
        "local_port": args.local_port,
        "install_dir": args.install_dir,
        "ha_user": HA_USER,
        "sites": {},
        "revoked": [],
    }
    inst = root / "county" / "sot-county"
    inst.mkdir(parents=True, exist_ok=True)
    shutil.copy(ca / "ca.crt", inst / "ca.crt")
    shutil.move(ca / "work" / "server.crt", inst / "server.crt")
    shutil.move(ca / "work" / "server.key", inst / "server.key")
    (inst / "server.key").chmod(0o640)
    ha = root / "county" / "home-assistant"
    ha.mkdir(exist_ok=True)
    shutil.copy(ca / "ca.crt", ha / "ca.crt")
    shutil.move(ca / "work" / f"{HA_USER}.crt", ha / f"{HA_USER}.crt")
    shutil.move(ca / "work" / f"{HA_USER}.key", ha / f"{HA_USER}.key")
    password = secrets.token_urlsafe(24)
    _write_passwd(root, {HA_USER: mosquitto_password_hash(password)})
    _write(
        root / "county" / "home-assistant.txt",
        f"""\
The county Home Assistant's MQTT login (Settings > Devices & services > MQTT):
  on the county machine: broker 127.0.0.1, port {args.local_port or "(no local listener)"}
  from elsewhere: broker {args.host[0]}, port {args.port}, TLS with ca.crt and the client
    certificate and key in home-assistant/
  username {HA_USER}
  password {password}
""",
        0o600,
    )
    _render_county(root, data)
    _save(root, data)
    print(
        f"county CA and broker configuration in {root}/county; HA login: county/home-assistant.txt"
    )


# -- sites ------------------------------------------------------------------------------------


def site_conf(data: dict[str, Any], site: str, settings: dict[str, Any], password: str) -> str:
    """A site broker's conf.d file: the bridge to the county and the queue that backs it."""
    inst = settings["install_dir"]
    q = queue_sizing(settings["rate"], settings["hours"])
    address = settings.get("address") or f"{data['hosts'][0]}:{data['port']}"
    user = site_user(site)
    return f"""\
# SOT site {site}: bridge to the county broker. Generated by `scripts/county add-site {site}`;
# docs/county.md explains every line. Goes next to the site broker's own listener for its nodes.

# The queue survives a restart of the site broker (saved every 5 minutes and at shutdown).
persistence true
autosave_interval 300
# Field nodes publish readings at QoS 0; delivered to the bridge at its subscription's QoS 1,
# they are queued while the link is down and re-sent until the county acknowledges them.
upgrade_outgoing_qos true
# Queue bounds, from the site's message rate:
#   {sizing_text(settings["rate"], settings["hours"])}.
# When full, the newest messages are dropped. They apply to every client of this broker.
max_queued_messages {q["max_queued_messages"]}
max_queued_bytes {q["max_queued_bytes"]}

connection sot-county
address {address}
bridge_protocol_version mqttv50
remote_username {user}
remote_password {password}
remote_clientid {user}
local_clientid sot-county-bridge
# Keep the local queue across link losses and restarts.
cleansession false
local_cleansession false
bridge_cafile {inst}/ca.crt
bridge_certfile {inst}/{user}.crt
bridge_keyfile {inst}/{user}.key
bridge_insecure false
bridge_tls_version tlsv1.2
keepalive_interval 60
restart_timeout {settings["restart_timeout"]}
# "1" (retained) on this topic at the county while the link is up, "0" once it is lost.
notifications true
notification_topic sot-bridge/{site}/state
# Everything the site publishes goes out; only its own commands come back in.
topic sot/{site}/# out 1
topic sot/{site}/load/+/set in 1
"""


def cmd_add_site(args: argparse.Namespace) -> None:
    """A site's certificate, password, bridge configuration; its ACL and password entries."""
    root: Path = args.dir
    data = _load(root)
    site = _check_site(args.site)
    if site in data["sites"]:
        raise CountyError(f"site {site} is already added: revoke-site it first to re-issue")
    if not (math.isfinite(args.rate) and args.rate > 0) or not (
        math.isfinite(args.hours) and args.hours >= 24
    ):
        raise CountyError("--rate must be positive and --hours at least 24 (a day of traffic)")
    _check_bridge(args.address, args.restart_timeout)
    ca = root / "ca"
    user = site_user(site)
    _issue(ca, user, user, "client_ext")
    serial = (
        subprocess.run(
            ["openssl", "x509", "-noout", "-serial", "-in", str(ca / "work" / f"{user}.crt")],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        .stdout.strip()
        .partition("=")[2]
    )
    out = root / "sites" / site
    if out.exists():
        shutil.rmtree(out)
    inst = out / "sot-county"
    inst.mkdir(parents=True)
    shutil.copy(ca / "ca.crt", inst / "ca.crt")
    shutil.move(ca / "work" / f"{user}.crt", inst / f"{user}.crt")
    shutil.move(ca / "work" / f"{user}.key", inst / f"{user}.key")
    (inst / f"{user}.key").chmod(0o640)
    settings = {
        "rate": args.rate,
        "hours": args.hours,
        "install_dir": args.install_dir,
        "address": args.address,
        "restart_timeout": args.restart_timeout,
        "serial": serial,
    }
    password = secrets.token_urlsafe(24)
    _write(out / "conf.d" / "sot-county.conf", site_conf(data, site, settings, password), 0o640)
    entries = _passwd_lines(root)
    entries[user] = mosquitto_password_hash(password)
    _write_passwd(root, entries)
    data["sites"][site] = settings
    _render_county(root, data)
    _save(root, data)
    print(f"site {site}: {out} (copy to the site broker's /etc/mosquitto/)")
    print(f"  queue: {sizing_text(args.rate, args.hours)}")
    print("  county: copy county/sot-county/ to the county broker and reload it (SIGHUP)")


def cmd_revoke_site(args: argparse.Namespace) -> None:
    """Remove a site's login and ACL, revoke its certificate; the broker reloads on SIGHUP."""
    root: Path = args.dir
    data = _load(root)
    site = _check_site(args.site)
    if site not in data["sites"]:
        raise CountyError(f"site {site} is not a current site of this county")
    user = site_user(site)
    cert = next((root / "ca" / "issued").glob(f"{data['sites'][site]['serial']}.pem"), None)
    if cert is not None:
        _openssl(
            root / "ca",
            "ca",
            "-config",
            "openssl.cnf",
            "-revoke",
            str(cert.relative_to(root / "ca")),
        )
    _gencrl(root / "ca")
    entries = _passwd_lines(root)
    entries.pop(user, None)
    _write_passwd(root, entries)
    settings = data["sites"].pop(site)
    data["revoked"].append({"site": site, "serial": settings["serial"]})
    _render_county(root, data)
    _save(root, data)
    if (root / "sites" / site).exists():
        shutil.rmtree(root / "sites" / site)
    print(f"site {site} revoked: login, ACL and certificate (serial {settings['serial']})")
    print("  county: copy county/sot-county/ to the county broker and reload it (SIGHUP);")
    print("  then clear the site's retained messages there (password: home-assistant.txt):")
    print(f"  {clear_retained_command(data, site)}")


def clear_retained_command(data: dict[str, Any], site: str) -> str:
    """The mosquitto_sub line that removes a revoked site's retained messages at the county."""
    if data.get("local_port"):
        where = f"-h 127.0.0.1 -p {data['local_port']}"
    else:
        ha = "county/home-assistant"
        where = (
            f"-h {data['hosts'][0]} -p {data['port']} --cafile {ha}/ca.crt "
            f"--cert {ha}/{data['ha_user']}.crt --key {ha}/{data['ha_user']}.key"
        )
    return (
        f"mosquitto_sub {where} -u {data['ha_user']} -P PASSWORD -t 'sot/{site}/#' "
        f"-t 'sot-bridge/{site}/state' --retained-only --remove-retained -W 3"
    )


def cmd_refresh(args: argparse.Namespace) -> None:
    """Write the county broker's configuration and ACL again from county.json, as this
    version makes them: no certificate or password changes."""
    data = _load(args.dir)
    _render_county(args.dir, data)
    print("county: copy county/conf.d/ and county/sot-county/ to the county broker and reload it")


def cmd_list(args: argparse.Namespace) -> None:
    """The county's sites and their queue sizing."""
    data = _load(args.dir)
    print(f"{data['name']}: {', '.join(data['hosts'])} port {data['port']}")
    for site, settings in sorted(data["sites"].items()):
        print(f"  {site}: {sizing_text(settings['rate'], settings['hours'])}")
    for revoked in data["revoked"]:
        print(f"  revoked: {revoked['site']} (certificate serial {revoked['serial']})")


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(prog="scripts/county", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create the county CA, broker certificate and config")
    init.add_argument("dir", type=Path, help="the county directory (created)")
    init.add_argument(
        "--host",
        action="append",
        required=True,
        help="the county broker's name or address as sites reach it (repeat for several)",
    )
    init.add_argument("--port", type=int, default=8883, help="TLS port for sites (8883)")
    init.add_argument("--bind", default="", help="address the TLS listener binds (all)")
    init.add_argument(
        "--local-port", type=int, default=1883, help="loopback port for the county HA; 0: none"
    )
    init.add_argument("--name", default="SOT county", help="shown in the CA's name")
    init.add_argument("--days", type=int, default=DAYS, help=f"certificate validity ({DAYS})")
    init.add_argument(
        "--install-dir",
        default=INSTALL_DIR,
        help=f"where the files go on the broker ({INSTALL_DIR})",
    )
    init.set_defaults(func=cmd_init)

    add = sub.add_parser("add-site", help="issue a site's credentials and bridge config")
    add.add_argument("dir", type=Path)
    add.add_argument("site", help="the site id, as in its topics (sot/<site>/...)")
    add.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help=f"messages a second ({DEFAULT_RATE:g})"
    )
    add.add_argument(
        "--hours", type=float, default=DEFAULT_HOURS, help=f"queued hours, ≥ 24 ({DEFAULT_HOURS:g})"
    )
    add.add_argument("--address", default="", help="host:port of the county (its first --host)")
    add.add_argument(
        "--restart-timeout",
        default="5 60",
        help="bridge reconnect backoff, base and cap in seconds ('5 60')",
    )
    add.add_argument(
        "--install-dir", default=INSTALL_DIR, help=f"where the files go on the site ({INSTALL_DIR})"
    )
    add.set_defaults(func=cmd_add_site)

    revoke = sub.add_parser("revoke-site", help="remove a site's login, ACL and certificate")
    revoke.add_argument("dir", type=Path)
    revoke.add_argument("site")
    revoke.set_defaults(func=cmd_revoke_site)

    refresh = sub.add_parser(
        "refresh", help="write the county broker's configuration and ACL again (after an update)"
    )
    refresh.add_argument("dir", type=Path)
    refresh.set_defaults(func=cmd_refresh)

    show = sub.add_parser("list", help="the sites and their queue sizing")
    show.add_argument("dir", type=Path)
    show.set_defaults(func=cmd_list)

    args = parser.parse_args(argv)
    old_umask = os.umask(0o027)
    try:
        args.func(args)
    except CountyError as err:
        print(f"county: {err}", file=sys.stderr)
        return 1
    finally:
        os.umask(old_umask)
    return 0


if __name__ == "__main__":
    sys.exit(main())
