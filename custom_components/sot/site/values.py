"""Checking a raw value against the vocabulary: the one gate every transport passes through."""

from __future__ import annotations

import math

from .readings import RejectReason
from .vocabulary import Quantity, Value, ValueType

_TRUE = frozenset({"on", "true", "1", "open", "yes"})
_FALSE = frozenset({"off", "false", "0", "closed", "no"})
# DS18B20 sentinel values are matched with a small tolerance: 85.0 may arrive as 85.00 or 84.999.
_NO_READING_TOLERANCE = 0.01


class ValueRejected(ValueError):
    """A value that must not be shown; carries the reason for diagnostics."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def check_number(spec: Quantity, number: float) -> float:
    """Return `number` if it is a real, in-range reading of `spec`."""
    if not math.isfinite(number):
        raise ValueRejected(RejectReason.NOT_FINITE, f"{spec.name}: {number} is not finite")
    if any(abs(number - bad) < _NO_READING_TOLERANCE for bad in spec.no_reading):
        raise ValueRejected(RejectReason.NO_READING, f"{spec.name}: {number} means no reading")
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        bounds = f"{spec.minimum}..{spec.maximum} {spec.unit or ''}".rstrip()
        raise ValueRejected(RejectReason.OUT_OF_RANGE, f"{spec.name}: {number} outside {bounds}")
    return float(number)


def parse_text(spec: Quantity, text: str) -> Value:
    """Parse a plain-text payload ("21.5", "ON", "running") as a value of `spec`."""
    word = text.strip()
    if spec.type is ValueType.NUMBER:
        try:
            number = float(word)
        except ValueError:
            raise ValueRejected(
                RejectReason.NOT_A_NUMBER, f"{spec.name}: {word[:40]!r} is not a number"
            ) from None
        return check_number(spec, number)
    lowered = word.lower()
    if spec.type is ValueType.BOOL:
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueRejected(RejectReason.BAD_BOOL, f"{spec.name}: {word[:40]!r} is not ON/OFF")
    if lowered in spec.options:
        return lowered
    raise ValueRejected(
        RejectReason.BAD_ENUM, f"{spec.name}: {word[:40]!r} is not one of {', '.join(spec.options)}"
    )


def parse_json_value(spec: Quantity, value: object) -> Value:
    """Check one value taken from a JSON object; strings go through `parse_text`."""
    if isinstance(value, str):
        return parse_text(spec, value)
    if spec.type is ValueType.BOOL and isinstance(value, bool):
        return value
    if (
        spec.type is ValueType.NUMBER
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer too large for a float
            raise ValueRejected(
                RejectReason.OUT_OF_RANGE, f"{spec.name}: number too large"
            ) from None
        return check_number(spec, number)
    raise ValueRejected(
        RejectReason.WRONG_TYPE,
        f"{spec.name}: JSON {type(value).__name__} is not a {spec.type.value}",
    )
