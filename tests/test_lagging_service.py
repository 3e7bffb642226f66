"""Property: whatever the service's lag, every outcome is the truth and nobody goes unseen.

Random rollouts on the simulator with its quirks (counts that lag or never
move, job retries, hints that lag, pages that omit their lists), in batch and
Describe modes, on virtual time. Each outcome must equal the fleet's ground
truth (the last attempt's ending), and each execution must be observed (by
its own Describe or by a list item naming it) at least once every
``max_delay`` plus one sweep interval while it waits: counts, versions and
hints only ever make a wait cheaper, never blind.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waiters import Backoff, BudgetConfig, BudgetRegistry, Execution, Poller, default_registry
from waiters.simulator import Fleet, Lifecycle, Quirks, Retries
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")
BACKOFF = Backoff(1.0, 30.0)
SWEEP = 8.0


class Observed:
    """An in-process client that notes when each answer named each thing."""

    def __init__(self, inner: Any, clock: Any) -> None:
        self._inner = inner
        self._clock = clock
        self.meta = inner.meta
        self.exceptions = inner.exceptions
        self.seen: dict[str, list[float]] = defaultdict(list)

    async def describe_job_execution(self, **params: Any) -> Any:
        answer = await self._inner.describe_job_execution(**params)
        self.seen[params["thingName"]].append(self._clock())
        return answer

    async def list_job_executions_for_job(self, **params: Any) -> Any:
        answer = await self._inner.list_job_executions_for_job(**params)
        now = self._clock()
        for item in answer.get("executionSummaries") or ():
            self.seen[item["thingArn"].rsplit("/", 1)[-1]].append(now)
        return answer

    async def describe_job(self, **params: Any) -> Any:
        return await self._inner.describe_job(**params)


quirks = st.one_of(
    st.just(Quirks()),
    st.builds(
        Quirks,
        counts_lag=st.sampled_from([0.0, 5.0, 30.0]),
        hint_lag=st.sampled_from([0.0, 20.0]),
        omit_empty_lists=st.booleans(),
        sparse_pages=st.booleans(),
    ),
    st.builds(
        Quirks,
        counts_frozen=st.just(True),
        omit_empty_lists=st.booleans(),
        sparse_pages=st.booleans(),
    ),
)


@settings(
    max_examples=16,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    quirk=quirks,
    things=st.integers(20, 60),
    batch=st.booleans(),
    retried=st.sampled_from([None, {"FAILED": 1}, {"ALL": 2}]),
    running=st.sampled_from([(5.0, 30.0), (20.0, 120.0)]),
    timeout_s=st.sampled_from([None, 40.0]),
    seed=st.integers(0, 10_000),
)
def test_every_outcome_is_the_truth_and_nobody_goes_unseen(
    quirk: Quirks,
    things: int,
    batch: bool,
    retried: dict[str, int] | None,
    running: tuple[float, float],
    timeout_s: float | None,
    seed: int,
) -> None:
    lifecycle = Lifecycle(
        running=running,
        timeout_s=timeout_s,
        mix={"SUCCEEDED": 0.6, "FAILED": 0.3, "CANCELED": 0.1},
    )
    retries = (
        Retries(retried, delay=(1.0, 3.0), lifecycle=lifecycle) if retried is not None else None
    )

    async def main() -> tuple[Any, Observed, Fleet]:
        fleet = Fleet(seed=seed, clock=anyio.current_time, quirks=quirk)
        ids = fleet.add_iot_job("job", things=things, lifecycle=lifecycle, retries=retries)
        async with fleet.async_client("iot") as inner:
            client = Observed(inner, anyio.current_time)
            executions = [Execution(JOB, i, client) for i in ids]
            async with Poller(
                budgets=BudgetRegistry(BudgetConfig(initial_rate=50, max_rate=50)),
                backoff=BACKOFF,
                sweep_interval=SWEEP,
                batch=batch,
                batch_min=10,
                timeout=3600,
            ) as poller:
                result = await poller.wait_all(executions)
        return result, client, fleet

    result, client, fleet = MockClock().run(main)
    # The documented bound, max_delay plus one sweep interval: the time a listing
    # takes is the poller's to plan for (it starts the listing that much sooner).
    bound = float(BACKOFF.max_delay) + SWEEP  # type: ignore[arg-type]
    for outcome in result.outcomes:
        thing = outcome.execution.params["thingName"]
        truth = fleet.truth("iot-job-execution", jobId="job", thingName=thing)
        assert outcome.state == truth[-1][0], (thing, outcome, truth)
        # Observed at least once per bound from the first sighting to the ending.
        times = sorted(t for t in client.seen[thing] if t <= truth[-1][1] + bound)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps, default=0.0) <= bound, (thing, quirk, batch, gaps)
        # And the ending itself was seen within the bound.
        assert outcome.elapsed <= truth[-1][1] + bound + 10.0
