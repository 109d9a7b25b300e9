"""Plays sites and a scenario against the outside world, in real or accelerated time."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymodbus.server import ModbusTcpServer

from .modbus_server import start_server
from .mqtt_nodes import SiteNodes, generator_object
from .scenario import Player, Scenario, format_duration
from .site import Site, SiteSpec

_LOGGER = logging.getLogger(__name__)


class SimulationError(RuntimeError):
    """The simulation cannot start (a Modbus port it cannot listen on); the message says why."""


@dataclass(kw_only=True)
class RunConfig:
    """How to play: which sites, where the broker is, how fast."""

    specs: list[SiteSpec]
    scenario: Scenario
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    modbus_host: str = "127.0.0.1"
    # First site with Modbus listens here, the next on port + 1, and so on.
    modbus_port: int = 5020
    speed: float = 1.0
    start_at_s: float = 0.0
    tick_s: float = 0.25
    publish_interval_s: float = 2.0
    exit_at_end: bool = False
    status_file: Path | None = None
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


def site_snapshot(site: Site) -> dict[str, Any]:
    """What a person at the site would read off its panels, for status files and logs."""
    return {
        "elapsed_s": round(site.elapsed_s, 1),
        "source": site.source.value,
        "grid_present": site.grid_present,
        "generator": generator_object(site),
        "tank": {"level": round(site.tank_level_pct, 1), "volume": round(site.tank_l)},
        "freezers": {
            f.id: {
                "temperature": round(f.temperature_c, 1),
                "door": f.door_open,
                "powered": f.powered,
            }
            for f in site.freezers.values()
        },
        "loads": {
            load_id: {"on": load.on, "power": round(site.load_power_kw(load_id), 2)}
            for load_id, load in site.loads.items()
        },
        "site_power": round(site.site_power_kw, 2),
    }


def _write_status(path: Path, player: Player, modbus_ports: dict[str, int]) -> None:
    data = {
        "scenario": player.scenario.name,
        "elapsed_s": round(player.elapsed_s, 1),
        "finished": player.finished,
        "modbus_ports": modbus_ports,
        "sites": {site_id: site_snapshot(site) for site_id, site in player.sites.items()},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class Simulation:
    """The running simulation: sites, their Modbus servers and MQTT nodes, and the clock."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.sites = {spec.id: Site(spec, config.start) for spec in config.specs}
        self.player = Player(config.scenario, self.sites)
        self.servers: list[ModbusTcpServer] = []
        self.modbus_ports: dict[str, int] = {}
        self.nodes = [
            SiteNodes(site, config.broker_host, config.broker_port, config.publish_interval_s)
            for site in self.sites.values()
        ]
        self._logged = dict.fromkeys(self.sites, 0)

    async def start(self) -> None:
        """Open the Modbus servers and connect the MQTT nodes."""
        port = self.config.modbus_port
        for site in self.sites.values():
            if site.spec.modbus:
                try:
                    server = await start_server(site, self.config.modbus_host, port)
                except (OSError, OverflowError, RuntimeError):
                    # pymodbus logs the reason and raises "Could not start listen, please
                    # check address."
                    raise SimulationError(
                        f"{site.spec.id}: cannot listen for Modbus TCP on "
                        f"{self.config.modbus_host}:{port}: the port is taken or the address "
                        "is not this machine's (--modbus)"
                    ) from None
                self.servers.append(server)
                self.modbus_ports[site.spec.id] = port
                port += 1
        if self.config.start_at_s > 0:
            self.player.advance(self.config.start_at_s)
            self._print_log()

    def _print_log(self) -> None:
        for site_id, site in self.sites.items():
            for at_s, text in site.log[self._logged[site_id] :]:
                _LOGGER.info("[%s] %-10s %s", format_duration(at_s), site_id, text)
            self._logged[site_id] = len(site.log)

    async def run(self) -> None:
        """Play until the scenario ends (with exit_at_end) or forever."""
        await self.start()
        tasks = [
            asyncio.create_task(client.run()) for nodes in self.nodes for client in nodes.clients
        ]
        loop = asyncio.get_running_loop()
        last = loop.time()
        try:
            while not (self.config.exit_at_end and self.player.finished):
                await asyncio.sleep(self.config.tick_s)
                now = loop.time()
                self.player.advance((now - last) * self.config.speed)
                last = now
                self._print_log()
                for nodes in self.nodes:
                    nodes.poke()
                if self.config.status_file is not None:
                    _write_status(self.config.status_file, self.player, self.modbus_ports)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for server in self.servers:
                await server.shutdown()  # type: ignore[no-untyped-call]


def with_transport(spec: SiteSpec, *, mqtt_only: bool) -> SiteSpec:
    """A site whose Modbus devices are published over MQTT instead (no Modbus in HA)."""
    if not mqtt_only or not spec.modbus:
        return spec
    return dataclasses.replace(spec, modbus=False, generator_over_mqtt=True, grid_over_mqtt=True)
