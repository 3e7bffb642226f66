"""What goes wrong in one batch stays there: callbacks, the poller's own work, closing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest

from tests.test_poller import _executions
from waiters import BudgetRegistry, CallbackError, OutcomeKind, Poller, execution
from waiters.simulator import Fleet, Lifecycle
from waiters.testing import MockClock

RAISED = [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(3), BaseException("x")]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("raised", RAISED, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("callback", ["on_outcome", "on_transition"])
def test_a_raising_callback_stays_with_its_batch(
    backend: str, raised: BaseException, callback: str
) -> None:
    """Whatever a callback raises reaches its own batch's caller as a CallbackError; another
    batch on the poller ends normally and the caller is left in no cancelled scope."""

    async def main() -> dict[str, Any]:
        fleet = Fleet(clock=anyio.current_time, seed=1)
        lifecycle = Lifecycle(running=(10, 300))
        mine = _executions(fleet, "sitewise-execution", fleet.add("sitewise-execution", 5))
        other = _executions(
            fleet, "snow-execution", fleet.add("snow-execution", 5, lifecycle=lifecycle)
        )

        def boom(*_: Any) -> None:
            raise raised

        seen: dict[str, Any] = {}
        async with Poller(budgets=BudgetRegistry()) as poller:
            callbacks: dict[str, Any] = {callback: boom}
            raising = await poller.submit(mine, **callbacks)
            calm = await poller.submit(other)
            with pytest.raises(CallbackError) as caught:
                await raising.wait()
            seen["cause"] = caught.value.__cause__
            await anyio.sleep(1)  # not cancelled
            seen["other"] = await calm.wait()
        return seen

    seen = MockClock().run(main, backend=backend)
    assert seen["cause"] is raised
    assert len(seen["other"].outcomes) == 5
    assert OutcomeKind.ABANDONED not in seen["other"].counts


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_error_in_the_pollers_own_work_is_no_exception_group(backend: str) -> None:
    """A Transfer execution ends while the logs client cannot be opened: the wait still
    ends (vanished, not a crash of the poller's tasks), and an InvalidExecution raised in
    the body afterwards is caught as itself, not inside an ExceptionGroup."""
    from waiters import InvalidExecution

    async def main() -> Any:
        fleet = Fleet(clock=anyio.current_time, seed=1)
        ids = fleet.add("transfer-execution", 1, lifecycle=Lifecycle(running=(10, 20)))

        class Session:
            def client(self, service: str, **_: Any) -> Any:
                if service == "logs":
                    raise InvalidExecution("no logs client here")
                return fleet.async_client(service)

        outcomes: list[Any] = []

        async def body() -> None:
            async with Poller(session=Session(), budgets=BudgetRegistry()) as poller:
                outcomes.append(await poller.wait(execution("transfer-execution", **ids[0])))
                await anyio.sleep(100)
                raise InvalidExecution("raised in the body")

        with pytest.raises(InvalidExecution, match="raised in the body"):
            await body()
        return outcomes[0]

    outcome = MockClock().run(main, backend=backend)
    assert outcome.kind in (OutcomeKind.VANISHED, OutcomeKind.SUCCEEDED, OutcomeKind.FAILED)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_closing_while_a_client_opens_leaves_nothing_open(backend: str) -> None:
    """The poller closes while submit opens a client: submit raises a RuntimeError saying
    so (never an AssertionError), the client is closed, and closing twice is harmless."""

    async def main() -> dict[str, Any]:
        fleet = Fleet(clock=anyio.current_time, seed=1)
        ids = fleet.add("snow-execution", 3)
        state: dict[str, Any] = {"opened": 0, "closed": 0}

        class Slow:
            def __init__(self, service: str) -> None:
                self.service = service

            async def __aenter__(self) -> Any:
                await anyio.sleep(5)
                state["opened"] += 1
                return fleet.async_client(self.service)

            async def __aexit__(self, *_: Any) -> None:
                state["closed"] += 1

        class Session:
            def client(self, service: str, **_: Any) -> Any:
                return Slow(service)

        async def submit(poller: Poller) -> None:
            try:
                await poller.submit([execution("snow-execution", **i) for i in ids])
            except RuntimeError as exc:
                state["error"] = exc

        poller = Poller(session=Session(), budgets=BudgetRegistry())
        async with anyio.create_task_group() as tg, poller:
            tg.start_soon(submit, poller)
            await anyio.sleep(1)
        await poller.__aexit__(None, None, None)  # once more: nothing to close
        before = len(asyncio.all_tasks()) if backend == "asyncio" else 0
        await anyio.sleep(10)
        state["left"] = (len(asyncio.all_tasks()) if backend == "asyncio" else 0) - before
        return state

    state = MockClock().run(main, backend=backend)
    assert "closed" in str(state["error"])
    assert state["opened"] == state["closed"] == 1
    assert state["left"] == 0


#: The events a tracker logs while it takes an answer or ends (debug and info).
TRACKER_EVENTS = ["waiters.poll", "waiters.transition", "waiters.finished", "every event"]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("event", TRACKER_EVENTS)
@pytest.mark.parametrize("raised", [RuntimeError, RecursionError, MemoryError])
@pytest.mark.parametrize("batch", [True, False])
def test_a_logger_that_raises_ends_only_the_wait_it_logged(
    backend: str, event: str, raised: type[Exception], batch: bool
) -> None:
    """A logger raising on one execution's event ends that wait alone: the batches'
    counts stay true to their waits, so the other batch ends as the service says and
    nothing leaves ``async with Poller`` (it once left as a KeyError of the counts)."""
    import structlog

    raises = []

    def processor(_: Any, __: str, event_dict: Any) -> Any:
        named = event == "every event" or event_dict.get("event") == event
        if named and "'j'" in repr(event_dict):
            raises.append(event)
            raise raised("the logger broke")
        raise structlog.DropEvent

    async def main() -> tuple[list[OutcomeKind], list[OutcomeKind]]:
        fleet = Fleet(clock=anyio.current_time, seed=3)
        ended = Lifecycle(running=(10, 100), mix={"SUCCEEDED": 1.0})
        logged = fleet.add_iot_job("j", things=1, lifecycle=ended)
        others = fleet.add_iot_job("k", things=5, lifecycle=ended)
        logger = structlog.wrap_logger(
            structlog.PrintLogger(),
            processors=[processor],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        )
        poller = Poller(logger=logger, batch=batch, budgets=BudgetRegistry())
        async with fleet.async_client("iot") as iot, poller:
            first = await poller.submit(
                [execution(iot, "describe_job_execution", **p) for p in logged]
            )
            second = await poller.submit(
                [execution(iot, "describe_job_execution", **p) for p in others]
            )
            mine = [o.kind for o in (await first.wait()).outcomes]
            theirs = [o.kind for o in (await second.wait()).outcomes]
        return mine, theirs

    mine, theirs = MockClock().run(main, backend=backend)
    assert raises  # the logger did break
    assert len(mine) == 1 and mine[0] in (OutcomeKind.ERROR, OutcomeKind.SUCCEEDED)
    assert theirs == [OutcomeKind.SUCCEEDED] * 5
