"""Every shipped profile against the register facts, written out here from the sources each
profile cites, never read from the profiles themselves.

Sources (the profiles cite them per fact; second-hand ones are marked so there):
- DSE-KEYS: Deep Sea Electronics, 056-051 GenComm Control Keys (key 35700 + n is function n).
- DSE-55x: Deep Sea Electronics, GenComm v1.29 for 550/555/5210/5220, page 16 control registers.
- VICTRON-DSE: Victron dbus-modbus-client dse.py (second-hand): registers, scales, the
  not-available values -1..-8, control mode 0-7, engine state (15 not available), and the
  support bitmap read as bit 15 - n % 16 of register 4096 + n // 16.
- COMAP-GG: ComAp InteliLite4 AMF20 Global Guide: commands 4207-4209 and their return values
  (p. 190), Modbus remote start coil 4700 (p. 191), invalid values 32768 / 65535.
- VICTRON-COMAP: Victron dbus-modbus-client comap.py (second-hand): the default map, engine
  states 0-17, modes 0-3.
- EASTRON: Eastron SDM630-Modbus V2 manual input registers (SDM120: second-hand); the SDM120C
  manual: the meter is self-powered from the line it measures (no auxiliary supply).
- PEACEFAIR: PZEM-004T V3.0 user manual.
- SMARTGEN: HGM6100N protocol (second-hand).
"""

from __future__ import annotations

import pytest

from custom_components.sot.modbus.decode import decode
from custom_components.sot.modbus.profile import Function, Profile, load_builtin
from custom_components.sot.site.values import ValueRejected
from custom_components.sot.site.vocabulary import Value

# (component slot, quantity) -> (function, address, type, word order, scale).
type Facts = dict[tuple[str, str], tuple[str, int, str, str, float]]

H, IN, C = "holding", "input", "coil"

DEEP_SEA: Facts = {
    ("generator", "mode"): (H, 772, "u16", "big", 1),
    ("generator", "alarm"): (H, 774, "u16", "big", 1),
    ("generator", "oil_pressure"): (H, 1024, "u16", "big", 1),  # kPa
    ("generator", "coolant_temperature"): (H, 1025, "s16", "big", 1),
    ("fuel", "level"): (H, 1027, "u16", "big", 1),
    ("generator", "battery_voltage"): (H, 1029, "u16", "big", 0.1),
    ("generator", "speed"): (H, 1030, "u16", "big", 1),
    ("generator", "frequency"): (H, 1031, "u16", "big", 0.1),
    ("generator", "voltage"): (H, 1032, "u32", "big", 0.1),  # L1-N
    ("generator", "current"): (H, 1044, "u32", "big", 0.1),  # L1
    ("mains", "frequency"): (H, 1059, "u16", "big", 0.1),
    ("mains", "voltage"): (H, 1060, "u32", "big", 0.1),
    ("generator", "fuel_rate"): (H, 1290, "u32", "big", 0.01),
    ("generator", "state"): (H, 1408, "u16", "big", 1),
    ("generator", "power"): (H, 1536, "s32", "big", 0.001),  # W -> kW
    ("generator", "load"): (H, 1558, "s16", "big", 0.1),
    ("generator", "run_hours"): (H, 1798, "u32", "big", 1 / 3600),  # s -> h
    ("generator", "energy"): (H, 1800, "u32", "big", 0.1),
    ("generator", "starts"): (H, 1808, "u32", "big", 1),
}
COMAP: Facts = {
    ("generator", "speed"): (H, 1004, "u16", "big", 1),
    ("generator", "coolant_temperature"): (H, 1006, "s16", "big", 1),
    ("generator", "oil_pressure"): (H, 1008, "u16", "big", 10),  # 0.1 bar -> kPa
    ("generator", "run_hours"): (H, 1013, "u32", "big", 0.1),
    ("generator", "power"): (H, 1020, "s16", "big", 1),
    ("generator", "frequency"): (H, 1036, "u16", "big", 0.1),
    ("generator", "voltage"): (H, 1037, "u16", "big", 1),
    ("generator", "current"): (H, 1043, "u16", "big", 1),
    ("generator", "battery_voltage"): (H, 1053, "u16", "big", 0.1),
    ("fuel", "level"): (H, 1055, "u16", "big", 1),
    ("generator", "state"): (H, 1298, "u16", "big", 1),
    ("generator", "on_load"): (H, 1298, "u16", "big", 1),
    ("generator", "mode"): (H, 1382, "u16", "big", 1),
}
SMARTGEN: Facts = {
    ("mains", "voltage"): (H, 0x0000, "u16", "big", 1),
    ("mains", "frequency"): (H, 0x0006, "u16", "big", 0.1),
    ("generator", "voltage"): (H, 0x0007, "u16", "big", 1),
    ("generator", "frequency"): (H, 0x000D, "u16", "big", 0.1),
    ("generator", "coolant_temperature"): (H, 0x0011, "s16", "big", 1),
    ("generator", "oil_pressure"): (H, 0x0013, "u16", "big", 1),
    ("fuel", "level"): (H, 0x0015, "u16", "big", 1),
    ("generator", "speed"): (H, 0x0017, "u16", "big", 1),
    ("generator", "battery_voltage"): (H, 0x0018, "u16", "big", 0.1),
    ("generator", "power"): (H, 0x001A, "s16", "big", 0.1),
    ("generator", "alarm"): (C, 0x0000, "bool", "big", 1),  # common alarm
    ("mains", "present"): (C, 0x0040, "bool", "big", 1),  # mains abnormal, inverted
}
SDM120: Facts = {
    ("meter", "voltage"): (IN, 0x0000, "f32", "big", 1),
    ("meter", "power"): (IN, 0x000C, "f32", "big", 0.001),  # W -> kW
    ("meter", "frequency"): (IN, 0x0046, "f32", "big", 1),
    ("meter", "energy"): (IN, 0x0048, "f32", "big", 1),  # import kWh
}
SDM630: Facts = {
    ("meter", "voltage"): (IN, 0x0000, "f32", "big", 1),
    ("meter", "power"): (IN, 0x0034, "f32", "big", 0.001),  # total W -> kW
    ("meter", "frequency"): (IN, 0x0046, "f32", "big", 1),
    ("meter", "energy"): (IN, 0x0048, "f32", "big", 1),
}
PZEM: Facts = {
    ("meter", "voltage"): (IN, 0x0000, "u16", "little", 0.1),
    ("meter", "power"): (IN, 0x0003, "u32", "little", 0.0001),  # 0.1 W -> kW
    ("meter", "energy"): (IN, 0x0005, "u32", "little", 0.001),  # Wh -> kWh
    ("meter", "frequency"): (IN, 0x0007, "u16", "little", 0.1),
}
RELAYS: Facts = {(f"relay{n}", "state"): (C, n - 1, "bool", "big", 1) for n in range(1, 9)}
TANK_GAUGE: Facts = {
    ("tank", "level"): (H, 0, "u16", "big", 0.1),
    ("tank", "volume"): (H, 1, "u16", "big", 1),
}

FACTS: dict[str, Facts] = {
    "deep_sea_gencomm": DEEP_SEA,
    "comap_intelilite4": COMAP,
    "smartgen_hgm6100": SMARTGEN,
    "eastron_sdm120": SDM120,
    "eastron_sdm630": SDM630,
    "pzem_004t": PZEM,
    "relay_8ch": RELAYS,
    "tank_gauge": TANK_GAUGE,
}


def _served(profile: Profile) -> Facts:
    return {
        (f.slot, f.quantity): (
            f.function.value,
            f.address,
            f.type.value,
            f.word_order.value,
            pytest.approx(f.scale),
        )
        for f in profile.fields
    }


@pytest.mark.parametrize("key", sorted(FACTS))
def test_registers_match_the_facts(key: str) -> None:
    assert _served(load_builtin(key)) == FACTS[key]


def test_deep_sea_no_reading_values() -> None:
    """VICTRON-DSE: -1..-8 of each type (the top eight raw values) mean not available, over or
    under range, transducer fault, bad data; 772 and 1408 add their own (tests below)."""
    sentinels = {f.type.value: f.sentinels[:1] for f in load_builtin("deep_sea_gencomm").fields}
    assert sentinels == {
        "u16": ((0xFFF8, 0xFFFF),),
        "s16": ((0x7FF8, 0x7FFF),),
        "u32": ((0xFFFFFFF8, 0xFFFFFFFF),),
        "s32": ((0x7FFFFFF8, 0x7FFFFFFF),),
    }


def _commands(key: str) -> dict[str, tuple[object, ...]]:
    return {
        spec.action: (
            spec.requires and (spec.requires.address, spec.requires.bit),
            *[(w.function.value, w.address, w.values or w.state) for w in spec.writes],
        )
        for spec in load_builtin(key).commands
        if spec.slot == "generator"
    }


# DSE-KEYS: system control function n has key 35700 + n.
DSE_FUNCTIONS = {"mode_off": 0, "mode_auto": 1, "mode_manual": 2, "start": 32, "stop": 33}


def _gencomm_support_bit(function: int) -> tuple[int, int]:
    """VICTRON-DSE: `bit_pos = 15 - function_code % 16` of `scf_reg_vals[function_code // 16]`."""
    return 4096 + function // 16, 15 - function % 16


def test_deep_sea_control_keys() -> None:
    """DSE-55x: key and 65535 - key to 4104/4105 in one FC16; DSE-KEYS: key 35700 + n;
    VICTRON-DSE: each after its bit in the support bitmap, function 0 the most significant."""
    assert _commands("deep_sea_gencomm") == {
        action: (_gencomm_support_bit(n), (H, 4104, (35700 + n, 65535 - 35700 - n)))
        for action, n in DSE_FUNCTIONS.items()
    }
    # Written out, so a reader sees the bits: function 0 at the top of 4096.
    assert _gencomm_support_bit(0) == (4096, 15)
    assert _gencomm_support_bit(33) == (4098, 14)


def _decoded(key: str, quantity: str, raw: int) -> Value | str:
    """A raw register through the profile's field: its value, or why it was refused."""
    (item,) = (f for f in load_builtin(key).fields if f.quantity == quantity)
    units = [raw >> 16, raw & 0xFFFF] if item.width == 2 else [raw]
    try:
        return decode(item, units)
    except ValueRejected as err:
        return err.reason.value


def test_deep_sea_control_mode_takes_every_value_of_the_driver() -> None:
    """VICTRON-DSE maps 772 values 0-7; none is refused as meaningless. 5 (user configuration)
    has no word in the vocabulary and reads as no reading."""
    modes = {raw: _decoded("deep_sea_gencomm", "mode", raw) for raw in range(8)}
    assert modes == {
        0: "off",  # stop
        1: "auto",
        2: "manual",
        3: "test",  # test on load
        4: "auto",  # auto with manual restore
        5: "no_reading",  # user configuration
        6: "test",  # test off load
        7: "off",
    }


def test_deep_sea_engine_state_not_available() -> None:
    """VICTRON-DSE: 1408 reads 15 when the state is not available."""
    assert _decoded("deep_sea_gencomm", "state", 15) == "no_reading"
    assert _decoded("deep_sea_gencomm", "state", 3) == "running"


def test_comap_engine_states_0_to_17_are_all_known() -> None:
    """VICTRON-COMAP lists 1298 states 0-17; 15 is soft loading (running, breaker closed)."""
    states = {raw: _decoded("comap_intelilite4", "state", raw) for raw in range(18)}
    assert "bad_enum" not in states.values()
    assert states[15] == "running"
    assert _decoded("comap_intelilite4", "on_load", 15) is True
    assert states[13] == states[16] == states[17] == "stopping"  # ventilate, wait stop
    assert states[14] == "fault"  # emergency manual: the controller does nothing
    assert _decoded("comap_intelilite4", "state", 18) == "bad_enum"


def test_comap_not_available_values() -> None:
    """COMAP-GG: an invalid value reads 32768 signed, 65535 unsigned; VICTRON-COMAP also takes
    0x8000 for unsigned values and 0x80000000 for 32-bit ones."""
    assert _decoded("comap_intelilite4", "coolant_temperature", 0x8000) == "no_reading"
    assert _decoded("comap_intelilite4", "speed", 0xFFFF) == "no_reading"
    assert _decoded("comap_intelilite4", "speed", 0x8000) == "no_reading"
    assert _decoded("comap_intelilite4", "level", 0x8000) == "no_reading"
    assert _decoded("comap_intelilite4", "run_hours", 0x80000000) == "no_reading"
    assert _decoded("comap_intelilite4", "run_hours", 0xFFFFFFFF) == "no_reading"
    assert _decoded("comap_intelilite4", "speed", 1500) == 1500.0


def test_comap_commands() -> None:
    """COMAP-GG p. 191 (and VICTRON-COMAP): start and stop are FF00 / 0000 to coil 4700, the
    Modbus remote start of AUTO mode; p. 190: fault reset is argument 0x08F70000 to 4207-4208
    and command 1 to 4209, in one FC16, answered by 0x000008F8 at 4207-4208."""
    assert _commands("comap_intelilite4") == {
        "start": (None, (C, 4700, True)),
        "stop": (None, (C, 4700, False)),
        "fault_reset": (None, (H, 4207, (0x08F7, 0x0000, 0x0001))),
    }
    confirms = {
        spec.action: (spec.confirm.function.value, spec.confirm.address, spec.confirm.values)
        for spec in load_builtin("comap_intelilite4").commands
        if spec.confirm is not None and not spec.confirm.function.is_bit
    }
    assert confirms == {"fault_reset": (H, 4207, (0x0000, 0x08F8))}
    (reset,) = (s for s in load_builtin("comap_intelilite4").commands if s.action == "fault_reset")
    assert reset.confirm is not None
    assert reset.confirm.answers == {1: "invalid argument", 2: "command refused by the controller"}


@pytest.mark.parametrize("key", sorted(FACTS))
def test_grid_presence_is_left_to_the_site(key: str) -> None:
    """One threshold per site: no profile turns a voltage into "present" with its own number.
    Only a device's own flag (SMARTGEN's mains-abnormal coil) or its silence (PEACEFAIR, and
    EASTRON's SDM120: the meter is powered by the mains it measures) say so."""
    profile = load_builtin(key)
    assert not [f for f in profile.fields if f.above is not None]
    presence = {(f.function.value, f.address) for f in profile.fields if f.quantity == "present"}
    assert presence == ({(C, 0x0040)} if key == "smartgen_hgm6100" else set())
    silent = {(v.quantity, v.value) for v in profile.when_silent}
    self_powered = key in ("pzem_004t", "eastron_sdm120")
    assert silent == ({("present", False)} if self_powered else set())


def test_smartgen_remote_coils() -> None:
    assert _commands("smartgen_hgm6100") == {
        "start": (None, (C, 0x0000, True)),
        "stop": (None, (C, 0x0001, True)),
        "mode_auto": (None, (C, 0x0003, True)),
    }


def test_relay_module_switches_its_coils() -> None:
    profile = load_builtin("relay_8ch")
    for n in range(1, 9):
        for action, state in (("turn_on", True), ("turn_off", False)):
            spec = profile.command(f"relay{n}", action)
            assert spec is not None
            (write,) = spec.writes
            assert (write.function, write.address, write.state) == (Function.COIL, n - 1, state)
