"""One figure of a site kept for the refresh that reads it over and over.

A refresh reads a site-wide figure from several entities, one after the other (the readiness's
state and attributes, each service's state and attributes): it is worked out once and kept
until anything of the site changes (its revision, settings or links) or a second has passed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .site.model import Site


class SiteMemo[T]:
    """The last figure worked out for each site, and what it was worked out from."""

    def __init__(self, compute: Callable[[Site, datetime], T]) -> None:
        """Keep what `compute` gives for a site at a time."""
        self._compute = compute
        self._last: weakref.WeakKeyDictionary[Site, tuple[tuple[Any, ...], T]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, site: Site, now: datetime) -> T:
        """The figure at `now`: the kept one while the site and the second are the same."""
        key = (site.revision, int(now.timestamp()), site.settings, frozenset(site.links_down))
        last = self._last.get(site)
        if last is not None and last[0] == key:
            return last[1]
        found = self._compute(site, now)
        self._last[site] = (key, found)
        return found
