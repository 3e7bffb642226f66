"""What a wait ends with."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._execution import Execution
    from ._machine import StateKind

__all__ = ["Outcome", "OutcomeKind", "Transition"]


class OutcomeKind(enum.Enum):
    """How a wait ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The wait's own deadline passed first; the execution may still finish.
    TIMED_OUT = "timed_out"
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
