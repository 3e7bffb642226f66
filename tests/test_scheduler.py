"""The scheduler: lanes, the call watchdog and the deadline, on asyncio and trio.

The deadline is absolute on every path: whatever the calls do (hang, answer
slowly, throttle), however far behind the budget an execution queues, every
outcome arrives by ``timeout + call_timeout`` at the latest, for a lone
``wait_for``, waits sharing one poller, and a batch.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BACKENDS
from tests.scripted import client_error, status_response
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    OutcomeKind,
    Poller,
    default_registry,
    wait_all,
    wait_for,
)
from waiters._machine import service_model
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")


class FleetClient:
    """describe_job_execution by thing: each thing plays its script (the last step repeats).

    A step is ``"run"`` (IN_PROGRESS), ``"done"`` (SUCCEEDED), ``"fail"`` (FAILED),
    ``"timeout"`` (the device's TIMED_OUT), ``"throttle"``,
    ``"5xx"``, ``"hang"`` (never answers) or a number (answers IN_PROGRESS
    after that many seconds).
    """

    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        self.meta = SimpleNamespace(service_model=service_model("iot"), region_name="us-east-1")
        self.scripts = scripts
        self.machine = JOB
        self.calls: dict[str, list[float]] = {name: [] for name in scripts}

    async def describe_job_execution(self, **params: Any) -> Any:
        name = params["thingName"]
        calls = self.calls[name]
        calls.append(anyio.current_time())
        script = self.scripts[name]
        step = script[min(len(calls), len(script)) - 1]
        if step == "hang":
            await anyio.sleep_forever()
        if step == "throttle":
            raise client_error("ThrottlingException", 400)
        if step == "5xx":
            raise client_error("InternalFailure", 503)
        if isinstance(step, int | float):
            await anyio.sleep(step)
            step = "run"
        state = {"done": "SUCCEEDED", "fail": "FAILED", "timeout": "TIMED_OUT"}.get(step)
        return status_response(JOB, state or "IN_PROGRESS")


def _executions(client: FleetClient) -> list[Execution]:
    return [Execution(JOB, {"jobId": "j", "thingName": name}, client) for name in client.scripts]


_STEP = st.one_of(
    st.sampled_from(["run", "run", "done", "throttle", "5xx", "hang"]),
    st.floats(0.0, 120.0),
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    mode=st.sampled_from(["lone", "shared", "batch"]),
    scripts=st.lists(st.lists(_STEP, min_size=1, max_size=6), min_size=1, max_size=12),
    timeout=st.floats(0.5, 300.0),
    call_timeout=st.floats(0.1, 60.0),
    rate=st.floats(0.05, 20.0),
)
def test_every_outcome_arrives_by_the_deadline_plus_one_call_timeout(
    backend: str,
    mode: str,
    scripts: list[list[Any]],
    timeout: float,
    call_timeout: float,
    rate: float,
) -> None:
    """Hung calls, slow answers, throttle storms and budget backlogs never stretch a wait
    past timeout + call_timeout, for lone waits, a shared poller and a batch."""
    client = FleetClient({f"thing-{i}": script for i, script in enumerate(scripts)})
    executions = _executions(client)
    limit = timeout + call_timeout + 1e-6
    ends: dict[Execution, tuple[OutcomeKind, float]] = {}

    async def main() -> None:
        start = anyio.current_time()
        budgets = BudgetRegistry(BudgetConfig(initial_rate=rate, max_rate=rate, min_rate=rate))
        backoff = Backoff(min_delay=1, max_delay=10)

        async def lone(execution: Execution, poller: Poller | None) -> None:
            options: dict[str, Any] = {"poller": poller}
            if poller is None:
                options.update(budgets=budgets, call_timeout=call_timeout)
            outcome = await wait_for(
                execution, timeout=timeout, backoff=backoff, raise_on_failure=False, **options
            )
            ends[execution] = (outcome.kind, anyio.current_time() - start)

        if mode == "batch":
            result = await wait_all(
                executions,
                timeout=timeout,
                backoff=backoff,
                budgets=budgets,
                call_timeout=call_timeout,
            )
            for outcome in result.outcomes:
                ends[outcome.execution] = (outcome.kind, outcome.elapsed)
            assert anyio.current_time() - start <= limit
            return
        async with anyio.create_task_group() as tasks:
            if mode == "lone":
                for execution in executions:
                    tasks.start_soon(lone, execution, None)
            else:
                async with (
                    Poller(budgets=budgets, call_timeout=call_timeout) as poller,
                    anyio.create_task_group() as waits,
                ):
                    for execution in executions:
                        waits.start_soon(lone, execution, poller)

    MockClock().run(main, backend=backend)
    assert set(ends) == set(executions)
    for execution, (kind, elapsed) in ends.items():
        assert elapsed <= limit, (execution, kind, elapsed, limit)
        script = client.scripts[execution.params["thingName"]]
        if "done" not in script:
            assert kind is not OutcomeKind.SUCCEEDED


@pytest.mark.anyio
async def test_the_most_overdue_execution_goes_first() -> None:
    """With one slot a second, executions are polled in the order they came due."""
    client = FleetClient({f"thing-{i}": ["done"] for i in range(5)})
    executions = _executions(client)
    budgets = BudgetRegistry(BudgetConfig(initial_rate=1, max_rate=1, min_rate=1))
    async with Poller(budgets=budgets, concurrency=1) as poller:
        batches = []
        for execution in executions:
            batches.append(await poller.submit([execution], immediate=True))
            await anyio.sleep(0.01)
        for batch in batches:
            await batch.wait()
    firsts = [client.calls[e.params["thingName"]][0] for e in executions]
    assert firsts == sorted(firsts)
    assert all(b - a >= 1.0 - 1e-3 for a, b in itertools.pairwise(firsts))


@pytest.mark.anyio
async def test_no_poll_is_made_before_it_is_due() -> None:
    """Every poll lands at or after its due time: gaps never fall below min_delay."""
    client = FleetClient({"thing-0": ["run"] * 30 + ["done"]})
    (execution,) = _executions(client)
    backoff = Backoff(min_delay=0.7, max_delay=0.7)
    budgets = BudgetRegistry(BudgetConfig.unlimited())
    outcome = await wait_for(execution, backoff=backoff, budgets=budgets, timeout=None)
    assert outcome.kind is OutcomeKind.SUCCEEDED
    times = client.calls["thing-0"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.7 - 1e-6


@pytest.mark.anyio
async def test_a_hung_call_is_abandoned_and_the_wait_goes_on() -> None:
    """A call that never answers is cut after the call timeout; the next one succeeds."""
    client = FleetClient({"thing-0": ["hang", "done"]})
    (execution,) = _executions(client)
    outcome = await wait_for(
        execution,
        call_timeout=4.0,
        backoff=Backoff(min_delay=1, max_delay=1),
        budgets=BudgetRegistry(BudgetConfig.unlimited()),
    )
    assert outcome.kind is OutcomeKind.SUCCEEDED and outcome.attempts == 2
    first, second = client.calls["thing-0"]
    # Cut between 1 and 1.25 call timeouts (the watchdog looks every quarter).
    assert 4.0 <= second - first - 1.0 <= 5.0 + 1e-6


@pytest.mark.anyio
async def test_calls_in_flight_stay_within_concurrency() -> None:
    """Slow answers: at most `concurrency` calls at once per client, by as many workers."""
    client = FleetClient({f"thing-{i}": [5.0, "done"] for i in range(30)})
    in_flight = 0
    most = 0
    callers: set[int] = set()
    original = client.describe_job_execution

    async def counting(**params: Any) -> Any:
        nonlocal in_flight, most
        callers.add(anyio.get_current_task().id)
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await original(**params)
        finally:
            in_flight -= 1

    client.describe_job_execution = counting  # type: ignore[method-assign]
    result = await wait_all(
        _executions(client),
        concurrency=4,
        budgets=BudgetRegistry(BudgetConfig.unlimited()),
        batch=False,
    )
    assert result.counts == {"succeeded": 30}
    assert most == 4
    # Calls are made by at most `concurrency` workers, not a task per call.
    assert len(callers) <= 4


@pytest.mark.anyio
async def test_a_deadline_passes_while_queued_behind_the_budget() -> None:
    """Forty lone waits of 5 s on a 1 call/s budget all end by 5 s plus the grace."""
    client = FleetClient({f"thing-{i}": ["run"] for i in range(40)})
    budgets = BudgetRegistry(BudgetConfig(initial_rate=1, max_rate=1, min_rate=1))
    start = anyio.current_time()
    ends: list[float] = []

    async def one(execution: Execution) -> None:
        outcome = await wait_for(execution, timeout=5, budgets=budgets, raise_on_failure=False)
        assert outcome.kind is OutcomeKind.WAIT_TIMEOUT
        ends.append(anyio.current_time() - start)

    async with anyio.create_task_group() as tasks:
        for execution in _executions(client):
            tasks.start_soon(one, execution)
    assert len(ends) == 40
    assert max(ends) <= 6.0 + 1e-6
    assert sum(len(calls) for calls in client.calls.values()) <= 7


def test_the_mock_clock_jumps_hours_in_moments() -> None:
    """An hour-long wait ends at the hour on the mock clock, in well under a second."""
    import time

    client = FleetClient({"thing-0": ["run"]})
    (execution,) = _executions(client)
    began = time.perf_counter()
    outcome = MockClock().run(
        wait_for, execution, timeout=3600, raise_on_failure=False, backend="trio"
    )
    assert outcome.kind is OutcomeKind.WAIT_TIMEOUT
    assert outcome.elapsed == pytest.approx(3600)
    assert time.perf_counter() - began < 5
    assert not math.isnan(outcome.elapsed)


@pytest.mark.anyio
async def test_an_error_inside_the_poller_arrives_as_itself() -> None:
    """What the body of ``async with Poller`` raises comes out bare, not in a group."""
    from waiters import InvalidExecution

    with pytest.raises(InvalidExecution, match="expected an Execution"):
        async with Poller() as poller:
            await poller.submit(["not an execution"])  # type: ignore[list-item]
