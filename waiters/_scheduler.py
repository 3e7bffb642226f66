"""The scheduler: which execution is polled next, by whom, and until when.

Executions are not tasks. A waiting execution is a :class:`~._tracker.Tracker`
in a :class:`Lane`'s heap, ordered by when it is next due. Per endpoint (a
client and an operation) a few workers take turns as leader: the leader
sleeps until the most overdue execution is due and the budget grants a slot,
pops it, hands leadership on, and makes the call. A waiting execution costs
a heap entry and a small object, not a sleeping task.

Two watchdogs keep every wait bounded: the lane's cancels calls that outlive
the call timeout (one timer per lane, not one per call), and
:class:`Deadlines` ends waits whose deadline passed, whether they queue
behind the budget, wait for a sweep, or are in the middle of a call.
"""

from __future__ import annotations

import heapq
import itertools
import math
import weakref
from collections.abc import Callable, Mapping
from typing import Protocol

import anyio
from anyio.abc import TaskGroup

from ._attempt import Answer, Endpoint
from ._budget import Slot
from ._clock import Clock
from ._execution import Execution
from ._tracker import Tracker

__all__ = ["Deadlines", "Lane"]

#: How late a busy lane may wake, so polls due close together share one wake-up
#: (a wake-up costs about as much as the call): this share of the execution's
#: delay, at most _TIMER_SLACK seconds. 2% of a delay of seconds is within the
#: margin a latency target leaves (see Poller._paced), and a fraction of the
#: backoff's own jitter.
_TIMER_SHARE = 0.02
_TIMER_SLACK = 0.05
#: From this many queued executions a lane is busy enough to group its wake-ups.
_GROUP_FROM = 64
#: Seconds with no execution late that end an episode of a missed latency target.
_EPISODE = 60.0
#: How late a final poll at the deadline may answer before the wait just times
#: out (never more than the call timeout).
_DEADLINE_GRACE = 1.0

_sequence = itertools.count()


class _Alarm:
    """A sleep until a time that another task can bring forward."""

    __slots__ = ("_clock", "_scope", "until")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scope: anyio.CancelScope | None = None
        self.until = math.inf

    async def sleep_until(self, when: float) -> None:
        self.until = when
        with anyio.CancelScope() as scope:
            self._scope = scope
            await self._clock.sleep_until(when)
        self._scope = None
        self.until = math.inf

    def wake_before(self, when: float) -> None:
        """Wake the sleeper if it sleeps past *when*."""
        if when < self.until and self._scope is not None:
            self._scope.cancel()


class _Worker:
    """One worker's call in flight: what the call watchdog needs to see."""

    __slots__ = ("scope", "started", "tracker")

    def __init__(self) -> None:
        self.scope: anyio.CancelScope | None = None
        #: When the call in flight started (None between calls).
        self.started: float | None = None
        #: The execution taken from the heap and not handled yet.
        self.tracker: Tracker | None = None


def _stale(entry: tuple[float, int, Tracker]) -> bool:
    tracker = entry[2]
    return tracker.outcome is not None or tracker.listed or entry[0] != tracker.due


class Lane:
    """The executions of one endpoint, and the workers that poll them.

    :param endpoint: the client, operation and budget every call goes through.
    :param clock: the poller's clock.
    :param concurrency: at most this many workers, so calls in flight, per lane.
    :param limiter: the calls in flight per client, shared with sweeps.
    :param answered: called with the executions a call answers (the one it was
        made for, and the waits sharing it: see ``Tracker.served_with``) and
        the answer, on the loop.
    :param latency: the detection latency target in seconds, if any.
    :param unmet: called with the lane and the gap (seconds since the
        execution's last answer) when an execution comes up later than
        *latency*, once per episode: the budget cannot keep up.
    """

    __slots__ = (
        "_alarm",
        "_answered",
        "_behind",
        "_flying",
        "_idle",
        "_leader",
        "_started",
        "_wake_watch",
        "_workers",
        "clock",
        "concurrency",
        "endpoint",
        "heap",
        "latency",
        "limiter",
        "unmet",
    )

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        clock: Clock,
        concurrency: int,
        limiter: anyio.Semaphore,
        answered: Callable[[Lane, list[Tracker], Answer], None],
        latency: float | None = None,
        unmet: Callable[[Lane, float], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.latency = latency
        self.unmet = unmet
        #: When an execution last came up later than the latency target.
        self._behind = -math.inf
        self.clock = clock
        self.concurrency = concurrency
        self.limiter = limiter
        self._answered = answered
        self._leader = anyio.Lock(fast_acquire=True)
        self._alarm = _Alarm(clock)
        #: Set when a call starts, while the call watchdog sleeps for good.
        self._wake_watch: anyio.Event | None = None
        #: Calls started so far, so the watchdog sees whether any did since it last looked.
        self._started = 0
        self.heap: list[tuple[float, int, Tracker]] = []
        self._workers: list[_Worker] = []
        self._idle = 0
        #: Shared executions with a call in flight: their other waits take its answer.
        self._flying: set[Execution] = set()

    def push(self, tracker: Tracker, due: float) -> None:
        """Schedule *tracker*'s next call at *due*."""
        # An entry is live only while it matches tracker.due, so re-pushing
        # (after a sweep hands an execution back) never polls it twice.
        tracker.due = due
        heapq.heappush(self.heap, (due, next(_sequence), tracker))
        self._alarm.wake_before(due)

    def waiting(self) -> list[Tracker]:
        """The executions queued here (not finished, not listed), emptying the heap."""
        live = [t for _, _, t in self.heap if t.outcome is None and not t.listed]
        self.heap.clear()
        return live

    async def run(self, task_group: TaskGroup) -> None:
        """Start the first worker and the call watchdog; more workers start as needed."""
        task_group.start_soon(self._expire_calls)
        await self._work(self._hire(), task_group)

    async def _next(self) -> tuple[Tracker, Slot]:
        heap = self.heap
        clock = self.clock
        while True:
            while heap and _stale(heap[0]):
                heapq.heappop(heap)
            if not heap:
                await self._alarm.sleep_until(math.inf)
                continue
            due = heap[0][0]
            # Never early: a poll before its due time would break the backoff's
            # minimum delay, and the last poll belongs exactly at the deadline. A
            # busy lane wakes a little late instead, to serve what came due meanwhile
            # in one turn of the loop rather than one turn each.
            if due > clock.now():
                late = 0.0
                if len(heap) >= _GROUP_FROM:
                    late = (due - heap[0][2].polled) * _TIMER_SHARE
                    if late > _TIMER_SLACK:
                        late = _TIMER_SLACK
                    elif late < 0.0:
                        late = 0.0  # due before its last answer: never wake early
                await self._alarm.sleep_until(due + late)
                continue
            slot = await self.endpoint.slot()
            # The heap may have changed meanwhile; the slot goes to whoever is most overdue now.
            while heap and _stale(heap[0]):
                heapq.heappop(heap)
            if heap:
                tracker = heapq.heappop(heap)[2]
                if self.latency is not None:
                    self._check_latency(tracker)
                return tracker, slot
            slot.release()

    def _check_latency(self, tracker: Tracker) -> None:
        latency: float = self.latency  # type: ignore[assignment]  # see _next
        now = self.clock.now()
        gap = now - tracker.polled
        # Late past the target *and* late on its own schedule: the budget held it
        # back. (A schedule beyond the target, a hint or a not-found grace, is not
        # the quota's doing.)
        if gap > latency and now - tracker.due > latency * 0.05:
            # Once per episode: one ends when a minute (or a whole target's time, if
            # longer) passed with no execution late, so a lane on the edge of its
            # quota says it once, not at every late poll.
            quiet = latency if latency > _EPISODE else _EPISODE
            if now - self._behind > quiet and self.unmet is not None:
                self.unmet(self, gap)
            self._behind = now

    def _hire(self) -> _Worker:
        # Counted when started, not when first run: every spawn before then sees it.
        worker = _Worker()
        self._workers.append(worker)
        return worker

    async def _work(self, worker: _Worker, task_group: TaskGroup) -> None:
        while True:
            with anyio.CancelScope() as scope:
                # One scope for many calls: the call watchdog cancels it when a
                # call outlives the call timeout (a scope per call costs more
                # CPU than the rest of a poll).
                worker.scope = scope
                await self._calls(worker, task_group)
            tracker, started = worker.tracker, worker.started
            worker.tracker = worker.started = None
            if tracker is not None:
                self._flying.discard(tracker.execution)
                served = tracker.served_with()
                if not served:
                    continue
                now = self.clock.now()
                if started is not None and now - started >= self.endpoint.call_timeout:
                    self._answered(self, served, self.endpoint.no_answer())
                else:
                    # Taken from the heap, but its call was not made or was cut
                    # short by a cancellation meant for an earlier one: due again now
                    # (with the waits that were counting on that call).
                    for waiting in served:
                        self.push(waiting, now)

    async def _calls(self, worker: _Worker, task_group: TaskGroup) -> None:
        leader = self._leader
        limiter = self.limiter
        endpoint = self.endpoint
        clock = self.clock
        answered = self._answered
        while True:
            self._idle += 1
            try:
                async with leader:
                    tracker, slot = await self._next()
            finally:
                self._idle -= 1
            shared = tracker.peers is not None and tracker.pinned is None
            if shared:
                if tracker.execution in self._flying:
                    slot.release()
                    continue  # a call for the same execution is under way: its answer serves this
                self._flying.add(tracker.execution)
            worker.tracker = tracker
            # Workers are added only while every one is busy calling, so a lane
            # of a few executions (or a quiet one) costs one task, not `concurrency`.
            if not self._idle and len(self._workers) < self.concurrency:
                task_group.start_soon(self._work, self._hire(), task_group)
            # In-flight calls are bounded per client (sweeps share the bound), so
            # the slot is taken for the call only, never while waiting to lead.
            params = tracker.execution.call_params()
            if tracker.pinned is not None:
                params.update(tracker.pinned)
            async with limiter:
                worker.started = clock.now()
                self._started += 1
                if self._wake_watch is not None:
                    # Only a watchdog asleep for good needs waking: one that will
                    # look again within a call timeout sees this call in time.
                    self._wake_watch.set()
                    self._wake_watch = None
                answer = await endpoint.call(params, limit=None, slot=slot)
                worker.started = None
            worker.tracker = None
            if shared:
                self._flying.discard(tracker.execution)
                served = tracker.served_with()
                if served:
                    answered(self, served, answer)
                # Not kept past this call as the other names are (the next one
                # rebinds those): it would hold these waits after they ended.
                del served
            elif tracker.outcome is None:
                answered(self, [tracker], answer)

    async def _expire_calls(self) -> None:
        # Wakes at most once per call timeout while calls are made, and sleeps for
        # good once a whole timeout passed without any (a call starting wakes it):
        # a lane whose executions queue for the budget, or wait out their
        # backoff, costs no wake-ups between its calls, however many lanes wait.
        timeout = self.endpoint.call_timeout
        clock = self.clock
        looked_at = -1
        while True:
            now = clock.now()
            oldest = math.inf
            for worker in self._workers:
                started, scope = worker.started, worker.scope
                if started is not None and scope is not None and not scope.cancel_called:
                    if started + timeout <= now:
                        scope.cancel()
                    elif started < oldest:
                        oldest = started
            started_since = self._started != looked_at
            looked_at = self._started
            if oldest != math.inf:
                await clock.sleep_until(oldest + timeout)
            elif started_since:
                # A call that starts before then is still in flight then if it hangs.
                await clock.sleep_until(now + timeout)
            else:
                wake = self._wake_watch = anyio.Event()
                await wake.wait()


class Watched(Protocol):
    """What :class:`Deadlines` watches: a batch, whose waits share one deadline."""

    @property
    def trackers(self) -> Mapping[Execution, Tracker]: ...


class Deadlines:
    """Ends waits whose deadline passed, wherever they are.

    One entry per batch, not per wait: the waits of a batch start together
    and share its timeout, so they share a deadline. The entry holds the
    batch weakly, so a batch its caller has let go of (every wait ended, the
    result taken) is freed then, with its waits and their answers, however
    far off its deadline; entries of freed batches are dropped as new ones
    come, so they never outnumber the live ones by much.

    :param clock: the poller's clock.
    :param grace: seconds after a deadline before the wait is ended, so a
        final poll made at the deadline can still answer.
    :param expired: called with each tracker whose deadline passed and that
        has no outcome yet.
    """

    __slots__ = ("_alarm", "_expired", "_grace", "_heap", "_kept", "clock")

    def __init__(
        self, *, clock: Clock, grace: float, expired: Callable[[Tracker, float], None]
    ) -> None:
        self.clock = clock
        self._grace = min(grace, _DEADLINE_GRACE)
        self._expired = expired
        self._heap: list[tuple[float, int, weakref.ref[Watched]]] = []
        #: Entries after the last time freed batches were dropped.
        self._kept = 0
        self._alarm = _Alarm(clock)

    def add(self, batch: Watched, deadline: float) -> None:
        """Watch *batch*, whose waits end at *deadline* (seconds on the clock) at the latest."""
        if deadline == math.inf:
            return
        heap = self._heap
        if len(heap) > 2 * self._kept + 1024:
            # Amortised: a thousand lone waits an hour leave no hour of dead entries.
            heap[:] = [entry for entry in heap if entry[2]() is not None]
            heapq.heapify(heap)
            self._kept = len(heap)
        when = deadline + self._grace
        heapq.heappush(heap, (when, next(_sequence), weakref.ref(batch)))
        self._alarm.wake_before(when)

    async def run(self) -> None:
        heap = self._heap
        clock = self.clock
        while True:
            while heap and heap[0][2]() is None:
                heapq.heappop(heap)
            until = heap[0][0] if heap else math.inf
            now = clock.now()
            if until > now:
                await self._alarm.sleep_until(until)
                continue
            batch = heapq.heappop(heap)[2]()
            if batch is None:
                continue
            for tracker in list(batch.trackers.values()):
                if tracker.outcome is None:
                    self._expired(tracker, now)
