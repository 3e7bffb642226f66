"""The shape of a definition: every key it may have, with the type and range of its value.

A definition is checked against this schema in one pass before anything reads
it, so the compiler (``_machine``) only ever meets values of the declared
types: a list where a string belongs, a key nobody reads (``slak`` for
``slack``), a number that is not finite, or nesting deeper than any key
declares fails here, naming the source, the key, what was expected and what
was there. Whether the values make sense together and against the botocore
service model (state names, parameters, operations) is the compiler's part.
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import DefinitionError

__all__ = ["DEFINITION", "check_definition", "definition_error"]

_MISSING: Any = object()

# A value shown in an error is cut short: it may be megabytes long, or nested
# deeper than the interpreter's recursion limit (builtin repr would raise).
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel = 3
_SHOWN.maxstring = 80
_SHOWN.maxother = 80
_SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxtuple = 6


def definition_error(source: str, key: str, expected: str, got: Any = _MISSING) -> DefinitionError:
    """The error for a definition: ``SOURCE: KEY: expected EXPECTED, got VALUE``.

    :param source: where the definition came from (a file name).
    :param key: the key, dotted from the top (``hints.deadline_in.slack``,
        ``acceptors[0].state``).
    :param expected: what the key takes, for people.
    :param got: the value found (left out when there is none).
    """
    detail = "" if got is _MISSING else f", got {_SHOWN.repr(got)}"
    return DefinitionError(f"{source}: {key}: expected {expected}{detail}")


class _Node:
    """One key's declared value."""

    __slots__ = ()
    expected: str

    def accepts_type(self, value: Any) -> bool:
        raise NotImplementedError

    def check(self, value: Any, key: str, source: str) -> None:
        if not self.accepts_type(value):
            raise definition_error(source, key, self.expected, value)


@dataclass(frozen=True, slots=True)
class Text(_Node):
    """A string; empty only when *empty*."""

    expected: str = "a non-empty string"
    empty: bool = False

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, str) and (self.empty or bool(value))


@dataclass(frozen=True, slots=True)
class Number(_Node):
    """A finite number in ``[low, high]``; an integer only when *integer*."""

    expected: str
    low: float
    high: float
    integer: bool = False

    def accepts_type(self, value: Any) -> bool:
        # bool is an int in Python; `true` where a number belongs is a mistake.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        try:
            return math.isfinite(value) and self.low <= value <= self.high
        except OverflowError:  # an integer beyond any float (a 400-digit slack)
            return False


@dataclass(frozen=True, slots=True)
class Flag(_Node):
    """``true`` or ``false``."""

    expected: str = "true or false"

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Items(_Node):
    """A list, each item checked against *of*."""

    of: _Node
    expected: str

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, list)

    def check(self, value: Any, key: str, source: str) -> None:
        _Node.check(self, value, key, source)
        for index, item in enumerate(value):
            self.of.check(item, f"{key}[{index}]", source)


@dataclass(frozen=True, slots=True)
class Entries(_Node):
    """A table whose keys the author names (states, error codes), each value checked."""

    value: _Node
    expected: str

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def check(self, value: Any, key: str, source: str) -> None:
        _Node.check(self, value, key, source)
        for name, item in value.items():
            if not isinstance(name, str) or not name:
                raise definition_error(source, key, "non-empty string keys", name)
            self.value.check(item, f"{key}.{name}", source)


@dataclass(frozen=True, slots=True)
class Table(_Node):
    """A table with a fixed set of keys: any other key is an error, never ignored."""

    fields: Mapping[str, _Node]
    expected: str = "a table"
    required: frozenset[str] = field(default_factory=frozenset)

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def check(self, value: Any, key: str, source: str) -> None:
        _Node.check(self, value, key or "(top level)", source)
        prefix = f"{key}." if key else ""
        for name in value:
            if name not in self.fields:
                raise _unknown(source, prefix, name, sorted(self.fields))
        for name in sorted(self.required):
            if name not in value:
                node = self.fields[name]
                raise definition_error(
                    source, f"{prefix}{name}", f"{node.expected} (the key is missing)"
                )
        for name, item in value.items():
            self.fields[name].check(item, f"{prefix}{name}", source)


@dataclass(frozen=True, slots=True)
class Either(_Node):
    """One of *options*, chosen by the value's type (the first whose type fits)."""

    options: tuple[_Node, ...]
    expected: str

    def accepts_type(self, value: Any) -> bool:
        return any(option.accepts_type(value) for option in self.options)

    def check(self, value: Any, key: str, source: str) -> None:
        for option in self.options:
            if option.accepts_type(value):
                option.check(value, key, source)
                return
        raise definition_error(source, key, self.expected, value)


def _unknown(source: str, prefix: str, name: Any, known: list[str]) -> DefinitionError:
    hint = ""
    if isinstance(name, str):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = name if isinstance(name, str) else _SHOWN.repr(name)
    return definition_error(source, f"{prefix}{shown}", f"one of {known} (unknown key{hint})")


# --- the definition format ----------------------------------------------------------------

_PATH = Text("a dotted path or JMESPath expression")
_NAME = Text("a name")
_NAMES = Items(_NAME, "a list of non-empty strings")
_SECONDS = Number("a non-negative finite number of seconds", 0, 1e9)
_SCALAR = Either(
    (Text(empty=True), Flag(), Number("a finite number", -math.inf, math.inf)),
    "a string, number, true or false",
)

_DEADLINE_IN = Table(
    {"path": _PATH, "slack": _SECONDS},
    "a table { path = ..., slack = seconds }",
    frozenset({"path"}),
)
_DEADLINE_AFTER = Table(
    {"path": _PATH, "since": _PATH, "slack": _SECONDS},
    "a table { path = ..., since = ..., slack = seconds }",
    frozenset({"path", "since"}),
)
_HINTS = Table(
    {
        "version": _PATH,
        "attempt": _PATH,
        "deadline_in": _DEADLINE_IN,
        "deadline_after": _DEADLINE_AFTER,
        "ended_at": _PATH,
    }
)
_ERROR_RULE = Either(
    (
        Text("an action name"),
        Table(
            {"action": Text("'terminal'"), "kind": Text("succeeded, failed or cancelled")},
            "a table { action = 'terminal', kind = ... }",
            frozenset({"action", "kind"}),
        ),
    ),
    "an action name or { action = 'terminal', kind = ... }",
)
_ACCEPTOR = Table(
    {
        "matcher": Text("one of path, pathAll, pathAny, status, error"),
        "state": Text("one of success, failure, retry"),
        "expected": _SCALAR,
        "argument": _PATH,
    },
    "a table with matcher, state, expected",
    frozenset({"matcher", "state", "expected"}),
)
_BATCH = Table(
    {
        "operation": Text("a list operation name"),
        "parent": Text("the list call's parameter naming the group"),
        "parent_from": _PATH,
        "parent_params": Entries(
            Either((_SCALAR, Items(_SCALAR, "a list of constants")), "a constant"),
            "a table of constant parameters",
        ),
        "items": _PATH,
        "item_status": _PATH,
        "item_identity": Entries(_PATH, "a table PARAM = path"),
        "item_ended_at": _PATH,
        "item_attempt": _PATH,
        "identity_transform": Entries(Text("a transform name"), "a table PARAM = transform"),
        "status_filter": Text("a parameter name"),
        "page_size": Number("a positive integer", 1, 1_000_000, integer=True),
        "page_size_param": Text("a parameter name"),
        "token": Text("the pagination token parameter"),
        "lists_only": Text("'in_progress'"),
        "progress": Table(
            {
                "operation": Text("an operation name"),
                "counts": Entries(_PATH, "a table STATE = path"),
            },
            "a table with operation and counts",
            frozenset({"operation"}),
        ),
    },
    required=frozenset(
        {
            "operation",
            "parent",
            "items",
            "item_status",
            "item_identity",
            "page_size",
            "page_size_param",
            "token",
        }
    ),
)
_ENDING = Table(
    {
        "service": Text("a botocore service name like 'logs'"),
        "operation": Text("an operation like 'FilterLogEvents'"),
        "log_group": _PATH,
        "log_group_from": Table(
            {"path": _PATH, "format": Text("a string with one '{}'")},
            "a table { path = ..., format = ... }",
            frozenset({"path"}),
        ),
        "filter_pattern": Text("a filter pattern"),
        "type_field": _PATH,
        "reason_field": _PATH,
        "types": Entries(Text("a terminal state"), "a table EventType = STATE"),
        "grace": _SECONDS,
    },
    required=frozenset({"service", "operation", "log_group", "filter_pattern", "types"}),
)
_RETRIES = Table(
    {
        "operation": Text("the parent's describe operation"),
        "parent": Text("the parameter naming the parent"),
        "criteria": _PATH,
        "failure_type": _PATH,
        "count": _PATH,
        "every": Text("a failure type name"),
        "states": Entries(Text("a failure type name"), "a table STATE = failure type"),
        "attempt": Text("an optional parameter"),
    },
    required=frozenset({"operation", "parent", "criteria", "failure_type", "count", "states"}),
)

_EVENTS = Table(
    {
        "available": Flag(),
        "topic": Text("the MQTT topic filter the service publishes on"),
        "match": Entries(_SCALAR, "a table PATH = constant"),
        "identity": Entries(_PATH, "a table PARAM = path"),
        "identity_transform": Entries(Text("a transform name"), "a table PARAM = transform"),
        "status": _PATH,
        "reason": _PATH,
        "attempt": _PATH,
        "version": _PATH,
        "order": _PATH,
        "at": _PATH,
        "at_unit": Text("milliseconds or seconds"),
    },
)

#: Every key of a definition (TOML or JSON, or botocore's waiters-2.json
#: converted), with what its value must be.
DEFINITION = Table(
    {
        "name": Text("a type name like 'iot-job-execution'"),
        "description": Text("a string", empty=True),
        "service": Text("a botocore service name like 'iot'"),
        "operation": Text("an operation name like 'DescribeJobExecution'"),
        "api_version": Text("a botocore API version like '2016-11-15'"),
        "identity": _NAMES,
        "optional": _NAMES,
        "status": Table(
            {"path": _PATH, "reason": _PATH},
            "a table with 'path' (and optionally 'reason')",
            frozenset({"path"}),
        ),
        "states": Entries(
            Text("one of pending, running, succeeded, failed, cancelled"),
            "a table of STATE = kind",
        ),
        "transitions": Entries(_NAMES, "a table of STATE = [next states]"),
        "errors": Entries(_ERROR_RULE, "a table of ErrorCode = action"),
        "acceptors": Items(_ACCEPTOR, "a list of acceptors"),
        "hints": _HINTS,
        "sensitive": Items(_PATH, "a list of dotted paths"),
        "batch": _BATCH,
        "ending": _ENDING,
        "retries": _RETRIES,
        "events": _EVENTS,
    },
    "a table of keys",
    frozenset({"name", "service", "operation"}),
)


def check_definition(data: Any, *, source: str) -> None:
    """Check every key of a parsed definition against :data:`DEFINITION`.

    :param data: the parsed document.
    :param source: where it came from (a file name), for error messages.
    :raises DefinitionError: the first key whose value is not of its declared
        type or range, an unknown key (with the closest known one), or a
        missing required key, naming *source*, the key, what was expected and
        the value.
    """
    DEFINITION.check(data, "", source)
