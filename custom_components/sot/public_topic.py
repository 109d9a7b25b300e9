"""Publishes the site's public summary on `<base>/public`: retained, QoS 1.

The county's view and any display in the village read it; docs/mqtt.md describes the JSON.
Published when its content changes, and again every `REFRESH` with a new `checked` time, so a
display can tell a summary Home Assistant still stands behind from one left by a Home Assistant
that stopped. The summary is worked out whenever the site's figures may have moved (a message
about the site as a whole, a tick), and compared with what was last sent. Publishes go out one
at a time, the latest content last. `since` is when the content was first published: a restart
or reload of the site that finds the same content retained on the broker keeps its `since`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later, async_track_time_interval

from .const import PUBLIC_QOS
from .coordinator import SiteCoordinator
from .mqtt.topics import public_topic
from .site.public import public_summary
from .site.services import ReasonCode

_LOGGER = logging.getLogger(__name__)

# How often the summary is sent again unchanged, with a new `checked`.
REFRESH: Final = timedelta(minutes=10)
# How long the first publish waits for the summary retained on the broker (its `since`).
RETAINED_WAIT: Final = 3.0
# A service's reason for a provider not heard from.
NO_DATA: Final = ReasonCode.NO_DATA.value
# What a summary says about itself rather than about the site.
STAMPS: Final = ("since", "checked")


def _content(payload: str | bytes | bytearray) -> tuple[str, str] | None:
    """A retained summary's content (JSON, keys sorted, without its stamps) and `since`."""
    try:
        summary = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("since"), str):
        return None
    since = summary["since"]
    content = {key: value for key, value in summary.items() if key not in STAMPS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False), since


class PublicTopic:
    """One site's public summary on MQTT."""

    def __init__(self, hass: HomeAssistant, coordinator: SiteCoordinator) -> None:
        """Publish `coordinator`'s site under its base topic."""
        self.hass = hass
        self.coordinator = coordinator
        self.topic = public_topic(coordinator.base_topic)
        # The content wanted on the broker, and the content last published (JSON, keys
        # sorted) with when it was first published; `_due` when it is to be sent again.
        self._wanted: str | None = None
        self._published: str | None = None
        self._due = False
        # The last publish failed (the broker away): said once until one succeeds.
        self._failing = False
        self._since: str | None = None
        self._content: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None
        # Until the retained summary is in (or RETAINED_WAIT has passed), nothing is sent.
        self._holding = True
        # The summary a previous run left (content, since), kept while the site settles: for one
        # staleness timeout after the start its nodes may not have spoken yet.
        self._retained: tuple[str, str] | None = None
        self._settling = True
        self.published = 0

    async def async_start(self) -> CALLBACK_TYPE:
        """Follow the site; returns what stops it."""
        stops = [
            await mqtt.async_subscribe(
                self.hass, self.topic, self._retained_summary, qos=PUBLIC_QOS, encoding=None
            ),
            async_call_later(self.hass, RETAINED_WAIT, self._release),
            async_call_later(self.hass, self._settling_time(), self._settled),
            self.coordinator.async_add_listener(self._changed),
            self.coordinator.async_add_entity_listener(None, self._changed),
            async_track_time_interval(self.hass, self._refresh, REFRESH),
        ]
        self._changed()

        def stop() -> None:
            for each in stops:
                each()
            if self._task is not None:
                self._task.cancel()

        return stop

    def _settling_time(self) -> float:
        """One staleness timeout, in wall-clock seconds (the demo's clock counts the site's
        in storm time, sixty times as fast)."""
        stale = self.coordinator.site.settings.stale_timeout
        clock = self.coordinator.clock
        return (stale if clock is None else clock.wall_span(stale)).total_seconds()

    @callback
    def _retained_summary(self, message: mqtt.ReceiveMessage) -> None:
        """The summary on the broker: at the start, the one a previous run left."""
        if self._holding and message.retain:
            self._retained = _content(message.payload)
            self._release()

    @callback
    def _release(self, _now: Any = None) -> None:
        if self._holding:
            self._holding = False
            self._kick()

    @callback
    def _settled(self, _now: Any = None) -> None:
        """A staleness timeout since the start: what the site shows now is its own."""
        self._settling, self._retained = False, None
        self._kick()

    def _waiting_to_tell(self) -> bool:
        """Right after a start, a site whose readings have not come in yet cannot be told, or
        not all of it (its nodes online, their ON/OFF words live, their temperatures and stock
        stale until each reports again); the summary a previous run left says more, so it
        stays until they come or the site has settled (a Home Assistant back after a power
        cut). A service silent in that summary too is no news of the start; power that came or
        went meanwhile is, and so is any other reason a service gives (a shop's circuit off)
        and the operator's message."""
        if not self._settling or self._retained is None:
            return False
        content = self._content
        if content["status"] is None:
            return True
        retained = json.loads(self._retained[0])
        if content["power"] != retained.get("power") or content["message"] != retained.get(
            "message"
        ):
            # News all the same: the grid went (or came back) meanwhile, or the operator spoke.
            return False
        services = retained.get("services")
        before = {
            name: {reason for reason in service["reasons"] if isinstance(reason, str)}
            for name, service in (services if isinstance(services, dict) else {}).items()
            if isinstance(service, dict) and isinstance(service.get("reasons"), list)
        }
        waiting = False
        for name, service in content["services"].items():
            now, then = set(service["reasons"]), before.get(name, set())
            silent = NO_DATA in now and NO_DATA not in then
            # A new reason is news; one gone is, but from a service the start left without
            # its readings (a product's stock not in yet cannot say it is at its reserve).
            if now - then - {NO_DATA} or (not silent and then - now - {NO_DATA}):
                return False
            waiting = waiting or silent
        return waiting

    @callback
    def _refresh(self, _now: Any = None) -> None:
        """Send the same content again, with a new `checked`."""
        self._due = True
        self._kick()

    @callback
    def _changed(self) -> None:
        coordinator = self.coordinator
        content = public_summary(
            coordinator.site, coordinator.now(), coordinator.site_id, coordinator.site_name
        )
        wanted = json.dumps(content, sort_keys=True, ensure_ascii=False)
        if wanted == self._wanted and not self._due:
            return
        self._wanted, self._content = wanted, content
        self._kick()

    @callback
    def _kick(self) -> None:
        if self._holding or self._wanted is None or self._waiting_to_tell():
            return
        if self._task is None or self._task.done():
            self._task = self.coordinator.config_entry.async_create_background_task(
                self.hass, self._send(), f"sot {self.coordinator.site_id} public summary"
            )

    def _since_for(self, wanted: str, now: str) -> str:
        """When `wanted` was first published: kept while it stays the same."""
        if self._retained is not None:
            retained, since = self._retained
            if retained == wanted:
                self._since = since
                return since
        if wanted != self._published or self._since is None:
            self._since = now
        return self._since

    async def _send(self) -> None:
        while (
            self._wanted is not None
            and (self._due or self._wanted != self._published)
            and not self._waiting_to_tell()
        ):
            wanted, self._due = self._wanted, False
            now = self.coordinator.now().isoformat(timespec="seconds")
            since = self._since_for(wanted, now)
            payload = json.dumps(
                {**self._content, "since": since, "checked": now}, ensure_ascii=False
            )
            try:
                await mqtt.async_publish(
                    self.hass, self.topic, payload, qos=PUBLIC_QOS, retain=True
                )
            except HomeAssistantError as err:
                # Sent again with the next change or refresh (the broker keeps the last one);
                # said once, not at every change while the broker is away.
                if not self._failing:
                    _LOGGER.warning("%s: public summary not published: %s", self.topic, err)
                self._failing = True
                self._due = True
                return
            if self._failing:
                _LOGGER.info("%s: public summary published again", self.topic)
                self._failing = False
            self._published = wanted
            self.published += 1
