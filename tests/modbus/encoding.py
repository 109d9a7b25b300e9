"""Registers a device would hold for a value: the inverse of the integration's decoding.

Test support only: it lets a test serve any profile field's meaning and check that decoding
gives it back.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from custom_components.sot.modbus.profile import DataType, Field, WordOrder
from custom_components.sot.site.vocabulary import Value


def encode(field: Field, value: Value) -> list[int]:
    """The raw registers (or one 0/1 bit) a device would hold for `value`.

    A field that shares its register with others (bits, flags) yields only its own part;
    combine with `merge_bits`.
    """
    if field.bit is not None:
        return _split(field, (1 << field.bit) if bool(value) != field.invert else 0)
    if field.flags:
        for bit, word in field.flags:
            if word == value:
                return _split(field, 1 << bit)
        if value == field.default:
            return _split(field, 0)
        raise ValueError(f"{field.label}: no flag means {value!r}")
    if field.mapping is not None:
        wanted = value != field.invert if isinstance(value, bool) else value
        for raw, meaning in field.mapping.items():
            if meaning == wanted:
                return _split(field, raw & _mask(field.type))
        if wanted == field.default:
            return _split(field, next(raw for raw in range(65536) if raw not in field.mapping))
        raise ValueError(f"{field.label}: the map has no raw value for {value!r}")
    if field.type is DataType.BOOL:
        return [int(bool(value) != field.invert)]
    if isinstance(value, bool):
        if field.above is None:
            raise ValueError(f"{field.label}: {value!r} is not a number")
        # Any value on the right side of the threshold will do; one scale step past it.
        value = field.above + (abs(field.scale) if value != field.invert else 0.0)
    if isinstance(value, str):
        raise ValueError(f"{field.label}: {value!r} is not a number")
    number = (value - field.offset) / field.scale
    if field.type is DataType.F32:
        return _split(field, int.from_bytes(struct.pack(">f", number), "big"))
    return _split(field, round(number) & _mask(field.type))


def merge_bits(words: Sequence[int], other: Sequence[int]) -> list[int]:
    """Combine the registers of two fields that share them (bits of one status word)."""
    return [a | b for a, b in zip(words, other, strict=True)]


def _mask(data_type: DataType) -> int:
    return (1 << 16 * data_type.words) - 1


def _split(field: Field, unsigned: int) -> list[int]:
    words = [unsigned >> 16 * shift & 0xFFFF for shift in reversed(range(field.width))]
    if field.word_order is WordOrder.LITTLE:
        words.reverse()
    return words
