"""Every shipped profile against the register facts, written out here from the vendors' documents
(docs/modbus.md and the design notes give the sources), never read from the profiles themselves."""

from __future__ import annotations

import pytest

from custom_components.sot.modbus.profile import Function, Profile, load_builtin

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
    ("mains", "present"): (H, 1060, "u32", "big", 0.1),
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
    ("meter", "present"): (IN, 0x0000, "f32", "big", 1),
    ("meter", "power"): (IN, 0x000C, "f32", "big", 0.001),  # W -> kW
    ("meter", "frequency"): (IN, 0x0046, "f32", "big", 1),
    ("meter", "energy"): (IN, 0x0048, "f32", "big", 1),  # import kWh
}
SDM630: Facts = {
    ("meter", "voltage"): (IN, 0x0000, "f32", "big", 1),
    ("meter", "present"): (IN, 0x0000, "f32", "big", 1),
    ("meter", "power"): (IN, 0x0034, "f32", "big", 0.001),  # total W -> kW
    ("meter", "frequency"): (IN, 0x0046, "f32", "big", 1),
    ("meter", "energy"): (IN, 0x0048, "f32", "big", 1),
}
PZEM: Facts = {
    ("meter", "voltage"): (IN, 0x0000, "u16", "little", 0.1),
    ("meter", "present"): (IN, 0x0000, "u16", "little", 0.1),
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
    """GenComm: the top eight values of each type mean not available or sensor fault."""
    sentinels = {f.type.value: f.sentinels for f in load_builtin("deep_sea_gencomm").fields}
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


def test_deep_sea_control_keys() -> None:
    """Key and 65535 - key to 4104/4105 in one FC16, after its bit in the support bitmap."""
    assert _commands("deep_sea_gencomm") == {
        "mode_off": ((4096, 0), (H, 4104, (35700, 29835))),
        "mode_auto": ((4096, 1), (H, 4104, (35701, 29834))),
        "mode_manual": ((4096, 2), (H, 4104, (35702, 29833))),
        "start": ((4098, 0), (H, 4104, (35732, 29803))),
        "stop": ((4098, 1), (H, 4104, (35733, 29802))),
    }


def test_comap_command_registers() -> None:
    """Argument to 4207-4208 and the command word to 4209, in one request."""
    assert _commands("comap_intelilite4") == {
        "start": (None, (H, 4207, (0x01FE, 0x0000, 0x0001))),
        "stop": (None, (H, 4207, (0x02FD, 0x0000, 0x0001))),
        "fault_reset": (None, (H, 4207, (0x08F7, 0x0000, 0x0001))),
    }


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
