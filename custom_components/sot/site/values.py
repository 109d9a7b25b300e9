"""Checking a raw value against the vocabulary: the one gate every transport passes through."""

from __future__ import annotations

import math
import re
from typing import Final

from .readings import RejectReason
from .vocabulary import Quantity, Value, ValueType

# docs/mqtt.md, "Payloads": what ESPHome (`-18.25`, `ON`), Node-RED and PLCs send, and no more.
# A number: an optional minus sign, ASCII digits, optionally a dot and more ASCII digits. No
# plus sign, exponent, digit separator, decimal comma, or digits of other scripts.
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# How ESPHome (`nan`), C (`-nan`, `inf`) and JavaScript (`NaN`, `Infinity`) write a non-number:
# refused as not finite, so diagnostics tell a sensor without a reading from garbage.
_NOT_FINITE: Final = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# The same `nan` on an ON/OFF or a state word: the node has no reading of it (a controller's
# "not available"), so the last word shown must not stay live for good (docs/mqtt.md).
_NO_WORD: Final = re.compile(r"[+-]?nan", re.IGNORECASE)
# Only these surround a payload harmlessly (a trailing line end from a PLC or a shell).
_BLANK: Final = " \t\r\n"
# Boolean words, in any case of ASCII letters.
_TRUE: Final = frozenset({"on", "true", "1", "open"})
_FALSE: Final = frozenset({"off", "false", "0", "closed"})
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
    for bad in spec.no_reading:
        if abs(number - bad) < _NO_READING_TOLERANCE:
            raise ValueRejected(RejectReason.NO_READING, f"{spec.name}: {number} means no reading")
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        bounds = f"{spec.minimum}..{spec.maximum} {spec.unit or ''}".rstrip()
        raise ValueRejected(RejectReason.OUT_OF_RANGE, f"{spec.name}: {number} outside {bounds}")
    # Adding zero turns -0.0 (a probe just below zero printed with one decimal) into 0.0.
    return float(number) + 0.0


def strip_blank(text: str) -> str:
    """A plain payload without the spaces, tabs and line ends around it (and nothing else)."""
    return text.strip(_BLANK)


def parse_text(spec: Quantity, text: str) -> Value:
    """Parse a plain-text payload ("21.5", "ON", "running") as a value of `spec`."""
    word = text.strip(_BLANK)  # `strip_blank`, written out: this runs for every message
    if spec.type is ValueType.NUMBER:
        if _NUMBER.fullmatch(word):
            return check_number(spec, float(word))
        if _NOT_FINITE.fullmatch(word):
            raise ValueRejected(RejectReason.NOT_FINITE, f"{spec.name}: {word} is not finite")
        raise ValueRejected(
            RejectReason.NOT_A_NUMBER, f"{spec.name}: {word[:40]!r} is not a number"
        )
    if spec.type is ValueType.BOOL:
        lowered = word.lower() if word.isascii() else word
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        if _NO_WORD.fullmatch(word):
            raise ValueRejected(RejectReason.NO_READING, f"{spec.name}: {word} means no reading")
        raise ValueRejected(RejectReason.BAD_BOOL, f"{spec.name}: {word[:40]!r} is not ON/OFF")
    # Enum words are written exactly as the vocabulary has them: lower case.
    if word in spec.options:
        return word
    if _NO_WORD.fullmatch(word):
        raise ValueRejected(RejectReason.NO_READING, f"{spec.name}: {word} means no reading")
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
