"""What the SOT point offers people right now: food, fuel, card payment, cash, a warm room,
communications. Each service is open, limited or closed, with the reasons.

Pure rules over the site model; nothing here keeps state. Which components provide a service:

- **food**: the loads (or other components) whose meta says `"provides": "food"` (the store's
  lights and tills, the chilled cases), and every freezer: a freezer above its warning or
  critical limit limits the service. A site with freezers and no declared provider counts the
  site's power as the store's.
- **fuel**: every station product (`station/<id>`), each open when its pump has power (the
  product's own `pump`, else the loads providing `fuel`, else the site's power), it is not
  taken off sale (`available`) and its stock is above its reserve.
- **card_payment**, **cash**: the components providing them (a card terminal or its router on
  the network, a till's load).
- **warm_room**: the heaters and the rooms providing it (a site's other rooms, the store the
  freezers stand in, are not the warm room): a room warm enough (its `minimum`, 18 °C) is open
  whatever the heater does; colder is limited while a heater runs or another room is warm,
  closed when no heater runs (or none is declared); a room whose thermometer is silent limits
  the service.
- **communications**: the routers and modems providing it; a weak mobile signal limits it.

A provider is up when it says so: a load when its relay is on and the site has power, a network
device when it is online (it may run on its own battery). A service is closed when none of its
providers is up, limited when some are not (or a condition above fails), open when all are;
unknown (None) when none is up and some cannot be told. A service nothing provides is not
offered and does not appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from .components import Component
from .freezers import FreezerStatus
from .power import PowerSource
from .vocabulary import SERVICES, Kind

if TYPE_CHECKING:
    from .model import Site

# WHO's housing and health guidelines (2018): 18 °C indoors protects the health of the general
# population in cold seasons; a room's meta `minimum` moves it.
ROOM_MINIMUM_C: Final = 18.0
# A mobile signal at or below this (dBm, RSSI) is poor: calls drop, data stalls.
WEAK_SIGNAL_DBM: Final = -100.0
# A load drawing more than this (kW) has power, whatever the site's power source says.
DRAWING_KW: Final = 0.01
# Ways to pay, not reasons to come: with nothing to buy, a card terminal online on its own
# battery does not make the site open.
PAYMENT: Final = frozenset({"card_payment", "cash"})


class Status(StrEnum):
    """How far a service is offered."""

    OPEN = "open"
    LIMITED = "limited"
    CLOSED = "closed"


class ReasonCode(StrEnum):
    """Why a service is not simply open."""

    NO_POWER = "no_power"
    POWER_UNKNOWN = "power_unknown"
    NO_DATA = "no_data"
    OFF = "off"
    OFFLINE = "offline"
    FREEZER_WARNING = "freezer_warning"
    FREEZER_CRITICAL = "freezer_critical"
    PUMP_OFF = "pump_off"
    NOT_AVAILABLE = "not_available"
    AT_RESERVE = "at_reserve"
    ROOM_COLD = "room_cold"
    WEAK_SIGNAL = "weak_signal"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason, with the component it is about (None: the site as a whole)."""

    code: ReasonCode
    kind: str | None = None
    id: str | None = None
    # The component's meta name, when it has one.
    name: str | None = None
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """One fuel the station sells."""

    id: str
    name: str | None
    status: Status | None
    reasons: tuple[Reason, ...]
    # Litres above the reserve; None without a gauge or while it is silent.
    for_sale: float | None


@dataclass(frozen=True, slots=True)
class Service:
    """One service and why it is as it is."""

    name: str
    status: Status | None
    reasons: tuple[Reason, ...] = ()
    products: tuple[Product, ...] = ()


@dataclass(frozen=True, slots=True)
class Offer:
    """Everything the site offers now, and on which power."""

    power: PowerSource | None
    status: Status | None
    services: dict[str, Service] = field(default_factory=dict)


Check = tuple[bool | None, Reason | None]


def _reason(code: ReasonCode, component: Component, value: float | None = None) -> Reason:
    return Reason(code, component.kind.value, component.id, component.name, value)


def providers(site: Site, service: str) -> list[Component]:
    """The components whose meta says they provide `service`, by kind and id."""
    return sorted(
        (c for c in site.components.values() if service in c.provides),
        key=lambda c: (c.kind.value, c.id),
    )


def _site_power(site: Site, now: datetime) -> Check:
    source = site.power.source(now)
    if source is None:
        return None, Reason(ReasonCode.POWER_UNKNOWN)
    if source is PowerSource.NONE:
        return False, Reason(ReasonCode.NO_POWER)
    return True, None


def provider_up(site: Site, component: Component, now: datetime) -> Check:
    """Whether one provider works now, and if not, why."""
    if component.kind is Kind.NETWORK:
        online = site.flag(component, "online", now)
        if online is None:
            return None, _reason(ReasonCode.NO_DATA, component)
        return (True, None) if online else (False, _reason(ReasonCode.OFFLINE, component))
    if component.kind is Kind.STATION and "pump" in component.reported:
        pump = site.flag(component, "pump", now)
        if pump is None:
            return None, _reason(ReasonCode.NO_DATA, component)
        return (True, None) if pump else (False, _reason(ReasonCode.PUMP_OFF, component))
    if component.kind is Kind.LOAD:
        state = site.flag(component, "state", now)
        if state is None:
            return None, _reason(ReasonCode.NO_DATA, component)
        if not state:
            return False, _reason(ReasonCode.OFF, component)
        drawing = site.number(component, "power", now)
        if drawing is not None and drawing > DRAWING_KW:
            return True, None
        return _site_power(site, now)
    if component.kind is Kind.STATION:
        return _site_power(site, now)
    if not site.available(component, now):
        return None, _reason(ReasonCode.NO_DATA, component)
    return True, None


def combine(checks: Sequence[Check]) -> tuple[Status | None, tuple[Reason, ...]]:
    """Closed when no provider is up, limited when some are not, open when all are."""
    ups = [up for up, _ in checks]
    reasons = _unique(reason for _, reason in checks if reason is not None)
    if any(up is True for up in ups):
        return (Status.OPEN if all(up is True for up in ups) else Status.LIMITED), reasons
    if any(up is None for up in ups):
        return None, reasons
    return Status.CLOSED, reasons


def _unique(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))


def _limited(status: Status | None) -> Status | None:
    """An open service with a condition that fails is limited; others stay as they are."""
    return Status.LIMITED if status is Status.OPEN else status


def _by_providers(site: Site, service: str, now: datetime) -> Service | None:
    found = providers(site, service)
    if not found:
        return None
    status, reasons = combine([provider_up(site, c, now) for c in found])
    return Service(service, status, reasons)


def food(site: Site, now: datetime) -> Service | None:
    """The store: its declared providers (else the site's power), and the freezers' limits (a
    freezer whose probe is silent limits it: it may be above them)."""
    stores = providers(site, "food")
    freezers = site.of_kind(Kind.FREEZER)
    if not stores and not freezers:
        return None
    checks = [provider_up(site, c, now) for c in stores] or [_site_power(site, now)]
    status, reasons = combine(checks)
    warm: list[Reason] = []
    for freezer in freezers:
        match site.freezers.status(freezer, now):
            case FreezerStatus.CRITICAL:
                warm.append(_reason(ReasonCode.FREEZER_CRITICAL, freezer))
            case FreezerStatus.WARNING:
                warm.append(_reason(ReasonCode.FREEZER_WARNING, freezer))
            case None:
                # A silent probe: whether its freezer is within its limits is not known.
                warm.append(_reason(ReasonCode.NO_DATA, freezer))
    if warm and status in (Status.OPEN, Status.LIMITED):
        return Service("food", Status.LIMITED, reasons + tuple(warm))
    return Service("food", status, reasons)


def product(site: Site, item: Component, pumps: Check | None, now: datetime) -> Product:
    """One product: its pump has power, it is on sale, its stock is above the reserve."""
    reasons: list[Reason] = []
    if "pump" in item.reported or pumps is None:
        powered, why = provider_up(site, item, now)
    else:
        powered, why = pumps
    if why is not None:
        reasons.append(why)
    available: bool | None = True
    if "available" in item.reported:
        available = site.flag(item, "available", now)
        if available is None:
            reasons.append(_reason(ReasonCode.NO_DATA, item))
        elif not available:
            reasons.append(_reason(ReasonCode.NOT_AVAILABLE, item))
    for_sale: float | None = None
    at_reserve = stock_unknown = False
    if site.station.measures_stock(item):
        for_sale = site.station.for_sale(item, now)
        if for_sale is None:
            stock_unknown = True
            reasons.append(_reason(ReasonCode.NO_DATA, item))
        elif for_sale <= 0:
            at_reserve = True
            reasons.append(_reason(ReasonCode.AT_RESERVE, item))
    status: Status | None
    if powered is False or available is False or at_reserve:
        status = Status.CLOSED
    elif powered is None:
        status = None
    elif available is None or stock_unknown or why is not None:
        # Powered, with a reason all the same: some of the pumps' circuits are off or silent.
        status = Status.LIMITED
    else:
        status = Status.OPEN
    return Product(item.id, item.name, status, _unique(reasons), for_sale)


def fuel(site: Site, now: datetime) -> Service | None:
    """Every product the station sells; with none, the pumps the site declares."""
    items = site.station.products()
    pumps = providers(site, "fuel")
    if not items:
        return _by_providers(site, "fuel", now)
    pump_check: Check | None = None
    if pumps:
        pump_status, pump_reasons = combine([provider_up(site, c, now) for c in pumps])
        up = None if pump_status is None else pump_status is not Status.CLOSED
        pump_check = (up, pump_reasons[0] if pump_reasons else None)
    sold = tuple(product(site, item, pump_check, now) for item in items)
    statuses = [p.status for p in sold]
    status: Status | None
    if any(s in (Status.OPEN, Status.LIMITED) for s in statuses):
        status = Status.OPEN if all(s is Status.OPEN for s in statuses) else Status.LIMITED
    elif any(s is None for s in statuses):
        status = None
    else:
        status = Status.CLOSED
    return Service("fuel", status, _unique(r for p in sold for r in p.reasons), sold)


def communications(site: Site, now: datetime) -> Service | None:
    """Routers and modems online; a weak mobile signal limits the service."""
    service = _by_providers(site, "communications", now)
    if service is None:
        return None
    weak = [
        _reason(ReasonCode.WEAK_SIGNAL, c, signal)
        for c in providers(site, "communications")
        if (signal := site.number(c, "signal", now)) is not None and signal <= WEAK_SIGNAL_DBM
    ]
    if weak and service.status in (Status.OPEN, Status.LIMITED):
        return Service(service.name, Status.LIMITED, service.reasons + tuple(weak))
    return service


def warm_room(site: Site, now: datetime) -> Service | None:
    """Rooms warm enough are open whatever the heaters do; colder ones need a heater on."""
    heaters = [c for c in providers(site, "warm_room") if c.kind is not Kind.ROOM]
    rooms = [c for c in providers(site, "warm_room") if c.kind is Kind.ROOM]
    if not heaters and not rooms:
        return None
    heat: tuple[Status | None, tuple[Reason, ...]] | None = None
    if heaters:
        heat = combine([provider_up(site, c, now) for c in heaters])
    cold: list[Reason] = []
    silent: list[Reason] = []
    for room in rooms:
        temperature = site.number(room, "temperature", now)
        if temperature is None:
            silent.append(_reason(ReasonCode.NO_DATA, room))
        elif temperature < room.settings.get("minimum", ROOM_MINIMUM_C):
            cold.append(_reason(ReasonCode.ROOM_COLD, room, temperature))
    measured = len(rooms) - len(silent)
    if measured and not cold:
        # A room known warm is open; another whose thermometer is silent may not be.
        return Service("warm_room", Status.LIMITED if silent else Status.OPEN, tuple(silent))
    if cold:
        # Colder than its minimum and nothing warming it (no heater on, or none declared): not
        # a warm room, unless another room is known warm.
        status, reasons = (Status.CLOSED, ()) if heat is None else heat
        warming = status is not Status.CLOSED or measured > len(cold)
        return Service(
            "warm_room", Status.LIMITED if warming else Status.CLOSED, reasons + tuple(cold)
        )
    if heat is None:
        return Service("warm_room", None, tuple(silent))
    status, reasons = heat
    if silent:
        return Service("warm_room", _limited(status), reasons + tuple(silent))
    return Service("warm_room", status, reasons)


def service(site: Site, name: str, now: datetime) -> Service | None:
    """One service, or None when the site does not offer it."""
    match name:
        case "food":
            return food(site, now)
        case "fuel":
            return fuel(site, now)
        case "warm_room":
            return warm_room(site, now)
        case "communications":
            return communications(site, now)
        case _:
            return _by_providers(site, name, now)


def offered(site: Site, name: str) -> bool:
    """Whether the site offers `name` at all (whatever its state now)."""
    match name:
        case "food":
            return bool(site.of_kind(Kind.FREEZER)) or bool(providers(site, name))
        case "fuel":
            return bool(site.of_kind(Kind.STATION)) or bool(providers(site, name))
        case _:
            return bool(providers(site, name))


def evaluate(site: Site, now: datetime) -> Offer:
    """Every service the site offers, and the site's state as a whole.

    Open when every service is open, closed when every one is closed (or there is no power
    and no service to speak of), limited in between; unknown when no service is open or
    limited and some cannot be told. The ways to pay (card payment, cash) count only beside
    something to come for: with food, fuel, the warm room and communications all closed the
    site is closed, whatever the card terminal says.
    """
    power = site.power.source(now)
    services = {name: found for name in SERVICES if (found := service(site, name, now)) is not None}
    statuses = [s.status for s in services.values()]
    offers = [s.status for name, s in services.items() if name not in PAYMENT]
    if offers and not any(s in (Status.OPEN, Status.LIMITED) for s in offers):
        statuses = offers
    status: Status | None
    if not statuses:
        status = Status.CLOSED if power is PowerSource.NONE else None
    elif all(s is Status.OPEN for s in statuses):
        status = Status.OPEN
    elif any(s in (Status.OPEN, Status.LIMITED) for s in statuses):
        status = Status.LIMITED
    elif any(s is None for s in statuses):
        status = None
    else:
        status = Status.CLOSED
    return Offer(power, status, services)
