"""The fan-out poller: many executions, bounded concurrency, shared rate budgets.

Executions are not tasks. Each waiting execution is a :class:`Tracker` in a
heap ordered by when it is next due; one dispatcher per *lane* (a client and
an operation) pops the most overdue one when the lane's budget grants a slot
and a concurrency slot is free, and starts one call. A waiting execution
costs a heap entry and a small object, not a sleeping task.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ._backoff import Backoff
from ._budget import BudgetRegistry, RateBudget, budget_key, default_budgets
from ._calls import Caller, FailureKind, classify, make_caller
from ._clock import Clock, LoopClock, bound_clock, to_seconds
from ._errors import InvalidExecution
from ._events import Events
from ._execution import Execution
from ._outcome import Outcome, OutcomeKind, Transition
from ._progress import BatchResult, FailFast, Progress
from ._sweep import Group
from ._tracker import Tracker, WaitSettings, error_for
from ._wait import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_NOT_FOUND_GRACE,
    DEFAULT_TIMEOUT,
    open_client,
    settings_from,
)

__all__ = ["Batch", "Poller", "wait_all", "wait_all_sync"]


class _Inherit(enum.Enum):
    """An option left to the poller's own setting."""

    FROM_POLLER = "from_poller"


_FROM_POLLER = _Inherit.FROM_POLLER

#: Polls due this close together share one wake-up of the leader: a few
#: milliseconds early against delays of seconds, for far fewer loop turns.
_TIMER_SLACK = 0.005
#: How late a final poll at the deadline may start before the wait just times out.
_DEADLINE_GRACE = 1.0
_UNSEEN = "unseen"


def _stale(entry: tuple[float, int, Tracker]) -> bool:
    tracker = entry[2]
    return tracker.outcome is not None or tracker.listed or entry[0] != tracker.due


class _Lane:
    """The executions of one client and operation, and the workers that poll them.

    Workers take turns as leader: the leader sleeps until the most overdue
    execution is due and the budget grants a slot, pops it, hands leadership
    on, and makes the call. No task per call, no task per execution.
    """

    __slots__ = (
        "budget",
        "call",
        "client",
        "expired",
        "heap",
        "idle",
        "inflight",
        "leader",
        "limiter",
        "operation",
        "poller",
        "scope",
        "sleeping_until",
        "workers",
    )

    def __init__(
        self,
        poller: Poller,
        client: Any,
        operation: str,
        method: str,
        budget: RateBudget,
        limiter: anyio.Semaphore,
    ) -> None:
        self.poller = poller
        self.client = client
        self.operation = operation
        self.call: Caller = make_caller(client, method)
        self.budget = budget
        self.limiter = limiter
        self.leader = anyio.Lock(fast_acquire=True)
        self.heap: list[tuple[float, int, Tracker]] = []
        self.scope: anyio.CancelScope | None = None
        self.sleeping_until = math.inf
        self.workers = 1
        self.idle = 0
        #: Calls in flight by worker task, with their start time; and those the
        #: watchdog cancelled for taking too long.
        self.inflight: dict[asyncio.Task[Any] | None, float] = {}
        self.expired: set[asyncio.Task[Any] | None] = set()

    def push(self, tracker: Tracker, due: float) -> None:
        # An entry is live only while it matches tracker.due, so re-pushing
        # (after a sweep hands an execution back) never polls it twice.
        tracker.due = due
        heapq.heappush(self.heap, (due, next(self.poller._seq), tracker))
        if due < self.sleeping_until and self.scope is not None:
            # The leader sleeps past this one's due time: wake it.
            self.scope.cancel()

    async def _sleep_until(self, when: float) -> None:
        self.sleeping_until = when
        with anyio.CancelScope() as scope:
            self.scope = scope
            await self.poller.clock.sleep_until(when)
        self.scope = None
        self.sleeping_until = math.inf

    async def _next(self) -> Tracker:
        heap = self.heap
        clock = self.poller.clock
        while True:
            while heap and _stale(heap[0]):
                heapq.heappop(heap)
            if not heap:
                await self._sleep_until(math.inf)
                continue
            due = heap[0][0]
            if due > clock.now() + _TIMER_SLACK:
                await self._sleep_until(due)
                continue
            slot = self.budget.reserve(clock.now())
            if slot > clock.now():
                await clock.sleep_until(slot)
            # The heap may have changed meanwhile; the slot goes to whoever is most overdue now.
            while heap and _stale(heap[0]):
                heapq.heappop(heap)
            if heap:
                return heapq.heappop(heap)[2]

    async def expire_calls(self) -> None:
        """Cancel calls that outlive the call timeout.

        One timer per lane instead of one per call: a timeout scope per call
        cost more CPU than the rest of a poll.
        """
        timeout = self.poller.call_timeout
        clock = self.poller.clock
        while True:
            await clock.sleep_until(clock.now() + timeout / 4)
            limit = clock.now() - timeout
            for task, started in list(self.inflight.items()):
                if started <= limit and task is not None and task not in self.expired:
                    self.expired.add(task)
                    task.cancel()

    async def work(self, task_group: TaskGroup) -> None:
        poll = self.poller._poll
        limiter = self.limiter
        leader = self.leader
        while True:
            self.idle += 1
            try:
                async with leader:
                    tracker = await self._next()
            finally:
                self.idle -= 1
            # Workers are added only while every one is busy calling, so a lane
            # of a few executions (or a quiet one) costs one task, not `concurrency`.
            if not self.idle and self.workers < self.poller.concurrency:
                self.workers += 1
                task_group.start_soon(self.work, task_group)
            # In-flight calls are bounded per client (sweeps share the bound), so
            # the slot is taken for the call only, never while waiting to lead.
            async with limiter:
                await poll(self, tracker)


class Batch:
    """Executions handed to a poller together; outcomes arrive as they complete."""

    def __init__(
        self,
        poller: Poller,
        executions: list[Execution],
        duplicates: list[Execution],
        *,
        fail_fast: FailFast | None,
        on_transition: Callable[[Execution, Transition], None] | None,
        on_outcome: Callable[[Outcome], None] | None,
    ) -> None:
        self.poller = poller
        self.executions = executions
        self.duplicates = duplicates
        self.fail_fast = fail_fast
        self.on_transition = on_transition
        self.on_outcome = on_outcome
        self.started = poller.clock.now()
        self.trackers: dict[Execution, Tracker] = {}
        self.outcomes: dict[Execution, Outcome] = {}
        self.states: dict[str, int] = {_UNSEEN: len(executions)}
        self.kinds: dict[str, int] = {_UNSEEN: len(executions)}
        self.results: dict[str, int] = {}
        self.failures = 0
        self.aborted = False
        self.calls = 0
        self.throttles = 0
        self.errors = 0
        self.done = anyio.Event()
        # Outcomes not yet taken by an iterator; a plain deque, so a batch nobody
        # iterates holds no stream open.
        self._ready: deque[Outcome] = deque()
        self._arrived = anyio.Event()
        if not executions:
            self._close()

    # Called by the poller, on the event loop, for each answer.

    def _transition(self, tracker: Tracker, before: str | None, before_kind: str | None) -> None:
        states, kinds = self.states, self.kinds
        old_state = before or _UNSEEN
        old_kind = before_kind or _UNSEEN
        states[old_state] -= 1
        kinds[old_kind] -= 1
        new_state = tracker.state or _UNSEEN
        new_kind = tracker.kind.value if tracker.kind is not None else _UNSEEN
        states[new_state] = states.get(new_state, 0) + 1
        kinds[new_kind] = kinds.get(new_kind, 0) + 1
        if self.on_transition is not None and tracker.history:
            self.on_transition(tracker.execution, tracker.history[-1])

    def _finished(self, tracker: Tracker, outcome: Outcome) -> None:
        execution = tracker.execution
        if execution in self.outcomes:
            return
        self.outcomes[execution] = outcome
        state = tracker.state or _UNSEEN
        kind = tracker.kind.value if tracker.kind is not None else _UNSEEN
        self.states[state] -= 1
        self.kinds[kind] -= 1
        self.results[outcome.kind.value] = self.results.get(outcome.kind.value, 0) + 1
        self._ready.append(outcome)
        self._arrived.set()
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if self.fail_fast is not None and outcome.kind in self.fail_fast.kinds:
            self.failures += 1
            if not self.aborted and self.fail_fast.tripped(self.failures, len(self.outcomes)):
                self.abandon("fail-fast threshold reached")
                return
        if len(self.outcomes) == len(self.executions):
            self._close()

    def abandon(self, reason: str) -> None:
        """Stop waiting: every execution not finished yet gets an abandoned outcome."""
        if self.done.is_set():
            return
        self.aborted = True
        now = self.poller.clock.now()
        for tracker in list(self.trackers.values()):
            if tracker.outcome is None:
                outcome = tracker.finish(
                    OutcomeKind.ABANDONED, now, self.poller.events, reason=reason
                )
                self._finished(tracker, outcome)
        self._close()

    def _close(self) -> None:
        if not self.done.is_set():
            self.done.set()
            self._arrived.set()

    # Public surface.

    def __aiter__(self) -> AsyncIterator[Outcome]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Outcome]:
        ready = self._ready
        while True:
            while ready:
                yield ready.popleft()
            if self.done.is_set():
                return
            self._arrived = anyio.Event()
            await self._arrived.wait()

    async def wait(self) -> BatchResult:
        """Wait for every outcome."""
        await self.done.wait()
        return self.result()

    def result(self) -> BatchResult:
        outcomes = tuple(self.outcomes[e] for e in self.executions if e in self.outcomes)
        return BatchResult(
            outcomes=outcomes,
            duplicates=tuple(self.duplicates),
            aborted=self.aborted,
            elapsed=self.poller.clock.now() - self.started,
            counts=dict(self.results),
        )

    def progress(self) -> Progress:
        now = self.poller.clock.now()
        elapsed = now - self.started
        finished = len(self.outcomes)
        remaining: float | None = None
        if 0 < finished < len(self.executions) and elapsed > 0:
            remaining = (len(self.executions) - finished) * elapsed / finished
        elif finished == len(self.executions):
            remaining = 0.0
        return Progress(
            total=len(self.executions),
            finished=finished,
            states={k: v for k, v in self.states.items() if v},
            kinds={k: v for k, v in self.kinds.items() if v},
            outcomes=dict(self.results),
            calls=self.calls,
            throttles=self.throttles,
            errors=self.errors,
            elapsed=elapsed,
            remaining=remaining,
        )

    def __repr__(self) -> str:
        return f"<Batch {len(self.outcomes)}/{len(self.executions)} finished>"


class Poller:
    """A long-lived poller shared by many waits: clients, budgets and scheduling.

    ::

        async with Poller(session=aioboto3.Session(), region_name="eu-west-1") as poller:
            result = await poller.wait_all(executions, timeout=1800)

    Executions bound to a client are polled through it; unbound ones
    (``execution("iot-job-execution", ...)``) through a client the poller
    opens from *session*, with one botocore attempt per call (see
    ``POLL_RETRY_CONFIG``: a poll is already a retry).
    """

    def __init__(
        self,
        *,
        session: Any = None,
        region_name: str | None = None,
        backoff: Backoff | None = None,
        timeout: float | timedelta | None = DEFAULT_TIMEOUT,
        not_found_grace: float | timedelta = DEFAULT_NOT_FOUND_GRACE,
        concurrency: int = 10,
        batch: bool = True,
        sweep_interval: float | timedelta = 8.0,
        batch_min: int = 20,
        straggler_limit: int = 5,
        call_timeout: float | timedelta = DEFAULT_CALL_TIMEOUT,
        budgets: BudgetRegistry | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        logger: Any = None,
        log_responses: bool = False,
        log_sensitive: bool = False,
        keep_responses: bool = False,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
        self.session = session
        self.region_name = region_name
        self.settings = settings_from(timeout, backoff, not_found_grace)
        self.settings.keep_responses = keep_responses
        self.concurrency = concurrency
        self.batch = batch
        self.sweep_interval = to_seconds(sweep_interval, name="sweep_interval", allow_zero=False)
        for name, value in (("batch_min", batch_min), ("straggler_limit", straggler_limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        self.batch_min = max(batch_min, straggler_limit + 1)
        self.straggler_limit = straggler_limit
        self._groups: dict[tuple[int, str, Any], Group] = {}
        self._forming: dict[tuple[int, str, Any], list[Tracker]] = {}
        self.budgets = budgets if budgets is not None else default_budgets()
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.clock = self._clock
        self.rng = rng if rng is not None else random.Random()
        self.events = Events(logger, responses=log_responses, sensitive=log_sensitive)
        self.call_timeout = to_seconds(call_timeout, name="call_timeout", allow_zero=False)
        self._logger = logger
        self._seq = itertools.count()
        self._lanes: dict[tuple[int, str], _Lane] = {}
        self._limiters: dict[int, anyio.Semaphore] = {}
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._task_group: TaskGroup | None = None
        self._stack: AsyncExitStack | None = None
        self._batches: set[Batch] = set()
        self._deadlines: list[tuple[float, int, Tracker]] = []
        self._watchdog_scope: anyio.CancelScope | None = None
        self._watchdog_until = math.inf
        self.calls = 0
        self.throttles = 0

    async def __aenter__(self) -> Poller:
        if self._task_group is not None:
            raise RuntimeError("this Poller is already running")
        self.clock = bound_clock(self._clock)
        self._stack = AsyncExitStack()
        await self._stack.__aenter__()
        self._task_group = await self._stack.enter_async_context(anyio.create_task_group())
        self._task_group.start_soon(self._watchdog)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task_group is not None
        assert self._stack is not None
        for batch in list(self._batches):
            batch.abandon("the poller was closed")
        self._task_group.cancel_scope.cancel()
        stack, self._stack, self._task_group = self._stack, None, None
        self._lanes.clear()
        self._limiters.clear()
        self._clients.clear()
        await stack.__aexit__(*exc_info)  # type: ignore[arg-type]

    # --- submitting ----------------------------------------------------------------------

    async def submit(
        self,
        executions: Iterable[Execution],
        *,
        timeout: float | timedelta | _Inherit | None = _FROM_POLLER,
        backoff: Backoff | None = None,
        not_found_grace: float | timedelta | None = None,
        fail_fast: FailFast | None = None,
        on_transition: Callable[[Execution, Transition], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        immediate: bool = False,
        keep_responses: bool | None = None,
    ) -> Batch:
        """Start waiting on *executions*; returns the batch at once.

        Executions given more than once are waited on once and listed in
        ``batch.duplicates``. First polls are spread over the first backoff
        interval (no thundering herd) unless *immediate*.
        """
        if self._task_group is None:
            raise RuntimeError("use the Poller as `async with Poller(...) as poller:`")
        settings = self._settings(timeout, backoff, not_found_grace, keep_responses)
        unique: dict[Execution, None] = {}
        duplicates: list[Execution] = []
        for item in executions:
            if not isinstance(item, Execution):
                raise InvalidExecution(f"expected an Execution, got {item!r}")
            if item in unique:
                duplicates.append(item)
            else:
                unique[item] = None
        batch = Batch(
            self,
            list(unique),
            duplicates,
            fail_fast=fail_fast,
            on_transition=on_transition,
            on_outcome=on_outcome,
        )
        if not unique:
            return batch
        lanes = [await self._lane_for(e) for e in batch.executions]
        self._batches.add(batch)
        now = self.clock.now()
        low: float = settings.backoff.min_delay  # type: ignore[assignment]
        for execution, lane in zip(batch.executions, lanes, strict=True):
            tracker = Tracker(execution, settings, now)
            tracker.owner = batch
            batch.trackers[execution] = tracker
            if settings.timeout is not None:
                heapq.heappush(self._deadlines, (tracker.deadline, next(self._seq), tracker))
            spread = (
                0.0 if immediate else self.rng.random() * min(low, len(unique) / lane.budget.rate)
            )
            lane.push(tracker, now + spread)
            spec = execution.machine.batch
            if self.batch and spec is not None and spec.parent_from is None:
                self._join_group(lane, tracker, execution.params[spec.parent])
        if (
            settings.timeout is not None
            and self._watchdog_scope is not None
            and self._deadlines[0][0] < self._watchdog_until
        ):
            self._watchdog_scope.cancel()
        return batch

    async def wait(
        self,
        execution: Execution,
        *,
        timeout: float | timedelta | _Inherit | None = _FROM_POLLER,
        backoff: Backoff | None = None,
        not_found_grace: float | timedelta | None = None,
    ) -> Outcome:
        """Wait on one execution through this poller (its first poll is immediate)."""
        batch = await self.submit(
            [execution],
            timeout=timeout,
            backoff=backoff,
            not_found_grace=not_found_grace,
            immediate=True,
            keep_responses=True,
        )
        try:
            await batch.done.wait()
        except BaseException:
            batch.abandon("the wait was cancelled")
            self._batches.discard(batch)
            raise
        self._batches.discard(batch)
        return batch.outcomes[execution]

    async def wait_all(self, executions: Iterable[Execution], **kwargs: Any) -> BatchResult:
        """Wait on every execution; see :meth:`submit` for the options."""
        batch = await self.submit(executions, **kwargs)
        try:
            return await batch.wait()
        except BaseException:
            batch.abandon("the wait was cancelled")
            raise
        finally:
            self._batches.discard(batch)

    async def as_completed(
        self, executions: Iterable[Execution], **kwargs: Any
    ) -> AsyncIterator[Outcome]:
        """Yield each outcome as its execution ends; see :meth:`submit` for the options."""
        batch = await self.submit(executions, **kwargs)
        try:
            async for outcome in batch:
                yield outcome
        finally:
            if not batch.done.is_set():
                batch.abandon("the consumer stopped iterating")
            self._batches.discard(batch)

    def _settings(
        self,
        timeout: float | timedelta | _Inherit | None,
        backoff: Backoff | None,
        not_found_grace: float | timedelta | None,
        keep_responses: bool | None = None,
    ) -> WaitSettings:
        base = self.settings
        return WaitSettings(
            backoff=backoff if backoff is not None else base.backoff,
            timeout=base.timeout
            if isinstance(timeout, _Inherit)
            else (None if timeout is None else to_seconds(timeout, name="timeout")),
            not_found_grace=base.not_found_grace
            if not_found_grace is None
            else to_seconds(not_found_grace, name="not_found_grace"),
            keep_responses=base.keep_responses if keep_responses is None else keep_responses,
        )

    async def _client_for(self, execution: Execution) -> Any:
        if execution.client is not None:
            return execution.client
        if self.session is None:
            raise InvalidExecution(
                f"{execution.describe()} is not bound to a client and the Poller has no session"
            )
        key = (execution.machine.service, self.region_name)
        client = self._clients.get(key)
        if client is None:
            assert self._stack is not None
            client = await self._stack.enter_async_context(
                open_client(self.session, execution.machine.service, self.region_name)
            )
            self._clients[key] = client
        return client

    async def _lane_for(self, execution: Execution) -> _Lane:
        client = await self._client_for(execution)
        machine = execution.machine
        key = (id(client), machine.operation)
        lane = self._lanes.get(key)
        if lane is None:
            limiter = self._limiters.get(id(client))
            if limiter is None:
                limiter = self._limiters[id(client)] = anyio.Semaphore(
                    self.concurrency, fast_acquire=True
                )
            budget = self.budgets.get(
                budget_key(client, machine.service, machine.operation), self.clock.now()
            )
            lane = self._lanes[key] = _Lane(
                self, client, machine.operation, machine.method, budget, limiter
            )
            assert self._task_group is not None
            self._task_group.start_soon(lane.work, self._task_group)
            self._task_group.start_soon(lane.expire_calls)
        return lane

    # --- batch observation ---------------------------------------------------------------

    def _join_group(self, lane: _Lane, tracker: Tracker, parent: Any) -> None:
        """Count the execution toward its parent's group; list the group once it is large."""
        machine = tracker.execution.machine
        key = (id(lane.client), machine.name, parent)
        group = self._groups.get(key)
        if group is not None:
            group.add(tracker)
            return
        forming = self._forming.setdefault(key, [])
        forming.append(tracker)
        if len(forming) < self.batch_min:
            return
        del self._forming[key]
        group = self._groups[key] = Group(self, lane, machine, parent)
        for member in forming:
            if member.outcome is None:
                group.add(member)
        assert self._task_group is not None
        self._task_group.start_soon(group.run)

    def _observed(self, tracker: Tracker, state: str | None, item: Any, now: float) -> None:
        """Apply a state seen (or inferred) by a sweep."""
        batch: Batch = tracker.owner
        before, before_kind = tracker.state, tracker.kind
        changes = len(tracker.history)
        outcome = tracker.on_summary(state, item, now, self.events)
        if len(tracker.history) != changes:
            batch._transition(tracker, before, before_kind.value if before_kind else None)
        if outcome is not None:
            self._finish(tracker, outcome)

    def _count_call(self, group: Group, *, throttled: bool, failed: bool) -> None:
        """Count a sweep's call toward the poller and the batches it serves."""
        self.calls += 1
        self.throttles += throttled
        for batch in {tracker.owner for tracker in group.members.values()}:
            batch.calls += 1
            batch.throttles += throttled
            batch.errors += failed and not throttled

    # --- polling -------------------------------------------------------------------------

    async def _poll(self, lane: _Lane, tracker: Tracker) -> None:
        batch: Batch = tracker.owner
        clock = self.clock
        events = self.events
        error: Exception | None = None
        response = None
        task = asyncio.current_task()
        inflight = lane.inflight
        inflight[task] = clock.now()
        try:
            response = await lane.call(tracker.execution.call_params())
        except asyncio.CancelledError:
            # The lane's call watchdog cancels calls that outlive call_timeout;
            # any other cancellation (the caller's) goes on up.
            if task not in lane.expired or (task is not None and task.uncancel()):
                raise
            error = TimeoutError(f"no answer within {self.call_timeout:g}s")
        except Exception as exc:  # noqa: BLE001 - classified below; nothing is lost
            error = exc
        finally:
            del inflight[task]
            lane.expired.discard(task)
        if tracker.outcome is not None:
            return  # finished meanwhile (deadline watchdog, fail-fast, cancelled wait)
        now = clock.now()
        self.calls += 1
        batch.calls += 1
        before, before_kind = tracker.state, tracker.kind
        changes = len(tracker.history)
        if error is None:
            assert response is not None
            lane.budget.on_success(now)
            outcome = tracker.on_response(response, now, events)
        else:
            failure = classify(error, tracker.execution.machine)
            if failure is None:
                outcome = tracker.on_exception(error, now, events)
            elif failure.kind is FailureKind.THROTTLED:
                lane.budget.on_throttle(now)
                self.throttles += 1
                batch.throttles += 1
                if tracker.timed_out(now):
                    self._finish(tracker, tracker.time_out(now, events))
                else:
                    # Throttling costs the execution nothing but time: straight back in line.
                    lane.push(tracker, now)
                return
            else:
                if failure.kind is FailureKind.TRANSIENT:
                    batch.errors += 1
                outcome = tracker.on_failure(failure, now, events, error)
                if failure.about_caller:
                    # Credentials or permissions: every call of this lane would fail
                    # the same way, so end them all now instead of one call each.
                    self._fail_lane(lane, failure, error, now)
        if len(tracker.history) != changes:
            batch._transition(tracker, before, before_kind.value if before_kind else None)
        if outcome is None and tracker.timed_out(now):
            outcome = tracker.time_out(now, events)
        if outcome is not None:
            self._finish(tracker, outcome)
            return
        spec = tracker.execution.machine.batch
        if (
            self.batch
            and spec is not None
            and spec.parent_from is not None
            and error is None
            and changes == 0  # its first sighting, whatever failed before it
            and tracker.history
        ):
            parent = spec.parent_from.search(response)
            if parent is not None:
                self._join_group(lane, tracker, parent)
        if not tracker.listed:
            lane.push(tracker, tracker.next_due(now, self.rng))

    def _fail_lane(
        self, lane: _Lane, failure: Any, error: BaseException | None, now: float
    ) -> None:
        reason = failure.reason
        for _, _, other in lane.heap:
            if other.outcome is None and not other.listed:
                self._finish(
                    other,
                    other.finish(OutcomeKind.ERROR, now, self.events, reason=reason, error=error),
                )
        lane.heap.clear()

    def _finish(self, tracker: Tracker, outcome: Outcome) -> None:
        batch: Batch = tracker.owner
        batch._finished(tracker, outcome)

    async def _watchdog(self) -> None:
        """Time out waits whose deadline passed while they queued behind the budget."""
        deadlines = self._deadlines
        while True:
            while deadlines and deadlines[0][2].outcome is not None:
                heapq.heappop(deadlines)
            until = deadlines[0][0] + _DEADLINE_GRACE if deadlines else math.inf
            now = self.clock.now()
            if until > now:
                self._watchdog_until = until
                with anyio.CancelScope() as scope:
                    self._watchdog_scope = scope
                    await self.clock.sleep_until(until)
                self._watchdog_scope = None
                self._watchdog_until = math.inf
                continue
            tracker = heapq.heappop(deadlines)[2]
            if tracker.outcome is None:
                self._finish(tracker, tracker.time_out(now, self.events))


async def wait_all(
    executions: Iterable[Execution],
    *,
    timeout: float | timedelta | None = DEFAULT_TIMEOUT,
    fail_fast: FailFast | None = None,
    raise_on_failure: bool = False,
    on_transition: Callable[[Execution, Transition], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    **poller_options: Any,
) -> BatchResult:
    """Wait on many executions with a poller of their own; returns every outcome.

    *timeout* is the whole batch's deadline; the other keyword arguments are
    the :class:`Poller`'s. With ``raise_on_failure=True`` the first failed
    outcome (in input order) is raised after all have ended.
    """
    async with Poller(timeout=timeout, **poller_options) as poller:
        result = await poller.wait_all(
            executions, fail_fast=fail_fast, on_transition=on_transition, on_outcome=on_outcome
        )
    if raise_on_failure:
        for outcome in result.outcomes:
            error = error_for(outcome)
            if error is not None:
                raise error
    return result


def wait_all_sync(executions: Iterable[Execution], **kwargs: Any) -> BatchResult:
    """The blocking form of :func:`wait_all`, for scripts."""
    import asyncio
    from functools import partial

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(partial(wait_all, executions, **kwargs))
    raise RuntimeError("wait_all_sync() cannot run inside an event loop; use `await wait_all()`")
