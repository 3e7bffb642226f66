"""The fan-out poller against the in-process simulator, on virtual time."""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    FailFast,
    OutcomeKind,
    Poller,
    execution,
    wait_all,
    wait_for,
)
from waiters.simulator import Faults, Fleet, Lifecycle, ThrottleConfig
from waiters.testing import run_virtual

TYPES = (
    "iot-job-execution",
    "iot-command-execution",
    "sitewise-execution",
    "snow-execution",
    "transfer-execution",
)
_TERMINAL_KIND = {
    "SUCCEEDED": OutcomeKind.SUCCEEDED,
    "COMPLETED": OutcomeKind.SUCCEEDED,
    "FAILED": OutcomeKind.FAILED,
    "TIMED_OUT": OutcomeKind.FAILED,
    "REJECTED": OutcomeKind.FAILED,
    "EXCEPTION": OutcomeKind.FAILED,
    "CANCELED": OutcomeKind.CANCELLED,
    "REMOVED": OutcomeKind.CANCELLED,
}


def _fleet(**kwargs: Any) -> Fleet:
    return Fleet(clock=asyncio.get_running_loop().time, **kwargs)


def _executions(fleet: Fleet, type_name: str, ids: list[dict[str, str]]) -> list[Execution]:
    from waiters import default_registry

    machine = default_registry().get(type_name)
    # One client per service, as an application would hold.
    clients = _CLIENTS.setdefault(id(fleet), (fleet, {}))[1]
    client = clients.get(machine.service)
    if client is None:
        client = clients[machine.service] = fleet.async_client(machine.service)
    return [execution(client, machine.method, **params) for params in ids]


_CLIENTS: dict[int, tuple[Fleet, dict[str, Any]]] = {}


def _truth(fleet: Fleet) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[Any]]:
    return {(t, tuple(sorted(ids.items()))): truth for t, ids, truth in fleet.executions()}


def _check_against_truth(fleet: Fleet, outcomes: Any) -> None:
    """Each outcome is the execution's true final state. A Transfer execution the
    service forgot is resolved to its true ending (from its last state, or its log),
    or else reported vanished (seen) or not found (never seen); never a wrong ending."""
    truth = _truth(fleet)
    for outcome in outcomes:
        key = (outcome.execution.type, tuple(sorted(outcome.execution.params.items())))
        states = [s for s, _ in truth[key] if s not in (None, "<GONE>")]
        final = states[-1]
        if outcome.execution.type == "transfer-execution" and outcome.kind in (
            OutcomeKind.VANISHED,
            OutcomeKind.NOT_FOUND,
        ):
            if outcome.kind is OutcomeKind.VANISHED:
                assert outcome.history
                # Last seen handling an exception, it can only have ended in EXCEPTION.
                assert outcome.history[-1].state != "HANDLING_EXCEPTION", outcome
        else:
            assert outcome.state == final, (outcome, truth[key])
            assert outcome.kind is _TERMINAL_KIND[final]


def _max_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.floats(0.0, 20.0))
    return {
        "types": draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=4)),
        "count": draw(st.integers(1, 40)),
        "lifecycle": Lifecycle(pending=(0.0, low), running=(1.0, 1.0 + draw(st.floats(0, 120)))),
        "service_rate": draw(st.sampled_from([2.0, 5.0, 20.0, 1000.0])),
        "ceiling": draw(st.sampled_from([3.0, 10.0, 40.0])),
        "faults": Faults(
            error_5xx=draw(st.sampled_from([0.0, 0.05, 0.2])),
            reset=draw(st.sampled_from([0.0, 0.05])),
            malformed=draw(st.sampled_from([0.0, 0.02])),
            throttle=draw(st.sampled_from([0.0, 0.1, 0.3])),
            seed=draw(st.integers(0, 1000)),
        ),
        "batch": draw(st.booleans()),
        "seed": draw(st.integers(0, 10_000)),
    }


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_every_execution_yields_exactly_one_true_outcome(scenario: dict[str, Any]) -> None:
    """Random lifecycles, throttles and faults: one outcome each, matching the ground truth,
    and the budget is never exceeded in any one-second window as the service sees it."""

    async def main() -> tuple[Fleet, Any]:
        fleet = _fleet(
            seed=scenario["seed"],
            record_requests=True,
            faults=scenario["faults"],
            throttle=ThrottleConfig(rate=scenario["service_rate"], burst=scenario["service_rate"]),
        )
        executions: list[Execution] = []
        for type_name in scenario["types"]:
            ids = fleet.add(
                type_name,
                scenario["count"],
                lifecycle=scenario["lifecycle"],
            )
            executions += _executions(fleet, type_name, ids)
        budgets = BudgetRegistry(
            BudgetConfig(
                initial_rate=min(2.0, scenario["ceiling"]),
                max_rate=scenario["ceiling"],
                min_rate=0.2,
            )
        )
        async with Poller(
            budgets=budgets,
            timeout=None,
            batch=scenario["batch"],
            backoff=Backoff(0.5, 20),
            batch_min=10,
        ) as poller:
            result = await poller.wait_all(executions)
        return fleet, result

    fleet, result = run_virtual(main)
    given_count = len(scenario["types"]) * scenario["count"]
    assert len(result.outcomes) == given_count
    assert len({o.execution for o in result.outcomes}) == given_count
    _check_against_truth(fleet, result.outcomes)
    by_operation: dict[str, list[float]] = defaultdict(list)
    for record in fleet.requests:
        by_operation[record.operation].append(record.clock_time)
    for operation, times in by_operation.items():
        assert _max_in_any_second(times) <= math.ceil(scenario["ceiling"]), operation


def test_rate_recovers_after_a_throttling_episode() -> None:
    """A storm cuts the budget; once the service stops throttling, it climbs back to the ceiling."""

    async def main() -> tuple[list[float], tuple[int, int]]:
        fleet = _fleet(seed=3, faults=Faults(throttle=0.9, seed=1))
        ids = fleet.add("snow-execution", 200, lifecycle=Lifecycle(running=(300, 400)))
        budgets = BudgetRegistry(BudgetConfig(initial_rate=20, max_rate=20))
        rates: list[float] = []
        async with Poller(
            budgets=budgets, timeout=None, batch=False, backoff=Backoff(0.1, 0.2)
        ) as poller:
            batch = await poller.submit(_executions(fleet, "snow-execution", ids))
            await anyio.sleep(30)
            (stats,) = budgets.stats()
            rates.append(stats.rate)
            fleet.faults = None
            await anyio.sleep(30)
            (stats,) = budgets.stats()
            rates.append(stats.rate)
            result = await batch.wait()
        assert len(result.outcomes) == 200
        return rates, (stats.throttles, stats.cuts)

    (during, after), (throttles, cuts) = run_virtual(main)
    # The storm was felt: cut after cut, down to the floor, on few refused calls (a
    # throttle of a call paced at the already-cut rate cuts again at once).
    assert cuts >= 5 and throttles >= cuts
    assert during < 10.0  # at most half the ceiling while 90% of calls are refused
    assert after == 20.0


def test_duplicates_are_waited_on_once_and_reported() -> None:
    """The same execution given twice yields one outcome and is listed as a duplicate."""

    async def main() -> Any:
        fleet = _fleet(seed=1)
        ids = fleet.add("sitewise-execution", 3)
        executions = _executions(fleet, "sitewise-execution", ids)
        return await wait_all([*executions, executions[0]], budgets=BudgetRegistry())

    result = run_virtual(main)
    assert len(result.outcomes) == 3
    assert result.duplicates == (result.outcomes[0].execution,)


def test_fail_fast_abandons_the_rest_and_loses_none() -> None:
    """When failures reach the threshold, the remaining executions come back abandoned."""

    async def main() -> Any:
        fleet = _fleet(seed=2)
        ids = fleet.add(
            "snow-execution",
            50,
            lifecycle=Lifecycle(running=(5, 600), mix={"FAILED": 0.5, "SUCCEEDED": 0.5}),
        )
        return await wait_all(
            _executions(fleet, "snow-execution", ids),
            fail_fast=FailFast(count=3),
            budgets=BudgetRegistry(),
            batch=False,
        )

    result = run_virtual(main)
    assert result.aborted
    assert len(result.outcomes) == 50
    kinds = Counter(o.kind for o in result.outcomes)
    assert kinds[OutcomeKind.FAILED] == 3
    assert kinds[OutcomeKind.ABANDONED] == 50 - sum(
        v for k, v in kinds.items() if k is not OutcomeKind.ABANDONED
    )
    assert all(o.reason == "fail-fast threshold reached" for o in result.of(OutcomeKind.ABANDONED))


def test_fail_fast_by_fraction() -> None:
    """A fraction threshold trips once enough have finished."""
    rule = FailFast(fraction=0.2, min_finished=10)
    assert not rule.tripped(failures=5, finished=9)
    assert rule.tripped(failures=2, finished=10)
    with pytest.raises(ValueError, match="fraction must be in"):
        FailFast(fraction=1.5)


def test_total_deadline_times_out_the_rest_on_time() -> None:
    """Executions still queued behind a tight budget time out at the batch deadline."""

    async def main() -> tuple[Any, float]:
        fleet = _fleet(seed=4)
        ids = fleet.add("snow-execution", 300, lifecycle=Lifecycle(running=(3000, 4000)))
        budgets = BudgetRegistry(BudgetConfig(initial_rate=1, max_rate=1))
        start = anyio.current_time()
        result = await wait_all(
            _executions(fleet, "snow-execution", ids), timeout=60, budgets=budgets, batch=False
        )
        return result, anyio.current_time() - start

    result, elapsed = run_virtual(main)
    assert {o.kind for o in result.outcomes} == {OutcomeKind.WAIT_TIMEOUT}
    assert len(result.outcomes) == 300
    assert elapsed <= 62.0


def test_outcomes_arrive_as_they_complete() -> None:
    """as_completed yields each execution once, in the order they end."""

    async def main() -> list[float]:
        fleet = _fleet(seed=5)
        ids = fleet.add("sitewise-execution", 30, lifecycle=Lifecycle(running=(1, 200)))
        seen: list[float] = []
        async with Poller(budgets=BudgetRegistry(), batch=False) as poller:
            async for outcome in poller.as_completed(_executions(fleet, "sitewise-execution", ids)):
                seen.append(outcome.elapsed)
        return seen

    elapsed = run_virtual(main)
    assert len(elapsed) == 30
    assert elapsed == sorted(elapsed)


def test_progress_counts_states_calls_and_throttles() -> None:
    """A batch's progress snapshot adds up: waiting by state plus finished equals total."""

    async def main() -> list[Any]:
        fleet = _fleet(seed=6, throttle=ThrottleConfig(rate=5, burst=5))
        ids = fleet.add("iot-command-execution", 40, lifecycle=Lifecycle(running=(20, 60)))
        snapshots = []
        transitions: list[str | None] = []
        async with Poller(
            budgets=BudgetRegistry(BudgetConfig(initial_rate=10, max_rate=10)), batch=False
        ) as poller:
            batch = await poller.submit(
                _executions(fleet, "iot-command-execution", ids),
                on_transition=lambda e, t: transitions.append(t.state),
            )
            while not batch.done.is_set():
                snapshots.append(batch.progress())
                await anyio.sleep(5)
            snapshots.append(batch.progress())
        assert transitions
        return snapshots

    snapshots = run_virtual(main)
    for snap in snapshots:
        assert sum(snap.states.values()) + snap.finished == snap.total == 40
        assert sum(snap.kinds.values()) == snap.waiting
    assert snapshots[-1].finished == 40 and snapshots[-1].remaining == 0.0
    assert snapshots[-1].calls >= 40
    assert any(s.throttles for s in snapshots)
    assert any(s.remaining is not None and s.remaining > 0 for s in snapshots)


def test_one_poller_serves_many_concurrent_waits() -> None:
    """wait_for(..., poller=p) from many tasks shares the poller and its budget."""

    async def main() -> tuple[list[Any], int]:
        fleet = _fleet(seed=7, record_requests=True)
        ids = fleet.add("snow-execution", 25)
        executions = _executions(fleet, "snow-execution", ids)
        outcomes: list[Any] = []
        budgets = BudgetRegistry(BudgetConfig(initial_rate=4, max_rate=4))
        async with Poller(budgets=budgets, batch=False) as poller:

            async def one(job: Execution) -> None:
                outcomes.append(await wait_for(job, poller=poller, raise_on_failure=False))

            async with anyio.create_task_group() as tg:
                for job in executions:
                    tg.start_soon(one, job)
        times = [r.clock_time for r in fleet.requests]
        return outcomes, _max_in_any_second(times)

    outcomes, busiest = run_virtual(main)
    assert len(outcomes) == 25
    assert busiest <= 4


def test_cancelling_the_caller_leaks_no_tasks() -> None:
    """Cancel a batch wait midway: the poller's tasks are gone and waits are abandoned."""

    async def main() -> tuple[int, Any]:
        fleet = _fleet(seed=8)
        ids = fleet.add("snow-execution", 100, lifecycle=Lifecycle(running=(100, 200)))
        before = len(asyncio.all_tasks())
        batch_holder: list[Any] = []
        with anyio.move_on_after(30):
            async with Poller(budgets=BudgetRegistry(), batch=True, batch_min=10) as poller:
                batch = await poller.submit(_executions(fleet, "snow-execution", ids))
                batch_holder.append(batch)
                await batch.wait()
        await anyio.lowlevel.checkpoint()
        return len(asyncio.all_tasks()) - before, batch_holder[0]

    leaked, batch = run_virtual(main)
    assert leaked == 0
    result = batch.result()
    assert len(result.outcomes) == 100
    assert result.aborted
    assert {o.kind for o in result.outcomes} <= {
        OutcomeKind.ABANDONED,
        OutcomeKind.SUCCEEDED,
        OutcomeKind.FAILED,
    }


def test_unbound_executions_resolve_through_the_session() -> None:
    """execution(type, ...) without a client is polled through the poller's session."""

    class Session:
        def __init__(self, fleet: Fleet) -> None:
            self.fleet = fleet
            self.opened: list[str] = []

        def client(self, service: str, **kwargs: Any) -> Any:
            self.opened.append(service)
            return self.fleet.async_client(service)

    async def main() -> tuple[Any, list[str]]:
        fleet = _fleet(seed=9)
        ids = fleet.add("snow-execution", 3)
        session = Session(fleet)
        jobs = [execution("snow-execution", **params) for params in ids]
        result = await wait_all(jobs, session=session, budgets=BudgetRegistry())
        return result, session.opened

    result, opened = run_virtual(main)
    assert len(result.outcomes) == 3 and opened == ["snow-device-management"]


def test_bad_poller_options_name_the_field() -> None:
    """Invalid concurrency or sweep settings fail with the field and the value."""
    with pytest.raises(ValueError, match="concurrency must be a positive integer, got 0"):
        Poller(concurrency=0)
    with pytest.raises(ValueError, match="sweep_interval must be greater than 0 seconds"):
        Poller(sweep_interval=0)
    with pytest.raises(ValueError, match="batch_min must be a non-negative integer"):
        Poller(batch_min=-1)


def test_a_call_that_never_answers_is_abandoned_after_the_call_timeout() -> None:
    """A hung call counts as a transient error after call_timeout; the wait goes on."""
    from waiters.simulator import Latency

    async def main() -> tuple[Any, float]:
        fleet = _fleet(seed=10, faults=Faults(latency=Latency(10_000, 10_000, 0.5), seed=3))
        ids = fleet.add("sitewise-execution", 5, lifecycle=Lifecycle(running=(5, 20)))
        start = anyio.current_time()
        result = await wait_all(
            _executions(fleet, "sitewise-execution", ids),
            call_timeout=3,
            budgets=BudgetRegistry(),
            batch=False,
            timeout=600,
        )
        return result, anyio.current_time() - start

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    with structlog.testing.capture_logs() as logs:
        result, elapsed = run_virtual(main)
    assert {o.kind for o in result.outcomes} <= {OutcomeKind.SUCCEEDED, OutcomeKind.FAILED}
    assert elapsed < 600
    timeouts = [
        e for e in logs if e["event"] == "waiters.transient_error" and e["code"] == "TimeoutError"
    ]
    assert timeouts


def test_many_lone_waits_share_a_budget_that_grows() -> None:
    """300 concurrent wait_for calls without a poller: they do not book slots far ahead at
    the starting rate, so the budget's growth serves them and all end in time."""

    async def main() -> tuple[list[Any], float, int]:
        fleet = _fleet(seed=11, record_requests=True)
        ids = fleet.add("snow-execution", 300, lifecycle=Lifecycle(pending=(0, 5), running=(5, 15)))
        jobs = _executions(fleet, "snow-execution", ids)
        budgets = BudgetRegistry(BudgetConfig(initial_rate=5, max_rate=50))
        outcomes: list[Any] = []

        async def one(job: Execution) -> None:
            outcomes.append(await wait_for(job, budgets=budgets, raise_on_failure=False))

        start = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for job in jobs:
                tg.start_soon(one, job)
        busiest = _max_in_any_second([r.clock_time for r in fleet.requests])
        return outcomes, anyio.current_time() - start, busiest

    outcomes, elapsed, busiest = run_virtual(main)
    assert len(outcomes) == 300
    assert busiest > 20  # the budget grew past its starting 5 calls/s, and was used
    assert busiest <= 50
    assert elapsed < 60
