"""The execution catalogue: the five kinds of execution and how each one plays out.

It owns what an execution *is*, independent of any request: the types and
their states (:data:`EXECUTION_TYPES`), the lifecycles that shape generated
executions (:class:`Lifecycle`), the drawing of a schedule from a lifecycle
or an explicit one (:class:`SchedulePlan`), and the per-execution record
whose schedule is its ground truth (:class:`ExecutionRecord`).

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

__all__ = [
    "DEFAULT_LIFECYCLES",
    "EXECUTION_TYPES",
    "GONE",
    "ExecutionRecord",
    "ExecutionType",
    "Lifecycle",
    "SchedulePlan",
    "check_schedule",
    "lookup_type",
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
    default lifecycle when that is None.
    """

    __slots__ = ("cumulative", "execution_type", "lifecycle", "offsets", "terminals", "timeout_s")

    def __init__(
        self,
        execution_type: ExecutionType,
        lifecycle: Lifecycle | None = None,
        schedule: Sequence[tuple[str | None, float]] | None = None,
    ) -> None:
        if lifecycle is not None and schedule is not None:
            raise ValueError("lifecycle and schedule are exclusive: pass one of them")
        if lifecycle is not None and not isinstance(lifecycle, Lifecycle):
            raise TypeError(f"lifecycle must be a Lifecycle, got {lifecycle!r}")
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

    def draw(self, rng: random.Random, start: float) -> tuple[list[str | None], list[float]]:
        """One execution's states and the service times it enters them, from *start*."""
        if self.offsets is not None:
            return [state for state, _ in self.offsets], [
                round(start + offset, 3) for _, offset in self.offsets
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
        started = round(start + pending, 3)
        ended = round(start + pending + running, 3)
        start = round(start, 3)
        if kind.failing is not None:
            if terminal == kind.success:
                return [kind.pending, terminal], [start, ended]
            return [kind.pending, kind.failing, terminal], [start, started, ended]
        if kind.pending == kind.running:
            return [kind.pending, terminal], [start, ended]
        return [kind.pending, kind.running, terminal], [start, started, ended]


class ExecutionRecord:
    """One execution: its identity and its schedule, which is also its ground truth.

    ``states[i]`` is entered at service time ``times[i]``; the index in force
    at service time ``now`` is ``bisect_right(times, now) - 1`` (-1: not
    created yet).  ``settled`` is when it stopped changing for good (a
    terminal state or :data:`GONE`), infinity while it has not.
    """

    __slots__ = (
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
    ) -> None:
        self.type = execution_type
        self.ids = ids
        self.parent = parent
        self.seq = seq
        self.states = states
        self.times = times
        self.timeout_s = timeout_s
        self.number = 1
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

    def truth(self, to_clock: Callable[[float], float]) -> list[tuple[str | None, float]]:
        """Every state with the time it is entered, converted by *to_clock*."""
        return [(state, to_clock(t)) for state, t in zip(self.states, self.times, strict=True)]
