"""The block planner: few requests that read many registers, instead of one request per value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .profile import Field, Function

_BITS_PER_REGISTER: Final = 16


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: `count` registers (or bits) of one table from `start`."""

    function: Function
    start: int
    count: int
    fields: tuple[Field, ...]

    @property
    def end(self) -> int:
        """One past the last address read."""
        return self.start + self.count

    def units(self, values: list[int] | list[bool], field: Field) -> list[int] | list[bool]:
        """The part of this block's answer that holds `field`."""
        first = field.address - self.start
        return values[first : first + field.width]


def plan(
    fields: Iterable[Field], *, max_registers: int, max_bits: int, max_gap: int
) -> list[Block]:
    """Group fields into contiguous reads.

    Fields of one table merge while the unused addresses between them are at most `max_gap`
    registers (or that many registers' worth of bits) and the read stays within the size
    limit. Fields sharing a register
    (bits and maps of one status word) share it in the request too.
    """
    blocks: list[Block] = []
    ordered = sorted(fields, key=lambda f: (f.function, f.address, f.width))
    current: list[Field] = []
    for item in ordered:
        if current:
            head = current[0]
            end = max(f.end for f in current)
            is_bit = head.function.is_bit
            limit = max_bits if is_bit else max_registers
            # A skipped bit costs an eighth of a byte; a skipped register, two bytes.
            gap = max_gap * _BITS_PER_REGISTER if is_bit else max_gap
            if (
                item.function is head.function
                and item.address - end <= gap
                and max(end, item.end) - head.address <= limit
            ):
                current.append(item)
                continue
            blocks.append(_block(current))
        current = [item]
    if current:
        blocks.append(_block(current))
    return blocks


def split(block: Block) -> list[Block]:
    """One read per value (fields that overlap share one), for a device that refuses gaps."""
    pieces: list[Block] = []
    current: list[Field] = []
    for item in sorted(block.fields, key=lambda f: (f.address, f.width)):
        if current and item.address >= max(f.end for f in current):
            pieces.append(_block(current))
            current = []
        current.append(item)
    if current:
        pieces.append(_block(current))
    return pieces


def _block(fields: list[Field]) -> Block:
    start = fields[0].address
    return Block(fields[0].function, start, max(f.end for f in fields) - start, tuple(fields))
