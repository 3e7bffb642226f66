"""Observation that holds when the service lags: answer order, retries, hints, unknown
states, odd pages. Hints and versions only ever make a wait cheaper, never blind."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scripted import ScriptedClient
from tests.test_tracker import JOB, Recorder
from waiters import (
    DEFAULT_NOT_FOUND_GRACE,
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    Outcome,
    OutcomeKind,
    Poller,
)
from waiters._attempt import Answer
from waiters._tracker import Tracker
from waiters.testing import run_virtual

IDS = {"jobId": "j", "thingName": "t"}
FREE = BudgetRegistry(BudgetConfig.unlimited())


def _answer(status: str, number: int | None = None, version: int | None = None, **more: Any) -> Any:
    execution: dict[str, Any] = {"status": status, **more}
    if number is not None:
        execution["executionNumber"] = number
    if version is not None:
        execution["versionNumber"] = version
    return {"execution": execution, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _wait(answers: list[Any], *, timeout: float = 300.0) -> tuple[Outcome, ScriptedClient]:
    client = ScriptedClient("iot", JOB.method, answers)

    async def main() -> Outcome:
        async with Poller(budgets=FREE, timeout=timeout, batch=False) as poller:
            return await poller.wait(Execution(JOB, IDS, client))

    return run_virtual(main), client


def test_a_retried_execution_is_followed_to_its_end() -> None:
    """Execution 1 IN_PROGRESS v4, then execution 2 QUEUED v1, IN_PROGRESS v2, SUCCEEDED v3:
    ordered by (executionNumber, versionNumber), it succeeds within 4 calls."""
    outcome, client = _wait(
        [
            _answer("IN_PROGRESS", 1, 4),
            _answer("QUEUED", 2, 1),
            _answer("IN_PROGRESS", 2, 2),
            _answer("SUCCEEDED", 2, 3),
        ]
    )
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert len(client.calls) == 4
    # The outcome says which execution ended; the earlier one stays in its history.
    assert outcome.response is not None
    assert outcome.response["execution"]["executionNumber"] == 2
    states = [t.state for t in outcome.history]
    assert states == ["IN_PROGRESS", "QUEUED", "IN_PROGRESS", "SUCCEEDED"]


def test_an_answer_about_an_earlier_execution_is_stale() -> None:
    """Execution 2 seen; a late answer about execution 1 (any version) changes nothing."""
    outcome, _ = _wait(
        [
            _answer("QUEUED", 2, 1),
            _answer("FAILED", 1, 9),
            _answer("SUCCEEDED", 2, 2),
        ]
    )
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert [t.state for t in outcome.history] == ["QUEUED", "SUCCEEDED"]


def test_stale_answers_advance_the_backoff() -> None:
    """An answer older than one taken says nothing new: polls slow down as for an unchanged
    one (was 301 calls in 300 s)."""
    outcome, client = _wait([_answer("IN_PROGRESS", 1, 5), _answer("QUEUED", 1, 4)], timeout=300)
    assert outcome.kind is OutcomeKind.WAIT_TIMEOUT
    # Backoff(1, 30) with full jitter: delays average (1 + cap) / 2, so about 5 polls
    # while the cap doubles to 30 and then one per 15.5 s: about 25 in 300 s.
    assert len(client.calls) <= 40


def test_a_lagging_hint_is_read_with_its_slack() -> None:
    """0 s left, reported for 75 s before TIMED_OUT (IoT: the timeout "can occur up to 60
    seconds later"): polls stay on the backoff, never closer than its floor (was 152 calls
    every 0.5 s)."""
    lagging = _answer("IN_PROGRESS", 1, 2, approximateSecondsBeforeTimedOut=0)
    client = ScriptedClient("iot", JOB.method, [lagging])

    async def main() -> tuple[Outcome, list[float]]:
        import anyio

        async def end_later() -> None:
            await anyio.sleep(75)
            client.answers = [_answer("TIMED_OUT", 1, 3)]

        async with (
            Poller(budgets=FREE, timeout=600, batch=False) as poller,
            anyio.create_task_group() as tasks,
        ):
            tasks.start_soon(end_later)
            outcome = await poller.wait(Execution(JOB, IDS, client))
        return outcome, list(client.times)

    outcome, times = run_virtual(main)
    assert outcome.kind is OutcomeKind.FAILED and outcome.state == "TIMED_OUT"
    assert len(times) <= 20
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 - 1e-6


def test_an_unknown_state_does_not_erase_progress() -> None:
    """IN_PROGRESS, an unknown state, then QUEUED, then SUCCEEDED: no backwards QUEUED."""
    outcome, _ = _wait(
        [
            _answer("IN_PROGRESS"),
            _answer("PAUSED_FOR_MAINTENANCE"),
            _answer("QUEUED"),
            _answer("SUCCEEDED"),
        ]
    )
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert [t.state for t in outcome.history] == [
        "IN_PROGRESS",
        "PAUSED_FOR_MAINTENANCE",
        "SUCCEEDED",
    ]


RANKED = ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(RANKED[:2]), st.sampled_from(["UNKNOWN_A", "UNKNOWN_B"])),
        max_size=12,
    )
)
def test_history_never_goes_backwards_in_known_states(states: list[str]) -> None:
    """Whatever unknown states come between, the known states in the history never fall
    in rank, and the wait still ends on the terminal answer."""
    recorder = Recorder()
    tracker = Tracker(Execution(JOB, IDS), recorder, 0.0)
    for at, state in enumerate([*states, "SUCCEEDED"], start=1):
        decision = tracker.on_answer(Answer(_answer(state)), float(at))
    assert isinstance(decision, Outcome) and decision.kind is OutcomeKind.SUCCEEDED
    ranks = [RANKED.index(t.state) for t in decision.history if t.state in RANKED]
    assert ranks == sorted(ranks)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 5), st.sampled_from(RANKED[:2])),
        max_size=12,
    )
)
def test_answers_are_taken_in_their_declared_order(answers: list[tuple[int, int, str]]) -> None:
    """Random arrival order: an answer is taken only if its (executionNumber, versionNumber)
    is not below the newest taken, so the tracker ends on the newest (attempt, version)."""
    recorder = Recorder()
    tracker = Tracker(Execution(JOB, IDS), recorder, 0.0)
    newest: tuple[int, int] | None = None
    for at, (number, version, state) in enumerate(answers, start=1):
        tracker.on_answer(Answer(_answer(state, number, version)), float(at))
        if newest is None or (number, version) >= newest:
            newest = (number, version)
    if newest is not None:
        assert (tracker.attempt, tracker.version) == newest


def test_a_page_with_a_token_and_no_list_is_an_empty_page() -> None:
    """Pages that omit an empty list (with or without a token) are pages, not faults."""
    listed = {
        "executionSummaries": [
            {
                "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/t1",
                "jobExecutionSummary": {"status": "QUEUED", "executionNumber": 1},
            }
        ],
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    client = ScriptedClient(
        "iot",
        JOB.batch.method if JOB.batch is not None else "",
        [
            {"nextToken": "page-2", "ResponseMetadata": {"HTTPStatusCode": 200}},
            {"nextToken": "page-3", **listed},
            {"ResponseMetadata": {"HTTPStatusCode": 200}},
        ],
    )

    async def main() -> list[Execution]:
        async with Poller(budgets=FREE) as poller:
            return await poller.list_executions(JOB, "j", client=client)

    found = run_virtual(main)
    assert [e.params["thingName"] for e in found] == ["t1"]
    assert len(client.calls) == 3


@pytest.mark.parametrize("backoff", [Backoff(1, 30), Backoff(0.5, 5)])
def test_a_hint_never_polls_sooner_than_the_backoff_floor(backoff: Backoff) -> None:
    """A deadline hint 0.1 s ahead: the next poll still waits min_delay."""
    recorder = Recorder()
    recorder.settings.backoff = backoff
    recorder.settings.min_delay = backoff.min_delay  # type: ignore[assignment]
    tracker = Tracker(Execution(JOB, IDS), recorder, 0.0)
    due = tracker.on_answer(
        Answer(_answer("IN_PROGRESS", 1, 1, approximateSecondsBeforeTimedOut=0)), 10.0
    )
    assert isinstance(due, float)
    assert due >= 10.0 + float(backoff.min_delay)  # type: ignore[arg-type]


# --- a job's retry configuration --------------------------------------------------------


def _job(criteria: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "job": {"jobId": "j", "jobExecutionsRetryConfig": {"criteriaList": criteria}},
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def _retrying(
    answers: list[Any], criteria: list[dict[str, Any]], **options: Any
) -> tuple[Outcome, ScriptedClient, list[dict[str, Any]]]:
    """A job execution answering *answers*, whose job (DescribeJob) has *criteria*."""
    client = ScriptedClient("iot", JOB.method, answers)
    job_calls: list[dict[str, Any]] = []

    async def describe_job(**params: Any) -> dict[str, Any]:
        job_calls.append(params)
        return _job(criteria)

    client.describe_job = describe_job  # type: ignore[attr-defined]

    async def main() -> Outcome:
        async with Poller(budgets=FREE, timeout=600, batch=False, **options) as poller:
            return await poller.wait(Execution(JOB, IDS, client))

    return run_virtual(main), client, job_calls


RETRIED = [
    _answer("IN_PROGRESS", 1, 2),
    _answer("FAILED", 1, 3),
    _answer("QUEUED", 2, 1),
    _answer("IN_PROGRESS", 2, 2),
    _answer("SUCCEEDED", 2, 3),
]


def test_a_failure_the_job_retries_is_not_the_end() -> None:
    """FAILED with retries left (numberOfRetries 2): the wait follows execution 2 to its end,
    reading the job's retry configuration once."""
    outcome, _, job_calls = _retrying(RETRIED, [{"failureType": "FAILED", "numberOfRetries": 2}])
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert job_calls == [{"jobId": "j"}]
    assert [t.state for t in outcome.history] == [
        "IN_PROGRESS",
        "FAILED",
        "QUEUED",
        "IN_PROGRESS",
        "SUCCEEDED",
    ]


def test_follow_retries_false_stops_at_the_first_terminal_state() -> None:
    outcome, _, job_calls = _retrying(
        RETRIED, [{"failureType": "ALL", "numberOfRetries": 2}], follow_retries=False
    )
    assert outcome.kind is OutcomeKind.FAILED
    assert job_calls == []


def test_follow_retries_false_reads_the_watched_attempt_when_a_newer_one_shows_first() -> None:
    """Execution 1 IN_PROGRESS, then (its FAILED never seen) execution 2 QUEUED: a wait
    that stops at the first ending asks for executionNumber 1 and ends in its FAILED,
    not in execution 2's ending."""
    outcome, client, _ = _retrying(
        [_answer("IN_PROGRESS", 1, 2), _answer("QUEUED", 2, 1), _answer("FAILED", 1, 3)],
        [{"failureType": "ALL", "numberOfRetries": 2}],
        follow_retries=False,
    )
    assert outcome.kind is OutcomeKind.FAILED and outcome.state == "FAILED"
    assert [c.get("executionNumber") for c in client.calls] == [None, None, 1]


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    running=st.tuples(st.floats(5, 120), st.floats(0, 120)),
    delay=st.floats(0, 30),
    max_delay=st.sampled_from([5.0, 30.0, 90.0]),
    batch=st.booleans(),
)
def test_follow_retries_false_ends_in_the_first_attempts_ending(
    seed: int, running: tuple[float, float], delay: float, max_delay: float, batch: bool
) -> None:
    """Whatever the timing of a job's retries against the polls (the watched attempt's
    ending seen, or only a newer attempt), in Describe and batch modes: with
    follow_retries=False every outcome is attempt 1's ending, as the simulator's
    ground truth has it."""
    from waiters.simulator import Fleet, Lifecycle, Retries

    async def main() -> tuple[Any, Fleet, list[dict[str, str]]]:
        import anyio

        fleet = Fleet(clock=anyio.current_time, seed=seed)
        low, width = running
        lifecycle = Lifecycle(
            pending=(0, 10),
            running=(low, low + width),
            mix={"SUCCEEDED": 0.3, "FAILED": 0.4, "TIMED_OUT": 0.3},
        )
        ids = fleet.add_iot_job(
            "pinned",
            things=25,
            lifecycle=lifecycle,
            retries=Retries({"FAILED": 2, "TIMED_OUT": 2}, delay=(0, delay), lifecycle=lifecycle),
        )
        async with fleet.async_client("iot") as iot:
            executions = [Execution(JOB, i, iot) for i in ids]
            async with Poller(
                budgets=FREE,
                timeout=None,
                batch=batch,
                batch_min=10,
                follow_retries=False,
                backoff=Backoff(1, max_delay),
            ) as poller:
                result = await poller.wait_all(executions)
        return result, fleet, ids

    result, fleet, _ = run_virtual(main)
    assert len(result.outcomes) == 25
    for outcome in result.outcomes:
        attempts = fleet.attempts("iot-job-execution", **outcome.execution.params)
        first = [state for state, _ in attempts[0][1] if state is not None][-1]
        assert outcome.state == first, (outcome, attempts)


def test_a_failure_with_no_retries_left_is_the_end() -> None:
    """Execution 3 fails; two retries were allowed and both are used."""
    outcome, client, job_calls = _retrying(
        [_answer("FAILED", 3, 4), _answer("QUEUED", 4, 1)],
        [{"failureType": "FAILED", "numberOfRetries": 2}],
    )
    assert outcome.kind is OutcomeKind.FAILED
    assert len(client.calls) == 1 and len(job_calls) == 1


def test_a_failure_of_another_type_is_not_retried() -> None:
    """TIMED_OUT when only FAILED is retried: the end."""
    outcome, _, _ = _retrying(
        [_answer("TIMED_OUT", 1, 3), _answer("QUEUED", 2, 1)],
        [{"failureType": "FAILED", "numberOfRetries": 5}],
    )
    assert outcome.kind is OutcomeKind.FAILED and outcome.state == "TIMED_OUT"


@pytest.mark.parametrize("seed", range(5))
def test_a_retry_that_never_comes_ends_in_the_failure_after_the_grace(seed: int) -> None:
    """Retries left, but no new execution appears: FAILED, at the first poll once the
    not-found grace (10 s) passed, so within one backoff delay (at most 30 s) of it."""
    outcome, client, _ = _retrying(
        [_answer("FAILED", 1, 3)],
        [{"failureType": "ALL", "numberOfRetries": 1}],
        rng=random.Random(seed),
    )
    assert outcome.kind is OutcomeKind.FAILED
    assert DEFAULT_NOT_FOUND_GRACE <= outcome.elapsed <= DEFAULT_NOT_FOUND_GRACE + 30.0
    assert len(client.calls) >= 2
