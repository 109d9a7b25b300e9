"""Raw registers and bits to checked values, and back (for simulators and tests)."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Final

from ..site.readings import RejectReason
from ..site.values import ValueRejected, check_number
from ..site.vocabulary import QUANTITIES, Quantity, Value, ValueType
from .profile import DataType, Field, WordOrder

# Scaling by 0.1 leaves binary noise (2314 × 0.1 = 231.40000000000003); no meter is that exact.
_DECIMALS: Final = 9


def spec_of(field: Field) -> Quantity:
    """The vocabulary entry a field feeds (the profile loader has checked that it exists)."""
    return QUANTITIES[field.kind][field.quantity]


def decode(field: Field, units: Sequence[int] | Sequence[bool]) -> Value:
    """Decode the field's registers (or its one bit) into a value the site model may show.

    Raises ValueRejected for a sentinel, an unmapped raw value or a number outside the
    quantity's physical range, so a bad register never reaches an entity.
    """
    spec = spec_of(field)
    if len(units) != field.width:
        raise ValueRejected(
            RejectReason.DEVICE_ERROR,
            f"{field.label}: got {len(units)} registers, needs {field.width}",
        )
    unsigned = _unsigned(field, units)
    if any(low <= unsigned <= high for low, high in field.sentinels):
        raise ValueRejected(
            RejectReason.NO_READING, f"{field.label}: raw 0x{unsigned:X} means no reading"
        )
    if field.type is DataType.F32:
        (number,) = struct.unpack(">f", unsigned.to_bytes(4, "big"))
        return _from_number(field, spec, number)
    raw = _signed(field.type, unsigned)
    if field.bit is not None:
        return bool(unsigned >> field.bit & 1) != field.invert
    if field.flags:
        for bit, word in field.flags:
            if unsigned >> bit & 1:
                return word
        return _meaning(field, None, f"no flag set in 0x{unsigned:X}")
    if field.mapping is not None:
        meaning = field.mapping.get(raw)
        value = _meaning(field, meaning, f"raw value {raw} has no meaning in the profile")
        return value != field.invert if isinstance(value, bool) else value
    if field.type is DataType.BOOL and spec.type is ValueType.BOOL:
        return bool(raw) != field.invert
    return _from_number(field, spec, float(raw))


def _meaning(field: Field, meaning: Value | None, detail: str) -> Value:
    if meaning is None:
        meaning = field.default
    if meaning is None:
        raise ValueRejected(RejectReason.BAD_ENUM, f"{field.label}: {detail}")
    return meaning


def _from_number(field: Field, spec: Quantity, number: float) -> Value:
    scaled = round(number * field.scale + field.offset, _DECIMALS)
    if field.above is not None:
        if not math.isfinite(scaled):
            # NaN is never above or below anything: a float's "no reading" is no off.
            raise ValueRejected(RejectReason.NOT_FINITE, f"{field.label}: {scaled} is not finite")
        return (scaled > field.above) != field.invert
    return check_number(spec, scaled)


def _unsigned(field: Field, units: Sequence[int] | Sequence[bool]) -> int:
    words = [int(unit) & 0xFFFF for unit in units]
    if field.word_order is WordOrder.LITTLE:
        words.reverse()
    value = 0
    for word in words:
        value = value << 16 | word
    return value


def _signed(data_type: DataType, unsigned: int) -> int:
    if data_type is DataType.S16 and unsigned & 0x8000:
        return unsigned - 0x10000
    if data_type is DataType.S32 and unsigned & 0x80000000:
        return unsigned - 0x100000000
    return unsigned
