"""A poller lets go of waits that ended: their trackers and answers do not outlive them.

A poller serves a process for hours. Whatever it indexes a wait by (its
deadline, the execution it shares calls on, the sweeps of its parent) must
drop the wait once its outcome is in and its caller has let go of it, however
far off the wait's deadline is, or a service that keeps one poller open holds
every wait it ever made, each with its last answer.

Every test runs on asyncio and trio, on the mock clock (see conftest).
"""

from __future__ import annotations

import gc

import anyio
import pytest

from tests.test_lone import MACHINE, _Things
from waiters import BudgetConfig, BudgetRegistry, Execution, OutcomeKind, Poller
from waiters._tracker import Tracker
from waiters.simulator import Fleet, Lifecycle

pytestmark = pytest.mark.anyio

FREE = BudgetConfig(initial_rate=1e9, max_rate=1e9)


def _living_trackers() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, Tracker))


def _executions(client: _Things, round_: int, count: int) -> list[Execution]:
    return [
        Execution(MACHINE, {"jobId": "job-1", "thingName": f"thing-{round_}-{i}"}, client)
        for i in range(count)
    ]


@pytest.mark.parametrize("timeout", [3600.0, 86_400.0])
async def test_batches_that_ended_are_let_go_whatever_their_deadline(timeout: float) -> None:
    client = _Things(running=1)
    count, rounds = 200, 6
    async with Poller(timeout=timeout, batch=False, budgets=BudgetRegistry(FREE)) as poller:
        before = _living_trackers()
        for round_ in range(rounds):
            result = await poller.wait_all(_executions(client, round_, count))
            assert result.counts == {OutcomeKind.SUCCEEDED: count}
        del result
        # At most the last batch: a worker may still hold the wait it polled last.
        assert _living_trackers() - before <= count


async def test_lone_waits_on_one_poller_are_let_go_as_each_ends() -> None:
    client = _Things(running=1)
    async with Poller(timeout=3600, batch=False, budgets=BudgetRegistry(FREE)) as poller:
        before = _living_trackers()
        for i, execution in enumerate(_executions(client, 0, 500)):
            outcome = await poller.wait(execution)
            assert outcome.kind is OutcomeKind.SUCCEEDED, i
        del outcome
        # Each wait was a batch of one: what a worker still holds is a handful.
        assert _living_trackers() - before <= 10


async def test_waits_sharing_an_execution_are_let_go_once_ended() -> None:
    client = _Things(running=2)
    async with Poller(timeout=3600, batch=False, budgets=BudgetRegistry(FREE)) as poller:
        before = _living_trackers()
        for round_ in range(5):
            # Two batches on the same executions share their calls, then both end.
            first = await poller.submit(_executions(client, round_, 100))
            second = await poller.submit(_executions(client, round_, 100))
            assert (await first.wait()).counts == {OutcomeKind.SUCCEEDED: 100}
            assert (await second.wait()).counts == {OutcomeKind.SUCCEEDED: 100}
            del first, second
        assert _living_trackers() - before <= 200


@pytest.mark.parametrize("batch", [True, False])
async def test_a_poller_with_nothing_to_wait_on_makes_no_call(batch: bool) -> None:
    # The sweeps of a parent end with its last member: members that ended while a
    # sweep was under way were once told to a list the sweep had already taken, so
    # they were never dropped and the poller listed the job for as long as it ran.
    fleet = Fleet(clock=anyio.current_time, seed=3)
    ids = fleet.add_iot_job(
        "j", things=30, lifecycle=Lifecycle(running=(10, 100), mix={"SUCCEEDED": 1.0})
    )
    async with fleet.async_client("iot") as iot, Poller(batch=batch) as poller:
        executions = [Execution(MACHINE, params, iot) for params in ids]
        result = await poller.wait_all(executions, timeout=1000)
        assert result.counts == {OutcomeKind.SUCCEEDED: 30}
        served = {operation: stats["served"] for operation, stats in fleet.stats().items()}
        await anyio.sleep(2000)
        assert {op: stats["served"] for op, stats in fleet.stats().items()} == served


async def test_waits_that_shared_calls_are_let_go_once_later_calls_are_not_shared() -> None:
    # A worker kept the list of waits its last shared call served until its next
    # shared call, however many unshared calls came between.
    client = _Things(running=2)
    async with Poller(timeout=3600, batch=False, budgets=BudgetRegistry(FREE)) as poller:
        before = _living_trackers()
        first = await poller.submit(_executions(client, 0, 40))
        second = await poller.submit(_executions(client, 0, 40))
        await first.wait()
        await second.wait()
        del first, second
        for round_ in range(1, 4):
            await poller.wait_all(_executions(client, round_, 100))
        # The last batch, which a worker may still hold; none of the shared ones.
        assert _living_trackers() - before <= 100
