"""A batch: executions handed to a poller together, and their outcomes as they arrive."""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping

import anyio

from ._attempt import CallStats
from ._checkpoint import (
    REASON_LIMIT,
    STATE_LIMIT,
    Checkpoint,
    SavedOutcome,
    SeenState,
    execution_key,
)
from ._clock import Clock
from ._ending import log_group_of
from ._errors import CallbackError
from ._events import Events
from ._execution import Execution
from ._machine import StateKind
from ._outcome import Outcome, OutcomeKind, Transition
from ._progress import BatchResult, FailFast, Progress
from ._tracker import Tracker, WaitSettings

__all__ = ["Batch"]

_UNSEEN = "unseen"


class Batch:
    """Executions handed to a poller together; outcomes arrive as they complete.

    Iterate it (``async for outcome in batch``) for outcomes as they arrive,
    ``await batch.wait()`` for all of them, ``batch.progress()`` for a
    snapshot, and ``batch.abandon(reason)`` to stop waiting.

    :meth:`Poller.submit` makes batches; the constructor is the engine's, and
    its arguments are the poller's compiled options and collaborators. A
    batch given no executions is done at once.

    :param executions: the distinct executions, in the order they were
        given; outcomes are reported in this order.
    :param duplicates: executions given more than once (each is waited on
        once), reported in ``BatchResult.duplicates``.
    :param settings: the compiled wait options (a ``WaitSettings``: backoff,
        timeout in seconds or ``None``, not-found grace in seconds, whether to
        keep every response) that every tracker of the batch reads.
    :param events: where the batch's trackers log (an ``Events``: the
        resolved structlog logger and which levels are on).
    :param rng: the ``random.Random`` the trackers' backoff jitter is drawn from.
    :param clock: the :class:`Clock` that stamps the start, the elapsed time
        and abandoned outcomes.
    :param fail_fast: the rule that stops the batch, or ``None`` for none.
    :param on_transition: called on the event loop with the execution and
        its :class:`Transition` at each observed state change, or ``None``.
    :param on_outcome: called on the event loop with each :class:`Outcome`
        as it arrives, or ``None``. A callback that raises does not stop the
        batch: the first error is logged (``waiters.callback_error``) and
        raised by :meth:`wait` as a :class:`~waiters.CallbackError`, whatever
        it raised (a ``BaseException`` too); other batches are not affected.
    :param record: the poller's own hook for each outcome (it lets go of the
        wait, and counts it for metrics), called before the callbacks;
        ``None`` (the default) for none.
    :param deadline_at: the batch's absolute deadline in epoch seconds, as
        :meth:`checkpoint` records it, or ``None`` for none (the default).
    :param closed: called with the batch once it is done (every execution
        has its outcome, or it was abandoned), so its poller lets go of it;
        ``None`` (the default) for none.
    """

    def __init__(
        self,
        executions: list[Execution],
        duplicates: list[Execution],
        *,
        settings: WaitSettings,
        events: Events,
        rng: random.Random,
        clock: Clock,
        fail_fast: FailFast | None,
        on_transition: Callable[[Execution, Transition], None] | None,
        on_outcome: Callable[[Outcome], None] | None,
        record: Callable[[Outcome], None] | None = None,
        deadline_at: float | None = None,
        closed: Callable[[Batch], None] | None = None,
    ) -> None:
        self.executions = executions
        self.deadline_at = deadline_at
        self.record = record
        self._closed = closed
        self.duplicates = duplicates
        self.settings = settings
        self.events = events
        self.rng = rng
        self.clock = clock
        self.fail_fast = fail_fast
        self.on_transition = on_transition
        self.on_outcome = on_outcome
        self.started = clock.now()
        #: The deadline of the waits last started, as (when they started, deadline):
        #: the next ones starting then take the same float (see Tracker).
        self._deadline: tuple[float, float] | None = None
        self.trackers: dict[Execution, Tracker] = {}
        self.outcomes: dict[Execution, Outcome] = {}
        self.states: dict[str, int] = {_UNSEEN: len(executions)}
        self.kinds: dict[StateKind | None, int] = {None: len(executions)}
        self.results: dict[OutcomeKind, int] = {}
        #: The calls made for this batch's executions (Describe, and sweeps serving it).
        self.stats = CallStats()
        self.failures = 0
        self.aborted = False
        self.done = anyio.Event()
        # Outcomes not yet taken by an iterator; a plain deque, so a batch nobody
        # iterates holds no stream open.
        self._ready: deque[Outcome] = deque()
        #: The first callback that raised, and what it raised.
        self._callback_error: tuple[str, BaseException] | None = None
        #: Set when an outcome arrives; made by an iterator waiting for one (most
        #: batches are never iterated, and an event costs a lookup of the library).
        self._arrived: anyio.Event | None = None
        #: Checkpoint records of the outcomes so far, and how many outcomes they cover:
        #: made as checkpoints are taken, each outcome once.
        self._saved: list[SavedOutcome] = []
        self._saved_upto = 0
        #: Each execution's position and checkpoint key (made by the first checkpoint).
        self._index: dict[Execution, int] | None = None
        self._keys: tuple[str, ...] | None = None
        if not executions:
            self._close()

    def track(self, execution: Execution, now: float, seen: SeenState | None = None) -> Tracker:
        """A tracker for *execution* that reports to this batch (called by the engine).

        :meth:`Poller.submit` calls it once per execution before scheduling
        the first poll; the tracker then calls :meth:`transitioned` and
        :meth:`finished` back.

        :param execution: one of this batch's :attr:`executions`.
        :param now: the time on the batch's clock (seconds) at which its wait
            starts: its deadline and its ``elapsed`` count from here.
        :param seen: what a checkpoint says was seen of it, or ``None``
            (default): the wait goes on from that state, which it does not
            report as a transition again.
        """
        shared = self._deadline
        deadline = shared[1] if shared is not None and shared[0] == now else None
        tracker = self.trackers[execution] = Tracker(execution, self, now, deadline)
        self._deadline = (now, tracker.deadline)
        if seen is not None:
            tracker.resume(seen.state, seen.attempt, seen.log_group)
            self.states[_UNSEEN] -= 1
            self.kinds[None] -= 1
            self.states[seen.state] = self.states.get(seen.state, 0) + 1
            self.kinds[tracker.kind] = self.kinds.get(tracker.kind, 0) + 1
        return tracker

    def restore(self, outcomes: Mapping[Execution, Outcome]) -> None:
        """Take outcomes a checkpoint holds (called by the engine, before any tracker).

        They count as this batch's (in :meth:`result`, :meth:`progress`, the
        fail-fast rule, :meth:`checkpoint`) but are not reported again: no
        iterator and no callback sees them.

        :param outcomes: each execution's restored :class:`Outcome` (no
            response, history or exception), by execution.
        """
        for execution, outcome in outcomes.items():
            self.outcomes[execution] = outcome
            self.states[_UNSEEN] -= 1
            self.kinds[None] -= 1
            self.results[outcome.kind] = self.results.get(outcome.kind, 0) + 1
            if self.fail_fast is not None:
                self.failures += self.fail_fast.counts(outcome)
        if len(self.outcomes) == len(self.executions):
            self._close()

    def judge(self) -> None:
        """Judge the fail-fast rule on the outcomes restored from a checkpoint (the engine's).

        Called once every execution left is tracked: the rule tripped before
        the checkpoint was taken abandons the rest, as it did then.
        """
        if (
            self.fail_fast is not None
            and self.outcomes
            and self.fail_fast.tripped(self.failures, len(self.outcomes), len(self.executions))
        ):
            self.abandon("fail-fast threshold reached")

    # --- what trackers report (the Watch protocol) -------------------------------------

    def transitioned(
        self, tracker: Tracker, before: str | None, before_kind: StateKind | None
    ) -> None:
        """Count a state change, and call ``on_transition`` (called by a tracker).

        Part of the ``Watch`` protocol: a tracker of this batch calls it each
        time it observes a new state, after recording the change in its own
        ``state``, ``kind`` and ``history``. The batch moves the execution
        from its old state and kind to its new ones in the counts that
        :meth:`progress` reports, then calls ``on_transition`` with the
        execution and the latest :class:`Transition`. A callback that raises
        is logged (``waiters.callback_error``) and kept for :meth:`wait`; the
        batch goes on.

        :param tracker: the tracker whose state changed.
        :param before: the state it left, or ``None`` if it had not been seen yet.
        :param before_kind: the :class:`StateKind` of *before*, or ``None``
            (unseen, or a state the definition does not know).
        """
        states, kinds = self.states, self.kinds
        states[before or _UNSEEN] -= 1
        kinds[before_kind] -= 1
        new_state = tracker.state or _UNSEEN
        new_kind = tracker.kind
        states[new_state] = states.get(new_state, 0) + 1
        kinds[new_kind] = kinds.get(new_kind, 0) + 1
        if self.on_transition is not None:
            try:
                self.on_transition(tracker.execution, tracker.history[-1])
            except BaseException as exc:  # noqa: BLE001 - see _callback_failed
                self._callback_failed("on_transition", exc)

    def finished(self, tracker: Tracker, outcome: Outcome) -> None:
        """Take one execution's outcome (called by a tracker, once per execution).

        Part of the ``Watch`` protocol: a tracker calls it when its wait ends;
        a second outcome for the same execution is ignored. The batch stores
        the outcome, counts it, calls *record* and then ``on_outcome`` (a
        callback that raises is logged and kept for :meth:`wait`), hands it
        to iterators, and judges the fail-fast rule, which may
        :meth:`abandon` the rest. The batch is done when every execution has
        an outcome.

        :param tracker: the tracker whose wait ended.
        :param outcome: how it ended.
        """
        execution = tracker.execution
        if execution in self.outcomes:
            return
        self.outcomes[execution] = outcome
        self.states[tracker.state or _UNSEEN] -= 1
        self.kinds[tracker.kind] -= 1
        self.results[outcome.kind] = self.results.get(outcome.kind, 0) + 1
        if self.record is not None:
            self.record(outcome)
        self._ready.append(outcome)
        if self._arrived is not None:
            self._arrived.set()
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome)
            except BaseException as exc:  # noqa: BLE001 - see _callback_failed
                self._callback_failed("on_outcome", exc)
        if self.fail_fast is not None:
            # Judged on every outcome: a success can bring the count to min_finished
            # with the failures already past the fraction.
            self.failures += self.fail_fast.counts(outcome)
            if not self.aborted and self.fail_fast.tripped(
                self.failures, len(self.outcomes), len(self.executions)
            ):
                self.abandon("fail-fast threshold reached")
                return
        if len(self.outcomes) == len(self.executions):
            self._close()

    def _callback_failed(self, name: str, exc: BaseException) -> None:
        # Whatever it raised (a BaseException too: a callback is plain code, so no
        # real cancellation can arrive inside it) stays with this batch. Let through,
        # it would end the poller's shared tasks: every other batch, and its callers.
        if self._callback_error is None:
            self._callback_error = (name, exc)
        self.events.log.error("waiters.callback_error", callback=name, error=repr(exc))

    # --- public surface ----------------------------------------------------------------

    def abandon(self, reason: str) -> None:
        """Stop waiting: every execution not finished yet gets an ``abandoned`` outcome.

        Nothing happens once the batch is done. The outcomes arrive through
        the usual path (iterators, ``on_outcome``), and the batch's result is
        marked ``aborted``.

        :param reason: why, as each abandoned outcome's ``reason`` (the poller
            says ``"the poller was closed"``, ``"the wait was cancelled"``,
            ``"fail-fast threshold reached"``).
        """
        if self.done.is_set():
            return
        self.aborted = True
        now = self.clock.now()
        for tracker in list(self.trackers.values()):
            if tracker.outcome is None:
                tracker.abandon(now, reason)
        self._close()

    def checkpoint(self) -> Checkpoint:
        """A :class:`~waiters.Checkpoint` of this batch now, to resume its wait elsewhere.

        Cheap enough to take every few seconds: each outcome is made into its
        compact record once, the first call makes each execution's key, and
        each call then walks the executions still waiting (their last state).
        Its size is bounded per execution (see :class:`~waiters.Checkpoint`):
        ``abandoned`` outcomes are left out, so a resumed wait waits on them again.
        """
        index, keys = self._index, self._keys
        if index is None or keys is None:
            index = self._index = {e: i for i, e in enumerate(self.executions)}
            keys = self._keys = tuple(execution_key(e) for e in self.executions)
        saved = self._saved
        for execution, outcome in itertools.islice(self.outcomes.items(), self._saved_upto, None):
            if outcome.kind is not OutcomeKind.ABANDONED:
                saved.append(_saved(index[execution], outcome))
        self._saved_upto = len(self.outcomes)
        seen = []
        for execution, tracker in self.trackers.items():
            if tracker.outcome is None and tracker.state is not None:
                ending = execution.machine.ending
                seen.append(
                    SeenState(
                        index=index[execution],
                        state=tracker.state[:STATE_LIMIT],
                        attempt=tracker.attempt,
                        log_group=(
                            (log_group_of(ending, tracker.response) or tracker.log_group)
                            if ending is not None
                            else None
                        ),
                    )
                )
        return Checkpoint(
            executions=keys, deadline=self.deadline_at, outcomes=tuple(saved), seen=tuple(seen)
        )

    def _close(self) -> None:
        if not self.done.is_set():
            self.done.set()
            if self._closed is not None:
                self._closed(self)
            if self._arrived is not None:
                self._arrived.set()

    def __aiter__(self) -> AsyncIterator[Outcome]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Outcome]:
        ready = self._ready
        while True:
            while ready:
                yield ready.popleft()
            if self.done.is_set():
                return
            arrived = self._arrived = anyio.Event()
            await arrived.wait()

    async def wait(self) -> BatchResult:
        """Wait for every outcome; returns them in the order the executions were given.

        :raises CallbackError: a callback raised; the batch went on regardless,
            and the error carries the whole result.
        """
        await self.done.wait()
        result = self.result()
        if self._callback_error is not None:
            name, exc = self._callback_error
            raise CallbackError(
                f"{name} raised {type(exc).__name__}: {exc}; every outcome is in .result",
                callback=name,
                result=result,
            ) from exc
        return result

    def result(self) -> BatchResult:
        """The outcomes so far, in input order (all of them once :attr:`done` is set)."""
        outcomes = tuple(self.outcomes[e] for e in self.executions if e in self.outcomes)
        return BatchResult(
            outcomes=outcomes,
            duplicates=tuple(self.duplicates),
            aborted=self.aborted,
            elapsed=self.clock.now() - self.started,
            counts=dict(self.results),
        )

    def progress(self) -> Progress:
        """A snapshot: counts per state and kind, calls, throttles, errors, an estimate."""
        now = self.clock.now()
        elapsed = now - self.started
        finished = len(self.outcomes)
        remaining: float | None = None
        if 0 < finished < len(self.executions) and elapsed > 0:
            remaining = (len(self.executions) - finished) * elapsed / finished
        elif finished == len(self.executions):
            remaining = 0.0
        stats = self.stats
        return Progress(
            total=len(self.executions),
            finished=finished,
            states={k: v for k, v in self.states.items() if v},
            kinds={k: v for k, v in self.kinds.items() if v},
            outcomes=dict(self.results),
            calls=stats.calls,
            throttles=stats.throttles,
            errors=stats.errors,
            elapsed=elapsed,
            remaining=remaining,
        )

    def __repr__(self) -> str:
        return f"<Batch {len(self.outcomes)}/{len(self.executions)} finished>"


def _saved(index: int, outcome: Outcome) -> SavedOutcome:
    reason = outcome.reason
    if reason is not None and len(reason) > REASON_LIMIT:
        reason = reason[: REASON_LIMIT - 1] + "…"
    state = outcome.state
    return SavedOutcome(
        index=index,
        kind=outcome.kind,
        state=state[:STATE_LIMIT] if state is not None else None,
        reason=reason,
        attempts=outcome.attempts,
        elapsed=outcome.elapsed,
    )
