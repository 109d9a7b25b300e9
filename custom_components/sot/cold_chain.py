"""The cold-chain record in Home Assistant: its store, its action, its CSV download.

The record itself is collected by the site model (`site/coldchain.py`). Here:

- the finished records are stored on their own, `.storage/sot.<entry id>.coldchain`, written a
  second after they change (an outage's record closed, old ones pruned) and when the site
  stops, never with the site's other state;
- the action `sot.cold_chain_record` returns them (response data only);
- `/api/sot/<entry id>/coldchain/<outage start>.csv` serves one outage as CSV and
  `/api/sot/<entry id>/coldchain.csv` all of them, for any logged-in user (an `Authorization`
  header, or a link signed by Home Assistant: the site's cold-chain sensor carries signed links
  a dashboard can show, each valid for a day and renewed long before it runs out).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Collection
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import voluptuous as vol
from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .alarm_actions import ATTR_CONFIG_ENTRY_ID, loaded_site
from .const import DOMAIN, STORAGE_VERSION
from .site.coldchain import RETENTION, ColdChain, OutageRecord, live_freezers, records_csv
from .site.components import check_figures

if TYPE_CHECKING:
    from .coordinator import SiteCoordinator

_LOGGER = logging.getLogger(__name__)

SERVICE_COLD_CHAIN_RECORD: Final = "cold_chain_record"
ATTR_SINCE: Final = "since"
ATTR_UNTIL: Final = "until"
# Signed download links: valid this long, renewed when less than half of it is left.
LINK_VALIDITY: Final = timedelta(days=1)
_SIGNED_LINKS: Final = f"{DOMAIN}_signed_links"
# Home Assistant languages whose spreadsheets write decimals with a comma and so expect a
# semicolon between a CSV file's fields (Excel in Sweden puts a comma-separated line in one
# cell and reads -11.1 as text).
DECIMAL_COMMA_LANGUAGES: Final = frozenset(
    {"sv", "nb", "nn", "no", "da", "fi", "is", "de", "nl", "fr", "es", "it", "pt", "pl", "cs"}
)


def store_key(entry_id: str) -> str:
    """The storage key of a site's cold-chain records."""
    return f"{DOMAIN}.{entry_id}.coldchain"


def coldchain_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store holding a site's finished cold-chain records."""
    return Store(hass, STORAGE_VERSION, store_key(entry_id))


def restore_records(coldchain: ColdChain, stored: dict[str, Any] | None, site: str) -> None:
    """Read the stored records into `coldchain`; a damaged record is skipped, not the rest."""
    if not stored:
        return
    good: list[dict[str, Any]] = []
    for record in list(stored.get("records") or ()):
        try:
            check_figures(OutageRecord.from_dict(record).as_dict(), "record")
        except (AttributeError, ArithmeticError, KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("%s: a stored cold-chain record is damaged (%s): skipped", site, err)
            continue
        good.append(record)
    coldchain.restore_records({"records": good})


def csv_path(entry_id: str, key: str | None = None) -> str:
    """The download path of one outage's record (`key`: its start, `outage_key`), or all."""
    if key is None:
        return f"/api/{DOMAIN}/{entry_id}/coldchain.csv"
    return f"/api/{DOMAIN}/{entry_id}/coldchain/{key}.csv"


def signed_link(hass: HomeAssistant, path: str) -> str | None:
    """`path` signed for a browser without an `Authorization` header (a dashboard's link).

    Signed for Home Assistant's read-only content user, as media and camera links are; the
    same link is handed out until less than half of its validity is left, so the entity
    showing it does not change with every update. None without Home Assistant's HTTP server.
    """
    if "http" not in hass.config.components:
        return None
    links: dict[str, tuple[str, float]] = hass.data.setdefault(_SIGNED_LINKS, {})
    now = time.time()
    known = links.get(path)
    if known is not None and known[1] - now > LINK_VALIDITY.total_seconds() / 2:
        return known[0]
    signed = async_sign_path(hass, path, LINK_VALIDITY, use_content_user=True)
    links[path] = (signed, now + LINK_VALIDITY.total_seconds())
    return signed


def record_response(
    entry_id: str, record: OutageRecord, now: datetime, live: Collection[str]
) -> dict[str, Any]:
    """One record as the action returns it (an open one's minutes without data up to `now`)."""
    return {**record.summary(now, live), "csv_path": csv_path(entry_id, record.key)}


def async_setup_cold_chain(hass: HomeAssistant) -> None:
    """Register the action and the download views (once, for every site)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_COLD_CHAIN_RECORD,
        _async_cold_chain_record,
        schema=vol.Schema(
            {
                vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
                vol.Optional(ATTR_SINCE): cv.datetime,
                vol.Optional(ATTR_UNTIL): cv.datetime,
            }
        ),
        supports_response=SupportsResponse.ONLY,
    )
    hass.http.register_view(ColdChainCsvView())
    hass.http.register_view(ColdChainAllCsvView())


def _site_coldchain(hass: HomeAssistant, entry_id: str) -> SiteCoordinator | None:
    """A loaded site's coordinator, None for anything else."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    coordinator: SiteCoordinator = entry.runtime_data
    return coordinator


async def _async_cold_chain_record(call: ServiceCall) -> ServiceResponse:
    """The site's cold-chain records, optionally of the outages that began in a period."""
    hass = call.hass
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = loaded_site(hass, entry_id)
    since = _utc(call.data.get(ATTR_SINCE))
    until = _utc(call.data.get(ATTR_UNTIL))
    if since is not None and until is not None and until < since:
        # No outage can have begun in it: an empty answer would read as "no outages".
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="period_reversed",
            translation_placeholders={
                "since": call.data[ATTR_SINCE].isoformat(),
                "until": call.data[ATTR_UNTIL].isoformat(),
            },
        )
    coordinator = entry.runtime_data
    now = coordinator.now()
    live = live_freezers(coordinator.site, now)
    records: list[Any] = [
        record_response(entry_id, record, now, live)
        for record in coordinator.site.coldchain.all_records()
        if (since is None or record.start >= since) and (until is None or record.start <= until)
    ]
    return {
        "site_id": coordinator.site_id,
        "site_name": coordinator.site_name,
        "retention_days": RETENTION.days,
        "outages": records,
    }


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else dt_util.as_utc(moment)


class ColdChainCsvView(HomeAssistantView):
    """One outage's cold-chain record as a CSV file."""

    url = "/api/sot/{entry_id}/coldchain/{key}.csv"
    name = "api:sot:coldchain"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, key: str) -> web.Response:
        """The record of the outage that started at `key` (UTC, `20261122T100000Z`)."""
        hass: HomeAssistant = request.app[KEY_HASS]
        found = _site_coldchain(hass, entry_id)
        record = None if found is None else found.site.coldchain.find(key)
        if found is None or record is None:
            return web.Response(status=HTTPStatus.NOT_FOUND, text="No such cold-chain record")
        return _csv_response(found, [record], key)


class ColdChainAllCsvView(HomeAssistantView):
    """Every cold-chain record a site keeps (a year and more) as one CSV file."""

    url = "/api/sot/{entry_id}/coldchain.csv"
    name = "api:sot:coldchain:all"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """All of the site's records, oldest first."""
        hass: HomeAssistant = request.app[KEY_HASS]
        found = _site_coldchain(hass, entry_id)
        if found is None:
            return web.Response(status=HTTPStatus.NOT_FOUND, text="No such site")
        return _csv_response(found, found.site.coldchain.all_records(), "all")


def _csv_response(
    coordinator: SiteCoordinator, records: list[OutageRecord], what: str
) -> web.Response:
    zone = dt_util.get_default_time_zone()
    site = coordinator.config_entry.title
    language = coordinator.hass.config.language.split("-")[0].lower()
    now = coordinator.now()
    text = records_csv(
        records,
        site,
        zone,
        now,
        live_freezers(coordinator.site, now),
        decimal_comma=language in DECIMAL_COMMA_LANGUAGES,
    )
    # With a byte order mark, so spreadsheet programs read the names (Frys 2 – glasdörr) right.
    body = "\ufeff" + text
    name = f"{_file_part(site)}-coldchain-{what}.csv"
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": _attachment(name)},
    )


def _attachment(name: str) -> str:
    """A Content-Disposition for a file name in any letters (RFC 6266): browsers take the
    UTF-8 form; the plain one, for those that do not, has the letters without their marks."""
    marked = unicodedata.normalize("NFKD", name.translate(_UNMARKED))
    plain = "".join(
        ch if ch.isalnum() or ch in "-_." else "-"
        for ch in marked.encode("ascii", "ignore").decode("ascii")
    )
    if plain == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


# Letters Unicode does not write as a plain letter and a mark.
_UNMARKED = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ł": "l"})


def _file_part(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text.lower())
    return kept.strip("-") or "site"
