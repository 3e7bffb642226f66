"""Running a wait: signals, clients, the poller and the report, shared by ``wait`` and ``demo``.

SIGINT and SIGTERM are recorded by the command's one handler (see _signals)
and acted on by a task, never by an exception raised wherever the main
thread happens to be. While executions are being waited on, the first signal
abandons the batch: every execution still waiting gets an ``abandoned``
outcome with its last state, the poller closes (cancelling calls in flight)
and the summary says who was still waiting. Before that (opening clients,
listing a parent) it cancels the work, and the summary lists the executions
given as abandoned. Later signals are recorded only: the shutdown the first
began is already as short as it can be, and cancelling it would lose the
outcomes. Whatever arrives, and whenever, one summary is written.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import structlog

from waiters import (
    BatchResult,
    BudgetRegistry,
    Checkpoint,
    Execution,
    FailFast,
    InvalidOption,
    Outcome,
    OutcomeKind,
    Poller,
    PollerOptions,
    SqsEvents,
    Transition,
    WaitOptions,
)

from ._checkpoint import CheckpointFile, Saver, restore_tally
from ._display import Heard, Report, Summary
from ._errors import UsageError
from ._exit import ExitCode, exit_code_for, for_signal
from ._signals import process_signals

__all__ = [
    "Interrupts",
    "RunOptions",
    "cancelled_early",
    "never_answered",
    "open_clients",
    "run_interruptible",
    "wait_and_report",
]

_log = structlog.get_logger("waiters.cli")
#: The calls an event queue's listener makes: (service, operation).
_QUEUE_CALLS = frozenset(
    ("sqs", operation)
    for operation in ("ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch")
)


class Interrupts:
    """The signals that arrived, and what the first one should do."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.scope: anyio.CancelScope | None = None
        #: Set while a batch runs: ends the wait gracefully instead of cancelling it.
        self.graceful: Callable[[str], None] | None = None

    @property
    def name(self) -> str | None:
        return signal.Signals(self.signum).name if self.signum is not None else None

    def catch_up(self) -> int:
        """Act on the signals already recorded (before the event loop); returns how many."""
        received = list(process_signals().received)
        for signum in received:
            self._on_signal(signum)
        return len(received)

    async def watch(self, since: int = 0) -> None:
        """Act on each signal after the first *since* ones, as it arrives."""
        async for signum in process_signals().arrivals(since):
            self._on_signal(signum)

    def _on_signal(self, signum: int) -> None:
        first = self.signum is None
        name = signal.Signals(signum).name
        _log.info("waiters.cli.signal", signal=name, first=first)
        if not first:
            return
        self.signum = int(signum)
        if self.graceful is not None:
            self.graceful(f"interrupted by {name}")
        elif self.scope is not None:
            self.scope.cancel()


async def run_interruptible(
    body: Callable[[Interrupts], Awaitable[int]],
    on_cancelled: Callable[[Interrupts], int],
) -> int:
    """Run *body* with signal handling; *on_cancelled* reports a signal that cut it short."""
    signals = process_signals()
    # Run without main() (in-process callers): the handler is this call's alone.
    owned = not signals.installed
    if owned:
        signals.install()
    try:
        return await _run(body, on_cancelled)
    finally:
        if owned:
            signals.restore()


async def _run(
    body: Callable[[Interrupts], Awaitable[int]],
    on_cancelled: Callable[[Interrupts], int],
) -> int:
    interrupts = Interrupts()
    code: int | None = None
    error: Exception | None = None
    async with anyio.create_task_group() as tasks:
        with anyio.CancelScope() as scope:
            interrupts.scope = scope
            # A signal that came while Python imported or read the arguments cancels
            # the scope before the body's first step.
            tasks.start_soon(interrupts.watch, interrupts.catch_up())
            try:
                code = await body(interrupts)
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group
                # Raised here it would reach the caller wrapped in an ExceptionGroup.
                error = exc
        interrupts.scope = None
        if code is None and error is None:
            code = on_cancelled(interrupts)
        tasks.cancel_scope.cancel()
    if error is not None:
        raise error
    assert code is not None
    return code


@asynccontextmanager
async def open_clients(
    session: Any, services: Iterable[str], **client_kwargs: Any
) -> AsyncIterator[dict[str, Any]]:
    """One aioboto3 client per service, closed even when the wait is cancelled."""
    stack = AsyncExitStack()
    clients: dict[str, Any] = {}
    try:
        for service in sorted(set(services)):
            clients[service] = await stack.enter_async_context(
                session.client(service, **client_kwargs)
            )
        yield clients
    finally:
        # Closing awaits the HTTP session; under a cancelled scope it would stop at the
        # first await and leave connections open.
        with anyio.CancelScope(shield=True):
            await stack.aclose()


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What a command's flags say about the wait: the library's own options, and budgets."""

    wait: WaitOptions
    poller: PollerOptions
    budgets: BudgetRegistry = field(default_factory=BudgetRegistry)
    fail_fast: FailFast | None = None
    #: Outcome kinds the exit code counts as success (``--accept vanished``).
    accept: frozenset[str] = frozenset()
    #: Where the wait's progress is kept (``--checkpoint``), or None.
    checkpoint: CheckpointFile | None = None
    #: What that file held when the command started: the wait resumes from it.
    resume: Checkpoint | None = None
    #: The event queue (``--events-queue``) with its client, or None: polling alone.
    events: SqsEvents | None = None


async def wait_and_report(
    executions: list[Execution],
    options: RunOptions,
    report: Report,
    interrupts: Interrupts,
    *,
    listing: Callable[[Poller, float | None], Awaitable[list[Execution]]] | None = None,
    clients: Mapping[str, Any] | None = None,
    code_for: Callable[[BatchResult], int] | None = None,
    note: Callable[[BatchResult], tuple[str, str] | None] | None = None,
    start_extra: Mapping[str, Any] | None = None,
) -> int:
    """Wait on *executions* (and those *listing* finds), show it, and return the exit code.

    *clients* are the poller's clients for calls that are not an execution's
    own (CloudWatch Logs, for how a Transfer execution ended). *listing* gets
    the poller and the seconds left before the deadline: ``--timeout`` is one
    deadline for the listing and the wait together, not one each.
    """
    wait, polling = options.wait, options.poller
    started = anyio.current_time()
    async with Poller(
        timeout=wait.timeout,
        backoff=wait.backoff,
        not_found_grace=wait.not_found_grace,
        concurrency=polling.concurrency,
        call_timeout=polling.call_timeout,
        batch=polling.batch,
        sweep_interval=polling.sweep_interval,
        latency=polling.latency,
        batch_min=polling.batch_min,
        straggler_limit=polling.straggler_limit,
        failure_reasons=polling.failure_reasons,
        follow_retries=wait.follow_retries,
        budgets=options.budgets,
        clients=clients,
        events=options.events,
    ) as poller:
        if listing is not None:
            # Listed on the poller, so the list calls share its budgets and call timeout.
            executions = [*executions, *await listing(poller, _left(wait.deadline_in, started))]
        report.begin(executions, **(start_extra or {}))
        report.raise_for_output()
        # From here every execution is in the summary: a signal that arrives while
        # the batch is being set up (clients, accounts) abandons it once it exists,
        # rather than cancelling the wait with nothing to report.
        early: list[str] = []
        interrupts.graceful = early.append
        saver = Saver(options.checkpoint, report.on_outcome) if options.checkpoint else None
        try:
            batch = await poller.submit(
                executions,
                fail_fast=options.fail_fast,
                on_transition=(
                    _both(report.on_transition, saver.on_transition)
                    if saver is not None
                    else report.on_transition
                ),
                on_outcome=saver.on_outcome if saver is not None else report.on_outcome,
                # A resumed wait's deadline is the checkpoint's.
                **(
                    {"checkpoint": options.resume}
                    if options.resume is not None
                    else {"timeout": _left(wait.deadline_in, started)}
                ),
            )
        except InvalidOption as exc:
            interrupts.graceful = None
            if exc.option == "checkpoint" and options.checkpoint is not None:
                raise UsageError(
                    f"--checkpoint {options.checkpoint.path}: not this command's wait: {exc}"
                ) from None
            raise
        except BaseException:
            interrupts.graceful = None
            raise
        if options.resume is not None:
            restore_tally(report, batch)
        report.attach(batch, options.budgets)
        report.on_output_error = lambda: batch.abandon("stdout cannot be written")
        interrupts.graceful = batch.abandon
        if early:
            batch.abandon(early[0])
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(report.live)
                if saver is not None:
                    saver.batch = batch
                    tasks.start_soon(saver.run)
                result = await batch.wait()
                report.stop()
                tasks.cancel_scope.cancel()
        finally:
            # The batch is over: a signal from here on cancels nothing (that would lose
            # the outcomes), it only makes the summary say it was interrupted.
            interrupts.graceful = _ignore
            if saver is not None:
                saver.final()
        progress = batch.progress()
        heard = _heard(options.events, poller)
    if interrupts.signum is not None:
        code: int = for_signal(interrupts.signum)
    elif code_for is not None:
        code = code_for(result)
    else:
        code = exit_code_for(result.outcomes, options.accept)
    remark = note(result) if note is not None and interrupts.signum is None else None
    accepted = sum(1 for outcome in result.outcomes if outcome.kind.value in options.accept)
    if code == ExitCode.OK and accepted and remark is None:
        remark = (
            f"{accepted:,} executions ended without any source saying how; accepted as "
            "done (--accept vanished).",
            "every execution succeeded or ended unseen, as accepted",
        )
    if code == ExitCode.TIMED_OUT and _never_answered(result, poller.stats, options.budgets):
        # Each failed call looked transient (connection refused, no answer, 5xx, a body
        # that is not the service's), so the library kept trying until the deadline.
        # Not one answer in the whole wait is not about the executions, though: a wrong
        # endpoint or a network that is down. One rule, however many calls were cut
        # short by the deadline rather than by the call timeout.
        code = ExitCode.AWS_ERROR
        remark = (
            f"No call got an answer: every one of {_started(options.budgets):,} failed with "
            "connection or server errors, unintelligible answers or no answer at all "
            "(is --endpoint-url or the network right?).",
            "AWS could not be reached",
        )
    report.finish(
        Summary(
            outcomes=result.outcomes,
            total=len(result.outcomes),
            exit_code=code,
            elapsed=result.elapsed,
            calls=progress.calls,
            throttles=progress.throttles,
            errors=progress.errors,
            duplicates=len(result.duplicates),
            interrupted=interrupts.name,
            aborted=result.aborted and interrupts.signum is None,
            note=remark[0] if remark else None,
            meaning=remark[1] if remark else None,
            events=heard,
        )
    )
    return code


def _heard(source: SqsEvents | None, poller: Poller) -> Heard | None:
    """What the event queue did, if there was one (read before the poller closes)."""
    if source is None:
        return None
    listener = poller.listener
    if listener is None:  # the wait ended before the queue's first receive began
        return Heard(source.queue_url, received=0, taken=0, healthy=False, calls=0, errors=0)
    return Heard(
        queue=source.queue_url,
        received=listener.received,
        # Verdict is the listener's own (not public): its values are its names.
        taken=listener.taken,
        healthy=listener.healthy,
        calls=listener.stats.calls,
        errors=listener.stats.errors,
    )


def _ignore(reason: str) -> None:
    pass


def _both(
    first: Callable[[Execution, Transition], None], second: Callable[[Execution, Transition], None]
) -> Callable[[Execution, Transition], None]:
    def both(execution: Execution, transition: Transition) -> None:
        first(execution, transition)
        second(execution, transition)

    return both


class Calls(Protocol):
    """Counts of calls made (a poller's ``stats``, a batch's ``progress()``)."""

    @property
    def calls(self) -> int: ...

    @property
    def errors(self) -> int: ...


def _left(timeout: float | None, started: float) -> float | None:
    """Seconds left of a *timeout* that began at *started* (never below zero)."""
    if timeout is None:
        return None
    return max(0.0, timeout - (anyio.current_time() - started))


def _started(budgets: BudgetRegistry) -> int:
    """Calls started about executions: every one took a budget slot, whether or not it
    ever ended. An event queue's calls are not about executions, as in ``poller.stats``."""
    return sum(
        stats.calls for stats in budgets.stats() if (stats.key[2], stats.key[3]) not in _QUEUE_CALLS
    )


def never_answered(stats: Calls, budgets: BudgetRegistry) -> bool:
    """No call was answered though calls were made: AWS could not be reached (exit 4).

    Calls still unanswered when the deadline cut them short count too: whether
    the call timeout came before the deadline must not decide the exit code.
    A throttle is an answer.
    """
    return _started(budgets) > 0 and stats.calls == stats.errors


def _never_answered(result: BatchResult, stats: Calls, budgets: BudgetRegistry) -> bool:
    return never_answered(stats, budgets) and all(
        outcome.state is None for outcome in result.outcomes
    )


def cancelled_early(
    report: Report, executions: Sequence[Execution] = ()
) -> Callable[[Interrupts], int]:
    """The report for a signal that arrived before any execution was waited on.

    Each of *executions* (those named on the command line) is listed as
    ``abandoned``, with no state seen. A summary already written (the signal
    came as the clients closed) is not written again: its exit code stands.
    """

    def finish(interrupts: Interrupts) -> int:
        if report.summary is not None:
            return report.summary.exit_code
        signum = interrupts.signum if interrupts.signum is not None else signal.SIGINT
        code = for_signal(signum)
        name = signal.Signals(signum).name
        outcomes = [
            Outcome(
                execution=execution,
                kind=OutcomeKind.ABANDONED,
                state=None,
                reason=f"interrupted by {name}",
                response=None,
                attempts=0,
                elapsed=0.0,
                history=(),
            )
            for execution in executions
        ]
        report.finish(
            Summary(
                outcomes=outcomes,
                total=len(outcomes),
                exit_code=code,
                elapsed=0.0,
                interrupted=name,
            )
        )
        return int(code)

    return finish
