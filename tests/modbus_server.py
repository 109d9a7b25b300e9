"""Real pymodbus servers for tests: Modbus TCP on loopback, Modbus RTU over a pty pair."""

from __future__ import annotations

import os
import select
import threading
import tty
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusServerContext,
    ModbusSparseDataBlock,
)
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from .mosquitto import free_port

type Table = Mapping[int, int | bool | Sequence[int] | Sequence[bool]]


@dataclass
class SimulatedDevice:
    """The four tables of one device; only the addresses given exist (others are refused)."""

    holding: Table = field(default_factory=dict)
    input: Table = field(default_factory=dict)
    coils: Table = field(default_factory=dict)
    discrete: Table = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.blocks = {
            name: ModbusSparseDataBlock(_shifted(getattr(self, name)))
            for name in ("holding", "input", "coils", "discrete")
        }
        self.context = ModbusDeviceContext(
            hr=self.blocks["holding"],
            ir=self.blocks["input"],
            co=self.blocks["coils"],
            di=self.blocks["discrete"],
        )

        self._served_by: list[tuple[ModbusServerContext, int]] = []

    def unplug(self) -> None:
        """Stop answering, as a meter does when it loses power; the bus stays up."""
        for context, unit in self._served_by:
            del context[unit]
        self._served_by.clear()

    def value(self, table: str, address: int) -> int:
        """What the device holds now at a protocol address (after the client's writes)."""
        return int(self.blocks[table].values[address + 1])

    def set(self, table: str, address: int, values: Sequence[int] | Sequence[bool]) -> None:
        """Change registers, as the real device would when its state changes."""
        self.blocks[table].setValues(address + 1, list(values))


def _shifted(table: Table) -> dict[int, object]:
    # pymodbus' device context adds one to every protocol address before it asks the block.
    return {address + 1: value for address, value in table.items()}


def _context(devices: Mapping[int, SimulatedDevice]) -> ModbusServerContext:
    context = ModbusServerContext(
        devices={unit: device.context for unit, device in devices.items()}, single=False
    )
    for unit, device in devices.items():
        device._served_by.append((context, unit))
    return context


@asynccontextmanager
async def tcp_server(
    devices: Mapping[int, SimulatedDevice], *, port: int | None = None
) -> AsyncIterator[int]:
    """A Modbus TCP server on 127.0.0.1; yields its port. Unknown unit ids get no answer."""
    port = port or free_port()
    server = ModbusTcpServer(
        _context(devices), address=("127.0.0.1", port), ignore_missing_devices=True
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
