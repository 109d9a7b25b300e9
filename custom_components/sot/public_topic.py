"""Publishes the site's public summary on `<base>/public`: retained, QoS 1, when it changes.

The county's view and any display in the village read it; docs/mqtt.md describes the JSON.
Published once when the site starts, then only when its content changes: the summary is worked
out whenever the site's figures may have moved (a message about the site as a whole, a tick),
and compared with what was last sent. Publishes go out one at a time, the latest content last.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .const import PUBLIC_QOS
from .coordinator import SiteCoordinator
from .mqtt.topics import public_topic
from .site.public import public_summary

_LOGGER = logging.getLogger(__name__)


class PublicTopic:
    """One site's public summary on MQTT."""

    def __init__(self, hass: HomeAssistant, coordinator: SiteCoordinator) -> None:
        """Publish `coordinator`'s site under its base topic."""
        self.hass = hass
        self.coordinator = coordinator
        self.topic = public_topic(coordinator.base_topic)
        # The content wanted on the broker and the content last sent (JSON, keys sorted).
        self._wanted: str | None = None
        self._sent: str | None = None
        self._content: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow the site; returns what stops it."""
        stops = [
            self.coordinator.async_add_listener(self._changed),
            self.coordinator.async_add_entity_listener(None, self._changed),
        ]
        self._changed()

        def stop() -> None:
            for each in stops:
                each()
            if self._task is not None:
                self._task.cancel()

        return stop

    @callback
    def _changed(self) -> None:
        coordinator = self.coordinator
        content = public_summary(
            coordinator.site, coordinator.now(), coordinator.site_id, coordinator.site_name
        )
        wanted = json.dumps(content, sort_keys=True, ensure_ascii=False)
        if wanted == self._wanted:
            return
        self._wanted, self._content = wanted, content
        if self._task is None or self._task.done():
            self._task = self.coordinator.config_entry.async_create_background_task(
                self.hass, self._send(), f"sot {coordinator.site_id} public summary"
            )

    async def _send(self) -> None:
        while self._wanted is not None and self._wanted != self._sent:
            wanted = self._wanted
            payload = json.dumps(
                {**self._content, "since": self.coordinator.now().isoformat(timespec="seconds")},
                ensure_ascii=False,
            )
            try:
                await mqtt.async_publish(
                    self.hass, self.topic, payload, qos=PUBLIC_QOS, retain=True
                )
            except HomeAssistantError as err:
                # Sent again with the next change (the broker keeps the last one meanwhile).
                _LOGGER.warning("%s: public summary not published: %s", self.topic, err)
                self._wanted = None
                return
            self._sent = wanted
            self.published += 1
