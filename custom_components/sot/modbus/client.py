"""One connection per Modbus bus (a TCP gateway or a serial line), shared by its devices."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from .profile import Function, Write

# Exception codes a TCP gateway sends when the serial device behind it does not answer.
_GATEWAY_SILENT: Final = frozenset({0x0A, 0x0B})
ILLEGAL_FUNCTION: Final = 0x01
ILLEGAL_ADDRESS: Final = 0x02
EXCEPTION_NAMES: Final = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "device failure",
    0x05: "acknowledge",
    0x06: "device busy",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target did not respond",
}

# Parity as the connection flow stores it (translatable option values) -> pymodbus' letter.
# Subentries saved before the flow used words hold the letter itself.
PARITY_LETTERS: Final = {"none": "N", "even": "E", "odd": "O"}


@dataclass(frozen=True, kw_only=True, slots=True)
class TcpSettings:
    """A Modbus TCP device or a TCP-to-RTU gateway."""

    host: str
    port: int = 502
    timeout: float = 3.0
    # Some cheap gateways pass RTU frames through TCP unchanged instead of speaking Modbus TCP.
    rtu_over_tcp: bool = False

    @property
    def name(self) -> str:
        """How logs name this bus."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True, slots=True)
class SerialSettings:
    """An RS-485 line speaking Modbus RTU."""

    port: str
    baudrate: int = 9600
    # pymodbus' letter: N, E or O. Given the flow's word (none, even, odd) it keeps the letter,
    # so a device saved either way lands on the same line.
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "parity", PARITY_LETTERS.get(self.parity, self.parity))

    @property
    def name(self) -> str:
        """How logs name this bus."""
        return self.port


BusSettings = TcpSettings | SerialSettings


class BusError(Exception):
    """The bus itself cannot be reached: no device on it can answer."""


class NoResponse(Exception):
    """One device did not answer in time; the bus is fine."""


class DeviceRefused(Exception):
    """The device answered with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exception {code}: {EXCEPTION_NAMES.get(code, 'unknown')}")
        self.code = code


type AnyClient = AsyncModbusTcpClient | AsyncModbusSerialClient


def _make_client(settings: BusSettings) -> AnyClient:
    # Retries and reconnects are ours: a poll must not hang on a dead device, and the next poll
    # is the retry. pymodbus' own reconnect loop would hide the outage from us.
    if isinstance(settings, TcpSettings):
        return AsyncModbusTcpClient(
            settings.host,
            port=settings.port,
            framer=FramerType.RTU if settings.rtu_over_tcp else FramerType.SOCKET,
            timeout=settings.timeout,
            retries=0,
            reconnect_delay=0,
        )
    return AsyncModbusSerialClient(
        settings.port,
        framer=FramerType.RTU,
        baudrate=settings.baudrate,
        parity=settings.parity,
        stopbits=settings.stopbits,
        bytesize=settings.bytesize,
        timeout=settings.timeout,
        retries=0,
        reconnect_delay=0,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Pace:
    """How one device on a bus wants to be asked: its answer timeout and the quiet before."""

    # Seconds to wait for an answer; None keeps the bus's own timeout.
    timeout: float | None = None
    # Seconds the line stays quiet before a request: slow RS-485 converters and some
    # controllers need a pause between one answer and the next question.
    pacing: float = 0.0


NO_PACE: Final = Pace()


class ModbusBus:
    """Serialises requests on one connection and turns pymodbus' failures into three errors."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self._client: AnyClient | None = None
        self._lock = asyncio.Lock()
        self._quiet_since = -math.inf
        self.requests = 0
        self.failures = 0
        self.connects = 0

    @property
    def connected(self) -> bool:
        """Whether the connection is open right now."""
        return self._client is not None and self._client.connected

    async def read(
        self, unit: int, function: Function, start: int, count: int, pace: Pace = NO_PACE
    ) -> list[int] | list[bool]:
        """Read `count` registers (or bits) from `start` of one device's table."""
        async with self._lock:
            client = await self._connected()
            await self._wait_turn(client, pace)
            calls = {
                Function.COIL: client.read_coils,
                Function.DISCRETE: client.read_discrete_inputs,
                Function.HOLDING: client.read_holding_registers,
                Function.INPUT: client.read_input_registers,
            }
            response = await self._call(calls[function](start, count=count, device_id=unit))
            if function.is_bit:
                bits: list[bool] = list(response.bits[:count])
                return bits
            registers: list[int] = list(response.registers)
            if len(registers) != count:
                self.failures += 1
                raise NoResponse(f"asked for {count} registers, got {len(registers)}")
            return registers

    async def write(self, unit: int, write: Write, pace: Pace = NO_PACE) -> None:
        """Carry out one write of a command."""
        async with self._lock:
            client = await self._connected()
            await self._wait_turn(client, pace)
            if write.function is Function.COIL:
                await self._call(
                    client.write_coil(write.address, bool(write.state), device_id=unit)
                )
            elif len(write.values) == 1:
                await self._call(
                    client.write_register(write.address, write.values[0], device_id=unit)
                )
            else:
                await self._call(
                    client.write_registers(write.address, list(write.values), device_id=unit)
                )

    async def close(self) -> None:
        """Close the connection; the next request opens it again."""
        async with self._lock:
            self._drop()

    async def _connected(self) -> AnyClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        client = _make_client(self.settings)
        self.connects += 1
        try:
            ok = await client.connect()
        except (ModbusException, OSError) as err:
            ok = False
            reason = str(err)
        else:
            reason = "connection refused or port unavailable"
        if not ok:
            client.close()
            self.failures += 1
            raise BusError(f"cannot open {self.settings.name}: {reason}")
        self._client = client
        return client

    async def _wait_turn(self, client: AnyClient, pace: Pace) -> None:
        """Keep the line quiet for the device's pacing, and give it its own answer timeout."""
        wait = self._quiet_since + pace.pacing - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        # pymodbus waits this long for each answer; one bus serves devices with different needs.
        client.ctx.comm_params.timeout_connect = (
            self.settings.timeout if pace.timeout is None else pace.timeout
        )

    async def _call(self, request: Awaitable[ModbusPDU]) -> ModbusPDU:
        """Await one pymodbus request, mapping its outcomes to our three errors."""
        self.requests += 1
        try:
            return self._checked(await self._send(request))
        finally:
            self._quiet_since = time.monotonic()

    def _checked(self, response: ModbusPDU) -> ModbusPDU:
        if response.isError():
            code = response.exception_code
            self.failures += 1
            if code in _GATEWAY_SILENT:
                raise NoResponse(EXCEPTION_NAMES[code])
            raise DeviceRefused(code)
        return response

    async def _send(self, request: Awaitable[ModbusPDU]) -> ModbusPDU:
        try:
            return await request
        except ModbusIOException as err:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # pymodbus turns our own cancellation into an I/O error; give it back, or a
                # stopping site would wait for its poller forever.
                raise asyncio.CancelledError from err
            self.failures += 1
            if isinstance(self.settings, TcpSettings):
                # A gateway that lost power sends no FIN: only a fresh connect tells it apart
                # from a silent device behind it, so the next request reconnects.
                self._drop()
            raise NoResponse(str(err)) from None
        except (ConnectionException, ModbusException, OSError) as err:
            self.failures += 1
            self._drop()
            raise BusError(f"{self.settings.name}: {err}") from None

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
