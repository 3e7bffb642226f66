"""A worker for rollouts, and the command that runs one (``python -m waiters.temporal``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from ._activity import wait_shard
from ._codec import DATA_CONVERTER
from ._workflow import RolloutWorkflow

__all__ = ["DEFAULT_TASK_QUEUE", "main", "worker"]

#: The task queue a worker polls unless told otherwise.
DEFAULT_TASK_QUEUE = "waiters"


def worker(client: Client, *, task_queue: str = DEFAULT_TASK_QUEUE, **options: Any) -> Worker:
    """A Temporal ``Worker`` running :class:`RolloutWorkflow` and its shard activity.

    :param client: a connected ``temporalio.client.Client``, connected with
        ``data_converter=DATA_CONVERTER`` (:mod:`waiters.temporal`) so that
        payloads over 16 kB travel compressed, as the clients that start
        rollouts must be too.
    :param task_queue: the task queue to poll (default ``"waiters"``).
    :param options: further keyword arguments of ``temporalio.worker.Worker``
        (``max_concurrent_activities``, ``identity``, ...).
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RolloutWorkflow],
        activities=[wait_shard],
        **options,
    )


def _log_to_stderr(verbose: bool) -> None:
    """structlog's lines to stderr, warnings only unless *verbose*: stdout says when the
    worker is ready and nothing else, and a log line per poll would drown it."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


async def _run(address: str, namespace: str, task_queue: str, max_shards: int | None) -> None:
    client = await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)
    options = {} if max_shards is None else {"max_concurrent_activities": max_shards}
    async with worker(client, task_queue=task_queue, **options):
        print(f"waiters worker polling {task_queue!r} on {address}", flush=True)  # noqa: T201
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m waiters.temporal``: run a worker until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m waiters.temporal", description="Run a Temporal worker for waiters rollouts."
    )
    parser.add_argument(
        "--address", default="127.0.0.1:7233", help="the Temporal frontend, HOST:PORT"
    )
    parser.add_argument("--namespace", default="default", help="the Temporal namespace")
    parser.add_argument("--task-queue", default=DEFAULT_TASK_QUEUE, help="the task queue to poll")
    parser.add_argument(
        "--max-shards",
        type=int,
        metavar="N",
        help="run at most N shards at once (default: Temporal's 100 activities); "
        "the first worker to poll takes as many as it may, so set it to spread "
        "a rollout's shards over several workers",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each shard's start and end (stderr)"
    )
    args = parser.parse_args(argv)
    if args.max_shards is not None and args.max_shards < 1:
        parser.error(f"--max-shards must be at least 1, got {args.max_shards}")
    _log_to_stderr(args.verbose)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args.address, args.namespace, args.task_queue, args.max_shards))
