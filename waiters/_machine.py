"""State machines: the declarative description of one execution type.

A definition is data (TOML or JSON). It is validated against the botocore
service model and compiled once, when it is loaded; a malformed one fails
then, naming the file, the key and what was expected, never mid-wait.
"""

from __future__ import annotations

import enum
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FsPath
from typing import Any

from ._errors import DefinitionError
from ._paths import Path, PathSyntaxError

__all__ = [
    "Acceptor",
    "BatchSpec",
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


class StateKind(enum.Enum):
    """What a state means for a waiter."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
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


@dataclass(frozen=True, slots=True)
class Acceptor:
    """One botocore waiters-2.json acceptor, compiled."""

    matcher: str
    state: str
    expected: Any
    argument: Path | None

    def matches_response(self, response: Mapping[str, Any]) -> bool:
        if self.matcher == "status":
            meta = response.get("ResponseMetadata") or {}
            return bool(meta.get("HTTPStatusCode") == self.expected)
        if self.argument is None:
            return False
        value = self.argument.search(response)
        if self.matcher == "path":
            return bool(value == self.expected)
        if not isinstance(value, list) or not value:
            return False
        if self.matcher == "pathAll":
            return all(item == self.expected for item in value)
        return any(item == self.expected for item in value)  # pathAny


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


@dataclass(frozen=True, slots=True)
class Hints:
    """Response fields that say when the next change is due."""

    #: Increases with every change; observations with a lower one are stale.
    version: Path | None = None
    #: Seconds until the service will time the execution out.
    deadline_in: Path | None = None
    #: Seconds after ``deadline_since`` (a timestamp field) that it times out.
    deadline_after: Path | None = None
    deadline_since: Path | None = None
    #: How late the service may act on its own deadline.
    slack: float = 0.0


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
    status_filter: str | None = None
    lists_only: str | None = None
    progress_operation: str | None = None
    progress_counts: Mapping[str, Path] = field(default_factory=dict)
    #: The client methods of ``operation`` and ``progress_operation``.
    method: str = ""
    progress_method: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class StateMachine:
    """A compiled execution type. Build one with :func:`load_machines` or the registry."""

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
    #: Identifying, then optional, parameters.
    parameters: tuple[ParamSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", (*self.identity, *self.optional))

    def summary_identity(self, item: Mapping[str, Any], parent: Any) -> tuple[Any, ...]:
        """The identifying values (in ``identity`` order) of an item of the batch list call."""
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
        """The kind of a state, or None for a state the definition does not know."""
        if state is None:
            return None
        return self.states.get(state)

    def is_legal(self, before: str | None, after: str | None) -> bool:
        if before is None or after is None or before == after:
            return True
        if before not in self.transitions:
            # Unknown states and acceptor-only machines declare no transitions.
            return before not in self.states or not self.transitions
        return after in self.transitions[before]

    def evaluate(self, response: Mapping[str, Any]) -> tuple[str | None, StateKind | None]:
        """Read the state and its kind from a describe response."""
        for acceptor in self.acceptors:
            if acceptor.matcher != "error" and acceptor.matches_response(response):
                return str(acceptor.expected), _ACCEPTOR_KINDS[acceptor.state]
        if self.status is None:
            return None, StateKind.RUNNING if self.acceptors else None
        value = self.status.search(response)
        if value is None:
            return None, None
        state = str(value)
        return state, self.states.get(state)

    def reason_of(self, response: Mapping[str, Any] | None) -> str | None:
        if self.reason is None or response is None:
            return None
        value = self.reason.search(response)
        if value is None or value in ({}, [], ""):
            return None
        if isinstance(value, Mapping):
            return ", ".join(f"{key}={value[key]}" for key in sorted(value))
        return str(value)

    def error_rule(self, code: str) -> ErrorRule | None:
        return self.errors.get(code)

    @property
    def terminal_states(self) -> frozenset[str]:
        return frozenset(name for name, kind in self.states.items() if kind.terminal)

    def states_of(self, *kinds: StateKind) -> tuple[str, ...]:
        return tuple(name for name, kind in self.states.items() if kind in kinds)

    def __repr__(self) -> str:
        return f"<StateMachine {self.name} {self.service}.{self.operation}>"


# --- loading and validation ---------------------------------------------------------------


_TOP_KEYS = {
    "name",
    "description",
    "service",
    "operation",
    "identity",
    "optional",
    "status",
    "states",
    "transitions",
    "errors",
    "acceptors",
    "hints",
    "sensitive",
    "batch",
    "waiter",
}
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class _Checker:
    """Collects the file name so every error says where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str, got: Any = ...) -> DefinitionError:
        detail = "" if got is ... else f", got {got!r}"
        return DefinitionError(f"{self.source}: {key}: expected {expected}{detail}")

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
def service_model(service: str) -> Any:
    """The botocore service model (cached: loading one takes tens of milliseconds)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def method_name(operation: str) -> str:
    """The client method of an operation: ``DescribeJobExecution`` -> ``describe_job_execution``."""
    from botocore import xform_name

    return str(xform_name(operation))


def _walk_enum(model: Any, operation_model: Any, keys: tuple[str, ...]) -> tuple[str, ...] | None:
    shape = operation_model.output_shape
    for key in keys:
        if shape is None or shape.type_name != "structure" or key not in shape.members:
            return None
        shape = shape.members[key]
    enum_values = getattr(shape, "enum", None)
    return tuple(enum_values) if enum_values else None


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
    )


def compile_definition(data: Mapping[str, Any], *, source: str = "<definition>") -> StateMachine:
    """Validate and compile one definition (the parsed TOML or JSON document)."""
    check = _Checker(source)
    if not isinstance(data, Mapping):
        raise check.fail("(top level)", "a table of keys", data)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise check.fail(unknown[0], f"one of {sorted(_TOP_KEYS)} (unknown key)")
    name = check.get(data, "name", str, "", "a type name like 'iot-job-execution'")
    if not _NAME.fullmatch(name):
        raise check.fail("name", "lowercase letters, digits, '.', '_' or '-'", name)
    service = check.get(data, "service", str, "", "a botocore service name like 'iot'")
    operation = check.get(
        data, "operation", str, "", "an operation name like 'DescribeJobExecution'"
    )

    import botocore.exceptions

    try:
        model = service_model(service)
    except botocore.exceptions.UnknownServiceError:
        raise check.fail("service", "a service botocore knows", service) from None
    if operation not in model.operation_names:
        raise check.fail("operation", f"an operation of {service}", operation)
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
        extra = sorted(set(raw_status) - {"path", "reason"})
        if extra:
            raise check.fail(f"status.{extra[0]}", "only 'path' and 'reason' (unknown key)")
        if not states:
            raise check.fail("states", "at least one state when status.path is set")
        enum_values = _walk_enum(model, op_model, status.keys) if status.keys else None
        if status.keys and enum_values is None:
            raise check.fail(
                "status.path",
                f"a path to an enum member of {operation}'s output",
                status.expression,
            )
        if enum_values is not None:
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
        acceptors.append(_acceptor(check, raw, f"acceptors[{index}]", errors))
    if status is None and not acceptors:
        raise check.fail("status", "a status path or at least one acceptor")

    hints = _hints(check, data.get("hints", {}))
    sensitive = tuple(
        check.path(p, "sensitive") for p in check.strings(data.get("sensitive", []), "sensitive")
    )
    batch = _batch(check, data.get("batch"), model, states, identity_names)
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
    )


def _acceptor(check: _Checker, raw: Any, where: str, errors: dict[str, ErrorRule]) -> Acceptor:
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
    if matcher == "error":
        if not isinstance(expected, str):
            raise check.fail(f"{where}.expected", "an error code string", expected)
        kind = _ACCEPTOR_KINDS[state]
        errors.setdefault(
            expected,
            ErrorRule(ErrorAction.RETRY)
            if not kind.terminal
            else ErrorRule(ErrorAction.TERMINAL, kind),
        )
    if matcher == "status" and (isinstance(expected, bool) or not isinstance(expected, int)):
        raise check.fail(f"{where}.expected", "an HTTP status code", expected)
    return Acceptor(matcher=matcher, state=state, expected=expected, argument=argument)


def _hints(check: _Checker, raw: Any) -> Hints:
    if not isinstance(raw, Mapping):
        raise check.fail("hints", "a table", raw)
    unknown = sorted(set(raw) - {"version", "deadline_in", "deadline_after"})
    if unknown:
        raise check.fail(f"hints.{unknown[0]}", "version, deadline_in or deadline_after")
    version = check.path(raw["version"], "hints.version") if "version" in raw else None
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
        deadline_in=deadline_in,
        deadline_after=deadline_after,
        deadline_since=since,
        slack=slack,
    )


_BATCH_KEYS = {
    "operation",
    "parent",
    "parent_from",
    "parent_params",
    "items",
    "item_status",
    "item_identity",
    "identity_transform",
    "status_filter",
    "page_size",
    "page_size_param",
    "token",
    "lists_only",
    "progress",
}
_TRANSFORMS = {"arn_last_segment"}


def _batch(
    check: _Checker, raw: Any, model: Any, states: Mapping[str, StateKind], identity: Sequence[str]
) -> BatchSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise check.fail("batch", "a table", raw)
    unknown = sorted(set(raw) - _BATCH_KEYS)
    if unknown:
        raise check.fail(f"batch.{unknown[0]}", f"one of {sorted(_BATCH_KEYS)} (unknown key)")
    operation = check.get(raw, "operation", str, "batch.", "a list operation name")
    if operation not in model.operation_names:
        raise check.fail("batch.operation", "an operation of the service", operation)
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
        items=check.path(raw.get("items"), "batch.items"),
        item_status=check.path(raw.get("item_status"), "batch.item_status"),
        item_identity=item_identity,
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


def load_definition_file(path: FsPath) -> StateMachine:
    """Parse and compile one ``.toml`` or ``.json`` definition file."""
    source = str(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"{source}: cannot read: {exc.strerror}") from exc
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        elif path.suffix == ".toml":
            data = tomllib.loads(text.decode("utf-8"))
        else:
            raise DefinitionError(f"{source}: expected a .toml or .json file")
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, DefinitionError):
            raise
        raise DefinitionError(f"{source}: not valid {path.suffix[1:].upper()}: {exc}") from exc
    return compile_definition(data, source=source)


def definition_files(path: FsPath) -> Iterator[FsPath]:
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.suffix in (".toml", ".json"))
    else:
        yield path


def load_paths(paths: Iterable[FsPath]) -> list[StateMachine]:
    return [load_definition_file(file) for path in paths for file in definition_files(path)]
