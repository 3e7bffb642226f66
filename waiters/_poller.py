"""The poller: many executions, bounded concurrency, shared rate budgets, list sweeps.

A :class:`Poller` composes the engine's parts and owns their lifetime:
endpoints (every call goes through one), lanes (which execution is polled
next), the deadline watchdog, the list sweeps of batch observation, and the
batches that report outcomes. :func:`~waiters.wait_for` is one execution on the
poller its event loop shares among lone waits (see ``_lone``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ._accounts import IDENTITY_TIMEOUT, PENDING_ACCOUNT, Accounts
from ._attempt import Answer, CallStats, Endpoint
from ._backoff import MIN_DELAY, Backoff
from ._batch import Batch
from ._budget import BudgetConfig, BudgetRegistry, budget_key, default_budgets
from ._calls import Failure, FailureKind, check_endpoint_url, check_event_loop, open_client
from ._calls import client_config as client_config_for
from ._checkpoint import Checkpoint, SeenState, resume_plan
from ._clock import Clock, LoopClock, bound_clock
from ._ending import read_ending
from ._errors import (
    ExecutionNotFound,
    InvalidExecution,
    InvalidOption,
    ServiceError,
    WaiterError,
    WaitTimeout,
)
from ._events import Events
from ._eventspec import Event, payloads
from ._execution import Execution, validate_listing
from ._keywords import checked_keywords, suggestion
from ._machine import StateKind, StateMachine
from ._metrics import metrics_for
from ._options import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_NOT_FOUND_GRACE,
    DEFAULT_TIMEOUT,
    PollerOptions,
    WaitOptions,
    check_batch,
    check_bools,
    check_flags,
    check_poller,
)
from ._outcome import Outcome, OutcomeKind, Transition, error_for
from ._pace import Pace
from ._progress import BatchResult, FailFast
from ._registry import default_registry
from ._scheduler import Deadlines, Lane
from ._sqs import Listener, SqsEvents, Verdict
from ._sweep import Group, identity_of
from ._tracker import Tracker, WaitSettings, share

__all__ = ["FROM_POLLER", "FromPoller", "Poller", "in_event_loop", "wait_all", "wait_all_sync"]


class FromPoller:
    """An option left to the poller's own setting."""

    _instance: FromPoller | None = None

    def __new__(cls) -> FromPoller:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "FROM_POLLER"


#: The default of per-batch options: whatever the poller was configured with.
FROM_POLLER = FromPoller()

#: Retries of a listing that failed transiently (the deadline bounds them).
_LIST_RETRY = Backoff(min_delay=0.25, max_delay=5.0)
#: Distinct sets of per-wait options whose validated WaitOptions a poller keeps.
_WAIT_OPTIONS_CACHED = 64


def in_event_loop() -> bool:
    """Whether an asyncio or trio event loop runs in this thread."""
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
            return True
        except RuntimeError:
            pass
    return False


class Poller:
    """A long-lived poller shared by many waits: clients, budgets and scheduling.

    ::

        async with Poller(session=aioboto3.Session(), region_name="eu-west-1") as poller:
            result = await poller.wait_all(executions, timeout=1800)

    Executions bound to a client are polled through it; unbound ones
    (``execution("iot-job-execution", ...)``) through a client the poller
    opens from *session*, with one botocore attempt per call (see
    ``POLL_RETRY_CONFIG``: a poll is already a retry).

    :param session: a boto3 or aioboto3 session for unbound executions.
    :param region_name: the region of the clients opened from *session*.
    :param endpoint_url: the endpoint of the clients opened from *session*,
        such as a simulator's ``http://127.0.0.1:port`` (default: botocore's
        resolution, which honours ``AWS_ENDPOINT_URL``).
    :param client_config: a ``botocore.config.Config`` for the clients opened
        from *session*, merged over one attempt per call; its settings win.
    :param timeout: each batch's deadline in seconds or a timedelta, from
        when it is submitted; ``None`` for none (default one hour).
    :param backoff: delays between polls of one execution (default ``Backoff()``).
    :param not_found_grace: seconds (or a timedelta) an unknown execution may
        take to become visible (default 10 s).
    :param concurrency: calls in flight at once per client (default 10).
    :param batch: observe executions that share a parent through list calls
        (default ``True``).
    :param sweep_interval: seconds between list sweeps of one parent (default
        ``None``: 6 s, or chosen from *latency*; see :class:`PollerOptions`).
    :param latency: the detection latency needed, in seconds or a timedelta
        (default ``None``: none). Sweeps and Describe calls are paced to see
        each ending within it with the fewest calls, and
        ``waiters.latency_unmet`` is logged when the quota cannot; see
        :class:`PollerOptions`.
    :param batch_min: executions of one parent from which they are swept (default 20).
    :param straggler_limit: this few left in a sweep go back to Describe (default 5).
    :param call_timeout: seconds a call may go unanswered (default 30). A
        boto3 client's calls also give up at the socket after it, each in one
        attempt, so closing the poller leaves no call running for longer.
    :param follow_retries: a failure the parent retries (an IoT job's retry
        configuration) is followed to the next attempt (default ``True``;
        ``False`` stops at the first terminal state; see :class:`WaitOptions`).
    :param failure_reasons: describe each execution a sweep sees fail, for its
        reason (default ``False``: it ends from the list; see :class:`PollerOptions`).
    :param budgets: the rate budgets (default: the running event loop's).
    :param clock: the clock (default: the event loop's).
    :param rng: the source of jitter (default: a new ``random.Random()``).
    :param logger: a structlog logger (default ``structlog.get_logger("waiters")``).
    :param log_responses: add each response to ``waiters.poll`` (debug).
    :param log_sensitive: do not redact the fields a definition marks sensitive.
    :param keep_responses: keep every answer until the next (default ``False``;
        terminal outcomes carry their response regardless).
    :param clients: clients by botocore service name for calls that are not
        an execution's own, such as ``{"logs": logs_client}`` to read how a
        Transfer execution ended (default: opened from *session*, if any).
    :param meter_provider: the OpenTelemetry ``MeterProvider`` to record
        metrics with (default: the global one, a no-op until the application
        configures an SDK; nothing at all without ``waiters[metrics]``).
    :param wall_clock: a function returning the time in epoch seconds
        (default ``time.time``), read once on entry to map the poller's clock
        to epoch time: checkpoints' absolute deadlines and metrics' timestamps.
        Tests on a virtual clock give one that moves with it.
    :param events: an event source (:class:`SqsEvents`) through which the
        executions of types with an ``[events]`` section (IoT job and command
        executions) are heard as they change (default ``None``: polling
        alone). While it is heard, polling is the safety net: each waiting
        execution is still observed once every ``events.staleness`` seconds
        (a Describe, or a listing of its parent's running executions); when
        it fails or falls silent (``waiters.events_unhealthy``), polling
        returns to its normal cadence until it is heard again
        (``waiters.events_healthy``).
    :raises InvalidOption: an option of the wrong type or out of range,
        naming it and the value.
    """

    @checked_keywords()
    def __init__(
        self,
        *,
        session: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        client_config: Any = None,
        backoff: Backoff | None = None,
        timeout: float | timedelta | None = DEFAULT_TIMEOUT,
        not_found_grace: float | timedelta = DEFAULT_NOT_FOUND_GRACE,
        concurrency: int = 10,
        batch: bool = True,
        sweep_interval: float | timedelta | None = None,
        latency: float | timedelta | None = None,
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
        clients: Mapping[str, Any] | None = None,
        meter_provider: Any = None,
        follow_retries: bool = True,
        failure_reasons: bool = False,
        wall_clock: Callable[[], float] | None = None,
        events: SqsEvents | None = None,
    ) -> None:
        self._wait_options_cache: dict[tuple[Any, ...], WaitOptions] = {}
        #: The compiled settings of each options object in use (see _settings).
        self._settings_cache: dict[int, tuple[WaitOptions, WaitSettings]] = {}
        self.wait_options = WaitOptions(
            timeout=timeout,
            backoff=backoff if backoff is not None else Backoff(),
            not_found_grace=not_found_grace,
            keep_responses=keep_responses,
            follow_retries=follow_retries,
        )
        self.options = PollerOptions(
            concurrency=concurrency,
            call_timeout=call_timeout,
            batch=batch,
            sweep_interval=sweep_interval,
            latency=latency,
            batch_min=batch_min,
            straggler_limit=straggler_limit,
            failure_reasons=failure_reasons,
        )
        check_bools(
            log_responses=log_responses, log_sensitive=log_sensitive, keep_responses=keep_responses
        )
        check_poller(
            session=session,
            region_name=region_name,
            budgets=budgets,
            clock=clock,
            rng=rng,
            logger=logger,
            clients=clients,
            meter_provider=meter_provider,
        )
        self.session = session
        self.region_name = region_name
        self.endpoint_url = check_endpoint_url(endpoint_url)
        # Built now so a wrong type is reported by the constructor, not the first wait.
        self._client_config = client_config_for(
            client_config, endpoint_url=endpoint_url, call_timeout=self.options.call_limit
        )
        self._given_clients = dict(clients or {})
        self._budgets = budgets
        self._clock: Clock = clock if clock is not None else LoopClock()
        self.clock = self._clock
        #: The budgets' clock: the event loop's (bound on entry).
        self._pace: Clock = LoopClock()
        self.rng = rng if rng is not None else random.Random()
        self.events = Events(logger, responses=log_responses, sensitive=log_sensitive)
        self._metrics = metrics_for(meter_provider)
        if wall_clock is not None and not callable(wall_clock):
            raise InvalidOption(
                f"wall_clock must be a function returning epoch seconds, got {wall_clock!r}",
                option="wall_clock",
                value=wall_clock,
            )
        self._wall_clock = wall_clock if wall_clock is not None else time.time
        if events is not None and not isinstance(events, SqsEvents):
            raise InvalidOption(
                f"events must be an SqsEvents or None, got {events!r}",
                option="events",
                value=events,
            )
        if events is not None and events.client is None and session is None:
            raise InvalidOption(
                "events: SqsEvents(client=...) is needed when the Poller has no session "
                "to open an SQS client from",
                option="events",
                value=events,
            )
        if events is not None and events.visibility_seconds <= self.options.call_limit:
            # Entering a message may take a call (a parent's retries): it must stay
            # hidden from other consumers until then.
            raise InvalidOption(
                f"events: SqsEvents.visibility_timeout ({events.visibility_seconds} s) must be "
                f"longer than call_timeout ({self.options.call_limit:g} s)",
                option="events",
                value=events,
            )
        self._source = events
        #: The safety net while the source is heard (made on entry, on the loop).
        self._net: Pace | None = None
        #: The waits each event may be about, by (type, identity), with their lanes;
        #: finished ones are pruned as events come and as it grows.
        self._hearing: dict[tuple[str, tuple[Any, ...]], list[tuple[Tracker, Lane]]] = {}
        self._hearing_pruned_at = 0
        #: The types waited on that have events, with their identity parameter names.
        self._heard_types: dict[str, tuple[StateMachine, tuple[str, ...]]] = {}
        #: The running listener, if any (its figures are for tests and reports).
        self.listener: Listener | None = None
        self._listening = False
        self._wall_offset = 0.0
        #: Every call this poller made about executions (an event queue's calls
        #: are its listener's: ``listener.stats``).
        self.stats = CallStats()
        self._endpoints: dict[tuple[int, str], Endpoint] = {}
        self._lanes: dict[tuple[int, str], Lane] = {}
        self._limiters: dict[int, anyio.Semaphore] = {}
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._groups: dict[tuple[int, str, Any], Group] = {}
        #: Retries each parent allows (see _check_retries), and reads under way.
        self._allowances: dict[tuple[int, Any], Mapping[str, int]] = {}
        self._allowance_reads: dict[tuple[int, Any], anyio.Event] = {}
        self._forming: dict[tuple[int, str, Any], list[Tracker]] = {}
        self._batches: set[Batch] = set()
        #: The latest wait on each execution: a new wait on one still under way
        #: shares its calls (see Tracker.peers). Each leaves at its outcome.
        self._live: dict[Execution, Tracker] = {}
        self._deadlines: Deadlines | None = None
        self._task_group: TaskGroup | None = None
        self._stack: AsyncExitStack | None = None
        # Replaced on entry, once the budgets (which remember accounts) are bound.
        self._accounts = Accounts(self.events, {}, {})
        #: Clients whose account is being learned (by id).
        self._learning: set[int] = set()

    @property
    def budgets(self) -> BudgetRegistry:
        """The rate budgets this poller draws from."""
        if self._budgets is None:
            self._budgets = default_budgets()
        return self._budgets

    # --- lifetime ------------------------------------------------------------------------

    async def __aenter__(self) -> Poller:
        if self._task_group is not None:
            raise RuntimeError("this Poller is already running")
        self.clock = bound_clock(self._clock)
        # Budgets keep the loop's time, whatever this poller's clock: a budget shared
        # with waits on other clocks must read one time scale (see Endpoint).
        self._pace = bound_clock(LoopClock())
        self.budgets  # noqa: B018 - bind the default budgets to this event loop now
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            self._task_group = await stack.enter_async_context(anyio.create_task_group())
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._deadlines = Deadlines(
            clock=self.clock, grace=self.options.call_limit, expired=_expire
        )
        self._task_group.start_soon(self._deadlines.run)
        # Settings hold this run's safety net, if any: none of a run before.
        self._settings_cache.clear()
        if self._source is not None:
            # The queue is read from the first wait on a type with events on: what it
            # says before (while an --all-of lists its parent, say) waits for it there.
            self._net = Pace(self._source.staleness_seconds)
            self._listening = False
        self._accounts = Accounts(
            self.events,
            self.budgets.known_accounts,
            self.budgets.account_lookups,
            # The identity call is a call too: its thread must not outlive the others'.
            timeout=min(IDENTITY_TIMEOUT, self.options.call_limit),
        )
        self._learning = set()
        if self._metrics is not None:
            self._metrics.watch(self.budgets)
        # Wall time as this poller's clock sees it: service timestamps are
        # compared with it, so a virtual clock's hours give true latencies.
        self._wall_offset = self._wall_clock() - self.clock.now()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task_group is None or self._stack is None:
            # Closed already (by another task, or twice): nothing is left to close.
            return
        for batch in list(self._batches):
            batch.abandon("the poller was closed")
        self._task_group.cancel_scope.cancel()
        stack, self._stack, self._task_group = self._stack, None, None
        for endpoint in self._endpoints.values():
            endpoint.close()
        self._endpoints.clear()
        self._lanes.clear()
        self._limiters.clear()
        self._clients.clear()
        self._groups.clear()
        self._forming.clear()
        self._live.clear()
        self._hearing.clear()
        self._heard_types.clear()
        self._deadlines = None
        try:
            await stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The task group wraps what the body raised; users catch WaiterError
            # and its kin, never groups.
            if exc is not None and _only(group, exc):
                raise exc.with_traceback(tb) from exc.__cause__
            errors = _errors_in(group)
            if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
                raise exc.with_traceback(tb) from exc.__cause__
            if len(errors) == 1:
                # The poller's own tasks guard themselves (see _guarded); should one
                # fail regardless, its error comes out alone, as the body's would.
                raise errors[0] from errors[0].__cause__
            raise

    def _running(self) -> TaskGroup:
        if self._task_group is None:
            raise RuntimeError("use the Poller as `async with Poller(...) as poller:`")
        return self._task_group

    # --- submitting ----------------------------------------------------------------------

    @checked_keywords()
    async def submit(
        self,
        executions: Iterable[Execution],
        *,
        timeout: float | timedelta | FromPoller | None = FROM_POLLER,
        backoff: Backoff | None = None,
        not_found_grace: float | timedelta | None = None,
        fail_fast: FailFast | None = None,
        on_transition: Callable[[Execution, Transition], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        immediate: bool = False,
        keep_responses: bool | None = None,
        follow_retries: bool | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> Batch:
        """Start waiting on *executions*; returns the :class:`Batch` at once.

        :param executions: the executions (an iterable of :class:`Execution`).
        :param timeout: this batch's deadline in seconds or a timedelta from
            now, ``None`` for none (default: the poller's).
        :param backoff: delays between polls (default: the poller's).
        :param not_found_grace: seconds or a timedelta (default: the poller's).
        :param fail_fast: stop the batch when failures reach a threshold.
        :param on_transition: called with each observed state change.
        :param on_outcome: called with each outcome as it arrives. A callback
            that raises (anything, ``BaseException`` included) does not stop
            the batch: the first error is logged (``waiters.callback_error``)
            and raised by ``batch.wait()`` as a :class:`~waiters.CallbackError`
            carrying every outcome. Other batches are not affected.
        :param immediate: poll every execution at once; by default first polls
            are spread over the first backoff interval (no thundering herd).
        :param keep_responses: keep every answer (default: the poller's).
        :param follow_retries: follow a failure the parent retries to the next
            attempt (default: the poller's; see :class:`WaitOptions`).
        :param checkpoint: resume the wait a :class:`~waiters.Checkpoint`
            (``batch.checkpoint()`` of a batch of these same executions, in
            this process or another) describes, or ``None`` (default). Its
            outcomes are the batch's from the start, and are not reported
            again (no iterator or ``on_outcome`` sees them); executions it
            saw go on from their last state, so one the service no longer
            knows ended (never ``not_found``); its absolute deadline is the
            batch's (one already past times the rest out at once).
        :raises InvalidExecution: an item is not an :class:`Execution`, or is
            unbound and the poller has no session.
        :raises InvalidOption: *executions* is not an iterable, an option of
            the wrong type or out of range, *fail_fast* is not a
            :class:`FailFast`, or a callback is not a plain callable; a
            *checkpoint* that is not a :class:`~waiters.Checkpoint`, is of
            another batch, or is given with *timeout* (it holds the
            deadline); naming it.
        :raises RuntimeError: the poller is not running, or was closed (by
            another task) before the batch was under way; nothing of it is
            left running.

        Executions given more than once are waited on once and listed in
        ``batch.duplicates``.
        """
        task_group = self._running()
        # Deadlines run from here, however long opening clients and learning
        # their accounts takes below.
        submitted = self.clock.now()
        check_bools(immediate=immediate)
        check_flags(keep_responses=keep_responses)
        if checkpoint is not None:
            if not isinstance(checkpoint, Checkpoint):
                raise InvalidOption(
                    f"checkpoint must be a Checkpoint or None, got {checkpoint!r}",
                    option="checkpoint",
                    value=checkpoint,
                )
            if not isinstance(timeout, FromPoller):
                raise InvalidOption(
                    f"timeout and checkpoint: give one, not both (the checkpoint holds the "
                    f"deadline, {checkpoint.deadline!r}; got timeout={timeout!r})",
                    option="timeout",
                    value=timeout,
                )
            # What is left of the checkpoint's deadline, from the moment the deadlines
            # of this batch start (submitted); one already past leaves nothing.
            timeout = (
                None
                if checkpoint.deadline is None
                else max(0.0, checkpoint.deadline - (submitted + self._wall_offset))
            )
        options = self._wait_options(
            timeout, backoff, not_found_grace, keep_responses, follow_retries
        )
        check_batch(
            executions, fail_fast=fail_fast, on_transition=on_transition, on_outcome=on_outcome
        )
        unique: dict[Execution, None] = {}
        duplicates: list[Execution] = []
        for item in executions:
            if not isinstance(item, Execution):
                raise InvalidExecution(f"expected an Execution, got {item!r}")
            if item in unique:
                duplicates.append(item)
            else:
                unique[item] = None
        if fail_fast is not None and fail_fast.states is not None:
            _check_fail_fast_states(fail_fast.states, unique)
        restored: Mapping[Execution, Outcome] = {}
        seen: Mapping[Execution, SeenState] = {}
        if checkpoint is not None:
            restored, seen = resume_plan(checkpoint, list(unique))
        waiting = [e for e in unique if e not in restored]
        lanes = [await self._lane_for(e) for e in waiting]
        return self._start(
            task_group,
            submitted,
            options,
            list(unique),
            duplicates,
            waiting,
            lanes,
            fail_fast=fail_fast,
            on_transition=on_transition,
            on_outcome=on_outcome,
            immediate=immediate,
            restored=restored,
            seen=seen,
        )

    def _start(
        self,
        task_group: TaskGroup,
        submitted: float,
        options: WaitOptions,
        executions: list[Execution],
        duplicates: list[Execution],
        waiting: list[Execution],
        lanes: list[Lane],
        *,
        fail_fast: FailFast | None = None,
        on_transition: Callable[[Execution, Transition], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        immediate: bool = False,
        restored: Mapping[Execution, Outcome] | None = None,
        seen: Mapping[Execution, SeenState] | None = None,
    ) -> Batch:
        """Make the batch of *executions* (checked), and schedule the *waiting* ones' polls."""
        settings = self._settings(options)
        batch = Batch(
            executions,
            duplicates,
            settings=settings,
            events=self.events,
            rng=self.rng,
            clock=self.clock,
            fail_fast=fail_fast,
            on_transition=on_transition,
            on_outcome=on_outcome,
            record=self._record_outcome,
            # A batch submitted and waited on with batch.wait() is done without the
            # poller's own wait paths seeing it: it lets go of the batch here.
            closed=self._batches.discard,
            deadline_at=(
                submitted + options.deadline_in + self._wall_offset
                if options.deadline_in is not None
                else None
            ),
        )
        if restored:
            batch.restore(restored)
        if not waiting:
            return batch
        deadlines = self._deadlines
        if deadlines is None or self._task_group is not task_group:
            # Closed while its clients were opened (by another task).
            raise RuntimeError("the Poller was closed while the batch was submitted")
        self._batches.add(batch)
        now = self.clock.now()
        low = settings.min_delay
        observe = self.options.batch
        count = len(executions)
        for execution, lane in zip(waiting, lanes, strict=True):
            tracker = batch.track(execution, submitted, seen.get(execution) if seen else None)
            self._share(tracker)
            if self._net is not None and execution.machine.events is not None:
                self._hear_of(tracker, lane)
            rate = lane.endpoint.budget.rate
            spread = 0.0 if immediate else self.rng.random() * min(low, count / rate)
            lane.push(tracker, now + spread)
            spec = execution.machine.batch
            if observe and spec is not None and spec.parent_from is None:
                self._join_group(lane, tracker, execution.params[spec.parent], task_group)
        # The waits of a batch start together, with one timeout: one deadline.
        deadlines.add(batch, batch.trackers[waiting[0]].deadline)
        if self._heard_types and not self._listening and self._source is not None:
            self._listening = True
            task_group.start_soon(self._listen, self._source)
        if restored:
            batch.judge()
        return batch

    @checked_keywords()
    async def wait(
        self,
        execution: Execution,
        *,
        timeout: float | timedelta | FromPoller | None = FROM_POLLER,
        backoff: Backoff | None = None,
        not_found_grace: float | timedelta | None = None,
        follow_retries: bool | None = None,
    ) -> Outcome:
        """Wait on one execution through this poller (its first poll is immediate).

        Returns the :class:`Outcome` whatever it is: nothing is raised for a
        failed, timed-out or missing execution (:func:`wait_for` with
        ``poller=`` raises those). Every answer is kept, so any outcome
        carries the last response. If the caller is cancelled, the execution
        is abandoned and the cancellation goes on.

        :param execution: the :class:`Execution` to wait on; an unbound one is
            polled through a client opened from the poller's session.
        :param timeout: seconds or a timedelta from now until this wait's
            absolute deadline; ``None`` for none (default: the poller's).
        :param backoff: delays between polls (default: the poller's).
        :param not_found_grace: seconds or a timedelta during which "not
            found" means "not visible yet" (default: the poller's).
        :param follow_retries: follow a failure the parent retries to the next
            attempt (default: the poller's; see :class:`WaitOptions`).
        :raises InvalidExecution: *execution* is not an :class:`Execution`, or
            is unbound and the poller has no session.
        :raises InvalidOption: an option of the wrong type, or a negative,
            infinite or NaN duration, naming it.
        :raises RuntimeError: the poller is not running.
        """
        task_group = self._running()
        submitted = self.clock.now()
        if not isinstance(execution, Execution):
            raise InvalidExecution(f"expected an Execution, got {execution!r}")
        # One execution, given by the caller: what submit checks of a batch cannot
        # go wrong here, and a lone wait costs no more than its share of a batch.
        options = self._wait_options(timeout, backoff, not_found_grace, True, follow_retries)
        lane = await self._lane_for(execution)
        batch = self._start(
            task_group, submitted, options, [execution], [], [execution], [lane], immediate=True
        )
        try:
            await batch.done.wait()
        except BaseException:
            batch.abandon("the wait was cancelled")
            raise
        finally:
            self._batches.discard(batch)
        return batch.outcomes[execution]

    async def wait_all(self, executions: Iterable[Execution], **kwargs: Any) -> BatchResult:
        """Wait on every execution; returns every outcome, in input order.

        The same as ``await (await poller.submit(...)).wait()``; if the caller
        is cancelled, the executions not finished are abandoned and the
        cancellation goes on.

        :param executions: the executions (an iterable of :class:`Execution`).
        :param kwargs: the keyword options of :meth:`submit` (``timeout``,
            ``backoff``, ``not_found_grace``, ``fail_fast``,
            ``on_transition``, ``on_outcome``, ``immediate``, ``keep_responses``,
            ``checkpoint``).
        :raises CallbackError: a callback raised; the batch went on, and the
            error carries the whole result.
        :raises InvalidExecution: as :meth:`submit` raises it.
        :raises TypeError: an unknown option, naming it.
        :raises InvalidOption: an option of the wrong type or out of range, as
            :meth:`submit`.
        :raises RuntimeError: the poller is not running.
        """
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
        """Yield each outcome as its execution ends (an async iterator).

        ``async for outcome in poller.as_completed(executions, timeout=600):``.
        The executions are submitted when iteration starts, so errors of
        :meth:`submit` are raised by the first step. When the iterator is
        closed before the last outcome (``aclose()``, or its finalisation
        once the consumer has stopped), the executions not finished yet are
        abandoned. Callback errors are logged, not raised here (see
        :meth:`submit`).

        :param executions: the executions (an iterable of :class:`Execution`).
        :param kwargs: the keyword options of :meth:`submit` (``timeout``,
            ``backoff``, ``not_found_grace``, ``fail_fast``,
            ``on_transition``, ``on_outcome``, ``immediate``, ``keep_responses``).
        :raises InvalidExecution: as :meth:`submit` raises it.
        :raises TypeError: an unknown option, naming it.
        :raises InvalidOption: an option of the wrong type or out of range, as
            :meth:`submit`.
        :raises RuntimeError: the poller is not running.
        """
        batch = await self.submit(executions, **kwargs)
        try:
            async for outcome in batch:
                yield outcome
        finally:
            if not batch.done.is_set():
                batch.abandon("the consumer stopped iterating")
            self._batches.discard(batch)

    def _share(self, tracker: Tracker) -> None:
        """Let *tracker* share the calls of a wait on the same execution still under way."""
        live = self._live
        other = live.get(tracker.execution)
        if other is not None and other.outcome is None:
            share(tracker, other)
        # Until its outcome: then _record_outcome drops it, so a poller idle after a
        # batch of 100,000 holds none of their waits.
        live[tracker.execution] = tracker

    def _paced(self, backoff: Backoff) -> Backoff:
        """*backoff* with its delays capped at the latency target, if there is one:
        no execution is described further apart than an ending may go unseen."""
        latency = self.options.latency_target
        if latency is None:
            return backoff
        # A twentieth of the target for the call itself and the wait for its slot.
        cap = max(latency * 0.95, MIN_DELAY)
        low: float = backoff.min_delay  # type: ignore[assignment]  # normalised to seconds
        high: float = backoff.max_delay  # type: ignore[assignment]
        if high <= cap:
            return backoff
        # Delays between half the cap and the cap: the target holds, polls still
        # spread out, and none is spent far inside it (full jitter from a 1 s floor
        # made twice the calls the target needs).
        return Backoff(min_delay=min(max(low, cap / 2), cap), max_delay=cap)

    def _settings(self, options: WaitOptions) -> WaitSettings:
        """The compiled form of *options* the trackers read, made once per options object."""
        cached = self._settings_cache.get(id(options))
        if cached is not None and cached[0] is options:
            return cached[1]
        settings = WaitSettings(
            backoff=self._paced(options.backoff),
            timeout=options.deadline_in,
            not_found_grace=options.grace,
            keep_responses=options.keep_responses,
            follow_retries=options.follow_retries,
            pace=self._net,
        )
        if len(self._settings_cache) >= _WAIT_OPTIONS_CACHED:
            self._settings_cache.clear()
        self._settings_cache[id(options)] = (options, settings)
        return settings

    def _wait_options(
        self,
        timeout: float | timedelta | FromPoller | None,
        backoff: Backoff | None,
        not_found_grace: float | timedelta | None,
        keep_responses: bool | None,
        follow_retries: bool | None = None,
    ) -> WaitOptions:
        if (
            backoff is None
            and not_found_grace is None
            and keep_responses is None
            and follow_retries is None
            and isinstance(timeout, FromPoller)
        ):
            return self.wait_options
        # Every lone wait asks with the same few options: validated once each. The
        # types are in the key, or True would pass as an already checked 1.
        key = (
            type(timeout),
            timeout,
            backoff,
            type(not_found_grace),
            not_found_grace,
            type(keep_responses),
            keep_responses,
            type(follow_retries),
            follow_retries,
        )
        try:
            cached = self._wait_options_cache.get(key)
            hashable = True
        except TypeError:  # an unhashable value: validated below, which names it
            cached = None
            hashable = False
        if cached is not None:
            return cached
        changes: dict[str, Any] = {}
        if follow_retries is not None:
            changes["follow_retries"] = follow_retries
        if not isinstance(timeout, FromPoller):
            changes["timeout"] = timeout
        if backoff is not None:
            changes["backoff"] = backoff
        if not_found_grace is not None:
            changes["not_found_grace"] = not_found_grace
        if keep_responses is not None:
            changes["keep_responses"] = keep_responses
        cached = dataclasses.replace(self.wait_options, **changes)
        if hashable:
            if len(self._wait_options_cache) >= _WAIT_OPTIONS_CACHED:
                self._wait_options_cache.clear()
            self._wait_options_cache[key] = cached
        return cached

    # --- listing a parent -----------------------------------------------------------------

    async def list_executions(
        self,
        machine: str | StateMachine,
        parent: str,
        *,
        client: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | timedelta | FromPoller | None = FROM_POLLER,
    ) -> list[Execution]:
        """Every execution the type's list operation reports for *parent*, bound to its client.

        The calls go through the same budgets, call timeout and deadline as
        every poll; throttling and transient errors are retried until the
        deadline.

        :param machine: an execution type name (``"iot-job-execution"``) or a machine
            whose definition has a ``batch`` section (the list call).
        :param parent: the IoT job id, command id, Snow task id, SiteWise asset
            id or Transfer workflow id.
        :param client: the client to list with (default: one opened from the
            poller's session).
        :param params: parameter values every listed execution shares
            (``serverId`` for Transfer).
        :param timeout: seconds or a timedelta from now (default: the poller's).
        :raises InvalidExecution: the type has no list operation, *parent* or
            *params* do not fit the service model (checked before any call),
            or a listed execution's parameters are invalid.
        :raises ExecutionNotFound: the service does not know *parent*.
        :raises ServiceError: the service refused the call (credentials,
            permissions, a bad request) or could not be reached.
        :raises WaitTimeout: the deadline passed before the listing was complete.
        """
        self._running()
        if isinstance(machine, str):
            machine = default_registry().get(machine)
        spec = machine.batch
        if spec is None:
            raise InvalidExecution(f"{machine.name} has no list operation to enumerate a parent")
        validate_listing(machine, parent, params)
        if client is None:
            client = await self._client_for_service(machine.service)
        endpoint = self._endpoint(
            client, machine, spec.operation, spec.method, expects_members=False
        )
        limiter = self._limiter(client)
        options = self._wait_options(timeout, None, None, None)
        now = self.clock.now()
        deadline = now + options.deadline_in if options.deadline_in is not None else float("inf")
        request: dict[str, Any] = {
            spec.parent: parent,
            **spec.parent_params,
            spec.page_size_param: spec.page_size,
        }
        shared = dict(params or {})
        what = f"{machine.service} {spec.operation} of {parent}"
        found: list[Execution] = []
        tries = 0
        last: Failure | None = None
        unreachable_since: float | None = None
        names = [param.name for param in machine.identity]
        while True:
            answer = await endpoint.attempt(request, deadline=deadline, limiter=limiter)
            self.stats.record(answer)
            now = self.clock.now()
            response = answer.response
            if response is None:
                failure = answer.failure
                if failure is None:
                    raise ServiceError(
                        f"{what}: {type(answer.error).__name__}: {answer.error}",
                        reason=str(answer.error),
                    ) from answer.error
                if failure.code != "DeadlinePassed":
                    last = failure
                if now >= deadline:
                    why = f"; last: {last.reason}" if last is not None else ""
                    raise WaitTimeout(
                        f"{what}: not complete by the deadline{why}",
                        reason=last.reason if last is not None else failure.reason,
                        attempts=tries,
                    ) from answer.error
                if failure.kind is FailureKind.THROTTLED:
                    continue
                if failure.kind is FailureKind.TRANSIENT:
                    if failure.unreachable:
                        unreachable_since = unreachable_since if unreachable_since else now
                        if now - unreachable_since >= options.grace:
                            raise ServiceError(
                                f"{what}: cannot reach the endpoint: {failure.reason}",
                                reason=failure.reason,
                            ) from answer.error
                    tries += 1
                    pause = _LIST_RETRY.delay(tries, self.rng)
                    await self.clock.sleep_until(min(now + pause, deadline))
                    continue
                cls: type[WaiterError] = (
                    ExecutionNotFound if failure.kind is FailureKind.NOT_FOUND else ServiceError
                )
                raise cls(f"{what} failed: {failure.reason}", reason=failure.reason) from (
                    answer.error
                )
            tries = 0
            unreachable_since = None
            for item in spec.items.search(response) or ():
                ids = dict(zip(names, machine.summary_identity(item, parent), strict=True))
                found.append(Execution(machine, {**shared, **ids}, client))
            token = response.get(spec.token)
            if not token:
                return found
            request[spec.token] = token

    # --- clients, endpoints and lanes ----------------------------------------------------

    async def _client_for_service(self, service: str) -> Any:
        if self.session is None:
            raise InvalidExecution(
                f"no {service} client: pass client=, or give the Poller a session"
            )
        key = (service, self.region_name)
        client = self._clients.get(key)
        if client is None:
            stack = self._stack
            if stack is None:
                raise RuntimeError("the Poller was closed")
            check_event_loop(self.session)
            # Opened on a stack of its own: the poller may close meanwhile, and a
            # client pushed onto a stack already unwound would never be closed.
            opening = AsyncExitStack()
            client = await opening.enter_async_context(
                open_client(
                    self.session,
                    service,
                    self.region_name,
                    endpoint_url=self.endpoint_url,
                    config=self._client_config,
                )
            )
            if self._stack is not stack:
                with anyio.CancelScope(shield=True):
                    await opening.aclose()
                raise RuntimeError("the Poller was closed while a client was opened")
            await stack.enter_async_context(opening.pop_all())
            self._clients[key] = client
        return client

    async def _lane_for(self, execution: Execution) -> Lane:
        client = execution.client
        if client is None:
            if self.session is None:
                raise InvalidExecution(
                    f"{execution.describe()} is not bound to a client and the Poller has no session"
                )
            client = await self._client_for_service(execution.machine.service)
        machine = execution.machine
        key = (id(client), machine.operation)
        lane = self._lanes.get(key)
        if lane is None:
            check_event_loop(client)
            endpoint = self._endpoint(
                client,
                machine,
                machine.operation,
                machine.method,
                expects_members=machine.status is not None,
            )
            lane = self._lanes[key] = Lane(
                endpoint,
                clock=self.clock,
                concurrency=self.options.concurrency,
                limiter=self._limiter(client),
                answered=self._answered,
                latency=self.options.latency_target,
                unmet=self._describe_unmet,
            )
            task_group = self._running()
            task_group.start_soon(lane.run, task_group)
        return lane

    def _describe_unmet(self, lane: Lane, gap: float) -> None:
        budget = lane.endpoint.budget
        self.events.log.warning(
            "waiters.latency_unmet",
            operation=lane.endpoint.operation,
            latency=self.options.latency_target,
            seconds=round(gap, 3),
            rate=round(budget.rate, 3),
            queued=len(lane.heap),
            reason=f"an execution came up {gap:.3g}s after its last answer, past the "
            f"{self.options.latency_target:g}s target, with {len(lane.heap)} executions "
            f"queued on a budget of {budget.rate:.3g} calls/s",
        )

    def _sweep_unmet(self, group: Group, listing: float) -> None:
        self.events.log.warning(
            "waiters.latency_unmet",
            type=group.machine.name,
            parent=str(group.parent),
            operation=group.spec.operation,
            latency=self.options.latency_target,
            seconds=round(listing, 3),
            reason=(
                f"listing the parent's executions takes {listing:.3g}s or more at the budget's rate"
            ),
        )

    async def _learn_account(self, client: Any) -> None:
        """Learn *client*'s account, then move its endpoints onto that account's budgets.

        Until then they draw on the budget every client whose account is being
        learned shares (``PENDING_ACCOUNT``): learning may take a call (STS), and
        no poll waits for it. If it fails, the budget of its credentials (a
        digest of the access key) takes over. A client moves once no lookup is
        under way on these budgets (each is bounded by the call timeout): one
        that moved early would draw on its account's budget while a key of the
        same account, still being looked up, drew on the shared one.
        """
        try:
            account = await self._accounts.of(client)
        except Exception as exc:  # noqa: BLE001 - see _guarded; the budget falls back
            self.events.log.warning(
                "waiters.account_unknown", error=type(exc).__name__, reason=str(exc)
            )
            account = self._accounts.fallback(client)
        lookups = self.budgets.account_lookups
        while lookups:
            await next(iter(lookups.values())).wait()
        now = self._pace.now()
        for endpoint in list(self._endpoints.values()):
            if endpoint.client is client:
                old = endpoint.budget.key
                _, region, service, operation = old
                if old[0] != account:
                    endpoint.budget = self.budgets.rekey(
                        old,
                        (account, region, service, operation),
                        now,
                        shared=old[0] == PENDING_ACCOUNT,
                    )

    def _endpoint(
        self,
        client: Any,
        machine: StateMachine | None,
        operation: str,
        method: str,
        *,
        service: str | None = None,
        expects_members: bool = True,
        config: BudgetConfig | None = None,
    ) -> Endpoint:
        key = (id(client), operation)
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            now = self._pace.now()
            account, final = self._accounts.provisional(client)
            if service is None:
                assert machine is not None
                service = machine.service
            budget = self.budgets.get(budget_key(account, client, service, operation), now, config)
            if not final and id(client) not in self._learning:
                self._learning.add(id(client))
                self._running().start_soon(self._learn_account, client)
            endpoint = self._endpoints[key] = Endpoint(
                client,
                method,
                operation,
                machine,
                budget,
                self.clock,
                self.options.call_limit,
                expects_members=expects_members,
                observe=(
                    self._metrics.call_recorder(budget.key) if self._metrics is not None else None
                ),
                pace=self._pace,
            )
        return endpoint

    def _limiter(self, client: Any) -> anyio.Semaphore:
        limiter = self._limiters.get(id(client))
        if limiter is None:
            limiter = self._limiters[id(client)] = anyio.Semaphore(
                self.options.concurrency, fast_acquire=True
            )
        return limiter

    # --- answers -------------------------------------------------------------------------

    def _answered(self, lane: Lane, trackers: list[Tracker], answer: Answer) -> None:
        """Apply one Describe answer to every wait it serves, and schedule what follows."""
        self.stats.record(answer)
        if len(trackers) == 1:
            trackers[0].watch.stats.record(answer)
            self._take(lane, trackers[0], answer, None)
            return
        # One call, counted once in each batch it served.
        for stats in {id(t.watch.stats): t.watch.stats for t in trackers}.values():
            stats.record(answer)
        # One draw for all: waits with the same backoff stay on one schedule, so
        # sharing an execution does not multiply its polls.
        jitter = self.rng.random()
        for tracker in trackers:
            if tracker.outcome is None:
                self._take(lane, tracker, answer, jitter)

    def _take(self, lane: Lane, tracker: Tracker, answer: Answer, jitter: float | None) -> None:
        """Apply one Describe answer to one wait, and schedule what follows."""
        try:
            self._take_answer(lane, tracker, answer, jitter)
        except Exception as exc:  # noqa: BLE001 - see _guarded: it ends this wait alone
            tracker.finish(
                OutcomeKind.ERROR,
                self.clock.now(),
                reason=f"{type(exc).__name__}: {exc}",
                error=exc,
            )

    def _take_answer(
        self, lane: Lane, tracker: Tracker, answer: Answer, jitter: float | None
    ) -> None:
        first_sighting = not tracker.seen
        attempt = tracker.attempt
        decision = tracker.on_answer(answer, self.clock.now(), jitter=jitter)
        if isinstance(decision, Outcome):
            failure = answer.failure
            if failure is not None and failure.about_caller:
                # The client's identity was refused: every call of this lane would
                # fail the same way, so end them all now instead of one call each.
                # A denial is not about_caller: IAM answers per resource.
                self._fail_lane(lane, tracker, failure, answer.error)
            return
        if tracker.ending_since is not None:
            # It ended; where the service no longer says how, its log may.
            task_group = self._running()
            task_group.start_soon(self._guarded, tracker, self._read_ending(tracker))
            return
        if tracker.retry_check:
            # It failed; whether a retry follows is its parent's to say.
            self._running().start_soon(self._guarded, tracker, self._check_retries(lane, tracker))
            return
        if (
            attempt is not None
            and tracker.attempt is not None
            and tracker.attempt > attempt
            and self._rejoin(lane, tracker)
        ):
            return
        if not tracker.listed:
            lane.push(tracker, decision)
        spec = tracker.execution.machine.batch
        if (
            first_sighting
            and tracker.seen
            and self.options.batch
            and spec is not None
            and spec.parent_from is not None
            and self._task_group is not None
        ):
            parent = spec.parent_from.search(answer.response)
            if parent is not None:
                self._join_group(lane, tracker, parent, self._task_group)

    async def _guarded(self, tracker: Tracker, work: Awaitable[None]) -> None:
        """Run *work* for *tracker* in the poller's tasks: a failure ends that wait alone.

        An exception let out of a task of the poller's task group would cancel
        all of them, every batch's waits and the callers inside ``async with``.
        """
        try:
            await work
        except Exception as exc:  # noqa: BLE001 - becomes this wait's outcome
            tracker.finish(
                OutcomeKind.ERROR,
                self.clock.now(),
                reason=f"{type(exc).__name__}: {exc}",
                error=exc,
            )

    async def _read_ending(self, tracker: Tracker) -> None:
        spec = tracker.execution.machine.ending
        assert spec is not None
        client = self._given_clients.get(spec.service)
        if client is None and self.session is not None:
            try:
                client = await self._client_for_service(spec.service)
            except RuntimeError:
                return  # the poller is closing: its batches end as abandoned
            except Exception as exc:  # noqa: BLE001 - no client: as if none were given
                self.events.log.warning(
                    "waiters.transient_error",
                    execution=tracker.execution.describe(),
                    code=type(exc).__name__,
                    reason=f"cannot open a {spec.service} client: {exc}",
                )
                client = None

        endpoint = None
        if client is not None:
            endpoint = self._endpoint(
                client,
                tracker.execution.machine,
                spec.operation,
                spec.method,
                service=spec.service,
                expects_members=False,
            )
        await read_ending(tracker, endpoint, clock=self.clock, rng=self.rng, stats=self.stats)

    async def _check_retries(self, lane: Lane, tracker: Tracker) -> None:
        """Read how many retries the parent allows (once per parent), then decide."""
        allowance = await self._allowance_for(lane, tracker)
        decision = tracker.after_retry_check(allowance, self.clock.now())
        if not isinstance(decision, Outcome):
            lane.push(tracker, decision)

    async def _allowance_for(self, lane: Lane, tracker: Tracker) -> Mapping[str, int]:
        """The retries *tracker*'s parent allows per retried state, read once per parent."""
        spec = tracker.execution.machine.retries
        assert spec is not None
        parent = tracker.execution.params.get(spec.parent)
        key = (id(lane.endpoint.client), parent)
        allowance = self._allowances.get(key)
        if allowance is None:
            reading = self._allowance_reads.get(key)
            if reading is not None:
                await reading.wait()
                allowance = self._allowances.get(key, {})
            else:
                done = self._allowance_reads[key] = anyio.Event()
                try:
                    allowance = self._allowances[key] = await self._read_allowance(
                        lane, tracker, parent
                    )
                finally:
                    del self._allowance_reads[key]
                    done.set()
        return allowance

    async def _read_allowance(self, lane: Lane, tracker: Tracker, parent: Any) -> Mapping[str, int]:
        """The parent's retries per retried state; none if it cannot be read."""
        machine = tracker.execution.machine
        spec = machine.retries
        assert spec is not None
        try:
            endpoint = self._endpoint(lane.endpoint.client, machine, spec.operation, spec.method)
        except AttributeError:
            # A client without the parent's operation (a fake, a narrow wrapper).
            self.events.log.warning(
                "waiters.retries_unknown",
                type=machine.name,
                parent=str(parent),
                operation=spec.operation,
                code="NoSuchMethod",
            )
            return {}
        failures = 0
        while True:
            answer = await endpoint.attempt(
                {spec.parent: parent}, deadline=tracker.deadline, limiter=lane.limiter
            )
            tracker.watch.stats.record(answer)
            self.stats.record(answer)
            if answer.response is not None:
                return {state: spec.allowed(answer.response, state) for state in spec.states}
            failure = answer.failure
            if failure is not None and failure.kind is FailureKind.THROTTLED:
                continue
            failures += 1
            if failure is None or failure.kind is not FailureKind.TRANSIENT or failures >= 3:
                # Unknown: the failure stands, as if the parent allowed no retries.
                self.events.log.warning(
                    "waiters.retries_unknown",
                    type=machine.name,
                    parent=str(parent),
                    operation=spec.operation,
                    code=failure.code if failure is not None else None,
                )
                return {}
            await self.clock.sleep_until(self.clock.now() + self.rng.uniform(0.5, 2.0))

    # --- events ----------------------------------------------------------------------------

    def _hear_of(self, tracker: Tracker, lane: Lane) -> None:
        """Let events about *tracker*'s execution reach it."""
        machine = tracker.execution.machine
        if machine.name not in self._heard_types:
            names = tuple(param.name for param in machine.identity)
            self._heard_types[machine.name] = (machine, names)
        key = (machine.name, identity_of(machine, tracker.execution.params))
        self._hearing.setdefault(key, []).append((tracker, lane))
        hearing = self._hearing
        if len(hearing) > 2 * self._hearing_pruned_at + 1024:
            # Amortised: the map never holds many more finished waits than live ones.
            for stale in [k for k, waits in hearing.items() if all(t.outcome for t, _ in waits)]:
                del hearing[stale]
            self._hearing_pruned_at = len(hearing)

    async def _listen(self, source: SqsEvents) -> None:
        """Consume the event source until the poller closes; its failures are logged."""
        client = source.client
        if client is None:
            try:
                client = await self._client_for_service("sqs")
            except Exception as exc:  # noqa: BLE001 - polling goes on without events
                self.events.log.warning(
                    "waiters.events_unhealthy",
                    queue=source.queue_url,
                    reason=f"cannot open an SQS client: {type(exc).__name__}: {exc}",
                )
                return
        endpoints = {
            operation: self._endpoint(
                client,
                None,
                operation,
                method,
                service="sqs",
                expects_members=False,
                config=source.budget,
            )
            for operation, method in (
                ("ReceiveMessage", "receive_message"),
                ("DeleteMessageBatch", "delete_message_batch"),
                ("ChangeMessageVisibilityBatch", "change_message_visibility_batch"),
            )
        }
        net = self._net
        assert net is not None
        try:
            members = client.meta.service_model.operation_model(
                "ReceiveMessage"
            ).input_shape.members
        except Exception:  # noqa: BLE001 - a client without a model: today's parameter
            members = ()
        listener = self.listener = Listener(
            source,
            receive=endpoints["ReceiveMessage"],
            delete=endpoints["DeleteMessageBatch"],
            release=endpoints["ChangeMessageVisibilityBatch"],
            handle=self._hear,
            heard=self._heard,
            clock=self.clock,
            rng=self.rng,
            events=self.events,
            call_limit=self.options.call_limit,
            attributes=(
                "AttributeNames"
                if "AttributeNames" in members and "MessageSystemAttributeNames" not in members
                else "MessageSystemAttributeNames"
            ),
        )
        try:
            await listener.run()
        except Exception as exc:  # noqa: BLE001 - see _guarded: polling goes on without it
            self.events.log.warning(
                "waiters.events_unhealthy",
                queue=source.queue_url,
                reason=f"the listener stopped: {type(exc).__name__}: {exc}",
            )
            self._heard(False)

    def _heard(self, healthy: bool) -> None:
        """The source is heard again, or not: polling slows to the net, or comes back."""
        net = self._net
        if net is None or not net.heard(healthy) or healthy:
            return
        # Polls spaced for the net come due at the normal cadence now, spread over the
        # backoff's floor so they do not all go at once.
        now = self.clock.now()
        for lane in list(self._lanes.values()):
            for tracker in lane.waiting():
                due = tracker.due
                if tracker.execution.machine.events is not None:
                    due = min(due, now + self.rng.random() * tracker.watch.settings.min_delay)
                lane.push(tracker, due)

    async def _hear(self, body: str) -> Verdict:
        """Enter the events one message carries; say what became of them."""
        verdict = Verdict.FOREIGN
        for payload in payloads(body):
            for machine, names in list(self._heard_types.values()):
                spec = machine.events
                assert spec is not None
                event = spec.read(payload, names)
                if event is None:
                    continue
                if verdict is Verdict.FOREIGN:
                    verdict = Verdict.NOBODY
                key = (machine.name, event.key)
                waits = self._hearing.get(key)
                if not waits:
                    continue
                live = [(t, lane) for t, lane in waits if t.outcome is None]
                if not live:
                    del self._hearing[key]
                    continue
                if len(live) < len(waits):
                    self._hearing[key] = live
                for tracker, _ in live:
                    group = tracker.group
                    if group is not None and machine.retries is not None:
                        # A sweep reads the parent's retries before it judges a retried
                        # state; so does an event, so its members need no Describe.
                        await group.know_allowance((event.state,))
                        break
                now = self.clock.now()
                # When the change happened, on the poller's clock: a late event is an
                # observation as of then.
                observed = event.at - self._wall_offset if event.at is not None else None
                for tracker, lane in live:
                    if tracker.outcome is None:
                        self._take_event(lane, tracker, event, now, observed)
                verdict = Verdict.TAKEN
        return verdict

    def _take_event(
        self, lane: Lane, tracker: Tracker, event: Event, now: float, observed: float | None
    ) -> None:
        """Enter one event for one wait (a failure ends that wait alone, as for answers)."""
        try:
            group = tracker.group
            if tracker.listed and group is not None:
                group.take_event(tracker, event, now, observed)
                return
            machine = tracker.execution.machine
            retries = machine.retries
            if retries is not None and retries.attempt is not None:
                named = tracker.execution.params.get(retries.attempt)
                if named is not None and event.attempt is not None and event.attempt != named:
                    return  # about another attempt than the one this wait names
            kind = machine.kind_of(event.state)
            if (
                kind is not None
                and kind.terminal
                and kind is not StateKind.SUCCEEDED
                and event.reason is None
                and machine.reason is not None
            ):
                # The outcome says why, as a Describe would: one reads it, now. Events
                # older than this one are stale from here, so none puts it off.
                if tracker.heard(event):
                    lane.push(tracker, now)
                return
            before = tracker.attempt
            decision = tracker.on_event(event, now, observed=observed)
            if isinstance(decision, Outcome):
                return
            if tracker.retry_check:
                self._running().start_soon(
                    self._guarded, tracker, self._check_retries(lane, tracker)
                )
                return
            if (
                before is not None
                and tracker.attempt is not None
                and tracker.attempt > before
                and self._rejoin(lane, tracker)
            ):
                return
            if not tracker.listed:
                lane.push(tracker, tracker.next_due(now))
        except Exception as exc:  # noqa: BLE001 - see _guarded: it ends this wait alone
            tracker.finish(OutcomeKind.ERROR, now, reason=f"{type(exc).__name__}: {exc}", error=exc)

    def _record_outcome(self, outcome: Outcome) -> None:
        """Forget the wait that ended (its answers go with its batch), and count it."""
        live = self._live
        tracker = live.get(outcome.execution)
        if tracker is not None and tracker.outcome is not None:
            del live[outcome.execution]
        if self._metrics is not None:
            self._metrics.outcome(outcome, wall=self.clock.now() + self._wall_offset)

    def _fail_lane(
        self, lane: Lane, refused: Tracker, failure: Failure, error: BaseException | None
    ) -> None:
        now = self.clock.now()
        # Said as what it is: the client was refused, on another execution's call.
        reason = f"the client was refused on {refused.execution.describe()}: {failure.reason}"
        for other in lane.waiting():
            other.finish(OutcomeKind.ERROR, now, reason=reason, error=error)

    # --- batch observation ---------------------------------------------------------------

    def _join_group(self, lane: Lane, tracker: Tracker, parent: Any, task_group: TaskGroup) -> None:
        """Count the execution toward its parent's group; sweep the group once it is large."""
        machine = tracker.execution.machine
        client = lane.endpoint.client
        key = (id(client), machine.name, parent)
        group = self._groups.get(key)
        if group is not None:
            group.add(tracker)
            return
        forming = self._forming.setdefault(key, [])
        forming.append(tracker)
        if len(forming) < self.options.batch_min:
            return
        del self._forming[key]
        spec = machine.batch
        assert spec is not None
        counter = None
        if spec.progress_operation is not None and spec.progress_method is not None:
            counter = self._endpoint(client, machine, spec.progress_operation, spec.progress_method)
        group = self._groups[key] = Group(
            machine,
            parent,
            # A page with nothing on it may omit its list: an empty page, not a malformed one.
            lister=self._endpoint(
                client, machine, spec.operation, spec.method, expects_members=False
            ),
            counter=counter,
            limiter=lane.limiter,
            clock=self.clock,
            rng=self.rng,
            events=self.events,
            stats=self.stats,
            interval=self.options.sweep_every,
            straggler_limit=self.options.straggler_limit,
            describe=partial(self._describe_again, lane),
            done=partial(self._group_done, key),
            failure_reasons=self.options.failure_reasons,
            latency=self.options.latency_target,
            unmet=self._sweep_unmet,
            allowance=partial(self._allowances.get, (id(client), parent)),
            read_allowance=partial(self._allowance_for, lane),
            pace=self._net if machine.events is not None else None,
        )
        for member in forming:
            if member.outcome is None:
                group.add(member)
        task_group.start_soon(group.run)

    def _rejoin(self, lane: Lane, tracker: Tracker) -> bool:
        """Hand a retried execution's new attempt back to its parent's sweeps, if they run.

        The list names the newest attempt of each execution (IoT's
        ListJobExecutionsForJob), so the sweeps follow it as they did the first.
        """
        machine = tracker.execution.machine
        spec = machine.batch
        if spec is None or not self.options.batch:
            return False
        parent = tracker.execution.params.get(spec.parent)
        group = self._groups.get((id(lane.endpoint.client), machine.name, parent))
        if group is None:
            return False
        group.add(tracker)
        return True

    def _describe_again(self, lane: Lane, tracker: Tracker, due: float) -> None:
        lane.push(tracker, due)

    def _group_done(self, key: tuple[int, str, Any], group: Group) -> None:
        if self._groups.get(key) is group:
            del self._groups[key]


def _expire(tracker: Tracker, now: float) -> None:
    tracker.time_out(now)


def _errors_in(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The exceptions in *group* and its nested groups, cancellations left out."""
    cancelled = anyio.get_cancelled_exc_class()
    found: list[BaseException] = []
    for inner in group.exceptions:
        if isinstance(inner, BaseExceptionGroup):
            found.extend(_errors_in(inner))
        elif not isinstance(inner, cancelled):
            found.append(inner)
    return found


def _only(group: BaseExceptionGroup[BaseException], exc: BaseException) -> bool:
    """Whether *group* holds nothing but *exc* (and cancellations)."""
    cancelled = anyio.get_cancelled_exc_class()
    for inner in group.exceptions:
        if isinstance(inner, BaseExceptionGroup):
            if not _only(inner, exc):
                return False
        elif inner is not exc and not isinstance(inner, cancelled):
            return False
    return True


def _check_fail_fast_states(states: frozenset[str], executions: Iterable[Execution]) -> None:
    """A rule on states none of the types has would never trip: say so before waiting."""
    machines = {e.machine.name: e.machine for e in executions}
    known = {state for machine in machines.values() for state in machine.states}
    if not machines or not known:
        return
    for state in sorted(states - known):
        message = (
            f"FailFast.states: {state!r} is not a state of {', '.join(sorted(machines))}"
            f"{suggestion(state, known)}; they have {', '.join(sorted(known))}"
        )
        raise InvalidOption(message, option="FailFast.states", value=state)


@checked_keywords(Poller)
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

    :param executions: the executions to wait on.
    :param timeout: the whole batch's deadline in seconds or a timedelta
        (default one hour; ``None`` for none).
    :param fail_fast: stop when failures reach a threshold (default: never).
    :param raise_on_failure: raise the first failed outcome's error (in input
        order) after all have ended (default ``False``).
    :param on_transition: called with each observed state change.
    :param on_outcome: called with each outcome as it arrives.
    :param poller_options: the other keyword arguments of :class:`Poller`.
    :raises WaiterError: with ``raise_on_failure``, the first failure's error.
    :raises CallbackError: a callback raised; the batch went on, and the
        error carries the whole result.
    """
    check_bools(raise_on_failure=raise_on_failure)
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


@checked_keywords(wait_all, Poller)
def wait_all_sync(executions: Iterable[Execution], **kwargs: Any) -> BatchResult:
    """The blocking form of :func:`wait_all`, for scripts (not from inside an event loop).

    It runs its own event loop (``anyio.run``, asyncio); boto3 clients' calls
    run in worker threads.

    :param executions: the executions to wait on.
    :param kwargs: the keyword arguments of :func:`wait_all` (its options,
        and those of :class:`Poller`).
    :raises RuntimeError: called from inside an event loop.
    :raises WaiterError: with ``raise_on_failure=True``, the first failure's error.
    """
    if in_event_loop():
        raise RuntimeError(
            "wait_all_sync() cannot run inside an event loop; use `await wait_all()`"
        )
    return anyio.run(partial(wait_all, executions, **kwargs))
