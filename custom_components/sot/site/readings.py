"""What the transports hand to the site model, and what the model hands back to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .vocabulary import Value


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one quantity of one component, at a time."""

    kind: str
    id: str
    quantity: str
    value: Value
    time: datetime


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A field node's birth (online) or last will (offline)."""

    node: str
    online: bool
    time: datetime


@dataclass(frozen=True, slots=True)
class Meta:
    """A component's retained description: display name, node, per-component settings."""

    kind: str
    id: str
    name: str | None = None
    node: str | None = None
    settings: dict[str, float] = field(default_factory=dict)
    # The services the component provides (vocabulary.SERVICES), as its meta declares them.
    provides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Command:
    """An action asked of a component, routed to the transport that owns it."""

    kind: str
    id: str
    action: str


class RejectReason(StrEnum):
    """Why an input was refused; counted per reason in diagnostics."""

    BAD_TOPIC = "bad_topic"
    BAD_ID = "bad_id"
    UNKNOWN_KIND = "unknown_kind"
    UNKNOWN_QUANTITY = "unknown_quantity"
    OVERSIZED = "oversized"
    BAD_ENCODING = "bad_encoding"
    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    NO_READING = "no_reading"
    OUT_OF_RANGE = "out_of_range"
    BAD_BOOL = "bad_bool"
    BAD_ENUM = "bad_enum"
    BAD_JSON = "bad_json"
    WRONG_TYPE = "wrong_type"
    # A meta setting that is not a number, or outside its range.
    BAD_SETTING = "bad_setting"
    # A meta setting that would silence an alarm: a freezer limit at or above 0 °C.
    UNSAFE_SETTING = "unsafe_setting"
    # Meta settings that contradict each other: a freezer's critical limit not above its warning.
    CONFLICTING_SETTINGS = "conflicting_settings"
    DEVICE_ERROR = "device_error"
    # A reading over MQTT for a component a Modbus device feeds: one component, one source.
    OWNED_ELSEWHERE = "owned_elsewhere"
    # A measurement time (`ts`) that is not a time, lies in the future, or is too old to matter.
    BAD_TIME = "bad_time"
    FUTURE_TIME = "future_time"
    TOO_OLD = "too_old"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused input, with enough detail for a log line and diagnostics."""

    reason: RejectReason
    source: str
    detail: str
    # The quantity refused, when the input got that far (kind, id, quantity).
    quantity: tuple[str, str, str] | None = None
    # When it was measured, when the input says so (a JSON reading's `ts`).
    time: datetime | None = None


@dataclass(slots=True)
class Parsed:
    """Everything one incoming message turned into."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    status: NodeStatus | None = None
    # A node whose retained status was cleared (an empty message): the node is gone.
    cleared_node: str | None = None
    meta: Meta | None = None
