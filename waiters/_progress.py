"""What a batch reports: progress snapshots, fail-fast rules and the final result."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._outcome import Outcome, OutcomeKind
from ._validate import integer, invalid, iterable, number

if TYPE_CHECKING:
    from ._execution import Execution
    from ._machine import StateKind

__all__ = ["DEFAULT_MIN_FINISHED", "BatchResult", "FailFast", "Progress"]


#: Executions that must have finished before a fraction is judged, unless the
#: batch is smaller (then all of them). Like IoT's ``minNumberOfExecutedThings``
#: in a job's abort configuration: one early failure is not 100% of a rollout.
DEFAULT_MIN_FINISHED = 20


@dataclass(frozen=True, slots=True)
class FailFast:
    """Stop a batch when failures reach a count or a fraction, as IoT's job abort rules do.

    The rest of the batch is reported ``abandoned``.

    :param count: stop once this many executions failed (an integer >= 1).
    :param fraction: stop once this fraction of the finished executions failed
        (in (0, 1]), judged only once ``min_finished`` have finished.
    :param min_finished: finished executions needed before ``fraction`` is
        judged (an integer >= 1; default 20, or the whole batch when it is
        smaller). IoT's abort configuration calls it ``minNumberOfExecutedThings``.
    :param kinds: the outcome kinds that count as failures, not empty
        (default: failed); :class:`OutcomeKind` members or their values
        (``{"failed", "cancelled"}``), stored as members.
    :param states: if given, only outcomes ending in these states count (e.g.
        ``{"FAILED", "REJECTED"}`` leaves IoT's ``TIMED_OUT`` out, like an
        abort criterion's ``failureType``); not empty.
    :raises InvalidOption: no rule, or a value of the wrong type or out of
        range, naming the field and the value. An empty *kinds* or *states*
        is refused: such a rule could never trip.
    """

    count: int | None = None
    fraction: float | None = None
    min_finished: int = DEFAULT_MIN_FINISHED
    kinds: frozenset[OutcomeKind] = frozenset({OutcomeKind.FAILED})
    states: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.count is None and self.fraction is None:
            raise invalid("FailFast.count", "a positive integer when fraction is not given", None)
        if self.count is not None:
            integer("FailFast.count", self.count, minimum=1)
        if self.fraction is not None:
            number("FailFast.fraction", self.fraction, "in (0, 1]", above=0.0, at_most=1.0)
        integer("FailFast.min_finished", self.min_finished, minimum=1)
        expected = f"a non-empty set of outcome kinds ({', '.join(k.value for k in OutcomeKind)})"
        kinds = set()
        for kind in iterable("FailFast.kinds", self.kinds, expected):
            try:
                kinds.add(OutcomeKind(kind))
            except ValueError:
                raise invalid("FailFast.kinds", expected, self.kinds) from None
        if not kinds:
            raise invalid("FailFast.kinds", expected, self.kinds)
        object.__setattr__(self, "kinds", frozenset(kinds))
        if self.states is not None:
            expected = "a non-empty set of state names"
            states = list(iterable("FailFast.states", self.states, expected))
            if not states or not all(isinstance(state, str) for state in states):
                raise invalid("FailFast.states", expected, self.states)
            object.__setattr__(self, "states", frozenset(states))

    def counts(self, outcome: Outcome) -> bool:
        """Whether *outcome* counts as a failure under this rule.

        :param outcome: a finished execution's outcome; it counts when its
            kind is among :attr:`kinds` and, if :attr:`states` is set, its
            final state is among them.
        """
        if outcome.kind not in self.kinds:
            return False
        return self.states is None or outcome.state in self.states

    def tripped(self, failures: int, finished: int, total: int | None = None) -> bool:
        """Whether *failures* among *finished* (of *total*) executions stop the batch.

        :param failures: finished executions that counted as failures (see
            :meth:`counts`).
        :param finished: executions with an outcome so far, failures included.
        :param total: executions in the batch; ``min_finished`` is capped at
            it, so the fraction of a batch smaller than ``min_finished`` is
            judged once all have finished. ``None`` (the default) leaves
            ``min_finished`` as is. The count rule needs no minimum.
        """
        if self.count is not None and failures >= self.count:
            return True
        needed = self.min_finished if total is None else min(self.min_finished, total)
        return (
            self.fraction is not None
            and finished >= needed
            and failures / finished >= self.fraction
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a batch, as ``Batch.progress()`` takes it.

    :param total: executions in the batch (duplicates counted once).
    :param finished: executions with an outcome.
    :param states: waiting executions by their last observed state, the
        service's own name (``"IN_PROGRESS"``); ``"unseen"`` before the first answer.
    :param kinds: waiting executions by the :class:`StateKind` of their last
        state; ``None`` before the first answer.
    :param outcomes: finished executions by :class:`OutcomeKind`.
    :param calls: calls made for the batch (describes, and the sweeps serving it).
    :param throttles: of those, calls the service throttled.
    :param errors: of those, calls that failed transiently (5xx, resets,
        timeouts, malformed answers).
    :param elapsed: seconds since the batch was submitted.
    :param remaining: seconds until the last one finishes at the completion
        rate so far; ``None`` until one has finished, ``0.0`` once all have.
    """

    total: int
    finished: int
    states: Mapping[str, int]
    kinds: Mapping[StateKind | None, int]
    outcomes: Mapping[OutcomeKind, int]
    calls: int
    throttles: int
    errors: int
    elapsed: float
    remaining: float | None

    @property
    def waiting(self) -> int:
        """Executions without an outcome yet."""
        return self.total - self.finished


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every outcome of a batch, in the order the executions were given.

    Iterating over it yields the outcomes in that order; ``len()`` counts them.

    :param outcomes: one :class:`Outcome` per distinct execution, in input order.
    :param duplicates: executions given more than once; each was waited on once.
    :param aborted: the batch was abandoned before every execution ended (a fail-fast
        rule tripped, the caller was cancelled or the poller closed); the rest are
        ``abandoned``.
    :param elapsed: seconds from submission to the last outcome.
    :param counts: outcomes by :class:`OutcomeKind`; kinds that did not occur
        are absent.
    """

    outcomes: tuple[Outcome, ...]
    duplicates: tuple[Execution, ...] = ()
    aborted: bool = False
    elapsed: float = 0.0
    counts: Mapping[OutcomeKind, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every execution succeeded."""
        return all(outcome.ok for outcome in self.outcomes)

    def of(self, *kinds: OutcomeKind) -> tuple[Outcome, ...]:
        """The outcomes of the given kinds, in input order.

        :param kinds: the :class:`OutcomeKind` values to keep.
        """
        return tuple(outcome for outcome in self.outcomes if outcome.kind in kinds)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)
