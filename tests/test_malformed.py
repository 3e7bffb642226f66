"""An answer whose body does not fit the model is malformed: transient, never an ending.

botocore does not wrap what its parsers raise: a 200 body with a string where
a structure belongs escapes as AttributeError, "abc" as an integer as
ValueError, JSON nested 100,000 deep as RecursionError. Each is an answer
that went wrong on the way, like a truncated body: retried within the
deadline and counted as a transient error. Real boto3 and aioboto3 clients
talk to a scripted endpoint on 127.0.0.1 that serves one bad body, then a
good one; the waits run on real time, with delays of milliseconds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import aioboto3
import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.clients import async_client, sync_client
from tests.scripted import client_error
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Outcome,
    OutcomeKind,
    Poller,
    default_registry,
    wait_for,
)
from waiters._attempt import Endpoint
from waiters._budget import RateBudget
from waiters._calls import FailureKind, classify, client_config
from waiters._clock import LoopClock
from waiters._machine import service_model

JOB = default_registry().get("iot-job-execution")
GOOD = json.dumps({"execution": {"jobId": "j", "thingName": "t", "status": "SUCCEEDED"}}).encode()
CREDENTIALS = {
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "region_name": "us-east-1",
    # Known, so the poller asks no one which account this is.
    "aws_account_id": "123456789012",
}


def nested(depth: int) -> bytes:
    """``{"execution": {"execution": ... 1 ...}}``, *depth* objects deep."""
    return b'{"execution":' * depth + b"1" + b"}" * depth


#: An answer built from the request (its headers): ``(status, headers, body)``.
Reply = Callable[[Mapping[str, str]], tuple[int, Mapping[str, str], bytes]]


class ScriptedEndpoint:
    """An HTTP endpoint on 127.0.0.1 whose job execution answers follow a script.

    Each ``GET /things/...`` (IoT ``DescribeJobExecution``) takes the next
    item of :attr:`script` (the last repeats): a body, served with status
    200, or a :data:`Reply` built from the request's headers. Any other
    request (the account lookup) is refused with a 400.
    """

    def __init__(self) -> None:
        self.script: Sequence[bytes | Reply] = [GOOD]
        self.served = 0
        lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/things/"):
                    self._send(400, {}, b'{"message": "not scripted"}')
                    return
                with lock:
                    script = endpoint.script
                    item = script[min(endpoint.served, len(script) - 1)]
                    endpoint.served += 1
                if isinstance(item, bytes):
                    self._send(200, {}, item)
                else:
                    self._send(*item(dict(self.headers.items())))

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(400, {}, b'{"message": "not scripted"}')

            def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def play(self, *items: bytes | Reply) -> None:
        self.script = items
        self.served = 0

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ScriptedEndpoint]:
    server = ScriptedEndpoint()
    yield server
    server.close()


async def _wait(client: Any) -> tuple[Outcome, int]:
    """Wait on job j, thing t with millisecond delays: the outcome and the transient errors."""
    budgets = BudgetRegistry(BudgetConfig(initial_rate=1000, max_rate=1000))
    async with Poller(backoff=Backoff(0.001, 0.005), timeout=20, budgets=budgets) as poller:
        outcome = await wait_for(
            client, JOB.method, jobId="j", thingName="t", poller=poller, raise_on_failure=False
        )
        return outcome, poller.stats.errors


@pytest.fixture(scope="module")
def boto3_client(endpoint: ScriptedEndpoint) -> Iterator[Any]:
    config = client_config(endpoint_url=endpoint.url)
    client = sync_client("iot", endpoint_url=endpoint.url, config=config, **CREDENTIALS)
    yield client
    client.close()


@pytest.fixture(scope="module")
def aioboto3_client(endpoint: ScriptedEndpoint) -> Iterator[tuple[BlockingPortal, Any]]:
    """An aioboto3 client on an event loop of its own (one for every example), and the portal
    that runs coroutines there."""
    config = client_config(endpoint_url=endpoint.url)
    context = async_client(
        aioboto3.Session(), "iot", endpoint_url=endpoint.url, config=config, **CREDENTIALS
    )
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(context) as client:
        yield portal, client


_ENDINGS = {state for state, kind in JOB.states.items() if kind.terminal}
_MEMBERS = [
    "execution",
    "jobId",
    "status",
    "statusDetails",
    "detailsMap",
    "thingArn",
    "queuedAt",
    "startedAt",
    "lastUpdatedAt",
    "executionNumber",
    "versionNumber",
    "approximateSecondsBeforeTimedOut",
    "forceCanceled",
]
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    # Integers beyond any float: JSON has no limit, Python's float() has.
    | st.integers(min_value=10**308, max_value=10**450)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_MEMBERS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)


def _not_an_ending(value: Any) -> bool:
    """A body the model reads as a terminal state is an answer, not a malformed one."""
    status = value.get("status") if isinstance(value, dict) else None
    return not (isinstance(status, str) and status in _ENDINGS)


#: Bodies of every sort: the model's members holding any JSON at all, any JSON
#: document, nesting deeper than the parser recurses, bytes that are not UTF-8.
BODIES = st.one_of(
    st.builds(lambda v: json.dumps({"execution": v}).encode(), _JSON.filter(_not_an_ending)),
    st.builds(lambda v: json.dumps(v).encode(), _JSON),
    st.integers(min_value=500, max_value=100_000).map(nested),
    st.binary(max_size=40),
)


HUGE_HINT = (
    b'{"execution":{"status":"IN_PROGRESS","executionNumber":1,'
    b'"approximateSecondsBeforeTimedOut":1' + b"0" * 400 + b"}}"
)


@pytest.mark.parametrize("kind", ["boto3", "aioboto3"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=BODIES)
@example(body=b'{"execution":"oops"}')
@example(body=b'{"execution":{"versionNumber":"abc"}}')
@example(body=nested(100_000))
# Found by a tester: a deadline hint of 401 digits raised OverflowError in our own code.
@example(body=HUGE_HINT)
def test_a_body_that_does_not_fit_the_model_is_retried(
    endpoint: ScriptedEndpoint,
    boto3_client: Any,
    aioboto3_client: tuple[BlockingPortal, Any],
    kind: str,
    body: bytes,
) -> None:
    """Any 200 body, then a good answer: the wait succeeds on the second answer, never
    ends in error; a body the client could not read counts as one transient error."""
    endpoint.play(body, GOOD)
    if kind == "boto3":
        outcome, errors = anyio.run(_wait, boto3_client)
    else:
        portal, client = aioboto3_client
        outcome, errors = portal.call(_wait, client)
    assert outcome.kind is OutcomeKind.SUCCEEDED, (outcome.reason, outcome.error)
    assert outcome.attempts == 2 and endpoint.served == 2
    assert errors in (0, 1)


@pytest.mark.parametrize(
    "body",
    [
        b'{"execution":"oops"}',
        b'{"execution":{"versionNumber":"abc"}}',
        nested(100_000),
        b'{"execution":{"lastUpdatedAt":"not a time"}}',
        b"\xff\xfe not UTF-8",
    ],
)
def test_the_reported_bodies_count_as_malformed_answers(
    endpoint: ScriptedEndpoint, boto3_client: Any, body: bytes
) -> None:
    """The reported bodies (and kin): each one transient error, code MalformedResponse."""
    endpoint.play(body)
    try:
        boto3_client.describe_job_execution(jobId="j", thingName="t")
    except Exception as exc:
        failure = classify(exc, JOB)
    else:
        pytest.fail(f"{body[:40]!r} parsed")
    assert failure is not None
    assert (failure.kind, failure.code) == (FailureKind.TRANSIENT, "MalformedResponse")


def test_an_exception_a_client_raises_itself_is_still_not_the_services() -> None:
    """Told apart by where it was raised: a client's own bug is not a malformed answer."""
    assert classify(KeyError("boom"), JOB) is None
    assert classify(client_error("ValidationException", 400), JOB) is not None


@pytest.mark.anyio
async def test_an_answer_that_is_not_a_mapping_is_malformed() -> None:
    """A client that answers with a list or a string: malformed, not a crash."""

    class Odd:
        meta = SimpleNamespace(service_model=service_model("iot"), region_name="us-east-1")

        async def describe_job_execution(self, **params: Any) -> Any:
            return ["not", "a", "mapping"]

    clock = LoopClock()
    budget = RateBudget(("k", "r", "iot", JOB.operation), BudgetConfig(), clock.now())
    answer = await Endpoint(Odd(), JOB.method, JOB.operation, JOB, budget, clock, 30.0).attempt(
        {"jobId": "j", "thingName": "t"}
    )
    assert answer.failure is not None and answer.failure.code == "MalformedResponse"
