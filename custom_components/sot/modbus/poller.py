"""Polling a bus of devices into readings, and carrying commands back to them.

Each device reads its profile's fields in planned blocks, each scan group on its own interval.
A poll of a device either brings its values or is a miss, whatever went wrong: the connection
refused or lost, no answer, only exception answers, a garbled frame. A miss passes on nothing,
not even what the poll read before it failed. After the device's number of misses in a row it
goes offline (a NodeStatus, like an MQTT node's last will), logged once; one miss among good
polls changes nothing anyone sees. A device that refuses a block across a gap in its register
map gets that block split; a register it does not have at all is dropped from the plan and
reported once.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ..mqtt.topics import ID_PATTERN
from ..site.readings import Command, NodeStatus, Reading, Rejection, RejectReason
from ..site.values import ValueRejected
from ..site.vocabulary import Kind
from .client import (
    EXCEPTION_NAMES,
    ILLEGAL_ADDRESS,
    ILLEGAL_FUNCTION,
    BusError,
    BusSettings,
    DeviceRefused,
    ModbusBus,
    NoResponse,
    Pace,
)
from .decode import decode
from .planner import Block, plan, split
from .profile import MAX_SCAN_INTERVAL, CommandSpec, Confirmation, Field, Profile, Requirement

_LOGGER = logging.getLogger(__name__)

# Exception codes meaning "this device has no such register", as opposed to a passing fault.
_NOT_THERE: Final = frozenset({ILLEGAL_ADDRESS, ILLEGAL_FUNCTION})
MAX_UNIT: Final = 247
# The generator commands that become buttons and the mode select.
GENERATOR_ACTIONS: Final = frozenset({"start", "stop", "mode_auto", "mode_manual"})
# A register the device refused is asked again after this long: firmware updates and
# controllers that only serve a page once the engine has been started do happen.
QUARANTINE_SECONDS: Final = 3600.0
_SWITCHED: Final = {"turn_on": True, "turn_off": False}
# An unreachable device is asked again after its fastest interval, then twice as long after
# each further failure, up to this: a dead unit must not eat a shared line's time.
BACKOFF_CAP_SECONDS: Final = 60.0
# Polls in a row without an answer before a device counts as offline: one lost answer on a
# busy RS-485 line or a gateway's hiccup is not an outage, and must raise no alarm.
DEFAULT_MISSES: Final = 3
MAX_MISSES: Final = 10


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceSettings:
    """One device on a bus: its profile, unit id and which components it feeds."""

    id: str
    profile: Profile
    unit: int = 1
    # Slot -> component id; a slot left out gets the profile's default id, None turns it off.
    components: Mapping[str, str | None] = field(default_factory=dict)
    # Scan group -> seconds, overriding the profile's intervals.
    scan_intervals: Mapping[str, float] = field(default_factory=dict)
    # Starting, stopping or switching the mode of a generator is refused unless turned on;
    # switching a load (a relay module) is always allowed.
    control_enabled: bool = False
    # Seconds to wait for an answer (None: the bus's default) and seconds of quiet before each
    # request, for slow RS-485 devices.
    timeout: float | None = None
    pacing: float = 0.0
    # Polls in a row without an answer before the device is shown offline.
    misses: int = DEFAULT_MISSES
    # How logs name the device (its title in Home Assistant); the id when empty.
    title: str = ""


class CommandError(Exception):
    """A command that could not be carried out; `reason` is a stable word for translations."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(slots=True)
class PollResult:
    """What one poll of a bus produced, also sorted by the device (node) it came from."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    statuses: list[NodeStatus] = field(default_factory=list)
    by_node: dict[str, tuple[list[Reading], list[Rejection]]] = field(default_factory=dict)

    def add_reading(self, node: str, reading: Reading) -> None:
        """Record a reading of device `node`."""
        self.readings.append(reading)
        self.by_node.setdefault(node, ([], []))[0].append(reading)

    def add_rejection(self, node: str, rejection: Rejection) -> None:
        """Record a value of device `node` that was refused."""
        self.rejections.append(rejection)
        self.by_node.setdefault(node, ([], []))[1].append(rejection)


class _Device:
    """A device's plan and state between polls."""

    def __init__(self, settings: DeviceSettings) -> None:
        self.settings = settings
        profile = settings.profile
        self.ids: dict[str, str] = {}
        for slot in profile.slots:
            component = settings.components.get(slot, profile.default_component_id(slot))
            if component is not None:
                self.ids[slot] = component
        self.intervals = {**profile.scan_intervals, **settings.scan_intervals}
        self.pace = Pace(timeout=settings.timeout, pacing=settings.pacing)
        # Label -> (field, when to ask for it again) of registers the device refused.
        self.quarantined: dict[str, tuple[Field, float]] = {}
        self.plans: dict[str, list[Block]] = {}
        for group in self.intervals:
            if self.fields(group):
                self.replan(group)
        self.due: dict[str, float] = dict.fromkeys(self.plans, 0.0)
        self.online: bool | None = None
        # Polls in a row the device was silent while its bus was up.
        self.silent_polls = 0
        # Polls in a row that failed for any reason; sets the backoff.
        self.failures = 0
        self.split_blocks = 0
        self.errors: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.logged: set[str] = set()
        # Why the last miss happened, for diagnostics.
        self.last_miss: str | None = None
        self.last_poll: datetime | None = None
        self.last_poll_ms: float | None = None
        self.requests_last_poll = 0

    def fields(self, group: str) -> list[Field]:
        """The fields of a scan group that feed a component and are not quarantined."""
        return [
            f
            for f in self.settings.profile.fields
            if f.scan == group and f.slot in self.ids and f.label not in self.quarantined
        ]

    def replan(self, group: str) -> None:
        profile = self.settings.profile
        self.plans[group] = plan(
            self.fields(group),
            max_registers=profile.max_registers,
            max_bits=profile.max_bits,
            max_gap=profile.max_gap,
        )

    def release(self, tick: float) -> None:
        """Put refused registers whose quarantine is over back into the plan."""
        over = [label for label, (_, until) in self.quarantined.items() if until <= tick]
        groups = {self.quarantined.pop(label)[0].scan for label in over}
        for group in groups:
            self.replan(group)

    @property
    def source(self) -> str:
        """How rejections name this device."""
        return f"modbus {self.settings.id}"

    @property
    def name(self) -> str:
        """How logs name this device: its title, never its bus's address."""
        return self.settings.title or self.settings.id

    def fastest(self) -> float:
        """The shortest interval of its scan groups."""
        return min((self.intervals[group] for group in self.due), default=MAX_SCAN_INTERVAL)

    def component(self, slot: str) -> tuple[str, str]:
        return self.settings.profile.slots[slot].value, self.ids[slot]


class BusPoller:
    """Polls every device on one bus; the only code that talks to that bus."""

    def __init__(
        self,
        settings: BusSettings,
        devices: Sequence[DeviceSettings],
        *,
        clock: Callable[[], float] = time.monotonic,
        bus: ModbusBus | None = None,
        logged: dict[str, set[str]] | None = None,
        online: Mapping[str, bool] | None = None,
    ) -> None:
        # A bus already in use (a test read while the site polls the same line) is shared:
        # its lock keeps the two from talking over each other, and it stays open afterwards.
        self.bus = bus or ModbusBus(settings)
        self._owns_bus = bus is None
        self._clock = clock
        self._devices = [_Device(device) for device in devices]
        if logged is not None:
            # The registers each device refused that were logged already, kept by the caller
            # past this poller: a site restarted by a reload does not log them again.
            for device in self._devices:
                device.logged = logged.setdefault(device.settings.id, set())
        known = online or {}
        for device in self._devices:
            # As the site last knew it (a reload): a device still silent is not logged going
            # offline again, and one that answers again is logged back.
            device.online = known.get(device.settings.id)
        self._owners: dict[tuple[str, str], tuple[_Device, str]] = {}
        seen_ids: set[str] = set()
        seen_units: set[int] = set()
        for device in self._devices:
            device_id, unit = device.settings.id, device.settings.unit
            if not ID_PATTERN.match(device_id) or device_id in seen_ids:
                raise ValueError(f"device id {device_id!r} is not a unique id")
            # Unit 0 is broadcast: nothing answers it, so nothing can be polled there.
            if not 1 <= unit <= MAX_UNIT or unit in seen_units:
                raise ValueError(f"unit {unit} of {device_id} is not a unique unit id 1..247")
            if not 1 <= device.settings.misses <= MAX_MISSES:
                raise ValueError(f"misses of {device_id} must be 1..{MAX_MISSES}")
            seen_ids.add(device_id)
            seen_units.add(unit)
            for slot, component_id in device.ids.items():
                if not ID_PATTERN.match(component_id):
                    raise ValueError(f"{device_id}: component id {component_id!r} is not an id")
                key = device.component(slot)
                if key in self._owners:
                    raise ValueError(f"{key[0]}/{key[1]} is fed by two devices")
                self._owners[key] = (device, slot)

    @property
    def devices(self) -> list[DeviceSettings]:
        """The settings of the devices on this bus."""
        return [device.settings for device in self._devices]

    @property
    def components(self) -> list[tuple[str, str]]:
        """Every (kind, id) this bus feeds."""
        return list(self._owners)

    def owns(self, kind: str, component_id: str) -> bool:
        """Whether commands for this component are routed to this bus."""
        return (kind, component_id) in self._owners

    def node_of(self, kind: str, component_id: str) -> str | None:
        """The device (node) whose availability the component follows."""
        owner = self._owners.get((kind, component_id))
        return owner[0].settings.id if owner else None

    def actions(self, kind: str, component_id: str) -> frozenset[str]:
        """Generator commands the owning device has, when its control is turned on."""
        owner = self._owners.get((kind, component_id))
        if owner is None or not owner[0].settings.control_enabled:
            return frozenset()
        device, slot = owner
        return frozenset(
            spec.action
            for spec in device.settings.profile.commands
            if spec.slot == slot and spec.action in GENERATOR_ACTIONS
        )

    def read_every(self) -> dict[tuple[str, str], dict[str, float]]:
        """(kind, id) -> quantity -> seconds within which a value comes again while all is well.

        Twice the time between two reads of it (its scan group's interval; for a value the
        device's silence means, its slowest retry while offline) and its answer timeout: one
        lost answer, or a slow neighbour on the line, does not leave it older than that.
        """
        spans: dict[tuple[str, str], dict[str, float]] = {}
        for device in self._devices:
            pace = device.pace.timeout
            timeout = self.bus.settings.timeout if pace is None else pace
            read: list[tuple[str, str, float]] = [
                (f.slot, f.quantity, device.intervals[f.scan])
                for f in device.settings.profile.fields
                if f.slot in device.ids and f.scan in device.intervals
            ]
            retry = max(device.fastest(), BACKOFF_CAP_SECONDS)
            read += [(v.slot, v.quantity, retry) for v in device.settings.profile.when_silent]
            for slot, quantity, every in read:
                if slot in device.ids:
                    own = spans.setdefault(device.component(slot), {})
                    own[quantity] = max(own.get(quantity, 0.0), 2 * every + timeout)
        return spans

    def seconds_to_next_poll(self) -> float:
        """How long until some scan group is due (0 when one is due now)."""
        dues = [at for device in self._devices for at in device.due.values()]
        if not dues:
            return MAX_SCAN_INTERVAL
        return max(0.0, min(dues) - self._clock())

    async def poll(self, now: datetime) -> PollResult:
        """Read every scan group that is due, on every device."""
        result = PollResult()
        tick = self._clock()
        bus_down: BusError | None = None
        for device in self._devices:
            due = [group for group, at in device.due.items() if at <= tick]
            if not due:
                continue
            for group in due:
                device.due[group] = tick + device.intervals[group]
            if bus_down is not None:
                # The connection just failed for a neighbour: no need to wait for it again.
                self._missed(device, due, now, result, "connection", str(bus_down), silent=False)
                continue
            device.release(tick)
            started, asked = time.monotonic(), self.bus.requests
            # What this poll of the device brings is passed on only if the poll succeeds.
            polled = PollResult()
            try:
                await self._poll_device(device, due, now, polled)
            except BusError as err:
                bus_down = err
                self._missed(device, due, now, result, "connection", str(err), silent=False)
            except NoResponse as err:
                self._missed(device, due, now, result, "timeout", str(err), silent=True)
            except _OnlyRefusals as err:
                self._missed(device, due, now, result, None, str(err), silent=False)
            else:
                self._answered(device, now, result, polled)
            device.last_poll = now
            device.last_poll_ms = round((time.monotonic() - started) * 1000, 1)
            device.requests_last_poll = self.bus.requests - asked
        return result

    async def execute(self, command: Command) -> None:
        """Carry out a command on the device that owns the component, and confirm it."""
        owner = self._owners.get((command.kind, command.id))
        if owner is None:
            raise CommandError(
                "unknown_component", f"no Modbus device feeds {command.kind}/{command.id}"
            )
        device, slot = owner
        spec = device.settings.profile.command(slot, command.action)
        if spec is None:
            raise CommandError(
                "action_not_supported",
                f"{device.settings.profile.name} has no {command.action!r} for {slot}",
            )
        if device.settings.profile.slots[slot] is not Kind.LOAD and not (
            device.settings.control_enabled
        ):
            raise CommandError(
                "control_disabled",
                f"control of {device.settings.id} is turned off in its settings",
            )
        unit = device.settings.unit
        try:
            if spec.requires is not None and not await self._supported(device, spec.requires):
                raise CommandError(
                    "action_not_supported",
                    f"{device.settings.id} reports that it does not support {command.action}",
                )
            for write in spec.writes:
                await self.bus.write(unit, write, device.pace)
        except (BusError, NoResponse) as err:
            raise CommandError("unreachable", f"{device.settings.id}: {err}") from None
        except DeviceRefused as err:
            raise CommandError("refused", f"{device.settings.id} refused: {err}") from None
        try:
            await self._confirm(device, slot, spec)
        except (BusError, NoResponse, DeviceRefused) as err:
            # The write went out; whether it took effect cannot be told.
            raise CommandError("command_unconfirmed", f"{device.settings.id}: {err}") from None
        finally:
            # Read the component back on the next poll rather than waiting out its interval.
            for group, blocks in device.plans.items():
                if any(f.slot == slot for block in blocks for f in block.fields):
                    device.due[group] = 0.0

    async def _confirm(self, device: _Device, slot: str, spec: CommandSpec) -> None:
        """Read back what the command should have changed; raise when it did not.

        A profile's own `confirm` read comes first (ComAp's command return value, a remote start
        coil); a switched load is read back through its state register. A command with neither
        is confirmed by the device's answer to the write itself (GenComm answers a control key
        it will not carry out with an exception).
        """
        if spec.confirm is not None:
            await self._confirm_read(device, spec, spec.confirm)
            return
        wanted = _SWITCHED.get(spec.action)
        state = next(
            (f for f in device.settings.profile.fields if f.slot == slot and f.quantity == "state"),
            None,
        )
        if wanted is None or state is None:
            return
        units = await self.bus.read(
            device.settings.unit, state.function, state.address, state.width, device.pace
        )
        try:
            value = decode(state, units)
        except ValueRejected as err:
            raise CommandError("write_not_confirmed", f"{device.settings.id}: {err}") from None
        if value is not wanted:
            raise CommandError(
                "write_not_confirmed",
                f"{device.settings.id}: {state.label} reads {'on' if value else 'off'} "
                f"after {spec.action}",
            )

    async def _confirm_read(
        self, device: _Device, spec: CommandSpec, confirm: Confirmation
    ) -> None:
        wanted: list[int] | list[bool] = (
            [bool(confirm.state)] if confirm.function.is_bit else list(confirm.values)
        )
        got = await self.bus.read(
            device.settings.unit, confirm.function, confirm.address, len(wanted), device.pace
        )
        if list(got) == wanted:
            return
        if confirm.function.is_bit:
            shown, meaning = ("on" if got[0] else "off"), None
        else:
            shown = " ".join(f"0x{int(word):04X}" for word in got)
            meaning = confirm.answers.get(_joined(got))
        raise CommandError(
            "command_not_accepted",
            f"{device.settings.id} reads {shown} at {confirm.function.value} {confirm.address}"
            + (f" ({meaning})" if meaning else "")
            + f" after {spec.action}",
        )

    async def _supported(self, device: _Device, requirement: Requirement) -> bool:
        """Whether the device has set the bit that says it supports a command."""
        (word,) = await self.bus.read(
            device.settings.unit, requirement.function, requirement.address, 1, device.pace
        )
        if requirement.bit is None:
            return bool(word)
        return bool(int(word) >> requirement.bit & 1)

    async def close(self) -> None:
        """Close the bus connection, unless it was lent by another poller."""
        if self._owns_bus:
            await self.bus.close()

    def diagnostics(self) -> dict[str, Any]:
        """Plan, request counts and problems, for the integration's diagnostics."""
        return {
            # The kind of connection only: its address says where the site's equipment is.
            "connection": self.bus.settings.kind,
            "connected": self.bus.connected,
            "connects": self.bus.connects,
            "requests": self.bus.requests,
            "failures": self.bus.failures,
            "devices": [
                {
                    "id": device.settings.id,
                    "profile": device.settings.profile.key,
                    "unit": device.settings.unit,
                    "online": device.online,
                    "failures_in_a_row": device.failures,
                    "misses_before_offline": device.settings.misses,
                    "last_miss": device.last_miss,
                    "control_enabled": device.settings.control_enabled,
                    "timeout_s": device.pace.timeout,
                    "pacing_s": device.pace.pacing,
                    "last_poll": device.last_poll.isoformat() if device.last_poll else None,
                    "last_poll_ms": device.last_poll_ms,
                    "requests_per_poll": device.requests_last_poll,
                    "errors": dict(device.errors),
                    "rejected": dict(device.rejected),
                    "blocks": {
                        group: [f"{b.function.value} {b.start}+{b.count}" for b in blocks]
                        for group, blocks in device.plans.items()
                    },
                    "split_blocks": device.split_blocks,
                    "quarantined": {
                        label: round(max(0.0, until - self._clock()))
                        for label, (_, until) in device.quarantined.items()
                    },
                }
                for device in self._devices
            ],
        }

    async def _poll_device(
        self, device: _Device, groups: list[str], now: datetime, result: PollResult
    ) -> None:
        """Read the due groups of one device; BusError, NoResponse and _OnlyRefusals escape."""
        answered = False
        refusals: list[DeviceRefused] = []
        for group in groups:
            blocks = list(device.plans.get(group, ()))
            while blocks:
                block = blocks.pop(0)
                try:
                    values = await self.bus.read(
                        device.settings.unit, block.function, block.start, block.count, device.pace
                    )
                except DeviceRefused as err:
                    device.errors[_error_kind(err.code)] += 1
                    if err.code in _NOT_THERE:
                        # The map's shape, not a fault: the device is there and answering.
                        answered = True
                    else:
                        refusals.append(err)
                    blocks[:0] = self._refused(device, group, block, err, result)
                    continue
                answered = True
                self._decode(device, block, values, now, result)
        if refusals and not answered:
            # Exception answers and nothing else ("device failure", "busy"): no values.
            raise _OnlyRefusals(f"answers only with exceptions ({refusals[-1]})")

    def _answered(
        self, device: _Device, now: datetime, result: PollResult, polled: PollResult
    ) -> None:
        """A good poll: its values go out, and the device is online."""
        device.silent_polls = 0
        device.failures = 0
        self._set_online(device, True, now, result, "")
        for node, (readings, rejections) in polled.by_node.items():
            for reading in readings:
                result.add_reading(node, reading)
            for rejection in rejections:
                result.add_rejection(node, rejection)

    def _missed(
        self,
        device: _Device,
        groups: list[str],
        now: datetime,
        result: PollResult,
        kind: str | None,
        why: str,
        *,
        silent: bool,
    ) -> None:
        """A poll that brought nothing; `silent` when the bus works and only the device is mute.

        Below the device's number of misses nothing is passed on at all (not even a status):
        its earlier values age as they would between polls. At that number it goes offline.
        """
        if kind is not None:
            device.errors[kind] += 1
        device.failures += 1
        device.silent_polls = device.silent_polls + 1 if silent else 0
        device.last_miss = why
        misses = device.settings.misses
        fastest = device.fastest()
        if device.failures < misses:
            _LOGGER.debug(
                "%s missed a poll (%d of %d before offline): %s",
                device.name,
                device.failures,
                misses,
                why,
            )
            # Asked again on its fastest interval, so a passing miss costs one interval.
            retry = self._clock() + fastest
            for group in groups:
                device.due[group] = retry
            return
        self._set_online(device, False, now, result, why)
        # A lost connection says nothing about the device, and one timeout may be the bus
        # dying: only silence in a row, on a bus that answered a reconnect, means anything.
        meanings = device.settings.profile.when_silent if device.silent_polls >= 2 else ()
        for silent_value in meanings:
            if silent_value.slot in device.ids:
                kind_, component_id = device.component(silent_value.slot)
                result.add_reading(
                    device.settings.id,
                    Reading(kind_, component_id, silent_value.quantity, silent_value.value, now),
                )
        # An offline device is retried on its fastest interval, backing off to once a minute.
        over = device.failures - misses
        wait = min(fastest * 2**over, max(fastest, BACKOFF_CAP_SECONDS))
        retry = self._clock() + wait
        for group in device.due:
            device.due[group] = retry

    def _refused(
        self,
        device: _Device,
        group: str,
        block: Block,
        err: DeviceRefused,
        result: PollResult,
    ) -> list[Block]:
        """Handle an exception answer; return the blocks to read instead, now."""
        if err.code not in _NOT_THERE:
            for item in block.fields:
                result.add_rejection(
                    device.settings.id,
                    Rejection(
                        RejectReason.DEVICE_ERROR,
                        device.source,
                        f"{item.label}: {err}",
                        (*device.component(item.slot), item.quantity),
                    ),
                )
            return []
        plan_ = device.plans[group]
        pieces = split(block)
        if len(pieces) > 1:
            index = plan_.index(block)
            plan_[index : index + 1] = pieces
            device.split_blocks += 1
            _LOGGER.info(
                "%s refused %s %d+%d (%s); reading its values one by one",
                device.name,
                block.function.value,
                block.start,
                block.count,
                err,
            )
            return pieces
        plan_.remove(block)
        retry_at = self._clock() + QUARANTINE_SECONDS
        for item in block.fields:
            device.quarantined[item.label] = (item, retry_at)
            # Logged once: the hourly retry of a register the device never has is not news.
            log = _LOGGER.debug if item.label in device.logged else _LOGGER.warning
            device.logged.add(item.label)
            log(
                "%s has no %s (%s); it is asked again in an hour",
                device.name,
                item.label,
                err,
            )
            result.add_rejection(
                device.settings.id,
                Rejection(
                    RejectReason.DEVICE_ERROR,
                    device.source,
                    f"{item.label}: not supported by the device ({err})",
                    (*device.component(item.slot), item.quantity),
                ),
            )
        return []

    def _decode(
        self,
        device: _Device,
        block: Block,
        values: list[int] | list[bool],
        now: datetime,
        result: PollResult,
    ) -> None:
        for item in block.fields:
            kind, component_id = device.component(item.slot)
            try:
                value = decode(item, block.units(values, item))
            except ValueRejected as err:
                device.rejected[err.reason.value] += 1
                result.add_rejection(
                    device.settings.id,
                    Rejection(
                        err.reason,
                        device.source,
                        str(err),
                        (kind, component_id, item.quantity),
                    ),
                )
                continue
            result.add_reading(
                device.settings.id, Reading(kind, component_id, item.quantity, value, now)
            )

    def _set_online(
        self, device: _Device, online: bool, now: datetime, result: PollResult, why: str
    ) -> None:
        if device.online is not online:
            if online and device.online is False:
                _LOGGER.info("%s answers again", device.name)
            elif not online:
                # The one line of an outage, at info like its end (Home Assistant's
                # log-when-unavailable): no traceback, no frames, no address.
                _LOGGER.info(
                    "%s does not answer (%d polls in a row); shown offline: %s",
                    device.name,
                    device.failures,
                    why,
                )
        device.online = online
        result.statuses.append(NodeStatus(device.settings.id, online, now))


class _OnlyRefusals(Exception):
    """A device answered a whole poll with exception codes only: a miss, like silence."""


def _joined(words: Sequence[int] | Sequence[bool]) -> int:
    """Registers read as one unsigned number, high word first."""
    value = 0
    for word in words:
        value = value << 16 | (int(word) & 0xFFFF)
    return value


def _error_kind(code: int) -> str:
    """A stable word for a Modbus exception code, for diagnostics."""
    return EXCEPTION_NAMES.get(code, f"exception {code}").replace(" ", "_")
