"""What the orchestrator and the measured processes share: names, metrics, quiet logs."""

from __future__ import annotations

import logging
import math
import resource
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BASELINES",
    "LATENCY_REFERENCE",
    "LATENCY_SYSTEM",
    "PROJECT",
    "SYSTEMS",
    "cpu_seconds",
    "peak_rss_kib",
    "percentile",
    "quiet_logs",
    "rss_kib",
]

#: What a user would otherwise write, in the order the tables list them.
BASELINES: tuple[str, ...] = ("botocore-waiter", "aiobotocore-waiter", "aioboto3-loop")
#: This project: one wait_for per execution, the fan-out Poller per Describe, and in batch mode.
PROJECT: tuple[str, ...] = (
    "waiters-wait_for",
    "waiters-poller-describe",
    "waiters-poller-batch",
    # Batch mode with failure_reasons=True: each failure seen in a list is
    # described once more, for its reason.
    "waiters-poller-batch-reasons",
    # Batch mode with latency= the aiobotocore waiter's p99 measured earlier in
    # the same scenario: the Poller picks its own cadence to meet it.
    "waiters-poller-batch-latency",
)
#: The system whose option comes from another system's figure in the same run.
LATENCY_SYSTEM = "waiters-poller-batch-latency"
#: Whose measured p99 detection latency becomes its target.
LATENCY_REFERENCE = "aiobotocore-waiter"
SYSTEMS: tuple[str, ...] = BASELINES + PROJECT


def quiet_logs() -> None:
    """Keep per-poll log events out of a measured process.

    The project's debug events and botocore's retry chatter would otherwise be
    formatted and printed per call and dominate the CPU being measured.
    """
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.basicConfig(level=logging.WARNING)
    # urllib3 warns "Connection pool is full" per discarded connection under load;
    # that is the client's business, not a result, and printing it costs CPU.
    for name in ("urllib3", "botocore", "aiobotocore", "aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    # Not Linux: ru_maxrss (KiB on Linux, bytes on macOS) is the only figure there is.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def rss_kib() -> int:
    """Resident set size of this process now (VmRSS), KiB."""
    return _status_kib("VmRSS")


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far (VmHWM), KiB."""
    return _status_kib("VmHWM")


def cpu_seconds() -> float:
    """User + system CPU of this process (every thread) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: Sequence[float], q: float) -> float | None:
    """The *q*-th percentile (0-100) by linear interpolation; None for no values.

    Infinite values (an outcome never detected) sort last; a percentile that
    reaches into them is infinite.
    """
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    if fraction == 0 or ordered[high] == ordered[low]:
        return ordered[low]
    if math.isinf(ordered[high]):
        return math.inf
    return ordered[low] + (ordered[high] - ordered[low]) * fraction
