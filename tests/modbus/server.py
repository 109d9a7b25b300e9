"""Real pymodbus servers for tests: Modbus TCP on loopback, Modbus RTU over a pty pair."""

from __future__ import annotations

import asyncio
import os
import select
import threading
import time
import tty
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from simulator.modbus_server import UnitDevices

from ..mosquitto import free_port

type Table = Mapping[int, int | bool | Sequence[int] | Sequence[bool]]
type Values = list[int] | list[bool]

# The table each function code reads or writes.
_TABLES = {1: "coils", 5: "coils", 15: "coils", 2: "discrete", 4: "input"} | dict.fromkeys(
    (3, 6, 16, 22, 23), "holding"
)
_READS = frozenset({1, 2, 3, 4})


@dataclass
class SimulatedDevice:
    """The four tables of one device; only the addresses given exist (others are refused)."""

    holding: Table = field(default_factory=dict)
    input: Table = field(default_factory=dict)
    coils: Table = field(default_factory=dict)
    discrete: Table = field(default_factory=dict)
    # Seconds a request takes, from its function code and register count (a slow line).
    delay: Callable[[int, int], float] | None = None

    def __post_init__(self) -> None:
        # Protocol address -> value, per table.
        self.tables: dict[str, dict[int, int | bool]] = {
            name: _flattened(getattr(self, name))
            for name in ("holding", "input", "coils", "discrete")
        }
        # (function code, address, count) of every request it was asked, and when it came.
        self.requests: list[tuple[int, int, int]] = []
        self.arrivals: list[float] = []
        # Address -> the exception a read covering it is answered with (a failing sensor page).
        self.failing: dict[int, ExcCodes] = {}
        # Coils whose relay does not follow a write (a failed driver, a welded contact).
        self.stuck: set[int] = set()

        self._served_by: list[tuple[UnitDevices, int]] = []
        self._unplugged: list[tuple[UnitDevices, int]] = []

    def unplug(self) -> None:
        """Stop answering, as a meter does when it loses power; the bus stays up."""
        for context, unit in self._served_by:
            del context[unit]
        self._unplugged = list(self._served_by)
        self._served_by.clear()

    def plug_in(self) -> None:
        """Answer again where it was unplugged, as a meter does when its power returns."""
        for context, unit in self._unplugged:
            context[unit] = self
        self._served_by += self._unplugged
        self._unplugged = []

    def value(self, table: str, address: int) -> int:
        """What the device holds now at a protocol address (after the client's writes)."""
        return int(self.tables[table][address])

    def set(self, table: str, address: int, values: Sequence[int] | Sequence[bool]) -> None:
        """Change registers, as the real device would when its state changes."""
        self.tables[table].update(enumerate(values, start=address))

    async def async_getValues(
        self, func_code: int, address: int, count: int = 1
    ) -> Values | ExcCodes:
        """Answer a read, taking the device's time; also pymodbus' read-back after a write."""
        if func_code in _READS:
            self.requests.append((func_code, address, count))
            self.arrivals.append(time.monotonic())
            if self.delay is not None:
                await asyncio.sleep(self.delay(func_code, count))
            for failing, code in self.failing.items():
                if address <= failing < address + count:
                    return code
        table = self.tables[_TABLES[func_code]]
        try:
            return [table[at] for at in range(address, address + count)]
        except KeyError:
            return ExcCodes.ILLEGAL_ADDRESS

    async def async_setValues(
        self, func_code: int, address: int, values: Values
    ) -> ExcCodes | None:
        """Take a write; like pymodbus' own sparse store, a write may add an address."""
        self.requests.append((func_code, address, len(values)))
        self.arrivals.append(time.monotonic())
        if self.delay is not None:
            await asyncio.sleep(self.delay(func_code, len(values)))
        if func_code in (5, 15) and address in self.stuck:
            return None  # acknowledged, but the contact does not move
        self.set(_TABLES[func_code], address, values)
        return None


def _flattened(table: Table) -> dict[int, int | bool]:
    """A table given as single values and runs of values, one entry per address."""
    flat: dict[int, int | bool] = {}
    for address, value in table.items():
        if isinstance(value, int):
            flat[address] = value
        else:
            flat.update(enumerate(value, start=address))
    return flat


def _context(devices: Mapping[int, SimulatedDevice]) -> UnitDevices:
    context = UnitDevices(devices)
    for unit, device in devices.items():
        device._served_by.append((context, unit))
    return context


@asynccontextmanager
async def tcp_server(
    devices: Mapping[int, SimulatedDevice],
    *,
    port: int | None = None,
    framer: FramerType = FramerType.SOCKET,
) -> AsyncIterator[int]:
    """A Modbus TCP server on 127.0.0.1; yields its port. Unknown unit ids get no answer.

    With `framer=FramerType.RTU` it speaks RTU frames over TCP, as a serial gateway in
    transparent mode does.
    """
    port = port or free_port()
    server = ModbusTcpServer(
        _context(devices),
        address=("127.0.0.1", port),
        framer=framer,
        ignore_missing_devices=True,
    )
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await server.shutdown()


@contextmanager
def pty_pair() -> Iterator[tuple[str, str]]:
    """Two serial ports wired to each other, like two ends of an RS-485 line."""
    ends = [os.openpty() for _ in range(2)]
    for _, secondary in ends:
        tty.setraw(secondary)
    stop = threading.Event()

    def pump(source: int, sink: int) -> None:
        while not stop.is_set():
            # Wake up now and then to see whether the pair is being taken down.
            ready, _, _ = select.select([source], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(source, 4096)
            except OSError:
                return
            if not data:
                return
            os.write(sink, data)

    pumps = [
        threading.Thread(target=pump, args=(ends[0][0], ends[1][0]), daemon=True),
        threading.Thread(target=pump, args=(ends[1][0], ends[0][0]), daemon=True),
    ]
    for thread in pumps:
        thread.start()
    try:
        yield os.ttyname(ends[0][1]), os.ttyname(ends[1][1])
    finally:
        stop.set()
        for thread in pumps:
            thread.join(2)
        for primary, secondary in ends:
            os.close(secondary)
            os.close(primary)


@asynccontextmanager
async def rtu_server(
    devices: Mapping[int, SimulatedDevice], *, baudrate: int = 9600
) -> AsyncIterator[str]:
    """A Modbus RTU server on one end of a pty pair; yields the other end's path."""
    with pty_pair() as (server_port, client_port):
        server = ModbusSerialServer(
            _context(devices),
            port=server_port,
            baudrate=baudrate,
            ignore_missing_devices=True,
        )
        await server.serve_forever(background=True)
        try:
            yield client_port
        finally:
            await server.shutdown()


def _pages(*starts_and_lengths: tuple[int, int]) -> dict[int, list[int]]:
    return {start: [0] * length for start, length in starts_and_lengths}


def dse_on_load_during_outage(*, holes: Iterable[int] = ()) -> SimulatedDevice:
    """A DSE 7320 in auto, running on load while the grid is down (register facts: DOMAIN.md)."""
    holding: dict[int, int] = {}
    for start, values in _pages(
        (768, 16), (1024, 48), (1280, 16), (1408, 4), (1536, 32), (1792, 24), (4096, 10)
    ).items():
        holding.update({start + i: v for i, v in enumerate(values)})
    holding.update(
        {
            # Control support, function n at bit 15 - n % 16 of 4096 + n // 16 (Victron's DSE
            # driver): stop, auto, manual (functions 0-2), remote start and stop (32, 33).
            4096: 0b1110_0000_0000_0000,
            4098: 0b1100_0000_0000_0000,
            772: 1,  # auto
            774: 0,  # no alarm
            1024: 345,  # oil kPa
            1025: 82,  # coolant °C
            1027: 64,  # fuel %
            1029: 138,  # 13.8 V charger
            1030: 1500,  # rpm
            1031: 500,  # 50.0 Hz
            1032: 0,
            1033: 2301,  # 230.1 V
            1044: 0,
            1045: 352,  # 35.2 A
            1059: 0,  # mains 0 Hz
            1060: 0,
            1061: 0,  # mains 0 V: the outage
            1290: 0,
            1291: 790,  # 7.9 L/h
            1408: 3,  # running
            1536: 0,
            1537: 23500,  # 23.5 kW
            1558: 420,  # 42.0 %
            1798: 0,
            1799: 45000,  # 12.5 h
            1800: 0,
            1801: 1234,  # 123.4 kWh
            1808: 0,
            1809: 17,  # starts
        }
    )
    for hole in holes:
        holding.pop(hole)
    return SimulatedDevice(holding=holding)
