"""The Modbus hub: the site's Modbus devices, one poller per bus, feeding the coordinator.

Each Modbus device is a subentry of the site's config entry. Devices that share a bus (one TCP
gateway, one serial port) share one poller and one connection. Readings go to the coordinator
exactly as MQTT readings do; a device's availability goes in as a node status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import slugify

from .const import DOMAIN, SUBENTRY_MODBUS
from .coordinator import SiteCoordinator, SotConfigEntry
from .issues import MODBUS_BUS_CONFLICT, MODBUS_PROFILE_UNUSABLE, Issue
from .modbus.client import BusSettings, ModbusBus, SerialSettings, TcpSettings
from .modbus.poller import DEFAULT_MISSES, BusPoller, CommandError, DeviceSettings, PollResult
from .modbus.profile import DEFAULT_SCAN_INTERVALS, Profile, ProfileError, load_builtin
from .site.readiness import action_name
from .site.readings import Command

_LOGGER = logging.getLogger(__name__)

CONF_DEVICE_ID: Final = "device_id"
CONF_PROFILE: Final = "profile"
CONF_CONNECTION: Final = "connection"
CONF_SERIAL_PORT: Final = "serial_port"
CONF_BAUDRATE: Final = "baudrate"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
CONF_UNIT: Final = "unit"
CONF_COMPONENTS: Final = "components"
CONF_CONTROL_ENABLED: Final = "control_enabled"
CONF_TIMEOUT: Final = "timeout"
CONF_PACING: Final = "pacing"
CONF_MISSES: Final = "misses"

CONNECTION_TCP: Final = "tcp"
CONNECTION_RTU_OVER_TCP: Final = "rtu_over_tcp"
CONNECTION_SERIAL: Final = "serial"
CONNECTIONS: Final = (CONNECTION_TCP, CONNECTION_RTU_OVER_TCP, CONNECTION_SERIAL)

DEFAULT_TCP_PORT: Final = 502
DEFAULT_BAUDRATE: Final = 9600
# Seconds a device gets to answer: a TCP device answers in milliseconds, an RS-485 device at
# 9600 baud needs a quarter second for a long block; slower lines get more.
DEFAULT_TCP_TIMEOUT: Final = 3.0
DEFAULT_SERIAL_TIMEOUT: Final = 1.0
# Reasons a command fails that have their own translated message; others name the error.
_OWN_MESSAGES: Final = frozenset(
    {
        "control_disabled",
        "action_not_supported",
        "write_not_confirmed",
        "command_not_accepted",
        "command_unconfirmed",
    }
)
# Failures of the line or the device, told in the operator's language (the transport's own
# words, in English, go to the log).
_FAILURE_MESSAGES: Final = {"unreachable": "modbus_unreachable"}
_RETRY_AFTER_BUG: Final = 30.0
_STOP_TIMEOUT: Final = 5.0


def bus_settings(data: Mapping[str, Any]) -> BusSettings:
    """The bus a device subentry's data describes."""
    if data[CONF_CONNECTION] == CONNECTION_SERIAL:
        return SerialSettings(
            port=str(data[CONF_SERIAL_PORT]),
            baudrate=int(data.get(CONF_BAUDRATE, DEFAULT_BAUDRATE)),
            parity=str(data.get(CONF_PARITY, "N")),
            stopbits=int(data.get(CONF_STOPBITS, 1)),
        )
    return TcpSettings(
        host=str(data[CONF_HOST]),
        port=int(data.get(CONF_PORT, DEFAULT_TCP_PORT)),
        rtu_over_tcp=data[CONF_CONNECTION] == CONNECTION_RTU_OVER_TCP,
    )


def device_settings(data: Mapping[str, Any], profile: Profile, title: str = "") -> DeviceSettings:
    """The device a subentry's data describes; a blank component id turns that slot off."""
    components = data.get(CONF_COMPONENTS, {})
    timeout = data.get(CONF_TIMEOUT)
    return DeviceSettings(
        id=str(data[CONF_DEVICE_ID]),
        profile=profile,
        unit=int(data.get(CONF_UNIT, 1)),
        components={slot: (str(cid) or None) for slot, cid in components.items()},
        control_enabled=bool(data.get(CONF_CONTROL_ENABLED, False)),
        timeout=float(timeout) if timeout else None,
        # Stored in milliseconds, the unit people who tune RS-485 lines think in.
        pacing=float(data.get(CONF_PACING, 0)) / 1000,
        misses=int(data.get(CONF_MISSES, DEFAULT_MISSES)),
        title=title,
    )


def on_demo_clock(device: DeviceSettings, speed: float) -> DeviceSettings:
    """A device on the demo's clock: each scan group asked `speed` times as often (in storm
    time as often as on a real site), never faster than the profile's fastest group, or than
    the usual fast group (5 s) for a profile that polls only slowly (a tank gauge's 30 s).

    Without it a counter read once a minute lags twenty storm minutes behind at 20×.
    """
    intervals = {**device.profile.scan_intervals, **device.scan_intervals}
    if not intervals:
        return device
    fastest = min(*intervals.values(), DEFAULT_SCAN_INTERVALS["fast"])
    scaled = {group: max(fastest, seconds / speed) for group, seconds in intervals.items()}
    return dataclasses.replace(device, scan_intervals=scaled)


class ModbusHub:
    """Runs the pollers of one site; the coordinator's transport for Modbus components."""

    def __init__(
        self, hass: HomeAssistant, entry: SotConfigEntry, coordinator: SiteCoordinator
    ) -> None:
        """Prepare, without touching any bus yet."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.pollers: list[BusPoller] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._wake: dict[int, asyncio.Event] = {}
        self._online: dict[str, bool] = {}

    async def async_start(self) -> None:
        """Build a poller per bus from the entry's Modbus subentries and start polling."""
        subentries = [
            s for s in self.entry.subentries.values() if s.subentry_type == SUBENTRY_MODBUS
        ]
        issues = self.coordinator.issues
        keys = {str(s.data[CONF_PROFILE]) for s in subentries}
        profiles = await self.hass.async_add_executor_job(_load_profiles, keys)
        unusable: set[str] = set()
        usable: list[tuple[ConfigSubentry, Profile]] = []
        for subentry in subentries:
            key = str(subentry.data[CONF_PROFILE])
            profile = profiles.get(key)
            if isinstance(profile, Profile):
                usable.append((subentry, profile))
                continue
            _LOGGER.error(
                "%s: Modbus device %s uses profile %s, which cannot be used (%s); it is not polled",
                self.coordinator.site_name,
                subentry.title,
                key,
                profile,
            )
            unusable.add(subentry.subentry_id)
            issues.raise_issue(
                Issue(
                    MODBUS_PROFILE_UNUSABLE,
                    subentry.subentry_id,
                    {
                        "site": self.coordinator.site_name,
                        "device": subentry.title,
                        "profile": key,
                        "error": str(profile),
                    },
                    data={"subentry_id": subentry.subentry_id},
                )
            )
        issues.keep_only(MODBUS_PROFILE_UNUSABLE, unusable)
        by_bus: dict[BusSettings, list[DeviceSettings]] = defaultdict(list)
        clock = self.coordinator.clock
        for subentry, profile in self._without_line_conflicts(usable):
            device = device_settings(subentry.data, profile, subentry.title)
            if clock is not None:
                device = on_demo_clock(device, clock.speed)
            by_bus[bus_settings(subentry.data)].append(device)
        # Kept across a reload: a register the device never has is not logged again.
        logged = self.coordinator.carried.modbus_logged
        for number, (settings, devices) in enumerate(by_bus.items(), start=1):
            try:
                poller = BusPoller(
                    settings, devices, logged=logged, online=self.coordinator.site.nodes
                )
            except ValueError as err:
                # Named by its devices: the bus's address is not for logs a user might share.
                _LOGGER.error(
                    "%s: Modbus devices %s cannot be polled: %s",
                    self.coordinator.site_name,
                    _titles(devices),
                    err,
                )
                continue
            self.pollers.append(poller)
            self._read_every(poller)
            self._wake[id(poller)] = asyncio.Event()
            self._tasks.append(
                self.hass.async_create_background_task(
                    self._run(poller), f"{DOMAIN} {self.coordinator.site_id} modbus bus {number}"
                )
            )

    def _read_every(self, poller: BusPoller) -> None:
        """Tell the site how often the bus brings each value: a value read less often than the
        staleness timeout allows is not stale between two reads."""
        clock = self.coordinator.clock
        for key, spans in poller.read_every().items():
            self.coordinator.site.polled[key] = {
                quantity: (
                    timedelta(seconds=seconds)
                    if clock is None
                    else clock.site_span(timedelta(seconds=seconds))
                )
                for quantity, seconds in spans.items()
            }

    def _without_line_conflicts(
        self, devices: list[tuple[ConfigSubentry, Profile]]
    ) -> list[tuple[ConfigSubentry, Profile]]:
        """Devices to poll: on a line whose devices disagree on its settings, the first's.

        One serial port or gateway runs at one speed and framing; two settings for it would
        open it twice and garble both. A repair issue lets the user settle which is right.
        """
        lines: dict[str, list[tuple[ConfigSubentry, Profile]]] = defaultdict(list)
        for subentry, profile in devices:
            lines[bus_settings(subentry.data).name].append((subentry, profile))
        kept: list[tuple[ConfigSubentry, Profile]] = []
        conflicts: set[str] = set()
        for line, on_line in lines.items():
            first = bus_settings(on_line[0][0].data)
            agreeing = [d for d in on_line if bus_settings(d[0].data) == first]
            kept += agreeing
            if len(agreeing) == len(on_line):
                continue
            key = slugify(line)
            conflicts.add(key)
            left_out = [d[0].title for d in on_line if d not in agreeing]
            _LOGGER.error(
                "%s: Modbus devices %s share a line but disagree on its settings; %s not polled",
                self.coordinator.site_name,
                ", ".join(d[0].title for d in on_line),
                ", ".join(left_out),
            )
            self.coordinator.issues.raise_issue(
                Issue(
                    MODBUS_BUS_CONFLICT,
                    key,
                    {
                        "site": self.coordinator.site_name,
                        "bus": line,
                        "devices": ", ".join(d[0].title for d in on_line),
                        "ignored": ", ".join(left_out),
                    },
                    data={"bus": line},
                )
            )
        self.coordinator.issues.keep_only(MODBUS_BUS_CONFLICT, conflicts)
        return kept

    async def async_stop(self) -> None:
        """Stop polling and close every bus."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # A request in flight ends within its timeout; never wait longer than that.
            await asyncio.wait(self._tasks, timeout=_STOP_TIMEOUT)
        self._tasks.clear()
        for poller in self.pollers:
            for key in poller.components:
                self.coordinator.site.polled.pop(key, None)
            await poller.close()

    def owns(self, kind: str, component_id: str) -> bool:
        """Whether a Modbus device feeds (kind, id), so its commands go to that device."""
        pollers = self.pollers
        return bool(pollers) and any(poller.owns(kind, component_id) for poller in pollers)

    async def command(self, command: Command) -> None:
        """Carry out `command` on the device that feeds the component."""
        for poller in self.pollers:
            if poller.owns(command.kind, command.id):
                try:
                    await poller.execute(command)
                except CommandError as err:
                    own = err.reason in _OWN_MESSAGES
                    if not own:
                        _LOGGER.info(
                            "%s: command %s to %s/%s failed: %s",
                            self.coordinator.site_name,
                            command.action,
                            command.kind,
                            command.id,
                            err,
                        )
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key=(
                            err.reason
                            if own
                            else _FAILURE_MESSAGES.get(err.reason, "command_failed")
                        ),
                        translation_placeholders={
                            "component": self.coordinator.component_name(command.kind, command.id),
                            "site": self.coordinator.site_name,
                            "action": action_name(command.action, self.hass.config.language),
                            "device": poller.node_of(command.kind, command.id) or "",
                            "error": str(err),
                        },
                    ) from err
                # Read the result back now rather than at the next interval.
                self._wake[id(poller)].set()
                return
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={
                "component": self.coordinator.component_name(command.kind, command.id),
                "site": self.coordinator.site_name,
                "error": "no Modbus device",
            },
        )

    def bus_for(self, settings: BusSettings) -> ModbusBus | None:
        """The open bus of that gateway or serial line, if the site already polls it."""
        for poller in self.pollers:
            if poller.bus.settings == settings:
                return poller.bus
        return None

    def actions(self, kind: str, component_id: str) -> frozenset[str]:
        """Generator commands offered as entities (none until control is turned on per device)."""
        for poller in self.pollers:
            if poller.owns(kind, component_id):
                return poller.actions(kind, component_id)
        return frozenset()

    def diagnostics(self) -> dict[str, Any]:
        """Each bus's plan, counters and problems."""
        return {"modbus_buses": [poller.diagnostics() for poller in self.pollers]}

    async def _run(self, poller: BusPoller) -> None:
        wake = self._wake[id(poller)]
        while True:
            wake.clear()
            try:
                result = await poller.poll(self.coordinator.now())
            except Exception:
                # A bug must not silently end the bus's polling for good. Every Modbus failure
                # is handled in the poller; only a bug of ours ends up here.
                _LOGGER.exception(
                    "%s: polling Modbus devices %s failed",
                    self.coordinator.site_name,
                    _titles(poller.devices),
                )
                await asyncio.sleep(_RETRY_AFTER_BUG)
                continue
            self._deliver(result)
            try:
                async with asyncio.timeout(poller.seconds_to_next_poll()):
                    await wake.wait()
            except TimeoutError:
                pass

    def _deliver(self, result: PollResult) -> None:
        coordinator = self.coordinator
        for status in result.statuses:
            # Statuses come with every poll; the site only needs to hear about changes.
            if self._online.get(status.node) is not status.online:
                self._online[status.node] = status.online
                coordinator.async_node_status(status.node, status.online)
        for node, (readings, rejections) in result.by_node.items():
            coordinator.async_readings(node, readings, rejections)


def _titles(devices: list[DeviceSettings]) -> str:
    return ", ".join(device.title or device.id for device in devices)


def _load_profiles(keys: set[str]) -> dict[str, Profile | str]:
    """Each profile, or why it cannot be used."""
    profiles: dict[str, Profile | str] = {}
    for key in keys:
        try:
            profiles[key] = load_builtin(key)
        except ProfileError as err:
            profiles[key] = str(err)
    return profiles
