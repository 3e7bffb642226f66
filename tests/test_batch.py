"""Batch observation through list operations, against the in-process simulator."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.test_poller import _check_against_truth, _executions, _fleet
from waiters import Backoff, BudgetConfig, BudgetRegistry, OutcomeKind, Poller
from waiters.simulator import Faults, Fleet, Lifecycle, ThrottleConfig
from waiters.testing import run_virtual

# Larger than every list page (100 to 1,000 per page), so sweeps page through nextToken.
COUNT = {
    "iot-job-execution": 300,
    "iot-command-execution": 230,
    "sitewise-execution": 300,
    "snow-execution": 230,
    "transfer-execution": 1100,
}
MIXES = {
    "iot-job-execution": {"SUCCEEDED": 0.8, "FAILED": 0.1, "REJECTED": 0.05, "CANCELED": 0.05},
    "iot-command-execution": {"SUCCEEDED": 0.85, "FAILED": 0.1, "TIMED_OUT": 0.05},
    "sitewise-execution": {"COMPLETED": 0.9, "FAILED": 0.1},
    "snow-execution": {"SUCCEEDED": 0.8, "FAILED": 0.1, "CANCELED": 0.1},
    "transfer-execution": {"COMPLETED": 0.9, "EXCEPTION": 0.1},
}


def _run(type_name: str, *, batch: bool) -> tuple[Fleet, Any, dict[str, Any]]:
    async def main() -> tuple[Fleet, Any, dict[str, Any]]:
        fleet = _fleet(
            seed=41,
            throttle=ThrottleConfig(rate=10, burst=10),
            faults=Faults(error_5xx=0.02, throttle=0.05, seed=7),
        )
        ids = fleet.add(
            type_name,
            COUNT[type_name],
            lifecycle=Lifecycle(pending=(0, 30), running=(20, 200), mix=MIXES[type_name]),
        )
        budgets = BudgetRegistry(BudgetConfig(initial_rate=5, max_rate=10))
        async with Poller(
            budgets=budgets, batch=batch, timeout=None, backoff=Backoff(1, 30)
        ) as poller:
            result = await poller.wait_all(_executions(fleet, type_name, ids))
        return fleet, result, fleet.stats()

    return run_virtual(main)


@pytest.mark.parametrize("type_name", sorted(COUNT))
def test_list_sweeps_give_the_same_outcomes_as_describe(type_name: str) -> None:
    """For every type, under throttling and paging, batch mode and Describe mode report the
    same outcome for every execution, both the true one, and batch mode lists."""
    fleet, by_list, list_stats = _run(type_name, batch=True)
    _, by_describe, describe_stats = _run(type_name, batch=False)
    _check_against_truth(fleet, by_list.outcomes)
    assert len(by_list.outcomes) == len(by_describe.outcomes) == COUNT[type_name]
    listed = {
        tuple(sorted(o.execution.params.items())): (o.kind, o.state) for o in by_list.outcomes
    }
    described = {
        tuple(sorted(o.execution.params.items())): (o.kind, o.state) for o in by_describe.outcomes
    }
    if type_name == "transfer-execution":
        # Transfer never reports how an execution ended. One that ends before its first
        # Describe (queued behind the budget) is not found; a sweep has usually seen it
        # running, so it vanished, or, seen handling an exception, ended in EXCEPTION.
        # Lists may see more, never less: whatever Describe resolved, lists resolve alike.
        _check_against_truth(fleet, by_describe.outcomes)
        seen = (OutcomeKind.VANISHED, OutcomeKind.FAILED, OutcomeKind.SUCCEEDED)
        for key, (kind, state) in described.items():
            if kind is OutcomeKind.VANISHED:
                assert listed[key][0] in seen, (key, listed[key])
            elif kind is not OutcomeKind.NOT_FOUND:
                assert listed[key] == (kind, state), (key, listed[key])
    else:
        assert listed == described
    list_calls = [k for k in list_stats if k.split(":")[1].startswith("List")]
    assert list_calls and sum(list_stats[k]["served"] for k in list_calls) > 0
    assert not any(k.split(":")[1].startswith("List") for k in describe_stats)


def test_a_job_rollout_costs_a_fraction_of_a_call_per_execution() -> None:
    """2,000 job executions under 10 calls/s: list sweeps read far less than one call each
    and see every ending sooner than Describe does. An execution that did not succeed
    costs one Describe more, at most, for its reason (list summaries lack it)."""

    def run(batch: bool) -> tuple[int, float, int]:
        async def main() -> tuple[int, float, int]:
            fleet = _fleet(seed=42, throttle=ThrottleConfig(rate=10, burst=10))
            ids = fleet.add_iot_job(
                "rollout",
                things=2000,
                lifecycle=Lifecycle(
                    pending=(0, 60), running=(30, 240), mix=MIXES["iot-job-execution"]
                ),
            )
            budgets = BudgetRegistry(BudgetConfig(initial_rate=10, max_rate=10))
            async with Poller(budgets=budgets, batch=batch, timeout=None) as poller:
                result = await poller.wait_all(_executions(fleet, "iot-job-execution", ids))
            _check_against_truth(fleet, result.outcomes)
            truth = {tuple(sorted(i.items())): t for _, i, t in fleet.executions()}
            latencies = sorted(
                o.history[-1].at - truth[tuple(sorted(o.execution.params.items()))][-1][1]
                for o in result.outcomes
            )
            calls = sum(s["served"] + s["throttled"] for s in fleet.stats().values())
            failed = sum(1 for o in result.outcomes if not o.ok)
            assert all(o.reason for o in result.outcomes if not o.ok)
            return calls, latencies[int(len(latencies) * 0.99)], failed

        return run_virtual(main)

    list_calls, list_p99, failed = run(True)
    describe_calls, describe_p99, _ = run(False)
    observing = list_calls - failed
    assert observing / 2000 < 0.2
    assert observing * 5 < describe_calls
    assert list_p99 < 10.0 < describe_p99


def test_batch_mode_can_be_switched_off() -> None:
    """batch=False never calls a list operation, even for a whole job (the job's retry
    configuration is read once, when the first execution fails)."""

    async def main() -> Counter[str]:
        fleet = _fleet(seed=43)
        ids = fleet.add_iot_job("off", things=60, lifecycle=Lifecycle(running=(5, 30)))
        async with Poller(budgets=BudgetRegistry(), batch=False) as poller:
            await poller.wait_all(_executions(fleet, "iot-job-execution", ids))
        return Counter({k: v["served"] for k, v in fleet.stats().items()})

    served = run_virtual(main)
    assert "iot:ListJobExecutionsForJob" not in served
    assert set(served) <= {"iot:DescribeJobExecution", "iot:DescribeJob"}
    assert served["iot:DescribeJob"] <= 1


def test_one_outcome_when_list_and_describe_both_see_the_end() -> None:
    """A group handed back to Describe (stragglers) never yields a second or older outcome."""

    async def main() -> Any:
        fleet = _fleet(seed=44)
        ids = fleet.add("snow-execution", 40, lifecycle=Lifecycle(running=(5, 400)))
        async with Poller(
            budgets=BudgetRegistry(), batch_min=10, straggler_limit=20, sweep_interval=2
        ) as poller:
            return fleet, await poller.wait_all(_executions(fleet, "snow-execution", ids))

    fleet, result = run_virtual(main)
    assert len(result.outcomes) == 40
    _check_against_truth(fleet, result.outcomes)
    for outcome in result.outcomes:
        kinds = [t.kind for t in outcome.history if t.kind is not None]
        ranks = [0 if k.value == "pending" else 1 if k.value == "running" else 2 for k in kinds]
        assert ranks == sorted(ranks)
    assert {o.kind for o in result.outcomes} <= {OutcomeKind.SUCCEEDED, OutcomeKind.FAILED}


def _rollout(
    seed: int, things: int, lifecycle: Lifecycle, retries: Any = None, **options: Any
) -> tuple[Any, Counter[str], Fleet, list[dict[str, str]]]:
    """One IoT job of *things* waited on by a Poller (batch_min 10, *options*) on virtual
    time: the result, the calls the service served per operation, the fleet, the ids."""

    async def main() -> tuple[Any, Counter[str], Fleet, list[dict[str, str]]]:
        fleet = _fleet(seed=seed)
        ids = fleet.add_iot_job("job", things=things, lifecycle=lifecycle, retries=retries)
        async with Poller(budgets=BudgetRegistry(), batch_min=10, **options) as poller:
            result = await poller.wait_all(_executions(fleet, "iot-job-execution", ids))
        served = Counter({k: v["served"] for k, v in fleet.stats().items()})
        return result, served, fleet, ids

    return run_virtual(main)


def test_failures_seen_in_a_list_end_at_once_unless_reasons_are_asked_for() -> None:
    """By default an execution a sweep sees fail ends from the list, its reason saying
    the list gives none and how to read it, with no Describe of its own;
    failure_reasons=True reads each one's statusDetails with one Describe."""

    def run(reasons: bool | None) -> tuple[Any, Counter[str], Fleet]:
        asked: dict[str, Any] = {} if reasons is None else {"failure_reasons": reasons}
        lifecycle = Lifecycle(running=(20, 60), mix={"SUCCEEDED": 0.5, "FAILED": 0.5})
        result, served, fleet, _ = _rollout(44, 120, lifecycle, **asked)
        return result, served, fleet

    quick, quick_calls, fleet = run(None)
    _check_against_truth(fleet, quick.outcomes)
    listed_failures = [
        o
        for o in quick.outcomes
        if o.kind is OutcomeKind.FAILED and "list summary" in (o.reason or "")
    ]
    assert listed_failures, "some failures were seen in a sweep"
    assert all(
        "failure_reasons=True reads it with DescribeJobExecution" in (o.reason or "")
        for o in listed_failures
    )
    assert (run(False)[1]) == quick_calls  # the default is failure_reasons=False
    full, full_calls, fleet = run(True)
    _check_against_truth(fleet, full.outcomes)
    assert not [o for o in full.outcomes if "list summary" in (o.reason or "")]
    # Each failure seen in a list costs a Describe with reasons, none by default.
    saved = full_calls["iot:DescribeJobExecution"] - quick_calls["iot:DescribeJobExecution"]
    assert saved >= len(listed_failures) // 2


@pytest.mark.parametrize("retries", [None, {"TIMED_OUT": 1}])
def test_failures_first_seen_in_a_sweep_cost_one_read_of_the_retries_not_a_describe_each(
    retries: dict[str, int] | None,
) -> None:
    """Many executions of a job fail at once and a sweep sees them first, before the
    job's retry configuration is known: the sweep reads it once (DescribeJob) and, as
    it retries no FAILED, ends each failure from the list with no Describe of its own.
    (A failure the job retries is followed by Describe to its next attempt.)"""
    lifecycle = Lifecycle(running=(30, 30.5), mix={"SUCCEEDED": 0.5, "FAILED": 0.5})
    result, served, fleet, _ = _rollout(45, 60, lifecycle, retries, timeout=None)
    _check_against_truth(fleet, result.outcomes)
    failed = sum(1 for o in result.outcomes if o.kind is OutcomeKind.FAILED)
    assert failed >= 10
    # The group is swept from the start; a failure costs no Describe, only the last
    # few stragglers (straggler_limit, 5) do. Reading each failure cost 26 here.
    assert served["iot:DescribeJobExecution"] <= 5, served
    assert served["iot:DescribeJob"] <= 10  # the counts, and the retries read once


def test_a_retried_execution_goes_back_to_the_sweeps() -> None:
    """A job retries its FAILED executions: each is described until its new attempt shows,
    then swept again with the rest (the list names the newest attempt of each thing),
    rather than described every backoff delay for the new attempt's whole life."""
    from waiters.simulator import Retries

    retries = Retries(
        {"FAILED": 1}, delay=(1, 3), lifecycle=Lifecycle(running=(300, 400), mix={"SUCCEEDED": 1.0})
    )
    lifecycle = Lifecycle(running=(30, 60), mix={"SUCCEEDED": 0.5, "FAILED": 0.5})
    result, served, fleet, ids = _rollout(46, 60, lifecycle, retries, timeout=None)
    retried = [i for i in ids if len(fleet.attempts("iot-job-execution", **i)) > 1]
    assert len(retried) >= 15
    for outcome in result.outcomes:
        attempts = fleet.attempts("iot-job-execution", **outcome.execution.params)
        assert outcome.state == attempts[-1][1][-1][0]
        assert outcome.response is not None
    # About two Describes each (the failure, then the new attempt's first state), and
    # the last few stragglers: not one every backoff delay for 300-400 s (280 here).
    assert served["iot:DescribeJobExecution"] <= 3 * len(retried) + 5, served
