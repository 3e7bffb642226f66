"""An execution: its type and identifying parameters, optionally bound to a client."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._errors import InvalidExecution
from ._machine import PY_TYPES, ParamSpec, StateMachine
from ._registry import default_registry
from ._validate import client_service, instance, invalid, mapping

__all__ = ["Execution", "execution"]


class Execution:
    """One execution to wait on: a first-class value that works alone and in batches.

    Equal executions (same type, same parameters, same client or none) are the
    same wait: a batch given one twice polls it once. Parameters may be lists
    and structures (ec2's ``InstanceIds``, ecs's ``services``): they are compared
    by value, and copied when the execution is made, so a caller changing its
    list later changes neither the identity nor the calls.

    :func:`execution` is the usual way to make one; the constructor serves
    types of a registry of your own (``Execution(registry.get(name), params)``).

    :param machine: the execution type, a compiled :class:`StateMachine`.
    :param params: the describe call's parameters by name, as the client
        method takes them (``{"jobId": "j", "thingName": "t"}``): every
        identifying parameter of the type, and any of its optional ones.
        Checked against the botocore service model (type, length, pattern,
        enum; members of lists and structures) before any call.
    :param client: the boto3 or aioboto3 client to poll through, or ``None``
        (the default) to leave it to a poller's session.
    :raises InvalidExecution: an unknown or missing parameter (suggesting a
        close name), or a value the model rejects, naming the parameter and
        the value.
    :raises InvalidOption: *machine* is not a :class:`StateMachine`, *params*
        not a mapping of names, or *client* not a client of the type's
        service, naming the value.
    """

    # Kept small: a batch holds one per execution, 100,000 of them at times.
    __slots__ = ("_hash", "_key", "_values", "client", "machine")

    machine: StateMachine
    client: Any

    def __init__(
        self, machine: StateMachine, params: Mapping[str, Any], client: Any = None
    ) -> None:
        instance("machine", machine, StateMachine, "a StateMachine")
        params = mapping("params", params, "a mapping of parameter names to values")
        if client is not None:
            expected = f"a boto3 or aioboto3 {machine.service!r} client"
            try:
                service = client_service("client", client)
            except InvalidExecution:
                raise invalid("client", expected, client) from None
            if service != machine.service:
                raise invalid("client", expected, client)
        validate_params(machine, params)
        self.machine = machine
        self.client = client
        # The values in the definition's parameter order are both the identity
        # (equal executions, equal keys) and the storage: no dict per execution.
        values = tuple(params.get(spec.name) for spec in machine.parameters)
        self._values = values
        try:
            self._hash = hash((machine.name, values, id(client) if client else None))
            # That tuple is made again when two executions' hashes match: kept, it
            # would cost a tenth of a waiting execution's memory.
            self._key: tuple[str, Any, int | None] | None = None
        except TypeError:
            # A list or a structure: identity is its frozen form, and the call gets a
            # copy made now, so a caller changing its list later changes neither.
            self._values = values = copy.deepcopy(values)
            self._key = (machine.name, _frozen(values), id(client) if client else None)
            self._hash = hash(self._key)

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameters, as the describe call takes them (read-only)."""
        return MappingProxyType(self.call_params())

    def call_params(self) -> dict[str, Any]:
        """A fresh dict of the parameters, for one describe call.

        Values that are lists or structures are fresh copies too: changed by
        whoever holds them, they would change the calls of an execution whose
        identity (equality, hash) was fixed when it was made.
        """
        values = self._values if self._key is None else copy.deepcopy(self._values)
        return {
            spec.name: value
            for spec, value in zip(self.machine.parameters, values, strict=True)
            if value is not None
        }

    @property
    def type(self) -> str:
        """The execution type's name (``"iot-job-execution"``), the machine's ``name``."""
        return self.machine.name

    def bind(self, client: Any) -> Execution:
        """The same execution, observed through *client*.

        A new :class:`Execution` (this one is unchanged); bound to another
        client, it is a different wait.

        :param client: the boto3 or aioboto3 client to poll through, or
            ``None`` for an unbound copy.
        """
        return Execution(self.machine, self.params, client)

    def describe(self) -> str:
        """A short human form: ``iot-job-execution(jobId='j', thingName='t')``."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.machine.name}({args})"

    def __repr__(self) -> str:
        return f"<Execution {self.describe()}>"

    def _identity(self) -> tuple[str, Any, int | None]:
        if self._key is not None:
            return self._key
        client = self.client
        return (self.machine.name, self._values, id(client) if client else None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Execution):
            return NotImplemented
        if self is other:
            return True
        return self._hash == other._hash and self._identity() == other._identity()

    def __hash__(self) -> int:
        return self._hash


def _frozen(value: Any) -> Any:
    """A hashable form of a parameter value, equal exactly when the values are equal.

    Lists become tuples and mappings frozensets of pairs, so a list and a
    mapping never compare equal; a list and a tuple do, as botocore takes both.
    """
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, Mapping):
        return frozenset((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def execution(target: Any, operation: str | None = None, /, **params: Any) -> Execution:
    """Name an execution the way the describe call does.

    ``execution(iot, "describe_job_execution", jobId="j", thingName="t")`` binds
    it to a client; ``execution("iot-job-execution", jobId="j", thingName="t")``
    leaves the client to be resolved later (a poller's session). Types loaded
    into another registry are named with ``Execution(registry.get(name), params)``.

    :param target: a boto3 or aioboto3 client (then *operation* names the
        describe call), or an execution type name from the default registry:
        a shipped type (``"iot-job-execution"``), one added with
        :func:`load_machines`, or a botocore waiter as ``"service:WaiterName"``.
    :param operation: with a client, the describe method or operation name
        (``"describe_job_execution"`` or ``"DescribeJobExecution"``); with a
        type name, none.
    :param params: the describe call's parameters, as the client method
        takes them; checked against the service model before any call.
    :raises InvalidExecution: an operation given with a type name, or missing
        with a client; an unknown type, or no type that waits with that
        operation; or bad parameters (see :class:`Execution`).
    :raises InvalidOption: a *target* that is neither a client nor a type
        name, or an *operation* that is not a string.
    """
    machines = default_registry()
    if isinstance(target, str):
        if operation is not None:
            raise InvalidExecution(
                f"execution({target!r}, {operation!r}): give a client and an operation, "
                "or an execution type name alone"
            )
        return Execution(machines.get(target), params)
    try:
        service = client_service("target", target)
    except InvalidExecution:
        raise invalid(
            "target", "a boto3 or aioboto3 client, or an execution type name", target
        ) from None
    if operation is None:
        raise InvalidExecution("execution(client, operation, **params): the operation is missing")
    instance("operation", operation, str, "the describe method or operation name (a string)")
    machine = machines.for_operation(service, operation)
    return Execution(machine, params, target)


#: The keyword options of the wait entry points: a parameter spelt like one of
#: these is most likely a misspelt option, not a parameter of the operation.
WAIT_OPTIONS = (
    "timeout",
    "backoff",
    "raise_on_failure",
    "not_found_grace",
    "follow_retries",
    "client",
    "session",
    "region_name",
    "endpoint_url",
    "client_config",
    "poller",
    "clock",
    "budgets",
    "rng",
    "logger",
    "call_timeout",
    "log_responses",
    "log_sensitive",
    "clients",
    "meter_provider",
)


def validate_params(machine: StateMachine, params: Mapping[str, Any]) -> None:
    """Reject bad identifying parameters before any call, naming the parameter."""
    specs = {spec.name: spec for spec in (*machine.identity, *machine.optional)}
    for name in params:
        if name not in specs:
            hint = ""
            meant = difflib.get_close_matches(name, [*specs, *WAIT_OPTIONS], n=1, cutoff=0.75)
            if meant:
                what = "option" if meant[0] in WAIT_OPTIONS else "parameter"
                hint = f" (did you mean the {what} {meant[0]!r}?)"
            raise InvalidExecution(
                f"{machine.name}: unknown parameter {name!r}{hint}; {machine.operation} takes "
                f"{', '.join(specs)}"
            )
    for spec in machine.identity:
        if spec.name not in params:
            raise InvalidExecution(
                f"{machine.name}: missing parameter {spec.name!r} ({machine.operation} needs "
                f"{', '.join(s.name for s in machine.identity)})"
            )
    for name, value in params.items():
        _check_value(machine, specs[name], value)


def validate_listing(
    machine: StateMachine, parent: Any, params: Mapping[str, Any] | None = None
) -> None:
    """Reject a bad parent or shared parameter of a listing before any call, naming it.

    *parent* is checked against the list operation's model (type, length,
    pattern, enum), *params* as identifying parameters are.
    """
    spec = machine.batch.parent_spec if machine.batch is not None else None
    if spec is not None:
        _check_value(machine, spec, parent)
    specs = {spec.name: spec for spec in (*machine.identity, *machine.optional)}
    for name, value in (params or {}).items():
        if name not in specs:
            raise InvalidExecution(
                f"{machine.name}: unknown parameter {name!r}; {machine.operation} takes "
                f"{', '.join(specs)}"
            )
        _check_value(machine, specs[name], value)


def _check_value(machine: StateMachine, spec: ParamSpec, value: Any) -> None:
    where = f"{machine.name}: parameter {spec.name}"
    _check_type(where, spec.type_name, value)
    if spec.shape is not None:
        _check_nested(where, spec.shape, value)
        return
    if not isinstance(value, str):
        return
    if spec.min_length is not None and len(value) < spec.min_length:
        raise InvalidExecution(
            f"{where}: expected at least {spec.min_length} characters, got {value!r}"
        )
    if spec.max_length is not None and len(value) > spec.max_length:
        raise InvalidExecution(
            f"{where}: expected at most {spec.max_length} characters, got {len(value)}"
        )
    if spec.pattern is not None and spec.pattern.fullmatch(value) is None:
        raise InvalidExecution(
            f"{where}: expected a value matching {spec.pattern.pattern}, got {value!r}"
        )
    if spec.enum is not None and value not in spec.enum:
        raise InvalidExecution(f"{where}: expected one of {sorted(spec.enum)}, got {value!r}")


def _check_type(where: str, type_name: str, value: Any) -> None:
    expected = PY_TYPES.get(type_name)
    if expected is not None and (
        not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected)
    ):
        article = "an" if type_name[0] in "aeiou" else "a"
        raise InvalidExecution(f"{where}: expected {article} {type_name}, got {value!r}")


def _check_nested(where: str, shape: Any, value: Any) -> None:
    """The members of a list, structure or map value, against its botocore shape.

    Types, member names, required members, string lengths and enums, as
    botocore would check them before the call (patterns are the service's to
    check below the top level).
    """
    kind = shape.type_name
    if kind == "list":
        for index, item in enumerate(value):
            _check_member(f"{where}[{index}]", shape.member, item)
    elif kind == "map":
        for key, item in value.items():
            _check_member(f"{where}[{key!r}]", shape.key, key)
            _check_member(f"{where}[{key!r}]", shape.value, item)
    elif kind == "structure":
        members = shape.members
        for name in value:
            if name not in members:
                raise InvalidExecution(
                    f"{where}: unknown member {name!r}; expected one of {', '.join(members)}"
                )
        for name in shape.required_members:
            if value.get(name) is None:
                raise InvalidExecution(f"{where}: missing member {name!r}")
        for name, item in value.items():
            _check_member(f"{where}.{name}", members[name], item)


def _check_member(where: str, shape: Any, value: Any) -> None:
    _check_type(where, shape.type_name, value)
    if shape.type_name in ("list", "structure", "map"):
        _check_nested(where, shape, value)
        return
    if not isinstance(value, str) or shape.type_name != "string":
        return
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and len(value) < low:
        raise InvalidExecution(f"{where}: expected at least {low} characters, got {value!r}")
    if high is not None and len(value) > high:
        raise InvalidExecution(f"{where}: expected at most {high} characters, got {len(value)}")
    enum_values = getattr(shape, "enum", None)
    if enum_values and value not in enum_values:
        raise InvalidExecution(f"{where}: expected one of {sorted(enum_values)}, got {value!r}")
