"""What a batch reports: progress snapshots, fail-fast rules and the final result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._outcome import Outcome, OutcomeKind

if TYPE_CHECKING:
    from ._execution import Execution

__all__ = ["BatchResult", "FailFast", "Progress"]


@dataclass(frozen=True, slots=True)
class FailFast:
    """Stop a batch when failures reach a count or a fraction (like IoT's abort config).

    ``fraction`` is failures over finished executions, checked once at least
    ``min_finished`` have finished. The rest are reported as abandoned.
    """

    count: int | None = None
    fraction: float | None = None
    min_finished: int = 1
    kinds: frozenset[OutcomeKind] = frozenset({OutcomeKind.FAILED})

    def __post_init__(self) -> None:
        if self.count is None and self.fraction is None:
            raise ValueError("FailFast needs count or fraction")
        if self.count is not None and (isinstance(self.count, bool) or self.count < 1):
            raise ValueError(f"count must be a positive integer, got {self.count!r}")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction!r}")
        if self.min_finished < 1:
            raise ValueError(f"min_finished must be at least 1, got {self.min_finished!r}")

    def tripped(self, failures: int, finished: int) -> bool:
        if self.count is not None and failures >= self.count:
            return True
        return (
            self.fraction is not None
            and finished >= self.min_finished
            and failures / finished >= self.fraction
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a batch."""

    total: int
    finished: int
    #: Waiting executions by their last observed state ("unseen" before the first answer).
    states: Mapping[str, int]
    #: Waiting executions by the kind of their last state.
    kinds: Mapping[str, int]
    #: Finished executions by outcome kind.
    outcomes: Mapping[str, int]
    calls: int
    throttles: int
    errors: int
    elapsed: float
    #: Seconds until the last one finishes at the current completion rate, if known.
    remaining: float | None

    @property
    def waiting(self) -> int:
        return self.total - self.finished


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every outcome of a batch, in the order the executions were given."""

    outcomes: tuple[Outcome, ...]
    #: Executions given more than once; each was waited on once.
    duplicates: tuple[Execution, ...] = ()
    aborted: bool = False
    elapsed: float = 0.0
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    def of(self, *kinds: OutcomeKind) -> tuple[Outcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.kind in kinds)

    def __len__(self) -> int:
        return len(self.outcomes)
