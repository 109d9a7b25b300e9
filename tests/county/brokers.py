"""A county of real Mosquitto brokers on loopback, configured by `scripts/county` itself.

The county broker and each site broker run the conf.d file `scripts/county` generated, included
from a small main file that holds only what Debian's /etc/mosquitto/mosquitto.conf would (the
persistence location, logging) and, for a site, the site's own listener for its field nodes. A
`Link` (a TCP relay between a site's bridge and the county) plays the network: cutting it is a
link loss without touching either broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..mosquitto import _mosquitto_binary, free_port

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "county"


def county(*args: str | Path) -> str:
    """Run scripts/county; its stdout."""
    result = subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise AssertionError(f"scripts/county {args}: {result.stderr}")
    return result.stdout


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll until `predicate()` is true, or fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


class Broker:
    """One Mosquitto process, run from a main file that includes a generated conf.d."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        conf_d: Path,
        port: int,
        extra: str = "",
        log_types: tuple[str, ...] = ("all",),
    ) -> None:
        self.name = name
        self.port = port  # the port its readiness is checked on
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "mosquitto.conf"
        self.conf_d = conf_d
        self.extra = extra
        self.log_types = log_types
        self.log = self.dir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def write_conf(self) -> None:
        """The main file: what Debian's mosquitto.conf holds, then the generated conf.d."""
        # Started as root, Mosquitto switches to the `mosquitto` user unless told to stay: the
        # test's files belong to whoever runs it.
        self.conf.write_text(
            f"user {getpass.getuser()}\n"
            f"persistence_location {self.dir}/\n"
            f"log_dest file {self.log}\n"
            + "".join(f"log_type {t}\n" for t in self.log_types)
            + f"{self.extra}"
            f"include_dir {self.conf_d}\n"
        )

    def start(self) -> None:
        """Start it and wait until its port answers."""
        self.write_conf()
        self.proc = subprocess.Popen(
            [_mosquitto_binary(), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise RuntimeError(
                        f"{self.name} did not start: {err}{self.log_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (Mosquitto saves its persistence file), then wait."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password file, ACL and CRL."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGHUP)

    def log_text(self) -> str:
        """What it logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Link:
    """A TCP relay on loopback standing for the network between a site and the county."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target = target_port
        self.up = True
        self._loop = asyncio.new_event_loop()
        # Cleared while the link stalls: bytes are held, connections stay open.
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._start())

    def _call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Tracked from the start, so a cut while the upstream connection opens aborts it too:
        # a connection left half open would hold a bridge in its TLS handshake.
        if not self.up:
            writer.transport.abort()
            return
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            self._writers.discard(writer)
            return
        if not self.up or writer not in self._writers:
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._writers.add(up_writer)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    await self._flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _cut(self) -> None:
        self.up = False
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if self._server is not None:
            self._server.close()
            self._server = None

    def cut(self) -> None:
        """The link is lost: open connections drop, new ones are refused."""
        self._call(self._cut())

    def stall(self) -> None:
        """The link hangs (a mobile link in a storm): nothing gets through either way, but no
        connection drops, so neither broker notices before its keepalive runs out."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        """The link moves again: what it held is delivered, late."""
        self._loop.call_soon_threadsafe(self._flowing.set)

    def restore(self) -> None:
        """The link is back: connections are accepted again."""
        self.up = True
        self._call(self._start())

    def close(self) -> None:
        """Stop relaying."""

        async def stop() -> None:
            await self._cut()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class Received:
    """One message a test client received."""

    topic: str
    payload: bytes
    retain: bool
    expiry: int | None
    t: float = field(default_factory=time.monotonic)


class Client:
    """A paho client (MQTT 5) that records what it receives; blocking helpers for tests."""

    def __init__(
        self,
        port: int,
        *,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
        tls: tuple[Path, Path | None, Path | None] | None = None,
        clean: bool = True,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            ca, cert, key = tls
            self.client.tls_set(
                ca_certs=str(ca),
                certfile=str(cert) if cert else None,
                keyfile=str(key) if key else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        OPEN.append(self)
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.connect_rc: int | None = None
        self.disconnected = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        props = None
        if not clean:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, keepalive=30, clean_start=clean, properties=props)
        self.client.loop_start()
        try:
            wait_for(
                lambda: self.connect_rc is not None or self.disconnected.is_set(),
                10,
                f"CONNACK on port {port}",
            )
        except AssertionError:
            self.close()
            raise

    def _on_connect(self, _c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        self.connect_rc = int(rc.value) if hasattr(rc, "value") else int(rc)  # type: ignore[call-overload]

    def _on_disconnect(self, *_args: object) -> None:
        self.disconnected.set()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        expiry = getattr(msg.properties, "MessageExpiryInterval", None)
        with self.lock:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain), expiry))

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the CONNECT."""
        return self.connect_rc == 0

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe and wait for the SUBACK."""
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe(topic, qos)
        assert done.wait(10), f"no SUBACK for {topic}"

    def publish(
        self,
        topic: str,
        payload: str,
        qos: int = 1,
        retain: bool = False,
        expiry: int | None = None,
    ) -> None:
        """Publish and, at QoS 1, wait for the PUBACK."""
        props = None
        if expiry is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = expiry
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if qos:
            info.wait_for_publish(10)

    def received(self, prefix: str = "") -> list[Received]:
        """What arrived so far on topics starting with `prefix`."""
        with self.lock:
            return [m for m in self.messages if m.topic.startswith(prefix)]

    def close(self) -> None:
        """Disconnect and stop its thread."""
        if self in OPEN:
            OPEN.remove(self)
            self.client.disconnect()
            self.client.loop_stop()


# Every client not closed yet: the fixture closes what a failed test left open.
OPEN: list[Client] = []


def close_all() -> None:
    """Close every client still open."""
    for client in list(OPEN):
        client.close()


@dataclass
class County:
    """A county directory made by scripts/county, its broker, and its sites' brokers."""

    root: Path
    port: int  # the TLS listener the sites' bridges reach (through their Link)
    local_port: int  # the county Home Assistant's loopback listener
    broker: Broker
    sites: dict[str, Site] = field(default_factory=dict)
    # A county-HA login subscribed to everything (set by the tests' fixture).
    watcher: Client = field(init=False)

    def ha_password(self) -> str:
        """The county HA's password, as init wrote it for the user."""
        text = (self.root / "county" / "home-assistant.txt").read_text()
        return next(line.split()[1] for line in text.splitlines() if "password" in line)

    def ha(self, **kwargs: object) -> Client:
        """The county's Home Assistant's login, on the loopback listener."""
        return Client(self.local_port, username="county-ha", password=self.ha_password(), **kwargs)  # type: ignore[arg-type]


@dataclass
class Site:
    """One site: its generated files, its broker (own listener for nodes), its link."""

    name: str
    files: Path
    broker: Broker
    link: Link  # (None when made without links: the benchmark's bridges go direct)

    @property
    def port(self) -> int:
        """The site broker's listener for its field nodes (anonymous, loopback)."""
        return self.broker.port

    def credentials(self) -> tuple[str, str, tuple[Path, Path, Path]]:
        """The site's county login as its bridge holds it: user, password, (CA, cert, key)."""
        conf = (self.files / "conf.d" / "sot-county.conf").read_text()
        values = dict(
            line.split(" ", 1) for line in conf.splitlines() if line and not line.startswith("#")
        )
        certs = self.files / "sot-county"
        user = values["remote_username"]
        return (
            user,
            values["remote_password"],
            (certs / "ca.crt", certs / f"{user}.crt", certs / f"{user}.key"),
        )

    def conf_text(self) -> str:
        """The generated conf.d file."""
        return (self.files / "conf.d" / "sot-county.conf").read_text()


def make_county(
    workdir: Path,
    site_names: list[str],
    restart_timeout: str = "1 2",
    links: bool = True,
    log_types: tuple[str, ...] = ("all",),
) -> County:
    """`scripts/county init` and `add-site` for each site, into workdir/county-dir.

    Without `links` the bridges reach the county broker directly (no relay to cut).
    """
    root = workdir / "county-dir"
    port, local_port = free_port(), free_port()
    county(
        "init", root, "--host", "127.0.0.1", "--host", "localhost",
        "--port", port, "--bind", "127.0.0.1", "--local-port", local_port,
        "--install-dir", root / "county" / "sot-county",
    )  # fmt: skip
    broker = Broker("county", workdir, root / "county" / "conf.d", local_port, log_types=log_types)
    result = County(root, port, local_port, broker)
    for name in site_names:
        link = Link(port) if links else None
        # Installed at the site as the guide says: the generated conf.d and sot-county/ copied
        # into the site broker's configuration directory (here a directory of the test's).
        files = workdir / f"site-{name}-etc"
        county(
            "add-site", root, name, "--address", f"127.0.0.1:{link.port if link else port}",
            "--restart-timeout", restart_timeout,
            "--install-dir", files / "sot-county",
        )  # fmt: skip
        shutil.copytree(root / "sites" / name, files)
        site_port = free_port()
        site_broker = Broker(
            f"site-{name}",
            workdir,
            files / "conf.d",
            site_port,
            extra=f"listener {site_port} 127.0.0.1\nallow_anonymous true\n",
            log_types=log_types,
        )
        result.sites[name] = Site(name, files, site_broker, link)  # type: ignore[arg-type]
    return result


@contextlib.contextmanager
def running(c: County) -> Iterator[County]:
    """Start the county broker and every site broker; stop them and the links afterwards."""
    try:
        c.broker.start()
        for site in c.sites.values():
            site.broker.start()
        yield c
    finally:
        for site in c.sites.values():
            site.broker.stop()
            if site.link is not None:
                site.link.close()
        c.broker.stop()


def refused(port: int, **kwargs: object) -> bool:
    """Whether the broker refuses this login (at the TLS handshake or in its CONNACK).

    A client of its own without a network thread, so a refusal is known in milliseconds.
    """
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if kwargs.get("username") is not None:
        probe.username_pw_set(kwargs["username"], kwargs.get("password"))  # type: ignore[arg-type]
    if kwargs.get("tls") is not None:
        ca, cert, key = kwargs["tls"]  # type: ignore[misc]
        probe.tls_set(ca_certs=str(ca), certfile=cert and str(cert), keyfile=key and str(key))
    answers: list[int] = []
    probe.on_connect = lambda _c, _u, _f, rc, _p: answers.append(int(rc.value))
    try:
        probe.connect("127.0.0.1", port, keepalive=30)
    except (ssl.SSLError, OSError):
        return True
    try:
        deadline = time.monotonic() + 10
        while not answers:
            if probe.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                return True  # the broker closed the connection
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer from port {port}")
        return answers[0] != 0
    finally:
        probe.disconnect()
