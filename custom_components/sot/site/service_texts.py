"""What the site offers in words, in English, Swedish or Norwegian Bokmål.

"Open on backup power: food, diesel, card payment, warm room" for the summary entity and the
public display, and the reasons a service is limited or closed. Pure: no Home Assistant
imports. The public display is Swedish by default; a Norwegian neighbour reads Bokmål.
"""

from __future__ import annotations

import math
from typing import Final

from .alarm_texts import language_of
from .power import PowerSource
from .services import Offer, Product, Reason, ReasonCode, Service, Status

_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "food": "food",
        "fuel": "fuel",
        "card_payment": "card payment",
        "cash": "cash",
        "warm_room": "warm room",
        "communications": "internet and phone",
        "open": "Open",
        "open_backup": "Open on backup power",
        "open_no_power": "Open without power",
        "closed": "Closed",
        "closed_no_power": "Closed: no power",
        "unknown": "No data from the site",
        "limited": "limited",
        "closed_list": "closed",
        # Reasons.
        "no_power": "no power",
        "power_unknown": "power source unknown",
        "no_data": "no data from {subject}",
        "off": "{subject} off",
        "offline": "{subject} offline",
        "freezer_warning": "{subject} above its warning limit",
        "freezer_critical": "{subject} above its critical limit",
        "pump_off": "{subject}: pump without power",
        "not_available": "{subject} not for sale",
        "at_reserve": "{subject} down to its reserve",
        "room_cold": "{subject} only {value} °C",
        "weak_signal": "weak mobile signal ({value} dBm)",
    },
    "sv": {
        "food": "livsmedel",
        "fuel": "drivmedel",
        "card_payment": "kortbetalning",
        "cash": "kontanter",
        "warm_room": "värmestuga",
        "communications": "internet och telefon",
        "open": "Öppet",
        "open_backup": "Öppet på reservkraft",
        "open_no_power": "Öppet utan ström",
        "closed": "Stängt",
        "closed_no_power": "Stängt: ingen ström",
        "unknown": "Inga uppgifter från platsen",
        "limited": "begränsat",
        "closed_list": "stängt",
        "no_power": "ingen ström",
        "power_unknown": "okänd strömkälla",
        "no_data": "inga uppgifter från {subject}",
        "off": "{subject} avstängd",
        "offline": "{subject} nere",
        "freezer_warning": "{subject} över varningsgränsen",
        "freezer_critical": "{subject} över den kritiska gränsen",
        "pump_off": "{subject}: pumpen saknar ström",
        "not_available": "{subject} säljs inte",
        "at_reserve": "{subject} nere på reserven",
        "room_cold": "{subject} bara {value} °C",
        "weak_signal": "svag mobilsignal ({value} dBm)",
    },
    "nb": {
        "food": "dagligvarer",
        "fuel": "drivstoff",
        "card_payment": "kortbetaling",
        "cash": "kontanter",
        "warm_room": "varmestue",
        "communications": "internett og telefon",
        "open": "Åpent",
        "open_backup": "Åpent på reservestrøm",
        "open_no_power": "Åpent uten strøm",
        "closed": "Stengt",
        "closed_no_power": "Stengt: ingen strøm",
        "unknown": "Ingen data fra stedet",
        "limited": "begrenset",
        "closed_list": "stengt",
        "no_power": "ingen strøm",
        "power_unknown": "ukjent strømkilde",
        "no_data": "ingen data fra {subject}",
        "off": "{subject} avslått",
        "offline": "{subject} nede",
        "freezer_warning": "{subject} over varslingsgrensen",
        "freezer_critical": "{subject} over den kritiske grensen",
        "pump_off": "{subject}: pumpen mangler strøm",
        "not_available": "{subject} selges ikke",
        "at_reserve": "{subject} nede på reserven",
        "room_cold": "{subject} bare {value} °C",
        "weak_signal": "svakt mobilsignal ({value} dBm)",
    },
}

# What a component is called when its meta gives no name (as its device is named).
_KINDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "grid": "grid",
        "generator": "generator",
        "tank": "tank",
        "freezer": "freezer",
        "load": "load",
        "station": "fuel",
        "network": "network",
        "room": "room",
    },
    "sv": {
        "grid": "elnät",
        "generator": "elverk",
        "tank": "tank",
        "freezer": "frys",
        "load": "last",
        "station": "drivmedel",
        "network": "nätverk",
        "room": "rum",
    },
    "nb": {
        "grid": "strømnett",
        "generator": "aggregat",
        "tank": "tank",
        "freezer": "fryser",
        "load": "last",
        "station": "drivstoff",
        "network": "nettverk",
        "room": "rom",
    },
}

# The usual products, by their usual ids: what a pump's label says.
_PRODUCTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "diesel": "diesel",
        "petrol95": "petrol 95",
        "petrol98": "petrol 98",
        "hvo": "HVO",
        "e85": "E85",
        "adblue": "AdBlue",
    },
    "sv": {
        "diesel": "diesel",
        "petrol95": "bensin 95",
        "petrol98": "bensin 98",
        "hvo": "HVO",
        "e85": "E85",
        "adblue": "AdBlue",
    },
    "nb": {
        "diesel": "diesel",
        "petrol95": "bensin 95",
        "petrol98": "bensin 98",
        "hvo": "HVO",
        "e85": "E85",
        "adblue": "AdBlue",
    },
}
LANGUAGES: Final = tuple(_WORDS)


def product_name(item: Product, language: str | None) -> str:
    """A product as the pump's label says it: its meta name, a usual product, else its id."""
    if item.name:
        return item.name
    return _PRODUCTS[language_of(language)].get(item.id, item.id)


def subject(reason: Reason, language: str | None) -> str:
    """The component a reason is about, by name."""
    lang = language_of(language)
    if reason.name:
        return reason.name
    if reason.kind is None:
        return ""
    if reason.kind == "station" and reason.id in _PRODUCTS[lang]:
        return _PRODUCTS[lang][reason.id]
    kind = _KINDS[lang].get(reason.kind, reason.kind)
    return kind if reason.id == "main" else f"{kind} {reason.id}"


def describe_reason(reason: Reason, language: str | None) -> str:
    """One reason in a few words: `Frys 2 above its warning limit`."""
    lang = language_of(language)
    shown = reason.value
    if shown is not None and reason.code is ReasonCode.ROOM_COLD:
        # Rounded down: a room below its minimum never reads as at it (17.6 is not 18).
        shown = math.floor(shown)
    value = "?" if shown is None else f"{shown:.0f}".replace("-", "−")
    return _WORDS[lang][reason.code.value].format(subject=subject(reason, lang), value=value)


def describe_service(service: Service, language: str | None) -> str:
    """Why a service is as it is: its reasons, or nothing when it is simply open."""
    return ", ".join(describe_reason(r, language) for r in service.reasons)


def service_name(name: str, language: str | None) -> str:
    """A service in the words of the summary: `card payment`, `värmestuga`."""
    return _WORDS[language_of(language)][name]


def _named(service: Service, wanted: Status, language: str) -> list[str]:
    """A service as the summary lists it; fuel as the products in that state."""
    if service.name == "fuel" and service.products:
        return [product_name(p, language) for p in service.products if p.status is wanted]
    return [service_name(service.name, language)] if service.status is wanted else []


def summary(offer: Offer, language: str | None) -> str:
    """The site in a sentence: `Öppet på reservkraft: livsmedel, diesel, kortbetalning`."""
    lang = language_of(language)
    words = _WORDS[lang]
    if offer.status is Status.CLOSED:
        return words["closed_no_power" if offer.power is PowerSource.NONE else "closed"]
    if offer.status is None:
        return words["unknown"]
    head = words["open"]
    if offer.power is PowerSource.GENERATOR:
        head = words["open_backup"]
    elif offer.power is PowerSource.NONE:
        head = words["open_no_power"]
    opened: list[str] = []
    limited: list[str] = []
    closed: list[str] = []
    for service in offer.services.values():
        opened += _named(service, Status.OPEN, lang)
        limited += _named(service, Status.LIMITED, lang)
        closed += _named(service, Status.CLOSED, lang)
    text = f"{head}: {', '.join(opened)}" if opened else head
    if limited:
        text += f"; {words['limited']}: {', '.join(limited)}"
    if closed:
        text += f"; {words['closed_list']}: {', '.join(closed)}"
    return text
