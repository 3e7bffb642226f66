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
        return self is OutcomeKind.SUCCEEDED


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change the waiter observed."""

    state: str | None
    kind: StateKind | None
    at: float
    attempt: int


@dataclass(frozen=True, slots=True, repr=False)
class Outcome:
    """The end of one wait."""

    execution: Execution
    kind: OutcomeKind
    state: str | None
    reason: str | None
    response: Mapping[str, Any] | None
    attempts: int
    elapsed: float
    history: tuple[Transition, ...]
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.SUCCEEDED

    def __repr__(self) -> str:
        return (
            f"<Outcome {self.kind.value} {self.execution.describe()} state={self.state!r} "
            f"attempts={self.attempts} elapsed={self.elapsed:.3f}s>"
        )


def error_for(outcome: Outcome) -> WaiterError | None:
    """The exception a failed outcome raises (None for success)."""
    kind = outcome.kind
    what = outcome.execution.describe()
    if kind is OutcomeKind.SUCCEEDED:
        return None
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
