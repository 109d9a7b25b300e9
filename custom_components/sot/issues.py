"""Repair issues a site raises: what the operator must fix, in Settings → Repairs.

Each issue names its kind in `data["kind"]`, which `repairs.py` reads to pick the fix flow.
An issue is created when its condition starts and deleted when it ends, so the list in Repairs
is always the present state; the ids carry the config entry, so sites never share one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

MODBUS_PROFILE_UNUSABLE: Final = "modbus_profile_unusable"
MODBUS_BUS_CONFLICT: Final = "modbus_bus_conflict"
SITE_SILENT: Final = "site_silent"
GENERATOR_NOT_EXERCISED: Final = "generator_not_exercised"
DEMO_CLOCK: Final = "demo_clock"
STORED_STATE_DAMAGED: Final = "stored_state_damaged"
# The issues a running site raises, withdraws and offers a fix flow for.
FIXABLE: Final = (
    MODBUS_PROFILE_UNUSABLE,
    MODBUS_BUS_CONFLICT,
    SITE_SILENT,
    GENERATOR_NOT_EXERCISED,
)

type IssueData = dict[str, str | int | float | None]


@dataclass(frozen=True, slots=True)
class Issue:
    """One repair issue as the registry shows it."""

    kind: str
    key: str  # tells issues of one kind apart within a site (a subentry, a bus, a generator)
    placeholders: dict[str, str]
    severity: ir.IssueSeverity = ir.IssueSeverity.ERROR
    data: IssueData | None = None


class SiteIssues:
    """The repair issues of one site: raised on a condition, withdrawn when it ends."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Track issues for the config entry `entry_id`."""
        self.hass = hass
        self.entry_id = entry_id
        self._shown: dict[str, Issue] = {}

    def issue_id(self, kind: str, key: str) -> str:
        """The registry id of an issue: kind, site entry and what it is about."""
        return f"{kind}_{self.entry_id}_{key}" if key else f"{kind}_{self.entry_id}"

    @callback
    def raise_issue(self, issue: Issue) -> None:
        """Show `issue` (again only if what it says changed, or if it is gone from Repairs:
        Home Assistant deletes an issue when its fix flow finishes, whether or not the fix
        ended the condition)."""
        issue_id = self.issue_id(issue.kind, issue.key)
        if (
            self._shown.get(issue_id) == issue
            and ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id) is not None
        ):
            return
        self._shown[issue_id] = issue
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            is_persistent=False,
            severity=issue.severity,
            translation_key=issue.kind,
            translation_placeholders=issue.placeholders,
            data={"kind": issue.kind, "entry_id": self.entry_id, **(issue.data or {})},
        )

    @callback
    def clear(self, kind: str, key: str = "") -> None:
        """Withdraw an issue whose condition has ended."""
        issue_id = self.issue_id(kind, key)
        self._shown.pop(issue_id, None)
        ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    @callback
    def keep_only(self, kind: str, keys: set[str]) -> None:
        """Withdraw every issue of `kind` except those about `keys`, also ones of a past run."""
        prefix = f"{kind}_{self.entry_id}"
        registry = ir.async_get(self.hass)
        wanted = {self.issue_id(kind, key) for key in keys}
        for domain, issue_id in list(registry.issues):
            if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in wanted:
                self._shown.pop(issue_id, None)
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    @callback
    def clear_fixable(self) -> None:
        """Withdraw every issue a running site raises and fixes (the site is disabled: their
        fix flows could only say it is not running, and nothing would withdraw them). The
        notice of a lost saved state stays: the file it names is still there."""
        for kind in FIXABLE:
            self.keep_only(kind, set())

    @callback
    def clear_all(self) -> None:
        """Withdraw every issue of the site (the site is being deleted)."""
        registry = ir.async_get(self.hass)
        for domain, issue_id in list(registry.issues):
            if domain == DOMAIN and self.entry_id in issue_id:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._shown.clear()


@callback
def async_show_demo_clock(
    hass: HomeAssistant, entry_id: str, site: str, speed: float
) -> CALLBACK_TYPE:
    """Say, for as long as the site runs, that its time is the demo's storm time.

    Nothing to fix (the demo's configuration sets it, no real site has it), so a notice in
    Repairs rather than an issue with a flow; it goes when the site stops.
    """
    issue_id = f"{DEMO_CLOCK}_{entry_id}"
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=DEMO_CLOCK,
        translation_placeholders={"site": site, "speed": f"{speed:g}"},
    )
    return lambda: ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_show_damaged_state(
    hass: HomeAssistant, entry_id: str, site: str, kept: str, error: str, stamp: str
) -> None:
    """Say that the site's saved state could not be read, and where it is kept.

    Nothing here can mend it, so a notice rather than an issue with a flow; it stays across
    restarts (the site starts afresh, so nothing else would tell) until the user ignores it.
    One notice per loss (`stamp`, when it was kept aside): an issue the user ignored stays
    ignored when it is raised again, and a later loss is news.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{STORED_STATE_DAMAGED}_{entry_id}_{stamp}",
        is_fixable=False,
        is_persistent=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=STORED_STATE_DAMAGED,
        translation_placeholders={"site": site, "kept": kept, "error": error},
    )
