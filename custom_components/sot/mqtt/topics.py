"""The MQTT topic contract: topic names in, readings out (and commands the other way).

    <base>/<kind>/<id>/<quantity>   plain payload: number, ON/OFF, or an enum word
    <base>/<kind>/<id>              JSON object {quantity: value, ..., "ts": measured at}
    <base>/<kind>/<id>/meta         retained JSON: name, node, per-component settings
    <base>/node/<node>/status       online / offline (retained birth and last will)
    <base>/load/<id>/set            command {"state": ON/OFF, "expires": t} (QoS 1, not retained)
    <base>/public                   retained JSON: what the site offers, for displays
    <base>/settings                 retained JSON: the site's settings, for the county

`<base>` is `sot/<site>` by default. docs/mqtt.md is the user-facing version of this contract.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from ..site.readings import Command, Meta, NodeStatus, Parsed, Reading, Rejection, RejectReason
from ..site.values import ValueRejected, parse_json_value, parse_text, strip_blank
from ..site.vocabulary import QUANTITIES, Kind, Quantity, quantity
from .meta import check_provides, check_settings

# `\Z`, not `$`: `$` would also match before a trailing line end ("f1\n").
ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}\Z")
MAX_PLAIN_PAYLOAD: Final = 64
MAX_JSON_PAYLOAD: Final = 4096
MAX_NAME_LENGTH: Final = 64
# A JSON reading may say when it was measured: a bridge queues readings across a link loss and
# delivers them late. A node's clock may run a little ahead; anything older than a county
# bridge's queue keeps (two days, docs/county.md) no longer matters.
TIME_KEY: Final = "ts"
MAX_CLOCK_SKEW: Final = timedelta(seconds=30)
MAX_READING_AGE: Final = timedelta(days=2)
MAX_TIME_TEXT: Final = 40

NODE: Final = "node"
STATUS: Final = "status"
META: Final = "meta"
SET: Final = "set"
# A command's keys: the relay's new state, and when the command expires (Unix seconds).
STATE_KEY: Final = "state"
EXPIRES_KEY: Final = "expires"
PUBLIC: Final = "public"
SETTINGS: Final = "settings"
ONLINE: Final = "online"
OFFLINE: Final = "offline"


def subscription(base: str) -> str:
    """The one wildcard subscription that receives a whole site."""
    return f"{base}/#"


def bridge_topic(site_id: str) -> str:
    """The county bridge's notification topic for a site (`scripts/county`): `1` retained
    while the site's link to the county is up, `0` (the bridge's will) when it is not."""
    return f"sot-bridge/{site_id}/state"


def public_topic(base: str) -> str:
    """Topic of the site's public summary (retained, for displays and the county)."""
    return f"{base}/{PUBLIC}"


def settings_topic(base: str) -> str:
    """Topic of the site's settings (retained): the county takes its figures' settings there."""
    return f"{base}/{SETTINGS}"


def component_topic(base: str, kind: str, component_id: str) -> str:
    """Topic of a component's JSON object of readings (`{quantity: value, "ts": ...}`)."""
    return f"{base}/{kind}/{component_id}"


def status_topic(base: str, node: str) -> str:
    """Topic of a node's birth and last will."""
    return f"{base}/{NODE}/{node}/{STATUS}"


def command_topic(base: str, command: Command) -> str:
    """Topic a command for a load is published on."""
    return f"{base}/{command.kind}/{command.id}/{SET}"


def command_payload(command: Command, expires: datetime | None = None) -> str:
    """Payload of a load command: JSON with the time it expires, or plain ON/OFF without one.

    `expires` is written as whole Unix seconds, rounded up, so a relay can compare it with its
    own clock's seconds (docs/mqtt.md#commands).
    """
    word = "ON" if command.action == "turn_on" else "OFF"
    if expires is None:
        return word
    return json.dumps(
        {STATE_KEY: word, EXPIRES_KEY: math.ceil(expires.timestamp())}, separators=(",", ":")
    )


def site_from_status_topic(topic: str) -> str | None:
    """The site id in `sot/<site>/node/<node>/status`, for MQTT discovery."""
    parts = topic.split("/")
    if (
        len(parts) == 5
        and parts[0] == "sot"
        and parts[2] == NODE
        and parts[4] == STATUS
        and ID_PATTERN.match(parts[1])
        # A node the site would refuse (`bad_id`) is no node saying hello.
        and ID_PATTERN.match(parts[3])
    ):
        return parts[1]
    return None


# The plain-value topics seen, with what they name (the kind as the readings carry it): a
# site's topics are few and each repeats all day, so its kind, id and quantity are checked
# once, not on every message.
_PLAIN_TOPICS: dict[tuple[str, str], tuple[str, str, Quantity]] = {}
MAX_KNOWN_TOPICS: Final = 8192


def parse_message(base: str, topic: str, payload: bytes | str, now: datetime) -> Parsed:
    """Turn one message of the site's topic tree into readings, a status or a meta.

    Never raises: everything refused is returned as a Rejection, and the good part of a
    partly bad JSON object is kept.
    """
    parsed = Parsed()
    known = _PLAIN_TOPICS.get((base, topic))
    if known is not None:
        raw = payload.encode() if isinstance(payload, str) else payload
        _read_plain(parsed, topic, *known, raw, now)
        return parsed
    prefix = base + "/"
    if not topic.startswith(prefix):
        return _reject(parsed, RejectReason.BAD_TOPIC, topic, "outside the site's base topic")
    parts = topic[len(prefix) :].split("/")
    raw = payload.encode() if isinstance(payload, str) else payload

    if parts in ([PUBLIC], [SETTINGS]):
        return parsed  # the site's summary and settings, published by its Home Assistant
    if parts[0] == NODE:
        # ESPHome nodes publish their own diagnostics under the node prefix; only status counts.
        if len(parts) == 3 and parts[2] == STATUS:
            _parse_status(parsed, topic, parts[1], raw, now)
        return parsed

    if len(parts) not in (2, 3):
        return _reject(parsed, RejectReason.BAD_TOPIC, topic, "not <kind>/<id>[/<quantity>]")
    kind_word, component_id = parts[0], parts[1]
    try:
        kind = Kind(kind_word)
    except ValueError:
        return _reject(parsed, RejectReason.UNKNOWN_KIND, topic, f"unknown kind {kind_word[:32]!r}")
    if not ID_PATTERN.match(component_id):
        return _reject(
            parsed, RejectReason.BAD_ID, topic, f"bad component id {component_id[:40]!r}"
        )

    if len(parts) == 2:
        _parse_object(parsed, topic, kind, component_id, raw, now)
    elif parts[2] == META:
        _parse_meta(parsed, topic, kind, component_id, raw)
    elif parts[2] == SET and kind == Kind.LOAD:
        pass  # a command, ours or another controller's: not a reading
    else:
        _parse_plain(parsed, base, topic, kind, component_id, parts[2], raw, now)
    return parsed


def _reject(
    parsed: Parsed,
    reason: RejectReason,
    source: str,
    detail: str,
    about: tuple[str, str, str] | None = None,
    time: datetime | None = None,
) -> Parsed:
    parsed.rejections.append(Rejection(reason, source, detail, about, time))
    return parsed


def _decode(parsed: Parsed, topic: str, raw: bytes, limit: int) -> str | None:
    if len(raw) > limit:
        _reject(parsed, RejectReason.OVERSIZED, topic, f"{len(raw)} bytes, at most {limit}")
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _reject(parsed, RejectReason.BAD_ENCODING, topic, "payload is not UTF-8")
        return None


def _parse_status(parsed: Parsed, topic: str, node: str, raw: bytes, now: datetime) -> None:
    if not ID_PATTERN.match(node):
        _reject(parsed, RejectReason.BAD_ID, topic, f"bad node id {node[:40]!r}")
        return
    text = _decode(parsed, topic, raw, MAX_PLAIN_PAYLOAD)
    if text is None:
        return
    # Exactly what ESPHome sends as its birth and last will: lower case.
    word = strip_blank(text)
    if not word:
        # An empty retained message is how a removed node's last status is cleared.
        parsed.cleared_node = node
        return
    if word not in (ONLINE, OFFLINE):
        _reject(parsed, RejectReason.BAD_ENUM, topic, f"status {word[:40]!r} is not online/offline")
        return
    parsed.status = NodeStatus(node, word == ONLINE, now)


def _parse_plain(
    parsed: Parsed,
    base: str,
    topic: str,
    kind: Kind,
    component_id: str,
    name: str,
    raw: bytes,
    now: datetime,
) -> None:
    spec = quantity(kind, name)
    if spec is None:
        _reject(
            parsed, RejectReason.UNKNOWN_QUANTITY, topic, f"{kind} has no quantity {name[:32]!r}"
        )
        return
    if len(_PLAIN_TOPICS) >= MAX_KNOWN_TOPICS:
        _PLAIN_TOPICS.clear()  # a flood of made-up topics must not grow it without bound
    _PLAIN_TOPICS[(base, topic)] = (kind.value, component_id, spec)
    _read_plain(parsed, topic, kind.value, component_id, spec, raw, now)


def _read_plain(
    parsed: Parsed,
    topic: str,
    kind: str,
    component_id: str,
    spec: Quantity,
    raw: bytes,
    now: datetime,
) -> None:
    name = spec.name
    text = _decode(parsed, topic, raw, MAX_PLAIN_PAYLOAD)
    if text is None:
        return
    try:
        value = parse_text(spec, text)
    except ValueRejected as err:
        _reject(parsed, err.reason, topic, str(err), (kind, component_id, name))
        return
    parsed.readings.append(Reading(kind, component_id, name, value, now))


def _load_object(parsed: Parsed, topic: str, raw: bytes) -> dict[str, object] | None:
    text = _decode(parsed, topic, raw, MAX_JSON_PAYLOAD)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        _reject(parsed, RejectReason.BAD_JSON, topic, "payload is not valid JSON")
        return None
    if not isinstance(data, dict):
        _reject(
            parsed, RejectReason.WRONG_TYPE, topic, f"JSON {type(data).__name__}, not an object"
        )
        return None
    return data


def _parse_object(
    parsed: Parsed, topic: str, kind: Kind, component_id: str, raw: bytes, now: datetime
) -> None:
    data = _load_object(parsed, topic, raw)
    if data is None:
        return
    if TIME_KEY in data:
        measured = _measurement_time(parsed, topic, data.pop(TIME_KEY), now)
        if measured is None:
            return
        now = measured
    specs = QUANTITIES[kind]
    for name, value in data.items():
        spec = specs.get(name)
        if spec is None:
            _reject(
                parsed,
                RejectReason.UNKNOWN_QUANTITY,
                topic,
                f"{kind} has no quantity {name[:32]!r}",
            )
            continue
        try:
            checked = parse_json_value(spec, value)
        except ValueRejected as err:
            _reject(parsed, err.reason, topic, str(err), (kind.value, component_id, name), now)
            continue
        parsed.readings.append(Reading(kind.value, component_id, name, checked, now))


def _measurement_time(parsed: Parsed, topic: str, value: object, now: datetime) -> datetime | None:
    """The `ts` of a JSON reading: when it was measured (a queue may deliver it much later).

    Unix seconds (a JSON number) or an ISO 8601 time with its offset; refused when it is no
    time, lies ahead of our clock by more than the allowed skew, or is older than a queue keeps.
    """
    measured: datetime | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # NaN, infinity and an integer too large for a float are refused here too.
        with contextlib.suppress(OverflowError, OSError, ValueError):
            measured = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and len(value) <= MAX_TIME_TEXT:
        with contextlib.suppress(ValueError):
            parsed_time = datetime.fromisoformat(value)
            measured = parsed_time if parsed_time.tzinfo is not None else None
    if measured is None:
        _reject(parsed, RejectReason.BAD_TIME, topic, f"ts {str(value)[:40]!r} is not a time")
        return None
    if measured - now > MAX_CLOCK_SKEW:
        _reject(parsed, RejectReason.FUTURE_TIME, topic, f"ts {measured.isoformat()} is ahead")
        return None
    if now - measured > MAX_READING_AGE:
        _reject(parsed, RejectReason.TOO_OLD, topic, f"ts {measured.isoformat()} is too old")
        return None
    return min(measured, now)


def _parse_meta(parsed: Parsed, topic: str, kind: Kind, component_id: str, raw: bytes) -> None:
    if not raw:
        # An empty retained message clears the meta: the component falls back to defaults.
        parsed.meta = Meta(kind.value, component_id)
        return
    data = _load_object(parsed, topic, raw)
    if data is None:
        return
    name = data.get("name")
    node = data.get("node")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        _reject(parsed, RejectReason.WRONG_TYPE, topic, "meta name must be a non-empty string")
        name = None
    if node is not None and (not isinstance(node, str) or not ID_PATTERN.match(node)):
        _reject(parsed, RejectReason.BAD_ID, topic, "meta node must be a node id")
        node = None
    settings, refused = check_settings(kind, data)
    provides, refused_provides = check_provides(data)
    for reason, detail in refused + refused_provides:
        _reject(parsed, reason, topic, detail)
    parsed.meta = Meta(
        kind.value,
        component_id,
        name.strip()[:MAX_NAME_LENGTH] if isinstance(name, str) else None,
        node if isinstance(node, str) else None,
        settings,
        provides or (),
    )
