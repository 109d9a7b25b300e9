"""Modbus device profiles: one data file per device model, checked against one schema.

A profile says which registers a device model has, how each is decoded, which component
quantity it feeds, and which writes carry out a command. Profiles are YAML files in
`custom_components/sot/profiles/`; docs/modbus.md describes the format for people who write them.
Loading never returns a half-checked profile: any mistake raises ProfileError naming the file and
the register.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import yaml

from ..site.vocabulary import QUANTITIES, Kind, Quantity, Value, ValueType

PROFILE_DIR: Final = Path(__file__).parent.parent / "profiles"
PROFILE_SUFFIX: Final = ".yaml"

# The Modbus specification's own limits for one read request.
MAX_READ_REGISTERS: Final = 125
MAX_READ_BITS: Final = 2000
DEFAULT_MAX_GAP: Final = 16
DEFAULT_SCAN: Final = "fast"
DEFAULT_SCAN_INTERVALS: Final[Mapping[str, float]] = {"fast": 5.0, "slow": 60.0}
MAX_ADDRESS: Final = 0xFFFF
MAX_SCAN_INTERVAL: Final = 86400.0


# Serial speeds a line may run at (the flow offers these).
BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class ProfileError(ValueError):
    """A profile file that does not follow the schema; the message names file and entry."""


class Function(StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"
    DISCRETE = "discrete"
    HOLDING = "holding"
    INPUT = "input"

    @property
    def is_bit(self) -> bool:
        """Whether this table holds single bits rather than 16-bit registers."""
        return self in (Function.COIL, Function.DISCRETE)


class DataType(StrEnum):
    """How the raw words of a register are read as a number."""

    U16 = "u16"
    S16 = "s16"
    U32 = "u32"
    S32 = "s32"
    F32 = "f32"
    BOOL = "bool"

    @property
    def words(self) -> int:
        """Registers (or bits) the value spans."""
        return 2 if self in (DataType.U32, DataType.S32, DataType.F32) else 1


class WordOrder(StrEnum):
    """Which register of a 32-bit value holds its high half."""

    BIG = "big"  # high word first (Deep Sea, ComAp, Eastron)
    LITTLE = "little"  # low word first (PZEM-004T)


@dataclass(frozen=True, kw_only=True, slots=True)
class Field:
    """One register (or bit) of a device, decoded into one quantity of one component."""

    slot: str
    kind: Kind
    quantity: str
    function: Function
    address: int
    type: DataType
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0
    offset: float = 0.0
    # Raw register contents, read unsigned (inclusive ranges), that mean "no reading".
    sentinels: tuple[tuple[int, int], ...] = ()
    # Raw integer -> value; for enum and bool quantities.
    mapping: Mapping[int, Value] | None = None
    # (bit, enum word) in priority order: the first set bit names the value.
    flags: tuple[tuple[int, str], ...] = ()
    # Value when no flag is set, or when the raw value is not in `mapping`.
    default: Value | None = None
    bit: int | None = None
    # A number turned into a bool: true when the scaled value is above this.
    above: float | None = None
    invert: bool = False
    scan: str = DEFAULT_SCAN

    @property
    def width(self) -> int:
        """Registers (or bits) this field occupies."""
        return self.type.words

    @property
    def end(self) -> int:
        """One past the last address this field occupies."""
        return self.address + self.width

    @property
    def label(self) -> str:
        """How logs and diagnostics name this field."""
        return f"{self.function.value} {self.address} ({self.slot}/{self.quantity})"


@dataclass(frozen=True, kw_only=True, slots=True)
class Write:
    """One write request of a command."""

    function: Function
    address: int
    values: tuple[int, ...] = ()
    state: bool | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Requirement:
    """A bit the device sets when it supports a command (DSE's control support bitmap)."""

    function: Function
    address: int
    bit: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Confirmation:
    """What a device reads after it carried out a command (a return value, a coil's state)."""

    function: Function
    address: int
    # Registers the device must read afterwards; `state` for a coil or discrete input.
    values: tuple[int, ...] = ()
    state: bool | None = None
    # Other contents (the registers as one number, high word first) and what they mean.
    answers: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandSpec:
    """The writes that carry out one action on one component."""

    slot: str
    action: str
    writes: tuple[Write, ...]
    # Read before writing; the command is refused when the bit is clear.
    requires: Requirement | None = None
    # Read after writing; the command failed when the device reads otherwise.
    confirm: Confirmation | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SilentValue:
    """A value that silence itself means, such as a mains-powered meter on a dead grid."""

    slot: str
    quantity: str
    value: Value


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    """A checked device profile."""

    key: str
    name: str
    manufacturer: str
    models: tuple[str, ...]
    slots: Mapping[str, Kind]
    fields: tuple[Field, ...]
    commands: tuple[CommandSpec, ...] = ()
    when_silent: tuple[SilentValue, ...] = ()
    max_registers: int = MAX_READ_REGISTERS
    max_bits: int = MAX_READ_BITS
    max_gap: int = DEFAULT_MAX_GAP
    scan_intervals: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SCAN_INTERVALS)
    )
    # The serial speed the device ships at, when its maker fixes one (the flow suggests it).
    baudrate: int | None = None

    def default_component_id(self, slot: str) -> str:
        """`main` for a profile's only slot of a kind (`grid/main`), else the slot's own name."""
        kind = self.slots[slot]
        return "main" if sum(k is kind for k in self.slots.values()) == 1 else slot

    def command(self, slot: str, action: str) -> CommandSpec | None:
        """The command spec for `action` on `slot`, if the profile has one."""
        for spec in self.commands:
            if spec.slot == slot and spec.action == action:
                return spec
        return None


def builtin_profiles() -> list[str]:
    """Keys of the profiles shipped with the integration (blocking: lists a directory)."""
    return sorted(path.stem for path in PROFILE_DIR.glob(f"*{PROFILE_SUFFIX}"))


def load_builtin(key: str) -> Profile:
    """Load a shipped profile by key (blocking: reads a file)."""
    if key not in builtin_profiles():
        raise ProfileError(f"no shipped profile named {key!r}")
    return load_profile(PROFILE_DIR / f"{key}{PROFILE_SUFFIX}")


def load_profile(path: Path) -> Profile:
    """Read and check one profile file (blocking: reads a file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ProfileError(f"{path.name}: cannot be read: {err.strerror}") from None
    return parse_profile(text, path.stem, source=path.name)


def parse_profile(text: str, key: str, *, source: str = "<profile>") -> Profile:
    """Check a profile's YAML text; raises ProfileError naming `source` and the entry."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ProfileError(f"{source}: not valid YAML: {err}") from None
    return _Reader(source).profile(key, data)


_TOP_KEYS: Final = frozenset(
    {
        "name",
        "manufacturer",
        "models",
        "components",
        "defaults",
        "limits",
        "scan_intervals",
        "registers",
        "commands",
        "when_silent",
        "notes",
        "baudrate",
    }
)
_DEFAULT_KEYS: Final = frozenset({"function", "word_order", "sentinels", "scan"})
_LIMIT_KEYS: Final = frozenset({"max_registers", "max_bits", "max_gap"})
_FIELD_KEYS: Final = frozenset(
    {
        "component",
        "quantity",
        "function",
        "address",
        "type",
        "word_order",
        "scale",
        "offset",
        "unit",
        "sentinels",
        "map",
        "flags",
        "default",
        "bit",
        "above",
        "invert",
        "scan",
        "note",
    }
)
_COMMAND_KEYS: Final = frozenset({"component", "action", "writes", "requires", "confirm", "note"})
_CONFIRM_KEYS: Final = frozenset({"function", "address", "values", "state", "answers"})
_REQUIRES_KEYS: Final = frozenset({"function", "address", "bit"})
_WRITE_KEYS: Final = frozenset({"function", "address", "values", "state"})
_SILENT_KEYS: Final = frozenset({"component", "quantity", "value"})
_RAW_LIMITS: Final[Mapping[DataType, tuple[int, int]]] = {
    DataType.U16: (0, 0xFFFF),
    DataType.S16: (0, 0xFFFF),
    DataType.U32: (0, 0xFFFFFFFF),
    DataType.S32: (0, 0xFFFFFFFF),
    DataType.F32: (0, 0xFFFFFFFF),
    DataType.BOOL: (0, 1),
}


class _Reader:
    """Checks one profile document; every error names the file and the entry at fault."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> ProfileError:
        return ProfileError(f"{self.source}: {where}: {message}")

    def mapping(self, value: object, where: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping")
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r}")
        return value

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "must be a non-empty string")
        return value.strip()

    def baudrate(self, value: object) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or value not in BAUDRATES:
            raise self.fail("baudrate", f"must be one of {', '.join(map(str, BAUDRATES))}")
        return int(value)

    def integer(self, value: object, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(where, f"must be a whole number in {low}..{high}")
        return value

    def number(self, value: object, where: str) -> float:
        number = math.nan
        # A number too large for a float, NaN and infinity (YAML's .nan, .inf) are refused: a
        # scale, an offset or a threshold of those turns every value read into nonsense.
        with contextlib.suppress(ValueError, ZeroDivisionError, OverflowError):
            if isinstance(value, str):
                number = float(Fraction(value.replace(" ", "")))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                number = float(value)
        if not math.isfinite(number):
            raise self.fail(where, "must be a finite number or a fraction such as 1/3600")
        return number

    def choice[E: StrEnum](self, enum: type[E], value: object, where: str) -> E:
        if isinstance(value, str) and value in {member.value for member in enum}:
            return enum(value)
        words = ", ".join(member.value for member in enum)
        raise self.fail(where, f"{value!r} is not one of {words}")

    def profile(self, key: str, data: object) -> Profile:
        top = self.mapping(data, "top level", _TOP_KEYS)
        for required in ("name", "components", "registers"):
            if required not in top:
                raise self.fail("top level", f"missing {required!r}")
        slots = self.slots(top["components"])
        defaults = self.mapping(top.get("defaults", {}), "defaults", _DEFAULT_KEYS)
        limits = self.mapping(top.get("limits", {}), "limits", _LIMIT_KEYS)
        scan_intervals = self.scan_intervals(top.get("scan_intervals", {}))
        models = top.get("models", [])
        if not isinstance(models, list):
            raise self.fail("models", "must be a list")
        registers = top["registers"]
        if not isinstance(registers, list) or not registers:
            raise self.fail("registers", "must be a non-empty list")
        fields = tuple(
            self.field(entry, index, slots, defaults, scan_intervals)
            for index, entry in enumerate(registers)
        )
        fed: set[tuple[str, str]] = set()
        for item in fields:
            if (item.slot, item.quantity) in fed:
                raise self.fail(
                    f"register {item.address}", f"{item.slot}/{item.quantity} is fed twice"
                )
            fed.add((item.slot, item.quantity))
        commands = top.get("commands", [])
        if not isinstance(commands, list):
            raise self.fail("commands", "must be a list")
        specs = tuple(self.command(entry, index, slots) for index, entry in enumerate(commands))
        seen: set[tuple[str, str]] = set()
        for spec in specs:
            if (spec.slot, spec.action) in seen:
                raise self.fail("commands", f"{spec.slot}/{spec.action} is defined twice")
            seen.add((spec.slot, spec.action))
        silent = top.get("when_silent", [])
        if not isinstance(silent, list):
            raise self.fail("when_silent", "must be a list")
        return Profile(
            key=key,
            name=self.text(top["name"], "name"),
            manufacturer=self.text(top.get("manufacturer", "Generic"), "manufacturer"),
            models=tuple(self.text(model, "models") for model in models),
            slots=slots,
            fields=fields,
            commands=specs,
            when_silent=tuple(
                self.silent(entry, index, slots) for index, entry in enumerate(silent)
            ),
            max_registers=self.integer(
                limits.get("max_registers", MAX_READ_REGISTERS),
                "limits.max_registers",
                1,
                MAX_READ_REGISTERS,
            ),
            max_bits=self.integer(
                limits.get("max_bits", MAX_READ_BITS), "limits.max_bits", 1, MAX_READ_BITS
            ),
            max_gap=self.integer(
                limits.get("max_gap", DEFAULT_MAX_GAP), "limits.max_gap", 0, MAX_READ_REGISTERS
            ),
            scan_intervals=scan_intervals,
            baudrate=self.baudrate(top.get("baudrate")),
        )

    def slots(self, value: object) -> dict[str, Kind]:
        if not isinstance(value, dict) or not value:
            raise self.fail("components", "must map slot names to kinds")
        slots: dict[str, Kind] = {}
        for name, kind in value.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise self.fail("components", f"slot name {name!r} must be a plain word")
            slots[name] = self.choice(Kind, kind, f"components.{name}")
        return slots

    def scan_intervals(self, value: object) -> dict[str, float]:
        if not isinstance(value, dict):
            raise self.fail("scan_intervals", "must map scan group names to seconds")
        intervals = dict(DEFAULT_SCAN_INTERVALS)
        for name, seconds in value.items():
            number = self.number(seconds, f"scan_intervals.{name}")
            if not 0.1 <= number <= MAX_SCAN_INTERVAL:
                raise self.fail(f"scan_intervals.{name}", f"must be 0.1..{MAX_SCAN_INTERVAL:.0f} s")
            intervals[str(name)] = number
        return intervals

    def slot(self, entry: Mapping[str, Any], where: str, slots: Mapping[str, Kind]) -> str:
        if "component" not in entry:
            if len(slots) == 1:
                return next(iter(slots))
            raise self.fail(where, "missing 'component' (the profile has several)")
        name = entry["component"]
        if not isinstance(name, str) or name not in slots:
            raise self.fail(where, f"component {name!r} is not in 'components'")
        return str(name)

    def sentinels(self, value: object, where: str) -> tuple[tuple[int, int], ...]:
        if not isinstance(value, list):
            raise self.fail(where, "sentinels must be a list of values or [low, high] ranges")
        ranges: list[tuple[int, int]] = []
        for item in value:
            if isinstance(item, list) and len(item) == 2:
                low = self.integer(item[0], where, 0, 0xFFFFFFFF)
                high = self.integer(item[1], where, low, 0xFFFFFFFF)
                ranges.append((low, high))
            else:
                single = self.integer(item, where, 0, 0xFFFFFFFF)
                ranges.append((single, single))
        return tuple(ranges)

    def field(
        self,
        entry: object,
        index: int,
        slots: Mapping[str, Kind],
        defaults: Mapping[str, Any],
        scan_intervals: Mapping[str, float],
    ) -> Field:
        where = f"registers[{index}]"
        item = self.mapping(entry, where, _FIELD_KEYS)
        if "address" in item:
            where = f"register {item['address']}"
        slot = self.slot(item, where, slots)
        kind = slots[slot]
        name = item.get("quantity")
        spec = QUANTITIES[kind].get(name) if isinstance(name, str) else None
        if spec is None:
            raise self.fail(where, f"{kind.value} has no quantity {name!r}")
        where = f"{where} ({slot}/{spec.name})"
        function = self.choice(Function, item.get("function", defaults.get("function")), where)
        address = self.integer(item.get("address"), f"{where} address", 0, MAX_ADDRESS)
        default_type = DataType.BOOL if function.is_bit else DataType.U16
        data_type = self.choice(DataType, item.get("type", default_type.value), where)
        if function.is_bit != (data_type is DataType.BOOL):
            raise self.fail(where, f"a {function.value} needs type bool, a register a number type")
        if address + data_type.words - 1 > MAX_ADDRESS:
            raise self.fail(where, "runs past the last Modbus address")
        scan = item.get("scan", defaults.get("scan", DEFAULT_SCAN))
        if not isinstance(scan, str) or scan not in scan_intervals:
            raise self.fail(where, f"scan group {scan!r} is not one of {', '.join(scan_intervals)}")
        sentinel_source = item.get("sentinels")
        if sentinel_source is None:
            by_type = defaults.get("sentinels", {})
            if not isinstance(by_type, dict):
                raise self.fail("defaults.sentinels", "must map type names to sentinel lists")
            sentinel_source = by_type.get(data_type.value, [])
        built = Field(
            slot=slot,
            kind=kind,
            quantity=spec.name,
            function=function,
            address=address,
            type=data_type,
            word_order=self.choice(
                WordOrder, item.get("word_order", defaults.get("word_order", "big")), where
            ),
            scale=self.number(item.get("scale", 1), f"{where} scale"),
            offset=self.number(item.get("offset", 0), f"{where} offset"),
            sentinels=self.sentinels(sentinel_source, where),
            mapping=self.value_map(item.get("map"), spec, where),
            flags=self.flags(item.get("flags"), spec, data_type, where),
            default=self.value(item["default"], spec, where) if "default" in item else None,
            bit=self.bit(item.get("bit"), data_type, where),
            above=self.number(item["above"], f"{where} above") if "above" in item else None,
            invert=self.boolean(item.get("invert", False), f"{where} invert"),
            scan=scan,
        )
        self.check_shape(built, spec, item.get("unit"), where)
        return built

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, "must be true or false")
        return value

    def bit(self, value: object, data_type: DataType, where: str) -> int | None:
        if value is None:
            return None
        if data_type is DataType.BOOL:
            raise self.fail(where, "'bit' picks a bit of a register, not of a coil")
        return self.integer(value, f"{where} bit", 0, 16 * data_type.words - 1)

    def value(self, value: object, spec: Quantity, where: str) -> Value:
        if spec.type is ValueType.BOOL and isinstance(value, bool):
            return value
        if spec.type is ValueType.ENUM and value in spec.options:
            return str(value)
        if (
            spec.type is ValueType.NUMBER
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value)
        expected = (
            f"one of {', '.join(spec.options)}" if spec.type is ValueType.ENUM else spec.type.value
        )
        raise self.fail(where, f"{value!r} is not a {spec.name} value ({expected})")

    def value_map(self, value: object, spec: Quantity, where: str) -> dict[int, Value] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            raise self.fail(where, "map must be a mapping of raw values to values")
        return {
            self.integer(raw, f"{where} map", -0x80000000, 0xFFFFFFFF): self.value(
                meaning, spec, f"{where} map"
            )
            for raw, meaning in value.items()
        }

    def flags(
        self, value: object, spec: Quantity, data_type: DataType, where: str
    ) -> tuple[tuple[int, str], ...]:
        if value is None:
            return ()
        if spec.type is not ValueType.ENUM or not isinstance(value, list) or not value:
            raise self.fail(where, "flags must be a list of [bit, word] for an enum quantity")
        pairs: list[tuple[int, str]] = []
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(where, "each flag must be [bit, word]")
            bit = self.integer(pair[0], f"{where} flags", 0, 16 * data_type.words - 1)
            pairs.append((bit, str(self.value(pair[1], spec, f"{where} flags"))))
        return tuple(pairs)

    def check_shape(self, built: Field, spec: Quantity, unit: object, where: str) -> None:
        """Refuse a field whose decoding cannot yield a value of its quantity's type."""
        shapes = [
            name
            for name, present in (
                ("map", built.mapping is not None),
                ("flags", bool(built.flags)),
                ("bit", built.bit is not None),
                ("above", built.above is not None),
            )
            if present
        ]
        if len(shapes) > 1:
            raise self.fail(where, f"{' and '.join(shapes)} cannot be combined")
        if built.type is DataType.F32 and shapes and shapes != ["above"]:
            raise self.fail(where, f"{shapes[0]} needs an integer type, not f32")
        if spec.type is ValueType.NUMBER:
            if shapes:
                raise self.fail(where, f"{shapes[0]} gives no number for {spec.name}")
            if spec.unit is not None and unit != spec.unit:
                raise self.fail(
                    where,
                    f"unit must be {spec.unit!r} (scale the raw value into it), got {unit!r}",
                )
        elif spec.type is ValueType.BOOL:
            if not (built.type is DataType.BOOL or shapes in (["bit"], ["above"], ["map"])):
                raise self.fail(where, f"{spec.name} is on/off: use a coil, bit, above or map")
        elif shapes not in (["map"], ["flags"]):
            raise self.fail(where, f"{spec.name} is a word: use map or flags")
        if built.invert and spec.type is not ValueType.BOOL:
            raise self.fail(where, "invert is for on/off quantities")
        if built.default is not None and spec.type is ValueType.NUMBER:
            raise self.fail(where, "default is for map and flags")
        low, high = _RAW_LIMITS[built.type]
        for start, stop in built.sentinels:
            if start < low or stop > high:
                raise self.fail(where, f"sentinel {start}..{stop} does not fit a {built.type}")

    def command(self, entry: object, index: int, slots: Mapping[str, Kind]) -> CommandSpec:
        where = f"commands[{index}]"
        item = self.mapping(entry, where, _COMMAND_KEYS)
        slot = self.slot(item, where, slots)
        action = self.text(item.get("action"), f"{where} action")
        where = f"command {slot}/{action}"
        writes = item.get("writes")
        if not isinstance(writes, list) or not writes:
            raise self.fail(where, "writes must be a non-empty list")
        return CommandSpec(
            slot=slot,
            action=action,
            writes=tuple(self.write(write, where) for write in writes),
            requires=self.requirement(item["requires"], where) if "requires" in item else None,
            confirm=self.confirmation(item["confirm"], where) if "confirm" in item else None,
        )

    def confirmation(self, entry: object, where: str) -> Confirmation:
        item = self.mapping(entry, f"{where} confirm", _CONFIRM_KEYS)
        function = self.choice(Function, item.get("function", "holding"), f"{where} confirm")
        address = self.integer(item.get("address"), f"{where} confirm address", 0, MAX_ADDRESS)
        if function.is_bit:
            if "values" in item or "answers" in item:
                raise self.fail(where, "confirm: a coil or discrete input reads 'state'")
            return Confirmation(
                function=function,
                address=address,
                state=self.boolean(item.get("state"), f"{where} confirm state"),
            )
        if "state" in item:
            raise self.fail(where, "confirm: a register reads 'values', not 'state'")
        values = item.get("values")
        if not isinstance(values, list) or not 1 <= len(values) <= 4:
            raise self.fail(where, "confirm: values must be a list of 1..4 register values")
        answers = item.get("answers", {})
        if not isinstance(answers, dict):
            raise self.fail(where, "confirm: answers must map raw contents to words")
        return Confirmation(
            function=function,
            address=address,
            values=tuple(self.integer(v, f"{where} confirm values", 0, 0xFFFF) for v in values),
            answers={
                self.integer(raw, f"{where} confirm answers", 0, 0xFFFFFFFFFFFFFFFF): self.text(
                    meaning, f"{where} confirm answers"
                )
                for raw, meaning in answers.items()
            },
        )

    def requirement(self, entry: object, where: str) -> Requirement:
        item = self.mapping(entry, f"{where} requires", _REQUIRES_KEYS)
        function = self.choice(Function, item.get("function", "holding"), f"{where} requires")
        address = self.integer(item.get("address"), f"{where} requires address", 0, MAX_ADDRESS)
        if function.is_bit:
            if "bit" in item:
                raise self.fail(where, "requires: a coil or discrete input is one bit already")
            return Requirement(function=function, address=address)
        if "bit" not in item:
            raise self.fail(where, "requires: name the register's bit (0..15)")
        bit = self.integer(item["bit"], f"{where} requires bit", 0, 15)
        return Requirement(function=function, address=address, bit=bit)

    def write(self, entry: object, where: str) -> Write:
        item = self.mapping(entry, f"{where} write", _WRITE_KEYS)
        function = self.choice(Function, item.get("function", "holding"), f"{where} write")
        address = self.integer(item.get("address"), f"{where} address", 0, MAX_ADDRESS)
        if function is Function.COIL:
            if "values" in item:
                raise self.fail(where, "a coil write takes 'state', not 'values'")
            return Write(
                function=function,
                address=address,
                state=self.boolean(item.get("state"), f"{where} state"),
            )
        if function is not Function.HOLDING:
            raise self.fail(where, f"a {function.value} cannot be written")
        if "state" in item:
            raise self.fail(where, "a register write takes 'values', not 'state'")
        values = item.get("values")
        if not isinstance(values, list) or not 1 <= len(values) <= 123:
            raise self.fail(where, "values must be a list of 1..123 register values")
        if address + len(values) - 1 > MAX_ADDRESS:
            raise self.fail(where, "runs past the last Modbus address")
        return Write(
            function=function,
            address=address,
            values=tuple(self.integer(value, f"{where} values", 0, 0xFFFF) for value in values),
        )

    def silent(self, entry: object, index: int, slots: Mapping[str, Kind]) -> SilentValue:
        where = f"when_silent[{index}]"
        item = self.mapping(entry, where, _SILENT_KEYS)
        slot = self.slot(item, where, slots)
        name = item.get("quantity")
        spec = QUANTITIES[slots[slot]].get(name) if isinstance(name, str) else None
        if spec is None:
            raise self.fail(where, f"{slots[slot].value} has no quantity {name!r}")
        return SilentValue(
            slot=slot, quantity=spec.name, value=self.value(item.get("value"), spec, where)
        )
