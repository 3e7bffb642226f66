"""What the service saw: per-operation counters and, on request, a record of every request.

Nothing here locks; the fleet updates and reads these under its own lock.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

from ._protocol import Reply

__all__ = ["OperationCounter", "RequestRecord", "Stats", "result_of"]


class RequestRecord(NamedTuple):
    """One request as the service saw it (``Fleet(record_requests=True)``).

    :param clock_time: when it arrived, in the fleet's ``clock`` time base
        (seconds), not service time.
    :param region: the region it was sent to (from its credential scope), or
        the fleet's region for a request that named none.
    :param operation: ``"service:Operation"``, such as
        ``"iot:DescribeJobExecution"``.
    :param result: how it was answered: ``"ok"``; ``"error"`` (a modeled
        client error such as ResourceNotFoundException or a validation
        error); ``"throttled"`` (by the bucket or a forced throttle);
        ``"error_5xx"``, ``"reset"`` or ``"malformed"`` (injected faults).
    :param access_key: the access key id that signed it, which tells
        accounts apart (:attr:`Fleet.accounts`); ``None`` for the in-process
        clients, which sign nothing.

    Requests for operations the simulator does not implement, and requests
    refused before an operation is found (credentials, routing), are not
    recorded.
    """

    clock_time: float
    region: str
    operation: str
    result: str
    access_key: str | None = None


class OperationCounter:
    """The counts of one operation; see :meth:`Fleet.stats` for their meaning."""

    __slots__ = ("errors", "faulted", "served", "throttled")

    def __init__(self) -> None:
        self.served = 0
        self.throttled = 0
        self.faulted: dict[str, int] = {}
        self.errors: dict[str, int] = {}


def result_of(reply: Reply) -> str:
    """How a :class:`RequestRecord` sums up *reply*."""
    if reply.fault is not None:
        return reply.fault
    error = reply.error
    if error is None:
        return "ok"
    if error.code == "ThrottlingException":
        return "throttled"
    if error.status >= 500 and error.code != "NotImplemented":
        return "error_5xx"
    return "error"


class Stats:
    """Counters per operation key (``"service:Operation"``) and the optional request records."""

    __slots__ = ("counters", "records")

    def __init__(self, *, record_requests: bool) -> None:
        #: The counter of each operation, created on its first request.
        self.counters: defaultdict[str, OperationCounter] = defaultdict(OperationCounter)
        #: Every request in arrival order; None when not recording.
        self.records: list[RequestRecord] | None = [] if record_requests else None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A copy of every counter, as :meth:`Fleet.stats` reports them."""
        return {
            key: {
                "served": c.served,
                "throttled": c.throttled,
                "faulted": dict(c.faulted),
                "errors": dict(c.errors),
            }
            for key, c in self.counters.items()
        }

    def reset(self) -> None:
        """Zero the counters and drop the records."""
        self.counters.clear()
        if self.records is not None:
            self.records.clear()
