"""The attempt: one call from its budget slot to a classified answer, on asyncio and trio."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from botocore.exceptions import ConnectionClosedError

from tests.scripted import client_error, status_response
from waiters import BudgetConfig, LoopClock, default_registry
from waiters._attempt import Answer, CallStats, Endpoint
from waiters._budget import RateBudget
from waiters._calls import FailureKind
from waiters._machine import service_model

JOB = default_registry().get("iot-job-execution")
PARAMS = {"jobId": "j", "thingName": "t"}


class Client:
    """Answers describe_job_execution with each behaviour in turn (the last repeats)."""

    def __init__(self, *behaviours: Any) -> None:
        self.meta = SimpleNamespace(service_model=service_model("iot"), region_name="us-east-1")
        self.behaviours = list(behaviours)
        self.calls: list[float] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def describe_job_execution(self, **params: Any) -> Any:
        self.calls.append(anyio.current_time())
        behaviour = self.behaviours[min(len(self.calls), len(self.behaviours)) - 1]
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if isinstance(behaviour, int | float):
                await anyio.sleep(behaviour)
                return status_response(JOB, "IN_PROGRESS")
            if isinstance(behaviour, BaseException):
                raise behaviour
            return behaviour
        finally:
            self.in_flight -= 1


def _endpoint(client: Client, *, rate: float = math.inf, call_timeout: float = 30.0) -> Endpoint:
    clock = LoopClock()
    config = BudgetConfig(initial_rate=rate, max_rate=rate, min_rate=min(rate, 0.2))
    budget = RateBudget(("k", "r", "iot", JOB.operation), config, clock.now())
    return Endpoint(
        client, JOB.method, JOB.operation, JOB, budget, clock, call_timeout, expects_members=True
    )


@pytest.mark.anyio
async def test_an_answer_feeds_the_budget() -> None:
    """A usable response comes back as is and counts toward the budget's calls."""
    endpoint = _endpoint(Client(status_response(JOB, "QUEUED")))
    answer = await endpoint.attempt(PARAMS)
    assert answer.ok and answer.failure is None
    assert answer.response is not None and answer.response["execution"]["status"] == "QUEUED"
    assert endpoint.budget.calls == 1


@pytest.mark.anyio
async def test_a_throttle_slows_the_budget() -> None:
    """Throttled: a classified failure, and the budget cuts its rate."""
    endpoint = _endpoint(Client(client_error("ThrottlingException", 400)), rate=10)
    answer = await endpoint.attempt(PARAMS)
    assert answer.failure is not None and answer.failure.kind is FailureKind.THROTTLED
    assert endpoint.budget.cuts == 1 and endpoint.budget.rate < 10


@pytest.mark.anyio
async def test_failures_are_classified_once_here() -> None:
    """5xx and resets are transient, 404 is not-found, a 403 denial ends the wait."""
    cases = [
        (client_error("InternalFailure", 503), FailureKind.TRANSIENT),
        (ConnectionClosedError(endpoint_url="http://127.0.0.1"), FailureKind.TRANSIENT),
        (client_error("ResourceNotFoundException", 404), FailureKind.NOT_FOUND),
        (client_error("AccessDeniedException", 403), FailureKind.FATAL),
    ]
    for error, kind in cases:
        answer = await _endpoint(Client(error)).attempt(PARAMS)
        assert answer.failure is not None and answer.failure.kind is kind, error
        assert answer.error is error


@pytest.mark.anyio
async def test_an_empty_answer_is_malformed() -> None:
    """botocore turns a truncated body into {}: a transient failure, not a sighting."""
    answer = await _endpoint(Client({"ResponseMetadata": {}})).attempt(PARAMS)
    assert answer.failure is not None and answer.failure.code == "MalformedResponse"


@pytest.mark.anyio
async def test_an_exception_nobody_knows_is_returned_unclassified() -> None:
    """A bug in a client is not a service failure: returned as is, never raised here."""
    error = KeyError("boom")
    answer = await _endpoint(Client(error)).attempt(PARAMS)
    assert answer.unclassified and answer.error is error


@pytest.mark.anyio
async def test_a_hung_call_ends_at_the_call_timeout() -> None:
    """No answer within call_timeout: a transient timeout, at that time exactly."""
    endpoint = _endpoint(Client(10_000.0), call_timeout=5.0)
    start = anyio.current_time()
    answer = await endpoint.attempt(PARAMS)
    assert anyio.current_time() - start == pytest.approx(5.0)
    assert answer.failure is not None and answer.failure.kind is FailureKind.TRANSIENT
    assert answer.failure.code == "TimeoutError"


@pytest.mark.anyio
async def test_the_deadline_bounds_the_call_too() -> None:
    """With 2 s left before the deadline, a call gets 2 s, not the call timeout."""
    endpoint = _endpoint(Client(10_000.0), call_timeout=30.0)
    start = anyio.current_time()
    await endpoint.attempt(PARAMS, deadline=start + 2.0)
    assert anyio.current_time() - start == pytest.approx(2.0)


@pytest.mark.anyio
async def test_no_call_after_the_deadline() -> None:
    """A slot granted after the deadline is not used for a call."""
    client = Client(status_response(JOB, "QUEUED"))
    endpoint = _endpoint(client, rate=0.5)
    await endpoint.attempt(PARAMS)
    start = anyio.current_time()
    answer = await endpoint.attempt(PARAMS, deadline=start + 1.0)  # next slot is at +2 s
    assert len(client.calls) == 1
    assert answer.failure is not None and answer.failure.kind is FailureKind.TRANSIENT


@pytest.mark.anyio
async def test_the_limiter_is_held_for_the_call_only() -> None:
    """Calls in flight stay within the limiter; waiting for a slot holds no place."""
    client = Client(1.0)
    endpoint = _endpoint(client)
    limiter = anyio.Semaphore(2)
    async with anyio.create_task_group() as tasks:
        for _ in range(6):
            tasks.start_soon(lambda: endpoint.attempt(PARAMS, limiter=limiter))
    assert client.most_in_flight == 2
    assert len(client.calls) == 6


def test_call_stats_have_one_definition_of_each_figure() -> None:
    """calls: every call; throttles: throttled ones; errors: transient failures only."""
    stats = CallStats()
    endpoint_failures = [
        Answer({"x": 1}),
        Answer(None, _failure(FailureKind.THROTTLED)),
        Answer(None, _failure(FailureKind.TRANSIENT)),
        Answer(None, _failure(FailureKind.FATAL)),
        Answer(None, None, KeyError("x")),
    ]
    for answer in endpoint_failures:
        stats.record(answer)
    assert (stats.calls, stats.throttles, stats.errors) == (5, 1, 1)


def _failure(kind: FailureKind) -> Any:
    from waiters._calls import Failure

    return Failure(kind, "Code", "message", None, None)
