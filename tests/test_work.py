"""The work a call or a sweep costs does not grow with the executions waited on.

Counted, never timed: the lines run and the coroutine steps taken in the
engine's own modules (``sys.settrace``), on the virtual clock, so every
figure is the same on every run. A quiet sweep (nothing changed since the
last) must cost the same for 30 members as for 300, whether they are one
batch or 300 batches; a call made for one of many lone waits queued on one
budget must cost the same for 20 waits as for 200.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import waiters
from tests.test_poller import _executions, _fleet
from waiters import Backoff, BudgetConfig, BudgetRegistry, Poller
from waiters.simulator import Lifecycle
from waiters.testing import run_virtual

_COROUTINE = 0x80  # inspect.CO_COROUTINE


class _Counter:
    """Lines run in the named modules of the package, and coroutine steps there."""

    def __init__(self, *modules: str) -> None:
        root = Path(waiters.__file__).parent
        self._files = {str(root / module) for module in modules}
        self.lines = 0
        self.steps = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        # Called for each frame entered (a coroutine's every resumption too).
        if frame.f_code.co_filename not in self._files:
            return None
        if frame.f_code.co_flags & _COROUTINE:
            self.steps += 1  # a coroutine started or resumed: a task woke here
        return self._line

    def _line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines += 1
        return self._line


@contextmanager
def _counting(counter: _Counter) -> Iterator[_Counter]:
    previous = sys.gettrace()
    sys.settrace(counter)
    try:
        yield counter
    finally:
        sys.settrace(previous)


def _quiet_sweeps(count: int, *, batches: bool) -> tuple[int, list[int]]:
    """Engine work over ten quiet sweeps of *count* members; each batch's calls."""

    async def main() -> tuple[int, list[int]]:
        fleet = _fleet(seed=3)
        # Pending for days: every sweep's DescribeJob says nothing changed.
        ids = fleet.add_iot_job("quiet", things=count, lifecycle=Lifecycle(pending=(1e6, 2e6)))
        executions = _executions(fleet, "iot-job-execution", ids)
        budgets = BudgetRegistry(BudgetConfig.unlimited())
        counter = _Counter("_sweep.py", "_attempt.py", "_poller.py", "_batch.py")
        # A backoff longer than the test: no sweep has to list everyone for the bound.
        async with Poller(
            budgets=budgets, timeout=None, backoff=Backoff(1, 3600), rng=random.Random(1)
        ) as poller:
            if batches:
                submitted = [await poller.submit([e]) for e in executions]
            else:
                submitted = [await poller.submit(executions)]
            await asyncio.sleep(21.0)  # the baseline listing and the first sweeps are done
            with _counting(counter):
                await asyncio.sleep(60.0)  # ten sweeps, each one DescribeJob
            calls = [batch.progress().calls for batch in submitted]
            assert poller.stats.calls == calls[0]
            for batch in submitted:
                batch.abandon("done")
        return counter.lines, calls

    return run_virtual(main)


@pytest.mark.parametrize("batches", [False, True], ids=["one batch", "a batch each"])
def test_a_quiet_sweep_costs_the_same_for_thirty_members_as_for_three_hundred(
    batches: bool,
) -> None:
    """Sweeps drop ended waits and release unseen ones without looking through every
    member, and record each call once, not once per batch it serves (issue 17: 64 ms
    per sweep and 4.9 ms per call at 100,000 executions). Every batch still counts
    every call that served it."""
    small, small_calls = _quiet_sweeps(30, batches=batches)
    large, large_calls = _quiet_sweeps(300, batches=batches)
    assert large == small
    # Every batch counts every call: the baseline's pages and counts, a count per sweep.
    for calls in (small_calls, large_calls):
        assert len(set(calls)) == 1
        assert calls[0] >= 12


class _Canned:
    """A zero-cost IoT client: IN_PROGRESS for an execution's first poll, then SUCCEEDED."""

    meta = type(
        "Meta",
        (),
        {"service_model": type("M", (), {"service_name": "iot"}), "region_name": "us-east-1"},
    )

    def __init__(self) -> None:
        self.calls = 0
        self._polled: set[str] = set()

    async def describe_job_execution(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        thing = params["thingName"]
        status = "SUCCEEDED" if thing in self._polled else "IN_PROGRESS"
        self._polled.add(thing)
        return {"execution": {"status": status, "versionNumber": 1, "executionNumber": 1}}


def _lone_waits(count: int) -> tuple[float, float, int]:
    """Coroutine steps and lines run per call, for *count* lone waits on 0.5 calls/s.

    At that rate each wait's calls are further apart than the call timeout
    (30 s) from 20 waits on: the case where its call watchdog used to wake
    most between them.
    """

    async def main() -> tuple[float, float, int]:
        machine = waiters.default_registry().get("iot-job-execution")
        client = _Canned()
        executions = [
            waiters.Execution(machine, {"jobId": "j", "thingName": f"t{i}"}, client)
            for i in range(count)
        ]
        budgets = BudgetRegistry(BudgetConfig(initial_rate=0.5, max_rate=0.5, min_rate=0.5))
        counter = _Counter("_scheduler.py", "_budget.py", "_attempt.py", "_poller.py")
        with _counting(counter):
            outcomes = await asyncio.gather(
                *(
                    waiters.wait_for(e, budgets=budgets, timeout=None, rng=random.Random(i))
                    for i, e in enumerate(executions)
                )
            )
        assert all(o.ok for o in outcomes)
        slots = sum(s.calls for s in budgets.stats())
        assert slots == client.calls == 2 * count
        return counter.steps / slots, counter.lines / slots, slots

    return run_virtual(main)


def test_lone_waits_on_one_budget_cost_the_same_per_call_for_twenty_as_for_two_hundred() -> None:
    """A lone wait queued for a budget slot wakes once for it, and nothing else of
    it wakes meanwhile (its call watchdog sleeps while no call is in flight): the
    wake-ups and work per call do not grow with the waits queued (issue 17: at
    1,000 lone waits on 10 calls/s, 72 budget checks and 1,140 us per call)."""
    small_steps, small_lines, _ = _lone_waits(20)
    large_steps, large_lines, _ = _lone_waits(200)
    assert large_steps <= small_steps * 1.05
    assert large_lines <= small_lines * 1.05


class _Stamped(_Canned):
    """The canned client, noting the clock time of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def describe_job_execution(self, **params: Any) -> dict[str, Any]:
        self.times.append(asyncio.get_running_loop().time())
        return await super().describe_job_execution(**params)


def _calls_per_wake_up(count: int, config: BudgetConfig) -> float:
    """Describe calls per distinct instant, for *count* executions in one batch."""

    async def main() -> float:
        machine = waiters.default_registry().get("iot-job-execution")
        client = _Stamped()
        executions = [
            waiters.Execution(machine, {"jobId": "j", "thingName": f"t{i}"}, client)
            for i in range(count)
        ]
        async with Poller(
            budgets=BudgetRegistry(config), batch=False, timeout=None, rng=random.Random(2)
        ) as poller:
            result = await poller.wait_all(executions)
        assert result.counts[waiters.OutcomeKind.SUCCEEDED] == count
        assert len(client.times) == 2 * count
        return len(client.times) / len(set(client.times))

    return run_virtual(main)


# At 200 calls/s a group is twenty slots, but ten calls in flight per client at most
# (the default concurrency) take them.
@pytest.mark.parametrize(("rate", "group"), [(50.0, 5), (200.0, 10)])
def test_calls_queued_on_a_budget_share_wake_ups(rate: float, group: int) -> None:
    """Issue 17: each Describe call woke the process on its own (a slot every 1/rate
    seconds), and a wake-up costs about what the call does. Calls queued on a budget
    now take its slots in groups of a tenth of a second's worth (five per wake-up at
    50 calls/s)."""
    config = BudgetConfig(initial_rate=rate, max_rate=rate)
    assert _calls_per_wake_up(1000, config) >= 0.8 * group
