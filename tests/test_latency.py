"""A latency target: every ending seen within it, with the fewest calls, or said why not.

Rollouts on the simulator on virtual time, in batch and Describe modes: with
``latency=L`` each outcome comes at most L (plus the answer's own time) after
the fleet's ground truth says the execution ended; a looser target costs
fewer calls; and when the quota cannot meet it, ``waiters.latency_unmet``
says so once, naming the figure that stands in the way.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from waiters import (
    BudgetConfig,
    BudgetRegistry,
    Execution,
    InvalidOption,
    Poller,
    PollerOptions,
    default_registry,
)
from waiters.simulator import Fleet, Lifecycle
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")
#: What an answer of the in-process fleet may add to a detection on virtual time.
SLACK = 0.05


def _rollout(
    *, things: int, latency: float | None, batch: bool, rate: float, seed: int, **extra: Any
) -> tuple[list[float], int]:
    """Each execution's detection latency (outcome time minus its true ending), and calls."""
    lifecycle = Lifecycle(running=(5.0, 120.0), mix={"SUCCEEDED": 0.8, "FAILED": 0.2})

    async def main() -> tuple[list[float], int]:
        fleet = Fleet(seed=seed, clock=anyio.current_time)
        ids = fleet.add_iot_job("job", things=things, lifecycle=lifecycle)
        async with fleet.async_client("iot") as client:
            executions = [Execution(JOB, i, client) for i in ids]
            async with Poller(
                budgets=BudgetRegistry(BudgetConfig(initial_rate=rate, max_rate=rate)),
                latency=latency,
                batch=batch,
                batch_min=10,
                timeout=3600,
                **extra,
            ) as poller:
                result = await poller.wait_all(executions)
            calls = poller.stats.calls
        lags = []
        for outcome in result.outcomes:
            truth = fleet.truth(
                "iot-job-execution", jobId="job", thingName=outcome.execution.params["thingName"]
            )
            lags.append(outcome.elapsed - truth[-1][1])
        return lags, calls

    return MockClock().run(main)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    latency=st.sampled_from([1.5, 3.0, 5.0, 12.0]),
    batch=st.booleans(),
    things=st.integers(20, 150),
    seed=st.integers(0, 10_000),
)
def test_every_ending_is_seen_within_the_latency_target(
    latency: float, batch: bool, things: int, seed: int
) -> None:
    """With a quota that allows it, no ending goes unseen for longer than the target,
    in batch mode (sweeps paced by it) and Describe mode (delays capped at it; 150
    executions at least every 1.5 s need up to 100 calls/s, hence the Describe quota)."""
    rate = 50.0 if batch else 200.0
    lags, _ = _rollout(things=things, latency=latency, batch=batch, rate=rate, seed=seed)
    assert len(lags) == things
    assert max(lags) <= latency + SLACK, sorted(lags)[-5:]


@pytest.mark.parametrize("batch", [True, False])
def test_a_looser_target_costs_fewer_calls(batch: bool) -> None:
    """The poller spends what the target needs, not more: at 12 s it makes fewer calls
    than at 3 s, and the 3 s target is met where the default sweep (6 s) would not be."""
    things, rate = (300, 50.0) if batch else (100, 200.0)
    tight_lags, tight = _rollout(things=things, latency=3.0, batch=batch, rate=rate, seed=7)
    loose_lags, loose = _rollout(things=things, latency=12.0, batch=batch, rate=rate, seed=7)
    assert max(tight_lags) <= 3.0 + SLACK
    assert max(loose_lags) <= 12.0 + SLACK
    assert loose < tight * 0.6, (loose, tight)
    if batch:
        default_lags, _ = _rollout(things=300, latency=None, batch=True, rate=50.0, seed=7)
        assert max(default_lags) > 3.0 + SLACK


def _unmet(events: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in events if e["event"] == "waiters.latency_unmet"]


def test_a_sweep_slower_than_the_target_is_reported_once() -> None:
    """2,000 executions to list at 1 call/s take about 20 pages, 20 s: a 2 s target
    cannot be met. The poller says so once, with the listing's time, and goes on
    sweeping back to back; every execution still ends truthfully."""
    with capture_logs() as events:
        lags, _ = _rollout(things=2000, latency=2.0, batch=True, rate=1.0, seed=3)
    assert len(lags) == 2000
    unmet = _unmet(events)
    assert len(unmet) == 1, unmet
    assert unmet[0]["operation"] == "ListJobExecutionsForJob"
    assert unmet[0]["latency"] == 2.0
    assert unmet[0]["seconds"] >= 2.0
    assert "listing" in unmet[0]["reason"]


@pytest.mark.parametrize(
    "running",
    [(0.0, 0.0), (0.5, 3.0), (2.0, 8.0)],
    ids=["ended-before-the-first-listing", "ending-during-it", "ending-during-the-next"],
)
def test_a_slow_listing_is_reported_whichever_listing_it_is(running: tuple[float, float]) -> None:
    """600 executions to list at 1 call/s take 6 pages, about 6 s, against a 1 s target.
    However the rollout goes, the first listing (that may see every ending), or the
    sweep that sees the last one and ends every wait, is reported as it runs: once,
    never left unsaid because no sweep came after it."""
    lifecycle = Lifecycle(pending=(0.0, 0.0), running=running, mix={"SUCCEEDED": 1.0})

    async def main() -> int:
        fleet = Fleet(seed=11, clock=anyio.current_time)
        ids = fleet.add_iot_job("job", things=600, lifecycle=lifecycle)
        await anyio.sleep(0.01 if running == (0.0, 0.0) else 0.0)
        async with (
            fleet.async_client("iot") as client,
            Poller(
                budgets=BudgetRegistry(BudgetConfig(initial_rate=1.0, max_rate=1.0)),
                latency=1.0,
                timeout=3600,
            ) as poller,
        ):
            result = await poller.wait_all([Execution(JOB, i, client) for i in ids])
        return sum(1 for o in result.outcomes if o.kind == "succeeded")

    with capture_logs() as events:
        succeeded = MockClock().run(main)
    assert succeeded == 600
    unmet = _unmet(events)
    assert len(unmet) == 1, unmet
    assert unmet[0]["operation"] == "ListJobExecutionsForJob"
    assert unmet[0]["seconds"] >= 1.0


def test_describe_calls_the_budget_cannot_afford_are_reported_once() -> None:
    """100 executions described at least every 2 s need 50 calls/s; the budget allows 2.
    The poller says so once per episode, naming the rate and the queue."""
    with capture_logs() as events:
        lags, _ = _rollout(things=100, latency=2.0, batch=False, rate=2.0, seed=5)
    assert len(lags) == 100
    unmet = _unmet(events)
    assert len(unmet) == 1, unmet  # an episode ends after a whole target's time on time
    assert unmet[0]["operation"] == "DescribeJobExecution"
    assert unmet[0]["rate"] <= 2.0
    assert unmet[0]["seconds"] > 2.0


def test_a_target_that_is_met_says_nothing() -> None:
    with capture_logs() as events:
        _rollout(things=200, latency=5.0, batch=True, rate=50.0, seed=9)
        _rollout(things=50, latency=5.0, batch=False, rate=50.0, seed=9)
    assert _unmet(events) == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"latency": 5.0, "sweep_interval": 3.0}, "sweep_interval"),
        ({"latency": 0}, "latency"),
        ({"latency": -1.0}, "latency"),
        ({"latency": 0.0005}, "latency"),
        ({"latency": float("inf")}, "latency"),
        ({"latency": "5"}, "latency"),
        ({"latency": 3600.5}, "latency"),
        ({"latency": 1e308}, "latency"),
    ],
)
def test_a_latency_that_cannot_be_a_target_names_the_field(
    options: dict[str, Any], field: str
) -> None:
    for make in (PollerOptions, Poller):
        with pytest.raises(InvalidOption) as caught:
            make(**options)
        assert field in str(caught.value)


def test_a_latency_may_be_a_timedelta() -> None:
    options = PollerOptions(latency=timedelta(seconds=4))
    assert options.latency_target == 4.0
    assert options.sweep_every == 4.0
    assert PollerOptions().sweep_every == 6.0
    assert PollerOptions(sweep_interval=2).sweep_every == 2.0
