"""Block reads against one request per value, over an emulated 9600 baud RS-485 line.

One pymodbus server plays a Deep Sea controller behind a serial gateway (RTU frames over TCP).
Each request it answers is held back by the time its frames would take on a 9600 baud 8N1 line,
so the poll times below are what an RS-485 bus would show. The same register set, every
register of the deep_sea_gencomm profile, both scan groups, is read two ways in one run:

- ours: the poller, which plans contiguous blocks;
- peer: one request per value, the way Home Assistant's modbus integration polls its entities.

The last line is for machines:
    modbus: requests/poll ours=N peer=M; poll ms ours=A peer=B limit=L
where L = 1.2 × blocks × time per request (the mean wire time of our blocks).
Run it from the repository root with `scripts/bench modbus`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from custom_components.sot.modbus.client import TcpSettings
from custom_components.sot.modbus.poller import BusPoller, DeviceSettings
from custom_components.sot.modbus.profile import Profile, load_builtin
from tests.modbus.server import dse_on_load_during_outage, tcp_server

BAUD = 9600
BITS_PER_CHAR = 10  # 8N1: start bit, eight data bits, stop bit
REQUEST_BYTES = 8  # unit, function, address, count, CRC
REPLY_OVERHEAD = 5  # unit, function, byte count, CRC
SILENCE_CHARS = 3.5  # the quiet that ends each RTU frame
POLLS = 5
UNIT = 10
PROFILE = "deep_sea_gencomm"


def wire_seconds(registers: int) -> float:
    """The time one read of `registers` registers takes on the line: request and reply."""
    chars = REQUEST_BYTES + REPLY_OVERHEAD + 2 * registers + 2 * SILENCE_CHARS
    return chars * BITS_PER_CHAR / BAUD


class _EveryGroupDue:
    """A poller clock that jumps an hour per poll, so every scan group is read each time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def ours(port: int, profile: Profile) -> tuple[float, int, list[int]]:
    """Mean poll seconds, requests per poll, and the size of each block read."""
    clock = _EveryGroupDue()
    poller = BusPoller(
        TcpSettings(host="127.0.0.1", port=port, rtu_over_tcp=True, timeout=2.0),
        [DeviceSettings(id="genset", profile=profile, unit=UNIT)],
        clock=clock,
    )
    try:
        await poller.poll(datetime.now(UTC))  # connects
        times, requests = [], []
        for _ in range(POLLS):
            clock.now += 3600
            asked = poller.bus.requests
            started = time.perf_counter()
            result = await poller.poll(datetime.now(UTC))
            times.append(time.perf_counter() - started)
            requests.append(poller.bus.requests - asked)
            if result.rejections or not result.readings:
                raise RuntimeError(f"the emulated controller was not read: {result.rejections}")
        (device,) = poller.diagnostics()["devices"]
        sizes = [
            int(block.rsplit("+", 1)[1]) for blocks in device["blocks"].values() for block in blocks
        ]
        return statistics.mean(times), max(requests), sizes
    finally:
        await poller.close()


async def peer(port: int, profile: Profile) -> tuple[float, int]:
    """Mean poll seconds and requests per poll, reading one value per request."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, framer=FramerType.RTU, timeout=2)
    if not await client.connect():
        raise RuntimeError("the emulated controller does not accept connections")
    try:
        times = []
        for _ in range(POLLS):
            started = time.perf_counter()
            for field in profile.fields:
                reply = await client.read_holding_registers(
                    field.address, count=field.width, device_id=UNIT
                )
                if reply.isError():
                    raise RuntimeError(f"peer read of {field.label} failed: {reply}")
            times.append(time.perf_counter() - started)
        return statistics.mean(times), len(profile.fields)
    finally:
        client.close()


async def main() -> None:
    """Serve the controller, poll it both ways, print the comparison."""
    profile = load_builtin(PROFILE)
    device = dse_on_load_during_outage()
    device.delay = lambda _function, count: wire_seconds(count)
    async with tcp_server({UNIT: device}, framer=FramerType.RTU) as port:
        our_seconds, our_requests, sizes = await ours(port, profile)
        peer_seconds, peer_requests = await peer(port, profile)
    per_request = statistics.mean(wire_seconds(size) for size in sizes)
    limit = 1.2 * our_requests * per_request
    pages = sorted({field.address // 256 for field in profile.fields})
    print(f"line: RS-485 emulated at {BAUD} baud 8N1 (request and reply frames, 3.5-char gaps)")
    print(
        f"register set: {PROFILE}, {peer_requests} values on GenComm pages "
        f"{', '.join(map(str, pages))}, both scan groups"
    )
    print(f"ours: {our_requests} requests/poll (blocks of {sizes} registers)")
    print(f"ours: {our_seconds * 1000:.0f} ms/poll, {per_request * 1000:.0f} ms of wire per block")
    print(f"peer: {peer_requests} requests/poll, {peer_seconds * 1000:.0f} ms/poll")
    ratio = peer_requests / our_requests
    print(f"ratio: {ratio:.1f}x fewer requests, {peer_seconds / our_seconds:.1f}x faster poll")
    print(f"poll time within limit: {'yes' if our_seconds <= limit else 'NO'}")
    if ratio < 10:
        print(
            f"note: {ratio:.1f}x, short of the 10x goal, and no planner can reach it on this map: "
            f"its {peer_requests} values lie on {len(pages)} GenComm pages in {our_requests} "
            "regions 20 to 250 registers apart. A request costs about ten registers' worth of "
            "line time, so bridging those gaps would make each poll slower, not faster."
        )
    print(
        f"modbus: requests/poll ours={our_requests} peer={peer_requests}; "
        f"poll ms ours={our_seconds * 1000:.0f} peer={peer_seconds * 1000:.0f} "
        f"limit={limit * 1000:.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
