"""What a rollout is given and what it returns: plain dataclasses Temporal serialises as JSON.

Temporal's default data converter writes dataclasses as JSON objects and reads
them back by their type hints, so every field here is a str, a number, None,
a list or a dict with string keys, or another of these dataclasses. Each one
checks its fields when made, on the caller's side as well as when the worker
reads it back, so a bad input fails where it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import DEFAULT_MIN_FINISHED, FailFast, OutcomeKind
from .._options import check_region
from .._validate import instance, invalid, number
from ._outcomes import OutcomeRecord, pack, unpack

__all__ = [
    "Account",
    "FailFastRule",
    "OutcomeRecord",
    "Polling",
    "RolloutInput",
    "RolloutProgress",
    "RolloutResult",
    "ShardInput",
    "ShardProgress",
    "ShardReport",
    "Target",
    "TargetGroup",
    "epoch_seconds",
    "shard_key",
]


def epoch_seconds(name: str, value: Any) -> float:
    """*value* (epoch seconds, or a timezone-aware datetime) as float epoch seconds.

    :raises InvalidOption: not a finite number or an aware datetime, naming *name*.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise invalid(name, "a timezone-aware datetime or epoch seconds", value)
        return value.timestamp()
    return number(name, value, "epoch seconds (a finite number) or an aware datetime")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(name, "a non-empty string", value)
    return value


def _optional_text(name: str, value: Any) -> str | None:
    return None if value is None else _text(name, value)


def shard_key(account: str, region: str) -> str:
    """The id of the shard of *account* in *region*, as the workflow and its activities name it."""
    return f"{account}/{region}"


@dataclass(frozen=True, slots=True)
class Account:
    """Where and as whom one account's calls go.

    Credentials come from exactly one place: access keys (the simulator's, or
    short-lived ones; they are written into the workflow's history, so use
    them only with a payload codec that encrypts it), a *profile* of the
    worker's AWS configuration (which may name a ``role_arn`` to assume: how
    a worker reaches many accounts), or neither, for the worker's default
    credential chain.

    :param name: how executions name this account (``Target.account``); any
        non-empty string, such as the account id. With access keys, a 12-digit
        account id here spares each shard start a GetCallerIdentity call.
    :param access_key_id: an access key id (default ``None``).
    :param secret_access_key: its secret; required with *access_key_id*.
    :param session_token: the session token of temporary credentials (default ``None``).
    :param profile: a profile of the worker's AWS configuration (default ``None``).
    :param endpoint_url: an endpoint for every service of this account, such
        as a simulator's ``http://127.0.0.1:port`` (default ``None``:
        botocore's resolution).
    :raises InvalidOption: a field of the wrong type, a key without its
        secret, or both keys and a profile, naming the field and the value.
    """

    name: str
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        _text("Account.name", self.name)
        _optional_text("Account.access_key_id", self.access_key_id)
        _optional_text("Account.profile", self.profile)
        _optional_text("Account.endpoint_url", self.endpoint_url)
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise invalid(
                "Account.secret_access_key",
                "given exactly when access_key_id is",
                "<hidden>" if self.secret_access_key is not None else None,
            )
        if self.session_token is not None and self.access_key_id is None:
            raise invalid("Account.session_token", "given only with access_key_id", "<hidden>")
        if self.access_key_id is not None and self.profile is not None:
            raise invalid("Account.profile", "None when access keys are given", self.profile)


@dataclass(frozen=True, slots=True)
class Target:
    """One execution of a rollout.

    :param type: the execution type's name (``"iot-job-execution"``, or a
        botocore waiter as ``"SERVICE:WaiterName"``).
    :param params: its describe parameters (``{"jobId": ..., "thingName": ...}``).
    :param account: the :attr:`Account.name` whose credentials reach it.
    :param region: the region it runs in (``"eu-west-1"``).
    :raises InvalidOption: a field of the wrong type, naming it.
    """

    type: str
    params: dict[str, Any]
    account: str
    region: str

    def __post_init__(self) -> None:
        _text("Target.type", self.type)
        _text("Target.account", self.account)
        check_region("Target.region", self.region)
        if not isinstance(self.params, Mapping) or not all(isinstance(k, str) for k in self.params):
            raise invalid("Target.params", "a dict of parameter names to values", self.params)


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """Many executions of one type, account and region, written once: a job's things.

    The executions share every parameter in *params* but one, *vary*, whose
    value each takes from *values* in turn: ``TargetGroup("iot-job-execution",
    {"jobId": "job-7"}, "111111111111", "eu-west-1", vary="thingName",
    values=["thing-1", "thing-2"])`` stands for two :class:`Target` s. A
    rollout's input then grows by a value per execution (a thing name)
    rather than by a whole target (about 120 bytes of JSON), and the shard
    activity expands the group itself.

    :param type: the execution type's name, as :attr:`Target.type`.
    :param params: the parameters every execution of the group shares.
    :param account: the :attr:`Account.name` whose credentials reach them.
    :param region: the region they run in.
    :param vary: the name of the parameter that differs (``"thingName"``).
    :param values: its value for each execution, in order.
    :raises InvalidOption: a field of the wrong type, or *vary* also in
        *params*, naming the field and the value.
    """

    type: str
    params: dict[str, Any]
    account: str
    region: str
    vary: str
    values: list[Any]

    def __post_init__(self) -> None:
        _text("TargetGroup.type", self.type)
        _text("TargetGroup.account", self.account)
        check_region("TargetGroup.region", self.region)
        _text("TargetGroup.vary", self.vary)
        if not isinstance(self.params, Mapping) or not all(isinstance(k, str) for k in self.params):
            raise invalid("TargetGroup.params", "a dict of parameter names to values", self.params)
        if self.vary in self.params:
            raise invalid("TargetGroup.vary", "a parameter not also in params", self.vary)
        if not isinstance(self.values, list):
            raise invalid("TargetGroup.values", "a list of parameter values", self.values)

    def __len__(self) -> int:
        return len(self.values)

    def target(self, position: int) -> Target:
        """The group's *position*-th execution as a :class:`Target`."""
        params = {**self.params, self.vary: self.values[position]}
        return Target(self.type, params, self.account, self.region)

    def targets(self) -> list[Target]:
        """Every execution of the group as a :class:`Target`, in order."""
        return [self.target(position) for position in range(len(self.values))]


@dataclass(frozen=True, slots=True)
class FailFastRule:
    """:class:`~waiters.FailFast` as JSON: stop the rollout when failures reach a threshold.

    Judged in each shard on that shard's outcomes (the account's rollout, as
    IoT judges a job's); a shard that trips stops, and the workflow cancels
    every other shard, whose unfinished executions come back ``abandoned``.
    The fields are :class:`~waiters.FailFast`'s, with lists for its sets.

    :param count: stop once this many executions failed.
    :param fraction: stop once this fraction of the finished executions failed.
    :param min_finished: finished executions needed before *fraction* is judged (default 20).
    :param kinds: outcome kinds that count as failures (default ``["failed"]``).
    :param states: if given, only outcomes ending in these states count.
    :raises InvalidOption: as :class:`~waiters.FailFast` raises it.
    """

    count: int | None = None
    fraction: float | None = None
    min_finished: int = DEFAULT_MIN_FINISHED
    kinds: list[str] = field(default_factory=lambda: [OutcomeKind.FAILED.value])
    states: list[str] | None = None

    def __post_init__(self) -> None:
        self.to_fail_fast()

    def to_fail_fast(self) -> FailFast:
        """The core :class:`~waiters.FailFast` this rule stands for."""
        return FailFast(
            count=self.count,
            fraction=self.fraction,
            min_finished=self.min_finished,
            kinds=frozenset(self.kinds),  # type: ignore[arg-type]  # checked by FailFast
            states=None if self.states is None else frozenset(self.states),
        )


@dataclass(frozen=True, slots=True)
class Polling:
    """How each shard polls: the :class:`~waiters.Poller` options a rollout sets.

    :param min_delay: the shortest delay between polls of one execution,
        seconds (default 1).
    :param max_delay: the longest, seconds (default 30).
    :param not_found_grace: seconds an execution may take to become visible (default 10).
    :param max_rate: calls per second each budget of a shard (one per
        region, service and operation of its account) never exceeds
        (default ``None``: the core's 50).
    :raises InvalidOption: a value out of range, naming it.
    """

    min_delay: float = 1.0
    max_delay: float = 30.0
    not_found_grace: float = 10.0
    max_rate: float | None = None

    def __post_init__(self) -> None:
        low = number("Polling.min_delay", self.min_delay, "at least 0.001 s", at_least=0.001)
        number("Polling.max_delay", self.max_delay, f"at least min_delay ({low:g} s)", at_least=low)
        number("Polling.not_found_grace", self.not_found_grace, "at least 0 s", at_least=0.0)
        if self.max_rate is not None:
            number("Polling.max_rate", self.max_rate, "a positive number of calls/s", above=0.0)


@dataclass(frozen=True, slots=True)
class RolloutInput:
    """A rollout: executions across accounts and regions, one deadline, fail-fast rules.

    The rollout's executions are its *targets*, then the members of its
    *groups* in order: the result reports them in that order, and an
    outcome's :attr:`OutcomeRecord.index` is the position in it.

    :param targets: executions named one by one.
    :param accounts: every account a target or group names, once each.
    :param deadline: when the whole rollout ends, absolute: epoch seconds or a
        timezone-aware ``datetime`` (stored as epoch seconds). Executions
        still running then come back ``wait_timeout``; a retried shard keeps it.
    :param fail_fast: a :class:`FailFastRule`, or ``None`` (the default) to
        wait on every execution whatever happens.
    :param polling: the :class:`Polling` options of every shard.
    :param heartbeat_timeout: seconds without a heartbeat after which
        Temporal retries a shard on another worker (default 30; a shard
        heartbeats every second, and resumes from its last heartbeat).
    :param groups: executions given as :class:`TargetGroup` s (default
        none): the compact form for thousands of executions that differ in
        one parameter, such as a job's things. Measured: 100,000 IoT job
        executions as 100 groups are 1.4 MB of JSON (19 kB through
        :data:`waiters.temporal.DATA_CONVERTER`); as 100,000 targets, 13.9 MB
        (300 kB through it), seven times the 2 MB Temporal accepts.
    :param progress_every: seconds at least between two progress signals of
        a shard (default ``None``: chosen by
        :func:`waiters.temporal._workflow.progress_interval` so that the
        rollout sends at most 5,000 in all, from its shards and the time to
        its deadline). Set it when the deadline is far beyond when the
        rollout will end, knowing that each signal is a history event and
        Temporal ends a workflow at 50,000.
    :raises InvalidOption: a field of the wrong type, a target naming an
        account not given, an account given twice, naming the field and the
        value. A deadline in the past is refused by the workflow when it
        starts (the check needs the workflow's clock).
    """

    targets: list[Target]
    accounts: list[Account]
    deadline: float | datetime
    fail_fast: FailFastRule | None = None
    polling: Polling = field(default_factory=Polling)
    heartbeat_timeout: float = 30.0
    groups: list[TargetGroup] = field(default_factory=list)
    progress_every: float | None = None

    def __post_init__(self) -> None:
        if self.progress_every is not None:
            number("RolloutInput.progress_every", self.progress_every, "at least 1 s", at_least=1.0)
        object.__setattr__(self, "deadline", epoch_seconds("RolloutInput.deadline", self.deadline))
        number(
            "RolloutInput.heartbeat_timeout", self.heartbeat_timeout, "at least 1 s", at_least=1.0
        )
        names: set[str] = set()
        for account in self.accounts:
            instance("RolloutInput.accounts", account, Account, "a list of Account")
            if account.name in names:
                raise invalid("RolloutInput.accounts", "each account once", account.name)
            names.add(account.name)
        for target in self.targets:
            instance("RolloutInput.targets", target, Target, "a list of Target")
            if target.account not in names:
                raise invalid(
                    "Target.account", f"one of the accounts given ({sorted(names)})", target.account
                )
        for group in self.groups:
            instance("RolloutInput.groups", group, TargetGroup, "a list of TargetGroup")
            if group.account not in names:
                raise invalid(
                    "TargetGroup.account",
                    f"one of the accounts given ({sorted(names)})",
                    group.account,
                )
        if self.fail_fast is not None:
            instance("RolloutInput.fail_fast", self.fail_fast, FailFastRule, "a FailFastRule")
        instance("RolloutInput.polling", self.polling, Polling, "a Polling")

    @property
    def size(self) -> int:
        """The rollout's executions: its targets and the members of its groups."""
        return len(self.targets) + sum(len(group) for group in self.groups)

    @property
    def deadline_epoch(self) -> float:
        """:attr:`deadline` as epoch seconds (it is stored so)."""
        deadline = self.deadline
        assert isinstance(deadline, float)  # normalised in __post_init__
        return deadline


@dataclass(frozen=True, slots=True)
class ShardInput:
    """One shard's work, as the workflow hands it to the shard activity.

    :param account: the shard's :class:`Account`.
    :param region: its region.
    :param indices: the position in the rollout of each of *targets*.
    :param targets: the shard's targets named one by one, in the same order.
    :param deadline: the rollout's deadline, epoch seconds.
    :param fail_fast: the rollout's rule, judged on this shard's outcomes.
    :param polling: the rollout's :class:`Polling`.
    :param groups: the shard's :class:`TargetGroup` s.
    :param starts: the position in the rollout of each group's first member
        (its members follow it).
    :param progress_every: seconds at least between two progress signals
        (see :func:`waiters.temporal._workflow.progress_interval`).
    """

    account: Account
    region: str
    indices: list[int]
    targets: list[Target]
    deadline: float
    fail_fast: FailFastRule | None
    polling: Polling
    groups: list[TargetGroup] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    progress_every: float = 2.0

    @property
    def key(self) -> str:
        """The shard's id: ``account/region``."""
        return shard_key(self.account.name, self.region)

    @property
    def size(self) -> int:
        """The shard's executions."""
        return len(self.targets) + sum(len(group) for group in self.groups)

    def all_indices(self) -> list[int]:
        """The position in the rollout of every execution of the shard, in its order."""
        every = list(self.indices)
        for group, start in zip(self.groups, self.starts, strict=True):
            every.extend(range(start, start + len(group)))
        return every

    def items(self) -> Iterator[tuple[int, Target]]:
        """Each execution of the shard with its position in the rollout, in order."""
        yield from zip(self.indices, self.targets, strict=True)
        for group, start in zip(self.groups, self.starts, strict=True):
            for position in range(len(group)):
                yield start + position, group.target(position)


@dataclass(frozen=True, slots=True)
class ShardReport:
    """What a shard activity returns.

    :param key: the shard's id (``account/region``).
    :param packed: its outcomes, one per execution of the shard in its
        order, packed (see :meth:`of` and :attr:`outcomes`); ``""`` for none.
    :param tripped: the fail-fast rule's account of why the shard stopped,
        or ``None`` if it did not trip.
    :param resumed: outcomes taken from a checkpoint rather than waited on
        in the attempt that reported (0 on a first attempt).
    :param attempt: the activity attempt that reported (1 for the first).
    """

    key: str
    packed: str = ""
    tripped: str | None = None
    resumed: int = 0
    attempt: int = 1

    @classmethod
    def of(
        cls,
        key: str,
        outcomes: Iterable[OutcomeRecord],
        tripped: str | None = None,
        resumed: int = 0,
        attempt: int = 1,
    ) -> ShardReport:
        """A report of *outcomes*, packed.

        :raises ValueError: too many outcomes for one payload (see
            :data:`waiters.temporal._outcomes.MAX_PACKED`).
        """
        return cls(key, pack(outcomes), tripped, resumed, attempt)

    @property
    def outcomes(self) -> list[OutcomeRecord]:
        """The shard's outcomes, unpacked (again on each access)."""
        return unpack(self.packed) if self.packed else []


@dataclass(frozen=True, slots=True)
class ShardProgress:
    """A shard's counts, as the progress query returns them.

    :param key: the shard's id (``account/region``).
    :param total: its executions.
    :param outcomes: finished executions by outcome kind (``{"succeeded": 3}``).
    :param waiting: executions without an outcome by last observed state
        (``{"IN_PROGRESS": 7, "unseen": 2}``).
    :param attempt: the activity attempt that reported them (0: not started yet).
    :param sequence: the report's number within its attempt; a later report wins.
    :param done: the shard has returned its outcomes.
    """

    key: str
    total: int
    outcomes: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    attempt: int = 0
    sequence: int = 0
    done: bool = False


@dataclass(frozen=True, slots=True)
class RolloutProgress:
    """The ``progress`` query's answer: counts per state and per shard.

    :param shards: each shard's :class:`ShardProgress`, by shard id.
    :param outcomes: finished executions by outcome kind, over all shards.
    :param waiting: waiting executions by last observed state, over all shards.
    :param total: executions in the rollout.
    """

    shards: dict[str, ShardProgress]
    outcomes: dict[str, int]
    waiting: dict[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class RolloutResult:
    """Every outcome of a rollout, once each, in the order of its executions.

    The outcomes travel packed column by column (one string), so the result
    stays one small payload: 100,000 outcomes are about 590 kB where a JSON
    object per outcome would be 12.5 MB, over Temporal's 2 MB; about
    250,000 fit (see :mod:`waiters.temporal._outcomes`). Read them with
    :attr:`outcomes`.

    :param packed: the outcomes, packed; see :meth:`of`.
    :param counts: outcomes by kind.
    :param tripped: ``"account/region: why"`` of the shard whose fail-fast
        rule stopped the rollout, or ``None``.
    :param shards: each shard's final report, by shard id (its outcomes left
        out: they are in :attr:`outcomes`).
    """

    packed: str
    counts: dict[str, int]
    tripped: str | None
    shards: dict[str, ShardReport]

    @classmethod
    def of(
        cls,
        outcomes: Iterable[OutcomeRecord],
        counts: dict[str, int],
        tripped: str | None,
        shards: dict[str, ShardReport],
    ) -> RolloutResult:
        """A result of *outcomes*, packed.

        :raises ValueError: too many outcomes for one payload (see
            :data:`waiters.temporal._outcomes.MAX_PACKED`).
        """
        return cls(pack(outcomes), counts, tripped, shards)

    @property
    def outcomes(self) -> list[OutcomeRecord]:
        """One :class:`OutcomeRecord` per execution, ``outcomes[i].index == i``.

        Unpacked again on each access (100,000 take about 0.8 s): keep the list.
        """
        return unpack(self.packed)
