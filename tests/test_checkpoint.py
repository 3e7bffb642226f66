"""Checkpoints: a batch's progress saved, read back and resumed in another poller.

The simulator's in-process clients on a virtual clock (``MockClock``) play
the executions out; each test runs a first poller, takes a checkpoint, closes
it as a killed process would stop, and resumes in a second poller. The wall
clock is injected (``wall_clock=``) so epoch deadlines move with virtual time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Checkpoint,
    Execution,
    InvalidOption,
    Outcome,
    OutcomeKind,
    Poller,
    default_registry,
)
from waiters._checkpoint import (
    REASON_LIMIT,
    STATE_LIMIT,
    SavedOutcome,
    SeenState,
    execution_key,
)
from waiters.simulator import Fleet, Lifecycle
from waiters.testing import MockClock

IOT = default_registry().get("iot-job-execution")
TRANSFER = default_registry().get("transfer-execution")
QUICK = Backoff(min_delay=1, max_delay=5)
#: Epoch seconds at virtual time 0: the injected wall clock moves with the mock clock.
EPOCH = 1_700_000_000.0
FOREVER = [("QUEUED", 0.0), ("IN_PROGRESS", 1.0)]


def wall() -> float:
    return EPOCH + anyio.current_time()


def poller(**options: Any) -> Poller:
    return Poller(
        budgets=BudgetRegistry(BudgetConfig.unlimited()),
        backoff=QUICK,
        wall_clock=wall,
        **options,
    )


def kinds_by_key(outcomes: Any) -> dict[str, OutcomeKind]:
    return {execution_key(o.execution): o.kind for o in outcomes}


# --- the value ------------------------------------------------------------------------------

_text = st.text(max_size=40)
_saved = st.builds(
    SavedOutcome,
    index=st.just(0),
    kind=st.sampled_from([k for k in OutcomeKind if k is not OutcomeKind.ABANDONED]),
    state=st.none() | st.text(max_size=STATE_LIMIT),
    reason=st.none() | st.text(max_size=REASON_LIMIT),
    attempts=st.integers(0, 10**6),
    # Written to the millisecond: values already whole milliseconds come back equal.
    elapsed=st.integers(0, 10**10).map(lambda n: n / 1000),
)
_seen = st.builds(
    SeenState,
    index=st.just(0),
    state=st.text(max_size=STATE_LIMIT),
    attempt=st.none() | st.integers(1, 100).map(float),
    log_group=st.none() | st.text(max_size=60),
)


@st.composite
def checkpoints(draw: st.DrawFn) -> Checkpoint:
    keys = tuple(draw(st.lists(_text, max_size=12)))
    positions = draw(st.permutations(range(len(keys))))
    split = draw(st.integers(0, len(keys)))
    outcomes = tuple(
        SavedOutcome(i, s.kind, s.state, s.reason, s.attempts, s.elapsed)
        for i, s in zip(
            positions[:split], draw(st.lists(_saved, min_size=split, max_size=split)), strict=True
        )
    )
    rest = positions[split:]
    seen = tuple(
        SeenState(i, s.state, s.attempt, s.log_group)
        for i, s in zip(
            rest, draw(st.lists(_seen, min_size=len(rest), max_size=len(rest))), strict=True
        )
    )
    deadline = draw(st.none() | st.floats(0, 1e12, allow_nan=False))
    return Checkpoint(executions=keys, deadline=deadline, outcomes=outcomes, seen=seen)


@given(checkpoints())
def test_a_checkpoint_reads_back_equal(checkpoint: Checkpoint) -> None:
    """to_json then from_json gives the same value, whatever it holds."""
    text = checkpoint.to_json()
    assert text.isascii()
    assert Checkpoint.from_json(text) == checkpoint
    assert Checkpoint.from_json(text.encode()) == checkpoint


def _document(*, drop: str | None = None, **changes: Any) -> str:
    document: dict[str, Any] = {
        "format": "waiters-checkpoint",
        "version": 1,
        "deadline": EPOCH,
        "executions": ["a {}", "b {}"],
        "outcomes": [{"i": 0, "kind": "succeeded", "attempts": 2, "elapsed": 3.5}],
        "seen": [{"i": 1, "state": "IN_PROGRESS"}],
    }
    document.update(changes)
    if drop is not None:
        del document[drop]
    return json.dumps(document)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{not json", "checkpoint: not a JSON document"),
        ('{"format": "something-else"}', "checkpoint.format"),
        ("[1, 2]", "checkpoint.format"),
        (_document(version=2), "checkpoint.version"),
        (_document(executions="a"), "checkpoint.executions"),
        (_document(deadline="tomorrow"), "checkpoint.deadline"),
        (_document(drop="deadline"), "checkpoint.deadline"),
        (_document(outcomes={}), "checkpoint.outcomes"),
        (
            _document(outcomes=[{"i": 0, "kind": "won", "attempts": 1, "elapsed": 1}]),
            "checkpoint.outcomes[0].kind",
        ),
        (
            _document(outcomes=[{"i": 0, "kind": "abandoned", "attempts": 1, "elapsed": 1}]),
            "checkpoint.outcomes.kind",
        ),
        (
            _document(outcomes=[{"i": 7, "kind": "failed", "attempts": 1, "elapsed": 1}]),
            "checkpoint.outcomes.index",
        ),
        (
            _document(outcomes=[{"i": 0, "kind": "failed", "attempts": True, "elapsed": 1}]),
            "checkpoint.outcomes[0].attempts",
        ),
        (
            _document(outcomes=[{"i": 0, "kind": "failed", "attempts": 1, "elapsed": -1}]),
            "checkpoint.outcomes[0].elapsed",
        ),
        (
            _document(outcomes=[{"i": 0, "kind": "failed", "attempts": -3, "elapsed": 1}]),
            "checkpoint.outcomes[0].attempts",
        ),
        (_document(seen=[{"i": 0, "state": "IN_PROGRESS"}]), "checkpoint.seen.index"),
        (_document(seen=[{"i": 1}]), "checkpoint.seen[0].state"),
    ],
)
def test_a_corrupt_or_foreign_document_names_its_field(text: str, field: str) -> None:
    """Whatever is wrong with a document, the error names the field and the value."""
    with pytest.raises(InvalidOption) as caught:
        Checkpoint.from_json(text)
    assert field in str(caught.value)


def test_the_value_itself_refuses_bad_fields() -> None:
    with pytest.raises(InvalidOption, match=r"checkpoint\.deadline"):
        Checkpoint(executions=("a",), deadline=float("nan"))
    with pytest.raises(InvalidOption, match=r"checkpoint\.executions"):
        Checkpoint(executions=["a"], deadline=None)  # type: ignore[arg-type]


def test_long_texts_are_kept_short() -> None:
    """A long reason or state read from a document is cut: records stay bounded."""
    long = _document(
        outcomes=[
            {
                "i": 0,
                "kind": "failed",
                "state": "S" * 999,
                "reason": "r" * 9999,
                "attempts": 1,
                "elapsed": 1,
            }
        ]
    )
    (saved,) = Checkpoint.from_json(long).outcomes
    assert saved.reason is not None and len(saved.reason) == REASON_LIMIT
    assert saved.state is not None and len(saved.state) == STATE_LIMIT


# --- resuming -------------------------------------------------------------------------------


def _run(main: Callable[[], Any]) -> Any:
    return MockClock().run(main)


def test_a_resumed_batch_reports_no_outcome_twice_and_loses_none() -> None:
    """Outcomes seen before the checkpoint are the resumed batch's, never reported again;
    the others are reported once, as the simulator played them out."""

    async def main() -> None:
        fleet = Fleet(seed=3, clock=anyio.current_time)
        early = fleet.add(
            "iot-job-execution",
            6,
            parent="ck-early",
            schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 1.0), ("SUCCEEDED", 5.0)],
        )
        late = fleet.add(
            "iot-job-execution",
            6,
            parent="ck-late",
            schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 1.0), ("FAILED", 60.0)],
        )
        async with fleet.async_client("iot") as client:
            executions = [Execution(IOT, ids, client) for ids in [*early, *late]]
            first: list[Outcome] = []
            async with poller(timeout=600) as one:
                batch = await one.submit(executions, on_outcome=first.append)
                await anyio.sleep(30)
                checkpoint = batch.checkpoint()
            # Closing abandoned the rest: those are not in the checkpoint.
            assert {o.kind for o in first} == {OutcomeKind.SUCCEEDED, OutcomeKind.ABANDONED}
            assert checkpoint.finished == 6
            assert len(checkpoint.seen) == 6
            checkpoint = Checkpoint.from_json(checkpoint.to_json())
            await anyio.sleep(5)
            second: list[Outcome] = []
            async with poller() as two:
                result = await two.wait_all(
                    executions, checkpoint=checkpoint, on_outcome=second.append
                )
        reported = [o for o in first if o.kind is not OutcomeKind.ABANDONED] + second
        keys = [execution_key(o.execution) for o in reported]
        assert sorted(keys) == sorted(execution_key(e) for e in executions)  # each once
        assert all(o.kind is OutcomeKind.FAILED for o in second)
        assert kinds_by_key(result.outcomes) == kinds_by_key(reported)
        assert [o.execution for o in result.outcomes] == executions  # input order
        assert result.counts == {OutcomeKind.SUCCEEDED: 6, OutcomeKind.FAILED: 6}

    _run(main)


def test_the_deadline_does_not_start_again() -> None:
    """A 300 s deadline checkpointed at 100 s and resumed at 150 s ends at 300 s."""

    async def main() -> None:
        fleet = Fleet(seed=4, clock=anyio.current_time)
        ids = fleet.add("iot-job-execution", 3, parent="ck-deadline", schedule=FOREVER)
        async with fleet.async_client("iot") as client:
            executions = [Execution(IOT, i, client) for i in ids]
            async with poller(timeout=300) as one:
                batch = await one.submit(executions)
                await anyio.sleep(100)
                checkpoint = batch.checkpoint()
            assert checkpoint.deadline == EPOCH + 300
            await anyio.sleep(50)
            async with poller(timeout=3600) as two:
                with pytest.raises(InvalidOption, match="timeout and checkpoint"):
                    await two.submit(executions, checkpoint=checkpoint, timeout=60)
                result = await two.wait_all(executions, checkpoint=checkpoint)
                ended = anyio.current_time()
        assert {o.kind for o in result.outcomes} == {OutcomeKind.WAIT_TIMEOUT}
        assert all(o.reason == "still IN_PROGRESS at the deadline" for o in result.outcomes)
        # The deadline watchdog gives calls in flight their call timeout to answer.
        assert 300 <= ended <= 300 + 31, ended

    _run(main)


def test_a_deadline_already_past_times_out_at_once() -> None:
    async def main() -> None:
        fleet = Fleet(seed=5, clock=anyio.current_time)
        ids = fleet.add("iot-job-execution", 2, parent="ck-past", schedule=FOREVER)
        async with fleet.async_client("iot") as client:
            executions = [Execution(IOT, i, client) for i in ids]
            keys = tuple(execution_key(e) for e in executions)
            checkpoint = Checkpoint(executions=keys, deadline=EPOCH - 10)
            async with poller() as two:
                result = await two.wait_all(executions, checkpoint=checkpoint)
                assert anyio.current_time() <= 31
        assert {o.kind for o in result.outcomes} == {OutcomeKind.WAIT_TIMEOUT}

    _run(main)


def _transfer_rollout(*, resume: bool) -> tuple[Fleet, list[Execution], Any, Checkpoint]:
    async def main() -> tuple[Fleet, list[Execution], Any, Checkpoint]:
        fleet = Fleet(seed=31, clock=anyio.current_time)
        ids = fleet.add_transfer_workflow(
            "w-0123456789abcdefc",
            8,
            lifecycle=Lifecycle(
                pending=(0, 0), running=(20, 60), mix={"COMPLETED": 0.5, "EXCEPTION": 0.5}
            ),
        )
        async with fleet.async_client("transfer") as transfer, fleet.async_client("logs") as log:
            executions = [Execution(TRANSFER, i, transfer) for i in ids]
            async with poller(timeout=1800, batch=False, clients={"logs": log}) as one:
                batch = await one.submit(executions)
                await anyio.sleep(10)
                checkpoint = batch.checkpoint()
            # Every run ended, and Transfer forgot it, while no process watched.
            await anyio.sleep(120)
            async with poller(batch=False, clients={"logs": log}) as two:
                result = (
                    await two.wait_all(
                        executions, checkpoint=Checkpoint.from_json(checkpoint.to_json())
                    )
                    if resume
                    else await two.wait_all(executions)
                )
        return fleet, executions, result, checkpoint

    return MockClock().run(main)


def test_transfer_seen_running_then_gone_ends_as_its_log_says_not_not_found() -> None:
    """Seen IN_PROGRESS before the checkpoint, unknown to Transfer after the resume: each
    ends as its execution log says (the simulator's ground truth), never not_found."""
    fleet, executions, result, checkpoint = _transfer_rollout(resume=True)
    assert {s.state for s in checkpoint.seen} <= {"IN_PROGRESS", "HANDLING_EXCEPTION"}
    assert len(checkpoint.seen) == len(executions)
    assert all(s.log_group and s.log_group.startswith("/aws/transfer/") for s in checkpoint.seen)
    expected = {"COMPLETED": OutcomeKind.SUCCEEDED, "EXCEPTION": OutcomeKind.FAILED}
    for outcome in result.outcomes:
        truth = [s for s, _ in fleet.truth("transfer-execution", **outcome.execution.params)]
        final = [s for s in truth if s not in (None, "<GONE>")][-1]
        assert outcome.kind is expected[final], (outcome, truth)
        assert outcome.state == final


def test_without_the_checkpoint_the_same_rerun_is_not_found() -> None:
    """The control: the same rerun without the checkpoint cannot tell ended from never-there."""
    _, _, result, _ = _transfer_rollout(resume=False)
    assert {o.kind for o in result.outcomes} == {OutcomeKind.NOT_FOUND}


def test_a_checkpoint_of_another_batch_is_refused() -> None:
    async def main() -> None:
        fleet = Fleet(seed=6, clock=anyio.current_time)
        ids = fleet.add("iot-job-execution", 3, parent="ck-other", schedule=FOREVER)
        async with fleet.async_client("iot") as client:
            executions = [Execution(IOT, i, client) for i in ids]
            keys = tuple(execution_key(e) for e in executions)
            async with poller() as two:
                with pytest.raises(InvalidOption, match="of another batch") as caught:
                    await two.submit(
                        executions[:2], checkpoint=Checkpoint(executions=keys, deadline=None)
                    )
                assert ids[2]["thingName"] in str(caught.value)
                with pytest.raises(InvalidOption, match="of another batch"):
                    await two.submit(
                        executions, checkpoint=Checkpoint(executions=keys[:2], deadline=None)
                    )
                with pytest.raises(InvalidOption, match="checkpoint must be a Checkpoint"):
                    await two.submit(executions, checkpoint="{}")  # type: ignore[arg-type]

    _run(main)


def test_fail_fast_tripped_before_the_checkpoint_abandons_the_rest_again() -> None:
    """Abandoned outcomes are not kept; the rule the restored failures tripped trips again."""
    from waiters import FailFast

    async def main() -> None:
        fleet = Fleet(seed=7, clock=anyio.current_time)
        failing = fleet.add(
            "iot-job-execution", 2, parent="ck-ff", schedule=[("QUEUED", 0.0), ("FAILED", 2.0)]
        )
        running = fleet.add("iot-job-execution", 3, parent="ck-ff2", schedule=FOREVER)
        async with fleet.async_client("iot") as client:
            executions = [Execution(IOT, i, client) for i in [*failing, *running]]
            async with poller() as one:
                batch = await one.submit(executions, fail_fast=FailFast(count=2))
                await batch.done.wait()
                checkpoint = batch.checkpoint()
            assert [o.kind for o in checkpoint.outcomes] == [OutcomeKind.FAILED] * 2
            later: list[Outcome] = []
            async with poller() as two:
                result = await two.wait_all(
                    executions,
                    checkpoint=checkpoint,
                    fail_fast=FailFast(count=2),
                    on_outcome=later.append,
                )
        assert result.aborted
        assert [o.kind for o in later] == [OutcomeKind.ABANDONED] * 3

    _run(main)
