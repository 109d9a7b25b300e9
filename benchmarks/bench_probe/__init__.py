"""A benchmark probe: counts a Home Assistant's state writes and timestamps the tracked ones.

`scripts/bench mqtt` copies this component into the configuration directory of each Home
Assistant it starts (never into a real installation) and reads it over loopback HTTP:

    GET  /api/bench_probe/status    counters, the SOT coordinators' message counts, entities
    GET  /api/bench_probe/registry  every registered entity: id, platform, unique id, state
    POST /api/bench_probe/track     {"tracked": [entity ids], "counted": [entity ids]}
    GET  /api/bench_probe/records   the tracked state changes since the last call: [t, i, state]
    POST /api/bench_probe/profile   {"action": "start"} / {"action": "stop", "path": file}

Counting happens in event filters, which Home Assistant calls synchronously for every
`state_changed` and `state_reported` and which return False, so no event object or job is made
for the probe: its cost is a set lookup and, for tracked entities, one list append.
"""

from __future__ import annotations

import cProfile
import time
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.typing import ConfigType

DOMAIN = "bench_probe"
# homeassistant.components.mqtt.MQTT_CONNECTION_STATE, without importing MQTT before it is set up.
MQTT_CONNECTION_STATE = "mqtt_connection_state"


class Probe:
    """The counters of one Home Assistant instance."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        # None: count every entity's writes (before the benchmark names its entities).
        self.counted: set[str] | None = None
        self.tracked: dict[str, int] = {}
        self.changed = 0
        self.reported = 0
        self.records: list[tuple[int, int, str]] = []
        self.profiler: cProfile.Profile | None = None
        # Times the MQTT client lost the broker (a stalled event loop misses its keepalive).
        self.disconnects = 0

    @callback
    def on_changed(self, data: Any) -> bool:
        entity_id = data["entity_id"]
        if self.counted is None or entity_id in self.counted:
            self.changed += 1
            index = self.tracked.get(entity_id)
            if index is not None:
                new_state = data["new_state"]
                state = "" if new_state is None else new_state.state
                self.records.append((time.monotonic_ns(), index, state))
        return False

    @callback
    def on_connection(self, connected: bool) -> None:
        if not connected:
            self.disconnects += 1

    @callback
    def on_reported(self, data: Any) -> bool:
        if self.counted is None or data["entity_id"] in self.counted:
            self.reported += 1
        return False

    def sot_messages(self) -> int | None:
        """Messages the SOT coordinators counted (None when no site is loaded)."""
        total: int | None = None
        for entry in self.hass.config_entries.async_entries("sot"):
            messages = getattr(getattr(entry, "runtime_data", None), "messages", None)
            if isinstance(messages, int):
                total = (total or 0) + messages
        return total

    def status(self) -> dict[str, Any]:
        entries = self.hass.config_entries.async_entries("sot")
        return {
            "time_ns": time.monotonic_ns(),
            "changed": self.changed,
            "reported": self.reported,
            "records": len(self.records),
            "messages": self.sot_messages(),
            "entities": len(self.hass.states.async_entity_ids()),
            "sot_entries": len(entries),
            "sot_loaded": sum(1 for entry in entries if entry.state is ConfigEntryState.LOADED),
            "mqtt_connected": _mqtt_connected(self.hass),
            "mqtt_disconnects": self.disconnects,
        }


def _mqtt_connected(hass: HomeAssistant) -> bool:
    try:
        from homeassistant.components import mqtt  # noqa: PLC0415

        return bool(mqtt.is_connected(hass))
    except (ImportError, KeyError, AttributeError):
        return False


@callback
def _never(_event: Event[Any]) -> None:
    """The listener the filters never let through."""


class _View(HomeAssistantView):
    requires_auth = False

    def __init__(self, probe: Probe) -> None:
        self.probe = probe


class StatusView(_View):
    url = "/api/bench_probe/status"
    name = "api:bench_probe:status"

    async def get(self, request: web.Request) -> web.Response:
        return self.json(self.probe.status())


class RegistryView(_View):
    url = "/api/bench_probe/registry"
    name = "api:bench_probe:registry"

    async def get(self, request: web.Request) -> web.Response:
        hass = self.probe.hass
        entities = []
        for entry in er.async_get(hass).entities.values():
            state = hass.states.get(entry.entity_id)
            entities.append(
                {
                    "entity_id": entry.entity_id,
                    "platform": entry.platform,
                    "unique_id": entry.unique_id,
                    "disabled": entry.disabled_by is not None,
                    "state": None if state is None else state.state,
                }
            )
        return self.json({"entities": entities})


class TrackView(_View):
    url = "/api/bench_probe/track"
    name = "api:bench_probe:track"

    async def post(self, request: web.Request) -> web.Response:
        body = await request.json()
        probe = self.probe
        probe.tracked = {entity_id: i for i, entity_id in enumerate(body["tracked"])}
        probe.counted = set(body["counted"]) | set(probe.tracked)
        probe.records.clear()
        return self.json(probe.status())


class RecordsView(_View):
    url = "/api/bench_probe/records"
    name = "api:bench_probe:records"

    async def get(self, request: web.Request) -> web.Response:
        records, self.probe.records = self.probe.records, []
        return self.json({"records": records})


class ProfileView(_View):
    url = "/api/bench_probe/profile"
    name = "api:bench_probe:profile"

    async def post(self, request: web.Request) -> web.Response:
        body = await request.json()
        probe = self.probe
        if body["action"] == "start" and probe.profiler is None:
            # Runs in the event loop's thread, which is the thread cProfile then follows.
            probe.profiler = cProfile.Profile()
            probe.profiler.enable()
        elif body["action"] == "stop" and probe.profiler is not None:
            probe.profiler.disable()
            probe.profiler.dump_stats(body["path"])
            probe.profiler = None
        return self.json({"profiling": probe.profiler is not None})


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start counting and serve the counters."""
    probe = Probe(hass)
    hass.bus.async_listen(EVENT_STATE_CHANGED, _never, event_filter=probe.on_changed)
    hass.bus.async_listen(EVENT_STATE_REPORTED, _never, event_filter=probe.on_reported)
    async_dispatcher_connect(hass, MQTT_CONNECTION_STATE, probe.on_connection)
    for view in (StatusView, RegistryView, TrackView, RecordsView, ProfileView):
        hass.http.register_view(view(probe))
    return True
