"""The site's Modbus TCP devices on one server, one unit id each.

    unit 1  Deep Sea GenComm generator controller (holding registers, control keys)
    unit 2  Eastron SDM630 grid meter (input registers)
    unit 3  8-channel relay module, loads on coils 0… in the site's order (discrete inputs
            mirror the coils)

Registers are computed from the site's state on every request, so a poll always reads the
present; writes act on the site at once.
"""

from __future__ import annotations

import logging
from typing import Final

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusBaseDeviceContext, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from .registers import (
    REG_CONTROL_COMPLEMENT,
    REG_CONTROL_KEY,
    U16_NOT_AVAILABLE,
    dse_registers,
    relay_coils,
    relay_load_ids,
    sdm630_registers,
)
from .site import Site

_LOGGER = logging.getLogger(__name__)

UNIT_GENERATOR: Final = 1
UNIT_GRID_METER: Final = 2
UNIT_RELAYS: Final = 3

FC_READ_COILS: Final = 1
FC_READ_DISCRETE: Final = 2
FC_READ_HOLDING: Final = 3
FC_READ_INPUT: Final = 4
FC_WRITE_COIL: Final = 5
FC_WRITE_REGISTER: Final = 6
FC_WRITE_COILS: Final = 15
FC_WRITE_REGISTERS: Final = 16

Values = list[int] | list[bool]


def _in_range(address: int, count: int) -> bool:
    return address >= 0 and count >= 1 and address + count <= 0x10000


class GeneratorContext(ModbusBaseDeviceContext):
    """The DSE controller: reads FC03, obeys control keys written as key + complement."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def reset(self) -> None:
        """Nothing to reset: registers come from the site's state."""

    def getValues(self, func_code: int, address: int, count: int = 1) -> Values | ExcCodes:
        """Registers as they read now; unmapped ones read "not available"."""
        if func_code not in (FC_READ_HOLDING, FC_WRITE_REGISTER, FC_WRITE_REGISTERS):
            return ExcCodes.ILLEGAL_FUNCTION
        if not _in_range(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        regs = dse_registers(self.site)
        return [regs.get(reg, U16_NOT_AVAILABLE) for reg in range(address, address + count)]

    def setValues(self, func_code: int, address: int, values: Values) -> ExcCodes | None:
        """Only the control pair 4104/4105 is writable, both in one write."""
        if func_code not in (FC_WRITE_REGISTER, FC_WRITE_REGISTERS):
            return ExcCodes.ILLEGAL_FUNCTION
        if address != REG_CONTROL_KEY or len(values) != REG_CONTROL_COMPLEMENT - address + 1:
            return ExcCodes.ILLEGAL_ADDRESS
        key, complement = int(values[0]), int(values[1])
        if complement != 0xFFFF - key:
            _LOGGER.warning(
                "%s: control key %d with a wrong complement %d", self.site.spec.id, key, complement
            )
            return ExcCodes.ILLEGAL_VALUE
        self.site.press_key(key)
        return None


class GridMeterContext(ModbusBaseDeviceContext):
    """The SDM630: float32 input registers; everything unmapped reads 0."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def reset(self) -> None:
        """Nothing to reset."""

    def getValues(self, func_code: int, address: int, count: int = 1) -> Values | ExcCodes:
        """Input registers as they read now."""
        if func_code != FC_READ_INPUT:
            return ExcCodes.ILLEGAL_FUNCTION
        if not _in_range(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        regs = sdm630_registers(self.site)
        return [regs.get(reg, 0) for reg in range(address, address + count)]

    def setValues(self, func_code: int, address: int, values: Values) -> ExcCodes | None:
        """A meter takes no writes here."""
        return ExcCodes.ILLEGAL_FUNCTION


class RelayContext(ModbusBaseDeviceContext):
    """The relay module: coil n switches the site's n-th load."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def reset(self) -> None:
        """Nothing to reset."""

    def getValues(self, func_code: int, address: int, count: int = 1) -> Values | ExcCodes:
        """Coil (and feedback input) states."""
        if func_code not in (FC_READ_COILS, FC_READ_DISCRETE, FC_WRITE_COIL, FC_WRITE_COILS):
            return ExcCodes.ILLEGAL_FUNCTION
        coils = relay_coils(self.site)
        if not (address >= 0 and count >= 1 and address + count <= len(coils)):
            return ExcCodes.ILLEGAL_ADDRESS
        return coils[address : address + count]

    def setValues(self, func_code: int, address: int, values: Values) -> ExcCodes | None:
        """Switch relays."""
        if func_code not in (FC_WRITE_COIL, FC_WRITE_COILS):
            return ExcCodes.ILLEGAL_FUNCTION
        ids = relay_load_ids(self.site)
        if not (address >= 0 and address + len(values) <= len(ids)):
            return ExcCodes.ILLEGAL_ADDRESS
        for offset, value in enumerate(values):
            load_id = ids[address + offset]
            if load_id is not None:
                self.site.set_load(load_id, bool(value))
        return None


def server_context(site: Site) -> ModbusServerContext:
    """The three devices of a site under their unit ids."""
    return ModbusServerContext(  # type: ignore[no-untyped-call]
        devices={
            UNIT_GENERATOR: GeneratorContext(site),
            UNIT_GRID_METER: GridMeterContext(site),
            UNIT_RELAYS: RelayContext(site),
        },
        single=False,
    )


async def start_server(site: Site, host: str, port: int) -> ModbusTcpServer:
    """Listen on host:port; the caller shuts it down with `await server.shutdown()`."""
    server = ModbusTcpServer(server_context(site), address=(host, port))
    await server.serve_forever(background=True)
    _LOGGER.info(
        "%s: Modbus TCP on %s:%d (units 1 DSE, 2 SDM630, 3 relays)", site.spec.id, host, port
    )
    return server
