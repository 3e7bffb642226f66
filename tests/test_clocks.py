"""Waits on different clocks share one budget on one time scale.

A budget paces calls in real time, whatever scale a wait's clock reads
(``time.time()``, the loop's clock, an offset one). Reported: ten lone waits
given a wall clock, sharing the event loop's budgets with ten on the default
clock, starved all twenty (2 calls in 5 s where 65 were due): the budget
compared times read on two scales.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_budget import _most_in_any_window
from waiters import Backoff, BudgetConfig, BudgetRegistry, Execution, default_registry, wait_for
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")


class _Offset:
    """A valid clock whose scale is the loop's, shifted by *offset* seconds."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return anyio.current_time() + self.offset

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep_until(deadline - self.offset)


class _Running:
    """An IoT client whose executions run for ever; it notes each call's loop time."""

    meta = type(
        "Meta",
        (),
        {"service_model": type("M", (), {"service_name": "iot"}), "region_name": "us-east-1"},
    )

    def __init__(self) -> None:
        self.times: list[float] = []

    async def describe_job_execution(self, **params: Any) -> dict[str, Any]:
        self.times.append(anyio.current_time())
        return {"execution": {"status": "IN_PROGRESS", "versionNumber": 1, "executionNumber": 1}}


@settings(max_examples=20, deadline=None)
@given(offset=st.one_of(st.just(1.8e9), st.just(-1000.0), st.floats(-1e9, 1e9)))
def test_waits_on_shifted_clocks_share_one_budget_without_starving(offset: float) -> None:
    """Ten waits on the loop's clock and ten on a clock shifted by *offset* share a
    10 calls/s budget for 20 s: together they make about the budget's 200 calls, each
    half its share, and no second holds more than 10."""
    client = _Running()
    budgets = BudgetRegistry(BudgetConfig(initial_rate=10, max_rate=10, min_rate=10))
    attempts: dict[str, int] = {"loop": 0, "shifted": 0}

    async def one(name: str, thing: int, **options: Any) -> None:
        execution = Execution(JOB, {"jobId": "j", "thingName": f"t{thing}"}, client)
        outcome = await wait_for(
            execution,
            timeout=20,
            raise_on_failure=False,
            backoff=Backoff(0.05, 0.1),
            budgets=budgets,
            **options,
        )
        attempts[name] += outcome.attempts

    async def main() -> None:
        # One clock object: the shifted waits share a poller, as the others do, so
        # each half is one caller in the budget's line.
        shifted = _Offset(offset)
        async with anyio.create_task_group() as tasks:
            for thing in range(10):
                tasks.start_soon(one, "loop", thing)
                tasks.start_soon(partial(one, "shifted", 10 + thing, clock=shifted))

    MockClock().run(main)
    assert 180 <= len(client.times) <= 202, len(client.times)
    assert attempts["loop"] >= 60 and attempts["shifted"] >= 60, attempts
    assert _most_in_any_window(client.times) <= 10
