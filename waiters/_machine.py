"""State machines: the declarative description of one execution type.

A definition is data (TOML or JSON). It is validated against the botocore
service model and compiled once, when it is loaded; a malformed one fails
then, naming the file, the key and what was expected, never mid-wait.
"""

from __future__ import annotations

import enum
import json
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path as FsPath
from typing import Any

from jmespath.exceptions import JMESPathError

from ._errors import DefinitionError
from ._eventspec import EventSpec, compile_events, format_reason
from ._paths import Path, PathSyntaxError
from ._schema import check_definition, definition_error

__all__ = [
    "Acceptor",
    "AcceptorError",
    "BatchSpec",
    "EndingSpec",
    "ErrorAction",
    "ErrorRule",
    "Hints",
    "ParamSpec",
    "StateKind",
    "StateMachine",
    "compile_definition",
    "load_definition_file",
    "method_name",
    "service_model",
]


class StateKind(enum.StrEnum):
    """What a state means for a waiter (a ``StrEnum``: each kind equals its value)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Succeeded, failed or cancelled: the execution will not change again."""
        return self in _TERMINAL

    @property
    def rank(self) -> int:
        """How far along the lifecycle: pending 0, running 1, terminal 2.

        Executions only move forward, so an observation of a lower rank than
        one already seen is stale.
        """
        return _RANK[self]


_TERMINAL = frozenset({StateKind.SUCCEEDED, StateKind.FAILED, StateKind.CANCELLED})
_RANK = {
    StateKind.PENDING: 0,
    StateKind.RUNNING: 1,
    StateKind.SUCCEEDED: 2,
    StateKind.FAILED: 2,
    StateKind.CANCELLED: 2,
}


class ErrorAction(enum.Enum):
    """What an error code means for a wait."""

    #: Transient: keep waiting (throttling is always treated so, and also slows the budget).
    RETRY = "retry"
    #: The call can never succeed as made (bad request, denied): end the wait at once.
    FAIL_FAST = "fail_fast"
    #: The service does not know the execution: not found before it was seen
    #: (after a grace window), vanished after.
    NOT_FOUND = "not_found"
    #: The error itself reports the end of the execution, with a kind.
    TERMINAL = "terminal"


@dataclass(frozen=True, slots=True)
class ErrorRule:
    action: ErrorAction
    kind: StateKind | None = None


class AcceptorError(ValueError):
    """An acceptor's expression cannot be evaluated on an answer (a JMESPath type error).

    botocore's waiter raises then too (``length(null)`` is an error in
    JMESPath); a wait that meets one ends as an ``error``.
    """


@dataclass(frozen=True, slots=True)
class Acceptor:
    """One botocore waiters-2.json acceptor, compiled.

    Matching follows ``botocore/waiter.py``: ``path``, ``pathAll`` and
    ``pathAny`` match successful answers only (the last two never an empty
    list); ``status`` matches the HTTP status of any answer, error or not;
    ``error`` matches an error code, any error (``true``) or any answer that
    is not an error (``false``).
    """

    matcher: str
    state: str
    expected: Any
    argument: Path | None

    @property
    def kind(self) -> StateKind:
        """What a match means: succeeded, failed, or still running (``retry``)."""
        return _ACCEPTOR_KINDS[self.state]

    @property
    def explanation(self) -> str:
        """Why it matched, worded as botocore's ``AcceptorConfig.explanation``."""
        argument = self.argument.expression if self.argument is not None else ""
        if self.matcher == "path":
            return f'For expression "{argument}" we matched expected path: "{self.expected}"'
        if self.matcher == "pathAll":
            return (
                f'For expression "{argument}" all members matched expected path: "{self.expected}"'
            )
        if self.matcher == "pathAny":
            return (
                f'For expression "{argument}" we matched expected path: "{self.expected}" '
                "at least once"
            )
        if self.matcher == "status":
            return f"Matched expected HTTP status code: {self.expected}"
        return f"Matched expected service error code: {self.expected}"

    @property
    def state_name(self) -> str:
        """The state an answer it matches is reported in."""
        if self.matcher == "error" and isinstance(self.expected, bool):
            return "error" if self.expected else "no error"
        if isinstance(self.expected, bool):
            return "true" if self.expected else "false"
        return str(self.expected)

    def matches_response(self, response: Mapping[str, Any]) -> bool:
        """Whether a successful answer matches.

        :raises AcceptorError: the expression cannot be evaluated on *response*.
        """
        matcher = self.matcher
        if matcher == "status":
            meta = response.get("ResponseMetadata") or {}
            return bool(meta.get("HTTPStatusCode") == self.expected)
        if matcher == "error":
            return self.expected is False
        if self.argument is None:
            return False
        try:
            value = self.argument.search(response)
        except JMESPathError as exc:
            raise AcceptorError(
                f"acceptor {matcher} {self.argument.expression!r}: cannot be evaluated on "
                f"this answer: {exc}"
            ) from exc
        if matcher == "path":
            return bool(value == self.expected)
        # botocore: pathAll and pathAny need a list of at least one element.
        if not isinstance(value, list) or not value:
            return False
        if matcher == "pathAll":
            return all(item == self.expected for item in value)
        return any(item == self.expected for item in value)  # pathAny

    def matches_error(self, code: str, status: int | None) -> bool:
        """Whether an error answer (its code and HTTP status) matches."""
        if self.matcher == "status":
            return bool(status == self.expected)
        if self.matcher == "error":
            expected = self.expected
            if isinstance(expected, bool):
                # true: any error matches; false: only answers that are not errors.
                return expected
            return bool(code == expected)
        return False


_ACCEPTOR_KINDS = {
    "success": StateKind.SUCCEEDED,
    "failure": StateKind.FAILED,
    "retry": StateKind.RUNNING,
}


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """An identifying parameter of the describe call, with the model's constraints."""

    name: str
    type_name: str
    required: bool
    min_length: int | None = None
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    enum: frozenset[str] | None = None
    #: The botocore shape of a list, structure or map, whose members are checked too.
    shape: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Hints:
    """Response fields that say when the next change is due."""

    #: Increases with every change of one attempt; with ``attempt``, answers
    #: are ordered by (attempt, version), and a lower one is stale.
    version: Path | None = None
    #: Which attempt the answer is about (IoT's executionNumber): a higher one
    #: is a new execution (a retry) whose lifecycle and version start again.
    attempt: Path | None = None
    #: Seconds until the service will time the execution out.
    deadline_in: Path | None = None
    #: Seconds after ``deadline_since`` (a timestamp field) that it times out.
    deadline_after: Path | None = None
    deadline_since: Path | None = None
    #: How late the service may act on its own deadline.
    slack: float = 0.0
    #: When the service says the execution reached its last state (a
    #: timestamp); detection latency is measured from it.
    ended_at: Path | None = None


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """How executions of this type are observed many at a time."""

    operation: str
    parent: str
    items: Path
    item_status: Path
    item_identity: Mapping[str, Path]
    identity_transform: Mapping[str, str]
    page_size: int
    page_size_param: str
    token: str
    parent_from: Path | None = None
    parent_params: Mapping[str, Any] = field(default_factory=dict)
    #: What the list call's model says of the parent parameter (type, length,
    #: pattern), so a parent given by hand is checked before any call.
    parent_spec: ParamSpec | None = None
    status_filter: str | None = None
    lists_only: str | None = None
    progress_operation: str | None = None
    progress_counts: Mapping[str, Path] = field(default_factory=dict)
    #: When a list item says its execution reached its last state (a timestamp).
    item_ended_at: Path | None = None
    #: Which attempt a list item is about (see ``Hints.attempt``).
    item_attempt: Path | None = None
    #: The client methods of ``operation`` and ``progress_operation``.
    method: str = ""
    progress_method: str | None = None


@dataclass(frozen=True, slots=True)
class RetrySpec:
    """Where a parent says that a failed execution is followed by a new attempt.

    AWS IoT Jobs' retry configuration (``DescribeJob``
    ``job.jobExecutionsRetryConfig.criteriaList``, each criterion a
    ``failureType`` and a ``numberOfRetries``): a FAILED or TIMED_OUT job
    execution with retries left is followed by a new one, executionNumber + 1.

    :param operation: the parent's describe operation (``DescribeJob``).
    :param method: its client method.
    :param parent: the execution parameter that names the parent (``jobId``).
    :param criteria: the list of criteria in the answer.
    :param failure_type: where a criterion names the failure it retries.
    :param count: where a criterion says how many retries it allows.
    :param every: the failure type that matches every failure (``ALL``).
    :param states: the terminal states that may be retried, with the failure
        type each is.
    :param attempt: the optional parameter that asks for one attempt
        (``executionNumber``): a wait that does not follow retries asks for
        the attempt it was watching once a newer one appears, to read how it
        ended.
    """

    operation: str
    method: str
    parent: str
    criteria: Path
    failure_type: Path
    count: Path
    every: str | None
    states: Mapping[str, str]
    attempt: str | None = None

    def allowed(self, response: Mapping[str, Any], state: str) -> int:
        """How many retries the parent's *response* allows after *state* (0: none)."""
        failure = self.states.get(state)
        if failure is None:
            return 0
        allowed = 0
        for criterion in self.criteria.search(response) or ():
            kind = self.failure_type.search(criterion)
            count = self.count.search(criterion)
            if (kind == failure or (self.every is not None and kind == self.every)) and (
                isinstance(count, int) and not isinstance(count, bool)
            ):
                allowed = max(allowed, count)
        return allowed

    def left(self, allowance: Mapping[str, int], state: str, attempt: float | None) -> bool:
        """Whether *attempt* (1 the first; ``None``, unknown, as the first), ended in
        *state*, leaves a retry under *allowance* (retries per state, as read by
        :meth:`allowed`)."""
        used = int(attempt) - 1 if attempt is not None else 0
        return used < allowance.get(state, 0)


@dataclass(frozen=True, slots=True)
class EndingSpec:
    """Where to read how an execution ended once the service no longer reports it.

    Transfer Family describes executions in progress only; how one ended is
    in its workflow's execution log (AWS Transfer Family User Guide,
    "Managing logging for workflows"), read with CloudWatch Logs'
    ``FilterLogEvents``.
    """

    service: str
    operation: str
    method: str
    #: The log group, read from the last answer of the describe call.
    log_group: Path
    #: Otherwise, a value to put into ``log_group_format`` (a list item lacks the group).
    log_group_from: Path | None
    log_group_format: str
    #: The filter pattern, with ``{Param}`` replaced by the execution's parameters.
    filter_pattern: str
    #: The member of each log message (JSON) that names the event.
    type_field: Path
    #: Where a message carries the reason of a failure.
    reason_field: Path | None
    #: Log event types that end an execution, and the state each means.
    types: Mapping[str, str]
    #: Seconds to wait for the ending to reach the log (its delivery lags).
    grace: float


@dataclass(frozen=True, slots=True, eq=False)
class StateMachine:
    """A compiled execution type. Build one with :func:`load_machines` or the registry.

    The fields are what compiling a definition (TOML or JSON, see the
    ``state_machines/`` directory) against the botocore service model
    produces; the constructor itself checks nothing, so make machines by
    loading definitions (:func:`load_machines`, :meth:`MachineRegistry.get`,
    :func:`machine_from_botocore_waiter`), or change a loaded one with
    ``dataclasses.replace``.

    :param name: the type's name (``"iot-job-execution"``), or
        ``"service:WaiterName"`` for a botocore waiter.
    :param description: one line for people (the definition's
        ``description``, default the name).
    :param service: the botocore service name (``"iot"``).
    :param operation: the describe operation (``"DescribeJobExecution"``).
    :param method: its client method (``"describe_job_execution"``).
    :param identity: the parameters that identify an execution (at least
        every required member of the operation's input), with the model's
        constraints, in the definition's order.
    :param optional: the other parameters an execution may give.
    :param status: where a describe response holds the state (a dotted path
        or JMESPath), or ``None`` for a type defined by acceptors alone.
    :param reason: where a response holds why (IoT's
        ``execution.statusDetails.detailsMap``), or ``None``.
    :param states: the states, with what each means (its
        :class:`StateKind`); with *status*, exactly the values the model's
        enum for it allows.
    :param transitions: the states each non-terminal state may move to;
        empty for types that declare none.
    :param errors: what each error code means for a wait (retry, fail fast,
        not found, or a terminal state of a kind), by code.
    :param acceptors: botocore ``waiters-2.json`` acceptors, in order; the
        first that matches an answer wins, before *status* is read.
    :param hints: response fields that say when the next change is due
        (a version, a deadline and its slack, when it ended).
    :param sensitive: response paths kept out of logs unless asked
        (``log_sensitive``).
    :param batch: how executions of the type are observed through the list
        operation, a page at a time, or ``None`` for describe calls only.
    :param source: where the definition came from (a file name, or
        ``"botocore SERVICE waiters-2.json NAME"``), as errors name it.
    :param ending: how an execution the service stopped reporting ended,
        when a log says so (Transfer Family's workflow execution log), or
        ``None`` (the default).
    :param sole_endings: states from which every path ends in the same
        terminal state, with that state: how an execution last seen there
        ended, even when the service no longer says (default: none; the
        compiler derives them from *transitions*).
    :param retries: where a parent says a failed execution is retried (IoT
        jobs' retry configuration), or ``None`` (the default).
    :param events: how the type's status-change events read (the
        definition's ``[events]``), or ``None`` when it publishes none (the
        default).
    """

    name: str
    description: str
    service: str
    operation: str
    method: str
    identity: tuple[ParamSpec, ...]
    optional: tuple[ParamSpec, ...]
    status: Path | None
    reason: Path | None
    states: Mapping[str, StateKind]
    transitions: Mapping[str, frozenset[str]]
    errors: Mapping[str, ErrorRule]
    acceptors: tuple[Acceptor, ...]
    hints: Hints
    sensitive: tuple[Path, ...]
    batch: BatchSpec | None
    source: str
    ending: EndingSpec | None = None
    sole_endings: Mapping[str, str] = field(default_factory=dict)
    retries: RetrySpec | None = None
    events: EventSpec | None = None
    #: Identifying, then optional, parameters.
    parameters: tuple[ParamSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", (*self.identity, *self.optional))

    def summary_identity(self, item: Mapping[str, Any], parent: Any) -> tuple[Any, ...]:
        """The identifying values (in ``identity`` order) of an item of the batch list call.

        For types with a ``batch`` section only.

        :param item: one item of a list page (at the batch section's ``items``
            path), such as an IoT ``executionSummaries`` entry.
        :param parent: the value of the list call's parent parameter (the IoT
            job id), for identifying parameters the item does not carry.
        """
        batch = self.batch
        assert batch is not None
        values = []
        for param in self.identity:
            path = batch.item_identity.get(param.name)
            if path is None:
                values.append(parent)
                continue
            value = path.search(item)
            if isinstance(value, str) and batch.identity_transform.get(param.name) == (
                "arn_last_segment"
            ):
                value = value.rsplit("/", 1)[-1]
            values.append(value)
        return tuple(values)

    def kind_of(self, state: str | None) -> StateKind | None:
        """The kind of a state, or None for a state the definition does not know.

        :param state: a state name as the service reports it, or ``None``
            (then ``None``).
        """
        if state is None:
            return None
        return self.states.get(state)

    def is_legal(self, before: str | None, after: str | None) -> bool:
        """Whether the definition's ``transitions`` allow moving from *before* to *after*.

        Staying in a state, a first sighting and a type that declares no
        transitions are always legal, and so is leaving a state the
        definition does not know; leaving a known state that has no declared
        way out (a terminal one) is not.

        :param before: the state observed last, or ``None`` if none was.
        :param after: the state observed now, or ``None``.
        """
        if before is None or after is None or before == after:
            return True
        if before not in self.transitions:
            # Unknown states and acceptor-only machines declare no transitions.
            return before not in self.states or not self.transitions
        return after in self.transitions[before]

    def evaluate(self, response: Mapping[str, Any]) -> tuple[str | None, StateKind | None]:
        """Read the state and its kind from a describe response.

        Acceptors come first, in order (the first match wins, as in botocore);
        then the status path. The kind is ``None`` for a state the definition
        does not know; both are ``None`` when the response has no status.

        :param response: a successful describe response (a parsed client
            result).
        :raises AcceptorError: an acceptor's expression cannot be evaluated on it.
        """
        for acceptor in self.acceptors:
            if acceptor.matches_response(response):
                return acceptor.state_name, acceptor.kind
        if self.status is None:
            return None, StateKind.RUNNING if self.acceptors else None
        value = self.status.search(response)
        if value is None:
            return None, None
        state = str(value)
        return state, self.states.get(state)

    def accept_error(self, code: str, status: int | None) -> Acceptor | None:
        """The first acceptor that matches an error answer, if any (botocore's order).

        :param code: the error code (``"ResourceNotFoundException"``).
        :param status: the HTTP status of the answer, or ``None`` if unknown.
        """
        for acceptor in self.acceptors:
            if acceptor.matches_error(code, status):
                return acceptor
        return None

    def reason_of(self, response: Mapping[str, Any] | None) -> str | None:
        """The reason a response gives: its reason path, or the explanation of its acceptor.

        A map (IoT's ``statusDetails.detailsMap``) reads ``key=value, ...``
        in key order; an empty value is no reason.

        :param response: a describe response or list item, or ``None``
            (then ``None``).
        """
        if response is None:
            return None
        if self.reason is None:
            for acceptor in self.acceptors:
                try:
                    if acceptor.matches_response(response):
                        return acceptor.explanation
                except AcceptorError:
                    return None
            return None
        return format_reason(self.reason.search(response))

    def error_rule(self, code: str) -> ErrorRule | None:
        """What the definition's ``errors`` table says of an error code, if anything.

        Without a rule, the engine classifies the error itself: 5xx answers
        and request timeouts are transient, anything else ends the wait.
        Throttling is always retried, and credential errors always end the
        wait, whatever the rule (an acceptor that matches comes first).

        :param code: the error code (``"ResourceNotFoundException"``).
        """
        return self.errors.get(code)

    @property
    def terminal_states(self) -> frozenset[str]:
        """The states whose kind is terminal (succeeded, failed or cancelled)."""
        return frozenset(name for name, kind in self.states.items() if kind.terminal)

    def states_of(self, *kinds: StateKind) -> tuple[str, ...]:
        """The states of the given kinds, in the definition's order.

        :param kinds: the :class:`StateKind` values to keep.
        """
        return tuple(name for name, kind in self.states.items() if kind in kinds)

    def __repr__(self) -> str:
        return f"<StateMachine {self.name} {self.service}.{self.operation}>"


# --- loading and validation ---------------------------------------------------------------


_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class _Checker:
    """Collects the file name so every error says where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str, got: Any = ...) -> DefinitionError:
        if got is ...:
            return definition_error(self.source, key, expected)
        return definition_error(self.source, key, expected, got)

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: str,
        expected: str,
        *,
        required: bool = True,
    ) -> Any:
        if key not in data:
            if required:
                raise self.fail(f"{where}{key}", f"{expected} (the key is missing)")
            return None
        value = data[key]
        # bool is an int in Python; a definition that says `true` for a number is wrong.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"{where}{key}", expected, value)
        return value

    def path(self, expression: Any, key: str) -> Path:
        if not isinstance(expression, str) or not expression:
            raise self.fail(key, "a dotted path or JMESPath expression", expression)
        try:
            return Path(expression)
        except PathSyntaxError as exc:
            raise self.fail(key, f"a valid JMESPath expression ({exc})", expression) from None

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "a list of non-empty strings", value)
        return tuple(value)


@cache
def botocore_session() -> Any:
    """One botocore session for reading models (making one takes tens of milliseconds)."""
    import botocore.session

    return botocore.session.get_session()


@cache
def service_model(service: str, api_version: str | None = None) -> Any:
    """The botocore service model, the latest or of *api_version* (cached: loading one
    takes tens of milliseconds)."""
    return botocore_session().get_service_model(service, api_version)


def method_name(operation: str) -> str:
    """The client method of an operation: ``DescribeJobExecution`` -> ``describe_job_execution``."""
    from botocore import xform_name

    return str(xform_name(operation))


def _param_spec(name: str, shape: Any, required: bool) -> ParamSpec:
    pattern: re.Pattern[str] | None = None
    raw = shape.metadata.get("pattern")
    if raw:
        try:
            pattern = re.compile(raw)
        except re.error:
            # Java regex classes (\p{...}) have no `re` equivalent; the service
            # still validates, and lengths are checked here.
            pattern = None
    enum_values = getattr(shape, "enum", None)
    return ParamSpec(
        name=name,
        type_name=shape.type_name,
        required=required,
        min_length=shape.metadata.get("min") if shape.type_name == "string" else None,
        max_length=shape.metadata.get("max") if shape.type_name == "string" else None,
        pattern=pattern,
        enum=frozenset(enum_values) if enum_values else None,
        shape=shape if shape.type_name in _NESTED else None,
    )


_NESTED = frozenset({"list", "structure", "map"})

#: The Python types a parameter of each botocore shape type may take (a bool
#: only where the type is boolean): what botocore's parameter validation accepts.
PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "float": (int, float),
    "double": (int, float),
    "list": (list, tuple),
    "structure": (Mapping,),
    "map": (Mapping,),
    "blob": (bytes, bytearray, str),
    "timestamp": (datetime, str, int, float),
}


def _fits(shape: Any, value: Any) -> bool:
    """Whether a constant *value* is of *shape*'s type (and in its enum; items of a list)."""
    expected = PY_TYPES.get(shape.type_name)
    if expected is not None and (
        not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected)
    ):
        return False
    enum_values = getattr(shape, "enum", None)
    if enum_values and isinstance(value, str) and value not in enum_values:
        return False
    if shape.type_name == "list":
        return all(_fits(shape.member, item) for item in value)
    return True


def compile_definition(
    data: Mapping[str, Any], *, source: str = "<definition>", strict: bool = True
) -> StateMachine:
    """Validate and compile one definition (the parsed TOML or JSON document).

    :param data: the definition.
    :param source: where it came from (a file name), for error messages.
    :param strict: an acceptor's ``expected`` value that the model's enum for
        its path does not list is an error (default); when False, it is
        logged (``waiters.unreachable_acceptor``, a warning) and kept, as
        botocore keeps it (for botocore's own ``waiters-2.json`` data).
    :raises DefinitionError: naming the source, the key, what was expected and the value.
    """
    check = _Checker(source)
    # Every key's type and range first: what follows reads only declared types.
    check_definition(data, source=source)
    name = check.get(data, "name", str, "", "a type name like 'iot-job-execution'")
    if not _NAME.fullmatch(name):
        raise check.fail("name", "lowercase letters, digits, '.', '_' or '-'", name)
    service = check.get(data, "service", str, "", "a botocore service name like 'iot'")
    operation = check.get(
        data, "operation", str, "", "an operation name like 'DescribeJobExecution'"
    )

    api_version = data.get("api_version")
    if api_version is not None and not isinstance(api_version, str):
        raise check.fail("api_version", "a botocore API version like '2016-11-15'", api_version)
    model = _model_with(check, service, operation, "", api_version)
    op_model = model.operation_model(operation)
    input_shape = op_model.input_shape
    members = input_shape.members if input_shape is not None else {}
    required_members = set(input_shape.required_members) if input_shape is not None else set()

    identity_names = check.strings(data.get("identity", []), "identity")
    optional_names = check.strings(data.get("optional", []), "optional")
    for key, names in (("identity", identity_names), ("optional", optional_names)):
        for param in names:
            if param not in members:
                raise check.fail(key, f"parameters of {operation} ({sorted(members)})", param)
    missing = sorted(required_members - set(identity_names))
    if missing:
        raise check.fail("identity", f"every required parameter of {operation}; missing {missing}")
    identity = tuple(_param_spec(p, members[p], True) for p in identity_names)
    optional = tuple(_param_spec(p, members[p], False) for p in optional_names)

    states: dict[str, StateKind] = {}
    raw_states = data.get("states", {})
    if not isinstance(raw_states, Mapping):
        raise check.fail("states", "a table of STATE = kind", raw_states)
    kinds = {kind.value: kind for kind in StateKind}
    for state, kind in raw_states.items():
        if kind not in kinds:
            raise check.fail(f"states.{state}", f"one of {sorted(kinds)}", kind)
        states[state] = kinds[kind]

    status: Path | None = None
    reason: Path | None = None
    raw_status = data.get("status")
    if raw_status is not None:
        if not isinstance(raw_status, Mapping):
            raise check.fail("status", "a table with 'path' (and optionally 'reason')", raw_status)
        status = check.path(raw_status.get("path"), "status.path")
        if "reason" in raw_status:
            reason = check.path(raw_status["reason"], "status.reason")
        if not states:
            raise check.fail("states", "at least one state when status.path is set")
        # Dotted or JMESPath alike: a path whose values the model cannot name
        # would leave every state name unchecked, and a typo would never match.
        enum_values = _enum_at(status, op_model.output_shape)
        if enum_values is None:
            raise check.fail(
                "status.path",
                f"a path to an enum member of {operation}'s output (one value)",
                status.expression,
            )
        for state in states:
            if state not in enum_values:
                raise check.fail(
                    f"states.{state}",
                    f"a value of the service model's enum {list(enum_values)}",
                )
        uncovered = [value for value in enum_values if value not in states]
        if uncovered:
            raise check.fail("states", f"a kind for every modeled state; missing {uncovered}")

    transitions: dict[str, frozenset[str]] = {}
    raw_transitions = data.get("transitions", {})
    if not isinstance(raw_transitions, Mapping):
        raise check.fail("transitions", "a table of STATE = [next states]", raw_transitions)
    for state, targets in raw_transitions.items():
        if state not in states:
            raise check.fail(f"transitions.{state}", f"a declared state ({sorted(states)})")
        if states[state].terminal:
            raise check.fail(f"transitions.{state}", "no transitions out of a terminal state")
        names = check.strings(targets, f"transitions.{state}")
        for target in names:
            if target not in states:
                raise check.fail(
                    f"transitions.{state}", f"declared states ({sorted(states)})", target
                )
        transitions[state] = frozenset(names)

    errors: dict[str, ErrorRule] = {}
    raw_errors = data.get("errors", {})
    if not isinstance(raw_errors, Mapping):
        raise check.fail("errors", "a table of ErrorCode = action", raw_errors)
    actions = {action.value: action for action in ErrorAction}
    for code, rule in raw_errors.items():
        where = f"errors.{code}"
        if isinstance(rule, str):
            if rule not in actions or rule == "terminal":
                raise check.fail(
                    where,
                    "one of retry, fail_fast, not_found, or a table "
                    "{ action = 'terminal', kind = ... }",
                    rule,
                )
            errors[code] = ErrorRule(actions[rule])
        elif isinstance(rule, Mapping) and rule.get("action") == "terminal":
            kind = rule.get("kind")
            if kind not in kinds or not kinds[kind].terminal:
                raise check.fail(f"{where}.kind", "succeeded, failed or cancelled", kind)
            errors[code] = ErrorRule(ErrorAction.TERMINAL, kinds[kind])
        else:
            raise check.fail(where, "an action name or { action = 'terminal', kind = ... }", rule)

    acceptors: list[Acceptor] = []
    raw_acceptors = data.get("acceptors", [])
    if not isinstance(raw_acceptors, list):
        raise check.fail("acceptors", "a list of acceptors", raw_acceptors)
    for index, raw in enumerate(raw_acceptors):
        acceptors.append(
            _acceptor(check, raw, f"acceptors[{index}]", op_model.output_shape, strict=strict)
        )
    if status is None and not acceptors:
        raise check.fail("status", "a status path or at least one acceptor")

    hints = _hints(check, data.get("hints", {}))
    sensitive = tuple(
        _sensitive(check, p, f"sensitive[{index}]")
        for index, p in enumerate(check.strings(data.get("sensitive", []), "sensitive"))
    )
    batch = _batch(check, data.get("batch"), model, states, identity_names)
    ending = _ending(check, data.get("ending"), states, identity_names + optional_names)
    description = data.get("description", name)
    if not isinstance(description, str):
        raise check.fail("description", "a string", description)
    return StateMachine(
        name=name,
        description=description,
        service=service,
        operation=operation,
        method=method_name(operation),
        identity=identity,
        optional=optional,
        status=status,
        reason=reason,
        states=states,
        transitions=transitions,
        errors=errors,
        acceptors=tuple(acceptors),
        hints=hints,
        sensitive=sensitive,
        batch=batch,
        source=source,
        ending=ending,
        sole_endings=_sole_endings(states, transitions),
        retries=_retries(check, data.get("retries"), model, states, identity_names, optional_names),
        events=compile_events(data.get("events"), source=source, identity=identity_names),
    )


def _model_with(
    check: _Checker, service: str, operation: str, prefix: str, api_version: str | None = None
) -> Any:
    """The service model (of *api_version*, default the latest), which must have *operation*."""
    import botocore.exceptions

    try:
        model = service_model(service, api_version)
    except botocore.exceptions.UnknownServiceError:
        raise check.fail(f"{prefix}service", "a service botocore knows", service) from None
    except botocore.exceptions.DataNotFoundError:
        raise check.fail(
            f"{prefix}api_version", f"an API version botocore has for {service}", api_version
        ) from None
    if operation not in model.operation_names:
        raise check.fail(f"{prefix}operation", f"an operation of {service}", operation)
    return model


def _sole_endings(
    states: Mapping[str, StateKind], transitions: Mapping[str, frozenset[str]]
) -> dict[str, str]:
    """For each non-terminal state, its terminal state when every path leads to that one."""
    endings: dict[str, str] = {}
    for start in states:
        if states[start].terminal or start not in transitions:
            continue
        seen = {start}
        pending = [start]
        terminal: set[str] = set()
        while pending:
            for target in transitions.get(pending.pop(), ()):
                if states[target].terminal:
                    terminal.add(target)
                elif target not in seen:
                    seen.add(target)
                    if target not in transitions:
                        # A state with no declared way out: nothing can be concluded.
                        terminal.add("")
                    pending.append(target)
        if len(terminal) == 1 and "" not in terminal:
            endings[start] = terminal.pop()
    return endings


def _section(check: _Checker, raw: Any, name: str) -> Mapping[str, Any] | None:
    """An optional table of a definition (its keys checked by the schema): None if absent."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise check.fail(name, "a table", raw)
    return raw


def _operation_of(check: _Checker, raw: Mapping[str, Any], name: str, model: Any, what: str) -> str:
    """The section's ``operation``: an operation of the service model."""
    operation: str = check.get(raw, "operation", str, f"{name}.", what)
    if operation not in model.operation_names:
        raise check.fail(f"{name}.operation", "an operation of the service", operation)
    return operation


def _retries(
    check: _Checker,
    raw: Any,
    model: Any,
    states: Mapping[str, StateKind],
    identity: Sequence[str],
    optional: Sequence[str],
) -> RetrySpec | None:
    raw = _section(check, raw, "retries")
    if raw is None:
        return None
    operation = _operation_of(check, raw, "retries", model, "the parent's describe operation")
    parent = check.get(raw, "parent", str, "retries.", "the parameter naming the parent")
    if parent not in identity:
        raise check.fail("retries.parent", f"an identity parameter ({list(identity)})", parent)
    if parent not in model.operation_model(operation).input_shape.members:
        raise check.fail("retries.parent", f"a parameter of {operation}", parent)
    retried = check.get(raw, "states", Mapping, "retries.", "a table STATE = failure type")
    for state, failure in retried.items():
        if state not in states or not states[state].terminal:
            raise check.fail(f"retries.states.{state}", "a declared terminal state", state)
        if not isinstance(failure, str):
            raise check.fail(f"retries.states.{state}", "a failure type name", failure)
    every = raw.get("every")
    if every is not None and not isinstance(every, str):
        raise check.fail("retries.every", "a failure type name", every)
    attempt = raw.get("attempt")
    if attempt is not None and attempt not in optional:
        raise check.fail("retries.attempt", f"an optional parameter ({list(optional)})", attempt)
    return RetrySpec(
        operation=operation,
        method=method_name(operation),
        parent=parent,
        criteria=check.path(raw.get("criteria"), "retries.criteria"),
        failure_type=check.path(raw.get("failure_type"), "retries.failure_type"),
        count=check.path(raw.get("count"), "retries.count"),
        every=every,
        states=dict(retried),
        attempt=attempt,
    )


_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def _ending(
    check: _Checker, raw: Any, states: Mapping[str, StateKind], params: Sequence[str]
) -> EndingSpec | None:
    raw = _section(check, raw, "ending")
    if raw is None:
        return None
    service = check.get(raw, "service", str, "ending.", "a botocore service name like 'logs'")
    operation = check.get(raw, "operation", str, "ending.", "an operation like 'FilterLogEvents'")
    _model_with(check, service, operation, "ending.")
    pattern = check.get(raw, "filter_pattern", str, "ending.", "a filter pattern")
    for placeholder in _PLACEHOLDER.findall(pattern):
        if placeholder not in params:
            raise check.fail(
                "ending.filter_pattern", f"placeholders among {list(params)}", placeholder
            )
    raw_types = raw.get("types")
    if not isinstance(raw_types, Mapping) or not raw_types:
        raise check.fail("ending.types", "a table EventType = STATE", raw_types)
    types: dict[str, str] = {}
    for event, state in raw_types.items():
        if not isinstance(state, str) or state not in states or not states[state].terminal:
            raise check.fail(f"ending.types.{event}", "a terminal state", state)
        types[str(event)] = state
    grace = raw.get("grace", 60.0)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace < 1e9:
        raise check.fail("ending.grace", "a number of seconds >= 0", grace)
    reason_field = raw.get("reason_field")
    log_group_from = raw.get("log_group_from")
    group_from: Path | None = None
    group_format = "{}"
    if log_group_from is not None:
        if not isinstance(log_group_from, Mapping):
            raise check.fail("ending.log_group_from", "a table { path = ..., format = ... }")
        group_from = check.path(log_group_from.get("path"), "ending.log_group_from.path")
        group_format = log_group_from.get("format", "{}")
        if not isinstance(group_format, str) or group_format.count("{}") != 1:
            raise check.fail("ending.log_group_from.format", "a string with one '{}'", group_format)
    return EndingSpec(
        log_group_from=group_from,
        log_group_format=group_format,
        service=service,
        operation=operation,
        method=method_name(operation),
        log_group=check.path(raw.get("log_group"), "ending.log_group"),
        filter_pattern=pattern,
        type_field=check.path(raw.get("type_field", "type"), "ending.type_field"),
        reason_field=None
        if reason_field is None
        else check.path(reason_field, "ending.reason_field"),
        types=types,
        grace=float(grace),
    )


def _acceptor(
    check: _Checker, raw: Any, where: str, output_shape: Any, *, strict: bool
) -> Acceptor:
    if not isinstance(raw, Mapping):
        raise check.fail(where, "a table with matcher, state, expected", raw)
    matcher = raw.get("matcher")
    if matcher not in ("path", "pathAll", "pathAny", "status", "error"):
        raise check.fail(
            f"{where}.matcher", "one of path, pathAll, pathAny, status, error", matcher
        )
    state = raw.get("state")
    if state not in _ACCEPTOR_KINDS:
        raise check.fail(f"{where}.state", "one of success, failure, retry", state)
    if "expected" not in raw:
        raise check.fail(f"{where}.expected", "a value (the key is missing)")
    expected = raw["expected"]
    argument = None
    if matcher in ("path", "pathAll", "pathAny"):
        argument = check.path(raw.get("argument"), f"{where}.argument")
        reachable = _unreachable(argument, output_shape, expected)
        # A typo here (COMPLETE for COMPLETED, 0 for "0") would never match: the
        # wait could only time out. The same typo under [states] fails at load;
        # so does this.
        if reachable is not None:
            error = check.fail(f"{where}.expected", reachable, expected)
            if strict:
                raise error
            import structlog

            structlog.get_logger("waiters").warning(
                "waiters.unreachable_acceptor", source=check.source, message=str(error)
            )
    if matcher == "error" and (not isinstance(expected, str | bool) or expected == ""):
        raise check.fail(
            f"{where}.expected",
            "an error code string, true (any error) or false (no error)",
            expected,
        )
    if matcher == "status" and (
        isinstance(expected, bool) or not isinstance(expected, int) or not 100 <= expected <= 599
    ):
        raise check.fail(f"{where}.expected", "an HTTP status code (100-599)", expected)
    return Acceptor(matcher=matcher, state=state, expected=expected, argument=argument)


class _Each:
    """The elements of a projection's result (a list made by the expression, not the model)."""

    __slots__ = ("shape",)

    def __init__(self, shape: Any) -> None:
        self.shape = shape


def _elements(shape: Any) -> Any:
    """The shape of the elements of a list value (modeled or projected), or None."""
    if isinstance(shape, _Each):
        return shape.shape
    if shape is not None and shape.type_name == "list":
        return shape.member
    return None


def _shape_of(node: Mapping[str, Any], shape: Any) -> Any:
    """The model shape of what a JMESPath AST node yields on a value of *shape*.

    A projection yields an :class:`_Each`; anything the model cannot say
    (functions, comparisons, literals, multi-selects) yields None.
    """
    if shape is None:
        return None
    kind = node["type"]
    children = node.get("children", [])
    if kind == "identity":
        return shape
    if kind == "field":
        if isinstance(shape, _Each):
            return None
        if shape.type_name == "structure":
            return shape.members.get(node["value"])
        return shape.value if shape.type_name == "map" else None
    if kind in ("subexpression", "pipe"):
        return _shape_of(children[1], _shape_of(children[0], shape))
    if kind == "or_expression":
        left, right = (_shape_of(child, shape) for child in children)
        same = (
            left is not None
            and right is not None
            and not isinstance(left, _Each)
            and not isinstance(right, _Each)
            and (left.name, left.type_name) == (right.name, right.type_name)
        )
        return left if same else None
    if kind == "index_expression":
        return _elements(_shape_of(children[0], shape))
    if kind == "flatten":
        element = _elements(_shape_of(children[0], shape))
        if element is None:
            return None
        inner = _elements(element)
        return _Each(inner if inner is not None else element)
    if kind in ("projection", "filter_projection"):
        element = _elements(_shape_of(children[0], shape))
        return None if element is None else _Each(_shape_of(children[1], element))
    if kind == "value_projection":
        base = _shape_of(children[0], shape)
        if isinstance(base, _Each) or base is None or base.type_name != "map":
            return None
        return _Each(_shape_of(children[1], base.value))
    return None


#: The values of each scalar type of the model, as parsed answers hold them.
_SCALAR_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
}


def _unreachable(argument: Path, output_shape: Any, expected: Any) -> str | None:
    """What *expected* should have been, when the model says *argument* never yields it.

    None when it can, or when the model cannot say (functions, comparisons,
    timestamps, lists and structures are not judged).
    """
    import jmespath

    shape = _shape_of(jmespath.compile(argument.expression).parsed, output_shape)
    while isinstance(shape, _Each):
        shape = shape.shape
    types = _SCALAR_TYPES.get(shape.type_name) if shape is not None else None
    if types is None:
        return None
    # bool is an int in Python; a boolean member never equals a number.
    if not isinstance(expected, types) or (
        isinstance(expected, bool) != (shape.type_name == "boolean")
    ):
        return f"a {shape.type_name}, as {argument.expression} is in the model"
    values = getattr(shape, "enum", None) if shape.type_name == "string" else None
    if values and expected not in values:
        return f"a value {argument.expression} can take ({', '.join(values)})"
    return None


def _enum_at(path: Path, shape: Any, *, each: bool = False) -> tuple[str, ...] | None:
    """The enum of the value at *path* in a value of *shape*, where the model says (else None).

    :param each: the values of a projection (a list the expression makes)
        count too; a status path must name one value, so it does not.
    """
    import jmespath

    found = _shape_of(jmespath.compile(path.expression).parsed, shape)
    while each and isinstance(found, _Each):
        found = found.shape
    if found is None or isinstance(found, _Each) or found.type_name != "string":
        return None
    values = getattr(found, "enum", None)
    return tuple(values) if values else None


def _sensitive(check: _Checker, expression: str, key: str) -> Path:
    """A sensitive path: dotted members only, the form redaction can find in a response."""
    path = check.path(expression, key)
    if path.keys is None:
        raise check.fail(
            key, "a dotted path of member names (JMESPath cannot be redacted)", expression
        )
    return path


def _hints(check: _Checker, raw: Any) -> Hints:
    if not isinstance(raw, Mapping):
        raise check.fail("hints", "a table", raw)
    version = check.path(raw["version"], "hints.version") if "version" in raw else None
    attempt = check.path(raw["attempt"], "hints.attempt") if "attempt" in raw else None
    ended_at = check.path(raw["ended_at"], "hints.ended_at") if "ended_at" in raw else None
    deadline_in = deadline_after = since = None
    slack = 0.0
    for key in ("deadline_in", "deadline_after"):
        if key not in raw:
            continue
        spec = raw[key]
        if not isinstance(spec, Mapping):
            raise check.fail(f"hints.{key}", "a table { path = ..., slack = seconds }", spec)
        path = check.path(spec.get("path"), f"hints.{key}.path")
        value = spec.get("slack", 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise check.fail(f"hints.{key}.slack", "a non-negative number of seconds", value)
        slack = float(value)
        if key == "deadline_in":
            deadline_in = path
        else:
            deadline_after = path
            since = check.path(spec.get("since"), f"hints.{key}.since")
    return Hints(
        version=version,
        attempt=attempt,
        deadline_in=deadline_in,
        deadline_after=deadline_after,
        deadline_since=since,
        slack=slack,
        ended_at=ended_at,
    )


_TRANSFORMS = {"arn_last_segment"}


def _batch(
    check: _Checker, raw: Any, model: Any, states: Mapping[str, StateKind], identity: Sequence[str]
) -> BatchSpec | None:
    raw = _section(check, raw, "batch")
    if raw is None:
        return None
    operation = _operation_of(check, raw, "batch", model, "a list operation name")
    members = model.operation_model(operation).input_shape.members
    parent = check.get(raw, "parent", str, "batch.", "the list call's parameter naming the group")
    if parent not in members:
        raise check.fail("batch.parent", f"a parameter of {operation} ({sorted(members)})", parent)
    parent_from = (
        check.path(raw["parent_from"], "batch.parent_from") if "parent_from" in raw else None
    )
    if parent_from is None and parent not in identity:
        raise check.fail(
            "batch.parent_from", f"a response path ({parent!r} is not an identity parameter)"
        )
    for key in ("page_size_param", "token", "status_filter"):
        value = raw.get(key)
        if value is not None and value not in members:
            raise check.fail(f"batch.{key}", f"a parameter of {operation}", value)
    items = check.path(raw.get("items"), "batch.items")
    item_status = check.path(raw.get("item_status"), "batch.item_status")
    _check_item_status(check, model, operation, items, item_status, states)
    page_size = check.get(raw, "page_size", int, "batch.", "a positive integer")
    if page_size <= 0:
        raise check.fail("batch.page_size", "a positive integer", page_size)
    raw_identity = check.get(raw, "item_identity", Mapping, "batch.", "a table PARAM = path")
    item_identity = {k: check.path(v, f"batch.item_identity.{k}") for k, v in raw_identity.items()}
    for param in identity:
        if param not in item_identity and param != parent:
            raise check.fail("batch.item_identity", f"a path for identity parameter {param!r}")
    transforms = raw.get("identity_transform", {})
    if not isinstance(transforms, Mapping) or any(
        v not in _TRANSFORMS for v in transforms.values()
    ):
        raise check.fail(
            "batch.identity_transform", f"PARAM = one of {sorted(_TRANSFORMS)}", transforms
        )
    parent_params = raw.get("parent_params", {})
    if not isinstance(parent_params, Mapping):
        raise check.fail("batch.parent_params", "a table of constant parameters", parent_params)
    for name, value in parent_params.items():
        if name not in members:
            raise check.fail(
                f"batch.parent_params.{name}", f"a parameter of {operation} ({sorted(members)})"
            )
        shape = members[name]
        if not _fits(shape, value):
            enum_values = getattr(shape, "enum", None)
            expected = f"one of {sorted(enum_values)}" if enum_values else f"a {shape.type_name}"
            raise check.fail(
                f"batch.parent_params.{name}", f"{expected} ({operation}'s {name})", value
            )
    lists_only = raw.get("lists_only")
    if lists_only not in (None, "in_progress"):
        raise check.fail("batch.lists_only", "'in_progress'", lists_only)
    progress = raw.get("progress", {})
    if not isinstance(progress, Mapping):
        raise check.fail("batch.progress", "a table with operation and counts", progress)
    progress_operation = progress.get("operation")
    counts: dict[str, Path] = {}
    if progress:
        if progress_operation not in model.operation_names:
            raise check.fail(
                "batch.progress.operation", "an operation of the service", progress_operation
            )
        raw_counts = progress.get("counts", {})
        if not isinstance(raw_counts, Mapping):
            raise check.fail("batch.progress.counts", "a table STATE = path", raw_counts)
        for state, expression in raw_counts.items():
            if state not in states:
                raise check.fail(f"batch.progress.counts.{state}", "a declared state")
            counts[state] = check.path(expression, f"batch.progress.counts.{state}")
    return BatchSpec(
        operation=operation,
        parent=parent,
        parent_from=parent_from,
        parent_params=dict(parent_params),
        parent_spec=_param_spec(parent, members[parent], True),
        items=items,
        item_status=item_status,
        item_identity=item_identity,
        item_ended_at=(
            check.path(raw["item_ended_at"], "batch.item_ended_at")
            if "item_ended_at" in raw
            else None
        ),
        item_attempt=(
            check.path(raw["item_attempt"], "batch.item_attempt") if "item_attempt" in raw else None
        ),
        identity_transform=dict(transforms),
        status_filter=raw.get("status_filter"),
        page_size=page_size,
        page_size_param=check.get(raw, "page_size_param", str, "batch.", "a parameter name"),
        token=check.get(raw, "token", str, "batch.", "the pagination token parameter"),
        lists_only=lists_only,
        progress_operation=progress_operation,
        progress_counts=counts,
        method=method_name(operation),
        progress_method=method_name(progress_operation) if progress_operation else None,
    )


#: The largest definition file read. The shipped ones are a few kilobytes; the
#: bound keeps a wrong path (a log, an image) from being read whole.
MAX_FILE_BYTES = 1 << 20

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _read_regular_file(path: FsPath) -> bytes:
    """The bytes of *path*, which must be a regular file of at most MAX_FILE_BYTES.

    Opened without blocking and checked on the open descriptor: opening a
    FIFO for reading would otherwise wait for a writer forever, and reading a
    device (``/dev/zero``) would never end.
    """
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise DefinitionError(f"{source}: cannot read: {exc.strerror}") from None
    # Checked on the raw descriptor: a file object refuses a directory with an
    # OSError of its own before any check of ours could name it.
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        raise DefinitionError(f"{source}: expected a regular file, got {kind}")
    with os.fdopen(fd, "rb") as file:
        try:
            text = file.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise DefinitionError(f"{source}: cannot read: {exc.strerror}") from None
    if len(text) > MAX_FILE_BYTES:
        raise DefinitionError(f"{source}: expected at most {MAX_FILE_BYTES} bytes, got more")
    return text


def _check_item_status(
    check: _Checker,
    model: Any,
    operation: str,
    items: Path,
    item_status: Path,
    states: Mapping[str, StateKind],
) -> None:
    """A list item's status is an enum of the model whose every value is a declared state.

    The same rule as ``status.path``, for the states a sweep reads: a list
    that can report a state the definition does not declare (or a path the
    model cannot follow) would leave its executions waiting on a name that
    never comes.
    """
    import jmespath

    output = model.operation_model(operation).output_shape
    item = _elements(_shape_of(jmespath.compile(items.expression).parsed, output))
    if item is None:
        raise check.fail(
            "batch.items", f"a path to a list in {operation}'s output", items.expression
        )
    listed = _enum_at(item_status, item)
    if listed is None:
        raise check.fail(
            "batch.item_status",
            f"a path to one enum member of an item of {operation}'s {items.expression}",
            item_status.expression,
        )
    undeclared = [value for value in listed if value not in states]
    if undeclared:
        raise check.fail(
            "batch.item_status",
            f"a status whose values are declared states; {operation} also lists {undeclared}",
            item_status.expression,
        )


def load_definition_file(path: FsPath) -> StateMachine:
    """Parse and compile one ``.toml`` or ``.json`` definition file.

    :param path: a regular file of at most :data:`MAX_FILE_BYTES` bytes.
    :raises DefinitionError: another suffix, not a regular file (a directory,
        a FIFO, a device), unreadable, too large, not valid TOML or JSON
        (nesting too deep included), or a definition that does not compile,
        naming the file.
    """
    source = str(path)
    if path.suffix not in (".toml", ".json"):
        raise DefinitionError(f"{source}: expected a .toml or .json file")
    text = _read_regular_file(path)
    kind = path.suffix[1:].upper()
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"{source}: not valid {kind}: {exc}") from None
    except RecursionError:
        # Both parsers recurse once per level of nesting; no key of a
        # definition nests more than a few levels.
        raise DefinitionError(f"{source}: not valid {kind}: nested too deeply") from None
    return compile_definition(data, source=source)


def definition_files(path: FsPath) -> Iterator[FsPath]:
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.suffix in (".toml", ".json"))
    else:
        yield path


def load_paths(paths: Iterable[FsPath]) -> list[StateMachine]:
    return [load_definition_file(file) for path in paths for file in definition_files(path)]
