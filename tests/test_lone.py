"""Lone waits in one event loop share one poller: the calls and work of one batch.

Every test runs on asyncio and trio, on the mock clock (see conftest).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import waiters
from tests.scripted import ScriptedClient, status_response
from tests.test_work import _Counter, _counting
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    ExecutionFailed,
    InvalidOption,
    OutcomeKind,
    Poller,
    default_registry,
    execution,
    wait_for,
)
from waiters._lone import LONE_CONCURRENCY
from waiters._scheduler import Deadlines
from waiters.testing import run_virtual

MACHINE = default_registry().get("iot-job-execution")
FREE = BudgetConfig(initial_rate=1e9, max_rate=1e9)


def _things(count: int) -> list[dict[str, Any]]:
    return [{"jobId": "job-1", "thingName": f"thing-{i}"} for i in range(count)]


class _Things:
    """An IoT client on which every thing answers IN_PROGRESS *running* times, then as told.

    Each call takes *latency* seconds; the most calls in flight at once are kept.
    """

    def __init__(
        self, running: int = 2, latency: float = 0.0, ends: Mapping[str, str] | None = None
    ) -> None:
        self.meta = SimpleNamespace(
            service_model=SimpleNamespace(service_name="iot"), region_name="us-east-1"
        )
        self.running = running
        self.latency = latency
        self.ends = dict(ends or {})
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.most_in_flight = 0

    async def describe_job_execution(self, **params: Any) -> Mapping[str, Any]:
        thing = params["thingName"]
        self.calls[thing] = polls = self.calls.get(thing, 0) + 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        state = "IN_PROGRESS" if polls <= self.running else self.ends.get(thing, "SUCCEEDED")
        return status_response(MACHINE, state)


def _living_tasks() -> int:
    """Tasks alive in this event loop, the caller's included."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # not asyncio: trio counts its own
        import trio

        return trio.lowlevel.current_statistics().tasks_living


def _count_pollers(monkeypatch: pytest.MonkeyPatch) -> list[Poller]:
    """Every poller started from here on."""
    started: list[Poller] = []
    enter = Poller.__aenter__

    async def counted(self: Poller) -> Poller:
        started.append(self)
        return await enter(self)

    monkeypatch.setattr(Poller, "__aenter__", counted)
    return started


@pytest.mark.anyio
async def test_lone_waits_run_on_one_poller_with_its_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30 concurrent lone waits on one client start one poller, which keeps at most its
    concurrency (10) of calls in flight on the client: the calls of one batch."""
    started = _count_pollers(monkeypatch)
    client = _Things(running=2, latency=5.0)
    budgets = BudgetRegistry(FREE)
    outcomes: list[Any] = []

    async def wait(params: dict[str, Any]) -> None:
        outcomes.append(await wait_for(client, MACHINE.method, **params, budgets=budgets))

    async with anyio.create_task_group() as tasks:
        for params in _things(30):
            tasks.start_soon(wait, params)
    assert [o.kind for o in outcomes] == [OutcomeKind.SUCCEEDED] * 30
    assert len(started) == 1
    assert client.most_in_flight == LONE_CONCURRENCY
    assert client.calls == {f"thing-{i}": 3 for i in range(30)}


@pytest.mark.anyio
async def test_lone_waits_on_one_execution_share_its_calls() -> None:
    """Two lone waits on one execution make the calls of one: each answer serves both."""
    running = status_response(MACHINE, "IN_PROGRESS")
    client = ScriptedClient(
        "iot", MACHINE.method, [running, running, status_response(MACHINE, "SUCCEEDED")]
    )
    budgets = BudgetRegistry(FREE)
    outcomes: list[Any] = []

    async def wait() -> None:
        outcomes.append(await wait_for(client, MACHINE.method, **_things(1)[0], budgets=budgets))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(wait)
        tasks.start_soon(wait)
    assert [o.kind for o in outcomes] == [OutcomeKind.SUCCEEDED] * 2
    assert len(client.calls) == 3


@pytest.mark.anyio
async def test_cancelling_one_lone_wait_leaves_the_others_running() -> None:
    """A lone wait cancelled by its caller stops its own polls; the others end as their
    answers say, on the same poller."""
    client = _Things(running=20)
    budgets = BudgetRegistry(FREE)
    outcomes: dict[str, Any] = {}
    cancelled = anyio.CancelScope()

    async def wait(params: dict[str, Any], scope: anyio.CancelScope | None) -> None:
        with scope or anyio.CancelScope():
            outcomes[params["thingName"]] = await wait_for(
                client, MACHINE.method, **params, budgets=budgets, timeout=None
            )

    async with anyio.create_task_group() as tasks:
        for params in _things(3):
            tasks.start_soon(wait, params, cancelled if params["thingName"] == "thing-1" else None)
        await anyio.sleep(30)
        cancelled.cancel()
        polls_when_cancelled = client.calls["thing-1"]
    assert sorted(outcomes) == ["thing-0", "thing-2"]
    assert all(o.kind is OutcomeKind.SUCCEEDED and o.attempts == 21 for o in outcomes.values())
    assert 1 <= client.calls["thing-1"] == polls_when_cancelled < 21


@pytest.mark.anyio
async def test_nothing_outlives_the_last_lone_wait() -> None:
    """When the last lone wait returns, its poller is closed: no task of it is left, and
    the clients it opened from the session are closed; the next wait starts another."""
    client = _Things(running=1)
    opened: list[Any] = []

    class Opened:
        closed = False

        async def __aenter__(self) -> _Things:
            return client

        async def __aexit__(self, *exc: object) -> None:
            self.closed = True

    def open_one(service: str, **options: Any) -> Opened:
        assert service == "iot"
        made = Opened()
        opened.append(made)
        return made

    session = SimpleNamespace(client=open_one)
    budgets = BudgetRegistry(FREE)
    before = _living_tasks()
    for batch in (_things(5), _things(8)[5:]):
        async with anyio.create_task_group() as tasks:
            for params in batch:
                unbound = execution("iot-job-execution", **params)
                tasks.start_soon(partial_wait(unbound, session=session, budgets=budgets))
        assert _living_tasks() == before
        assert opened[-1].closed
    # One client for each group of waits: the second group started a poller of its own.
    assert len(opened) == 2
    assert sum(client.calls.values()) == 2 * 8


def partial_wait(target: Any, **options: Any) -> Any:
    """A task function that waits on *target* and checks it succeeded."""

    async def wait() -> None:
        outcome = await wait_for(target, **options)
        assert outcome.kind is OutcomeKind.SUCCEEDED

    return wait


@pytest.mark.anyio
async def test_each_lone_wait_raises_its_own_outcome() -> None:
    """On one poller, a failed execution raises in its own caller only."""
    client = _Things(running=1, ends={"thing-1": "FAILED"})
    budgets = BudgetRegistry(FREE)
    results: dict[str, Any] = {}

    async def wait(params: dict[str, Any]) -> None:
        try:
            results[params["thingName"]] = await wait_for(
                client, MACHINE.method, **params, budgets=budgets
            )
        except ExecutionFailed as error:
            results[params["thingName"]] = error

    async with anyio.create_task_group() as tasks:
        for params in _things(3):
            tasks.start_soon(wait, params)
    assert isinstance(results.pop("thing-1"), ExecutionFailed)
    assert [o.kind for o in results.values()] == [OutcomeKind.SUCCEEDED] * 2


@pytest.mark.anyio
async def test_lone_waits_with_other_poller_options_run_on_other_pollers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Waits given other budgets (or any other poller option) do not share a poller: each
    registry paces only its own waits' calls. A bad option fails its caller alone."""
    started = _count_pollers(monkeypatch)
    client = _Things(running=1)
    first, second = BudgetRegistry(FREE), BudgetRegistry(FREE)
    refused: list[BaseException] = []

    async def wait(params: dict[str, Any], budgets: BudgetRegistry) -> None:
        await wait_for(client, MACHINE.method, **params, budgets=budgets)

    async def refuse() -> None:
        with pytest.raises(InvalidOption, match="call_timeout") as caught:
            await wait_for(client, MACHINE.method, **_things(9)[8], call_timeout=-1)
        refused.append(caught.value)

    async with anyio.create_task_group() as tasks:
        for i, params in enumerate(_things(6)):
            tasks.start_soon(wait, params, first if i % 2 else second)
        tasks.start_soon(refuse)
    assert len(started) == 2
    assert [sum(s.calls for s in b.stats()) for b in (first, second)] == [6, 6]
    assert len(refused) == 1
    assert "thing-8" not in client.calls


@pytest.mark.anyio
async def test_a_shared_poller_that_fails_fails_every_wait_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should the shared poller itself fail, each wait on it raises that error, as a
    poller of its own would have; nothing of it is left, and the next wait starts anew."""
    client = _Things(running=100)
    budgets = BudgetRegistry(FREE)
    run = Deadlines.run

    async def broken(self: Deadlines) -> None:
        await anyio.sleep(10)
        raise LookupError("the watchdog broke")

    monkeypatch.setattr(Deadlines, "run", broken)
    errors: list[BaseException] = []

    async def wait(params: dict[str, Any]) -> None:
        try:
            await wait_for(client, MACHINE.method, **params, budgets=budgets)
        except LookupError as error:
            errors.append(error)

    before = _living_tasks()
    async with anyio.create_task_group() as tasks:
        for params in _things(3):
            tasks.start_soon(wait, params)
    assert [str(e) for e in errors] == ["the watchdog broke"] * 3
    assert _living_tasks() == before
    monkeypatch.setattr(Deadlines, "run", run)
    client.running = 0
    outcome = await wait_for(client, MACHINE.method, **_things(1)[0], budgets=budgets)
    assert outcome.kind is OutcomeKind.SUCCEEDED


def _engine_lines(count: int, *, lone: bool) -> tuple[float, float]:
    """Lines run and coroutine steps in the engine per call, for *count* waits on one
    0.5 calls/s budget: as lone waits, or as one batch. Each execution answers six times,
    as in ``benchmarks.core lone``."""

    async def main() -> tuple[float, float]:
        client = _Things(running=5)
        executions = [waiters.Execution(MACHINE, params, client) for params in _things(count)]
        budgets = BudgetRegistry(BudgetConfig(initial_rate=0.5, max_rate=0.5, min_rate=0.5))
        counter = _Counter(
            "_scheduler.py",
            "_budget.py",
            "_attempt.py",
            "_poller.py",
            "_batch.py",
            "_tracker.py",
            "_wait.py",
            "_lone.py",
        )
        rng = random.Random(1)
        with _counting(counter):
            if lone:
                outcomes = await asyncio.gather(
                    *(wait_for(e, budgets=budgets, timeout=None, rng=rng) for e in executions)
                )
            else:
                async with Poller(batch=False, budgets=budgets, timeout=None, rng=rng) as poller:
                    outcomes = list((await poller.wait_all(executions)).outcomes)
        assert all(o.ok for o in outcomes)
        calls = sum(client.calls.values())
        assert calls == 6 * count
        return counter.lines / calls, counter.steps / calls

    return run_virtual(main)


def test_a_lone_wait_costs_per_call_what_one_batch_costs() -> None:
    """200 lone waits on one budget run no more engine code per call than the same
    executions in one batch, within 20% (issue 17: they cost 3-3.5x the CPU per call when
    each wait_for had a poller of its own). Counted, not timed: the same on every run."""
    lone_lines, lone_steps = _engine_lines(200, lone=True)
    batch_lines, batch_steps = _engine_lines(200, lone=False)
    assert lone_lines <= batch_lines * 1.2
    assert lone_steps <= batch_steps * 1.2


def test_lone_waits_share_a_poller_on_uvloop() -> None:
    """On uvloop too (real time, 10 ms polls): 50 lone waits share one poller's
    concurrency, and nothing of it is left when the last returns."""
    pytest.importorskip("uvloop")
    client = _Things(running=2, latency=0.01)
    budgets = BudgetRegistry(FREE)

    async def main() -> tuple[list[Any], int, str]:
        outcomes = await asyncio.gather(
            *(
                wait_for(client, MACHINE.method, **p, budgets=budgets, backoff=Backoff(0.01, 0.02))
                for p in _things(50)
            )
        )
        return outcomes, len(asyncio.all_tasks()), type(asyncio.get_running_loop()).__module__

    outcomes, tasks, loop = anyio.run(main, backend_options={"use_uvloop": True})
    assert loop.startswith("uvloop")
    assert [o.kind for o in outcomes] == [OutcomeKind.SUCCEEDED] * 50
    assert client.most_in_flight == LONE_CONCURRENCY
    assert tasks == 1
