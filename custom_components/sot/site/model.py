"""The site model: readings in, component state and the derived values an operator needs out.

Pure Python: no Home Assistant imports, so the simulator, the benchmarks and fast unit tests
share it. Time is always passed in; the model never reads a clock.

The work is split by subject, each in its own module: `components` (what was measured),
`power` (grid, generators, power source), `fuel` (tanks, burn, runtime, fuel low), `freezers`
(food-safety status and warming), `outages` (the present outage and the log) and `generators`
(what the model integrates for each generator). `Site` ties them together, takes the readings
in, moves time along, and saves and restores the whole state as one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from .coldchain import ColdChain
from .components import (
    Component,
    Sample,
    as_flag,
    as_number,
    check_figures,
    iso,
    optional_time,
)
from .events import EventType, SiteEvent
from .freezers import Freezers, FreezerStatus
from .fuel import FUEL_INPUTS, Fuel
from .generators import GeneratorRun
from .outages import Outage, Outages
from .power import Power, PowerSource
from .public import Notice
from .readings import Meta, NodeStatus, Reading
from .station import Station
from .vocabulary import Kind, Value, ValueType, quantity

__all__ = [
    "Component",
    "EventType",
    "FreezerStatus",
    "Outage",
    "PowerSource",
    "Sample",
    "Settings",
    "Site",
    "SiteEvent",
]

# Readings of these kinds can change where the site's power comes from.
_POWER_KINDS: Final = frozenset({Kind.GRID, Kind.GENERATOR, Kind.LOAD})
# What `Power` reads (besides nodes, links and settings): where the power comes from.
_POWER_SOURCE_INPUTS: Final = frozenset({Kind.GRID, Kind.GENERATOR})
# The snapshot's form; `restore` reads every earlier one.
SNAPSHOT_VERSION: Final = 2
# NFPA 110's monthly exercise, "monthly" being 20-40 days apart (DOMAIN.md).
EXERCISE_DUE: Final = timedelta(days=40)
# A generator's run time, energy and fuel move on in steps of at least this much measured time:
# a controller's burst of readings (each quantity its own message, milliseconds apart) is one
# step, not thirteen. Each step holds the values at its start, as every step does.
INTEGRATION_STEP: Final = timedelta(seconds=1)
# A value shown that was measured further than this ahead of a reading's arrival was measured
# by a clock since set back (or restored from one that ran ahead): it is no reason to take the
# reading for history.
CLOCK_STEP: Final = timedelta(seconds=60)
# A node's last will that came over MQTT is raised once it has stood this long while Home
# Assistant was connected: a broker going down (restarted, updated) publishes every client's
# will just before Home Assistant's own connection drops, and the nodes are back with it.
NODE_HOLD: Final = timedelta(seconds=10)


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """The site's settings (the config entry's options)."""

    tank_capacity: float = 1000.0
    tank_reserve: float = 10.0
    generator_rating: float = 56.0
    freezer_warning: float = -15.0
    freezer_critical: float = -12.0
    alarm_delay: timedelta = timedelta(minutes=10)
    stale_timeout: timedelta = timedelta(minutes=5)
    fuel_low_hours: float = 12.0
    silent_after: timedelta = timedelta(minutes=60)
    # Grid voltage (V, phase to neutral) from which the grid counts as present when a meter
    # does not say so itself: 0.8 of 230 V, inside EN 50160's 207-253 V band.
    grid_voltage: float = 184.0
    # The air around the freezers (°C) when no probe measures it: a shop's, DOMAIN.md's 19 °C.
    room_temperature: float = 20.0
    # Storm readiness (readiness.py): fewer hours of fuel at the typical load than this is
    # "not ready"; a generator service is due at these run hours (0: not set) or on this date.
    readiness_fuel_hours: float = 72.0
    service_due_hours: float = 0.0
    service_due_date: date | None = None
    # The site's messages reach this Home Assistant through a county bridge (docs/county.md),
    # whose notification topic then decides whether they can arrive at all.
    county_bridge: bool = False


class Site:
    """All components of one SOT point, their availability, and what follows from them."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.components: dict[tuple[str, str], Component] = {}
        # Components the user removed as gone for good, with the meta last heard for each: a
        # node's retained meta, delivered again at every start, does not bring one back; a
        # reading does, with that meta.
        self.removed: dict[tuple[str, str], Meta | None] = {}
        # Stored last readings the last restore left out, for the log.
        self.dropped_readings: list[str] = []
        self._kinds: dict[Kind, tuple[Component, ...]] = {}
        self.links_down: set[str] = set()
        self.nodes: dict[str, bool] = {}
        # What the node alarms last said of each node (a node first heard: as it was then).
        self.nodes_told: dict[str, bool] = {}
        # Nodes whose will came over MQTT and is not raised yet: when it came, and since when
        # it has stood with the MQTT link up (not saved: after a start it is held again).
        self.nodes_away: dict[str, datetime] = {}
        self.nodes_held: dict[str, datetime] = {}
        # (kind, id) -> quantity -> how long its transport may take to bring it again, where
        # that is longer than a timeout may be (a Modbus counter read once a minute).
        self.polled: dict[tuple[str, str], dict[str, timedelta]] = {}
        self.power = Power(self)
        self.fuel = Fuel(self)
        self.freezers = Freezers(self)
        self.outages = Outages()
        self.station = Station(self)
        # The operator's message to the public (the information display, `<base>/public`).
        self.notice: Notice | None = None
        self.runs: dict[str, GeneratorRun] = {}
        self.coldchain = ColdChain()
        self.last_reading: datetime | None = None
        self.exercise_snoozed_until: datetime | None = None
        # Goes up whenever something worth saving changed.
        self.revision = 0
        # How many of those changes were readings no power figure reads (a freezer's, a
        # tank's, a generator's coolant temperature): `Power` keeps its answers while only
        # these go up.
        self.quiet_revisions = 0

    # -- input -----------------------------------------------------------------------------

    def apply(
        self,
        readings: Iterable[Reading],
        now: datetime,
        node: str | None = None,
        arrived: datetime | None = None,
    ) -> list[SiteEvent]:
        """Take in readings (already checked against the vocabulary); return new alarms.

        `node` names the source that measured them (a Modbus device, say), which then decides
        the components' availability together with their data's age. `arrived`: when they
        came (`now` unless they were queued). A reading measured before the value shown is
        history, not news, unless that value lies ahead of the clock (`CLOCK_STEP`).
        """
        ahead = (now if arrived is None else arrived) + CLOCK_STEP
        self.revision += 1
        self.quiet_revisions += 1  # nothing taken in yet
        warmed: dict[str, Component] = {}
        kinds: set[Kind] = set()
        fuel = False
        silent = node is not None and not self.nodes.get(node, True)
        components = self.components
        for reading in readings:
            quantity, time = reading.quantity, reading.time
            component = components.get((reading.kind, reading.id))
            created = component is None
            if component is None:
                component = self.component(reading.kind, reading.id, create=True)
                assert component is not None  # created on demand
            known = component.values.get(quantity)
            if known is not None and time < known.time <= ahead:
                continue  # measured before what is shown: history, not news
            kind = component.kind
            kinds.add(kind)
            if not fuel:
                inputs = FUEL_INPUTS.get(kind)
                fuel = inputs is not None and quantity in inputs
            if kind is Kind.GENERATOR:
                self._integrate(component, time)
            if node is not None:
                component.node = node
                component.link = "modbus"
                if not silent:
                    self._answered(component, time)
            if kind is Kind.FREEZER:
                live = self._record_cold_chain(component, reading)
            component.values[quantity] = Sample(reading.value, time, silent)
            self.revision += 1  # what was worked out from the values before is not the answer
            if kind not in _POWER_SOURCE_INPUTS or (
                node is None and not created and self.power.unmoved_by(component, quantity)
            ):
                self.quiet_revisions += 1
            component.reported.add(quantity)
            # A time ahead of the clock was taken by a clock since set back: it would keep the
            # component live, and the site heard from, by the step.
            seen = component.last_seen
            if seen is None or time > seen or seen > ahead:
                component.last_seen = time
            last = self.last_reading
            if last is None or time > last or last > ahead:
                self.last_reading = time
            if kind is Kind.FREEZER:
                warmed[component.id] = component
                if quantity == "temperature":
                    self.freezers.track(component.id, time, float(reading.value), live)
        # Only the freezers that reported move on here; the others do at the next tick. So a
        # message costs the same however many freezers the site has.
        return self._evaluate(now, freezers=warmed.values(), kinds=kinds, fuel=fuel)

    def _answered(self, component: Component, time: datetime) -> None:
        """A device that answers again: what its transport concluded from its silence (a
        silent grid-side meter: no grid) no longer holds. Its own readings say what is."""
        values = component.values
        for name in [q for q, sample in values.items() if sample.despite_offline]:
            if values[name].time <= time:
                del values[name]

    def set_meta(self, meta: Meta) -> list[str]:
        """Take in a component's retained description; what of it was refused, and why.

        A freezer's single limit pairs with the site's other one; a pair that puts critical at
        or below warning is refused (that limit goes, the site's applies), as a meta that gives
        both is when it parses.
        """
        if (meta.kind, meta.id) in self.removed:
            self.removed[(meta.kind, meta.id)] = meta
            return []
        component = self.component(meta.kind, meta.id, create=True)
        assert component is not None
        settings = dict(meta.settings)
        refused: list[str] = []
        given = [key for key in ("warning", "critical") if key in settings]
        freezer = component.kind is Kind.FREEZER
        if freezer and len(given) == 1 and self.freezers.paired(settings) is None:
            # (Both given and conflicting were refused when the meta was parsed.)
            other = "critical" if given == ["warning"] else "warning"
            site_value = getattr(self.settings, f"freezer_{other}")
            refused.append(
                f"meta {given[0]} {settings.pop(given[0]):g} °C does not fit the site's {other} "
                f"{site_value:g} °C: critical must be above warning"
            )
        component.name = meta.name
        # A meta without a node (cleared, or moved off it) takes the component off its node; a
        # polled Modbus device keeps the node it is read through.
        if meta.node is not None or component.link != "modbus":
            component.node = meta.node
        component.settings = settings
        component.provides = meta.provides
        self.revision += 1
        return refused

    def set_node(self, status: NodeStatus, held: bool = False) -> list[SiteEvent]:
        """Take in a node's birth or last will; return node and follow-on alarms.

        Its components follow it at once. With `held` (a will that came over MQTT) its
        `node_offline` waits for `NODE_HOLD` (`tick`), and is not raised if the node is back
        first; `node_online` is raised only for a node whose `node_offline` was.
        """
        node = status.node
        previous = self.nodes.get(node)
        self.nodes[node] = status.online
        self.revision += 1
        if status.online and previous is False:
            # What its silence was taken to mean no longer holds, even before (or without) a
            # reading of its own: a meter that answers with "no reading" only is not "no grid".
            for component in self.components.values():
                if component.node == status.node:
                    self._answered(component, status.time)
        events: list[SiteEvent] = []
        told = self.nodes_told.get(node, previous)
        if status.online:
            self.nodes_away.pop(node, None)
            self.nodes_held.pop(node, None)
        if told is None or told == status.online:
            self.nodes_told[node] = status.online
        elif held and not status.online:
            self.nodes_away.setdefault(node, status.time)
            if "mqtt" not in self.links_down:
                self.nodes_held.setdefault(node, status.time)
        else:
            self.nodes_told[node] = status.online
            kind = EventType.NODE_ONLINE if status.online else EventType.NODE_OFFLINE
            events.append(SiteEvent(kind, "node", node, status.time))
        return events + self._evaluate(status.time)

    def node_hold_ends(self) -> datetime | None:
        """When the first held will is due to be raised (None: none is)."""
        if not self.nodes_held or "mqtt" in self.links_down:
            return None
        return min(self.nodes_held.values()) + NODE_HOLD

    def _raise_held_nodes(self, now: datetime) -> list[SiteEvent]:
        """The wills that have stood for `NODE_HOLD` with the MQTT link up, as alarms (at
        the time each came); the others' hold starts now if it has not."""
        events: list[SiteEvent] = []
        if not self.nodes_away or "mqtt" in self.links_down:
            return events
        for node, away in list(self.nodes_away.items()):
            if now - self.nodes_held.setdefault(node, now) >= NODE_HOLD:
                del self.nodes_away[node], self.nodes_held[node]
                self.nodes_told[node] = False
                events.append(SiteEvent(EventType.NODE_OFFLINE, "node", node, away))
        if events:
            self.revision += 1
        return events

    def forget_node(self, node: str, now: datetime) -> list[SiteEvent]:
        """A node that is gone (its retained status cleared): its last status no longer
        speaks for its components, whose values go stale by their own times."""
        self.nodes_told.pop(node, None)
        self.nodes_away.pop(node, None)
        self.nodes_held.pop(node, None)
        if self.nodes.pop(node, None) is None:
            return []
        self.revision += 1
        return self._evaluate(now)

    def tick(self, now: datetime) -> list[SiteEvent]:
        """Let time pass: staleness, alarm delays, countdowns."""
        if self.coldchain.advance(now, self):
            self.revision += 1
        return self._raise_held_nodes(now) + self._evaluate(now)

    def forget(self, kind: str, component_id: str) -> None:
        """Drop a component that is gone for good (it comes back if it reports again, with the
        meta it had: only a new subscription delivers the retained one again)."""
        gone = self.components.pop((kind, component_id), None)
        self.removed[(kind, component_id)] = (
            None
            if gone is None or not (gone.name or gone.node or gone.settings or gone.provides)
            else Meta(kind, component_id, gone.name, gone.node, dict(gone.settings), gone.provides)
        )
        if kind in Kind.__members__.values():
            self._index(Kind(kind))
        self.revision += 1
        if kind == Kind.FREEZER:
            self.freezers.forget(component_id)
            self.coldchain.forget(component_id)
        if kind == Kind.GENERATOR:
            self.runs.pop(component_id, None)
        if kind == Kind.STATION:
            self.station.forget(component_id)

    def component(self, kind: str, component_id: str, create: bool = False) -> Component | None:
        """The component (kind, id); created when asked to and the kind is known."""
        found = self.components.get((kind, component_id))
        if found is None and create:
            found = self.components[(kind, component_id)] = Component(Kind(kind), component_id)
            self._index(found.kind)
            if (meta := self.removed.pop((kind, component_id), None)) is not None:
                self.set_meta(meta)
        return found

    def of_kind(self, kind: Kind) -> Sequence[Component]:
        """All components of one kind, by id (kept ready: asked for on every message)."""
        return self._kinds.get(kind, ())

    def _index(self, kind: Kind) -> None:
        self._kinds[kind] = tuple(
            sorted((c for c in self.components.values() if c.kind is kind), key=lambda c: c.id)
        )

    def generators(self) -> Sequence[Component]:
        """The site's generators, by id."""
        return self.of_kind(Kind.GENERATOR)

    def run(self, generator: Component) -> GeneratorRun:
        """The model's own record of a generator's runs (made on first use, not made and
        dropped on every call: asked several times per message)."""
        run = self.runs.get(generator.id)
        if run is None:
            run = self.runs[generator.id] = GeneratorRun()
        return run

    # -- availability ----------------------------------------------------------------------

    def node_online(self, component: Component) -> bool:
        """False when the component's link is down or its node has said it is offline."""
        if component.link in self.links_down:
            return False
        return component.node is None or self.nodes.get(component.node, True)

    def set_link(self, link: str, up: bool, now: datetime) -> list[SiteEvent]:
        """Home Assistant's own connection for a link ("mqtt") came or went.

        While it is down nothing can arrive over it, so what arrived before is not live. A
        node's will that came over MQTT is held again from when it is back up: one that came
        just before it went down was the broker going, not the node.
        """
        if up:
            self.links_down.discard(link)
        else:
            self.links_down.add(link)
        if link == "mqtt":
            self.nodes_held = dict.fromkeys(self.nodes_away, now) if up else {}
        self.revision += 1
        return self._evaluate(now)

    def no_reading(self, kind: str, component_id: str, name: str, now: datetime) -> None:
        """A sensor said it has no reading (NaN, a probe's error value).

        The last good value stays until it is stale; a value that would otherwise stay live
        past that (a probe that reports only on a change, an ON/OFF or a state word while its
        node is online) is then live no longer than the timeout from its first such report: a
        dead probe sends NaN once and falls silent, which must not read as a freezer holding its
        temperature, and a controller's "not available" must not leave its last word shown.
        """
        component = self.component(kind, component_id)
        sample = None if component is None else component.values.get(name)
        if component is None or sample is None or sample.failed is not None:
            return
        if now < sample.time:
            return  # measured before the value shown (a queue's late delivery): history
        component.values[name] = Sample(sample.value, sample.time, sample.despite_offline, now)
        self.revision += 1

    def fresh(self, component: Component, name: str, now: datetime) -> Value | None:
        """The quantity's value if its node is online and it is not older than the timeout
        (or than its transport takes to bring it again, `stale_after`).

        ON/OFF and state words are published when they change, not on a timer: they stay
        live while the node says it is online or the component still reports anything else.
        """
        sample = component.values.get(name)
        if sample is None:
            return None
        if not sample.despite_offline:
            # `node_online`, written out: this is asked many times per message.
            if self.links_down and component.link in self.links_down:
                return None
            node = component.node
            if node is not None and not self.nodes.get(node, True):
                return None
        timeout = self.settings.stale_timeout
        if now - sample.time <= timeout:
            return sample.value
        if self.polled:
            timeout = self.stale_after(component, name)
            if now - sample.time <= timeout:
                return sample.value
        spec = quantity(component.kind, name)
        node_alive = component.node is not None and self.nodes.get(component.node) is True
        if spec is None or spec.type is ValueType.NUMBER:
            # A probe that reports only on a change stays live while its node is online, unless
            # it has said it has no reading for longer than the timeout.
            failed = sample.failed
            on_change = (
                node_alive
                and (failed is None or now - failed <= timeout)
                and self.freezers.reports_on_change(component, name)
            )
            return sample.value if on_change else None
        if sample.failed is not None and now - sample.failed > timeout:
            return None
        heard_lately = component.last_seen is not None and now - component.last_seen <= timeout
        return sample.value if node_alive or heard_lately else None

    def stale_after(self, component: Component, name: str) -> timedelta:
        """How old a value of the quantity may grow and still be live: the staleness timeout,
        or what its transport takes to bring it again when that is longer (`polled`)."""
        timeout = self.settings.stale_timeout
        own = self.polled.get(component.key)
        span = None if own is None else own.get(name)
        return timeout if span is None or span < timeout else span

    def available(self, component: Component, now: datetime) -> bool:
        """Whether any of the component's values is live."""
        return any(self.fresh(component, q, now) is not None for q in component.values)

    def number(self, component: Component | None, name: str, now: datetime) -> float | None:
        """A live number, or None."""
        if component is None:
            return None
        return as_number(self.fresh(component, name, now))

    def flag(self, component: Component | None, name: str, now: datetime) -> bool | None:
        """A live ON/OFF, or None."""
        if component is None:
            return None
        return as_flag(self.fresh(component, name, now))

    # -- watchfulness ------------------------------------------------------------------------

    def exercise_overdue(self, now: datetime) -> dict[str, int]:
        """Generator id → days since it last ran, for those past the exercise interval.

        Only what was watched counts: a generator seen for less than the interval is not
        called overdue, and none is while the reminder is put off.
        """
        if self.exercise_snoozed_until is not None and now < self.exercise_snoozed_until:
            return {}
        overdue: dict[str, int] = {}
        for generator in self.generators():
            run = self.runs.get(generator.id)
            if run is None or run.watched_since is None:
                continue
            since = run.last_run or run.watched_since
            if now - since > EXERCISE_DUE:
                overdue[generator.id] = int((now - since) / timedelta(days=1))
        return overdue

    def _record_cold_chain(self, freezer: Component, reading: Reading) -> bool:
        """Feed the cold-chain record, before the reading replaces the last one; return
        whether the last temperature was still live when this one was measured."""
        value = reading.value
        if reading.quantity == "temperature" and type(value) in (int, float):
            live = self.fresh(freezer, "temperature", reading.time) is not None
            self.coldchain.temperature(self, freezer, reading.time, float(value), live)
            return live
        if reading.quantity == "door" and isinstance(value, bool):
            self.coldchain.door(self, freezer, reading.time, value)
        return False

    # -- derivation --------------------------------------------------------------------------

    def _integrate(self, generator: Component, until: datetime) -> None:
        """Integrate a generator's run time, energy and fuel up to a new measurement of it.

        Driven by the times its readings were measured, not by when they arrived or by the
        clock: a bridge replaying an hour of queued readings gives the same figures as live
        delivery, and nothing is integrated across a gap in the measurements longer than the
        staleness timeout (a controller that was silent, Home Assistant not running).
        """
        run = self.run(generator)
        last = run.integrated_to
        if last is not None and until - last < INTEGRATION_STEP:
            return
        run.integrated_to = until
        if last is None or until - last > self.settings.stale_timeout:
            run.forget_rise()  # not known to have held across the gap
            # Nor is what it burned: the level's fall across the gap is not the rate's error.
            self.fuel.estimate.unburned = True
            return
        elapsed = until - last
        hours = elapsed.total_seconds() / 3600
        outage = self.outages.current
        if self.power.running(generator, last):
            run.seconds += elapsed.total_seconds()
            if outage is not None and self._first_running(last) is generator:
                # Time with any generator running, not the sum over generators.
                outage.generator_seconds += elapsed.total_seconds()
        power = self.number(generator, "power", last)
        if power is not None and power > 0:
            run.kwh += power * hours
        rate = self.fuel.rate(generator, last)
        if rate:
            run.fuel += rate * hours
            if outage is not None:
                outage.fuel_used += rate * hours
                if self.fuel.unrated_running(last):
                    outage.fuel_beside_unrated += rate * hours
        elif rate is None and outage is not None and self.power.running(generator, last):
            outage.unrated_seconds += elapsed.total_seconds()
        self.fuel.integrate(generator, run, rate, last, until)
        self.revision += 1

    def _first_running(self, at: datetime) -> Component | None:
        return next((g for g in self.generators() if self.power.running(g, at)), None)

    def _evaluate(
        self,
        now: datetime,
        freezers: Iterable[Component] | None = None,
        kinds: set[Kind] | None = None,
        fuel: bool = True,
    ) -> list[SiteEvent]:
        """Move every alarm along; `freezers`: only these (all when None).

        `kinds`: what the readings were about; only the alarms that follow from those move on
        (all when None, as at every tick), so a freezer reading does not recompute fuel.
        `fuel`: whether they were about something the fuel figures read (`FUEL_INPUTS`): a
        coolant temperature does not recompute them either.
        """
        events: list[SiteEvent] = []
        power = kinds is None or not kinds.isdisjoint(_POWER_KINDS)
        if power:
            self._evaluate_grid(now, events)
            self.freezers.observe_power(now)
            for generator in self.generators():
                self._evaluate_generator(generator, now, events)
        if kinds is None or fuel:
            self.fuel.evaluate(now, events, every=kinds is None)
        if power or (kinds is not None and Kind.STATION in kinds):
            self.station.evaluate(now)
        for freezer in self.of_kind(Kind.FREEZER) if freezers is None else freezers:
            self.freezers.evaluate(freezer, now, events)
        if events:
            self.revision += 1
        return events

    def _evaluate_grid(self, now: datetime, events: list[SiteEvent]) -> None:
        present = self.power.grid_present(now)
        if present is False and self.outages.current is None:
            start = self.power.grid_change_time(now)
            self.outages.begin(start)
            self.coldchain.begin(start, self)
            events.append(
                SiteEvent(EventType.GRID_LOST, "grid", "main", start, self.fuel.figures(now))
            )
        elif present is True and self.outages.current is not None:
            end = self.power.grid_change_time(now)
            # Beside generators with a rate, one without burns the level's fall less theirs:
            # the level's own fall per hour run holds their burn as well, also from outages
            # before this one. Where none has a rate the two are one; until the first has
            # been learnt (a state saved before it was kept), the level's own fall.
            rated = self.outages.current.fuel_used > 0
            unrated = self.fuel.unrated_rate() or (0.0 if rated else self.fuel.level_rate())
            outage = self.outages.end(end, self.fuel.rate_correction(now), unrated)
            assert outage is not None  # there was a present outage to end
            self.coldchain.restored(end, self)
            minutes = (end - outage.start).total_seconds() / 60
            events.append(
                SiteEvent(
                    EventType.GRID_RESTORED,
                    "grid",
                    "main",
                    end,
                    {"outage_minutes": round(minutes, 1), "fuel_used": round(outage.fuel_used, 1)},
                )
            )

    def _evaluate_generator(
        self, generator: Component, now: datetime, events: list[SiteEvent]
    ) -> None:
        run = self.run(generator)
        running = self.power.running(generator, now)
        if running is not None and run.was_running is not None and running != run.was_running:
            kind = EventType.GENERATOR_STARTED if running else EventType.GENERATOR_STOPPED
            if running:
                run.forget_rate()  # a new run: forget the last run's consumption
            events.append(SiteEvent(kind, "generator", generator.id, now, self.fuel.figures(now)))
        if running is not None:
            run.was_running = running
            run.watched_since = run.watched_since or now
            if running:
                run.last_run = now
        state = self.fresh(generator, "state", now)
        alarm = self.fresh(generator, "alarm", now)
        fault = state == "fault" or alarm in ("shutdown", "trip")
        if fault and not run.was_fault:
            events.append(
                SiteEvent(
                    EventType.GENERATOR_FAULT,
                    "generator",
                    generator.id,
                    now,
                    {"generator_alarm": alarm, "generator_state": state, **self.fuel.figures(now)},
                )
            )
        if state is not None or alarm is not None:
            run.was_fault = fault

    # -- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything that decides what is shown or raised, as one storable value."""
        return {
            "version": SNAPSHOT_VERSION,
            "components": [c.snapshot() for c in self.components.values()],
            "nodes": dict(self.nodes),
            "nodes_told": dict(self.nodes_told),
            "nodes_away": {node: iso(away) for node, away in self.nodes_away.items()},
            **self.outages.snapshot(),
            "generators": {gid: run.snapshot() for gid, run in self.runs.items()},
            **self.fuel.snapshot(),
            "freezers": self.freezers.snapshot(),
            "freezer_power": self.freezers.power_snapshot(),
            "last_reading": iso(self.last_reading),
            "exercise_snoozed_until": iso(self.exercise_snoozed_until),
            "station": self.station.snapshot(),
            "notice": None if self.notice is None else self.notice.as_dict(),
            "coldchain": self.coldchain.snapshot(),
            "removed": [[*key, _meta_snapshot(meta)] for key, meta in self.removed.items()],
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Read a snapshot back, of this version or an earlier one; damage is refused whole,
        but for a last reading the vocabulary refuses (one a later release no longer takes,
        say): that one is left out, said in `dropped_readings`."""
        dropped: list[str] = []
        try:
            components = [Component.from_snapshot(c, dropped) for c in data.get("components") or ()]
            nodes = {str(node): bool(up) for node, up in dict(data.get("nodes") or {}).items()}
            told = dict(data.get("nodes_told") or nodes)
            nodes_told = {str(node): bool(up) for node, up in told.items()}
            nodes_away = {
                str(node): away
                for node, when in dict(data.get("nodes_away") or {}).items()
                if (away := optional_time(when)) is not None
            }
            outages = Outages()
            outages.restore(data)
            runs = {
                str(gid): GeneratorRun.from_snapshot(run)
                for gid, run in dict(data.get("generators") or {}).items()
            }
            if "version" not in data:
                runs = _runs_of_first_version(data)
            fuel = Fuel(self)
            fuel.restore(data)
            freezers = Freezers(self)
            freezers.restore(dict(data.get("freezers") or {}))
            freezers.restore_power(dict(data.get("freezer_power") or {}))
            last_reading = optional_time(data.get("last_reading"))
            snoozed = optional_time(data.get("exercise_snoozed_until"))
            station = Station(self)
            station.restore(dict(data.get("station") or {}))
            notice = Notice.from_dict(data["notice"]) if data.get("notice") else None
            coldchain = ColdChain()
            # The finished records are stored on their own (the coordinator restores them).
            coldchain.records = self.coldchain.records
            coldchain.records_revision = self.coldchain.records_revision
            coldchain.restore(dict(data.get("coldchain") or {}))
            removed = {
                (str(kind), str(component_id)): _meta_from_snapshot(kind, component_id, meta)
                for kind, component_id, meta in data.get("removed") or ()
            }
            check_figures(
                {
                    "components": [c.snapshot() for c in components],
                    **outages.snapshot(),
                    "generators": {gid: run.snapshot() for gid, run in runs.items()},
                    **fuel.snapshot(),
                    "freezers": freezers.snapshot(),
                    "freezer_power": freezers.power_snapshot(),
                    "station": station.snapshot(),
                    "coldchain": coldchain.snapshot(),
                },
                "stored",
            )
        except (AttributeError, ArithmeticError, KeyError, TypeError, ValueError) as err:
            # ArithmeticError: a JSON integer too large for a float, say.
            raise ValueError(f"stored site state is damaged: {err}") from err
        self.components = {c.key: c for c in components}
        self.removed = removed
        self.dropped_readings = dropped
        for each in Kind:
            self._index(each)
        self.nodes, self.nodes_told, self.nodes_away = nodes, nodes_told, nodes_away
        self.nodes_held = {}
        self.outages, self.runs, self.fuel, self.freezers = outages, runs, fuel, freezers
        self.coldchain = coldchain
        self.revision += 1
        self.last_reading = last_reading
        self.exercise_snoozed_until = snoozed
        self.station, self.notice = station, notice


def _meta_snapshot(meta: Meta | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {
        "name": meta.name,
        "node": meta.node,
        "settings": dict(meta.settings),
        "provides": list(meta.provides),
    }


def _meta_from_snapshot(kind: Any, component_id: Any, data: Any) -> Meta | None:
    if data is None:
        return None
    return Meta(
        str(kind),
        str(component_id),
        None if data["name"] is None else str(data["name"]),
        None if data["node"] is None else str(data["node"]),
        {str(key): float(value) for key, value in dict(data["settings"]).items()},
        tuple(str(service) for service in data["provides"]),
    )


def _runs_of_first_version(data: dict[str, Any]) -> dict[str, GeneratorRun]:
    """The first storage form kept one set of integrated figures, for the generator `main`."""
    run = GeneratorRun(
        seconds=float(data.get("generator_seconds", 0.0)),
        kwh=float(data.get("generator_kwh", 0.0)),
        fuel=float(data.get("fuel_used", 0.0)),
        watched_since=optional_time(data.get("generator_watched_since")),
        last_run=optional_time(data.get("generator_last_run")),
    )
    return {"main": run}
