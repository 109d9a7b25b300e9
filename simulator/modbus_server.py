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
from collections.abc import Iterator, Mapping
from typing import Final, Protocol

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
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


class UnitDevice(Protocol):
    """One device behind a unit id: the two calls a pymodbus request ends in."""

    async def async_getValues(
        self, func_code: int, address: int, count: int = 1
    ) -> Values | ExcCodes:
        """`count` registers or bits from protocol address `address`, or the exception."""
        ...

    async def async_setValues(
        self, func_code: int, address: int, values: Values
    ) -> ExcCodes | None:
        """Take a write, or refuse it with an exception code."""
        ...


class UnitDevices(ModbusServerContext):
    """The devices a pymodbus server answers for, by unit id, on pymodbus 3.11 and 3.13 alike.

    pymodbus 3.11 looks a device up (`context[unit]`) and asks it; 3.13 asks the server
    context itself, with the unit id as first argument. This answers both ways. An unknown
    unit raises NoSuchIdException in both: the server answers "gateway target did not
    respond", or nothing at all when started with `ignore_missing_devices=True`.
    """

    def __init__(self, devices: Mapping[int, UnitDevice]) -> None:
        # The base constructor is not called: 3.13's turns every device into its own
        # simulator model (register blocks filled once, signed 16-bit only), and the server
        # would then answer from that model instead of asking our devices.
        self._units: dict[int, UnitDevice] = dict(devices)
        # 3.13 serves from its simulator model whenever this list is not empty.
        self.simdevices: list[object] = []

    def __getitem__(self, unit: int) -> UnitDevice:
        device = self._units.get(unit)
        if device is None:
            raise NoSuchIdException(f"no device on unit {unit}")  # type: ignore[no-untyped-call]
        return device

    def __delitem__(self, unit: int) -> None:
        self._units.pop(unit, None)

    def __setitem__(self, unit: int, device: UnitDevice) -> None:
        self._units[unit] = device

    def __contains__(self, unit: object) -> bool:
        return unit in self._units

    def __iter__(self) -> Iterator[tuple[int, UnitDevice]]:
        return iter(list(self._units.items()))

    def device_ids(self) -> list[int]:
        """The unit ids answered for (a broadcast goes to each)."""
        return list(self._units)

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Values | ExcCodes:
        """pymodbus 3.13's read: the unit's device answers."""
        return await self[device_id].async_getValues(func_code, address, count)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Values
    ) -> ExcCodes | None:
        """pymodbus 3.13's write: the unit's device takes it."""
        return await self[device_id].async_setValues(func_code, address, values)


def _in_range(address: int, count: int) -> bool:
    return address >= 0 and count >= 1 and address + count <= 0x10000


class _SiteDevice:
    """A device whose tables are computed from the site's state on every request."""

    def __init__(self, site: Site) -> None:
        self.site = site


class GeneratorContext(_SiteDevice):
    """The DSE controller: reads FC03, obeys control keys written as key + complement."""

    async def async_getValues(
        self, func_code: int, address: int, count: int = 1
    ) -> Values | ExcCodes:
        """Registers as they read now; unmapped ones read "not available"."""
        if func_code not in (FC_READ_HOLDING, FC_WRITE_REGISTER, FC_WRITE_REGISTERS):
            return ExcCodes.ILLEGAL_FUNCTION
        if not _in_range(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        regs = dse_registers(self.site)
        return [regs.get(reg, U16_NOT_AVAILABLE) for reg in range(address, address + count)]

    async def async_setValues(
        self, func_code: int, address: int, values: Values
    ) -> ExcCodes | None:
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


class GridMeterContext(_SiteDevice):
    """The SDM630: float32 input registers; everything unmapped reads 0."""

    async def async_getValues(
        self, func_code: int, address: int, count: int = 1
    ) -> Values | ExcCodes:
        """Input registers as they read now."""
        if func_code != FC_READ_INPUT:
            return ExcCodes.ILLEGAL_FUNCTION
        if not _in_range(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        regs = sdm630_registers(self.site)
        return [regs.get(reg, 0) for reg in range(address, address + count)]

    async def async_setValues(
        self, func_code: int, address: int, values: Values
    ) -> ExcCodes | None:
        """A meter takes no writes here."""
        return ExcCodes.ILLEGAL_FUNCTION


class RelayContext(_SiteDevice):
    """The relay module: coil n switches the site's n-th load."""

    async def async_getValues(
        self, func_code: int, address: int, count: int = 1
    ) -> Values | ExcCodes:
        """Coil (and feedback input) states."""
        if func_code not in (FC_READ_COILS, FC_READ_DISCRETE, FC_WRITE_COIL, FC_WRITE_COILS):
            return ExcCodes.ILLEGAL_FUNCTION
        coils = relay_coils(self.site)
        if not (address >= 0 and count >= 1 and address + count <= len(coils)):
            return ExcCodes.ILLEGAL_ADDRESS
        return coils[address : address + count]

    async def async_setValues(
        self, func_code: int, address: int, values: Values
    ) -> ExcCodes | None:
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


def server_context(site: Site) -> UnitDevices:
    """The three devices of a site under their unit ids."""
    return UnitDevices(
        {
            UNIT_GENERATOR: GeneratorContext(site),
            UNIT_GRID_METER: GridMeterContext(site),
            UNIT_RELAYS: RelayContext(site),
        }
    )


async def start_server(site: Site, host: str, port: int) -> ModbusTcpServer:
    """Listen on host:port; the caller shuts it down with `await server.shutdown()`."""
    server = ModbusTcpServer(server_context(site), address=(host, port))
    await server.serve_forever(background=True)
    _LOGGER.info(
        "%s: Modbus TCP on %s:%d (units 1 DSE, 2 SDM630, 3 relays)", site.spec.id, host, port
    )
    return server
