"""Waits on one execution within a poller: each gets its outcome, from shared calls."""

from __future__ import annotations

from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_poller import TYPES, _check_against_truth, _executions, _fleet
from waiters import BudgetRegistry, OutcomeKind, Poller, execution
from waiters.simulator import Lifecycle
from waiters.testing import run_virtual


def _describe_calls(stats: dict[str, dict[str, Any]]) -> int:
    """Calls of the executions' own describe operations (not lists, counts or logs)."""
    others = ("DescribeJob", "FilterLogEvents", "GetCallerIdentity")
    return sum(
        s["served"] + s["throttled"]
        for key, s in stats.items()
        if not key.split(":")[1].startswith("List") and key.split(":")[1] not in others
    )


def _rollout(
    type_name: str, *, batch: bool, copies: int, timeouts: list[float | None], seed: int
) -> tuple[list[Any], int]:
    """The same executions submitted *copies* times to one poller, each batch with its timeout."""

    async def main() -> tuple[list[Any], int]:
        fleet = _fleet(seed=seed)
        lifecycle = Lifecycle(running=(50, 400))
        if type_name == "iot-job-execution":
            ids = fleet.add_iot_job("rollout", things=25, lifecycle=lifecycle)
        else:
            ids = fleet.add(type_name, 25, lifecycle=lifecycle)
        executions = _executions(fleet, type_name, ids)
        async with Poller(budgets=BudgetRegistry(), batch=batch, batch_min=20) as poller:
            batches = [
                await poller.submit(executions, timeout=timeouts[i % len(timeouts)])
                for i in range(copies)
            ]
            with anyio.fail_after(7200):  # a wait orphaned by its twin would hang here
                results = [await b.wait() for b in batches]
        _check_against_truth(fleet, [o for r in results for o in r.outcomes])
        return results, _describe_calls(fleet.stats())

    return run_virtual(main)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_name=st.sampled_from(TYPES),
    batch=st.booleans(),
    copies=st.integers(2, 3),
    timeouts=st.lists(st.sampled_from([3600.0, None]), min_size=1, max_size=3),
    seed=st.integers(0, 1000),
)
def test_every_wait_on_a_shared_execution_gets_its_true_outcome(
    type_name: str, batch: bool, copies: int, timeouts: list[float | None], seed: int
) -> None:
    """The same executions submitted to one poller in several batches, in Describe and in
    sweep mode, with and without deadlines: every batch gets every true outcome, none
    orphaned by another batch waiting on the same execution."""
    results, _ = _rollout(type_name, batch=batch, copies=copies, timeouts=timeouts, seed=seed)
    for result in results:
        assert len(result.outcomes) == 25
        assert OutcomeKind.WAIT_TIMEOUT not in result.counts


def test_thirty_executions_submitted_twice_both_end_with_and_without_a_deadline() -> None:
    """The reported case: 30 job executions submitted twice; the first batch used to time
    out at 3,600 s (and hang with no deadline) while the second one ended."""
    for batch in (True, False):
        for timeout in (3600.0, None):

            async def main(batch: bool = batch, timeout: float | None = timeout) -> list[Any]:
                fleet = _fleet(seed=1)
                ids = fleet.add_iot_job("job-1", things=30, lifecycle=Lifecycle(running=(100, 300)))
                jobs = _executions(fleet, "iot-job-execution", ids)
                async with Poller(budgets=BudgetRegistry(), batch=batch, timeout=timeout) as p:
                    first = await p.submit(jobs)
                    second = await p.submit(jobs)
                    with anyio.fail_after(7200):
                        return [await first.wait(), await second.wait()]

            first, second = run_virtual(main)
            assert first.counts == second.counts
            assert OutcomeKind.WAIT_TIMEOUT not in first.counts, (batch, timeout, first.counts)


def test_one_call_serves_every_wait_on_an_execution() -> None:
    """Describe mode: three batches on the same executions cost about the calls of one,
    not three times as many."""

    def calls(copies: int) -> int:
        _, count = _rollout("snow-execution", batch=False, copies=copies, timeouts=[3600.0], seed=3)
        return count

    one, three = calls(1), calls(3)
    assert three <= one * 1.2, (one, three)


def test_an_execution_named_with_and_without_its_execution_number() -> None:
    """A job of 30 things plus its first execution named again with executionNumber=1: both
    waits on that execution end, in Describe mode and in sweep mode (it used to time out)."""
    for batch in (True, False):

        async def main(batch: bool = batch) -> Any:
            fleet = _fleet(seed=1)
            ids = fleet.add_iot_job("job-1", things=30, lifecycle=Lifecycle(running=(100, 300)))
            jobs = _executions(fleet, "iot-job-execution", ids)
            again = execution(jobs[0].client, "describe_job_execution", executionNumber=1, **ids[0])
            async with Poller(budgets=BudgetRegistry(), batch=batch) as poller:
                with anyio.fail_after(7200):
                    return await poller.wait_all([*jobs, again])

        result = run_virtual(main)
        assert len(result.outcomes) == 31
        assert OutcomeKind.WAIT_TIMEOUT not in result.counts, (batch, result.counts)
        assert result.outcomes[-1].state == result.outcomes[0].state
