"""Hearing executions end through an SQS queue, with polling as the safety net.

AWS IoT publishes a message when a job execution or a command execution
changes status (its ``[events]`` section says where); an IoT rule, or
EventBridge, routes them to an SQS queue. :class:`SqsEvents` says which queue
and how to read it; the poller runs a :class:`Listener` that long-polls it,
enters each event as an observation (the same path as an answer), deletes
the messages once that is done, and tells the poller whether the source is
heard (healthy) so that polling slows to the safety net or comes back.

How the queue is consumed (the SQS Developer Guide's recommendations):

* long polling (``WaitTimeSeconds``, at most 20 s and below the call
  timeout) and batches of up to 10 messages a call;
* a visibility timeout longer than a message's handling, so nobody else
  receives it meanwhile; messages deleted in batches (``DeleteMessageBatch``)
  only after their events were entered; one whose handling fails comes back
  after the visibility timeout, and a duplicate changes nothing;
* messages that are not ours: on a queue of this poller's own (the default)
  they are deleted (an event for an execution nobody here waits on is
  dropped, logged at debug level as ``waiters.event_dropped``); on a queue
  shared by several pollers (``shared=True``) they are released at once
  (``ChangeMessageVisibility`` 0) for another consumer, until they were
  received ``release_limit`` times, then deleted: give such a queue a
  redrive policy if they must be kept;
* every SQS call under its own budget (account, region, ``sqs``, operation).
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ._attempt import Answer, CallStats, Endpoint
from ._backoff import Backoff
from ._budget import BudgetConfig
from ._calls import FailureKind
from ._clock import Clock
from ._events import Events
from ._validate import flag, instance, integer, invalid, seconds

__all__ = ["DEFAULT_EVENT_STALENESS", "Listener", "SqsEvents", "Verdict"]

#: Seconds between observations of one waiting execution while events are heard.
DEFAULT_EVENT_STALENESS = 300.0
#: Seconds without a message after which a source is taken for dead.
DEFAULT_SILENCE = 600.0
#: Receives that fail in a row before the source is taken for dead.
_FAILURES = 3
#: Delays between receives that failed.
_RETRY = Backoff(min_delay=0.5, max_delay=30.0)
#: SQS's limits (Amazon SQS API Reference, ReceiveMessage).
_MAX_WAIT = 20
_MAX_MESSAGES = 10
_MAX_VISIBILITY = 12 * 3600
#: Receives in flight at most: each holds one of the client's connections.
_MAX_RECEIVERS = 32
#: Seconds a delete may finish in once the poller closes.
_SETTLE = 2.0
#: Seconds an entered message waits for nine more before its delete goes alone.
_FLUSH_EVERY = 0.05


class Verdict(Enum):
    """What became of one message's events."""

    #: At least one event was entered for a wait here.
    TAKEN = "taken"
    #: Events of a known type, about executions nobody here waits on.
    NOBODY = "nobody"
    #: No event any definition recognises.
    FOREIGN = "foreign"


@dataclass(frozen=True, slots=True)
class SqsEvents:
    """An SQS queue that status-change events reach, and how to consume it.

    ::

        async with Poller(events=SqsEvents(queue_url, client=sqs)) as poller:
            result = await poller.wait_all(executions, timeout=1800)

    Types whose definition has an ``[events]`` section (IoT job and command
    executions) are heard through it; the others are polled as without it.

    :param queue_url: the queue's URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``).
    :param client: a boto3 or aioboto3 SQS client (default ``None``: one
        opened from the poller's session and region, making one attempt per
        call). Give yours ``Config(retries=POLL_RETRY_CONFIG)`` too:
        botocore's own retries of a failing queue would hide for seconds that
        it fails.
    :param staleness: seconds (or a timedelta) between two observations of
        one waiting execution while the source is heard: the safety net for
        a lost event (default 300 s; at least 1 s). Without events the bound
        is the backoff's ``max_delay`` plus a sweep interval (36 s by default).
    :param silence: seconds (or a timedelta) without any message after which
        the source counts as dead and polling returns to its normal cadence,
        until a message comes again; ``None`` never judges silence (default
        600 s). A receive that fails 3 times in a row, or is refused (a
        missing queue, a denied call), counts as dead at once.
    :param wait_time: seconds a receive waits for messages (long polling),
        an integer from 1 to 20 (default 20); kept below the poller's call
        timeout, and within *silence*, so silence is judged in time.
    :param max_messages: messages per receive, 1 to 10 (default 10).
    :param visibility_timeout: seconds (or a timedelta) a received message
        stays hidden from other consumers, longer than its handling: an
        integer number of seconds from 1 to 43,200 (default 60).
    :param shared: the queue is shared with other consumers: messages that
        are not this poller's are released for them rather than deleted
        (default ``False``).
    :param release_limit: on a shared queue, a message no consumer claimed
        is deleted once it was received this many times (default 10).
    :param receivers: receives in flight at once, 1 to 32 (default 4): a receive
        brings at most 10 messages and takes a round trip, so a rollout's
        burst of events (thousands a second) needs several; an idle one costs
        a connection held in a long poll.
    :param budget: the pace of the SQS calls, under budgets of their own
        (default: 50 calls/s, rising to 500; SQS's standard queues allow "a
        nearly unlimited number of API calls per second", Amazon SQS
        Developer Guide, quotas); a ``BudgetRegistry`` entry for the
        operation (``ReceiveMessage``) wins.
    :raises InvalidOption: a value of the wrong type or out of range, naming
        the field and the value.
    """

    queue_url: str
    client: Any = None
    staleness: float | timedelta = DEFAULT_EVENT_STALENESS
    silence: float | timedelta | None = DEFAULT_SILENCE
    wait_time: int = _MAX_WAIT
    max_messages: int = _MAX_MESSAGES
    visibility_timeout: float | timedelta = 60
    shared: bool = False
    release_limit: int = 10
    receivers: int = 4
    budget: BudgetConfig = field(
        default_factory=lambda: BudgetConfig(initial_rate=50.0, max_rate=500.0)
    )

    def __post_init__(self) -> None:
        url = self.queue_url
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise invalid("SqsEvents.queue_url", "a queue URL (https://...)", url)
        if self.client is not None:
            for method in ("receive_message", "delete_message_batch"):
                if not callable(getattr(self.client, method, None)):
                    raise invalid("SqsEvents.client", "a boto3 or aioboto3 SQS client", self.client)
        object.__setattr__(
            self, "staleness", seconds("SqsEvents.staleness", self.staleness, at_least=1.0)
        )
        if self.silence is not None:
            object.__setattr__(
                self, "silence", seconds("SqsEvents.silence", self.silence, allow_zero=False)
            )
        integer(
            "SqsEvents.wait_time",
            self.wait_time,
            minimum=1,
            maximum=_MAX_WAIT,
            expected=f"an integer from 1 to {_MAX_WAIT} (seconds)",
        )
        integer("SqsEvents.max_messages", self.max_messages, minimum=1, maximum=_MAX_MESSAGES)
        visibility = seconds("SqsEvents.visibility_timeout", self.visibility_timeout)
        if visibility != int(visibility) or not 1 <= visibility <= _MAX_VISIBILITY:
            raise invalid(
                "SqsEvents.visibility_timeout",
                "a whole number of seconds from 1 to 43200",
                self.visibility_timeout,
            )
        object.__setattr__(self, "visibility_timeout", visibility)
        flag("SqsEvents.shared", self.shared)
        integer("SqsEvents.release_limit", self.release_limit, minimum=1)
        # Each receiver holds a connection: more than the client's pool would wait for one.
        integer("SqsEvents.receivers", self.receivers, minimum=1, maximum=_MAX_RECEIVERS)
        instance("SqsEvents.budget", self.budget, BudgetConfig, "a BudgetConfig")

    @property
    def staleness_seconds(self) -> float:
        """The safety-net bound in seconds."""
        return self.staleness  # type: ignore[return-value]  # normalised in __post_init__

    @property
    def silence_seconds(self) -> float | None:
        """The silence after which the source counts as dead, in seconds."""
        return self.silence  # type: ignore[return-value]  # normalised in __post_init__

    @property
    def visibility_seconds(self) -> int:
        """The visibility timeout in whole seconds."""
        return int(self.visibility_timeout)  # type: ignore[arg-type]


class Listener:
    """Consumes one :class:`SqsEvents` queue for a poller.

    :param source: the queue and its options.
    :param receive: the ``ReceiveMessage`` endpoint.
    :param delete: the ``DeleteMessageBatch`` endpoint.
    :param release: the ``ChangeMessageVisibilityBatch`` endpoint.
    :param handle: enters one message body's events; says what became of them.
        Awaited: it may read what an event needs first (a parent's retries).
    :param heard: told whether the source is heard, when that changes.
    :param clock: the poller's clock.
    :param rng: jitter for retries.
    :param events: where ``waiters.events_*`` are logged.
    :param call_limit: the poller's call timeout, in seconds.
    :param attributes: the ReceiveMessage parameter that asks for system
        attributes (``AttributeNames`` in botocore models before 2024).
    """

    def __init__(
        self,
        source: SqsEvents,
        *,
        receive: Endpoint,
        delete: Endpoint,
        release: Endpoint,
        handle: Callable[[str], Awaitable[Verdict]],
        heard: Callable[[bool], None],
        clock: Clock,
        rng: random.Random,
        events: Events,
        call_limit: float,
        attributes: str = "MessageSystemAttributeNames",
    ) -> None:
        self.source = source
        self._attributes = attributes
        self._receive = receive
        self._delete = delete
        self._release = release
        self._handle = handle
        self._tell = heard
        self._clock = clock
        self._rng = rng
        self._events = events
        #: The queue's calls (the poller's ``stats`` count the calls about executions).
        self.stats = CallStats()
        self._call_limit = call_limit
        # A long poll that outlived the socket's read timeout would end in an error,
        # and one longer than the silence would judge it a long poll late.
        wait = min(source.wait_time, math.ceil(call_limit) - 2)
        silence = source.silence_seconds
        if silence is not None:
            wait = min(wait, math.floor(silence))
        self._wait = max(0, wait)
        self._failures = 0
        self._heard_at = -math.inf
        self._healthy = False
        #: Whether the source was judged at all yet: the first judgement is said.
        self._judged = False
        self._tasks: TaskGroup | None = None
        #: Receivers running now (see _receiving).
        self._active = 0
        #: Messages entered and not yet given to a delete call.
        self._pending: list[Mapping[str, Any]] = []
        self._pending_due = anyio.Event()
        self._deleting = 0
        self._idle = anyio.Event()
        #: Messages received, and what became of them, for tests and reports.
        self.received = 0
        self.verdicts: dict[Verdict, int] = dict.fromkeys(Verdict, 0)

    @property
    def taken(self) -> int:
        """Messages whose events were about a wait here (and were entered)."""
        return self.verdicts[Verdict.TAKEN]

    @property
    def healthy(self) -> bool:
        """Whether the source is heard: polling is the safety net only."""
        return self._healthy

    async def run(self) -> None:
        """Consume the queue until cancelled (the poller closes)."""
        self._heard_at = self._clock.now()
        async with anyio.create_task_group() as tasks:
            # Deletes go on beside the next receive: a round trip each would halve the
            # messages a receiver takes per second.
            self._tasks = tasks
            self._active = 1
            tasks.start_soon(self._receiving, True)
            tasks.start_soon(self._flushing)

    async def _receiving(self, first: bool) -> None:
        """Receive and enter messages; more receivers join while batches come full.

        A receive returns as soon as one message is there: receivers racing a
        trickle would each bring one, at a call each. So one receives while
        the queue is short, and another joins (up to ``receivers``) each time
        a receive comes back full, leaving again at its first short one.
        """
        source = self.source
        params: dict[str, Any] = {
            "QueueUrl": source.queue_url,
            "MaxNumberOfMessages": source.max_messages,
            "WaitTimeSeconds": self._wait,
            "VisibilityTimeout": source.visibility_seconds,
            self._attributes: ["ApproximateReceiveCount"],
        }
        # The first receive does not wait: the source is heard (or not) at once,
        # not a long poll later, so polling slows to the net from the start.
        params["WaitTimeSeconds"] = 0
        while True:
            slot = await self._receive.slot()
            answer = await self._receive.call(
                params, limit=params["WaitTimeSeconds"] + self._call_limit, slot=slot
            )
            params["WaitTimeSeconds"] = self._wait
            self.stats.record(answer)
            if answer.response is None:
                await self._failed(answer)
                continue
            self._failures = 0
            found = answer.response.get("Messages")
            # A hostile or broken answer: whatever is not a message is no message.
            messages = (
                [m for m in found if isinstance(m, Mapping)] if isinstance(found, list) else []
            )
            now = self._clock.now()
            if messages:
                self._heard_at = now
            silence = source.silence_seconds
            if silence is not None and now - self._heard_at >= silence:
                self._heard(False, f"no message for {now - self._heard_at:.0f}s")
            else:
                self._heard(True, None)
            if messages:
                await self._take(messages)
            full = len(messages) >= source.max_messages
            if full and self._active < source.receivers:
                self._active += 1
                tasks = self._tasks
                assert tasks is not None
                tasks.start_soon(self._receiving, False)
            elif not full and not first:
                self._active -= 1
                return

    async def _flushing(self) -> None:
        """Delete what was entered, ten a call: at once when ten wait, else within
        a moment, so a trickle of single messages is not a delete call each."""
        try:
            while True:
                await self._pending_due.wait()
                self._pending_due = anyio.Event()
                await self._clock.sleep_until(self._clock.now() + _FLUSH_EVERY)
                self._flush(whole=False)
        finally:
            with anyio.CancelScope(shield=True):
                # Closing: what was entered is deleted, within a moment.
                self._flush(whole=False)
                with anyio.move_on_after(_SETTLE):
                    await self._flushed()

    def _flush(self, *, whole: bool) -> None:
        """Start deleting the pending messages (only full batches if *whole*)."""
        pending = self._pending
        size = _MAX_MESSAGES
        tasks = self._tasks
        assert tasks is not None
        while len(pending) >= size or (pending and not whole):
            batch, pending[:] = pending[:size], pending[size:]
            self._deleting += 1
            tasks.start_soon(self._delete_batch, batch)

    async def _delete_batch(self, batch: list[Mapping[str, Any]]) -> None:
        try:
            await self._batch(self._delete, batch, {})
        finally:
            self._deleting -= 1
            if not self._deleting:
                self._idle.set()
                self._idle = anyio.Event()

    async def _flushed(self) -> None:
        while self._deleting:
            await self._idle.wait()

    async def _take(self, messages: Sequence[Mapping[str, Any]]) -> None:
        done: list[Mapping[str, Any]] = []
        released: list[Mapping[str, Any]] = []
        source = self.source
        for message in messages:
            self.received += 1
            body = message.get("Body")
            handle = message.get("ReceiptHandle")
            if not isinstance(handle, str):
                continue
            try:
                verdict = await self._handle(body) if isinstance(body, str) else Verdict.FOREIGN
            except Exception as exc:  # noqa: BLE001 - kept: it comes back, and waits go on
                # Not deleted: it is received again after its visibility timeout, and
                # until then the safety net observes whoever it was about.
                self._events.log.warning(
                    "waiters.events_error",
                    message_id=message.get("MessageId"),
                    error=type(exc).__name__,
                    reason=str(exc),
                )
                continue
            self.verdicts[verdict] += 1
            if verdict is not Verdict.TAKEN:
                events = self._events
                if events.debug:
                    events.log.debug(
                        "waiters.event_dropped",
                        message_id=message.get("MessageId"),
                        verdict=verdict.value,
                        released=source.shared,
                    )
                if source.shared and _receives(message) < source.release_limit:
                    released.append(message)
                    continue
            done.append(message)
        tasks = self._tasks
        assert tasks is not None
        if done:
            self._pending.extend(done)
            self._flush(whole=True)
            if self._pending:
                self._pending_due.set()
        if released:
            tasks.start_soon(self._batch, self._release, released, {"VisibilityTimeout": 0})

    async def _batch(
        self, endpoint: Endpoint, messages: list[Mapping[str, Any]], extra: Mapping[str, Any]
    ) -> None:
        """One batch call over *messages*; a failure is logged, and they come back later."""
        entries = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], **extra}
            for index, message in enumerate(messages)
        ]
        # Shielded a moment: the poller closing just after an event ended its last
        # wait should not leave that message to come back to the next consumer.
        answer: Answer | None = None
        with anyio.move_on_after(_SETTLE, shield=True):
            answer = await endpoint.attempt({"QueueUrl": self.source.queue_url, "Entries": entries})
        if answer is None:
            return
        self.stats.record(answer)
        failed = (
            answer.response.get("Failed") or ()
            if answer.response is not None
            else [{"Code": answer.failure.code if answer.failure else type(answer.error).__name__}]
        )
        if failed:
            # Each comes back after its visibility timeout; entered twice, it changes nothing.
            first = failed[0] if isinstance(failed[0], Mapping) else {}
            self._events.log.warning(
                "waiters.events_error",
                operation=endpoint.operation,
                failed=len(failed),
                code=first.get("Code"),
                reason=first.get("Message"),
            )

    async def _failed(self, answer: Answer) -> None:
        failure = answer.failure
        self._failures += 1
        refused = failure is None or failure.kind not in (
            FailureKind.TRANSIENT,
            FailureKind.THROTTLED,
        )
        if refused or self._failures >= _FAILURES:
            code = failure.code if failure is not None else type(answer.error).__name__
            reason = failure.reason if failure is not None else str(answer.error)
            self._heard(False, f"ReceiveMessage failed: {code}: {reason}")
        if failure is not None and failure.kind is FailureKind.THROTTLED:
            return  # the budget slows down; no pause of our own
        delay = _RETRY.delay(min(self._failures, 62), self._rng)
        await self._clock.sleep_until(self._clock.now() + delay)

    def _heard(self, healthy: bool, reason: str | None) -> None:
        if healthy == self._healthy and self._judged:
            return
        self._judged = True
        self._healthy = healthy
        self._tell(healthy)
        if healthy:
            self._events.log.info(
                "waiters.events_healthy",
                queue=self.source.queue_url,
                staleness=self.source.staleness_seconds,
            )
        else:
            self._events.log.warning(
                "waiters.events_unhealthy",
                queue=self.source.queue_url,
                reason=reason,
            )


def _receives(message: Mapping[str, Any]) -> int:
    attributes = message.get("Attributes")
    if isinstance(attributes, Mapping):
        try:
            return int(attributes.get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            return 1
    return 1
