"""Forwarding the fleet's events to a real SQS queue, from a thread of its own.

The :class:`Forwarder` keeps the messages the fleet hands it in a heap by
the clock time they become visible and sends each one when it is due, ten
to a ``SendMessageBatch``, with a boto3 client.  It runs in a daemon thread,
so a slow or failing server never holds up the simulator's event loop; it
sleeps until the next message or transition is due, or until the fleet
wakes it (new executions, new settings).
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ._events import ForwardSqs

__all__ = ["Forwarder"]

_log = logging.getLogger(__name__)
#: The longest the thread sleeps without being woken: a bound on how late a
#: stop or an unannounced change is noticed.
_IDLE: float = 0.5


class Forwarder:
    """Sends messages to the queue *target* names, each at its visible clock time.

    :param target: where to send.
    :param clock: the fleet's clock (seconds).
    :param pump: called in the thread before each round: hands over (via
        :meth:`put`) what has come due and returns the clock time of the next
        transition, or None.
    :param failing: tells whether the source is failing; what comes due
        then is dropped and counted in :attr:`dropped`.
    """

    def __init__(
        self,
        target: ForwardSqs,
        *,
        clock: Callable[[], float],
        pump: Callable[[], float | None],
        failing: Callable[[], bool],
    ) -> None:
        self.target = target
        self._clock = clock
        self._pump = pump
        self._failing = failing
        self._heap: list[tuple[float, int, str]] = []
        self._order = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        #: Messages sent, refused by the server, and dropped while failing.
        self.sent = 0
        self.refused = 0
        self.dropped = 0
        self._thread = threading.Thread(
            target=self._run, name="waiters-events-forward", daemon=True
        )

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait up to *timeout* seconds for it."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Make the thread look again at once (something new may be due)."""
        self._wake.set()

    def put(self, body: str, visible_at: float) -> None:
        """Send *body* once clock time *visible_at* has come."""
        with self._lock:
            self._order += 1
            heapq.heappush(self._heap, (visible_at, self._order, body))

    def pending(self) -> int:
        """Messages not yet sent."""
        with self._lock:
            return len(self._heap)

    def _due(self, now: float) -> tuple[list[str], float | None]:
        with self._lock:
            heap = self._heap
            due: list[str] = []
            while heap and heap[0][0] <= now:
                due.append(heapq.heappop(heap)[2])
            return due, heap[0][0] if heap else None

    def _client(self) -> Any:
        target = self.target
        return boto3.client(
            "sqs",
            endpoint_url=target.endpoint_url,
            region_name=target.region,
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
            config=Config(retries={"total_max_attempts": 3, "mode": "standard"}),
        )

    def _run(self) -> None:
        client = self._client()
        try:
            self._loop(client)
        finally:
            client.close()

    def _loop(self, client: Any) -> None:
        while not self._stop.is_set():
            next_transition = self._pump()
            now = self._clock()
            due, next_message = self._due(now)
            if due and self._failing():
                self.dropped += len(due)
            elif due:
                self._send(client, due)
            wake_at = min(
                (t for t in (next_transition, next_message) if t is not None), default=None
            )
            timeout = _IDLE if wake_at is None else min(_IDLE, max(0.0, wake_at - self._clock()))
            if timeout > 0:
                self._wake.wait(timeout)
            self._wake.clear()

    def _send(self, client: Any, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
            try:
                answer = client.send_message_batch(QueueUrl=self.target.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                self.refused += len(chunk)
                _log.warning(
                    "forwarding %d events to %s failed: %s", len(chunk), self.target.queue_url, exc
                )
                continue
            self.sent += len(answer.get("Successful", ()))
            self.refused += len(answer.get("Failed", ()))
