"""The block planner reads a controller in a few requests, never one request per value."""

from __future__ import annotations

from custom_components.sot.modbus.planner import plan, split
from custom_components.sot.modbus.profile import Field, Function, load_builtin, parse_profile


def _spans(fields: list[Field], **limits: int) -> list[tuple[str, int, int]]:
    options = {"max_registers": 125, "max_bits": 2000, "max_gap": 16, **limits}
    return [(b.function.value, b.start, b.count) for b in plan(fields, **options)]


def test_deep_sea_fast_group_is_six_reads_for_sixteen_values() -> None:
    dse = load_builtin("deep_sea_gencomm")
    fast = [f for f in dse.fields if f.scan == "fast"]
    assert len(fast) == 16
    blocks = plan(fast, max_registers=dse.max_registers, max_bits=dse.max_bits, max_gap=dse.max_gap)
    assert [(b.start, b.count) for b in blocks] == [
        (772, 3),  # mode, status flags
        (1024, 38),  # engine page: oil … mains voltage, one read for ten values
        (1290, 2),
        (1408, 1),
        (1536, 2),
        (1558, 1),
    ]
    # Every field is read by exactly one block, and lies inside it.
    covered = [(f, b) for b in blocks for f in b.fields]
    assert sorted(id(f) for f, _ in covered) == sorted(id(f) for f in fast)
    assert all(b.start <= f.address and f.end <= b.end for f, b in covered)


def _fields(*entries: str) -> list[Field]:
    text = "name: T\ncomponents: {g: generator}\nregisters:\n" + "".join(
        f"  - {entry}\n" for entry in entries
    )
    return list(parse_profile(text, "t").fields)


def test_gap_and_size_limits() -> None:
    fields = _fields(
        "{quantity: speed, function: holding, address: 0, unit: rpm}",
        "{quantity: oil_pressure, function: holding, address: 10, unit: kPa}",
        "{quantity: power, function: holding, address: 40, type: s32, unit: kW}",
        "{quantity: mode, function: input, address: 11, map: {1: auto}}",
    )
    assert _spans(fields) == [("holding", 0, 11), ("holding", 40, 2), ("input", 11, 1)]
    assert _spans(fields, max_gap=0) == [
        ("holding", 0, 1),
        ("holding", 10, 1),
        ("holding", 40, 2),
        ("input", 11, 1),
    ]
    assert _spans(fields, max_gap=100) == [("holding", 0, 42), ("input", 11, 1)]
    # A device that takes at most 8 registers per request.
    assert _spans(fields, max_gap=100, max_registers=8) == [
        ("holding", 0, 1),
        ("holding", 10, 1),
        ("holding", 40, 2),
        ("input", 11, 1),
    ]


def test_bits_tolerate_wider_gaps() -> None:
    smartgen = load_builtin("smartgen_hgm6100")
    coils = [f for f in smartgen.fields if f.function is Function.COIL]
    assert _spans(coils) == [("coil", 0, 65)]


def test_shared_register_is_read_once() -> None:
    comap = load_builtin("comap_intelilite4")
    shared = [f for f in comap.fields if f.address == 1298]
    assert [b.count for b in plan(shared, max_registers=125, max_bits=2000, max_gap=0)] == [1]


def test_split_gives_one_read_per_value() -> None:
    fields = _fields(
        "{quantity: speed, address: 0, function: holding, unit: rpm}",
        "{quantity: voltage, address: 1, function: holding, type: u32, unit: V}",
        "{quantity: state, address: 1, function: holding, map: {0: stopped}}",
        "{quantity: oil_pressure, address: 9, function: holding, unit: kPa}",
    )
    (block,) = plan(fields, max_registers=125, max_bits=2000, max_gap=16)
    assert [(b.start, b.count) for b in split(block)] == [(0, 1), (1, 2), (9, 1)]
    (single,) = split(block)[:1]
    assert split(single) == [single]
