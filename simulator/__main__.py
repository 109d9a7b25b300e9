"""Command line: `python -m simulator --broker 127.0.0.1:1883 --speed 60 --scenario storm`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import sys
from pathlib import Path

from .runner import RunConfig, Simulation, SimulationError, with_transport
from .scenario import ScenarioError, load_scenario, parse_duration
from .sites import SITES


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected host:port, got {value!r}") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {number}")
    return host or "127.0.0.1", number


def _duration(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    """The simulator's options."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Play SOT points (generator, grid meter, relays, freezers, tank) over "
        "Modbus TCP and MQTT, following a scenario.",
    )
    parser.add_argument(
        "--broker",
        type=_host_port,
        default=("127.0.0.1", 1883),
        help="MQTT broker host:port (default 127.0.0.1:1883)",
    )
    parser.add_argument(
        "--modbus",
        type=_host_port,
        default=("127.0.0.1", 5020),
        help="Modbus TCP listen host:port for the first site with Modbus; "
        "further sites take the following ports (default 127.0.0.1:5020)",
    )
    parser.add_argument(
        "--sites",
        default=",".join(SITES),
        help=f"comma-separated site ids (default {','.join(SITES)})",
    )
    parser.add_argument(
        "--scenario", default="storm", help="a shipped scenario name or a YAML file (default storm)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second (60: an hour a minute)",
    )
    parser.add_argument(
        "--start-at",
        type=_duration,
        default=0.0,
        help="jump to this point of the scenario first (e.g. 1:30)",
    )
    parser.add_argument(
        "--mqtt-only",
        action="store_true",
        help="publish Modbus sites' generator and grid over MQTT instead",
    )
    parser.add_argument(
        "--publish-interval",
        type=float,
        default=2.0,
        help="real seconds between a node's periodic publications (default 2)",
    )
    parser.add_argument(
        "--status-file", type=Path, help="write every site's state as JSON here on every tick"
    )
    parser.add_argument(
        "--exit-at-end", action="store_true", help="stop when the scenario's timeline is played"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


async def _main(config: RunConfig) -> None:
    simulation = Simulation(config)
    task = asyncio.create_task(simulation.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until it is stopped (or its scenario ends with --exit-at-end)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.verbose:
        logging.getLogger("pymodbus").setLevel(logging.WARNING)
    site_ids = [s.strip() for s in args.sites.split(",") if s.strip()]
    unknown = [s for s in site_ids if s not in SITES]
    if unknown or not site_ids:
        print(f"unknown site(s) {unknown}; known: {', '.join(SITES)}", file=sys.stderr)
        return 2
    # inf would spin without ever yielding (deaf to Ctrl-C); nan and the rest play nonsense.
    for option, value, least in (
        ("--speed", args.speed, None),
        ("--publish-interval", args.publish_interval, None),
        ("--start-at", args.start_at, 0.0),
    ):
        if not math.isfinite(value) or (value <= 0 if least is None else value < least):
            wanted = "a positive number" if least is None else "0 or later"
            print(f"{option} must be {wanted}, not {value:g}", file=sys.stderr)
            return 2
    try:
        scenario = load_scenario(args.scenario, SITES)
    except ScenarioError as err:
        print(err, file=sys.stderr)
        return 2
    config = RunConfig(
        specs=[with_transport(SITES[s], mqtt_only=args.mqtt_only) for s in site_ids],
        scenario=scenario,
        broker_host=args.broker[0],
        broker_port=args.broker[1],
        modbus_host=args.modbus[0],
        modbus_port=args.modbus[1],
        speed=args.speed,
        start_at_s=args.start_at,
        publish_interval_s=args.publish_interval,
        exit_at_end=args.exit_at_end,
        status_file=args.status_file,
    )
    logging.getLogger(__name__).info(
        "scenario %s at %gx: sites %s, broker %s:%d",
        scenario.name,
        args.speed,
        ", ".join(site_ids),
        *args.broker,
    )
    try:
        asyncio.run(_main(config))
    except SimulationError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
