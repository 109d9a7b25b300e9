"""Modbus profiles: every shipped one loads, and a broken one says exactly what is wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from custom_components.sot.modbus.profile import (
    DataType,
    Function,
    ProfileError,
    Requirement,
    WordOrder,
    builtin_profiles,
    load_builtin,
    load_profile,
    parse_profile,
)
from custom_components.sot.site.vocabulary import QUANTITIES, Kind

SHIPPED = {
    "comap_intelilite4",
    "deep_sea_gencomm",
    "eastron_sdm120",
    "eastron_sdm630",
    "pzem_004t",
    "relay_8ch",
    "smartgen_hgm6100",
    "tank_gauge",
}


def test_the_promised_profiles_ship() -> None:
    assert set(builtin_profiles()) == SHIPPED


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_shipped_profile_is_valid(key: str) -> None:
    profile = load_builtin(key)
    assert profile.key == key
    assert profile.fields
    for item in profile.fields:
        assert item.quantity in QUANTITIES[item.kind]


def test_deep_sea_register_facts() -> None:
    """The GenComm rows a controller's manual gives, as the profile encodes them."""
    dse = load_builtin("deep_sea_gencomm")
    by_quantity = {(f.slot, f.quantity): f for f in dse.fields}
    power = by_quantity["generator", "power"]
    assert (power.address, power.type, power.word_order) == (1536, DataType.S32, WordOrder.BIG)
    assert power.scale == pytest.approx(0.001)
    run_hours = by_quantity["generator", "run_hours"]
    assert run_hours.scale == pytest.approx(1 / 3600)
    assert run_hours.scan == "slow"
    oil = by_quantity["generator", "oil_pressure"]
    assert (0xFFF8, 0xFFFF) in oil.sentinels
    coolant = by_quantity["generator", "coolant_temperature"]
    assert (0x7FF8, 0x7FFF) in coolant.sentinels
    assert by_quantity["fuel", "level"].kind is Kind.TANK
    # The mains voltage only: the site decides presence with its own threshold.
    assert ("mains", "present") not in by_quantity
    assert by_quantity["mains", "voltage"].address == 1060
    start = dse.command("generator", "start")
    assert start is not None
    (write,) = start.writes
    assert write.address == 4104
    assert write.values == (35732, 65535 - 35732)


def test_control_keys_are_paired_with_their_complement() -> None:
    for spec in load_builtin("deep_sea_gencomm").commands:
        key, check = spec.writes[0].values
        assert key + check == 0xFFFF, spec.action


def test_default_component_ids() -> None:
    dse = load_builtin("deep_sea_gencomm")
    assert [dse.default_component_id(slot) for slot in dse.slots] == ["main", "main", "main"]
    relays = load_builtin("relay_8ch")
    assert relays.default_component_id("relay3") == "relay3"


def _profile(body: str) -> str:
    return textwrap.dedent(
        """\
        name: Test
        components: {generator: generator, mains: grid}
        defaults: {function: holding}
        """
    ) + textwrap.dedent(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "registers:\n  - {component: generator, quantity: power, address: 5, unit: W}\n",
            "register 5 (generator/power): unit must be 'kW'",
        ),
        (
            "registers:\n  - {component: generator, quantity: powr, address: 5}\n",
            "register 5: generator has no quantity 'powr'",
        ),
        (
            "registers:\n  - {component: tank, quantity: level, address: 5, unit: '%'}\n",
            "register 5: component 'tank' is not in 'components'",
        ),
        (
            "registers:\n  - {quantity: power, address: 5, unit: kW}\n",
            "register 5: missing 'component'",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 70000, unit: rpm}\n",
            "address: must be a whole number in 0..65535",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, type: u64}\n",
            "'u64' is not one of u16, s16, u32, s32, f32, bool",
        ),
        (
            "registers:\n  - {component: generator, quantity: state, address: 1}\n",
            "state is a word: use map or flags",
        ),
        (
            "registers:\n  - {component: generator, quantity: state, address: 1,"
            " map: {0: stopped, 1: flying}}\n",
            "'flying' is not a state value (one of stopped",
        ),
        (
            "registers:\n  - {component: generator, quantity: on_load, address: 1,"
            " function: coil, type: u16}\n",
            "a coil needs type bool",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " scale: fast}\n",
            "scale: must be a finite number or a fraction",
        ),
        # Not a finite number: every value read would be refused (NaN) or nonsense.
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " scale: .nan}\n",
            "scale: must be a finite number or a fraction",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " offset: -.inf}\n",
            "offset: must be a finite number or a fraction",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " scale: 1" + "0" * 400 + "}\n",
            "scale: must be a finite number or a fraction",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " scale: '1" + "0" * 400 + "/3'}\n",
            "scale: must be a finite number or a fraction",
        ),
        (
            "registers:\n  - {component: generator, quantity: on_load, address: 1, above: .nan}\n",
            "above: must be a finite number or a fraction",
        ),
        (
            "registers:\n  - {component: [generator], quantity: speed, address: 1, unit: rpm}\n",
            "register 1: component ['generator'] is not in 'components'",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " scan: [fast]}\n",
            "scan group ['fast'] is not one of fast, slow",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " scan: hourly}\n",
            "scan group 'hourly' is not one of fast, slow",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " colour: red}\n",
            "registers[0]: unknown key 'colour'",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "  - {component: generator, quantity: speed, address: 2, unit: rpm}\n",
            "generator/speed is fed twice",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "commands:\n  - {component: generator, action: start,"
            " writes: [{function: input, address: 3, values: [1]}]}\n",
            "command generator/start: a input cannot be written",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "commands:\n  - {component: generator, action: start,"
            " writes: [{address: 3, values: [70000]}]}\n",
            "command generator/start values: must be a whole number in 0..65535",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm,"
            " sentinels: [[0xFFFF, 0xFFF8]]}\n",
            "must be a whole number in 65535..4294967295",
        ),
        (
            "baudrate: 2300\nregisters:\n  - {component: generator, quantity: speed, address: 1,"
            " unit: rpm}\n",
            "baudrate: must be one of 1200, 2400, 4800, 9600",
        ),
        ("registers: []\n", "registers: must be a non-empty list"),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "commands:\n  - {component: generator, action: start, requires: {address: 4098},"
            " writes: [{address: 4104, values: [35732, 29803]}]}\n",
            "command generator/start: requires: name the register's bit (0..15)",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "commands:\n  - {component: generator, action: start,"
            " requires: {function: coil, address: 3, bit: 1},"
            " writes: [{address: 4104, values: [35732, 29803]}]}\n",
            "requires: a coil or discrete input is one bit already",
        ),
        (
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "commands:\n  - {component: generator, action: start,"
            " requires: {address: 4098, bit: 16},"
            " writes: [{address: 4104, values: [35732, 29803]}]}\n",
            "command generator/start requires bit: must be a whole number in 0..15",
        ),
    ],
)
def test_broken_profile_names_file_and_register(body: str, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(_profile(body), "test", source="test.yaml")
    assert str(caught.value).startswith("test.yaml: ")
    assert message in str(caught.value)


def test_not_yaml_and_missing_keys() -> None:
    with pytest.raises(ProfileError, match=r"bad\.yaml: not valid YAML"):
        parse_profile("name: [unclosed", "bad", source="bad.yaml")
    with pytest.raises(ProfileError, match=r"bad\.yaml: top level: missing 'components'"):
        parse_profile("name: X\nregisters: []\n", "bad", source="bad.yaml")
    with pytest.raises(ProfileError, match=r"top level: must be a mapping"):
        parse_profile("- just a list\n", "bad", source="bad.yaml")


def test_load_profile_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my_meter.yaml"
    path.write_text(
        "name: My meter\ncomponents: {meter: grid}\n"
        "registers:\n  - {quantity: voltage, function: input, address: 0, type: f32, unit: V}\n",
        encoding="utf-8",
    )
    profile = load_profile(path)
    assert profile.key == "my_meter"
    (voltage,) = profile.fields
    assert (voltage.function, voltage.type, voltage.slot) == (Function.INPUT, DataType.F32, "meter")
    with pytest.raises(ProfileError, match=r"missing\.yaml: cannot be read"):
        load_profile(tmp_path / "missing.yaml")
    with pytest.raises(ProfileError, match="no shipped profile named 'nope'"):
        load_builtin("nope")


def test_a_command_may_require_a_coil() -> None:
    profile = parse_profile(
        _profile(
            "registers:\n  - {component: generator, quantity: speed, address: 1, unit: rpm}\n"
            "commands:\n  - {component: generator, action: start,"
            " requires: {function: discrete, address: 7},"
            " writes: [{function: coil, address: 0, state: true}]}\n"
        ),
        "test",
    )
    spec = profile.command("generator", "start")
    assert spec is not None
    assert spec.requires == Requirement(function=Function.DISCRETE, address=7)
