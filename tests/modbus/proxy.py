"""A TCP proxy in front of a Modbus server that fails the way gateways and networks do.

Between the poller and a real pymodbus server it passes bytes both ways until told otherwise:

- `refuse`: the port is closed; connects are refused (a gateway that is off, a wrong port).
- `blackhole`: connections are accepted and requests swallowed, nothing ever comes back (a
  cable pulled behind a switch, a gateway whose serial side hangs).
- `accept_close`: each connection is accepted and closed at once (a gateway at its connection
  limit, ser2net or a port forward whose target is down).
- `garble`: answers are replaced by bytes that are no Modbus frame.
- `drop(n, after=k)`: k more answers pass, the n after them are lost, then it passes again (one
  timeout among good polls, or a poll that fails half-way).

Switching mode ends the connections open at the time, as the real failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Final

from ..mosquitto import free_port

GARBAGE: Final = b"\x13\x37 not a frame \xff\xfe"


class Mode(StrEnum):
    """What the proxy does with connections and answers."""

    PASS = "pass"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"
    ACCEPT_CLOSE = "accept_close"
    GARBLE = "garble"


class ModbusProxy:
    """Listens on a port of its own and forwards to `upstream_port` on loopback."""

    def __init__(self, upstream_port: int, port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.port = port or free_port()
        self.mode = Mode.PASS
        self.to_drop = 0
        self.to_pass = 0
        # Connections accepted and answers passed on, for tests to check what happened.
        self.accepted = 0
        self.answered = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen (again)."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )

    async def stop(self) -> None:
        """Stop listening and end every connection."""
        if self._server is not None:
            self._server.close()
            await self._cut()
            await self._server.wait_closed()
            self._server = None
        await self._cut()

    async def set(self, mode: Mode) -> None:
        """Switch mode; open connections end, as they would in the real failure."""
        self.mode = mode
        await self._cut()
        if mode is Mode.REFUSE:
            await self.stop()
        else:
            await self.start()

    def drop(self, answers: int = 1, *, after: int = 0) -> None:
        """Let `after` answers pass, lose the `answers` after them, then pass again."""
        self.to_pass, self.to_drop = after, answers
        self.answered = 0

    async def _cut(self) -> None:
        links = list(self._links)
        for link in links:
            link.cancel()
        for link in links:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await link

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            if self.mode is Mode.ACCEPT_CLOSE:
                return
            if self.mode is Mode.BLACKHOLE:
                while await reader.read(4096):
                    pass
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
            pumps = {
                asyncio.create_task(_pump(reader, upstream_writer, None)),
                asyncio.create_task(_pump(upstream_reader, writer, self)),
            }
            try:
                # Either side hanging up ends the link.
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                upstream_writer.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._links.discard(task)
            if self.mode is Mode.ACCEPT_CLOSE:
                writer.close()  # a plain close right after the accept
            else:
                _abort(writer)

    def answer(self, data: bytes) -> bytes | None:
        """What reaches the client of an answer: itself, nothing, or garbage."""
        if self.mode is Mode.GARBLE:
            return GARBAGE
        if self.to_drop and not self.to_pass:
            self.to_drop -= 1
            return None
        self.to_pass = max(0, self.to_pass - 1)
        self.answered += 1
        return data


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answers: ModbusProxy | None
) -> None:
    while data := await reader.read(4096):
        passed = data if answers is None else answers.answer(data)
        if passed:
            writer.write(passed)
            await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close at once (a reset, not a polite goodbye), as a gateway that gives up does."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


@asynccontextmanager
async def modbus_proxy(upstream_port: int) -> AsyncIterator[ModbusProxy]:
    """A proxy passing to the server on `upstream_port`; yields it, listening."""
    proxy = ModbusProxy(upstream_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
