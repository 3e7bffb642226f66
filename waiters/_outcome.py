"""What a wait ends with."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import (
    ExecutionFailed,
    ExecutionNotFound,
    ExecutionVanished,
    ServiceError,
    WaiterError,
    WaitTimeout,
)
from ._scrub import scrub

if TYPE_CHECKING:
    from ._execution import Execution
    from ._machine import StateKind

__all__ = ["Outcome", "OutcomeKind", "Transition", "error_for"]


class OutcomeKind(enum.StrEnum):
    """How a wait ended.

    A ``StrEnum``: each kind equals its value (``OutcomeKind.FAILED ==
    "failed"``), so counts keyed by kind read naturally and serialise as JSON.
    """

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The wait's own deadline passed first; the execution may still finish.
    WAIT_TIMEOUT = "wait_timeout"
    #: The service never reported the execution, even after the grace window.
    NOT_FOUND = "not_found"
    #: Seen, then no longer reported: it ended, and the service does not say how.
    VANISHED = "vanished"
    #: The service refused to answer (credentials, permissions, bad request).
    ERROR = "error"
    #: The batch stopped (fail-fast or cancellation) before this one ended.
    ABANDONED = "abandoned"

    @property
    def ok(self) -> bool:
        """Whether this is ``succeeded``."""
        return self is OutcomeKind.SUCCEEDED


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change the waiter observed (in ``Outcome.history``, and to ``on_transition``).

    :param state: the state entered, as the service names it
        (``"IN_PROGRESS"``); for types defined by acceptors, the acceptor's
        expected value; for an error the definition treats as a state, its code.
    :param kind: the :class:`StateKind` of *state*, or ``None`` for a state
        the definition does not know (one the service added).
    :param at: when the answer that showed it was taken, in seconds on the
        poller's clock (the event loop's monotonic time by default, not epoch
        time).
    :param attempt: the execution's attempt count when it was observed: the
        answer that showed it is counted (a change inferred from a list
        sweep without naming the execution adds none).
    """

    state: str | None
    kind: StateKind | None
    at: float
    attempt: int


@dataclass(frozen=True, slots=True, repr=False)
class Outcome:
    """The end of one wait.

    :param execution: the :class:`Execution` waited on.
    :param kind: how the wait ended (an :class:`OutcomeKind`).
    :param state: the last state observed, as the service names it (see
        :class:`Transition`), or ``None`` if none was.
    :param reason: why, in words: the reason field of the definition
        (IoT's ``statusDetails``, a command's ``statusReason``), the
        service's error message, a matched acceptor's explanation, or the
        waiter's own account (the deadline passed, the execution vanished,
        the reason given to ``abandon``); ``None`` when nothing says.
        Credentials, tokens and signatures in it are redacted, and a text
        longer than 2,048 characters is cut, with a marker.
    :param response: the last answer kept about it (a describe response, or
        the list item that reported it), or ``None``. An answer that shows a
        terminal state is always kept; other answers only with
        ``keep_responses`` (which :func:`wait_for` turns on) or for types whose
        ending is read from a log.
    :param attempts: the calls that reported on it: its own describe calls
        (throttled ones excepted) and the list pages that named it.
    :param elapsed: seconds from the start of the wait to this outcome, on
        the poller's clock.
    :param history: the :class:`Transition` of every observed state change,
        oldest first.
    :param error: the exception behind an ``error`` outcome (a botocore
        ``ClientError``, a connection error, an acceptor that could not be
        evaluated), where there was one; ``None`` otherwise (default).
    """

    execution: Execution
    kind: OutcomeKind
    state: str | None
    reason: str | None
    response: Mapping[str, Any] | None
    attempts: int
    elapsed: float
    history: tuple[Transition, ...]
    error: BaseException | None = None

    def __post_init__(self) -> None:
        # The reason is the service's words: it leaves scrubbed and bounded.
        if self.reason is not None:
            object.__setattr__(self, "reason", scrub(self.reason))

    @property
    def ok(self) -> bool:
        """Whether the execution succeeded (its kind is ``succeeded``)."""
        return self.kind is OutcomeKind.SUCCEEDED

    def __repr__(self) -> str:
        return (
            f"<Outcome {self.kind.value} {self.execution.describe()} state={self.state!r} "
            f"attempts={self.attempts} elapsed={self.elapsed:.3f}s>"
        )


def error_for(outcome: Outcome) -> WaiterError | None:
    """The exception a failed outcome raises (None for success)."""
    kind = outcome.kind
    if kind is OutcomeKind.SUCCEEDED:
        return None
    what = outcome.execution.describe()
    if kind in (OutcomeKind.FAILED, OutcomeKind.CANCELLED):
        message = f"{what} ended {outcome.state}"
        cls: type[WaiterError] = ExecutionFailed
    elif kind is OutcomeKind.WAIT_TIMEOUT:
        message = f"{what} did not finish within the deadline (last state {outcome.state})"
        cls = WaitTimeout
    elif kind is OutcomeKind.NOT_FOUND:
        message = f"{what} was not found"
        cls = ExecutionNotFound
    elif kind is OutcomeKind.VANISHED:
        message = f"{what} finished while running; the service does not report how it ended"
        cls = ExecutionVanished
    elif kind is OutcomeKind.ABANDONED:
        message = f"{what} was abandoned before it ended"
        cls = WaiterError
    else:
        message = f"{what}: {outcome.execution.machine.operation} failed"
        cls = ServiceError
    if outcome.reason:
        message += f": {outcome.reason}"
    error = cls.from_outcome(message, outcome)
    if outcome.error is not None:
        error.__cause__ = outcome.error
    return error
