"""One connection per Modbus bus (a TCP gateway or a serial line), shared by its devices.

Whatever pymodbus does when a bus misbehaves (refuses the connection, accepts it and closes it,
stays silent, answers with an exception or with a garbled frame) comes out of here as one of
three errors, and pymodbus' own log lines about it are kept out of the log: the poller reports
each outage once, in its own words.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Awaitable, Callable
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

# pymodbus logs through this one logger (its `Log` helper), in 3.11 and 3.13 alike.
PYMODBUS_LOGGER: Final = "pymodbus.logging"
# Set while this module talks to a bus, and inherited by the transport callbacks of connections
# opened meanwhile: what pymodbus logs then is about our own requests.
_OUR_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("sot_modbus", default=False)


class _QuietForOurRequests(logging.Filter):
    """Drop pymodbus' records about our requests unless pymodbus is being debugged.

    A dead unit on a bus makes pymodbus log an ERROR with a dump of the last twenty frames on
    every request; the poller already says, once, that the device does not answer. Other users
    of pymodbus in the same process (Home Assistant's own modbus integration) are not touched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _OUR_REQUEST.get():
            return True
        return logging.getLogger(PYMODBUS_LOGGER).isEnabledFor(logging.DEBUG)


def quiet_pymodbus_logging() -> None:
    """Install the filter once (idempotent)."""
    logger = logging.getLogger(PYMODBUS_LOGGER)
    if not any(isinstance(f, _QuietForOurRequests) for f in logger.filters):
        logger.addFilter(_QuietForOurRequests())


quiet_pymodbus_logging()

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
        """The bus's address, host:port; says where a site's equipment is, so it is never logged."""
        return f"{self.host}:{self.port}"

    @property
    def kind(self) -> str:
        """What sort of connection this is, for diagnostics (without the address)."""
        return "rtu_over_tcp" if self.rtu_over_tcp else "tcp"


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
        """The serial port; its by-id path can hold the adapter's serial number: never logged."""
        return self.port

    @property
    def kind(self) -> str:
        """What sort of connection this is, for diagnostics (without the port)."""
        return "serial"


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
        token = _OUR_REQUEST.set(True)
        try:
            async with self._lock:
                client = await self._connected()
                await self._wait_turn(client, pace)
                calls = {
                    Function.COIL: client.read_coils,
                    Function.DISCRETE: client.read_discrete_inputs,
                    Function.HOLDING: client.read_holding_registers,
                    Function.INPUT: client.read_input_registers,
                }
                call = calls[function]
                response = await self._call(lambda: call(start, count=count, device_id=unit))
                return self._values(response, function, count)
        finally:
            _OUR_REQUEST.reset(token)

    def _values(
        self, response: ModbusPDU, function: Function, count: int
    ) -> list[int] | list[bool]:
        """The answer's registers or bits; an answer of the wrong shape is a garbled frame."""
        if function.is_bit:
            bits = getattr(response, "bits", None)
            if not isinstance(bits, list) or len(bits) < count:
                self.failures += 1
                raise NoResponse(f"garbled answer: asked for {count} bits")
            return [bool(bit) for bit in bits[:count]]
        registers = getattr(response, "registers", None)
        if not isinstance(registers, list) or len(registers) != count:
            self.failures += 1
            got = len(registers) if isinstance(registers, list) else "no"
            raise NoResponse(f"garbled answer: asked for {count} registers, got {got}")
        return [int(register) for register in registers]

    async def write(self, unit: int, write: Write, pace: Pace = NO_PACE) -> None:
        """Carry out one write of a command."""
        token = _OUR_REQUEST.set(True)
        try:
            async with self._lock:
                client = await self._connected()
                await self._wait_turn(client, pace)
                if write.function is Function.COIL:
                    state = bool(write.state)
                    await self._call(
                        lambda: client.write_coil(write.address, state, device_id=unit)
                    )
                elif len(write.values) == 1:
                    value = write.values[0]
                    await self._call(
                        lambda: client.write_register(write.address, value, device_id=unit)
                    )
                else:
                    values = list(write.values)
                    await self._call(
                        lambda: client.write_registers(write.address, values, device_id=unit)
                    )
        finally:
            _OUR_REQUEST.reset(token)

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
            reason = _reason(err)
        except Exception as err:  # whatever pymodbus raises, the bus is down
            ok = False
            reason = f"unexpected {type(err).__name__}"
        else:
            reason = "connection refused or port unavailable"
        if not ok:
            client.close()
            self.failures += 1
            raise BusError(f"cannot connect: {reason}")
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

    async def _call(self, request: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """Make and await one pymodbus request, mapping every outcome to our three errors.

        The request is made inside the error handling: pymodbus raises "not connected" at once,
        before there is anything to await, when a gateway accepted the connection and closed it.
        """
        self.requests += 1
        try:
            return self._checked(await self._send(request))
        finally:
            self._quiet_since = time.monotonic()

    def _checked(self, response: ModbusPDU) -> ModbusPDU:
        if response.isError():
            code = getattr(response, "exception_code", 0)
            self.failures += 1
            if code in _GATEWAY_SILENT:
                raise NoResponse(EXCEPTION_NAMES[code])
            raise DeviceRefused(code)
        return response

    async def _send(self, request: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        try:
            return await request()
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
            crossed = "device id" in str(err) or "transaction id" in str(err)
            raise NoResponse(
                "an answer to another request" if crossed else "no answer in time"
            ) from None
        except (ConnectionException, ModbusException, OSError) as err:
            self.failures += 1
            self._drop()
            raise BusError(_reason(err)) from None
        except Exception as err:  # a pymodbus bug on a garbled frame, say
            self.failures += 1
            self._drop()
            raise BusError(f"unexpected {type(err).__name__} from pymodbus") from None

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _reason(err: BaseException) -> str:
    """Why a connection failed, in words that do not repeat the bus's address.

    pymodbus puts host and port into its messages ("Not connected[AsyncModbusTcpClient
    10.0.0.5:502]"); they end up in logs and error messages a user might share.
    """
    if isinstance(err, ConnectionException):
        return "connection lost or not possible"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return type(err).__name__
