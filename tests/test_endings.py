"""How a Transfer execution ended, once the service no longer reports it: from the
definition, from its execution log (CloudWatch Logs on the simulator), or, when
neither can say, vanished with the reason why."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    OutcomeKind,
    Poller,
    default_registry,
)
from waiters.simulator import Fleet, Lifecycle
from waiters.testing import MockClock

TRANSFER = default_registry().get("transfer-execution")
QUICK = Backoff(min_delay=1, max_delay=5)
#: Every run ends in EXCEPTION or COMPLETED after some time in progress.
MIX = {"COMPLETED": 0.5, "EXCEPTION": 0.5}


def _wait(count: int, *, batch: bool = False, logs: bool = True, **fleet_options: Any) -> Any:
    async def main() -> tuple[Fleet, Any]:
        fleet = Fleet(seed=31, clock=anyio.current_time)
        denied = fleet_options.pop("denied", False)
        fleet.logs_denied = denied
        ids = fleet.add_transfer_workflow(
            "w-0123456789abcdefa",
            count,
            lifecycle=Lifecycle(pending=(0, 0), running=(20, 60), mix=MIX),
            **fleet_options,
        )
        async with fleet.async_client("transfer") as transfer, fleet.async_client("logs") as log:
            executions = [Execution(TRANSFER, i, transfer) for i in ids]
            async with Poller(
                budgets=BudgetRegistry(BudgetConfig.unlimited()),
                backoff=QUICK,
                batch=batch,
                batch_min=10,
                clients={"logs": log} if logs else None,
                timeout=1800,
            ) as poller:
                result = await poller.wait_all(executions)
        return fleet, result

    return MockClock().run(main)


def _final(fleet: Fleet, outcome: Any) -> str:
    states = [s for s, _ in fleet.truth("transfer-execution", **outcome.execution.params)]
    return [s for s in states if s not in (None, "<GONE>")][-1]


@pytest.mark.parametrize("batch", [False, True])
def test_the_log_says_completed_or_exception(batch: bool) -> None:
    """With logging on, every execution ends in its true state: COMPLETED succeeded,
    EXCEPTION failed with the step's error message as the reason."""
    fleet, result = _wait(30, batch=batch)
    kinds = {outcome.kind for outcome in result.outcomes}
    assert kinds == {OutcomeKind.SUCCEEDED, OutcomeKind.FAILED}
    for outcome in result.outcomes:
        assert outcome.state == _final(fleet, outcome), outcome
        if outcome.kind is OutcomeKind.FAILED:
            assert outcome.reason, outcome


def test_an_exception_being_handled_ends_in_exception_without_the_log() -> None:
    """Last seen HANDLING_EXCEPTION: EXCEPTION is the only ending, no log needed."""
    fleet, result = _wait(30, logs=False)
    handled = [o for o in result.outcomes if o.history and o.history[-1].state == "EXCEPTION"]
    assert handled
    for outcome in handled:
        assert [t.state for t in outcome.history][-2:] == ["HANDLING_EXCEPTION", "EXCEPTION"]
        assert outcome.kind is OutcomeKind.FAILED and _final(fleet, outcome) == "EXCEPTION"


def test_logging_off_is_vanished_and_says_so() -> None:
    """No logging on the server: vanished, with the last state and the reason."""
    _, result = _wait(10, logging=False)
    vanished = [o for o in result.outcomes if o.kind is OutcomeKind.VANISHED]
    assert vanished
    for outcome in vanished:
        assert outcome.reason is not None and "last seen IN_PROGRESS" in outcome.reason
        assert "does not exist" in outcome.reason or "no log group" in outcome.reason


def test_a_denied_log_is_vanished_and_says_so() -> None:
    """Reading the log refused: vanished, naming the refusal."""
    _, result = _wait(10, denied=True)
    vanished = [o for o in result.outcomes if o.kind is OutcomeKind.VANISHED]
    assert vanished
    assert all("AccessDenied" in (o.reason or "") for o in vanished)


def test_a_lagging_log_is_waited_for_within_the_grace_window() -> None:
    """Entries reach the log 30 s late: still resolved, never vanished (grace is 60 s)."""
    fleet, result = _wait(10, log_lag=30.0)
    assert all(o.kind is not OutcomeKind.VANISHED for o in result.outcomes)
    for outcome in result.outcomes:
        assert outcome.state == _final(fleet, outcome)


def test_a_log_later_than_the_grace_window_is_vanished() -> None:
    """Entries 120 s late, past the 60 s grace: vanished, saying the log had no ending."""
    _, result = _wait(10, log_lag=120.0)
    late = [o for o in result.outcomes if o.kind is OutcomeKind.VANISHED]
    assert late
    assert all("had no ending" in (o.reason or "") for o in late)


def test_the_deadline_while_a_log_lags_is_a_timeout_not_vanished() -> None:
    """The wait's deadline passes while the log still lags: wait_timeout, saying the
    ending was not known yet; never vanished (no source failed)."""

    async def main() -> Any:
        fleet = Fleet(seed=32, clock=anyio.current_time)
        ids = fleet.add_transfer_workflow(
            "w-0123456789abcdefa",
            30,
            lifecycle=Lifecycle(pending=(0, 0), running=(5, 10), mix=MIX),
            log_lag=100.0,
        )
        async with fleet.async_client("transfer") as transfer, fleet.async_client("logs") as log:
            executions = [Execution(TRANSFER, i, transfer) for i in ids]
            async with Poller(
                budgets=BudgetRegistry(BudgetConfig.unlimited()),
                backoff=QUICK,
                batch_min=10,
                clients={"logs": log},
                timeout=30,
            ) as poller:
                return await poller.wait_all(executions)

    result = MockClock().run(main)
    kinds = {outcome.kind for outcome in result.outcomes}
    assert OutcomeKind.VANISHED not in kinds
    gone = [o for o in result.outcomes if o.kind is OutcomeKind.WAIT_TIMEOUT and o.history]
    assert any("not known by the deadline" in (o.reason or "") for o in gone)
