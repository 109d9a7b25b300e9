"""What the site's storm-readiness and cold-chain sensors show (their rows are in sensor.py).

Both need Home Assistant beyond the model: the readiness texts are in the user's language and
the service date is a local date; the cold-chain sensor hands out signed download links.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .cold_chain import csv_path, signed_link
from .site.coldchain import OutageRecord, freezer_summary, live_freezers
from .site.model import Component, Site
from .site.readiness import assess
from .site.vocabulary import Kind
from .site_memo import SiteMemo

if TYPE_CHECKING:
    from .coordinator import SiteCoordinator


# The site's storm readiness, the service date read in local time: the sensor's state and
# attributes are read one after the other at every refresh, and the rules look at every
# component.
readiness = SiteMemo(lambda site, now: assess(site, now, dt_util.as_local(now).date()))


def readiness_state(site: Site, _: Component | None, now: datetime) -> StateType:
    """ready / check / not_ready."""
    return readiness(site, now).state.value


def readiness_attributes(coordinator: SiteCoordinator, now: datetime) -> dict[str, Any]:
    """The reasons, as data and as texts in Home Assistant's language."""
    language = coordinator.hass.config.language
    return readiness(coordinator.site, now).attributes(language)


def _latest(site: Site) -> OutageRecord | None:
    records = site.coldchain.all_records()
    return records[-1] if records else None


def cold_chain_state(site: Site, _: Component | None, now: datetime) -> datetime | None:
    """When the last outage recorded began (a timestamp sensor's state)."""
    latest = _latest(site)
    return None if latest is None else latest.start


def cold_chain_exists(coordinator: SiteCoordinator, _: Component | None) -> bool:
    """The site has freezers, or had them in an outage."""
    site = coordinator.site
    return bool(site.of_kind(Kind.FREEZER)) or bool(site.coldchain.all_records())


def cold_chain_attributes(coordinator: SiteCoordinator, now: datetime) -> dict[str, Any]:
    """The last outage's record, with links to its CSV and to the whole year's."""
    site = coordinator.site
    entry_id = coordinator.config_entry.entry_id
    latest = _latest(site)
    attributes: dict[str, Any] = {
        "outages_recorded": len(site.coldchain.all_records()),
        "all_csv_url": signed_link(coordinator.hass, csv_path(entry_id)),
    }
    if latest is None:
        return attributes
    live = live_freezers(site, now)
    summary = [freezer_summary(latest, f, now, live) for f in latest.freezers.values()]
    highest = [f["highest_temperature"] for f in summary if f["highest_temperature"] is not None]
    return {
        "outage_start": latest.start.isoformat(),
        "power_restored": None if latest.end is None else latest.end.isoformat(),
        "record_closed": None if latest.closed is None else latest.closed.isoformat(),
        "highest_temperature": max(highest, default=None),
        "minutes_above_warning": max((f["minutes_above_warning"] for f in summary), default=0),
        "minutes_above_critical": max((f["minutes_above_critical"] for f in summary), default=0),
        "freezers": summary,
        "csv_path": csv_path(entry_id, latest.key),
        "csv_url": signed_link(coordinator.hass, csv_path(entry_id, latest.key)),
        **attributes,
    }
