"""Every outcome says what happened and why: endings, rollout rules, callbacks, names."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from tests.scripted import client_error, status_response
from tests.test_scheduler import FleetClient
from waiters import (
    BudgetConfig,
    BudgetRegistry,
    CallbackError,
    Execution,
    FailFast,
    InvalidOption,
    OutcomeKind,
    Poller,
    default_registry,
    wait_all,
)

FREE = BudgetRegistry(BudgetConfig.unlimited())
TRANSFER = default_registry().get("transfer-execution")


def _rollout(script: dict[str, list[Any]]) -> list[Execution]:
    client = FleetClient(script)
    return [Execution(client.machine, {"jobId": "j", "thingName": n}, client) for n in script]


def _job(failing: list[int], total: int = 100) -> dict[str, list[Any]]:
    """*total* things; those in *failing* fail on their first answer, the rest answer
    after 5 s and succeed on the next poll."""
    return {f"thing-{i:03d}": ["fail"] if i in failing else [5.0, "done"] for i in range(total)}


@pytest.mark.anyio
async def test_one_early_failure_does_not_abort_a_rollout_before_the_minimum() -> None:
    """10% of 100 with one early failure: judged only once 20 finished, never tripped."""
    executions = _rollout(_job([0]))
    result = await wait_all(executions, budgets=FREE, batch=False, fail_fast=FailFast(fraction=0.1))
    assert not result.aborted
    assert result.counts == {"succeeded": 99, "failed": 1}


@pytest.mark.anyio
async def test_twenty_failures_abort_a_rollout() -> None:
    """10% of 100 with twenty early failures: tripped once the minimum finished."""
    executions = _rollout(_job(list(range(20))))
    result = await wait_all(executions, budgets=FREE, batch=False, fail_fast=FailFast(fraction=0.1))
    assert result.aborted
    assert result.counts[OutcomeKind.FAILED] >= 20 and result.counts[OutcomeKind.ABANDONED] > 0


@pytest.mark.anyio
async def test_per_state_rules_leave_other_failures_out() -> None:
    """states={"FAILED"}: timed-out devices do not count toward the abort."""
    script: dict[str, list[Any]] = {f"thing-{i:02d}": ["timeout"] for i in range(10)}
    script |= {f"thing-{i:02d}": [5.0, "done"] for i in range(10, 30)}
    executions = _rollout(script)
    rule = FailFast(count=3, states=frozenset({"FAILED", "REJECTED"}))
    result = await wait_all(executions, budgets=FREE, batch=False, fail_fast=rule)
    assert not result.aborted
    assert result.counts == {"failed": 10, "succeeded": 20}


def test_fail_fast_refuses_what_it_cannot_mean() -> None:
    """Strings for kinds become kinds (an unknown one is refused); odd values name the field."""
    assert FailFast(count=1, kinds=frozenset({"failed"})).kinds == {OutcomeKind.FAILED}  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match=r"FailFast\.kinds"):
        FailFast(count=1, kinds=frozenset({"faild"}))  # type: ignore[arg-type]
    with pytest.raises(
        InvalidOption, match=r"FailFast\.count must be a positive integer, got 1\.5"
    ):
        FailFast(count=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match=r"FailFast\.states"):
        FailFast(count=1, states="FAILED")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_callback_that_raises_keeps_the_batch_and_says_which() -> None:
    """on_outcome raising: every outcome still arrives; wait_all raises CallbackError naming
    the callback, carrying the whole result, caused by the callback's own exception."""
    executions = _rollout({f"thing-{i}": [1.0, "done"] for i in range(5)})

    def broken(outcome: Any) -> None:
        raise RuntimeError("dashboard down")

    with pytest.raises(CallbackError, match="on_outcome raised RuntimeError") as info:
        await wait_all(executions, budgets=FREE, on_outcome=broken)
    assert info.value.callback == "on_outcome"
    assert info.value.result.counts == {"succeeded": 5}
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.anyio
async def test_a_callback_error_does_not_touch_another_batch() -> None:
    """One batch's failing callback leaves a batch beside it on the same poller whole."""
    first = _rollout({f"a-{i}": [2.0, "done"] for i in range(3)})
    second = _rollout({f"b-{i}": [2.0, "done"] for i in range(3)})

    def broken(outcome: Any) -> None:
        raise ValueError("boom")

    async with Poller(budgets=FREE) as poller:
        bad = await poller.submit(first, on_outcome=broken)
        good = await poller.submit(second)
        with pytest.raises(CallbackError):
            await bad.wait()
        result = await good.wait()
        await anyio.lowlevel.checkpoint()  # the caller's task is not left cancelled
    assert result.counts == {"succeeded": 3}


@pytest.mark.anyio
async def test_a_bad_fail_fast_or_callback_is_refused_at_submit() -> None:
    """submit(fail_fast="x") and a non-callable callback fail at once, naming the option."""
    executions = _rollout({"thing-0": ["done"]})
    async with Poller(budgets=FREE) as poller:
        with pytest.raises(InvalidOption, match="fail_fast must be a FailFast"):
            await poller.submit(executions, fail_fast="x")  # type: ignore[arg-type]
        with pytest.raises(InvalidOption, match="on_outcome must be callable"):
            await poller.submit(executions, on_outcome=5)  # type: ignore[arg-type]


class TransferClient:
    """describe_execution answers each step in turn, then ResourceNotFoundException."""

    def __init__(self, states: list[str]) -> None:
        from types import SimpleNamespace

        from waiters._machine import service_model

        self.meta = SimpleNamespace(
            service_model=service_model("transfer"), region_name="us-east-1"
        )
        self.states = list(states)

    async def describe_execution(self, **params: Any) -> Any:
        if not self.states:
            raise client_error("ResourceNotFoundException", 400)
        return status_response(TRANSFER, self.states.pop(0))


def _transfer(states: list[str]) -> Execution:
    return Execution(
        TRANSFER,
        {
            "ExecutionId": "0f8e5a1c-1111-4a2b-9c3d-123456789abc",
            "WorkflowId": "w-0123456789abcdefa",
        },
        TransferClient(states),
    )


@pytest.mark.anyio
async def test_an_execution_last_seen_handling_an_exception_ended_in_exception() -> None:
    """HANDLING_EXCEPTION can only end in EXCEPTION: that is the outcome, with a reason."""
    result = await wait_all([_transfer(["IN_PROGRESS", "HANDLING_EXCEPTION"])], budgets=FREE)
    (outcome,) = result.outcomes
    assert outcome.kind is OutcomeKind.FAILED and outcome.state == "EXCEPTION"
    assert outcome.reason is not None and "only way HANDLING_EXCEPTION ends" in outcome.reason


@pytest.mark.anyio
async def test_without_a_log_client_a_gone_execution_vanished_and_says_why() -> None:
    """Last seen IN_PROGRESS, no way to read its log: vanished, with the last state and why."""
    result = await wait_all([_transfer(["IN_PROGRESS"])], budgets=FREE)
    (outcome,) = result.outcomes
    assert outcome.kind is OutcomeKind.VANISHED and outcome.state == "IN_PROGRESS"
    assert outcome.reason is not None
    assert "last seen IN_PROGRESS" in outcome.reason and "logs client" in outcome.reason


def test_outcome_kinds_never_read_as_state_names() -> None:
    """No outcome kind spells a state of any shipped type (IoT's TIMED_OUT is a state)."""
    states = {state.lower() for machine in default_registry() for state in machine.states}
    clashes = {kind.value for kind in OutcomeKind} & states - {"succeeded", "failed"}
    assert clashes == set()
    assert OutcomeKind.WAIT_TIMEOUT.value == "wait_timeout"


@pytest.mark.anyio
async def test_a_fraction_is_judged_when_a_success_reaches_the_minimum() -> None:
    """19 early failures, then a success makes 20 finished at 95% failed: it trips then,
    not when the next failure would come (there is none)."""
    script: dict[str, list[Any]] = {f"thing-{i:03d}": ["fail"] for i in range(19)}
    script["thing-019"] = [30.0, "done"]
    script |= {f"thing-{i:03d}": [25.0, 25.0, 25.0, 25.0, "done"] for i in range(20, 100)}
    executions = _rollout(script)
    result = await wait_all(
        executions, budgets=FREE, batch=False, concurrency=100, fail_fast=FailFast(fraction=0.5)
    )
    assert result.aborted
    assert result.counts[OutcomeKind.FAILED] == 19
    assert result.counts[OutcomeKind.ABANDONED] == 80


def test_an_async_callback_is_refused() -> None:
    """An async callback would never be awaited: refused at submit, naming it."""
    executions = _rollout({"thing-0": ["done"]})

    async def later(outcome: Any) -> None:
        pass

    async def main() -> None:
        async with Poller(budgets=FREE) as poller:
            await poller.submit(executions, on_outcome=later)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="on_outcome must be a plain function"):
        anyio.run(main)


@pytest.mark.anyio
async def test_handling_an_exception_keeps_the_steps_own_reason() -> None:
    """Ending inferred from HANDLING_EXCEPTION: the reason is the failed step's message
    when the last answer carried one."""
    answer = status_response(
        TRANSFER,
        "HANDLING_EXCEPTION",
        Execution={
            "Status": "HANDLING_EXCEPTION",
            "Results": {"Steps": [{"StepType": "CUSTOM", "Error": {"Message": "Lambda said no"}}]},
        },
    )

    class Client(TransferClient):
        async def describe_execution(self, **params: Any) -> Any:
            if self.states:
                self.states.pop(0)
                return answer
            raise client_error("ResourceNotFoundException", 400)

    execution = Execution(TRANSFER, _transfer([]).params, Client(["x"]))
    (outcome,) = (await wait_all([execution], budgets=FREE)).outcomes
    assert outcome.state == "EXCEPTION" and outcome.reason == "Lambda said no"


@pytest.mark.anyio
async def test_results_and_progress_speak_in_enums_and_iterate() -> None:
    """Kinds cross the public boundary as enums; a result iterates over its outcomes."""
    from waiters import Batch, StateKind

    executions = _rollout(_job([3, 7], total=10))
    async with Poller(budgets=FREE, batch=False) as poller:
        batch: Batch = await poller.submit(executions)
        early = batch.progress()
        result = await batch.wait()
        late = batch.progress()
    assert early.kinds == {None: 10}
    assert list(result) == list(result.outcomes) and len(list(result)) == 10
    assert [o.execution for o in result] == executions
    assert result.counts == {OutcomeKind.SUCCEEDED: 8, OutcomeKind.FAILED: 2}
    assert all(type(kind) is OutcomeKind for kind in result.counts)
    assert all(type(kind) is OutcomeKind for kind in late.outcomes)
    assert late.outcomes == result.counts and late.kinds == {}
    # StrEnums: formatted, serialised and compared as their values.
    assert f"{StateKind.FAILED}" == "failed"
    assert json.loads(json.dumps(result.counts)) == {"succeeded": 8, "failed": 2}


@pytest.mark.anyio
async def test_kinds_given_as_their_values_trip_like_members() -> None:
    """FailFast(kinds={"failed"}): the strings are the kinds, so failures count and it trips."""
    executions = _rollout(_job(list(range(20))))
    rule = FailFast(count=3, kinds={"failed"})  # type: ignore[arg-type]
    result = await wait_all(executions, budgets=FREE, batch=False, fail_fast=rule)
    assert result.aborted
    assert result.counts[OutcomeKind.FAILED] >= 3 and result.counts[OutcomeKind.ABANDONED] > 0
