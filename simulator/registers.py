"""Register images of the site's Modbus devices, written from the vendors' register facts.

Deliberately independent of the integration's profile files: when this map and a profile
disagree, the end-to-end tests show it instead of both sides sharing one mistake.

- Deep Sea GenComm controller: holding registers (FC03), register = page × 256 + offset,
  32-bit values high word first; u16 0xFFFF and s16 0x7FFF mean "not available".
- Eastron SDM630: input registers (FC04), float32 big-endian, high word first.
- Relay module: 8 coils, the site's loads on the first ones (FC01 read, FC05/FC15 write).
"""

from __future__ import annotations

import struct
from typing import Final

from .controller import ALARM_NAMES, AlarmLevel, Key, Phase
from .site import POWER_FACTOR, Site

U16_NOT_AVAILABLE: Final = 0xFFFF
S16_NOT_AVAILABLE: Final = 0x7FFF

# GenComm page 3 (768...): identity, mode and status.
REG_MANUFACTURER: Final = 768
REG_MODEL: Final = 769
REG_CONTROL_MODE: Final = 772
REG_STATUS_FLAGS: Final = 774
STATUS_SHUTDOWN_BIT: Final = 13
STATUS_TRIP_BIT: Final = 12
STATUS_WARNING_BIT: Final = 11
DSE_MANUFACTURER: Final = 1
SIMULATED_MODEL: Final = 7320

# Page 4 (1024...): engine and alternator.
REG_OIL_PRESSURE: Final = 1024
REG_COOLANT: Final = 1025
REG_OIL_TEMPERATURE: Final = 1026
REG_FUEL_LEVEL: Final = 1027
REG_CHARGE_ALTERNATOR: Final = 1028
REG_BATTERY: Final = 1029
REG_SPEED: Final = 1030
REG_GEN_FREQUENCY: Final = 1031
REG_GEN_VOLTAGE: Final = (1032, 1034, 1036)
REG_GEN_CURRENT: Final = (1044, 1046, 1048)
REG_MAINS_FREQUENCY: Final = 1059
REG_MAINS_VOLTAGE: Final = (1060, 1062, 1064)
REG_FUEL_RATE: Final = 1290
REG_ENGINE_STATE: Final = 1408
REG_TOTAL_POWER: Final = 1536
REG_LOAD_PERCENT: Final = 1558
REG_RUN_TIME: Final = 1798
REG_ENERGY: Final = 1800
REG_STARTS: Final = 1808

# Page 16 (4096...): control.
REG_CONTROL_SUPPORT: Final = 4096
CONTROL_SUPPORT_WORDS: Final = 8
REG_CONTROL_KEY: Final = 4104
REG_CONTROL_COMPLEMENT: Final = 4105
CONTROL_KEY_BASE: Final = 35700

# Page 154 (39424...): the count of named alarms, then four 4-bit alarms per register.
REG_ALARM_COUNT: Final = 39424
REG_ALARMS: Final = 39425

# DSE engine state register values.
ENGINE_STATE: Final = {
    Phase.STOPPED: 0,
    Phase.START_DELAY: 1,
    Phase.CRANKING: 1,
    Phase.CRANK_REST: 1,
    Phase.SAFETY_ON: 2,
    Phase.WARMING_UP: 2,
    Phase.RUNNING: 3,
    Phase.COOLING_DOWN: 4,
    Phase.STOPPING: 6,
    Phase.FAILED: 0,
}

# Eastron SDM630 input registers (float32, two registers each).
SDM_VOLTAGE: Final = (0x0000, 0x0002, 0x0004)
SDM_CURRENT: Final = (0x0006, 0x0008, 0x000A)
SDM_POWER: Final = (0x000C, 0x000E, 0x0010)
SDM_TOTAL_POWER: Final = 0x0034
SDM_FREQUENCY: Final = 0x0046
SDM_IMPORT_ENERGY: Final = 0x0048


def u32_words(value: int) -> tuple[int, int]:
    """High word first."""
    value &= 0xFFFFFFFF
    return value >> 16, value & 0xFFFF


def s16_word(value: int) -> int:
    """Two's complement in one register."""
    return value & 0xFFFF


def f32_words(value: float) -> tuple[int, int]:
    """IEEE 754 single, big-endian, high word first."""
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


def supported_keys() -> frozenset[int]:
    """Control keys this controller obeys."""
    return frozenset(int(key) for key in Key)


def support_bitmap(keys: frozenset[int]) -> list[int]:
    """Registers 4096–4103: key 35700 + n sets bit 15 − (n mod 16) of register 4096 + n // 16.

    Function 0 is the most significant bit of 4096, as Victron's DSE driver reads the map
    (`bit_pos = 15 - function_code % 16`); GenComm packs its lists from the top of a register.
    """
    words = [0] * CONTROL_SUPPORT_WORDS
    for key in keys:
        n = key - CONTROL_KEY_BASE
        if 0 <= n < 16 * CONTROL_SUPPORT_WORDS:
            words[n // 16] |= 0x8000 >> (n % 16)
    return words


def alarm_words(alarms: dict[str, AlarmLevel]) -> list[int]:
    """Named alarms, four per register, the first in the high nibble."""
    words = []
    for start in range(0, len(ALARM_NAMES), 4):
        word = 0
        for offset, name in enumerate(ALARM_NAMES[start : start + 4]):
            level = alarms.get(name, AlarmLevel.INACTIVE)
            word |= int(level) << (12 - 4 * offset)
        words.append(word)
    return words


def dse_registers(site: Site) -> dict[int, int]:
    """The controller's holding registers as they read right now."""
    gen = site.generator
    regs: dict[int, int] = {
        REG_MANUFACTURER: DSE_MANUFACTURER,
        REG_MODEL: SIMULATED_MODEL,
        REG_CONTROL_MODE: int(gen.mode),
        REG_OIL_PRESSURE: round(site.oil_pressure),
        REG_COOLANT: s16_word(round(site.coolant_c)),
        REG_OIL_TEMPERATURE: S16_NOT_AVAILABLE,
        REG_FUEL_LEVEL: round(site.tank_level_pct),
        REG_CHARGE_ALTERNATOR: round(site.battery_v * 10) if gen.engine_running else 0,
        REG_BATTERY: round(site.battery_v * 10),
        REG_SPEED: round(site.engine_speed),
        REG_GEN_FREQUENCY: round(site.generator_frequency * 10),
        REG_MAINS_FREQUENCY: round(site.grid_frequency * 10),
        REG_ENGINE_STATE: ENGINE_STATE[gen.phase],
        REG_LOAD_PERCENT: s16_word(round(site.generator_load_pct * 10)),
        REG_ALARM_COUNT: len(ALARM_NAMES),
    }
    level = gen.alarm_level()
    regs[REG_STATUS_FLAGS] = (
        (1 << STATUS_SHUTDOWN_BIT if level == AlarmLevel.SHUTDOWN else 0)
        | (1 << STATUS_TRIP_BIT if level == AlarmLevel.TRIP else 0)
        | (1 << STATUS_WARNING_BIT if AlarmLevel.WARNING in gen.alarms.values() else 0)
    )
    pairs: list[tuple[int, int]] = [
        *((reg, round(site.generator_voltage * 10)) for reg in REG_GEN_VOLTAGE),
        *((reg, round(site.generator_current * 10)) for reg in REG_GEN_CURRENT),
        *((reg, round(site.grid_voltage * 10)) for reg in REG_MAINS_VOLTAGE),
        (REG_FUEL_RATE, round(site.fuel_rate * 100)),
        (REG_TOTAL_POWER, round(site.generator_power_kw * 1000)),
        (REG_RUN_TIME, round(gen.run_seconds)),
        (REG_ENERGY, round(gen.energy_kwh * 10)),
        (REG_STARTS, gen.starts),
    ]
    for reg, value in pairs:
        regs[reg], regs[reg + 1] = u32_words(value)
    for offset, word in enumerate(support_bitmap(supported_keys())):
        regs[REG_CONTROL_SUPPORT + offset] = word
    regs[REG_CONTROL_KEY] = 0
    regs[REG_CONTROL_COMPLEMENT] = 0
    for offset, word in enumerate(alarm_words(gen.alarms)):
        regs[REG_ALARMS + offset] = word
    return regs


def sdm630_registers(site: Site) -> dict[int, int]:
    """The grid meter's input registers: the incomer, so it reads the grid, not the set."""
    voltage = site.grid_voltage
    power_w = site.grid_power_kw * 1000.0
    phase_power = power_w / 3.0
    # The site's loads at their power factor, as the generator's current is worked out.
    current = phase_power / (voltage * POWER_FACTOR) if voltage > 0 else 0.0
    values: list[tuple[int, float]] = [
        *((reg, voltage) for reg in SDM_VOLTAGE),
        *((reg, current) for reg in SDM_CURRENT),
        *((reg, phase_power) for reg in SDM_POWER),
        (SDM_TOTAL_POWER, power_w),
        (SDM_FREQUENCY, site.grid_frequency),
        (SDM_IMPORT_ENERGY, site.grid_energy_kwh),
    ]
    regs: dict[int, int] = {}
    for reg, value in values:
        regs[reg], regs[reg + 1] = f32_words(value)
    return regs


# An 8-channel module (Waveshare-style): loads take the first channels, the rest are spare.
RELAY_CHANNELS: Final = 8


def relay_load_ids(site: Site) -> list[str | None]:
    """Which load each coil switches (None: a spare channel)."""
    ids: list[str | None] = list(site.loads)
    return ids + [None] * max(0, RELAY_CHANNELS - len(ids))


def relay_coils(site: Site) -> list[bool]:
    """Relay module coils in channel order; spare channels read open."""
    return [site.loads[i].on if i is not None else False for i in relay_load_ids(site)]
