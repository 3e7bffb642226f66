"""The execution catalogue: the five kinds of execution and how each one plays out.

It owns what an execution *is*, independent of any request: the types and
their states (:data:`EXECUTION_TYPES`), the lifecycles that shape generated
executions (:class:`Lifecycle`), the drawing of a schedule from a lifecycle
or an explicit one (:class:`SchedulePlan`), the retries that give a failed
IoT job execution new attempts (:class:`Retries`), and the per-execution
record whose schedule is its ground truth (:class:`ExecutionRecord`).

A schedule is a list of ``(state, entered_at)`` pairs in *service time*, so
"what is its state now?" is a bisect, never a background task.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from ._checks import check_number, check_range


def to_millisecond(seconds: float) -> float:
    """*seconds* to the millisecond, rounded down (never later than it was)."""
    return math.floor(seconds * 1000.0) / 1000.0


__all__ = [
    "DEFAULT_LIFECYCLES",
    "EXECUTION_TYPES",
    "GONE",
    "ExecutionRecord",
    "ExecutionType",
    "Lifecycle",
    "Retries",
    "SchedulePlan",
    "check_schedule",
    "lookup_type",
    "to_millisecond",
]

#: Schedule marker: from this offset on the execution no longer exists
#: (Describe answers ResourceNotFoundException and List skips it).
GONE: Final = "<GONE>"


@dataclass(frozen=True, slots=True)
class ExecutionType:
    """What the simulator knows about one kind of execution.

    The fleet plays out the five types of :data:`EXECUTION_TYPES`, keyed by
    name; an instance made elsewhere teaches it nothing new. State names are
    those of the botocore service model's enum for the type.

    :param name: the type's name, as the waiter's definitions name it
        (``"iot-job-execution"``).
    :param service: the botocore service name (``"iot"``).
    :param describe: the operation that describes one execution
        (``"DescribeJobExecution"``).
    :param id_params: the describe call's identifying parameters, in order.
    :param pending: the state before work starts (``"QUEUED"``).
    :param running: the state while working (``"IN_PROGRESS"``); the same
        as *pending* for types that report one state throughout.
    :param terminal: every state the type ends in.
    :param success: the terminal state of a successful execution.
    :param failing: the state in which a failing execution spends its
        running phase instead of *running*, or ``None`` (the default).
        Transfer walks to EXCEPTION through HANDLING_EXCEPTION.
    :param vanishes: finished executions are forgotten: Describe answers
        ResourceNotFoundException and List skips them (default ``False``).
        True of Transfer: "This API call only returns details for in-progress
        workflows" (botocore's transfer model, DescribeExecution).
    """

    name: str
    service: str
    describe: str
    id_params: tuple[str, ...]
    pending: str
    running: str
    terminal: frozenset[str]
    success: str
    failing: str | None = None
    vanishes: bool = False

    @property
    def states(self) -> frozenset[str]:
        """Every state the model's enum allows for this type."""
        extra = {self.failing} if self.failing else set()
        return self.terminal | {self.pending, self.running} | extra


EXECUTION_TYPES: Final[Mapping[str, ExecutionType]] = MappingProxyType(
    {
        t.name: t
        for t in (
            ExecutionType(
                "iot-job-execution",
                "iot",
                "DescribeJobExecution",
                ("jobId", "thingName"),
                "QUEUED",
                "IN_PROGRESS",
                frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "REJECTED", "REMOVED", "CANCELED"}),
                "SUCCEEDED",
            ),
            ExecutionType(
                "iot-command-execution",
                "iot",
                "GetCommandExecution",
                ("executionId", "targetArn"),
                "CREATED",
                "IN_PROGRESS",
                frozenset({"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"}),
                "SUCCEEDED",
            ),
            ExecutionType(
                "sitewise-execution",
                "iotsitewise",
                "DescribeExecution",
                ("executionId",),
                "RUNNING",
                "RUNNING",
                frozenset({"COMPLETED", "FAILED"}),
                "COMPLETED",
            ),
            ExecutionType(
                "snow-execution",
                "snow-device-management",
                "DescribeExecution",
                ("managedDeviceId", "taskId"),
                "QUEUED",
                "IN_PROGRESS",
                frozenset({"SUCCEEDED", "FAILED", "CANCELED", "REJECTED", "TIMED_OUT"}),
                "SUCCEEDED",
            ),
            ExecutionType(
                "transfer-execution",
                "transfer",
                "DescribeExecution",
                ("ExecutionId", "WorkflowId"),
                "IN_PROGRESS",
                "IN_PROGRESS",
                frozenset({"COMPLETED", "EXCEPTION"}),
                "COMPLETED",
                failing="HANDLING_EXCEPTION",
                vanishes=True,
            ),
        )
    }
)


def lookup_type(name: str) -> ExecutionType:
    """The execution type called *name*; ValueError naming the known ones if there is none."""
    execution_type = EXECUTION_TYPES.get(name)
    if execution_type is None:
        raise ValueError(
            f"type: unknown execution type {name!r}; expected one of {sorted(EXECUTION_TYPES)}"
        )
    return execution_type


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """How generated executions play out, in service seconds.

    Each execution spends ``uniform(*pending)`` seconds in its type's pending
    state, then ``uniform(*running)`` seconds running, then enters a terminal
    state drawn from ``mix`` (None means the type's default mix).  With
    ``timeout_s`` set, a running phase longer than that ends in TIMED_OUT
    after ``timeout_s`` (types that have TIMED_OUT only); IoT job executions
    then report ``approximateSecondsBeforeTimedOut`` and command executions
    ``executionTimeoutSeconds``.

    Service seconds run ``Fleet(speed=...)`` times faster than the fleet's
    clock. Whether the mix and timeout suit a type is checked when
    executions are added (:meth:`resolved_mix`).

    :param pending: ``(min, max)`` seconds in the pending state, finite,
        ``0 <= min <= max`` (default ``(0.0, 2.0)``).
    :param running: ``(min, max)`` seconds running, likewise (default
        ``(5.0, 30.0)``).
    :param mix: the probability of each terminal state, summing to 1, such as
        ``{"SUCCEEDED": 0.8, "FAILED": 0.2}``; ``None`` (the default) takes the
        type's default: 90% success, 10% FAILED (EXCEPTION for Transfer).
    :param timeout_s: seconds a running phase may last before it ends in
        TIMED_OUT, greater than 0, or ``None`` (the default) for no timeout.
    :raises TypeError: a range that is not a pair, a value that is not a
        number, or a *mix* that is not a non-empty mapping, naming the field.
    :raises ValueError: a negative or infinite value, ``min > max``, a
        non-positive *timeout_s*, or a *mix* that does not sum to 1, naming
        the field and the value.
    """

    pending: tuple[float, float] = (0.0, 2.0)
    running: tuple[float, float] = (5.0, 30.0)
    mix: Mapping[str, float] | None = None
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pending", check_range("Lifecycle", "pending", self.pending))
        object.__setattr__(self, "running", check_range("Lifecycle", "running", self.running))
        if self.timeout_s is not None:
            timeout = check_number("Lifecycle", "timeout_s", self.timeout_s)
            if timeout <= 0:
                raise ValueError(f"Lifecycle.timeout_s must be > 0, got {self.timeout_s!r}")
            object.__setattr__(self, "timeout_s", timeout)
        if self.mix is not None:
            if not isinstance(self.mix, Mapping) or not self.mix:
                raise TypeError(f"Lifecycle.mix must be a non-empty mapping, got {self.mix!r}")
            for state, weight in self.mix.items():
                check_number("Lifecycle", f"mix[{state!r}]", weight)
            total = math.fsum(self.mix.values())
            if abs(total - 1.0) > 1e-9:
                raise ValueError(
                    f"Lifecycle.mix probabilities sum to {total!r}, not 1: {dict(self.mix)!r}"
                )
            object.__setattr__(self, "mix", MappingProxyType(dict(self.mix)))

    def __hash__(self) -> int:
        # Explicit because the mix is a read-only mapping, which is not hashable.
        mix = tuple(sorted(self.mix.items())) if self.mix is not None else None
        return hash((self.pending, self.running, mix, self.timeout_s))

    def resolved_mix(self, execution_type: ExecutionType) -> Mapping[str, float]:
        """The mix to draw from for *execution_type*, validated against its states.

        :param execution_type: the type the executions are of.
        :raises ValueError: a state of the mix that is not one of the type's
            terminal states, or a ``timeout_s`` for a type without TIMED_OUT.
        """
        mix = self.mix if self.mix is not None else _DEFAULT_MIX[execution_type.name]
        for state in mix:
            if state not in execution_type.terminal:
                raise ValueError(
                    f"Lifecycle.mix: {state!r} is not a terminal state of {execution_type.name} "
                    f"(terminal states: {sorted(execution_type.terminal)})"
                )
        if self.timeout_s is not None and "TIMED_OUT" not in execution_type.terminal:
            raise ValueError(
                f"Lifecycle.timeout_s={self.timeout_s!r}: "
                f"{execution_type.name} has no TIMED_OUT state"
            )
        return mix


_DEFAULT_MIX: Final[Mapping[str, Mapping[str, float]]] = {
    "iot-job-execution": {"SUCCEEDED": 0.9, "FAILED": 0.1},
    "iot-command-execution": {"SUCCEEDED": 0.9, "FAILED": 0.1},
    "sitewise-execution": {"COMPLETED": 0.9, "FAILED": 0.1},
    "snow-execution": {"SUCCEEDED": 0.9, "FAILED": 0.1},
    "transfer-execution": {"COMPLETED": 0.9, "EXCEPTION": 0.1},
}

#: The lifecycle each type gets when ``add`` is given none.
DEFAULT_LIFECYCLES: Final[Mapping[str, Lifecycle]] = MappingProxyType(
    {name: Lifecycle(mix=mix) for name, mix in _DEFAULT_MIX.items()}
)


#: The failure types an IoT job's retry criteria name (botocore's iot model,
#: ``RetryableFailureType``); ALL covers both of the others.
FAILURE_TYPES: Final = ("FAILED", "TIMED_OUT", "ALL")
#: The most retries a criterion allows (botocore's iot model, ``NumberOfRetries``).
MAX_RETRIES: Final = 10


@dataclass(frozen=True, slots=True)
class Retries:
    """An IoT job's retry configuration, and how its retried attempts play out.

    As AWS IoT's ``JobExecutionsRetryConfig`` (botocore's iot model,
    ``RetryCriteria``): when an execution ends FAILED or TIMED_OUT and the
    criterion for that failure type (else the one for ALL) allows more
    retries than the execution has had (its ``executionNumber`` - 1), a new
    execution of the job on the same thing is queued ``uniform(*delay)``
    service seconds later, with the next ``executionNumber`` and its
    ``versionNumber`` starting again at 1. It plays out *lifecycle* and may
    itself fail and be retried. ``DescribeJob`` reports the criteria as
    ``jobExecutionsRetryConfig``.

    Every attempt is drawn when the executions are added, so the ground
    truth (``Fleet.truth``, ``Fleet.attempts``) knows the last one from the
    start.

    :param criteria: retries allowed per failure type, ``"FAILED"``,
        ``"TIMED_OUT"`` or ``"ALL"`` (one or two of them, as the model's
        ``RetryCriteriaList`` allows), each an int from 0 to 10, such as
        ``{"FAILED": 2, "TIMED_OUT": 1}``.
    :param delay: ``(min, max)`` service seconds between an attempt's failure
        and its retry being queued, finite, ``0 <= min <= max`` (default
        ``(1.0, 5.0)``; AWS documents no delay, only that a retry follows).
    :param lifecycle: how retried attempts play out, checked like the job's
        own; its ``timeout_s`` applies to them (default ``None``: the job's
        lifecycle, or the type's default for a job with an explicit schedule).
    :raises TypeError: *criteria* that is not a mapping, a count that is not
        an int, a *delay* that is not a pair of numbers, or a *lifecycle*
        that is not a :class:`Lifecycle`, naming the field.
    :raises ValueError: no criteria or more than two, an unknown failure
        type, a count outside [0, 10], or a bad *delay*, naming the field and
        the value.
    """

    criteria: Mapping[str, int]
    delay: tuple[float, float] = (1.0, 5.0)
    lifecycle: Lifecycle | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.criteria, Mapping):
            raise TypeError(
                f"Retries.criteria must be a mapping of failure type to retries, "
                f"got {self.criteria!r}"
            )
        if not 1 <= len(self.criteria) <= 2:
            raise ValueError(
                f"Retries.criteria must name one or two failure types, got {dict(self.criteria)!r}"
            )
        for failure, count in self.criteria.items():
            if failure not in FAILURE_TYPES:
                raise ValueError(
                    f"Retries.criteria: unknown failure type {failure!r}; "
                    f"expected one of {list(FAILURE_TYPES)}"
                )
            if isinstance(count, bool) or not isinstance(count, int):
                raise TypeError(f"Retries.criteria[{failure!r}] must be an int, got {count!r}")
            if not 0 <= count <= MAX_RETRIES:
                raise ValueError(
                    f"Retries.criteria[{failure!r}] must be in [0, {MAX_RETRIES}], got {count!r}"
                )
        object.__setattr__(self, "criteria", MappingProxyType(dict(self.criteria)))
        object.__setattr__(self, "delay", check_range("Retries", "delay", self.delay))
        if self.lifecycle is not None and not isinstance(self.lifecycle, Lifecycle):
            raise TypeError(f"Retries.lifecycle must be a Lifecycle, got {self.lifecycle!r}")

    def __hash__(self) -> int:
        # Explicit because the criteria are a read-only mapping, which is not hashable.
        return hash((tuple(self.criteria.items()), self.delay, self.lifecycle))

    def allows(self, ending: str | None, number: int) -> bool:
        """Whether attempt *number*, ending in *ending*, is retried.

        :param ending: the state the attempt ended in; only FAILED and
            TIMED_OUT are retried.
        :param number: the attempt's ``executionNumber`` (1 for the first),
            so it has had ``number - 1`` retries.
        """
        if ending not in ("FAILED", "TIMED_OUT"):
            return False
        limit = self.criteria.get(ending, self.criteria.get("ALL"))
        return limit is not None and number - 1 < limit

    def as_config(self) -> dict[str, object]:
        """The criteria as ``DescribeJob`` reports them (``jobExecutionsRetryConfig``)."""
        return {
            "criteriaList": [
                {"failureType": failure, "numberOfRetries": count}
                for failure, count in self.criteria.items()
            ]
        }


def _coerce_retries(retries: object) -> Retries | None:
    """*retries* as :class:`Retries`: a mapping is its criteria; None stays None."""
    if retries is None or isinstance(retries, Retries):
        return retries
    if isinstance(retries, Mapping):
        return Retries(criteria=retries)
    raise TypeError(
        f"retries must be a Retries or a mapping of failure type to retries, got {retries!r}"
    )


def check_schedule(schedule: Sequence[tuple[str | None, float]]) -> list[tuple[str | None, float]]:
    """An explicit schedule as checked ``(state, offset_s)`` pairs with non-decreasing offsets."""
    if isinstance(schedule, str | bytes) or not isinstance(schedule, Sequence) or not schedule:
        raise TypeError(
            f"schedule must be a non-empty sequence of (state, offset_s), got {schedule!r}"
        )
    checked: list[tuple[str | None, float]] = []
    previous = 0.0
    for position, entry in enumerate(schedule):
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise TypeError(f"schedule[{position}] must be (state, offset_s), got {entry!r}")
        state, offset = entry
        if state is not None and not isinstance(state, str):
            raise TypeError(f"schedule[{position}] state must be a str or None, got {state!r}")
        value = check_number("schedule", f"[{position}] offset", offset)
        if value < previous:
            raise ValueError(
                f"schedule[{position}] offset {value:g} is before the previous offset {previous:g}"
            )
        previous = value
        checked.append((state, value))
    return checked


class SchedulePlan:
    """Draws the schedules of one ``add`` call; its checks and set-up happen once, here.

    Given an explicit *schedule*, every execution gets it verbatim (shifted
    to its start); otherwise each draws from *lifecycle*, or from the type's
    default lifecycle when that is None.  With *retries* (IoT job executions
    only; a mapping is taken as its criteria), :attr:`retry_plan` draws the
    retried attempts.
    """

    __slots__ = (
        "cumulative",
        "execution_type",
        "lifecycle",
        "offsets",
        "retries",
        "retry_plan",
        "terminals",
        "timeout_s",
    )

    def __init__(
        self,
        execution_type: ExecutionType,
        lifecycle: Lifecycle | None = None,
        schedule: Sequence[tuple[str | None, float]] | None = None,
        retries: Retries | Mapping[str, int] | None = None,
    ) -> None:
        if lifecycle is not None and schedule is not None:
            raise ValueError("lifecycle and schedule are exclusive: pass one of them")
        if lifecycle is not None and not isinstance(lifecycle, Lifecycle):
            raise TypeError(f"lifecycle must be a Lifecycle, got {lifecycle!r}")
        checked = _coerce_retries(retries)
        if checked is not None and execution_type.name != "iot-job-execution":
            raise ValueError(f"retries are for iot-job-execution, not {execution_type.name}")
        offsets = check_schedule(schedule) if schedule is not None else None
        chosen = lifecycle if lifecycle is not None else DEFAULT_LIFECYCLES[execution_type.name]
        mix = chosen.resolved_mix(execution_type)
        self.execution_type = execution_type
        self.lifecycle = chosen
        self.offsets = offsets
        #: The timeout the executions report; an explicit schedule has none.
        self.timeout_s = chosen.timeout_s if offsets is None else None
        # Sorted so the same mix given in another key order draws the same fleet.
        self.terminals = sorted(mix)
        running = 0.0
        self.cumulative = []
        for state in self.terminals:
            running += mix[state]
            self.cumulative.append(running)
        self.retries = checked
        #: Draws the retried attempts: the retries' lifecycle, else this
        #: plan's (the type's default when it follows an explicit schedule).
        self.retry_plan = (
            SchedulePlan(
                execution_type, checked.lifecycle if checked.lifecycle is not None else chosen
            )
            if checked is not None
            else None
        )

    def draw(self, rng: random.Random, start: float) -> tuple[list[str | None], list[float]]:
        """One execution's states and the service times it enters them, from *start*.

        Times are kept to the millisecond, rounded down: an execution exists from
        the moment it is added, never half a millisecond later.
        """
        if self.offsets is not None:
            return [state for state, _ in self.offsets], [
                to_millisecond(start + offset) for _, offset in self.offsets
            ]
        kind = self.execution_type
        lifecycle = self.lifecycle
        pending = rng.uniform(*lifecycle.pending)
        running = rng.uniform(*lifecycle.running)
        position = bisect_right(self.cumulative, rng.random())
        terminal = self.terminals[min(position, len(self.terminals) - 1)]
        if lifecycle.timeout_s is not None and running > lifecycle.timeout_s:
            terminal = "TIMED_OUT"
            running = lifecycle.timeout_s
        started = to_millisecond(start + pending)
        ended = to_millisecond(start + pending + running)
        start = to_millisecond(start)
        if kind.failing is not None:
            if terminal == kind.success:
                return [kind.pending, terminal], [start, ended]
            return [kind.pending, kind.failing, terminal], [start, started, ended]
        if kind.pending == kind.running:
            return [kind.pending, terminal], [start, ended]
        return [kind.pending, kind.running, terminal], [start, started, ended]

    def retry(self, rng: random.Random, first: ExecutionRecord) -> None:
        """Draw the retried attempts that follow *first*, if its retries allow any.

        Each follows the previous attempt's ending by ``uniform(*delay)``;
        the chain is shared as every attempt's ``attempts``.  An execution
        that is never retried keeps ``attempts`` None, so it reads as one
        without retries everywhere.
        """
        retries, plan = self.retries, self.retry_plan
        if retries is None or plan is None:
            return
        chain = [first]
        last = first
        while retries.allows(last.states[-1], last.number):
            start = last.times[-1] + rng.uniform(*retries.delay)
            states, times = plan.draw(rng, start)
            last = ExecutionRecord(
                first.type,
                first.ids,
                first.parent,
                first.seq,
                states,
                times,
                plan.timeout_s,
                number=last.number + 1,
            )
            chain.append(last)
        if len(chain) > 1:
            for attempt in chain:
                attempt.attempts = chain


class ExecutionRecord:
    """One execution: its identity and its schedule, which is also its ground truth.

    ``states[i]`` is entered at service time ``times[i]``; the index in force
    at service time ``now`` is ``bisect_right(times, now) - 1`` (-1: not
    created yet).  ``settled`` is when it stopped changing for good (a
    terminal state or :data:`GONE`), infinity while it has not.

    An IoT job execution that is retried is one record per attempt, each
    with its ``number`` (the ``executionNumber``) and its own schedule; all
    of them share ``attempts``, the chain in order, which is None for an
    execution that is never retried.  The store indexes the first attempt.
    """

    __slots__ = (
        "attempts",
        "ids",
        "number",
        "parent",
        "seq",
        "settled",
        "states",
        "timeout_s",
        "times",
        "type",
    )

    def __init__(
        self,
        execution_type: ExecutionType,
        ids: dict[str, str],
        parent: str,
        seq: int,
        states: list[str | None],
        times: list[float],
        timeout_s: float | None,
        *,
        number: int = 1,
    ) -> None:
        self.type = execution_type
        self.ids = ids
        self.parent = parent
        self.seq = seq
        self.states = states
        self.times = times
        self.timeout_s = timeout_s
        self.number = number
        self.attempts: list[ExecutionRecord] | None = None
        last = states[-1]
        self.settled = times[-1] if last == GONE or last in execution_type.terminal else math.inf

    def exists(self, index: int) -> bool:
        """Whether the service still knows the execution while in ``states[index]``."""
        state = self.states[index]
        if state == GONE:
            return False
        return not (self.type.vanishes and state in self.type.terminal)

    def entered(self, index: int, state: str) -> float | None:
        """When *state* was first entered, up to ``states[index]``; None if it was not."""
        states = self.states
        for position in range(index + 1):
            if states[position] == state:
                return self.times[position]
        return None

    def current(self, now: float) -> ExecutionRecord:
        """The newest attempt created by service time *now* (the first if none is yet)."""
        attempts = self.attempts
        if attempts is None:
            return self
        for attempt in reversed(attempts):
            if attempt.times[0] <= now:
                return attempt
        return attempts[0]

    def attempt(self, number: int) -> ExecutionRecord | None:
        """The attempt with ``executionNumber`` *number*, created or not; None if none will be."""
        attempts = self.attempts
        if attempts is None:
            return self if number == self.number else None
        if isinstance(number, int) and 1 <= number <= len(attempts):
            return attempts[number - 1]
        return None

    def timeline(self) -> tuple[list[str | None], list[float]]:
        """States and the times they are entered, across every attempt, in order."""
        attempts = self.attempts
        if attempts is None:
            return self.states, self.times
        states: list[str | None] = []
        times: list[float] = []
        for attempt in attempts:
            states.extend(attempt.states)
            times.extend(attempt.times)
        return states, times

    def truth(self, to_clock: Callable[[float], float]) -> list[tuple[str | None, float]]:
        """Every state with the time it is entered, across attempts, converted by *to_clock*."""
        states, times = self.timeline()
        return [(state, to_clock(t)) for state, t in zip(states, times, strict=True)]
