"""A definition is checked whole when it loads, against a hostile author.

Any value of the wrong type, any key nobody reads, any nesting deeper than a
key declares, any file that is not a regular file fails at load as a
``DefinitionError`` naming the file, the key, what was expected and what was
there: never a ``TypeError``, a ``RecursionError`` or a hang, and never
silently accepted. State names are checked against the botocore model
whatever the path form, and a ``sensitive`` path is one that redaction
honours, or the definition is refused.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waiters import DefinitionError, MachineRegistry, load_machines
from waiters._events import REDACTED, redact
from waiters._machine import compile_definition
from waiters._registry import builtin_directory

SOURCE = "defs/mine.toml"
SHIPPED = sorted(p.stem for p in builtin_directory().glob("*.toml"))

#: A definition made of botocore-style acceptors (no status path), so that
#: acceptor keys are mutated too.
ACCEPTORS: dict[str, Any] = {
    "name": "job-done",
    "service": "iot",
    "operation": "DescribeJob",
    "identity": ["jobId"],
    "acceptors": [
        {"matcher": "path", "argument": "job.status", "expected": "COMPLETED", "state": "success"},
        {"matcher": "status", "expected": 404, "state": "failure"},
        {"matcher": "error", "expected": True, "state": "retry"},
    ],
}

#: The tables whose keys the format fixes (the others, such as ``states`` or
#: ``errors``, are keyed by the author's names).
FIXED_TABLES = (
    "",
    "status",
    "hints",
    "hints.deadline_in",
    "hints.deadline_after",
    "batch",
    "batch.progress",
    "ending",
    "ending.log_group_from",
    "retries",
)


def _definition(name: str) -> dict[str, Any]:
    if name == "acceptors":
        return copy.deepcopy(ACCEPTORS)
    return tomllib.loads((builtin_directory() / f"{name}.toml").read_text())


def _nested(depth: int, leaf: Any = "x", *, table: bool = False) -> Any:
    """*leaf* inside *depth* lists (or tables), built without recursion."""
    value = leaf
    for _ in range(depth):
        value = {"k": value} if table else [value]
    return value


def _values(data: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a definition, keys spelled as errors spell them."""
    if isinstance(data, dict):
        for name, value in data.items():
            child = f"{key}.{name}" if key else name
            yield child, value
            yield from _values(value, child)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            child = f"{key}[{index}]"
            yield child, value
            yield from _values(value, child)


def _replace(data: Any, key: str, value: Any) -> None:
    """Set *key* (as :func:`_values` spells it) in *data* to *value*."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
    node = data
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


def _fails_naming(data: Any, key: str) -> str:
    with pytest.raises(DefinitionError) as info:
        compile_definition(data, source=SOURCE)
    message = str(info.value)
    assert re.match(rf"{re.escape(SOURCE)}: {re.escape(key)}[.\[:]", message), message
    assert "expected" in message
    return message


# --- the reported inputs -------------------------------------------------------------------


def _set(name: str, key: str, value: Any) -> dict[str, Any]:
    data = _definition(name)
    _replace(data, key, value)
    return data


REPORTED = [
    # A list where a string belongs: was TypeError: unhashable type: 'list'.
    ("states.QUEUED", _set("iot-job-execution", "states.QUEUED", ["pending"]), "['pending']"),
    (
        "errors.Boom.kind",
        _set("iot-job-execution", "errors.Boom", {"action": "terminal", "kind": ["failed"]}),
        "['failed']",
    ),
    (
        "batch.identity_transform.thingName",
        _set("iot-job-execution", "batch.identity_transform.thingName", ["arn_last_segment"]),
        "['arn_last_segment']",
    ),
    (
        "batch.page_size_param",
        _set("iot-job-execution", "batch.page_size_param", ["maxResults"]),
        "['maxResults']",
    ),
    (
        "batch.status_filter",
        _set("iot-job-execution", "batch.status_filter", ["status"]),
        "['status']",
    ),
    ("acceptors[0].state", _set("acceptors", "acceptors[0].state", ["success"]), "['success']"),
    # A number where the model's enum holds strings could never match (found by
    # the property below): the wait could only time out.
    ("acceptors[0].expected", _set("acceptors", "acceptors[0].expected", 0), "a string"),
    # Deep JMESPath: was RecursionError.
    (
        "status.reason",
        _set("iot-job-execution", "status.reason", "(" * 3000 + "a" + ")" * 3000),
        "nested more than",
    ),
    (
        "acceptors[0].argument",
        _set("acceptors", "acceptors[0].argument", "a" + ".a" * 5000),
        "more than",
    ),
    # An unknown key: was silently ignored.
    ("hints.deadline_in.slak", _set("iot-job-execution", "hints.deadline_in.slak", 5), "slack"),
    ("waiter", _set("iot-job-execution", "waiter", "x"), "unknown key"),
    # Not a finite number: was loaded.
    (
        "hints.deadline_in.slack",
        _set("iot-job-execution", "hints.deadline_in.slack", math.nan),
        "nan",
    ),
    ("ending.grace", _set("transfer-execution", "ending.grace", math.inf), "inf"),
    # Found by hypothesis: an error acceptor expecting no error code at all.
    ("acceptors[2].expected", _set("acceptors", "acceptors[2].expected", ""), "an error code"),
    ("acceptors[1].expected", _set("acceptors", "acceptors[1].expected", 4040), "100-599"),
    # Found by a tester: a number beyond any float.
    (
        "hints.deadline_in.slack",
        _set("iot-job-execution", "hints.deadline_in.slack", 10**400),
        "non-negative finite",
    ),
    # Found by hypothesis: a constant of the wrong type for the list call's parameter.
    (
        "batch.parent_params.targetResourceType",
        _set("sitewise-execution", "batch.parent_params.targetResourceType", 0),
        "one of ['ASSET', 'COMPUTATION_MODEL']",
    ),
    (
        "batch.parent_params.nosuch",
        _set("sitewise-execution", "batch.parent_params.nosuch", "ASSET"),
        "a parameter of ListExecutions",
    ),
]


@pytest.mark.parametrize(("key", "data", "detail"), REPORTED, ids=[r[0] for r in REPORTED])
def test_reported_inputs_fail_at_load_naming_the_key(key: str, data: Any, detail: str) -> None:
    """Each reported input fails as a DefinitionError naming the file, the key and the value."""
    assert detail in _fails_naming(data, key)


def test_an_unknown_key_suggests_the_closest_known_one() -> None:
    """``slak`` for ``slack``: the error says which key was meant."""
    data = _set("iot-job-execution", "hints.deadline_in.slak", 5)
    assert "did you mean 'slack'?" in _fails_naming(data, "hints.deadline_in.slak")


@pytest.mark.parametrize(
    "path", ["(execution).status", "execution.status || execution.status", "execution | status"]
)
def test_state_names_are_checked_whatever_the_status_path_form(path: str) -> None:
    """With a JMESPath status path, a state the model's enum lacks fails as with a dotted one."""
    data = _set("iot-job-execution", "status.path", path)
    status = compile_definition(data, source=SOURCE).status
    assert status is not None and status.expression == path
    data["states"]["BOGUS"] = "pending"
    assert "the service model's enum" in _fails_naming(data, "states.BOGUS")


@pytest.mark.parametrize(
    "path",
    ["execution.status || 'QUEUED'", "execution.statusDetails", "length(execution)"],
)
def test_a_status_path_the_model_cannot_follow_fails(path: str) -> None:
    """A status path whose values the model cannot name would leave every state unchecked."""
    data = _set("iot-job-execution", "status.path", path)
    _fails_naming(data, "status.path")


def test_a_list_status_that_can_report_an_undeclared_state_fails() -> None:
    """A sweep's status path is held to the model too: every value it can list is declared."""
    data = _set("iot-job-execution", "batch.item_status", "jobExecutionSummary.executionNumber")
    _fails_naming(data, "batch.item_status")
    data = _set("iot-job-execution", "batch.items", "nextToken")
    _fails_naming(data, "batch.items")


# --- the kind, with hypothesis ---------------------------------------------------------------

_DEEP = st.integers(min_value=50, max_value=5000).flatmap(
    lambda depth: st.sampled_from([_nested(depth), _nested(depth, table=True)])
)
_SCALARS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([math.nan, math.inf, -math.inf, -1.5]),
    st.booleans(),
    st.text(max_size=8),
)
_ANY = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), _SCALARS, max_size=3),
    _DEEP,
)


def _wrong_for(original: Any) -> st.SearchStrategy[Any]:
    """Values of another type than *original* (or, for a number, out of any range)."""
    if isinstance(original, bool):
        return _ANY.filter(lambda v: not isinstance(v, bool))
    if isinstance(original, int | float):
        return _ANY.filter(
            lambda v: (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or v < 0
            )
        )
    if isinstance(original, str):
        return _ANY.filter(lambda v: not isinstance(v, str))
    if isinstance(original, list):
        return _ANY.filter(lambda v: not isinstance(v, list))
    return _ANY.filter(lambda v: not isinstance(v, dict))


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = _definition(draw(st.sampled_from([*SHIPPED, "acceptors"])))
    keys = [(k, v) for k, v in _values(data)]
    key, original = draw(st.sampled_from(keys))
    wrong = _wrong_for(original)
    if ".match." in key:
        # An event's constant is a string, a number or a flag, whatever the shipped one
        # is; only another kind of value (a list, a table, a non-finite number) is wrong.
        wrong = wrong.filter(
            lambda v: isinstance(v, list | dict) or (isinstance(v, float) and not math.isfinite(v))
        )
    if key.endswith(".expected") and isinstance(original, bool):
        # An error acceptor expects true, false or an error code: a string is no
        # wrong type there (an empty one is, a case of its own above).
        wrong = wrong.filter(lambda v: not isinstance(v, str))
    _replace(data, key, draw(wrong))
    return data, key


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_a_value_of_the_wrong_type_anywhere_fails_naming_its_key(
    mutated: tuple[dict[str, Any], str],
) -> None:
    """Replace any value of a valid definition by one of another type, a non-finite or
    negative number, or a deep nest: a DefinitionError names that key."""
    data, key = mutated
    _fails_naming(data, key)


@st.composite
def _with_unknown_key(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = _definition(draw(st.sampled_from(SHIPPED)))
    tables = [t for t in FIXED_TABLES if t == "" or t in dict(_values(data))]
    table = draw(st.sampled_from(tables))
    node = data
    for part in filter(None, table.split(".")):
        node = node[part]
    name = draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True))
    if name in node:
        name += "_x"
    node[name] = draw(st.one_of(st.just(5), _DEEP))
    return data, f"{table}.{name}" if table else name


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_with_unknown_key())
def test_an_unknown_key_in_any_table_fails_naming_it(added: tuple[dict[str, Any], str]) -> None:
    """A key the format does not have, in any table, is an error, never ignored."""
    data, key = added
    _fails_naming(data, key)


@st.composite
def _any_string(draw: st.DrawFn) -> dict[str, Any]:
    data = _definition(draw(st.sampled_from([*SHIPPED, "acceptors"])))
    keys = [k for k, v in _values(data) if isinstance(v, str)]
    _replace(data, draw(st.sampled_from(keys)), draw(st.text(max_size=40)))
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_string())
def test_any_string_anywhere_compiles_or_fails_cleanly(data: dict[str, Any]) -> None:
    """Any string where a string belongs compiles or fails as a DefinitionError."""
    errors: list[DefinitionError] = []
    try:
        compile_definition(data, source=SOURCE)
    except DefinitionError as exc:
        errors.append(exc)
    assert all(str(error).startswith(f"{SOURCE}: ") for error in errors)


# --- sensitive fields ---------------------------------------------------------------------

_MEMBER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(_MEMBER, min_size=1, max_size=4))
def test_a_dotted_sensitive_path_is_redacted(members: list[str]) -> None:
    """What a definition marks sensitive with a dotted path is redacted in a response."""
    data = _definition("iot-command-execution")
    data["sensitive"] = [".".join(members)]
    machine = compile_definition(data, source=SOURCE)
    response: dict[str, Any] = {"secret": "hunter2"}
    for member in reversed(members):
        response = {member: response}
    assert "hunter2" not in json.dumps(redact(response, machine))
    assert REDACTED in json.dumps(redact(response, machine))


@pytest.mark.parametrize(
    "expression",
    ["parameters.*", "parameters[0]", "items[*].secret", "a || b", "['x']", 'parameters."x"'],
)
def test_a_sensitive_path_redaction_cannot_follow_fails_at_load(expression: str) -> None:
    """A JMESPath ``sensitive`` entry was accepted and never redacted; now it fails at load."""
    data = _definition("iot-command-execution")
    data["sensitive"] = ["parameters", expression]
    assert "redact" in _fails_naming(data, "sensitive[1]")


# --- files ----------------------------------------------------------------------------------


def _load_within(path: Path, seconds: float = 10.0) -> BaseException | None:
    """Load *path* in a thread; what it raised (None if nothing), failing if it hangs."""
    raised: list[BaseException | None] = []

    def load() -> None:
        try:
            load_machines(path, registry=MachineRegistry())
        except BaseException as exc:  # the test inspects whatever escaped
            raised.append(exc)
        else:
            raised.append(None)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(seconds)
    return raised[0] if raised else TimeoutError(f"loading {path} hung")


def test_a_fifo_fails_at_once_instead_of_hanging(tmp_path: Path) -> None:
    """A FIFO named x.toml, alone or in a directory, is refused: opening it would block."""
    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)
    try:
        for path in (fifo, tmp_path):
            error = _load_within(path)
            assert isinstance(error, DefinitionError), error
            assert str(error) == f"{fifo}: expected a regular file, got a FIFO"
    finally:
        # Release a reader still blocked in open() (before the fix): it reads
        # EOF. With no reader waiting, this open fails (ENXIO), as it should.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_a_directory_or_device_named_like_a_definition_fails(tmp_path: Path) -> None:
    """Only regular files are definitions; a device would be read forever."""
    for name, kind in (("dir.toml", "a directory"), ("zero.json", "a character device")):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        if kind == "a directory":
            (folder / name).mkdir()
        else:
            (folder / name).symlink_to("/dev/zero")
        error = _load_within(folder)
        assert isinstance(error, DefinitionError), error
        assert str(error) == f"{folder / name}: expected a regular file, got {kind}"
    error = _load_within(tmp_path / "zero" / "zero.json")
    assert isinstance(error, DefinitionError), error


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.toml", "x = " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("tables.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ],
)
def test_deeply_nested_files_fail_cleanly(tmp_path: Path, name: str, text: str) -> None:
    """Nesting deeper than the parser's recursion is a DefinitionError, not RecursionError."""
    (tmp_path / name).write_text(text)
    error = _load_within(tmp_path / name)
    assert isinstance(error, DefinitionError), error
    assert str(error).startswith(f"{tmp_path / name}: not valid ")
    assert "nested too deeply" in str(error)


def test_an_oversized_file_is_not_read_whole(tmp_path: Path) -> None:
    """A definition is a few kilobytes; a file of megabytes is a wrong path."""
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    error = _load_within(big)
    assert isinstance(error, DefinitionError), error
    assert str(error).startswith(f"{big}: expected at most ")
