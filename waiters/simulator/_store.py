"""The store: every execution of one simulated account, indexed the ways requests read them.

It owns creating executions (all-or-nothing per call), finding one by its
describe key, the groups that share a parent (with IoT job counts), and
paging through a group with tokens that are tied to the query they belong
to.  It holds the :class:`Quirks` in force, which the handlers and paging
read.  It also keeps the account's CloudWatch Logs side: which Transfer
executions log (and with what delivery lag), the log group each one writes
(``_logs`` derives the entries), and which log groups the caller may not
read.  What a request does with what it finds belongs to ``_handlers``.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import zlib
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._catalogue import (
    EXECUTION_TYPES,
    ExecutionRecord,
    ExecutionType,
    Retries,
    SchedulePlan,
    to_millisecond,
)
from ._ids import mint_ids, mint_parent, transfer_server_seq, transfer_user_details
from ._logs import LogEntry, log_group_name, server_of_log_group, workflow_log
from ._protocol import OperationSpec, ServiceError
from ._quirks import NO_QUIRKS, Quirks

__all__ = [
    "KEY_PARAMS",
    "ExecutionGroup",
    "Keep",
    "Store",
    "decode_token",
    "encode_token",
    "page_limit",
]

#: The parameters whose values identify an execution of each type in the store
#: (a command execution id is unique on its own; the target only has to match).
KEY_PARAMS: Final[Mapping[str, tuple[str, ...]]] = {
    "iot-job-execution": ("jobId", "thingName"),
    "iot-command-execution": ("executionId",),
    "sitewise-execution": ("executionId",),
    "snow-execution": ("taskId", "managedDeviceId"),
    "transfer-execution": ("WorkflowId", "ExecutionId"),
}

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

#: A listing filter: whether to list an execution while in ``states[index]``.
Keep = Callable[[ExecutionRecord, int], bool]


class ExecutionGroup:
    """Executions sharing a parent (job, command, task, workflow, asset).

    For IoT jobs it also keeps per-state arrays of enter and leave times, so
    DescribeJob counts are two bisects per state instead of a scan of every
    execution.  They are appended unsorted and sorted on the next read.  A
    retried execution enters them along its whole timeline, so each thing is
    counted in the state of its newest attempt.
    """

    __slots__ = (
        "created",
        "dirty",
        "enter",
        "events",
        "leave",
        "members",
        "parent",
        "retries",
        "settled",
        "starts",
        "timeout_s",
    )

    def __init__(
        self,
        parent: str,
        created: float,
        timeout_s: float | None,
        retries: Retries | None = None,
    ) -> None:
        self.parent = parent
        self.created = created
        #: The timeout of the lifecycle the group was created with, if any.
        self.timeout_s = timeout_s
        #: The retry configuration of the IoT job, if it has one.
        self.retries = retries
        self.members: list[ExecutionRecord] = []
        self.settled = -math.inf
        self.enter: dict[str, list[float]] = {state: [] for state in _JOB_COUNTS}
        self.leave: dict[str, list[float]] = {state: [] for state in _JOB_COUNTS}
        self.events: list[float] = []
        #: When each member is created, for counts that never move.
        self.starts: list[float] = []
        self.dirty = False

    def track(self, execution: ExecutionRecord) -> None:
        """Add *execution* (the first attempt, if it is retried) to the group."""
        self.members.append(execution)
        if execution.attempts is None:
            states, times, settled = execution.states, execution.times, execution.settled
        else:
            states, times = execution.timeline()
            settled = execution.attempts[-1].settled
        self.settled = max(self.settled, settled)
        self.starts.append(times[0])
        last = len(states) - 1
        for index, state in enumerate(states):
            self.events.append(times[index])
            if state in self.enter:
                self.enter[state].append(times[index])
                if index < last:
                    self.leave[state].append(times[index + 1])
        self.dirty = True

    def _sort(self) -> None:
        if self.dirty:
            for values in (*self.enter.values(), *self.leave.values(), self.events, self.starts):
                values.sort()
            self.dirty = False

    def counts(self, now: float) -> dict[str, int]:
        """DescribeJob's ``jobProcessDetails`` counts at service time *now*."""
        self._sort()
        return {
            name: bisect_right(self.enter[state], now) - bisect_right(self.leave[state], now)
            for state, name in _JOB_COUNTS.items()
        }

    def frozen_counts(self, now: float) -> dict[str, int]:
        """Counts that never moved: every member created by *now* still QUEUED."""
        self._sort()
        queued = bisect_right(self.starts, now)
        return {name: queued if state == "QUEUED" else 0 for state, name in _JOB_COUNTS.items()}

    def last_event(self, now: float) -> float:
        """The service time of the group's latest change up to *now*."""
        index = bisect_right(self.events, now)
        return self.events[index - 1] if index else self.created


class Store:
    """Every execution of one account, by creation order, describe key, parent and target.

    ``region``, ``account`` and ``seed`` say whose executions they are; they
    appear in ARNs and other generated values of the responses.
    """

    __slots__ = (
        "_by_key",
        "_by_target",
        "_groups",
        "_log_cache",
        "_log_lag",
        "_rng",
        "_seq",
        "account",
        "denied_log_groups",
        "executions",
        "logs_denied",
        "quirks",
        "region",
        "seed",
    )

    def __init__(self, *, seed: int, region: str, account: str) -> None:
        self.seed = seed
        self.region = region
        self.account = account
        # One generator for parents, ids and schedules, drawn in creation
        # order: the same seed and the same calls give the same fleet.
        self._rng = random.Random(seed)
        self._seq = 0
        #: Every execution in creation order.
        self.executions: list[ExecutionRecord] = []
        self._by_key: dict[str, dict[tuple[str, ...], ExecutionRecord]] = {
            name: {} for name in EXECUTION_TYPES
        }
        self._groups: dict[str, dict[str, ExecutionGroup]] = {name: {} for name in EXECUTION_TYPES}
        self._by_target: dict[str, list[ExecutionRecord]] = {}
        #: Delivery lag (service seconds) by ``seq`` of the Transfer executions
        #: that log; one absent from it has no logging configured.
        self._log_lag: dict[int, float] = {}
        #: Derived log entries by ``seq``, with the seed they were derived under.
        self._log_cache: dict[int, tuple[int, list[LogEntry]]] = {}
        #: FilterLogEvents answers AccessDeniedException for every log group ...
        self.logs_denied = False
        #: ... or for these.
        self.denied_log_groups: frozenset[str] = frozenset()
        #: How the service departs from the model while answering (none by default).
        self.quirks: Quirks = NO_QUIRKS

    def __len__(self) -> int:
        return len(self.executions)

    # -- creating -------------------------------------------------------------------------

    def add(
        self,
        plan: SchedulePlan,
        count: int,
        parent: str | None,
        members: Sequence[str] | None,
        start: float,
        *,
        log_lag: float | None = None,
    ) -> list[dict[str, str]]:
        """Create *count* executions drawn from *plan* at service time *start*.

        *members* names them (thing names, targets, device ids) if given.
        *log_lag* (Transfer only) turns logging on with that delivery lag in
        service seconds; None leaves it off.  Returns their describe parameters.
        """
        execution_type = plan.execution_type
        type_name = execution_type.name
        rng = self._rng
        region, account = self.region, self.account
        parent = mint_parent(rng, execution_type, parent, region, account)
        group = self._groups[type_name].get(parent)
        existing = len(group.members) if group is not None else 0
        if group is not None and group.retries != plan.retries:
            # DescribeJob reports one retry configuration for all of a job's executions.
            raise ValueError(
                f"{type_name} {parent}: retries={plan.retries!r} differ from the job's "
                f"{group.retries!r}"
            )
        index = self._by_key[type_name]
        key_params = KEY_PARAMS[type_name]
        # Everything is drawn and checked before anything is stored, so a
        # duplicate id fails the whole call and leaves the store as it was.
        batch: list[tuple[tuple[str, ...], dict[str, str]]] = []
        seen: set[tuple[str, ...]] = set()
        for position in range(count):
            member = members[position] if members is not None else None
            ids = mint_ids(
                rng, execution_type, parent, existing + position + 1, member, region, account
            )
            key = tuple(ids[name] for name in key_params)
            if key in index or key in seen:
                raise ValueError(f"{type_name} {ids!r} already exists")
            seen.add(key)
            batch.append((key, ids))
        if not batch:
            return []  # no empty groups: a job without executions has no status
        if group is None:
            group = self._groups[type_name][parent] = ExecutionGroup(
                parent, to_millisecond(start), plan.timeout_s, plan.retries
            )
        timeout = plan.timeout_s
        by_target = self._by_target if type_name == "iot-command-execution" else None
        lag = log_lag if execution_type.service == "transfer" else None
        retried = plan.retries is not None
        created: list[dict[str, str]] = []
        for key, ids in batch:
            states, times = plan.draw(rng, start)
            self._seq += 1
            execution = ExecutionRecord(
                execution_type, ids, parent, self._seq, states, times, timeout
            )
            index[key] = execution
            if not retried:
                group.track(execution)
            self.executions.append(execution)
            if by_target is not None:
                by_target.setdefault(ids["targetArn"], []).append(execution)
            if lag is not None:
                self._log_lag[self._seq] = lag
            created.append(dict(ids))
        if retried:
            # After every first attempt, so a job's first attempts are drawn
            # alike with and without retries; tracked once the chain is known.
            for execution in self.executions[-len(batch) :]:
                plan.retry(rng, execution)
                group.track(execution)
        return created

    # -- reading --------------------------------------------------------------------------

    def lookup(self, execution_type: ExecutionType, ids: Mapping[str, str]) -> ExecutionRecord:
        """The execution with describe parameters *ids*, whatever its state; KeyError if none."""
        type_name = execution_type.name
        try:
            key = tuple(ids[name] for name in KEY_PARAMS[type_name])
        except KeyError as missing:
            raise TypeError(
                f"truth({type_name!r}) needs {execution_type.id_params}, got {sorted(ids)}"
            ) from missing
        execution = self._by_key[type_name].get(key)
        if execution is None or any(
            execution.ids[k] != v for k, v in ids.items() if k in execution.ids
        ):
            raise KeyError(f"no {type_name} with {dict(ids)!r}")
        return execution

    def find(
        self, type_name: str, key: tuple[str, ...], now: float, spec: OperationSpec
    ) -> tuple[ExecutionRecord, int]:
        """The execution with describe *key* and its state index at *now*, if it exists then.

        A retried execution is its newest attempt created by *now*.
        Otherwise the operation's modeled not-found error.
        """
        execution = self._by_key[type_name].get(key)
        if execution is not None:
            if execution.attempts is not None:
                execution = execution.current(now)
            index = bisect_right(execution.times, now) - 1
            if index >= 0 and execution.exists(index):
                return execution, index
        message = f"No {type_name} found for " + ", ".join(
            f"{name}={value}" for name, value in zip(KEY_PARAMS[type_name], key, strict=True)
        )
        extra = None
        if EXECUTION_TYPES[type_name].service == "transfer":
            extra = {"Resource": key[1], "ResourceType": "Execution"}
        raise ServiceError(spec.not_found, message, extra)

    def group(self, type_name: str, parent: str, spec: OperationSpec, what: str) -> ExecutionGroup:
        """The group under *parent*, or the operation's not-found error naming the *what*."""
        group = self._groups[type_name].get(parent)
        if group is None:
            extra = (
                {"Resource": parent, "ResourceType": "Workflow"}
                if spec.service == "transfer"
                else None
            )
            raise ServiceError(spec.not_found, f"No {what} {parent} found", extra)
        return group

    def members(self, type_name: str, parent: str) -> Sequence[ExecutionRecord]:
        """The executions under *parent*, none if there is no such group."""
        group = self._groups[type_name].get(parent)
        return group.members if group is not None else ()

    def targeting(self, target_arn: str) -> Sequence[ExecutionRecord]:
        """The command executions sent to *target_arn*, in creation order."""
        return self._by_target.get(target_arn, ())

    # -- logs ---------------------------------------------------------------------------

    def log_lag(self, execution: ExecutionRecord) -> float | None:
        """The delivery lag of *execution*'s log; None if it has no logging configured."""
        return self._log_lag.get(execution.seq)

    def log_group_of(self, execution: ExecutionRecord) -> str | None:
        """The log group a Transfer *execution* writes to; None if it has no logging."""
        if execution.seq not in self._log_lag:
            return None
        return log_group_name(transfer_user_details(self.seed, execution.seq)[0])

    def log_group(self, name: str, spec: OperationSpec) -> list[ExecutionRecord]:
        """The executions logging to the group *name*, or the modeled not-found error.

        Each Transfer execution has a server, hence a log group, of its own;
        the server id leads back to the execution's sequence number.
        """
        server = server_of_log_group(name)
        seq = transfer_server_seq(self.seed, server) if server is not None else None
        if seq is not None and seq in self._log_lag:
            execution = self.executions[seq - 1]
            if execution.type.name == "transfer-execution":
                return [execution]
        raise ServiceError(spec.not_found, "The specified log group does not exist.")

    def log_entries(self, execution: ExecutionRecord) -> list[LogEntry]:
        """Every entry *execution* writes over its schedule (derived once, then kept)."""
        seed = self.seed
        cached = self._log_cache.get(execution.seq)
        if cached is not None and cached[0] == seed:
            return cached[1]
        server, username, session = transfer_user_details(seed, execution.seq)
        entries = workflow_log(
            execution, server, username, session, self._log_lag.get(execution.seq, 0.0)
        )
        self._log_cache[execution.seq] = (seed, entries)
        return entries

    # -- paging ---------------------------------------------------------------------------

    def page(
        self,
        spec: OperationSpec,
        members: Sequence[ExecutionRecord],
        params: Mapping[str, Any],
        now: float,
        scope: str,
        keep: Keep | None,
        *,
        max_name: str = "maxResults",
        token_name: str = "nextToken",  # noqa: S107 - a parameter name, not a secret
        descending: bool = False,
    ) -> tuple[list[tuple[ExecutionRecord, int]], str | None]:
        """One page of *members* that exist now and pass *keep*, plus the next token.

        The token is the base64 of a position in *members* and a checksum of
        the query it belongs to, so a token from another listing is refused
        rather than silently misread.  A retried execution is listed as its
        newest attempt created by *now*.  With ``Quirks.sparse_pages`` a page
        reads at most the page size of *members*, kept or not.
        """
        limit = page_limit(spec, params, max_name)
        checksum = zlib.crc32(scope.encode())
        position = 0
        token = params.get(token_name)
        if token is not None:
            position = _read_token(spec, token, checksum)
        page: list[tuple[ExecutionRecord, int]] = []
        total = len(members)
        end = min(total, position + limit) if self.quirks.sparse_pages else total
        while position < end and len(page) < limit:
            execution = members[total - 1 - position] if descending else members[position]
            position += 1
            if execution.attempts is not None:
                execution = execution.current(now)
            index = bisect_right(execution.times, now) - 1
            if index >= 0 and execution.exists(index) and (keep is None or keep(execution, index)):
                page.append((execution, index))
        next_token = None
        if position < total:
            next_token = _make_token(checksum, position)
        return page, next_token


def page_limit(spec: OperationSpec, params: Mapping[str, Any], max_name: str) -> int:
    """The page size asked for in *max_name* (default: the model's maximum, else 100).

    A value outside the model's bounds is the operation's validation error.
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
        raise ServiceError(
            spec.invalid,
            f"1 validation error detected: Value '{limit}' at '{max_name}' failed to satisfy "
            f"constraint: Member must have value between {low} and {high}",
        )
    return limit


def encode_token(scope: str, position: int) -> str:
    """A next token: *position* in a listing, tied to the query *scope* it belongs to."""
    return _make_token(zlib.crc32(scope.encode()), position)


def decode_token(spec: OperationSpec, token: object, scope: str) -> int:
    """The position in a token from :func:`encode_token` for *scope*; else the modeled error."""
    return _read_token(spec, token, zlib.crc32(scope.encode()))


def _make_token(checksum: int, position: int) -> str:
    return base64.b64encode(f"{checksum:08x}:{position}".encode()).decode()


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
        raise ServiceError(spec.invalid_token, f"Invalid nextToken: {token!r}")
    return position
