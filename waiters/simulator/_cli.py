"""``python -m waiters.simulator``: serve a fleet from its own process.

The first line on stdout is the endpoint URL (flushed), so a parent process
can read it and connect; the simulator then serves until SIGINT or SIGTERM
and exits 0.  Executions are created up front with ``--add`` or later
through the control API (``POST /_simulator/executions``).

The project's ``waiters simulator`` subcommand mounts the same options with
:func:`add_arguments` and :func:`run`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from ._catalogue import EXECUTION_TYPES
from ._events import EventConfig
from ._faults import Faults, ThrottleConfig
from ._fleet import Fleet
from ._quirks import Quirks
from ._server import Simulator

__all__ = ["add_arguments", "main", "run"]


def _type_count(text: str) -> tuple[str, int]:
    kind, _, count = text.partition("=")
    if kind not in EXECUTION_TYPES:
        raise argparse.ArgumentTypeError(
            f"unknown execution type {kind!r}; expected one of {sorted(EXECUTION_TYPES)}"
        )
    try:
        number = int(count or "1")
    except ValueError:
        raise argparse.ArgumentTypeError(f"count must be an integer, got {count!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"count must be >= 0, got {number}")
    return kind, number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to *parser*.

    ``--host``, ``--port``, ``--seed``, ``--speed``, ``--rate``, ``--burst``,
    ``--region``, ``--account``, ``--record-requests``, ``--add TYPE=COUNT``
    (repeatable), the fault probabilities ``--error-5xx``, ``--reset``,
    ``--malformed``, ``--throttle-fault`` with ``--fault-seed``, and the
    quirks ``--counts-lag``, ``--counts-frozen``, ``--hint-lag``,
    ``--omit-empty-lists``, ``--sparse-pages`` (the fields of
    :class:`Quirks`), and ``--events`` with ``--events-queue``,
    ``--events-format``, ``--events-delay``, ``--events-duplicate``,
    ``--events-reorder``, ``--events-loss``, ``--events-every-status``, ``--events-no-reasons``,
    ``--events-seed`` (the fields of :class:`EventConfig`); :func:`run`
    reads them.

    :param parser: the ``argparse`` parser (or subcommand parser) to add them to.
    """
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random draw (default: %(default)s)"
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="service time runs this much faster (default: 1)"
    )
    parser.add_argument(
        "--rate", type=float, help="throttle: requests per second per region and operation"
    )
    parser.add_argument("--burst", type=float, help="throttle: bucket size (default: the rate)")
    parser.add_argument(
        "--region", default="us-east-1", help="default region (default: %(default)s)"
    )
    parser.add_argument(
        "--account", default="123456789012", help="account id in ARNs (default: %(default)s)"
    )
    parser.add_argument(
        "--record-requests", action="store_true", help="keep a record of every request"
    )
    parser.add_argument(
        "--add",
        metavar="TYPE=COUNT",
        type=_type_count,
        action="append",
        default=[],
        help="create COUNT executions of TYPE at start (repeatable), e.g. iot-job-execution=1000",
    )
    parser.add_argument(
        "--error-5xx", type=float, default=0.0, help="probability of a modeled 5xx answer"
    )
    parser.add_argument(
        "--reset", type=float, default=0.0, help="probability of a connection reset"
    )
    parser.add_argument(
        "--malformed", type=float, default=0.0, help="probability of a truncated JSON body"
    )
    parser.add_argument(
        "--throttle-fault", type=float, default=0.0, help="probability of a forced throttle"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument(
        "--counts-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="quirk: IoT DescribeJob counts as they were this many service seconds ago",
    )
    parser.add_argument(
        "--counts-frozen",
        action="store_true",
        help="quirk: IoT DescribeJob counts never move from all QUEUED",
    )
    parser.add_argument(
        "--hint-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="quirk: approximateSecondsBeforeTimedOut reaches 0 this much before the timeout",
    )
    parser.add_argument(
        "--omit-empty-lists",
        action="store_true",
        help="quirk: list pages with no items leave out the list member",
    )
    parser.add_argument(
        "--sparse-pages",
        action="store_true",
        help="quirk: list pages filter after reading a page, so may be short or empty",
    )
    events = parser.add_argument_group(
        "events", "publish IoT job and command execution events to an embedded SQS queue"
    )
    events.add_argument("--events", action="store_true", help="publish execution events")
    events.add_argument(
        "--events-queue", default="waiters-events", help="queue name (default: %(default)s)"
    )
    events.add_argument(
        "--events-format",
        choices=("raw", "eventbridge"),
        default="raw",
        help="message body: the IoT rule's raw payload or an EventBridge event",
    )
    events.add_argument(
        "--events-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="each message visible after a uniform draw in [0, SECONDS] service seconds",
    )
    events.add_argument(
        "--events-duplicate", type=float, default=0.0, help="probability of a second copy"
    )
    events.add_argument(
        "--events-reorder",
        type=float,
        default=0.0,
        help="probability a message is held back behind its execution's next one",
    )
    events.add_argument(
        "--events-loss", type=float, default=0.0, help="probability an event is never published"
    )
    events.add_argument(
        "--events-every-status",
        action="store_true",
        help="job executions publish every status they enter, not only terminal ones",
    )
    events.add_argument(
        "--events-no-reasons",
        action="store_true",
        help="terminal events without statusDetails / statusReason",
    )
    events.add_argument("--events-seed", type=int, help="seed of the event draws (default: --seed)")


def build_fleet(args: argparse.Namespace) -> Fleet:
    """The fleet the options describe."""
    throttle = None
    if args.rate is not None:
        throttle = ThrottleConfig(
            rate=args.rate, burst=args.burst if args.burst is not None else max(args.rate, 1.0)
        )
    elif args.burst is not None:
        raise ValueError("--burst needs --rate")
    faults = None
    if args.error_5xx or args.reset or args.malformed or args.throttle_fault:
        faults = Faults(
            error_5xx=args.error_5xx,
            reset=args.reset,
            malformed=args.malformed,
            throttle=args.throttle_fault,
            seed=args.fault_seed,
        )
    quirks = Quirks(
        counts_lag=args.counts_lag,
        counts_frozen=args.counts_frozen,
        hint_lag=args.hint_lag,
        omit_empty_lists=args.omit_empty_lists,
        sparse_pages=args.sparse_pages,
    )
    events = None
    if args.events:
        events = EventConfig(
            queue=args.events_queue,
            format=args.events_format,
            delay=args.events_delay,
            duplicate=args.events_duplicate,
            reorder=args.events_reorder,
            loss=args.events_loss,
            reasons=not args.events_no_reasons,
            every_status=args.events_every_status,
            seed=args.events_seed,
        )
    fleet = Fleet(
        events=events,
        seed=args.seed,
        speed=args.speed,
        throttle=throttle,
        faults=faults,
        region=args.region,
        account=args.account,
        record_requests=args.record_requests,
        quirks=quirks,
    )
    for kind, count in args.add:
        fleet.add(kind, count)
    return fleet


async def _serve(simulator: Simulator) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with simulator:
            print(simulator.endpoint_url, flush=True)  # noqa: T201 - the parent process reads this line
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; the exit status.

    Builds the fleet the options describe, prints the endpoint URL as the
    first line on stdout, and serves on its own asyncio event loop. Returns
    0 once stopped by a signal, or 2 (after a message on stderr) when the
    options do not make a fleet (``--burst`` without ``--rate``, a value a
    :class:`Fleet`, :class:`ThrottleConfig`, :class:`Faults` or
    :class:`Quirks` refuses).

    :param args: the options :func:`add_arguments` defines, parsed.
    :raises ValueError: a ``--port`` outside [0, 65535].
    :raises OSError: the address cannot be bound.
    """
    try:
        fleet = build_fleet(args)
    except (ValueError, TypeError) as exc:
        print(f"waiters.simulator: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    asyncio.run(_serve(Simulator(fleet, host=args.host, port=args.port)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m waiters.simulator``; returns the exit status.

    :param argv: the command line arguments, without the program name
        (default: ``sys.argv[1:]``).
    :raises SystemExit: ``--help``, or arguments ``argparse`` refuses
        (status 2).
    """
    parser = argparse.ArgumentParser(
        prog="python -m waiters.simulator",
        description="Serve a simulated fleet of AWS executions to boto3 clients.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
