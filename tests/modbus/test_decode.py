"""Register decoding: raw words as a controller sends them, values as the operator sees them."""

from __future__ import annotations

import struct

import pytest

from custom_components.sot.modbus.decode import decode, spec_of
from custom_components.sot.modbus.profile import (
    Field,
    Profile,
    builtin_profiles,
    load_builtin,
    parse_profile,
)
from custom_components.sot.site.readings import RejectReason
from custom_components.sot.site.values import ValueRejected
from custom_components.sot.site.vocabulary import Value, ValueType

from .encoding import encode, merge_bits


def _field(profile: Profile, slot: str, quantity: str) -> Field:
    return next(f for f in profile.fields if (f.slot, f.quantity) == (slot, quantity))


@pytest.fixture(scope="module")
def dse() -> Profile:
    return load_builtin("deep_sea_gencomm")


def _f32(number: float) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", number))
    return [high, low]


def test_deep_sea_numbers(dse: Profile) -> None:
    assert decode(_field(dse, "generator", "oil_pressure"), [345]) == 345.0
    # 0xFFEC is −20 °C in a signed register: a cold engine block in winter.
    assert decode(_field(dse, "generator", "coolant_temperature"), [0xFFEC]) == -20.0
    assert decode(_field(dse, "generator", "battery_voltage"), [136]) == 13.6
    assert decode(_field(dse, "generator", "frequency"), [501]) == 50.1
    # 231.4 V in a u32 of 0.1 V, high word first.
    assert decode(_field(dse, "generator", "voltage"), [0, 2314]) == 231.4
    # 23 500 W as s32 → 23.5 kW; a reverse-power −1 200 W → −1.2 kW.
    assert decode(_field(dse, "generator", "power"), [0, 23500]) == 23.5
    assert decode(_field(dse, "generator", "power"), [0xFFFF, 0xFB50]) == -1.2
    # 1 234 567 s of running is 342.935... hours.
    assert decode(_field(dse, "generator", "run_hours"), [0x12, 0xD687]) == pytest.approx(
        1234567 / 3600
    )
    assert decode(_field(dse, "generator", "fuel_rate"), [0, 790]) == 7.9
    assert decode(_field(dse, "fuel", "level"), [64]) == 64.0


def test_deep_sea_words(dse: Profile) -> None:
    state = _field(dse, "generator", "state")
    assert [decode(state, [raw]) for raw in range(7)] == [
        "stopped",
        "starting",
        "warming_up",
        "running",
        "cooling_down",
        "stopped",
        "stopping",
    ]
    mode = _field(dse, "generator", "mode")
    assert decode(mode, [1]) == "auto"
    assert decode(mode, [0]) == "off"
    alarm = _field(dse, "generator", "alarm")
    assert decode(alarm, [0]) == "ok"
    assert decode(alarm, [1 << 11]) == "warning"
    assert decode(alarm, [1 << 12 | 1 << 11]) == "trip"
    assert decode(alarm, [1 << 13 | 1 << 11]) == "shutdown"
    # Other status bits (bit 0, bit 15) do not raise an alarm.
    assert decode(alarm, [1 | 1 << 15]) == "ok"


def test_mains_voltage_goes_to_the_site_as_a_number(dse: Profile) -> None:
    """Presence is the site's to decide from the voltage (its grid voltage threshold, 184 V)."""
    voltage = _field(dse, "mains", "voltage")
    assert decode(voltage, [0, 2301]) == 230.1
    assert decode(voltage, [0, 35]) == 3.5  # induced noise on a dead line: a number, no verdict


def test_a_profile_may_still_turn_a_number_into_on_off() -> None:
    """`above` stays for devices that report a state as a number (not for grid presence)."""
    profile = parse_profile(
        "name: Tank switch\ncomponents: {tank: tank, pump: load}\n"
        "defaults: {function: holding}\n"
        "registers:\n  - {component: tank, quantity: level, address: 0, unit: '%'}\n"
        "  - {component: pump, quantity: state, address: 1, above: 0.5}\n",
        "tank_switch",
    )
    state = _field(profile, "pump", "state")
    assert decode(state, [1]) is True
    assert decode(state, [0]) is False


@pytest.mark.parametrize(
    ("slot", "quantity", "raw"),
    [
        ("generator", "oil_pressure", [0xFFFF]),
        ("generator", "oil_pressure", [0xFFF8]),
        ("generator", "coolant_temperature", [0x7FFF]),
        ("generator", "voltage", [0xFFFF, 0xFFFE]),
        ("generator", "power", [0x7FFF, 0xFFFF]),
    ],
)
def test_deep_sea_sentinels_are_no_reading(
    dse: Profile, slot: str, quantity: str, raw: list[int]
) -> None:
    with pytest.raises(ValueRejected) as caught:
        decode(_field(dse, slot, quantity), raw)
    assert caught.value.reason is RejectReason.NO_READING


def test_out_of_range_and_unmapped_are_refused(dse: Profile) -> None:
    with pytest.raises(ValueRejected) as caught:
        decode(_field(dse, "fuel", "level"), [250])  # 250 % of a tank
    assert caught.value.reason is RejectReason.OUT_OF_RANGE
    with pytest.raises(ValueRejected) as caught:
        decode(_field(dse, "generator", "state"), [9])
    assert caught.value.reason is RejectReason.BAD_ENUM
    assert "raw value 9" in str(caught.value)
    with pytest.raises(ValueRejected) as caught:
        decode(_field(dse, "generator", "voltage"), [2314])
    assert caught.value.reason is RejectReason.DEVICE_ERROR


def test_eastron_floats() -> None:
    sdm = load_builtin("eastron_sdm630")
    assert decode(_field(sdm, "meter", "voltage"), _f32(230.5)) == 230.5
    assert decode(_field(sdm, "meter", "power"), _f32(-1500.0)) == -1.5
    assert decode(_field(sdm, "meter", "energy"), _f32(12345.5)) == 12345.5
    with pytest.raises(ValueRejected) as caught:
        decode(_field(sdm, "meter", "frequency"), _f32(float("nan")))
    assert caught.value.reason is RejectReason.NOT_FINITE


def test_pzem_low_word_first() -> None:
    pzem = load_builtin("pzem_004t")
    # 1 234.5 W = 12 345 × 0.1 W; 70 000 Wh; both low word first.
    assert decode(_field(pzem, "meter", "power"), [12345, 0]) == pytest.approx(1.2345)
    assert decode(_field(pzem, "meter", "energy"), [70000 & 0xFFFF, 70000 >> 16]) == 70.0
    assert decode(_field(pzem, "meter", "voltage"), [2298]) == 229.8


def test_coils() -> None:
    smartgen = load_builtin("smartgen_hgm6100")
    present = _field(smartgen, "mains", "present")  # the "mains abnormal" coil, inverted
    assert decode(present, [True]) is False
    assert decode(present, [False]) is True
    alarm = _field(smartgen, "generator", "alarm")
    assert decode(alarm, [True]) == "warning"
    relay = _field(load_builtin("relay_8ch"), "relay2", "state")
    assert decode(relay, [True]) is True


def test_comap_state_and_on_load() -> None:
    comap = load_builtin("comap_intelilite4")
    state, on_load = _field(comap, "generator", "state"), _field(comap, "generator", "on_load")
    assert (decode(state, [8]), decode(on_load, [8])) == ("running", True)
    assert (decode(state, [7]), decode(on_load, [7])) == ("running", False)
    assert decode(_field(comap, "generator", "oil_pressure"), [42]) == 420.0  # 4.2 bar


def _meanings(item: Field) -> list[Value]:
    """Every value a field can show: both states, each word, or a few numbers."""
    if item.mapping is not None or item.flags:
        words = [*(item.mapping or {}).values(), *(word for _, word in item.flags)]
        return [*dict.fromkeys(words), *([item.default] if item.default is not None else [])]
    if spec_of(item).type is ValueType.BOOL:
        return [True, False]
    return [12.0, 31.5, 0.0]


@pytest.mark.parametrize("key", builtin_profiles())
def test_encode_is_the_inverse_of_decode(key: str) -> None:
    """What a simulator serves from a profile decodes back to the value it meant."""
    for item in load_builtin(key).fields:
        for value in _meanings(item):
            decoded = decode(item, encode(item, value))
            if isinstance(value, float):
                assert decoded == pytest.approx(value, abs=abs(item.scale)), item.label
            else:
                assert decoded == value, item.label


def test_merge_bits_of_a_status_word() -> None:
    dse = load_builtin("deep_sea_gencomm")
    alarm = _field(dse, "generator", "alarm")
    word = merge_bits(encode(alarm, "warning"), [1 << 13])
    assert decode(alarm, word) == "shutdown"
