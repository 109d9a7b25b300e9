"""What the services, fuel-for-sale and public-message entities show, from the site model.

The rules are in `site/services.py` and `site/station.py`; this is how their answers become
entity states and attributes, the sentences in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.typing import StateType

from .site.model import Component, Site
from .site.service_texts import describe_reason, describe_service, product_name, summary
from .site.services import Service, Status, evaluate, offered
from .site_memo import SiteMemo

if TYPE_CHECKING:
    from .coordinator import SiteCoordinator

STATUSES = [status.value for status in Status]

# What the site offers: a refresh reads the site's status, every service's state and
# attributes and every product's, one entity after the other, and each service looks at every
# freezer and load; worked out once for all of them.
offer = SiteMemo(evaluate)


def service(site: Site, name: str, now: datetime) -> Service | None:
    """One service at `now` (None when the site does not offer it)."""
    return offer(site, now).services.get(name)


def _value(status: Status | None) -> str | None:
    return None if status is None else status.value


def site_status(site: Site, _: Component | None, now: datetime) -> StateType:
    """The site as a whole: open, limited or closed (unknown when it cannot be told)."""
    return _value(offer(site, now).status)


def site_attributes(coordinator: SiteCoordinator, now: datetime) -> dict[str, Any]:
    """The summary sentence in the user's language, and which services are in which state."""
    found = offer(coordinator.site, now)
    language = coordinator.hass.config.language
    return {
        "summary": summary(found, language),
        "power": None if found.power is None else found.power.value,
        **{
            status.value: [name for name, s in found.services.items() if s.status is status]
            for status in Status
        },
    }


def service_exists(name: str) -> Callable[[SiteCoordinator, Component | None], bool]:
    """A service's entity exists once the site offers it."""
    return lambda coordinator, _: offered(coordinator.site, name)


def service_status(name: str) -> Callable[[Site, Component | None, datetime], StateType]:
    """One service's state."""

    def value(site: Site, _: Component | None, now: datetime) -> StateType:
        found = service(site, name, now)
        return None if found is None else _value(found.status)

    return value


def service_attributes(name: str) -> Callable[[SiteCoordinator, datetime], dict[str, Any]]:
    """Why the service is as it is, in words and as codes; for fuel, each product."""

    def attributes(coordinator: SiteCoordinator, now: datetime) -> dict[str, Any]:
        found = service(coordinator.site, name, now)
        if found is None:
            return {}
        language = coordinator.hass.config.language
        shown: dict[str, Any] = {
            "reason": describe_service(found, language),
            "reasons": [reason.code.value for reason in found.reasons],
        }
        if found.products:
            shown["products"] = _products(coordinator, found, language)
        return shown

    return attributes


def _products(coordinator: SiteCoordinator, fuel: Service, language: str) -> dict[str, Any]:
    station = coordinator.site.station
    return {
        item.id: {
            "name": product_name(item, language),
            "status": _value(item.status),
            "for_sale": None if item.for_sale is None else round(item.for_sale),
            "reason": ", ".join(describe_reason(r, language) for r in item.reasons),
            "sold_last_outage": station.last_sold.get(item.id),
        }
        for item in fuel.products
    }


def product_status(site: Site, component: Component | None, now: datetime) -> StateType:
    """One product's sale: open, limited or closed."""
    fuel = service(site, "fuel", now)
    if component is None or fuel is None:
        return None
    found = next((p for p in fuel.products if p.id == component.id), None)
    return None if found is None else _value(found.status)


def for_sale(site: Site, component: Component | None, now: datetime) -> StateType:
    """Litres above the product's reserve."""
    litres = None if component is None else site.station.for_sale(component, now)
    return None if litres is None else round(litres)


def sold(site: Site, component: Component | None, _: datetime) -> StateType:
    """Litres sold during the present outage (0 without one)."""
    litres = None if component is None else site.station.sold(component)
    return None if litres is None else round(litres, 1)


def measures_stock(_: SiteCoordinator, component: Component | None) -> bool:
    """Figures from the stock exist once the product's gauge has reported."""
    return component is not None and bool(component.reported & {"volume", "level"})
