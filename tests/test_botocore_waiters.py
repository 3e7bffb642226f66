"""Every botocore waiter, run by botocore and by this engine on the same answers.

The installed botocore's ``waiters-2.json`` files are enumerated (nothing is
hard-coded: a botocore upgrade brings its new waiters in). For each waiter,
answers are built from its acceptors and its operation's output shape:

- a response matched first by each ``path``/``pathAll``/``pathAny`` acceptor,
  one matched by none, and one an acceptor cannot evaluate (``length()`` of a
  missing list), found by sampling responses of the output shape (lists of
  0 to 2 items, the members the acceptors name, leaves drawn from the
  acceptors' expected values and the model's enums) and classifying each with
  botocore's own ``AcceptorConfig`` matchers;
- an error for each ``error`` acceptor (its code, or any code for ``true``)
  and each ``status`` acceptor of 300 or more (that HTTP status), plus a
  validation error, access denied, throttling and a 500 that no acceptor
  names.

Scripts of answers are made of them: each answer alone and after a
non-matching answer, the success path (waiting, retry, success), the failure
path, and non-matching answers until the deadline. Every answer goes through
botocore's ``Stubber`` (so every response is valid for the model), on one
real botocore client per service. botocore's ``Waiter`` runs the script with
``Delay=0`` and ``MaxAttempts`` the script's length; this engine runs it on
:class:`~waiters.testing.MockClock` (virtual time) through ``wait_for``, the
stubbed client made async without threads (a thread would let virtual time
run ahead), a fixed 1 s backoff and a deadline of length - 1 seconds, so its
polls at 0, 1, 2... s are the same number of attempts: the deadline is time
here, not attempts, and the scripts line the two up.

Terminal results must agree: success; failure, by the same acceptor (its
explanation starts both reasons); an error, with the same code (botocore
raises "An error occurred (Code)"; an answer an acceptor cannot evaluate
makes botocore raise the JMESPath error itself, and ends this engine's wait
as ``error`` with the same message); or still waiting (botocore: "Max
attempts exceeded"; here: ``timed_out``).

Where this engine differs on purpose, the expectation says so, per answer:

- ``throttled``: a throttling error keeps the wait going (the shared budget
  slows down); botocore's waiter fails on the first one its client's retries
  did not absorb.
- ``transient``: a 5xx that no acceptor names keeps the wait going;
  botocore's waiter fails.

For those, this engine is expected to end as botocore does on the script
without those answers, and the test counts how often each difference
applied. Anything else is a disagreement, reported per waiter.
"""

from __future__ import annotations

import copy
import random
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import WaiterError
from botocore.stub import Stubber
from botocore.waiter import AcceptorConfig
from jmespath.exceptions import JMESPathError

from waiters import Backoff, BudgetRegistry, Execution, OutcomeKind, wait_for
from waiters._machine import StateMachine, botocore_session
from waiters._registry import botocore_waiter_names, machine_from_botocore_waiter
from waiters.testing import MockClock

# Error answers no acceptor may name, each a reason a wait ends in botocore.
_THROTTLE = ("ThrottlingException", 400)
_SERVER = ("InternalFailure", 500)
_EXTRA_ERRORS = (("ValidationException", 400), ("AccessDeniedException", 403), _THROTTLE, _SERVER)
#: Copies of the last answer queued after a script, for the calls a deadline adds.
_PAD = 4
#: Responses sampled per waiter, at most, to find one per acceptor.
_SAMPLES = 160
_DEPTH = 10


# --- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reply:
    """One answer: a response (status 200), or an error with a code and an HTTP status."""

    label: str
    response: Mapping[str, Any] | None = None
    code: str = ""
    status: int = 200

    @property
    def is_error(self) -> bool:
        return self.response is None

    def as_botocore(self) -> dict[str, Any]:
        """What botocore's waiter sees: the parsed response or the parsed error."""
        if self.response is not None:
            return dict(self.response)
        return {
            "Error": {"Code": self.code, "Message": f"{self.label} (stubbed)"},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
        }


def _waiters() -> list[tuple[str, str, str]]:
    """Every waiter of every ``waiters-2.json`` file: each service, each API version."""
    loader = botocore_session().get_component("data_loader")
    return [
        (service, version, name)
        for service in loader.list_available_services("waiters-2")
        for version in loader.list_api_versions(service, "waiters-2")
        for name in botocore_waiter_names(service, version)
    ]


# --- valid values from the model -------------------------------------------------------------


def _class_char(items: Sequence[tuple[Any, Any]]) -> str | None:
    """A character of a regex character class (``[a-z0-9-]``, ``[^/]``)."""
    negate = bool(items) and items[0][0] is sre_parse.NEGATE
    body = items[1:] if negate else items

    def inside(char: str) -> bool:
        code = ord(char)
        for op, arg in body:
            if (op is sre_parse.LITERAL and arg == code) or (
                op is sre_parse.RANGE and arg[0] <= code <= arg[1]
            ):
                return True
            if op is sre_parse.CATEGORY:
                name = str(arg)
                if ("DIGIT" in name and char.isdigit()) or ("WORD" in name and char.isalnum()):
                    return "NOT" not in name
                if "SPACE" in name and char.isspace():
                    return "NOT" not in name
        return False

    candidates = ["a", "A", "0", "1", "-", "_", ".", ":", "/"]
    candidates += [chr(arg[0]) for op, arg in body if op is sre_parse.RANGE]
    candidates += [chr(arg) for op, arg in body if op is sre_parse.LITERAL]
    for char in candidates:
        if inside(char) != negate:
            return char
    return None


def _from_regex(parsed: Any, repeat: int) -> str:
    """A string the parsed pattern matches, each open repetition taken *repeat* times."""
    out = []
    for op, arg in parsed:
        if op is sre_parse.LITERAL:
            out.append(chr(arg))
        elif op is sre_parse.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is sre_parse.ANY:
            out.append("a")
        elif op is sre_parse.IN:
            out.append(_class_char(arg) or "a")
        elif op is sre_parse.CATEGORY:
            out.append("0" if "DIGIT" in str(arg) and "NOT" not in str(arg) else "a")
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT):
            low, high, sub = arg
            count = max(low, min(high, repeat))
            out.append(_from_regex(sub, repeat) * count)
        elif op is sre_parse.SUBPATTERN:
            out.append(_from_regex(arg[-1], repeat))
        elif op is sre_parse.BRANCH:
            out.append(_from_regex(arg[1][0], repeat))
        elif op is sre_parse.ATOMIC_GROUP:
            out.append(_from_regex(arg, repeat))
        # AT (anchors), assertions and back references add nothing.
    return "".join(out)


def _string(shape: Any) -> str:
    """A string valid for *shape*: its enum, pattern and lengths."""
    enum_values = getattr(shape, "enum", None)
    if enum_values:
        return str(enum_values[0])
    low = int(shape.metadata.get("min", 1) or 1)
    high = int(shape.metadata.get("max", 10_000))
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            compiled = re.compile(pattern)
            parsed = sre_parse.parse(pattern)
        except re.error:
            compiled = None
        if compiled is not None:
            for repeat in (1, 2, 4, 8, 16, 32, 64, 128):
                text = _from_regex(parsed, repeat)
                if compiled.fullmatch(text) and low <= len(text) <= high:
                    return text
    return "a" * max(low, 1)


def _number(shape: Any, preferred: int = 1) -> int:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    value = preferred if low is None else max(int(low), preferred)
    return value if high is None else min(int(high), value)


def _value(shape: Any, depth: int = 0) -> Any:
    """A valid value of *shape* with its required members only (call parameters)."""
    kind = shape.type_name
    if kind == "structure":
        if shape.metadata.get("union"):
            # A tagged union: exactly one member.
            first = next(iter(shape.members))
            return {first: _value(shape.members[first], depth + 1)}
        return {name: _value(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        count = int(shape.metadata.get("min", 1) or 1)
        return [_value(shape.member, depth + 1) for _ in range(count)] if depth < _DEPTH else []
    if kind == "map":
        return {}
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        return _number(shape)
    if kind in ("float", "double"):
        return float(_number(shape))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2024, 1, 1, tzinfo=UTC)
    if kind == "blob":
        return b"x"
    return {}


# --- sampled responses ---------------------------------------------------------------------


def _names(node: Mapping[str, Any]) -> Iterator[str]:
    if node.get("type") == "field":
        yield str(node["value"])
    for child in node.get("children", ()):
        yield from _names(child)


@dataclass
class _Sampler:
    """Random responses of an output shape, built around what the acceptors read."""

    names: frozenset[str]
    strings: tuple[str, ...]
    rng: random.Random

    def sample(self, shape: Any, named: bool, depth: int) -> Any:
        kind = shape.type_name
        if kind == "structure":
            out: dict[str, Any] = {}
            if shape.metadata.get("union"):
                # A tagged union: exactly one member, preferably one the acceptors read.
                choices = [n for n in shape.members if n in self.names] or list(shape.members)
                name = self.rng.choice(choices)
                out[name] = self.sample(shape.members[name], name in self.names, depth + 1)
                return out
            for name, member in shape.members.items():
                wanted = name in self.names and depth < _DEPTH
                if name in shape.required_members or (wanted and self.rng.random() < 0.85):
                    out[name] = self.sample(member, wanted, depth + 1)
            return out
        if not named:
            return _value(shape, depth)
        if kind == "list":
            count = max(int(shape.metadata.get("min", 0) or 0), self.rng.choice((0, 1, 1, 2)))
            return [self.sample(shape.member, True, depth + 1) for _ in range(count)]
        if kind == "map":
            return {
                f"k{i}": self.sample(shape.value, True, depth + 1)
                for i in range(self.rng.choice((0, 1, 2)))
            }
        if kind == "string":
            enum_values = list(getattr(shape, "enum", None) or ())
            pool = [*self.strings, *enum_values[:3]] if enum_values else [*self.strings, "x"]
            return self.rng.choice(pool)
        if kind in ("integer", "long"):
            return _number(shape, self.rng.choice((0, 1, 2)))
        if kind == "boolean":
            return self.rng.choice((True, False))
        return _value(shape, depth)


def _first_match(matchers: Sequence[AcceptorConfig], response: Mapping[str, Any]) -> int | str:
    """The index of the first acceptor botocore matches, ``"none"``, or ``"raises"``."""
    for index, matcher in enumerate(matchers):
        try:
            if matcher.matcher_func(response):
                return index
        except JMESPathError:
            return "raises"
    return "none"


@dataclass
class Case:
    """One waiter: its machine, botocore client and waiter, parameters and answers."""

    service: str
    name: str
    spec: Mapping[str, Any]
    client: Any
    machine: StateMachine
    params: dict[str, Any]
    replies: list[Reply] = field(default_factory=list)
    waiting: Reply | None = None
    retry: Reply | None = None
    success: Reply | None = None
    failure: Reply | None = None
    unmatched: list[int] = field(default_factory=list)


def _answers(case: Case) -> None:
    """Fill in the case's answers from its acceptors and output shape."""
    acceptors = case.spec["acceptors"]
    matchers = [AcceptorConfig(acceptor) for acceptor in acceptors]
    model = case.client.meta.service_model
    output = model.operation_model(case.spec["operation"]).output_shape
    import jmespath

    names = frozenset(
        name
        for acceptor in acceptors
        if "argument" in acceptor
        for name in _names(jmespath.compile(acceptor["argument"]).parsed)
    )
    strings = tuple(
        dict.fromkeys(
            a["expected"] for a in acceptors if isinstance(a["expected"], str) and "argument" in a
        )
    )
    sampler = _Sampler(names, strings, random.Random(f"{case.service}:{case.name}"))
    found: dict[int | str, Mapping[str, Any]] = {}
    any_match: dict[int, Mapping[str, Any]] = {}
    wanted = {i for i, a in enumerate(acceptors) if a["matcher"] in ("path", "pathAll", "pathAny")}
    for attempt in range(_SAMPLES):
        body = sampler.sample(output, True, 0) if output is not None else {}
        response = {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}
        first = _first_match(matchers, response)
        found.setdefault(first, response)
        for index in wanted - found.keys():
            try:
                if matchers[index].matcher_func(response):
                    any_match.setdefault(index, response)
            except JMESPathError:
                pass
        if attempt > 20 and wanted <= found.keys() and "none" in found:
            break
    for index in sorted(wanted):
        matching = found.get(index) or any_match.get(index)
        if matching is None:
            case.unmatched.append(index)
        else:
            case.replies.append(Reply(f"matches acceptors[{index}]", matching))
    if "none" in found:
        case.replies.append(Reply("matches nothing", found["none"]))
    if "raises" in found:
        case.replies.append(Reply("cannot be evaluated", found["raises"]))
    for index, acceptor in enumerate(acceptors):
        if acceptor["matcher"] == "error" and acceptor["expected"] is not False:
            code = "SomeError" if acceptor["expected"] is True else acceptor["expected"]
            case.replies.append(Reply(f"error {code}", code=code, status=400))
        elif acceptor["matcher"] == "status" and acceptor["expected"] >= 300:
            status = acceptor["expected"]
            case.replies.append(Reply(f"status {status}", code=str(status), status=status))
        elif acceptor["matcher"] in ("status", "error") and not any(
            r.response is not None for r in case.replies
        ):
            # status 200 or error false: any response matches; a bare one is enough.
            case.replies.append(Reply(f"matches acceptors[{index}]", next(iter(found.values()))))
    for code, status in _EXTRA_ERRORS:
        case.replies.append(Reply(f"error {code} {status}", code=code, status=status))
    # Deduplicate: an acceptor's error may be one of the extras.
    unique: dict[tuple[Any, ...], Reply] = {}
    for reply in case.replies:
        key = (reply.label,) if reply.response is not None else (reply.code, reply.status)
        unique.setdefault(key, reply)
    case.replies = list(unique.values())
    for reply in case.replies:
        first = _first_match(matchers, reply.as_botocore())
        if not isinstance(first, int):
            if first == "none" and reply.response is not None and case.waiting is None:
                case.waiting = reply
            continue
        state = acceptors[first]["state"]
        if state == "retry" and case.retry is None:
            case.retry = reply
        elif state == "success" and case.success is None:
            case.success = reply
        elif state == "failure" and case.failure is None:
            case.failure = reply
    if case.waiting is None:
        case.waiting = case.retry


def _scripts(case: Case) -> list[tuple[Reply, ...]]:
    scripts: list[tuple[Reply, ...]] = []
    waiting = case.waiting
    for reply in case.replies:
        scripts.append((reply,))
        if waiting is not None:
            scripts.append((waiting, reply))
    if waiting is not None:
        scripts.append((waiting, waiting, waiting))
    for end in (case.success, case.failure):
        if end is not None:
            path = [r for r in (waiting, case.retry) if r is not None]
            scripts.append((*path, end))
    return list(dict.fromkeys(scripts))


# --- running both ---------------------------------------------------------------------------


def _stub(client: Any, method: str, script: Sequence[Reply]) -> Stubber:
    stubber = Stubber(client)
    for reply in (*script, *[script[-1]] * _PAD):
        if reply.response is not None:
            stubber.add_response(method, copy.deepcopy(dict(reply.response)))
        else:
            stubber.add_client_error(
                method,
                service_error_code=reply.code,
                service_message=f"{reply.label} (stubbed)",
                http_status_code=reply.status,
            )
    return stubber


class _AsyncFacade:
    """A stubbed sync client's calls, awaitable, made on the event loop's own thread."""

    def __init__(self, client: Any) -> None:
        self._client = client
        # A client's model, as an execution checks it is of the type's service.
        self.meta = client.meta

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        async def call(**params: Any) -> Any:
            return method(**params)

        return call


@dataclass(frozen=True)
class Ending:
    """How a wait ended, in terms both engines share."""

    kind: str  # success, failure, error, waiting, or something neither should say
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}({self.detail})" if self.detail else self.kind


_FAILURE_PREFIX = "Waiter encountered a terminal failure state: "
_ERROR_REASON = re.compile(r"An error occurred \((?P<code>[^)]*)\)")


def run_botocore(case: Case, script: Sequence[Reply]) -> Ending:
    if not script:
        return Ending("waiting")
    waiter = case.client.get_waiter(xform_name(case.name))
    with _stub(case.client, case.machine.method, script):
        try:
            waiter.wait(**case.params, WaiterConfig={"Delay": 0, "MaxAttempts": len(script)})
        except WaiterError as exc:
            reason = str(exc.kwargs.get("reason", ""))
            if reason.startswith(_FAILURE_PREFIX):
                return Ending("failure", reason.removeprefix(_FAILURE_PREFIX))
            if reason.startswith("Max attempts exceeded"):
                return Ending("waiting")
            error = _ERROR_REASON.match(reason)
            if error is not None:
                return Ending("error", error.group("code"))
            return Ending("unexpected", reason)
        except JMESPathError as exc:
            # botocore lets the JMESPath error out of wait().
            return Ending("error", f"JMESPath: {exc}")
    return Ending("success")


def run_engine(case: Case, script: Sequence[Reply]) -> Ending:
    with _stub(case.client, case.machine.method, script):
        execution = Execution(case.machine, case.params, _AsyncFacade(case.client))
        outcome = MockClock().run(
            wait_for,
            execution,
            timeout=len(script) - 1,
            backoff=Backoff(min_delay=1, max_delay=1),
            budgets=BudgetRegistry(),
            raise_on_failure=False,
        )
    reason = outcome.reason or ""
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return Ending("success")
    if outcome.kind is OutcomeKind.FAILED:
        return Ending("failure", reason)
    if outcome.kind is OutcomeKind.WAIT_TIMEOUT:
        return Ending("waiting")
    if outcome.kind is OutcomeKind.ERROR:
        if "cannot be evaluated" in reason:
            return Ending("error", f"JMESPath: {reason}")
        return Ending("error", reason.split(":", 1)[0])
    return Ending(outcome.kind.value, reason)


def _difference(case: Case, reply: Reply) -> str | None:
    """The deliberate difference an answer meets, if any (see the module docstring)."""
    if not reply.is_error:
        return None
    matchers = [AcceptorConfig(acceptor) for acceptor in case.spec["acceptors"]]
    if (reply.code, reply.status) == _THROTTLE:
        return "throttled"
    if _first_match(matchers, reply.as_botocore()) == "none" and reply.status >= 500:
        return "transient"
    return None


def _agree(expected: Ending, got: Ending) -> bool:
    if expected.kind != got.kind:
        return False
    if expected.kind == "failure":
        # The same acceptor: botocore's explanation starts this engine's reason.
        return got.detail.startswith(expected.detail)
    if expected.kind == "error" and expected.detail.startswith("JMESPath: "):
        # botocore raises the JMESPath error; this engine's reason carries its message.
        return got.detail.endswith(expected.detail.removeprefix("JMESPath: "))
    if expected.kind == "error":
        return got.detail == expected.detail
    return True


@dataclass
class Verdict:
    case: Case
    disagreements: list[str] = field(default_factory=list)
    differences: Counter[str] = field(default_factory=Counter)
    scripts: int = 0


def _never_a_list(acceptor: Mapping[str, Any]) -> bool:
    """A pathAll/pathAny acceptor whose expression is a comparison or a boolean test."""
    import jmespath

    if acceptor.get("matcher") not in ("pathAll", "pathAny"):
        return False
    parsed = jmespath.compile(acceptor["argument"]).parsed
    return parsed["type"] in ("comparator", "and_expression", "or_expression", "not_expression")


def check_waiter(case: Case) -> Verdict:
    verdict = Verdict(case)
    for index in case.unmatched:
        if _never_a_list(case.spec["acceptors"][index]):
            # pathAll/pathAny over an expression that yields a boolean: botocore's
            # matcher needs a non-empty list, so neither botocore nor this engine can
            # ever match it (ec2 KeyPairExists in API version 2015-10-01).
            verdict.differences["acceptor botocore can never match either"] += 1
            continue
        # Nothing to compare it on: a gap in this test, reported as a disagreement.
        verdict.disagreements.append(
            f"acceptors[{index}]: none of {_SAMPLES} responses valid for the model matched it"
        )
    for script in _scripts(case):
        verdict.scripts += 1
        labels = " -> ".join(reply.label for reply in script)
        kept = [reply for reply in script if _difference(case, reply) is None]
        try:
            expected = run_botocore(case, script)
            if len(kept) != len(script):
                for reply in script:
                    difference = _difference(case, reply)
                    if difference is not None:
                        verdict.differences[difference] += 1
                expected = run_botocore(case, kept)
            got = run_engine(case, script)
        except Exception as exc:  # every failure is a reported disagreement
            verdict.disagreements.append(f"{labels}: {type(exc).__name__}: {exc}")
            continue
        if not _agree(expected, got):
            verdict.disagreements.append(f"{labels}: botocore {expected}, this engine {got}")
    return verdict


def _case(service: str, version: str, name: str, clients: dict[Any, Any]) -> Case:
    session = botocore_session()
    client = clients.get((service, version))
    if client is None:
        client = clients[service, version] = session.create_client(
            service,
            api_version=version,
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",  # a stub: never sent
        )
    loader = session.get_component("data_loader")
    config = loader.load_service_model(service, "waiters-2", client.meta.service_model.api_version)
    spec = config["waiters"][name]
    machine = machine_from_botocore_waiter(service, name, api_version=version)
    input_shape = client.meta.service_model.operation_model(spec["operation"]).input_shape
    params = _value(input_shape) if input_shape is not None else {}
    case = Case(service, name, spec, client, machine, params)
    _answers(case)
    return case


def test_every_botocore_waiter_ends_as_botocores(capsys: pytest.CaptureFixture[str]) -> None:
    """Every waiter in botocore's data ends, on the same answers, as botocore's Waiter does."""
    started = time.monotonic()
    waiters = _waiters()
    clients: dict[Any, Any] = {}
    verdicts = []
    for service, version, name in waiters:
        try:
            case = _case(service, version, name, clients)
        except Exception as exc:  # reported with the waiter's name
            pytest.fail(
                f"{service}@{version}:{name} could not be set up: {type(exc).__name__}: {exc}"
            )
        verdicts.append(check_waiter(case))
    agree = [v for v in verdicts if not v.disagreements]
    differences: Counter[str] = Counter()
    for verdict in verdicts:
        differences.update(verdict.differences)
    scripts = sum(v.scripts for v in verdicts)
    lines = [
        f"{len(agree)} of {len(waiters)} waiters agree "
        f"({len({service for service, _ in clients})} services, {len(clients)} API versions, "
        f"{scripts} scripts, {time.monotonic() - started:.1f}s)",
        *(
            f"  deliberate difference {name!r}: {count} answers"
            for name, count in differences.items()
        ),
    ]
    for verdict in verdicts:
        for line in verdict.disagreements[:3]:
            lines.append(f"  {verdict.case.service}:{verdict.case.name}: {line}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))  # noqa: T201 - the count is the test's report
    assert len(agree) == len(waiters), "\n".join(lines)


# --- the cases that were measured wrong ------------------------------------------------------

_OK = {"ResponseMetadata": {"HTTPStatusCode": 200}}
_PROFILE = {
    "InstanceProfile": {
        "Path": "/",
        "InstanceProfileName": "p",
        "InstanceProfileId": "AIPAEXAMPLE0000000000",
        "Arn": "arn:aws:iam::123456789012:instance-profile/p",
        "CreateDate": datetime(2024, 1, 1, tzinfo=UTC),
        "Roles": [],
    },
    **_OK,
}


@pytest.mark.parametrize(
    ("waiter", "params", "script", "kind", "attempts"),
    [
        ("s3:BucketNotExists", {"Bucket": "b"}, [("404", 404)], OutcomeKind.SUCCEEDED, 1),
        (
            "s3:ObjectNotExists",
            {"Bucket": "b", "Key": "k"},
            [("404", 404)],
            OutcomeKind.SUCCEEDED,
            1,
        ),
        (
            "s3:ObjectExists",
            {"Bucket": "b", "Key": "k"},
            [("404", 404), ("404", 404), _OK],
            OutcomeKind.SUCCEEDED,
            3,
        ),
        ("s3:BucketExists", {"Bucket": "b"}, [("403", 403)], OutcomeKind.SUCCEEDED, 1),
        (
            "iam:InstanceProfileExists",
            {"InstanceProfileName": "p"},
            [("NoSuchEntity", 404), _PROFILE],
            OutcomeKind.SUCCEEDED,
            2,
        ),
        (
            "lambda:FunctionExists",
            {"FunctionName": "f"},
            [("ResourceNotFoundException", 404), _OK],
            OutcomeKind.SUCCEEDED,
            2,
        ),
        (
            "ec2:InstanceExists",
            {"InstanceIds": ["i-1"]},
            [{"Reservations": [], **_OK}, {"Reservations": [{"Instances": [{}]}], **_OK}],
            OutcomeKind.SUCCEEDED,
            2,
        ),
        (
            "acm-pca:CertificateIssued",
            {
                "CertificateAuthorityArn": "arn:aws:acm-pca:us-east-1:1:certificate-authority/c",
                "CertificateArn": "arn:aws:acm-pca:us-east-1:1:certificate-authority/c/x",
            },
            [("RequestInProgressException", 400), ("AccessDeniedException", 400)],
            OutcomeKind.FAILED,
            2,
        ),
    ],
)
def test_error_answers_end_as_botocore_ends_them(
    waiter: str,
    params: dict[str, Any],
    script: list[Any],
    kind: OutcomeKind,
    attempts: int,
) -> None:
    """404s, 403s and error codes an acceptor names end the wait, or keep it, as botocore does."""
    from structlog.testing import capture_logs

    from waiters import execution

    service = waiter.split(":")[0]
    client = botocore_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",  # a stub: never sent
    )
    replies = [
        Reply("response", step) if isinstance(step, dict) else Reply(step[0], None, *step)
        for step in script
    ]
    job = execution(waiter, **params).bind(_AsyncFacade(client))
    with _stub(client, job.machine.method, replies), capture_logs() as logs:
        outcome = MockClock().run(
            wait_for, job, timeout=60, budgets=BudgetRegistry(), raise_on_failure=False
        )
    assert (outcome.kind, outcome.attempts) == (kind, attempts), outcome
    # An acceptor's retry is an answer, not a transient failure.
    assert not [log for log in logs if log["event"] == "waiters.transient_error"]
