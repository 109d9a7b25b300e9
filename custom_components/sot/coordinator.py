"""The site coordinator: MQTT and Modbus in, the site model in the middle, entities out."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .alarm_ledger import AlarmLedger
from .cold_chain import coldchain_store, restore_records
from .const import (
    COMMAND_QOS,
    CONF_ALARM_DELAY,
    CONF_BASE_TOPIC,
    CONF_COUNTY_BRIDGE,
    CONF_FREEZER_CRITICAL,
    CONF_FREEZER_WARNING,
    CONF_FUEL_LOW_HOURS,
    CONF_GENERATOR_RATING,
    CONF_GRID_VOLTAGE,
    CONF_READINESS_FUEL_HOURS,
    CONF_ROOM_TEMPERATURE,
    CONF_SERVICE_DUE_DATE,
    CONF_SERVICE_DUE_HOURS,
    CONF_SILENT_AFTER,
    CONF_SITE_ID,
    CONF_STALE_TIMEOUT,
    CONF_TANK_CAPACITY,
    CONF_TANK_RESERVE,
    DEFAULT_OPTIONS,
    DOMAIN,
    STORAGE_VERSION,
    TICK_SECONDS,
)
from .issues import (
    GENERATOR_NOT_EXERCISED,
    SITE_SILENT,
    Issue,
    SiteIssues,
    async_show_damaged_state,
)
from .mqtt.topics import (
    TIME_KEY,
    bridge_topic,
    command_payload,
    command_topic,
    component_topic,
    parse_message,
    public_topic,
    settings_topic,
    subscription,
)
from .refusals import RefusalLog, Verdict
from .site import readiness
from .site.demo_clock import DemoClock
from .site.model import Component, Settings, Site, SiteEvent
from .site.public import Notice, notice
from .site.readings import Command, NodeStatus, Reading, Rejection, RejectReason
from .site.vocabulary import Kind
from .site_settings import merged_options, parse_settings

_LOGGER = logging.getLogger(__name__)
# A sensor's "no reading" (NaN, a probe's error value) is refused like any bad value: the last
# good value stays until it is stale, so one glitch of a probe does not blank a freezer, and a
# value that would stay live past that (a state word) is live at most one timeout longer.
# A Modbus device's exception answer for a register counts as its "no reading".
NO_READING = frozenset(
    {RejectReason.NO_READING, RejectReason.NOT_FINITE, RejectReason.DEVICE_ERROR}
)
# The site's state is saved at most this long after it changed, and never when it did not: a
# save put off again by every new message would never happen on a busy site, and a save on a
# timer would write an idle site's SD card 1,440 times a day. Home Assistant writes a pending
# save when it stops, so a clean stop loses nothing.
SAVE_DELAY = 60
# An alarm (and what raised it) is saved at once: a kill in the second after it lost the outage
# it began, and the alarm was raised a second time after the restart.
EVENT_SAVE_DELAY = 0
# At most this many alarms are held for a listener to come (a disabled alarm entity never does).
HELD_EVENTS = 50
RECENT_REJECTIONS = 20
# What each site keeps across a reload while Home Assistant runs on, by entry id (`Carried`).
CARRIED = f"{DOMAIN}_carried"
# A switch command is for now: it expires this long after it is sent, and a relay refuses it
# after that (the time is in its payload, docs/mqtt.md#commands), so a command the operator was
# told had failed is never carried out later, after a link loss queued it.
COMMAND_LIFETIME = 10
# How long a site reached through a county bridge waits for the bridge's retained notification
# before its values count as live without one (s).
BRIDGE_WAIT = 10.0
# How long past its expiry the relay's echo may take to come back, from a relay that carried the
# command out at its last moment; without an echo by then the command is reported expired.
COMMAND_ECHO_GRACE = 2
# What a Modbus device read, put on the site's broker for a county bridge to carry: at QoS 0 as
# the nodes publish (the bridge queues it at QoS 1), and the last so many messages recognised
# when the site's own subscription brings them back.
RELAY_QOS = 0
RELAYED_KEPT = 256
_ECHOED: Final = {"turn_on": True, "turn_off": False}
# What is worked out from readings (a component's derived figures: a freezer's status and
# countdowns, a generator's states and counters; the site's: power source, fuel runtime,
# services, readiness) is worked out at once for the first reading, then at most this often
# while readings keep coming (a busy gateway, a bridge replaying its queue): at hundreds of
# readings a second, re-working them for each would cost far more than the readings, to show
# the same. Alarms, node status, refused values and a change of power source are never held.
REFRESH_INTERVAL = 1.0
# A quantity no reading has (a topic level holds no "/"): its listeners hear only of changes of
# their component as a whole (a meta, a node's status).
WHOLE_ONLY: Final = "/"
# Readings of these kinds can change where the site's power comes from (with time, which the
# tick follows, and a node's status).
_POWER_SOURCE_KINDS = frozenset({Kind.GRID, Kind.GENERATOR})
# Readings of these kinds can change the site-wide figures (power source, fuel runtime ...).
_SITE_WIDE_KINDS = frozenset(
    {Kind.GRID, Kind.GENERATOR, Kind.TANK, Kind.LOAD, Kind.STATION, Kind.NETWORK, Kind.ROOM}
)

type SotConfigEntry = ConfigEntry[SiteCoordinator]


class CommandStatus(StrEnum):
    """Where the last switch command to a load stands, shown on its switch."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    FAILED = "failed"


@dataclass(slots=True)
class SentCommand:
    """The last switch command sent to a load over MQTT."""

    state: bool
    sent: datetime
    expires: datetime
    status: CommandStatus = CommandStatus.PENDING

    def status_at(self, now: datetime) -> CommandStatus:
        """Its status; a command still pending past its echo's grace has expired all the same."""
        if self.status is CommandStatus.PENDING and now > self.expires + timedelta(
            seconds=COMMAND_ECHO_GRACE
        ):
            return CommandStatus.EXPIRED
        return self.status


@dataclass(slots=True)
class Carried:
    """What a site keeps across a reload while Home Assistant runs on; nothing of it is saved,
    and it goes when the site is deleted.

    - the refusal log: retained garbage, delivered again at every subscription, is not logged
      again;
    - switch commands waiting for their relay's echo, (kind, id) -> [(state, future)], and the
      last command sent to each load: an echo after the reload still confirms the command (the
      operator is not told it expired when the relay carried it out);
    - each generator's integration time (`GeneratorRun.integrated_to`), handed to the site
      started again: a reload leaves out no running time, energy or fuel (across a restart the
      gap is not guessed);
    - the Modbus registers already logged as missing, by device id.
    """

    refusals: RefusalLog = field(default_factory=RefusalLog)
    echoes: dict[tuple[str, str], list[tuple[bool, asyncio.Future[None]]]] = field(
        default_factory=dict
    )
    sent_commands: dict[tuple[str, str], SentCommand] = field(default_factory=dict)
    integrated_to: dict[str, datetime] = field(default_factory=dict)
    modbus_logged: dict[str, set[str]] = field(default_factory=dict)


def carried(hass: HomeAssistant, entry_id: str) -> Carried:
    """The site's `Carried`, made on first use."""
    sites: dict[str, Carried] = hass.data.setdefault(CARRIED, {})
    return sites.setdefault(entry_id, Carried())


class Transport(Protocol):
    """A transport other than MQTT (the Modbus hub) that owns some components."""

    def owns(self, kind: str, component_id: str) -> bool:
        """Whether commands for (kind, id) go through this transport."""

    async def command(self, command: Command) -> None:
        """Carry out `command`; raise HomeAssistantError with a translation when it fails."""

    def actions(self, kind: str, component_id: str) -> frozenset[str]:
        """The commands (kind, id) accepts through this transport, beyond switching a load."""

    def diagnostics(self) -> dict[str, Any]:
        """Health of the transport's devices."""


def settings_from_options(options: dict[str, Any]) -> Settings:
    """The model's settings from a config entry's options (defaults for what is missing)."""
    merged = {**DEFAULT_OPTIONS, **options}
    return Settings(
        tank_capacity=float(merged[CONF_TANK_CAPACITY]),
        tank_reserve=float(merged[CONF_TANK_RESERVE]),
        generator_rating=float(merged[CONF_GENERATOR_RATING]),
        freezer_warning=float(merged[CONF_FREEZER_WARNING]),
        freezer_critical=float(merged[CONF_FREEZER_CRITICAL]),
        alarm_delay=timedelta(minutes=float(merged[CONF_ALARM_DELAY])),
        stale_timeout=timedelta(seconds=float(merged[CONF_STALE_TIMEOUT])),
        fuel_low_hours=float(merged[CONF_FUEL_LOW_HOURS]),
        room_temperature=float(merged[CONF_ROOM_TEMPERATURE]),
        silent_after=timedelta(minutes=float(merged[CONF_SILENT_AFTER])),
        grid_voltage=float(merged[CONF_GRID_VOLTAGE]),
        readiness_fuel_hours=float(merged[CONF_READINESS_FUEL_HOURS]),
        service_due_hours=float(merged[CONF_SERVICE_DUE_HOURS]),
        service_due_date=_date(merged.get(CONF_SERVICE_DUE_DATE)),
        county_bridge=bool(merged[CONF_COUNTY_BRIDGE]),
    )


def _date(value: Any) -> date | None:
    """A date option (`2026-12-01`); None when not set."""
    return date.fromisoformat(str(value)) if value else None


def demo_clock(entry: ConfigEntry) -> DemoClock | None:
    """The demo clock the entry's data holds (only the demo writes one); None: the wall clock."""
    try:
        return DemoClock.from_data(entry.data)
    except ValueError as err:
        _LOGGER.warning("%s: %s; the site keeps the wall clock's time", entry.title, err)
        return None


def settings_snapshot(entry: ConfigEntry) -> tuple[Any, ...]:
    """What a running site was started with: a change in it needs a restart of the site."""
    return (
        dict(entry.data),
        dict(entry.options),
        {key: (sub.subentry_type, dict(sub.data)) for key, sub in entry.subentries.items()},
    )


class SiteCoordinator(DataUpdateCoordinator[Site]):
    """Owns one SOT point's model and feeds its entities; push-driven, never polls."""

    config_entry: SotConfigEntry

    def __init__(self, hass: HomeAssistant, entry: SotConfigEntry) -> None:
        """Set up the model for the site of `entry`."""
        super().__init__(hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.title}")
        self.site_id: str = entry.data[CONF_SITE_ID]
        self.site_name: str = entry.title
        self.base_topic: str = entry.data[CONF_BASE_TOPIC]
        self.started_with = settings_snapshot(entry)
        # The demo's storm time (site/demo_clock.py); None on a real site: the wall clock.
        self.clock = demo_clock(entry)
        # The instant a message is taken in at: everything it changes is worked out for it.
        self._moment: datetime | None = None
        self.site = Site(self._settings())
        self.data = self.site
        # The latest alarm about each thing, and whether it was acknowledged (alarm_ledger.py).
        self.alarms = AlarmLedger()
        # Whether Home Assistant's MQTT client has its broker, and what the county bridge's
        # notification topic last said (None: nothing yet); see `_link_changed`.
        self._mqtt_up = True
        self._bridge_up: bool | None = None
        self._bridge_waited = False
        self.rejected: Counter[str] = Counter()
        self.recent_rejections: deque[dict[str, str]] = deque(maxlen=RECENT_REJECTIONS)
        self.messages = 0
        self.transports: list[Transport] = []
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        # The finished cold-chain records: stored on their own, a year of them.
        self._coldchain_store = coldchain_store(hass, entry.entry_id)
        self._coldchain_saved = 0
        self._coldchain_save_due = False
        self._coldchain_shown = 0
        self._known_quantities: set[tuple[str, str, str]] = set()
        self._structure_listeners: list[CALLBACK_TYPE] = []
        self._site_listeners: list[CALLBACK_TYPE] = []
        self._component_listeners: dict[tuple[str, str], list[CALLBACK_TYPE]] = {}
        self._quantity_listeners: dict[tuple[str, str], dict[str, list[CALLBACK_TYPE]]] = {}
        self._power_shown: tuple[Any, ...] = ()
        # Loop time each component's derived figures (None: the site's) were last worked out,
        # those held back until their interval is over, and the timer that releases them.
        self._told_at: dict[tuple[str, str] | None, float] = {}
        self._held: set[tuple[str, str] | None] = set()
        self._held_timer: asyncio.TimerHandle | None = None
        # Raises a node's held will when its hold is over (Site.NODE_HOLD), not at a tick.
        self._node_timer: CALLBACK_TYPE | None = None
        # Switch commands waiting for their relay's echo, and the last one sent to each load
        # over MQTT, for its switch to show: kept across a reload.
        self.carried = carried(hass, entry.entry_id)
        self._echoes = self.carried.echoes
        self.sent_commands = self.carried.sent_commands
        self._event_listeners: list[Callable[[SiteEvent], None]] = []
        # Alarms raised while nothing listens (the site starting before its alarm entity is
        # added): told to the first listener.
        self._held_events: list[SiteEvent] = []
        # Alarms the alarm entity has taken but not raised yet (Home Assistant starting): saved
        # with the held ones, so that a restart or a kill in between does not lose them.
        self.unraised: deque[SiteEvent] = deque()
        # False while the site is being unloaded: what arrives then would change a site whose
        # state is being saved, and raise alarms nobody hears.
        self.listening = True
        self._availability: dict[tuple[str, str], bool] = {}
        self._unsubscribe: list[CALLBACK_TYPE] = []
        # The Modbus readings put on the site's broker and not back yet, by (topic, payload).
        self._relayed: dict[tuple[str, bytes], None] = {}
        # Unique ids of the entities the platforms have made, shared so removal can reset it.
        self.added_entities: set[str] = set()
        self.site_device_id: str | None = None
        # At the county: when the site's own settings last came (site_settings.py).
        self.site_settings_at: datetime | None = None
        self.issues = SiteIssues(hass, entry.entry_id)
        self._started_at = self.now()
        self._save_due: float | None = None
        self._saved_revision = self.site.revision

    # -- lifecycle --------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore what survived the last run, then start listening."""
        stored = await self._store.async_load()
        if stored:
            try:
                self.site.restore(stored)
            except ValueError as err:
                await self._keep_damaged(stored, err)
            if self.site.dropped_readings:
                _LOGGER.warning(
                    "%s: saved readings left out, each shown again at its next reading: %s",
                    self.site_name,
                    "; ".join(self.site.dropped_readings),
                )
            self.alarms.restore(stored.get("alarms"), stored.get("replaced_alarms"))
            unraised = [SiteEvent.from_snapshot(e) for e in stored.get("unraised") or ()]
            self._held_events = [e for e in unraised if e is not None][-HELD_EVENTS:]
            # A site never heard is silent since it was first watched, not since this start.
            watched = stored.get("watched_since")
            since = dt_util.parse_datetime(watched) if isinstance(watched, str) else None
            if since is not None and since.tzinfo is not None:
                self._started_at = min(self._started_at, since)
        handed, self.carried.integrated_to = self.carried.integrated_to, {}
        for generator_id, integrated_to in handed.items():
            if (run := self.site.runs.get(generator_id)) is not None:
                run.integrated_to = integrated_to
        restore_records(
            self.site.coldchain, await self._coldchain_store.async_load(), self.site_name
        )
        # Records pruned here are saved with the next change of the site.
        self._coldchain_saved = self.site.coldchain.records_revision
        self.site.coldchain.prune(self.now())
        # Restored values are known quantities: entities for them are made at setup.
        self._known_quantities = {
            (c.kind.value, c.id, q) for c in self.site.components.values() for q in c.values
        }
        # Through a county bridge, nothing is live until the bridge has said its link is up
        # (its notification is retained at the county): after a restart during a link loss the
        # restored values and the site's retained `online` node statuses are not news.
        self._link_changed()
        self._unsubscribe.append(
            await mqtt.async_subscribe(
                self.hass, bridge_topic(self.site_id), self._bridge_state, qos=1, encoding=None
            )
        )
        self._unsubscribe.append(async_call_later(self.hass, BRIDGE_WAIT, self._bridge_wait_over))
        self._unsubscribe.append(
            await mqtt.async_subscribe(
                self.hass,
                subscription(self.base_topic),
                self._message_received,
                qos=1,
                encoding=None,
            )
        )
        self._unsubscribe.append(
            mqtt.async_subscribe_connection_status(self.hass, self._mqtt_connection)
        )
        self._unsubscribe.append(
            async_track_time_interval(self.hass, self._tick, timedelta(seconds=TICK_SECONDS))
        )

    async def _keep_damaged(self, stored: dict[str, Any], err: ValueError) -> None:
        """The saved state cannot be read: the site starts afresh, and its next save would
        overwrite it, so it is copied aside first and the user told where."""
        stamp = dt_util.utcnow().strftime("%Y%m%dT%H%M%S")
        key = f"{DOMAIN}.{self.config_entry.entry_id}.damaged.{stamp}"
        await Store[dict[str, Any]](self.hass, STORAGE_VERSION, key).async_save(stored)
        _LOGGER.warning(
            "%s: %s; starting afresh, the saved state kept in .storage/%s",
            self.site_name,
            err,
            key,
        )
        async_show_damaged_state(
            self.hass,
            self.config_entry.entry_id,
            self.site_name,
            f".storage/{key}",
            str(err),
            stamp,
        )

    async def async_stop(self) -> None:
        """Stop listening and save the site's state."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._node_timer is not None:
            self._node_timer()
            self._node_timer = None
        self._release_held()
        self.carried.integrated_to = {
            generator_id: run.integrated_to
            for generator_id, run in self.site.runs.items()
            if run.integrated_to is not None
        }
        await self._store.async_save(self._saved_snapshot())
        if (
            self._coldchain_save_due
            or self.site.coldchain.records_revision != self._coldchain_saved
        ):
            await self._coldchain_store.async_save(self._coldchain_snapshot())

    @callback
    def async_apply_options(self) -> None:
        """Take the entry's changed settings into the running site, without a restart."""
        self.started_with = settings_snapshot(self.config_entry)
        self.site.settings = self._settings()
        now = self.now()
        self._publish(now, self.site.tick(now), everything=True)
        self._check_watch(now)  # a new silence limit raises or withdraws its issue at once

    # -- input ------------------------------------------------------------------------------

    @callback
    def _message_received(self, message: mqtt.ReceiveMessage) -> None:
        if not self.listening:
            return
        self.messages += 1
        self._moment = self.now()
        try:
            self._take_in(message, self._moment)
        finally:
            self._moment = None

    def _take_in(self, message: mqtt.ReceiveMessage, now: datetime) -> None:
        payload = message.payload
        # What this site relayed of its Modbus devices (`_relay`) is taken in already.
        if (
            self._relayed
            and isinstance(payload, bytes)
            and self._relayed.pop((message.topic, payload), 0) is None
        ):
            return
        parsed = parse_message(
            self.base_topic,
            message.topic,
            payload if isinstance(payload, bytes | str) else b"",
            now,
        )
        readings, meta, status = parsed.readings, parsed.meta, parsed.status
        if readings and self.transports:
            readings = parsed.readings = self._not_owned_elsewhere(readings, message.topic)
        if (
            readings
            and not parsed.rejections
            and meta is None
            and status is None
            and parsed.cleared_node is None
        ):
            # Readings and nothing else: nearly every message.
            self._publish(now, self._apply(readings, now), readings)
            return
        cleared: list[Rejection] = []
        if parsed.rejections:
            for rejection in parsed.rejections:
                self._reject(rejection)
            cleared = [r for r in parsed.rejections if r.reason in NO_READING and r.quantity]
        events: list[SiteEvent] = []
        if meta is not None:
            known = (meta.kind, meta.id) in self.site.components
            for detail in self.site.set_meta(meta):
                self._reject(Rejection(RejectReason.CONFLICTING_SETTINGS, message.topic, detail))
            self._rename_device(meta.kind, meta.id)
            if meta.provides or (not known and (meta.kind, meta.id) in self.site.components):
                # A service the site now offers, or a component its meta announced (a fuel
                # product's status), gets its entity without a reload.
                for listener in list(self._structure_listeners):
                    listener()
        if status is not None:
            # A will that came with the broker going (restarted, updated) is no node's news:
            # its alarm waits until Home Assistant has stayed connected (`_watch_nodes`).
            events += self.site.set_node(status, held=True)
            self._watch_nodes()
        elif parsed.cleared_node is not None:
            node = parsed.cleared_node
            on_node = {c.key for c in self.site.components.values() if c.node == node}
            self._publish(now, self.site.forget_node(node, now), (), on_node, everything=True)
            return
        if readings:
            events += self._apply(readings, now)
        self._no_readings(cleared, now)
        if cleared or meta is not None:
            touched = {r.quantity[:2] for r in cleared if r.quantity}
            if meta is not None:
                touched.add((meta.kind, meta.id))
            self._publish(now, events, readings, touched, status)
        elif readings or status is not None:
            self._publish(now, events, readings, (), status)
        elif not parsed.rejections and self.site.settings.county_bridge:
            if message.topic == public_topic(self.base_topic):
                self._take_public_message(payload, now)
            elif message.topic == settings_topic(self.base_topic):
                self._take_site_settings(message.topic, payload, now)

    def _apply(self, readings: list[Reading], now: datetime) -> list[SiteEvent]:
        """Take MQTT readings into the site; return the alarms they raised.

        Readings a bridge queued arrive late with the time they were measured (`ts`): what
        follows from them (an outage's start, a freezer's alarm) is placed then.
        """
        measured = readings[0].time if len(readings) == 1 else max(r.time for r in readings)
        return self.site.apply(readings, min(now, measured), arrived=now)

    def _take_public_message(self, payload: Any, now: datetime) -> None:
        """At the county: the operator's message, as the site's summary carries it."""
        try:
            summary = json.loads(payload) if payload else {}
        except ValueError:
            return
        if not isinstance(summary, dict):
            return
        text, time = summary.get("message"), summary.get("message_time")
        if not isinstance(text, str | None):
            return  # a site writes its message as a string or null: this one is none of its
        try:
            shown = Notice.from_dict({"text": text, "time": time}) if text and time else None
        except (TypeError, ValueError):
            return
        if shown != self.site.notice:
            self.site.notice = shown
            self.site.revision += 1
            self._changed(EVENT_SAVE_DELAY)
            self._publish(now, [], everything=True)

    def _take_site_settings(self, topic: str, payload: Any, now: datetime) -> None:
        """At the county: the settings the site's Home Assistant published, written into this
        entry (site_settings.py). Refused whole when bad; an empty message (the site deleted)
        leaves the settings as they are."""
        if not payload:
            return
        try:
            settings = parse_settings(payload)
            # How long a silence the county takes before it says the site has gone silent is
            # the county's own: it hears the site across the link (and its repair sets it).
            settings.pop(CONF_SILENT_AFTER, None)
            options = merged_options(dict(self.config_entry.options), settings)
        except ValueError as err:
            self._reject(Rejection(RejectReason.BAD_SETTING, topic, f"site settings: {err}"))
            return
        self.site_settings_at = now
        if options != dict(self.config_entry.options):
            _LOGGER.info("%s: settings taken from the site's own Home Assistant", self.site_name)
            self.hass.config_entries.async_update_entry(self.config_entry, options=options)
            # Applied here, not left to the entry's update listener: the retained message may
            # come while the site is still being set up, before that listener is there. (The
            # listener then finds the settings started with and does nothing.)
            self.async_apply_options()

    def _not_owned_elsewhere(self, readings: list[Reading], topic: str) -> list[Reading]:
        """Readings for components no other transport feeds; the others are refused.

        A grid meter polled over Modbus must not be overruled by one MQTT message (which could
        end an outage that is still going on).
        """
        kept: list[Reading] = []
        transports = self.transports
        for reading in readings:
            kind, component_id = reading.kind, reading.id
            for transport in transports:
                if transport.owns(kind, component_id):
                    break
            else:
                kept.append(reading)
                continue
            self._reject(
                Rejection(
                    RejectReason.OWNED_ELSEWHERE,
                    topic,
                    f"{kind}/{component_id} is fed by a Modbus device",
                    (kind, component_id, reading.quantity),
                )
            )
        return kept

    @callback
    def async_readings(
        self, node: str, readings: Iterable[Reading], rejections: Iterable[Rejection] = ()
    ) -> None:
        """Take readings from another transport (a Modbus device named `node`)."""
        if not self.listening:
            return
        rejections = list(rejections)
        for rejection in rejections:
            self._reject(rejection)
        now = self.now()
        readings = list(readings)
        self._no_readings(rejections, now)
        touched = {r.quantity[:2] for r in rejections if r.quantity}
        self._publish(now, self.site.apply(readings, now, node=node), readings, touched)
        self._relay(node, readings)

    def _relay(self, node: str, readings: list[Reading]) -> None:
        """Put what a Modbus device read on the site's broker too, a JSON object per component
        with the time it was measured: the county's bridge carries the site's broker, and the
        county sees nothing else of the site (docs/county.md). Only once that bridge has said
        it is there (`sot-bridge/<site>/state`, up or down): a site without a county gets no
        message more per poll. Not a load's state (its switch works at the site only), not what
        a silent device is taken to mean (the county sees its values go stale), nothing at the
        county itself or on the demo's storm clock."""
        if (
            self._bridge_up is None
            or self.site.settings.county_bridge
            or self.clock is not None
            or self.site.nodes.get(node) is False
            or not mqtt.is_connected(self.hass)
        ):
            return
        objects: dict[tuple[str, str], dict[str, Any]] = {}
        for reading in readings:
            if reading.kind == Kind.LOAD:
                continue
            values = objects.setdefault((reading.kind, reading.id), {})
            values[reading.quantity] = reading.value
            measured = reading.time.timestamp()
            values[TIME_KEY] = max(values.get(TIME_KEY, measured), measured)
        for (kind, component_id), values in objects.items():
            topic = component_topic(self.base_topic, kind, component_id)
            payload = json.dumps(values)
            self._relayed[(topic, payload.encode())] = None
            while len(self._relayed) > RELAYED_KEPT:
                del self._relayed[next(iter(self._relayed))]
            self.config_entry.async_create_background_task(
                self.hass, self._send_relayed(topic, payload), f"{self.site_name} relay {topic}"
            )

    async def _send_relayed(self, topic: str, payload: str) -> None:
        try:
            await mqtt.async_publish(self.hass, topic, payload, qos=RELAY_QOS, retain=False)
        except HomeAssistantError as err:
            self._relayed.pop((topic, payload.encode()), None)
            _LOGGER.debug("%s: %s not relayed: %s", self.site_name, topic, err)

    def _no_readings(self, rejections: Iterable[Rejection], now: datetime) -> None:
        """Tell the site of each sensor that said it has no reading, measured when it says."""
        for rejection in rejections:
            if rejection.reason in NO_READING and rejection.quantity:
                self.site.no_reading(*rejection.quantity, min(now, rejection.time or now))

    @callback
    def async_node_status(self, node: str, online: bool) -> None:
        """Take a node's availability from another transport."""
        if not self.listening:
            return
        now = self.now()
        status = NodeStatus(node, online, now)
        self._publish(now, self.site.set_node(status), status=status)

    @callback
    def _tick(self, _: datetime) -> None:
        """Time passes: staleness, delays and countdowns move for every entity."""
        if not self.listening:
            return
        now = self.now()
        self._publish(now, self.site.tick(now), everything=True)
        self._check_watch(now)
        self._watch_nodes()

    def _watch_nodes(self) -> None:
        """Move time on when the first held will is due (a node gone: raised then)."""
        if self._node_timer is not None:
            self._node_timer()
            self._node_timer = None
        ends = self.site.node_hold_ends()
        if ends is None or not self.listening:
            return
        delay = max(self._wall(ends - self.now()).total_seconds(), 0.0)
        self._node_timer = async_call_later(self.hass, delay, self._nodes_due)

    @callback
    def _nodes_due(self, now: datetime) -> None:
        self._node_timer = None
        self._tick(now)

    @callback
    def async_snooze_exercise(self, until: datetime) -> None:
        """Put off the exercise reminder (the repair flow's "remind me later")."""
        self.site.exercise_snoozed_until = until
        self._check_watch(self.now())
        self._changed(EVENT_SAVE_DELAY)

    @callback
    def _check_watch(self, now: datetime) -> None:
        """Raise or withdraw the repair issues that follow from time passing."""
        heard = self.site.last_reading or self._started_at
        silent = now - heard > self.site.settings.silent_after
        self.issues.keep_only(SITE_SILENT, {""} if silent else set())
        if silent:
            self.issues.raise_issue(
                Issue(
                    SITE_SILENT,
                    "",
                    {
                        "site": self.site_name,
                        "since": dt_util.as_local(heard).strftime("%Y-%m-%d %H:%M"),
                        "minutes": f"{self._silent_after_minutes():.0f}",
                    },
                    severity=ir.IssueSeverity.WARNING,
                )
            )
        overdue = self.site.exercise_overdue(now)
        self.issues.keep_only(GENERATOR_NOT_EXERCISED, set(overdue))
        for generator_id, days in overdue.items():
            self.issues.raise_issue(
                Issue(
                    GENERATOR_NOT_EXERCISED,
                    generator_id,
                    {
                        "site": self.site_name,
                        "generator": self.component_name("generator", generator_id),
                        "days": str(days),
                    },
                    severity=ir.IssueSeverity.WARNING,
                    data={"generator": generator_id},
                )
            )

    @callback
    def async_set_notice(self, text: str) -> None:
        """The operator put up a message to the public (empty: took it down)."""
        now = self.now()
        self.site.notice = notice(text, now)
        self.site.revision += 1
        self._changed(EVENT_SAVE_DELAY)
        self._publish(now, [], everything=True)

    @callback
    def async_counter_floor(self, generator_id: str, counter: str, value: float) -> None:
        """A counter estimate was already shown this high (the recorder says so): keep to it.

        After Home Assistant was killed, the saved state can be up to a minute older than what
        was shown; an estimate must never go down, or the statistics see a meter reset.
        """
        run = self.site.runs.get(generator_id)
        if run is None:
            return
        if counter == "run_hours" and value * 3600 > run.seconds:
            run.seconds = value * 3600
        elif counter == "energy" and value > run.kwh:
            run.kwh = value
        else:
            return
        self._changed()

    def _changed(self, within: float = SAVE_DELAY) -> None:
        """Something to save happened: save within `within` seconds (once, not again and again)."""
        if self._save_due is None or within < self._save_due:
            self._save_due = within
            self._store.async_delay_save(self._saved_snapshot, within)

    def _saved_snapshot(self) -> dict[str, Any]:
        self._save_due = None
        self._saved_revision = self.site.revision
        return {
            **self.site.snapshot(),
            "alarms": self.alarms.snapshot(dt_util.utcnow()),
            "replaced_alarms": self.alarms.replaced_snapshot(dt_util.utcnow()),
            "unraised": [e.snapshot() for e in (*self._held_events, *self.unraised)],
            "watched_since": self._started_at.isoformat(),
        }

    @callback
    def async_alarms_changed(self) -> None:
        """An alarm was raised or acknowledged: saved within a second, as the site's alarms."""
        self._changed(EVENT_SAVE_DELAY)

    def _coldchain_snapshot(self) -> dict[str, Any]:
        self._coldchain_save_due = False
        self._coldchain_saved = self.site.coldchain.records_revision
        return self.site.coldchain.records_snapshot()

    def _reject(self, rejection: Rejection) -> None:
        self.rejected[rejection.reason.value] += 1
        self.recent_rejections.append(
            {
                "reason": rejection.reason.value,
                "source": rejection.source,
                "detail": rejection.detail,
            }
        )
        verdict = self.carried.refusals.verdict(
            rejection.source, rejection.reason.value, self.hass.loop.time()
        )
        if verdict is Verdict.QUIET:
            return
        _LOGGER.warning("%s: refused %s: %s", self.site_name, rejection.source, rejection.detail)
        if verdict is Verdict.LOG_LAST:
            _LOGGER.warning(
                "%s: more refusals this hour are only counted (see the diagnostics)",
                self.site_name,
            )

    # -- output -----------------------------------------------------------------------------

    def _publish(
        self,
        now: datetime,
        events: list[SiteEvent],
        readings: Iterable[Reading] = (),
        touched: Iterable[tuple[str, str]] = (),
        status: NodeStatus | None = None,
        *,
        everything: bool = False,
    ) -> None:
        """Tell the entities whose figures may have changed, platforms of new components and
        listeners of alarms.

        A message reaches only the entities of the components it is about, and the site-wide
        ones when it is about the grid, a generator, a tank or a load (or changed where power
        comes from); each writes its state only if what it shows changed. So a reading costs
        the same on a site of five components as on one of fifty.
        """
        if not isinstance(readings, list):
            readings = list(readings)
        if self._echoes:
            self._answer_echoes(readings)
        elif (
            len(readings) == 1
            and not events
            and not touched
            and status is None
            and not everything
            and self._one_reading(readings[0], now)
        ):
            return
        # The quantities read of each component, and the components told as a whole (a node's
        # status, a refusal that cleared a value, a meta, a change of power for freezers).
        read: dict[tuple[str, str], set[str]] = {}
        known = self._known_quantities
        new = False
        for reading in readings:
            kind, component_id, name = reading.kind, reading.id, reading.quantity
            read.setdefault((kind, component_id), set()).add(name)
            if (kind, component_id, name) not in known:
                # Only readings add quantities, so only they can call for new entities.
                known.add((kind, component_id, name))
                new = True
        # An alarm's component is told at once too: its status must not trail the alarm.
        whole = set(touched)
        if events:
            whole |= {(event.kind, event.component_id) for event in events}
        site_wide = everything or bool(events) or status is not None
        if status is not None:
            whole |= {c.key for c in self.site.components.values() if c.node == status.node}
        kinds = {kind for kind, _ in read}
        if whole:
            kinds.update(kind for kind, _ in whole)
        if new:
            for listener in list(self._structure_listeners):
                listener()
        if everything:
            self._log_availability(now, None)
        else:
            # A reading does not take a component's availability away: only those told as a
            # whole, and those read that were not available, can have changed.
            available = self._availability
            changed = {key for key in read if available.get(key) is not True}
            if whole:
                changed |= whole
            if changed:
                self._log_availability(now, changed)
        for event in events:
            if not self._event_listeners:
                self._held_events.append(event)
                del self._held_events[:-HELD_EVENTS]
            for event_listener in list(self._event_listeners):
                event_listener(event)
        if events:
            # An alarm changes what must survive a power cut (an outage begun or ended): soon.
            self._changed(EVENT_SAVE_DELAY)
        elif self.site.revision != self._saved_revision:
            self._changed()
        coldchain = self.site.coldchain.records_revision
        if coldchain != self._coldchain_saved and not self._coldchain_save_due:
            # A record finished (or old ones pruned): a year's evidence, saved at once.
            self._coldchain_save_due = True
            self._coldchain_store.async_delay_save(self._coldchain_snapshot, EVENT_SAVE_DELAY)
        if coldchain != self._coldchain_shown:
            # ... and shown at once by the site's record sensor (a freezer reading closes it).
            self._coldchain_shown = coldchain
            site_wide = True
        if everything:
            self._release_held()
            self.async_update_listeners()
            return
        power = self._power_shown
        if site_wide or not kinds.isdisjoint(_POWER_SOURCE_KINDS):
            power = self.site.power.shown(now)
        if power != self._power_shown:
            # Freezers warm from the moment their power goes, and a product on the site's power
            # is sold while it lasts: their figures follow the source.
            self._power_shown = power
            whole |= {c.key for c in self.site.of_kind(Kind.FREEZER)}
            whole |= {c.key for c in self.site.of_kind(Kind.STATION)}
            site_wide = True
        if site_wide:
            self._told(None)
            self._tell_site(whole)
        elif not kinds.isdisjoint(_SITE_WIDE_KINDS) and self._due(None):
            self._tell_site(whole)
        self._tell(read, whole)

    def _one_reading(self, reading: Reading, now: datetime) -> bool:
        """The most common message, told in short: one more reading of a quantity already
        shown, of a live component, that raised nothing and left the power where it was (a
        freezer's temperature, a generator's output). What `_publish` does for it, without the
        sets it builds for many readings and components, and without working out the
        availability it cannot change; False (nothing done) for any other."""
        kind, component_id, name = reading.kind, reading.id, reading.quantity
        key = (kind, component_id)
        if (kind, component_id, name) not in self._known_quantities:
            return False
        if self._availability.get(key) is not True:
            return False
        coldchain = self.site.coldchain.records_revision
        if coldchain != self._coldchain_saved or coldchain != self._coldchain_shown:
            return False
        if kind in _POWER_SOURCE_KINDS and self.site.power.shown(now) != self._power_shown:
            return False  # the freezers and the site's figures follow it at once
        if self.site.revision != self._saved_revision:
            self._changed()
        if kind in _SITE_WIDE_KINDS and self._due(None):
            whole: set[tuple[str, str]] = set()
            self._tell_site(whole)
            self._tell({key: {name}}, whole)
            return True
        # `_tell` of this one quantity, written out.
        derived = self._component_listeners.get(key)
        if derived and self._due(key):
            for listener in list(derived):
                listener()
        by_quantity = self._quantity_listeners.get(key)
        if by_quantity and (listeners := by_quantity.get(name)):
            for listener in list(listeners):
                listener()
        return True

    def _tell(self, read: dict[tuple[str, str], set[str]], whole: set[tuple[str, str]]) -> None:
        """Tell the entities of the components in `whole`; of the others, at once those that
        follow a quantity read (an entity showing one quantity is not told of another's), and
        those that derive their figures from the component when its interval allows."""
        by_component, by_key = self._component_listeners, self._quantity_listeners
        for key in whole | read.keys() if whole else read:
            entire = key in whole
            derived = by_component.get(key)
            if derived and (self._told(key) if entire else self._due(key)):
                for listener in list(derived):
                    listener()
            by_quantity = by_key.get(key)
            if not by_quantity:
                continue
            for quantity in list(by_quantity) if entire else read[key]:
                if listeners := by_quantity.get(quantity):
                    for listener in list(listeners):
                        listener()

    def _tell_site(self, whole: set[tuple[str, str]]) -> None:
        """Tell the site's own entities (and add the grid's, which follow the power source, to
        `whole`)."""
        whole |= {g.key for g in self.site.of_kind(Kind.GRID)}
        for listener in list(self._site_listeners):
            listener()

    def _told(self, key: tuple[str, str] | None) -> bool:
        """The derived figures of `key` (None: the site's) are worked out now: a held-back
        refresh of them has nothing left to do, and the readings after this start a new
        interval."""
        self._told_at[key] = self.hass.loop.time()
        self._held.discard(key)
        return True

    def _due(self, key: tuple[str, str] | None) -> bool:
        """Whether the derived figures of `key` (None: the site's) may be worked out now; if
        not, they are held until their interval is over."""
        told = self._told_at.get(key)
        now = self.hass.loop.time()
        if told is None or now - told >= REFRESH_INTERVAL:
            return self._told(key)
        self._held.add(key)
        if self._held_timer is None:
            self._held_timer = self.hass.loop.call_at(
                told + REFRESH_INTERVAL, self._release_held_now
            )
        return False

    def _release_held(self) -> set[tuple[str, str] | None]:
        """Forget the held refreshes (everything is told now); return which they were."""
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        held, self._held = self._held, set()
        return held

    @callback
    def _release_held_now(self) -> None:
        """The held refreshes, when the first of their intervals is over."""
        self._held_timer = None
        whole: set[tuple[str, str]] = set()
        for key in self._release_held():
            self._told(key)
            if key is None:
                self._tell_site(whole)
                continue
            for listener in list(self._component_listeners.get(key, ())):
                listener()
        self._tell({}, whole)

    @callback
    def async_add_entity_listener(
        self, component: tuple[str, str] | None, listener: CALLBACK_TYPE, quantity: str = ""
    ) -> CALLBACK_TYPE:
        """Call `listener` when figures of `component` (None: the site's own) may change;
        with `quantity`, only when that quantity was read or the component changed as a whole
        (`WHOLE_ONLY`: only then).
        """
        listeners: list[CALLBACK_TYPE]
        if component is None:
            listeners = self._site_listeners
        elif quantity:
            listeners = self._quantity_listeners.setdefault(component, {}).setdefault(quantity, [])
        else:
            listeners = self._component_listeners.setdefault(component, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def _log_availability(self, now: datetime, keys: set[tuple[str, str]] | None) -> None:
        components = (
            self.site.components.values()
            if keys is None
            else [c for key in keys if (c := self.site.components.get(key)) is not None]
        )
        for component in components:
            available = self.site.available(component, now)
            previous = self._availability.get(component.key)
            self._availability[component.key] = available
            # Not at a stop of Home Assistant: its MQTT client going is no news of the site.
            if previous is None or previous == available or self.hass.is_stopping:
                continue
            # Info, once each way (Home Assistant's log-when-unavailable): the outage itself
            # is told by the alarms, the log says when it began and ended.
            if available:
                _LOGGER.info("%s %s %s is back", self.site_name, component.kind, component.id)
            else:
                _LOGGER.info(
                    "%s %s %s is unavailable: %s",
                    self.site_name,
                    component.kind,
                    component.id,
                    self._unavailable_because(component),
                )

    def _unavailable_because(self, component: Component) -> str:
        """Why a component went unavailable, for the log: the link, its node, or silence."""
        if component.link in self.site.links_down:
            if self._mqtt_up and self._bridge_down():
                return "the site's bridge to the county says its link is down"
            return "Home Assistant's MQTT client is not connected to the broker"
        if component.node is not None and self.site.nodes.get(component.node) is False:
            return f"its node {component.node} said it is offline"
        # The longest a value of it may take to come again (a Modbus counter read once a minute).
        waited = max(
            (self.site.stale_after(component, name) for name in component.values),
            default=self.site.settings.stale_timeout,
        )
        return f"no data for {self._wall(waited)}"

    @callback
    def async_add_structure_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever a new component or quantity appears."""
        self._structure_listeners.append(listener)
        return lambda: self._structure_listeners.remove(listener)

    @callback
    def async_hold_events(self, events: list[SiteEvent]) -> None:
        """Hold alarms a listener took but could not raise, first, for the next listener."""
        self._held_events[:0] = events
        del self._held_events[:-HELD_EVENTS]

    @callback
    def async_add_event_listener(self, listener: Callable[[SiteEvent], None]) -> CALLBACK_TYPE:
        """Call `listener` with every alarm the site raises, and those raised before anything
        listened (soon after: not while it is being added)."""
        self._event_listeners.append(listener)
        held, self._held_events = self._held_events, []
        if held:

            @callback
            def tell_held() -> None:
                # Gone again before it was told: to those who listen now, else held again.
                if listener in self._event_listeners:
                    told = [listener]
                elif self._event_listeners:
                    told = list(self._event_listeners)
                else:
                    self.async_hold_events(held)
                    return
                for event in held:
                    for each in told:
                        each(event)

            self.hass.loop.call_soon(tell_held)
        return lambda: self._event_listeners.remove(listener)

    def component_name(self, kind: str, component_id: str) -> str:
        """The display name of a component: its meta name, else its kind in Home Assistant's
        language and its id (`Frys f1`)."""
        if kind == "node":
            return component_id
        component = self.site.component(kind, component_id)
        if component is not None:
            return readiness.component_name(component, self.hass.config.language)
        # The site's grid alarms are about `main` whatever its meters' ids (`grid/b`).
        try:
            return readiness.kind_name(Kind(kind), component_id, self.hass.config.language)
        except ValueError:
            return kind if component_id == "main" else f"{kind} {component_id}"

    def component_meta_name(self, kind: str, component_id: str) -> str | None:
        """The name a component's meta gave it; None when it has none (its name in a text is
        then its kind and id, in the reader's language)."""
        component = None if kind == "node" else self.site.component(kind, component_id)
        return component.name if component is not None and component.name else None

    def _rename_device(self, kind: str, component_id: str) -> None:
        registry = dr.async_get(self.hass)
        device = self.device_entry(device_key(self.site_id, kind, component_id))
        component = self.site.component(kind, component_id)
        if device is not None and component is not None and component.name:
            name = f"{self.site_name} {component.name}"
            if device.name != name:
                registry.async_update_device(device.id, name=name)

    def device_entry(self, identifier: str) -> dr.DeviceEntry | None:
        """This site's device registered under `identifier`.

        Looked up among the entry's own devices: identifiers are unique per config entry only
        (HA 2026.10 reports `async_get_device`, which searched all of them).
        """
        wanted = (DOMAIN, identifier)
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.config_entry.entry_id):
            if wanted in device.identifiers:
                return device
        return None

    @callback
    def async_register_site_device(self) -> None:
        """Register the site's own device first, so components can name it as their parent."""
        info = site_device_info(self)
        device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id, **info
        )
        self.site_device_id = device.id

    def actions(self, kind: str, component_id: str) -> frozenset[str]:
        """What can be commanded of (kind, id): generator start, stop, modes, when enabled."""
        for transport in self.transports:
            if transport.owns(kind, component_id):
                return transport.actions(kind, component_id)
        return frozenset()

    def transport_diagnostics(self) -> list[dict[str, Any]]:
        """Diagnostics of the transports other than MQTT."""
        return [transport.diagnostics() for transport in self.transports]

    def now(self) -> datetime:
        """The time the model is asked about: the wall clock's, or the demo's storm time.

        While a message is taken in, the instant it came: the model and every entity it
        changes see one time.
        """
        if self._moment is not None:
            return self._moment
        if self.clock is None:
            return dt_util.utcnow()
        return self.clock.site_time(dt_util.utcnow())

    def _settings(self) -> Settings:
        settings = settings_from_options(dict(self.config_entry.options))
        return settings if self.clock is None else self.clock.settings(settings)

    def _silent_after_minutes(self) -> float:
        """The silence allowed, in the wall-clock minutes the operator set."""
        return self._wall(self.site.settings.silent_after).total_seconds() / 60

    def _wall(self, span: timedelta) -> timedelta:
        """A span of the site's time as the wall clock (and the operator's settings) count it."""
        return span if self.clock is None else self.clock.wall_span(span)

    @callback
    def async_forget(self, kind: str, component_id: str) -> None:
        """Forget a component that is gone for good; it comes back if it reports again."""
        self.site.forget(kind, component_id)
        prefix = f"{device_key(self.site_id, kind, component_id)}_"
        self.added_entities.difference_update(
            [uid for uid in self.added_entities if uid.startswith(prefix)]
        )
        self._known_quantities = {
            q for q in self._known_quantities if q[:2] != (kind, component_id)
        }
        self._availability.pop((kind, component_id), None)
        self.alarms.forget(kind, component_id)
        self.async_alarms_changed()

    # -- commands ---------------------------------------------------------------------------

    async def async_command(
        self, command: Command, on_sent: Callable[[], None] | None = None
    ) -> None:
        """Send `command` through the transport that owns the component.

        Over MQTT the command is refused while Home Assistant's MQTT client is disconnected
        (a command queued in the client would fire whenever it reconnects, long after the
        operator was told it failed). A switch command carries its expiry and is done only when
        the relay echoes the new state; without an echo by then the operator is told it expired,
        and the relay does not carry it out later. `on_sent` is called once it is on its way.
        """
        for transport in self.transports:
            if transport.owns(command.kind, command.id):
                await transport.command(command)
                return
        component = self.site.component(command.kind, command.id)
        name = self.component_name(command.kind, command.id)
        if not mqtt.is_connected(self.hass):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="mqtt_disconnected",
                translation_placeholders={"component": name, "site": self.site_name},
            )
        if self._bridge_down():
            # Nothing crosses the link now, and the county keeps no session for the bridge:
            # the command would reach nobody, and the county's broker would still accept it.
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="county_link_down",
                translation_placeholders={"component": name, "site": self.site_name},
            )
        wanted = _ECHOED.get(command.action)
        # A relay judges the expiry by its own clock: the wall clock's time, never the demo's.
        sent_at = dt_util.utcnow()
        expires = sent_at + timedelta(seconds=COMMAND_LIFETIME)
        already = self.site.fresh(component, "state", self.now()) if component is not None else None
        echo: asyncio.Future[None] | None = None
        sent: SentCommand | None = None
        if wanted is not None:
            sent = SentCommand(wanted, sent_at, expires)
            self.sent_commands[(command.kind, command.id)] = sent
            if already is wanted:
                sent.status = CommandStatus.CONFIRMED
            else:
                echo = self.hass.loop.create_future()
                self._echoes.setdefault((command.kind, command.id), []).append((wanted, echo))
        try:
            await mqtt.async_publish(
                self.hass,
                command_topic(self.base_topic, command),
                command_payload(command, expires),
                qos=COMMAND_QOS,
                retain=False,
            )
            if on_sent is not None:
                on_sent()
            if echo is not None and sent is not None:
                async with asyncio.timeout(COMMAND_LIFETIME + COMMAND_ECHO_GRACE):
                    await echo
                sent.status = CommandStatus.CONFIRMED
        except TimeoutError as err:
            if sent is not None:
                sent.status = CommandStatus.EXPIRED
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_expired",
                translation_placeholders={
                    "component": name,
                    "site": self.site_name,
                    "seconds": f"{COMMAND_LIFETIME}",
                },
            ) from err
        except HomeAssistantError as err:
            if sent is not None:
                sent.status = CommandStatus.FAILED
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_failed",
                translation_placeholders={
                    "component": name,
                    "site": self.site_name,
                    "error": str(err),
                },
            ) from err
        finally:
            if echo is not None:
                waiting = self._echoes.get((command.kind, command.id), [])
                waiting[:] = [pair for pair in waiting if pair[1] is not echo]

    def _answer_echoes(self, readings: list[Reading]) -> None:
        for reading in readings:
            waiting = self._echoes.get((reading.kind, reading.id))
            if not waiting or reading.quantity != "state":
                continue
            for wanted, echo in list(waiting):
                if reading.value is wanted and not echo.done():
                    echo.set_result(None)
                    # Confirmed before the switch is told of the reading, which shows it.
                    sent = self.sent_commands.get((reading.kind, reading.id))
                    if sent is not None and sent.state is wanted:
                        sent.status = CommandStatus.CONFIRMED

    @callback
    def _mqtt_connection(self, connected: bool) -> None:
        """HA's MQTT client connected or lost the broker: MQTT values are live only with it."""
        self._mqtt_up = connected
        self._link_changed()

    @callback
    def _bridge_state(self, message: mqtt.ReceiveMessage) -> None:
        """The county bridge's notification: `1` while the site's link is up, `0` when not."""
        payload = message.payload
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        self._bridge_up = {"1": True, "0": False}.get(text.strip(), self._bridge_up)
        self._link_changed()

    def _bridge_down(self) -> bool:
        """The site's data comes through a county bridge that says its link is down."""
        if not self.site.settings.county_bridge:
            return False
        return self._bridge_up is False or (self._bridge_up is None and not self._bridge_waited)

    @callback
    def _bridge_wait_over(self, _now: datetime) -> None:
        """No notification came (a bridge set up without one): the link counts as up."""
        self._bridge_waited = True
        self._link_changed()

    @callback
    def _link_changed(self) -> None:
        """MQTT values are live only while Home Assistant has its broker and, for a site
        reached through a county bridge, while the bridge says the site's link is up: at the
        county, a site's retained node statuses keep saying `online` when its link is cut."""
        if not self.listening:
            return
        up = self._mqtt_up and not self._bridge_down()
        if up == ("mqtt" not in self.site.links_down):
            return
        now = self.now()
        self._publish(now, self.site.set_link("mqtt", up, now), everything=True)
        self._watch_nodes()


def site_device_info(coordinator: SiteCoordinator) -> DeviceInfo:
    """The site's own device, parent of its components' devices."""
    return DeviceInfo(
        identifiers={(DOMAIN, coordinator.site_id)},
        name=coordinator.site_name,
        manufacturer="SOT Monitor",
        model="SOT point",
    )


def device_key(site_id: str, kind: str | None, component_id: str | None) -> str:
    """The device registry identifier of the site (kind None) or one of its components."""
    return site_id if kind is None else f"{site_id}_{kind}_{component_id}"
