"""The fleet: seeded execution lifecycles, throttles and faults, with no I/O.

A :class:`Fleet` holds executions of five AWS execution types.  Each one gets a
schedule at creation, a list of ``(state, entered_at)`` pairs in *service time*,
so answering "what is its state now?" is a bisect, never a background task.
Service time runs ``speed`` times faster than ``clock``; ground truth is
reported back in the ``clock`` time base so a client timing itself with the
same clock can measure detection latency directly.

The HTTP server (``_server``) and the in-process clients (``_inprocess``) are
thin transports around :meth:`Fleet.handle`, so both see the same lifecycles,
throttles and faults.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import re
import threading
import time
import uuid
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ._protocol import IMPLEMENTED, ErrorSpec, OperationSpec, Outcome, operation_spec, service_model

if TYPE_CHECKING:
    from ._inprocess import AsyncFakeClient, FakeClient

__all__ = [
    "DEFAULT_LIFECYCLES",
    "EXECUTION_TYPES",
    "GONE",
    "ExecutionType",
    "Faults",
    "Fleet",
    "Latency",
    "Lifecycle",
    "Outcome",
    "RequestRecord",
    "ThrottleConfig",
]

#: Schedule marker: from this offset on the execution no longer exists
#: (Describe answers ResourceNotFoundException and List skips it).
GONE: Final = "<GONE>"

_INF: Final = math.inf


@dataclass(frozen=True, slots=True)
class ExecutionType:
    """What the simulator knows about one kind of execution."""

    name: str
    service: str
    describe: str  # the operation that describes one execution
    id_params: tuple[str, ...]  # the describe call's identifying parameters
    pending: str  # state before work starts
    running: str  # state while working
    terminal: frozenset[str]
    success: str
    # Transfer walks EXCEPTION through HANDLING_EXCEPTION: the "running" phase
    # of a failing execution is spent in this state instead.
    failing: str | None = None
    # Transfer forgets finished executions: Describe answers 404, List skips them.
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


def _check_number(owner: str, name: str, value: object, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < minimum:
        raise ValueError(f"{owner}.{name} must be a finite number >= {minimum:g}, got {value!r}")
    return number


def _check_range(owner: str, name: str, value: object) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{owner}.{name} must be a (min_s, max_s) pair, got {value!r}")
    low = _check_number(owner, f"{name}[0]", value[0])
    high = _check_number(owner, f"{name}[1]", value[1])
    if low > high:
        raise ValueError(f"{owner}.{name}: min {low:g} > max {high:g} in {tuple(value)!r}")
    return low, high


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
    """

    pending: tuple[float, float] = (0.0, 2.0)
    running: tuple[float, float] = (5.0, 30.0)
    mix: Mapping[str, float] | None = None
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pending", _check_range("Lifecycle", "pending", self.pending))
        object.__setattr__(self, "running", _check_range("Lifecycle", "running", self.running))
        if self.timeout_s is not None:
            timeout = _check_number("Lifecycle", "timeout_s", self.timeout_s)
            if timeout <= 0:
                raise ValueError(f"Lifecycle.timeout_s must be > 0, got {self.timeout_s!r}")
            object.__setattr__(self, "timeout_s", timeout)
        if self.mix is not None:
            if not isinstance(self.mix, Mapping) or not self.mix:
                raise TypeError(f"Lifecycle.mix must be a non-empty mapping, got {self.mix!r}")
            for state, weight in self.mix.items():
                _check_number("Lifecycle", f"mix[{state!r}]", weight)
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
        """The mix to draw from for *execution_type*, validated against its states."""
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


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Token buckets per (region, operation), refilled in ``clock`` time.

    ``per_operation`` overrides ``(rate, burst)`` for single operations, keyed
    ``"Operation"`` or ``"service:Operation"`` (e.g. ``"iot:DescribeJobExecution"``).
    Throttling is deliberately not scaled by ``speed``: a client's request
    budget is real time even when lifecycles are fast-forwarded.
    """

    rate: float
    burst: float
    per_operation: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _check_number("ThrottleConfig", "rate", self.rate))
        object.__setattr__(self, "burst", _check_number("ThrottleConfig", "burst", self.burst))
        known = {op for ops in IMPLEMENTED.values() for op in ops} | {
            f"{service}:{op}" for service, ops in IMPLEMENTED.items() for op in ops
        }
        checked: dict[str, tuple[float, float]] = {}
        for key, value in self.per_operation.items():
            if key not in known:
                raise ValueError(f"ThrottleConfig.per_operation: unknown operation {key!r}")
            if not isinstance(value, tuple | list) or len(value) != 2:
                raise TypeError(
                    f"ThrottleConfig.per_operation[{key!r}] must be (rate, burst), got {value!r}"
                )
            checked[key] = (
                _check_number("ThrottleConfig", f"per_operation[{key!r}].rate", value[0]),
                _check_number("ThrottleConfig", f"per_operation[{key!r}].burst", value[1]),
            )
        object.__setattr__(self, "per_operation", MappingProxyType(checked))

    def __hash__(self) -> int:
        return hash((self.rate, self.burst, tuple(sorted(self.per_operation.items()))))

    def limits(self, spec: OperationSpec) -> tuple[float, float]:
        """``(rate, burst)`` for one operation."""
        found = self.per_operation.get(spec.key) or self.per_operation.get(spec.name)
        return found if found is not None else (self.rate, self.burst)


@dataclass(frozen=True, slots=True)
class Latency:
    """Added response latency: ``uniform(low, high)`` seconds with ``probability``."""

    low: float = 0.0
    high: float = 0.0
    probability: float = 1.0

    def __post_init__(self) -> None:
        _check_range("Latency", "(low, high)", (self.low, self.high))
        if not 0.0 <= _check_number("Latency", "probability", self.probability) <= 1.0:
            raise ValueError(f"Latency.probability must be in [0, 1], got {self.probability!r}")

    def __call__(self, rng: random.Random) -> float:
        """Draw one latency from *rng*."""
        if self.probability < 1.0 and rng.random() >= self.probability:
            return 0.0
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Faults:
    """Seeded fault injection; each request draws at most one fault.

    ``error_5xx`` answers a modeled server error of the operation, ``reset``
    drops the connection without a response, ``malformed`` answers 200 with a
    truncated JSON body, ``throttle`` forces a ThrottlingException whatever
    the token bucket says (for throttle storms).  ``latency`` delays the
    response by ``latency(rng)`` seconds.  Assign a new ``Faults`` to
    ``fleet.faults`` to start or stop a storm; the draw sequence restarts
    from ``seed``.
    """

    error_5xx: float = 0.0
    reset: float = 0.0
    malformed: float = 0.0
    throttle: float = 0.0
    latency: Callable[[random.Random], float] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_5xx", "reset", "malformed", "throttle"):
            value = _check_number("Faults", name, getattr(self, name))
            if value > 1.0:
                raise ValueError(f"Faults.{name} must be a probability in [0, 1], got {value!r}")
            object.__setattr__(self, name, value)
        total = self.error_5xx + self.reset + self.malformed + self.throttle
        if total > 1.0 + 1e-9:
            raise ValueError(f"Faults: probabilities sum to {total!r} > 1")
        if self.latency is not None and not callable(self.latency):
            raise TypeError(
                f"Faults.latency must be callable(random.Random) -> float, got {self.latency!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"Faults.seed must be an int, got {self.seed!r}")


class RequestRecord(NamedTuple):
    """One request as the service saw it (``Fleet(record_requests=True)``)."""

    clock_time: float
    region: str
    operation: str  # "service:Operation"
    result: str  # "ok", "error", "throttled", "error_5xx", "reset", "malformed"


class _ServiceError(Exception):
    def __init__(self, error: ErrorSpec, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.extra = extra


class _Execution:
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
        self.settled = times[-1] if last == GONE or last in execution_type.terminal else _INF


_JOB_COUNTS: Final[Mapping[str, str]] = {
    "QUEUED": "numberOfQueuedThings",
    "IN_PROGRESS": "numberOfInProgressThings",
    "SUCCEEDED": "numberOfSucceededThings",
    "FAILED": "numberOfFailedThings",
    "REJECTED": "numberOfRejectedThings",
    "REMOVED": "numberOfRemovedThings",
    "CANCELED": "numberOfCanceledThings",
    "TIMED_OUT": "numberOfTimedOutThings",
}


class _Group:
    """Executions sharing a parent (job, command, task, workflow, asset).

    For IoT jobs it also keeps per-state arrays of enter and leave times, so
    DescribeJob counts are two bisects per state instead of a scan of every
    execution.  They are appended unsorted and sorted on the next read.
    """

    __slots__ = (
        "created",
        "dirty",
        "enter",
        "events",
        "leave",
        "lifecycle",
        "members",
        "parent",
        "settled",
    )

    def __init__(self, parent: str, created: float, lifecycle: Lifecycle | None) -> None:
        self.parent = parent
        self.created = created
        self.lifecycle = lifecycle
        self.members: list[_Execution] = []
        self.settled = -_INF
        self.enter: dict[str, list[float]] = {state: [] for state in _JOB_COUNTS}
        self.leave: dict[str, list[float]] = {state: [] for state in _JOB_COUNTS}
        self.events: list[float] = []
        self.dirty = False

    def track(self, execution: _Execution) -> None:
        self.members.append(execution)
        self.settled = max(self.settled, execution.settled)
        states, times = execution.states, execution.times
        last = len(states) - 1
        for index, state in enumerate(states):
            self.events.append(times[index])
            if state in self.enter:
                self.enter[state].append(times[index])
                if index < last:
                    self.leave[state].append(times[index + 1])
        self.dirty = True

    def counts(self, now: float) -> dict[str, int]:
        if self.dirty:
            for values in (*self.enter.values(), *self.leave.values(), self.events):
                values.sort()
            self.dirty = False
        return {
            name: bisect_right(self.enter[state], now) - bisect_right(self.leave[state], now)
            for state, name in _JOB_COUNTS.items()
        }

    def last_event(self, now: float) -> float:
        index = bisect_right(self.events, now)
        return self.events[index - 1] if index else self.created


class _Counter:
    __slots__ = ("errors", "faulted", "served", "throttled")

    def __init__(self) -> None:
        self.served = 0
        self.throttled = 0
        self.faulted: dict[str, int] = {}
        self.errors: dict[str, int] = {}


_ALNUM: Final = "abcdefghijklmnopqrstuvwxyz0123456789"


class Fleet:
    """Executions of the five types, answering the implemented operations.

    Args:
        seed: seeds every random draw that shapes the fleet (ids, durations,
            outcomes), so the same seed and the same calls give the same fleet.
        clock: the time base for throttling, request records and ground
            truth; pass the event loop's ``time`` for virtual-time tests.
        speed: service time runs this many times faster than ``clock``.
        throttle: token buckets; None disables throttling.
        faults: fault injection; None injects nothing.
        region, account: used in ARNs and as the default request region.
        record_requests: keep a :class:`RequestRecord` for every request.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        speed: float = 1.0,
        throttle: ThrottleConfig | None = None,
        faults: Faults | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        record_requests: bool = False,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"Fleet.seed must be an int, got {seed!r}")
        if not callable(clock):
            raise TypeError(f"Fleet.clock must be callable, got {clock!r}")
        speed = _check_number("Fleet", "speed", speed)
        if speed <= 0:
            raise ValueError(f"Fleet.speed must be > 0, got {speed!r}")
        if throttle is not None and not isinstance(throttle, ThrottleConfig):
            raise TypeError(f"Fleet.throttle must be a ThrottleConfig or None, got {throttle!r}")
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"Fleet.faults must be a Faults or None, got {faults!r}")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
            raise ValueError(f"Fleet.region must look like 'us-east-1', got {region!r}")
        if not re.fullmatch(r"\d{12}", account):
            raise ValueError(f"Fleet.account must be 12 digits, got {account!r}")
        self.seed = seed
        self.speed = speed
        self.region = region
        self.account = account
        self._clock = clock
        self._origin = clock()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._seq = 0
        self._all: list[_Execution] = []
        self._by_key: dict[str, dict[tuple[str, ...], _Execution]] = {
            name: {} for name in EXECUTION_TYPES
        }
        self._groups: dict[str, dict[str, _Group]] = {name: {} for name in EXECUTION_TYPES}
        self._by_target: dict[str, list[_Execution]] = {}
        self._counters: dict[str, _Counter] = {}
        self._records: list[RequestRecord] | None = [] if record_requests else None
        self._buckets: dict[tuple[str, str], list[float]] = {}
        self._limits: dict[str, tuple[float, float]] = {}
        self._throttle = throttle
        self._faults = faults
        #: Access key ids the HTTP server refuses, with the error code to answer
        #: (ExpiredTokenException, UnrecognizedClientException, AccessDeniedException):
        #: how tests meet expired or wrong credentials.
        self.refused_keys: dict[str, str] = {}
        self._fault_rng = random.Random(faults.seed if faults else 0)
        prefix = random.Random(seed).getrandbits(64)
        self._request_prefix = (
            f"{prefix >> 32:08x}-{prefix >> 16 & 0xFFFF:04x}-4{prefix & 0xFFF:03x}-8000-"
        )
        self._request_count = 0
        self._handlers: dict[
            tuple[str, str], Callable[[Mapping[str, Any], float, OperationSpec], dict[str, Any]]
        ] = {
            ("iot", "DescribeJobExecution"): self._describe_job_execution,
            ("iot", "ListJobExecutionsForJob"): self._list_job_executions,
            ("iot", "DescribeJob"): self._describe_job,
            ("iot", "GetCommandExecution"): self._get_command_execution,
            ("iot", "ListCommandExecutions"): self._list_command_executions,
            ("iotsitewise", "DescribeExecution"): self._describe_sitewise,
            ("iotsitewise", "ListExecutions"): self._list_sitewise,
            ("snow-device-management", "DescribeExecution"): self._describe_snow,
            ("snow-device-management", "ListExecutions"): self._list_snow,
            ("transfer", "DescribeExecution"): self._describe_transfer,
            ("transfer", "ListExecutions"): self._list_transfer,
        }

    def __repr__(self) -> str:
        return (
            f"Fleet(seed={self.seed}, speed={self.speed:g}, executions={len(self._all)}, "
            f"throttle={self._throttle!r}, faults={self._faults!r})"
        )

    # -- time ----------------------------------------------------------------

    def now(self) -> float:
        """The current service time (epoch seconds as the responses report it)."""
        return self._origin + (self._clock() - self._origin) * self.speed

    def to_clock(self, service_time: float) -> float:
        """Convert a service time to the ``clock`` time base."""
        return self._origin + (service_time - self._origin) / self.speed

    # -- configuration at runtime ---------------------------------------------

    @property
    def faults(self) -> Faults | None:
        """Fault injection in force; assign to start or stop a storm."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"Fleet.faults must be a Faults or None, got {faults!r}")
        with self._lock:
            self._faults = faults
            self._fault_rng = random.Random(faults.seed if faults else 0)

    @property
    def throttle(self) -> ThrottleConfig | None:
        """Throttling in force; assigning one starts every bucket full."""
        return self._throttle

    @throttle.setter
    def throttle(self, throttle: ThrottleConfig | None) -> None:
        if throttle is not None and not isinstance(throttle, ThrottleConfig):
            raise TypeError(f"Fleet.throttle must be a ThrottleConfig or None, got {throttle!r}")
        with self._lock:
            self._throttle = throttle
            self._buckets.clear()
            self._limits.clear()

    # -- creating executions ----------------------------------------------------

    def add(
        self,
        type: str,
        count: int = 1,
        *,
        parent: str | None = None,
        lifecycle: Lifecycle | None = None,
        schedule: Sequence[tuple[str | None, float]] | None = None,
        start_at: float | None = None,
    ) -> list[dict[str, str]]:
        """Create *count* executions of *type* and return their describe parameters.

        ``parent`` groups them: the IoT jobId, the command (id or ARN), the
        Snow taskId, the Transfer WorkflowId, the SiteWise asset id; a new one
        is generated when None.  ``start_at`` is the service time they are
        created at (default: now); before it they do not exist.

        ``schedule`` replaces the lifecycle with an explicit list of
        ``(state, offset_s)`` pairs, offsets in service seconds from the start
        and non-decreasing.  Any state string is allowed (the reliability
        tests use unknown ones and illegal orders); ``None`` makes responses
        omit the status field; :data:`GONE` makes the execution vanish.
        """
        return self._add(type, count, parent, None, lifecycle, schedule, start_at)

    def add_iot_job(
        self, job_id: str, things: int | Sequence[str], *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """An IoT job rolled out to *things* (a count, or thing names)."""
        return self._add_members("iot-job-execution", job_id, things, lifecycle)

    def add_command(
        self, command: str, targets: int | Sequence[str], *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """An IoT command (id or ARN) executed on *targets* (a count, thing names or ARNs)."""
        return self._add_members("iot-command-execution", command, targets, lifecycle)

    def add_snow_task(
        self, task_id: str, devices: int | Sequence[str], *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """A Snow Device Management task on *devices* (a count, or managed device ids)."""
        return self._add_members("snow-execution", task_id, devices, lifecycle)

    def add_transfer_workflow(
        self, workflow_id: str, count: int, *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """*count* executions of one Transfer Family workflow (``w-`` + 17 characters)."""
        return self._add("transfer-execution", count, workflow_id, None, lifecycle, None, None)

    def add_sitewise_executions(
        self, asset_id: str, count: int, *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """*count* IoT SiteWise executions targeting one asset (a UUID)."""
        return self._add("sitewise-execution", count, asset_id, None, lifecycle, None, None)

    def _add_members(
        self, type_name: str, parent: str, members: int | Sequence[str], lifecycle: Lifecycle | None
    ) -> list[dict[str, str]]:
        if isinstance(members, int):
            return self._add(type_name, members, parent, None, lifecycle, None, None)
        if isinstance(members, str):
            raise TypeError(
                f"{type_name}: members must be a count or a sequence of names, got {members!r}"
            )
        names = list(members)
        return self._add(type_name, len(names), parent, names, lifecycle, None, None)

    def _add(
        self,
        type_name: str,
        count: int,
        parent: str | None,
        members: list[str] | None,
        lifecycle: Lifecycle | None,
        schedule: Sequence[tuple[str | None, float]] | None,
        start_at: float | None,
    ) -> list[dict[str, str]]:
        execution_type = EXECUTION_TYPES.get(type_name)
        if execution_type is None:
            raise ValueError(
                f"type: unknown execution type {type_name!r}; "
                f"expected one of {sorted(EXECUTION_TYPES)}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an int >= 0, got {count!r}")
        if lifecycle is not None and schedule is not None:
            raise ValueError("lifecycle and schedule are exclusive: pass one of them")
        if lifecycle is not None and not isinstance(lifecycle, Lifecycle):
            raise TypeError(f"lifecycle must be a Lifecycle, got {lifecycle!r}")
        offsets = _check_schedule(schedule) if schedule is not None else None
        chosen = lifecycle if lifecycle is not None else DEFAULT_LIFECYCLES[type_name]
        mix = chosen.resolved_mix(execution_type)
        with self._lock:
            start = self.now() if start_at is None else _check_number("add", "start_at", start_at)
            parent = self._parent(execution_type, parent)
            group = self._groups[type_name].get(parent)
            existing = len(group.members) if group is not None else 0
            index = self._by_key[type_name]
            key_params = _KEY_PARAMS[type_name]
            # Everything is drawn and checked before anything is stored, so a
            # duplicate id fails the whole call and leaves the fleet as it was.
            batch: list[tuple[tuple[str, ...], dict[str, str]]] = []
            seen: set[tuple[str, ...]] = set()
            for position in range(count):
                member = members[position] if members is not None else None
                ids = self._new_ids(execution_type, parent, existing + position + 1, member)
                key = tuple(ids[name] for name in key_params)
                if key in index or key in seen:
                    raise ValueError(f"{type_name} {ids!r} already exists")
                seen.add(key)
                batch.append((key, ids))
            if not batch:
                return []  # no empty groups: a job without executions has no status
            if group is None:
                group = self._groups[type_name][parent] = _Group(parent, round(start, 3), lifecycle)
            plan = _Plan(execution_type, chosen, mix, offsets)
            timeout = chosen.timeout_s if offsets is None else None
            rng = self._rng
            by_target = self._by_target if type_name == "iot-command-execution" else None
            created: list[dict[str, str]] = []
            for key, ids in batch:
                states, times = plan.draw(rng, start)
                self._seq += 1
                execution = _Execution(
                    execution_type, ids, parent, self._seq, states, times, timeout
                )
                index[key] = execution
                group.track(execution)
                self._all.append(execution)
                if by_target is not None:
                    by_target.setdefault(ids["targetArn"], []).append(execution)
                created.append(dict(ids))
            return created

    def _parent(self, execution_type: ExecutionType, parent: str | None) -> str:
        rng = self._rng
        name = execution_type.name
        if parent is None:
            if name == "iot-job-execution":
                parent = f"job-{rng.getrandbits(48):012x}"
            elif name == "iot-command-execution":
                parent = f"cmd-{rng.getrandbits(48):012x}"
            elif name == "snow-execution":
                parent = f"task-{rng.getrandbits(48):012x}"
            elif name == "transfer-execution":
                parent = "w-" + "".join(rng.choice(_ALNUM) for _ in range(17))
            else:
                parent = _uuid(rng)
        if not isinstance(parent, str):
            raise TypeError(f"parent must be a str, got {parent!r}")
        if name == "iot-command-execution":
            if not parent.startswith("arn:"):
                _check_id("iot", "GetCommandExecution", "executionId", parent, "command id")
                parent = f"arn:aws:iot:{self.region}:{self.account}:command/{parent}"
        elif name == "iot-job-execution":
            _check_id("iot", "DescribeJobExecution", "jobId", parent)
        elif name == "snow-execution":
            _check_id("snow-device-management", "DescribeExecution", "taskId", parent)
        elif name == "transfer-execution":
            _check_id("transfer", "DescribeExecution", "WorkflowId", parent)
        else:
            _check_id("iotsitewise", "DescribeExecution", "executionId", parent, "asset id")
        return parent

    def _new_ids(
        self, execution_type: ExecutionType, parent: str, ordinal: int, member: str | None
    ) -> dict[str, str]:
        # Generated ids satisfy the model by construction; only names a
        # caller supplies are checked against its length and pattern.
        rng = self._rng
        name = execution_type.name
        if name == "iot-job-execution":
            if member is None:
                return {"jobId": parent, "thingName": f"thing-{ordinal:05d}"}
            _check_id("iot", "DescribeJobExecution", "thingName", member)
            return {"jobId": parent, "thingName": member}
        if name == "iot-command-execution":
            if member is None:
                target = self._thing_arn(f"thing-{ordinal:05d}")
            elif member.startswith("arn:"):
                target = member
            else:
                _check_id("iot", "DescribeJobExecution", "thingName", member, "target thing name")
                target = self._thing_arn(member)
            return {"executionId": _uuid(rng), "targetArn": target}
        if name == "snow-execution":
            if member is None:
                member = f"smd-{rng.getrandbits(64):016x}"
            else:
                _check_id("snow-device-management", "DescribeExecution", "managedDeviceId", member)
            return {"managedDeviceId": member, "taskId": parent}
        if name == "transfer-execution":
            return {"ExecutionId": _uuid(rng), "WorkflowId": parent}
        return {"executionId": _uuid(rng)}

    # -- ground truth -------------------------------------------------------------

    def truth(self, type: str, **ids: str) -> list[tuple[str | None, float]]:
        """The states *type* execution *ids* enters and when, in ``clock`` time.

        Transfer executions vanish on entering COMPLETED or EXCEPTION; the
        truth lists that state (when it happened) and the disappearance is
        implied.  Explicit schedules list :data:`GONE` where they vanish.
        """
        execution_type = EXECUTION_TYPES.get(type)
        if execution_type is None:
            raise ValueError(
                f"type: unknown execution type {type!r}; expected one of {sorted(EXECUTION_TYPES)}"
            )
        try:
            key = tuple(ids[name] for name in _KEY_PARAMS[type])
        except KeyError as missing:
            raise TypeError(
                f"truth({type!r}) needs {execution_type.id_params}, got {sorted(ids)}"
            ) from missing
        execution = self._by_key[type].get(key)
        if execution is None or any(
            execution.ids[k] != v for k, v in ids.items() if k in execution.ids
        ):
            raise KeyError(f"no {type} with {ids!r}")
        return self._truth(execution)

    def _truth(self, execution: _Execution) -> list[tuple[str | None, float]]:
        to_clock = self.to_clock
        return [
            (state, to_clock(t)) for state, t in zip(execution.states, execution.times, strict=True)
        ]

    def executions(self) -> Iterator[tuple[str, dict[str, str], list[tuple[str | None, float]]]]:
        """Every execution in creation order as ``(type, ids, truth)``."""
        with self._lock:
            snapshot = list(self._all)
        for execution in snapshot:
            yield execution.type.name, dict(execution.ids), self._truth(execution)

    def __len__(self) -> int:
        return len(self._all)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per operation (``"service:Operation"``): requests served, throttled, faulted.

        ``served`` counts requests the service logic answered (200, or a
        modeled client error such as ResourceNotFoundException, broken down
        in ``errors`` by code); ``throttled`` counts ThrottlingExceptions from
        the bucket or forced by faults; ``faulted`` counts injected faults by
        kind (``error_5xx``, ``reset``, ``malformed``, ``throttle``,
        ``latency``).
        """
        with self._lock:
            return {
                key: {
                    "served": c.served,
                    "throttled": c.throttled,
                    "faulted": dict(c.faulted),
                    "errors": dict(c.errors),
                }
                for key, c in self._counters.items()
            }

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far; needs ``Fleet(record_requests=True)``."""
        if self._records is None:
            raise RuntimeError(
                "request records are off: create the Fleet with record_requests=True"
            )
        with self._lock:
            return list(self._records)

    def reset_stats(self) -> None:
        """Zero the counters and drop the request records."""
        with self._lock:
            self._counters.clear()
            if self._records is not None:
                self._records.clear()

    # -- clients --------------------------------------------------------------------

    def client(self, service: str, *, region: str | None = None) -> FakeClient:
        """A synchronous in-process client shaped like ``boto3.client(service)``."""
        from ._inprocess import FakeClient

        return FakeClient(self, service, region=region)

    def async_client(self, service: str, *, region: str | None = None) -> AsyncFakeClient:
        """An asynchronous in-process client shaped like an aioboto3 client."""
        from ._inprocess import AsyncFakeClient

        return AsyncFakeClient(self, service, region=region)

    # -- serving ----------------------------------------------------------------------

    def next_request_id(self) -> str:
        """A fresh UUID-shaped request id (a seeded prefix and a counter: cheap)."""
        self._request_count += 1
        return f"{self._request_prefix}{self._request_count:012x}"

    def handle(
        self, service: str, operation: str, params: Mapping[str, Any], *, region: str | None = None
    ) -> Outcome:
        """Answer one request; the transport-independent heart of the simulator."""
        try:
            spec = operation_spec(service, operation)
        except (KeyError, ValueError):
            return Outcome(
                400,
                error=ErrorSpec("UnknownOperationException", 400),
                message=f"{service}:{operation}",
            )
        return self.handle_spec(spec, params, region)

    def handle_spec(
        self, spec: OperationSpec, params: Mapping[str, Any], region: str | None
    ) -> Outcome:
        """:meth:`handle` for a compiled operation (what the transports call)."""
        if not spec.implemented:
            return Outcome(
                501,
                error=ErrorSpec("NotImplemented", 501),
                message=f"{spec.key} is modeled but the simulator does not implement it",
            )
        region = region or self.region
        with self._lock:
            clock_now = self._clock()
            counter = self._counters.get(spec.key)
            if counter is None:
                counter = self._counters[spec.key] = _Counter()
            outcome = self._decide(spec, params, region, clock_now, counter)
            if self._records is not None:
                self._records.append(RequestRecord(clock_now, region, spec.key, _result(outcome)))
            return outcome

    def _decide(
        self,
        spec: OperationSpec,
        params: Mapping[str, Any],
        region: str,
        clock_now: float,
        counter: _Counter,
    ) -> Outcome:
        faults = self._faults
        delay = 0.0
        draw = 2.0
        if faults is not None:
            if faults.latency is not None:
                delay = faults.latency(self._fault_rng)
                if delay > 0:
                    counter.faulted["latency"] = counter.faulted.get("latency", 0) + 1
            if faults.throttle or faults.error_5xx or faults.reset or faults.malformed:
                draw = self._fault_rng.random()
            if draw < faults.throttle:
                counter.throttled += 1
                counter.faulted["throttle"] = counter.faulted.get("throttle", 0) + 1
                return _throttled(spec, delay)
        if self._throttle is not None and not self._take_token(spec, region, clock_now):
            counter.throttled += 1
            return _throttled(spec, delay)
        if faults is not None and draw < 1.0:
            draw -= faults.throttle
            if draw < faults.error_5xx:
                counter.faulted["error_5xx"] = counter.faulted.get("error_5xx", 0) + 1
                error = spec.server_errors[int(draw / faults.error_5xx * len(spec.server_errors))]
                return Outcome(
                    error.status, error=error, message="Simulated server error", delay=delay
                )
            draw -= faults.error_5xx
            if draw < faults.reset:
                counter.faulted["reset"] = counter.faulted.get("reset", 0) + 1
                return Outcome(0, fault="reset", delay=delay)
            draw -= faults.reset
            malformed = draw < faults.malformed
        else:
            malformed = False
        counter.served += 1
        problem = _invalid_params(spec, params)
        try:
            if problem is not None:
                raise _ServiceError(spec.invalid, problem)  # noqa: TRY301 - one path for all errors
            body = self._handlers[spec.service, spec.name](params, self.now(), spec)
        except _ServiceError as exc:
            counter.errors[exc.error.code] = counter.errors.get(exc.error.code, 0) + 1
            return Outcome(
                exc.error.status, error=exc.error, message=exc.message, extra=exc.extra, delay=delay
            )
        if malformed:
            counter.faulted["malformed"] = counter.faulted.get("malformed", 0) + 1
            return Outcome(spec.success_status, body=body, fault="malformed", delay=delay)
        return Outcome(spec.success_status, body=body, delay=delay)

    def _take_token(self, spec: OperationSpec, region: str, clock_now: float) -> bool:
        throttle = self._throttle
        assert throttle is not None
        limits = self._limits.get(spec.key)
        if limits is None:
            limits = self._limits[spec.key] = throttle.limits(spec)
        rate, burst = limits
        bucket = self._buckets.get((region, spec.key))
        if bucket is None:
            bucket = self._buckets[region, spec.key] = [burst, clock_now]
        tokens = min(burst, bucket[0] + (clock_now - bucket[1]) * rate)
        bucket[1] = clock_now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False

    # -- operations: shared helpers -----------------------------------------------------

    def _find(
        self, type_name: str, key: tuple[str, ...], now: float, spec: OperationSpec
    ) -> tuple[_Execution, int]:
        execution = self._by_key[type_name].get(key)
        if execution is not None:
            index = bisect_right(execution.times, now) - 1
            if index >= 0 and _exists(execution, index):
                return execution, index
        what = EXECUTION_TYPES[type_name]
        message = f"No {type_name} found for " + ", ".join(
            f"{name}={value}" for name, value in zip(_KEY_PARAMS[type_name], key, strict=True)
        )
        extra = None
        if what.service == "transfer":
            extra = {"Resource": key[1], "ResourceType": "Execution"}
        raise _ServiceError(spec.not_found, message, extra)

    def _group(self, type_name: str, parent: str, spec: OperationSpec, what: str) -> _Group:
        group = self._groups[type_name].get(parent)
        if group is None:
            extra = (
                {"Resource": parent, "ResourceType": "Workflow"}
                if spec.service == "transfer"
                else None
            )
            raise _ServiceError(spec.not_found, f"No {what} {parent} found", extra)
        return group

    def _page(
        self,
        spec: OperationSpec,
        members: Sequence[_Execution],
        params: Mapping[str, Any],
        now: float,
        scope: str,
        keep: Callable[[_Execution, int], bool] | None,
        *,
        max_name: str = "maxResults",
        token_name: str = "nextToken",  # noqa: S107 - a parameter name, not a secret
        descending: bool = False,
    ) -> tuple[list[tuple[_Execution, int]], str | None]:
        """One page of *members* that exist now and pass *keep*, plus the next token.

        The token is the base64 of a position in *members* and a checksum of
        the query it belongs to, so a token from another listing is refused
        rather than silently misread.
        """
        low, high = spec.bounds.get(max_name, (1, None))
        limit = params.get(max_name, high)
        if limit is None:
            limit = 100
        if (
            not isinstance(limit, int)
            or (low is not None and limit < low)
            or (high is not None and limit > high)
        ):
            raise _ServiceError(
                spec.invalid,
                f"1 validation error detected: Value '{limit}' at '{max_name}' failed to satisfy "
                f"constraint: Member must have value between {low} and {high}",
            )
        checksum = zlib.crc32(scope.encode())
        position = 0
        token = params.get(token_name)
        if token is not None:
            position = _read_token(spec, token, checksum)
        page: list[tuple[_Execution, int]] = []
        total = len(members)
        while position < total and len(page) < limit:
            execution = members[total - 1 - position] if descending else members[position]
            position += 1
            index = bisect_right(execution.times, now) - 1
            if (
                index >= 0
                and _exists(execution, index)
                and (keep is None or keep(execution, index))
            ):
                page.append((execution, index))
        next_token = None
        if position < total:
            next_token = base64.b64encode(f"{checksum:08x}:{position}".encode()).decode()
        return page, next_token

    # -- IoT jobs -------------------------------------------------------------------------

    def _thing_arn(self, thing: str) -> str:
        return f"arn:aws:iot:{self.region}:{self.account}:thing/{thing}"

    def _describe_job_execution(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        execution, index = self._find(
            "iot-job-execution", (params["jobId"], params["thingName"]), now, spec
        )
        number = params.get("executionNumber")
        if number is not None and number != execution.number:
            raise _ServiceError(
                spec.not_found, f"No execution number {number} for thing {params['thingName']}"
            )
        states, times = execution.states, execution.times
        state = states[index]
        body: dict[str, Any] = {
            "jobId": execution.ids["jobId"],
            "thingArn": self._thing_arn(execution.ids["thingName"]),
            "queuedAt": times[0],
            "lastUpdatedAt": times[index],
            "executionNumber": execution.number,
            "versionNumber": index + 1,
        }
        if state is not None:
            body["status"] = state
        started = _entered(execution, index, "IN_PROGRESS")
        if started is not None:
            body["startedAt"] = started
        if state == "IN_PROGRESS":
            body["statusDetails"] = {"detailsMap": {"step": "downloading"}}
            if execution.timeout_s is not None and started is not None:
                body["approximateSecondsBeforeTimedOut"] = max(
                    0, math.ceil(started + execution.timeout_s - now)
                )
        elif state in execution.type.terminal:
            body["statusDetails"] = {"detailsMap": {"result": str(state).lower()}}
            if state == "CANCELED":
                body["forceCanceled"] = False
        return {"execution": body}

    def _list_job_executions(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        job_id = params["jobId"]
        group = self._group("iot-job-execution", job_id, spec, "job")
        status = params.get("status")
        keep = None if status is None else _state_is(status)
        page, token = self._page(spec, group.members, params, now, f"jobs/{job_id}/{status}", keep)
        summaries = []
        for execution, index in page:
            times = execution.times
            summary: dict[str, Any] = {
                "queuedAt": times[0],
                "lastUpdatedAt": times[index],
                "executionNumber": execution.number,
                "retryAttempt": 0,
            }
            state = execution.states[index]
            if state is not None:
                summary["status"] = state
            started = _entered(execution, index, "IN_PROGRESS")
            if started is not None:
                summary["startedAt"] = started
            summaries.append(
                {
                    "thingArn": self._thing_arn(execution.ids["thingName"]),
                    "jobExecutionSummary": summary,
                }
            )
        result: dict[str, Any] = {"executionSummaries": summaries}
        if token is not None:
            result["nextToken"] = token
        return result

    def _describe_job(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        job_id = params["jobId"]
        group = self._group("iot-job-execution", job_id, spec, "job")
        counts = group.counts(now)
        done = now >= group.settled
        job: dict[str, Any] = {
            "jobArn": f"arn:aws:iot:{self.region}:{self.account}:job/{job_id}",
            "jobId": job_id,
            "targetSelection": "SNAPSHOT",
            "status": "COMPLETED" if done else "IN_PROGRESS",
            "targets": [f"arn:aws:iot:{self.region}:{self.account}:thinggroup/{job_id}-targets"],
            "description": f"Simulated job rolled out to {len(group.members)} things",
            "createdAt": group.created,
            "lastUpdatedAt": group.last_event(now),
            "jobProcessDetails": counts,
            "isConcurrent": False,
        }
        if done:
            job["completedAt"] = group.settled
        if group.lifecycle is not None and group.lifecycle.timeout_s is not None:
            job["timeoutConfig"] = {
                "inProgressTimeoutInMinutes": math.ceil(group.lifecycle.timeout_s / 60)
            }
        return {"job": job}

    # -- IoT commands ----------------------------------------------------------------------

    def _get_command_execution(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        execution, index = self._find("iot-command-execution", (params["executionId"],), now, spec)
        if execution.ids["targetArn"] != params["targetArn"]:
            raise _ServiceError(
                spec.not_found,
                f"No command execution {params['executionId']} for target {params['targetArn']}",
            )
        states, times = execution.states, execution.times
        state = states[index]
        created = times[0]
        secret = (execution.seq * 0x9E3779B97F4A7C15 + self.seed) & 0xFFFFFFFFFFFF
        body: dict[str, Any] = {
            "executionId": execution.ids["executionId"],
            "commandArn": execution.parent,
            "targetArn": execution.ids["targetArn"],
            "createdAt": created,
            "lastUpdatedAt": times[index],
            "executionTimeoutSeconds": math.ceil(execution.timeout_s)
            if execution.timeout_s
            else 600,
            "timeToLive": created + 90 * 86400,
            "parameters": {"token": {"S": f"secret-{secret:012x}"}, "retries": {"I": 3}},
        }
        if state is not None:
            body["status"] = state
        started = _entered(execution, index, "IN_PROGRESS")
        if started is not None:
            body["startedAt"] = started
        if state in execution.type.terminal:
            body["completedAt"] = times[index]
            if params.get("includeResult", True):
                body["result"] = {
                    "exitCode": {"S": "0" if state == "SUCCEEDED" else "1"},
                    "ok": {"B": state == "SUCCEEDED"},
                }
            if state != "SUCCEEDED":
                body["statusReason"] = {
                    "reasonCode": f"DEVICE_{state}",
                    "reasonDescription": f"The device reported {str(state).lower()}",
                }
        return body

    def _list_command_executions(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        for unsupported in ("startedTimeFilter", "completedTimeFilter"):
            if unsupported in params:
                raise _ServiceError(
                    spec.invalid, f"{unsupported} is not supported by the simulator"
                )
        command_arn = params.get("commandArn")
        target_arn = params.get("targetArn")
        members: Sequence[_Execution]
        if command_arn is not None:
            group = self._groups["iot-command-execution"].get(command_arn)
            members = group.members if group is not None else ()
        elif target_arn is not None:
            members = self._by_target.get(target_arn, ())
        else:
            raise _ServiceError(spec.invalid, "Either commandArn or targetArn must be provided")
        if params.get("namespace", "AWS-IoT") != "AWS-IoT":
            members = ()
        status = params.get("status")

        def keep(execution: _Execution, index: int) -> bool:
            if status is not None and execution.states[index] != status:
                return False
            return target_arn is None or execution.ids["targetArn"] == target_arn

        descending = params.get("sortOrder") == "DESCENDING"
        scope = f"commands/{command_arn}/{target_arn}/{status}/{descending}"
        page, token = self._page(spec, members, params, now, scope, keep, descending=descending)
        summaries = []
        for execution, index in page:
            state = execution.states[index]
            summary: dict[str, Any] = {
                "commandArn": execution.parent,
                "executionId": execution.ids["executionId"],
                "targetArn": execution.ids["targetArn"],
                "createdAt": execution.times[0],
            }
            if state is not None:
                summary["status"] = state
            started = _entered(execution, index, "IN_PROGRESS")
            if started is not None:
                summary["startedAt"] = started
            if state in execution.type.terminal:
                summary["completedAt"] = execution.times[index]
            summaries.append(summary)
        result: dict[str, Any] = {"commandExecutions": summaries}
        if token is not None:
            result["nextToken"] = token
        return result

    # -- IoT SiteWise ------------------------------------------------------------------------

    def _sitewise_summary(self, execution: _Execution, index: int) -> dict[str, Any]:
        state = execution.states[index]
        body: dict[str, Any] = {
            "executionId": execution.ids["executionId"],
            "actionType": "AWS/ANOMALY_DETECTION_TRAINING",
            "targetResource": {"assetId": execution.parent},
            "targetResourceVersion": "1",
            "executionStartTime": execution.times[0],
            "executionStatus": {} if state is None else {"state": state},
            "executionEntityVersion": "1",
        }
        if state in execution.type.terminal:
            body["executionEndTime"] = execution.times[index]
        return body

    def _describe_sitewise(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        execution, index = self._find("sitewise-execution", (params["executionId"],), now, spec)
        body = self._sitewise_summary(execution, index)
        state = execution.states[index]
        if state == "FAILED":
            body["executionDetails"] = {
                "stage": "TRAINING",
                "errorMessage": "Training data was insufficient",
            }
        elif state == "COMPLETED":
            body["executionDetails"] = {"stage": "DONE"}
            body["executionResult"] = {"modelVersion": "1"}
        else:
            body["executionDetails"] = {"stage": "TRAINING"}
        return body

    def _list_sitewise(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        target_type = params["targetResourceType"]
        target_id = params["targetResourceId"]
        group = (
            self._group("sitewise-execution", target_id, spec, "asset")
            if target_type == "ASSET"
            else None
        )
        members: Sequence[_Execution] = group.members if group is not None else ()
        if params.get("resolveToResourceId") is not None:
            members = ()  # simulated executions never resolve to another asset
        action = params.get("actionType")
        keep = (
            None if action in (None, "AWS/ANOMALY_DETECTION_TRAINING") else (lambda _e, _i: False)
        )
        scope = f"sitewise/{target_type}/{target_id}/{action}"
        page, token = self._page(spec, members, params, now, scope, keep)
        result: dict[str, Any] = {
            "executionSummaries": [self._sitewise_summary(e, i) for e, i in page]
        }
        if token is not None:
            result["nextToken"] = token
        return result

    # -- Snow Device Management ------------------------------------------------------------------

    def _snow_summary(self, execution: _Execution, index: int) -> dict[str, Any]:
        body = {
            "executionId": str(execution.seq),
            "managedDeviceId": execution.ids["managedDeviceId"],
            "taskId": execution.parent,
        }
        state = execution.states[index]
        if state is not None:
            body["state"] = state
        return body

    def _describe_snow(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        execution, index = self._find(
            "snow-execution", (params["taskId"], params["managedDeviceId"]), now, spec
        )
        body: dict[str, Any] = self._snow_summary(execution, index)
        body["lastUpdatedAt"] = execution.times[index]
        started = _entered(execution, index, "IN_PROGRESS")
        if started is not None:
            body["startedAt"] = started
        return body

    def _list_snow(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        task_id = params["taskId"]
        group = self._group("snow-execution", task_id, spec, "task")
        state = params.get("state")
        keep = None if state is None else _state_is(state)
        page, token = self._page(spec, group.members, params, now, f"snow/{task_id}/{state}", keep)
        result: dict[str, Any] = {"executions": [self._snow_summary(e, i) for e, i in page]}
        if token is not None:
            result["nextToken"] = token
        return result

    # -- Transfer Family --------------------------------------------------------------------------

    def _transfer_summary(self, execution: _Execution, index: int) -> dict[str, Any]:
        seq = execution.seq
        server = f"s-{(seq * 0x2545F4914F6CDD1D + self.seed) & ((1 << 68) - 1):017x}"[:19]
        body: dict[str, Any] = {
            "ExecutionId": execution.ids["ExecutionId"],
            "InitialFileLocation": {
                "S3FileLocation": {"Bucket": "inbound-files", "Key": f"uploads/file-{seq}.csv"}
            },
            "ServiceMetadata": {
                "UserDetails": {
                    "UserName": f"user-{seq % 1000:04d}",
                    "ServerId": server,
                    "SessionId": f"{seq:016x}",
                }
            },
        }
        state = execution.states[index]
        if state is not None:
            body["Status"] = state
        return body

    def _describe_transfer(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        execution, index = self._find(
            "transfer-execution", (params["WorkflowId"], params["ExecutionId"]), now, spec
        )
        body = self._transfer_summary(execution, index)
        body["ExecutionRole"] = f"arn:aws:iam::{self.account}:role/transfer-workflow"
        server = body["ServiceMetadata"]["UserDetails"]["ServerId"]
        body["LoggingConfiguration"] = {
            "LoggingRole": f"arn:aws:iam::{self.account}:role/transfer-logging",
            "LogGroupName": f"/aws/transfer/{server}",
        }
        steps: list[dict[str, Any]] = [{"StepType": "COPY", "Outputs": '{"bucket":"archive"}'}]
        results: dict[str, Any] = {"Steps": steps}
        if execution.states[index] == "HANDLING_EXCEPTION":
            steps.append(
                {
                    "StepType": "CUSTOM",
                    "Error": {"Type": "CUSTOM_STEP_FAILED", "Message": "Lambda step failed"},
                }
            )
            results["OnExceptionSteps"] = [{"StepType": "DELETE", "Outputs": "{}"}]
        body["Results"] = results
        return {"WorkflowId": execution.parent, "Execution": body}

    def _list_transfer(
        self, params: Mapping[str, Any], now: float, spec: OperationSpec
    ) -> dict[str, Any]:
        workflow_id = params["WorkflowId"]
        group = self._group("transfer-execution", workflow_id, spec, "workflow")
        page, token = self._page(
            spec,
            group.members,
            params,
            now,
            f"transfer/{workflow_id}",
            None,
            max_name="MaxResults",
            token_name="NextToken",  # noqa: S106 - a parameter name, not a secret
        )
        result: dict[str, Any] = {
            "WorkflowId": workflow_id,
            "Executions": [self._transfer_summary(e, i) for e, i in page],
        }
        if token is not None:
            result["NextToken"] = token
        return result


_KEY_PARAMS: Final[Mapping[str, tuple[str, ...]]] = {
    "iot-job-execution": ("jobId", "thingName"),
    "iot-command-execution": ("executionId",),
    "sitewise-execution": ("executionId",),
    "snow-execution": ("taskId", "managedDeviceId"),
    "transfer-execution": ("WorkflowId", "ExecutionId"),
}


def _exists(execution: _Execution, index: int) -> bool:
    state = execution.states[index]
    if state == GONE:
        return False
    return not (execution.type.vanishes and state in execution.type.terminal)


def _entered(execution: _Execution, index: int, state: str) -> float | None:
    states = execution.states
    for position in range(index + 1):
        if states[position] == state:
            return execution.times[position]
    return None


def _state_is(state: str) -> Callable[[_Execution, int], bool]:
    return lambda execution, index: execution.states[index] == state


def _invalid_params(spec: OperationSpec, params: Mapping[str, Any]) -> str | None:
    """What a service front end would refuse, worded like AWS; None if acceptable.

    boto3 only checks presence and types before sending; a raw HTTP caller
    checks nothing, and enum values are never checked client-side.
    """
    missing = spec.required - params.keys()
    if missing:
        return (
            f"1 validation error detected: Value null at '{min(missing)}' failed to satisfy "
            "constraint: Member must not be null"
        )
    for name, allowed in spec.enums.items():
        value = params.get(name)
        if value is not None and value not in allowed:
            return (
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(sorted(allowed))}]"
            )
    return None


def _decode_token(token: object, checksum: int) -> int | None:
    if not isinstance(token, str):
        return None
    try:
        scope, _, position = base64.b64decode(token, validate=True).decode().partition(":")
        if int(scope, 16) == checksum and int(position) >= 0:
            return int(position)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        pass
    return None


def _read_token(spec: OperationSpec, token: object, checksum: int) -> int:
    position = _decode_token(token, checksum)
    if position is None:
        raise _ServiceError(spec.invalid_token, f"Invalid nextToken: {token!r}")
    return position


def _result(outcome: Outcome) -> str:
    if outcome.fault is not None:
        return outcome.fault
    error = outcome.error
    if error is None:
        return "ok"
    if error.code == "ThrottlingException":
        return "throttled"
    if error.status >= 500 and error.code != "NotImplemented":
        return "error_5xx"
    return "error"


def _throttled(spec: OperationSpec, delay: float) -> Outcome:
    extra = {"RetryAfterSeconds": "1"} if spec.protocol == "json" else None
    return Outcome(
        spec.throttle.status, error=spec.throttle, message="Rate exceeded", extra=extra, delay=delay
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _check_schedule(schedule: Sequence[tuple[str | None, float]]) -> list[tuple[str | None, float]]:
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
        value = _check_number("schedule", f"[{position}] offset", offset)
        if value < previous:
            raise ValueError(
                f"schedule[{position}] offset {value:g} is before the previous offset {previous:g}"
            )
        previous = value
        checked.append((state, value))
    return checked


class _Plan:
    """Draws schedules for one ``add`` call (the per-call work done once)."""

    __slots__ = ("cumulative", "execution_type", "lifecycle", "offsets", "outcomes")

    def __init__(
        self,
        execution_type: ExecutionType,
        lifecycle: Lifecycle,
        mix: Mapping[str, float],
        offsets: list[tuple[str | None, float]] | None,
    ) -> None:
        self.execution_type = execution_type
        self.lifecycle = lifecycle
        self.offsets = offsets
        # Sorted so the same mix given in another key order draws the same fleet.
        self.outcomes = sorted(mix)
        running = 0.0
        self.cumulative = []
        for state in self.outcomes:
            running += mix[state]
            self.cumulative.append(running)

    def draw(self, rng: random.Random, start: float) -> tuple[list[str | None], list[float]]:
        if self.offsets is not None:
            return [state for state, _ in self.offsets], [
                round(start + offset, 3) for _, offset in self.offsets
            ]
        kind = self.execution_type
        lifecycle = self.lifecycle
        pending = rng.uniform(*lifecycle.pending)
        running = rng.uniform(*lifecycle.running)
        position = bisect_right(self.cumulative, rng.random())
        terminal = self.outcomes[min(position, len(self.outcomes) - 1)]
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


_ID_CHECKS: dict[tuple[str, str, str], tuple[int, int | None, re.Pattern[str] | None]] = {}


def _check_id(
    service: str, operation: str, member: str, value: str, label: str | None = None
) -> None:
    """Refuse an identifier the model's length or pattern would reject."""
    key = (service, operation, member)
    check = _ID_CHECKS.get(key)
    if check is None:
        input_shape = service_model(service).operation_model(operation).input_shape
        assert input_shape is not None
        shape = input_shape.members[member]
        pattern = shape.metadata.get("pattern")
        check = _ID_CHECKS[key] = (
            int(shape.metadata.get("min", 1)),
            shape.metadata.get("max"),
            re.compile(pattern) if pattern else None,
        )
    low, high, pattern = check
    name = label or member
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {value!r}")
    if len(value) < low or (high is not None and len(value) > high):
        raise ValueError(f"{name} {value!r} must be {low} to {high} characters long")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} does not match the model's pattern {pattern.pattern!r}")
