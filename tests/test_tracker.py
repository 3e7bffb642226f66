"""The tracker: from an answer to a decision, for every kind of answer."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scripted import client_error, status_response
from waiters import Backoff, Execution, Outcome, OutcomeKind, StateKind, default_registry
from waiters._attempt import Answer, CallStats
from waiters._calls import classify
from waiters._events import Events
from waiters._tracker import Tracker, WaitSettings

JOB = default_registry().get("iot-job-execution")
IDS = {"jobId": "j", "thingName": "t"}


class Recorder:
    """A Watch that records what its trackers report."""

    def __init__(self, *, timeout: float | None = 600.0, grace: float = 10.0) -> None:
        self.settings = WaitSettings(
            backoff=Backoff(min_delay=1, max_delay=30), timeout=timeout, not_found_grace=grace
        )
        self.events = Events()
        self.rng = random.Random(1)
        self.stats = CallStats()
        self.transitions: list[tuple[str | None, str | None]] = []
        self.outcomes: list[Outcome] = []

    def transitioned(
        self, tracker: Tracker, before: str | None, before_kind: StateKind | None
    ) -> None:
        self.transitions.append((before, tracker.state))

    def finished(self, tracker: Tracker, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


def _tracker(**watch: Any) -> tuple[Tracker, Recorder]:
    recorder = Recorder(**watch)
    return Tracker(Execution(JOB, IDS), recorder, 0.0), recorder


def _state(state: str, **execution: Any) -> Answer:
    return Answer(status_response(JOB, state, **({"execution": execution} if execution else {})))


def _error(exc: Exception) -> Answer:
    return Answer(None, classify(exc, JOB), exc)


def _running(version: int | None = None, seconds_left: float | None = None) -> Answer:
    execution: dict[str, Any] = {"status": "IN_PROGRESS"}
    if version is not None:
        execution["versionNumber"] = version
    if seconds_left is not None:
        execution["approximateSecondsBeforeTimedOut"] = seconds_left
    return Answer({"execution": execution, "ResponseMetadata": {"HTTPStatusCode": 200}})


def test_a_running_answer_is_due_again_within_the_backoff() -> None:
    """Not finished: the decision is a time within [min_delay, max] of now."""
    tracker, recorder = _tracker()
    due = tracker.on_answer(_state("QUEUED"), 5.0)
    assert isinstance(due, float) and 6.0 <= due <= 7.0
    assert recorder.transitions == [(None, "QUEUED")]
    assert tracker.attempts == 1


def test_a_terminal_answer_finishes_once_and_reports_it() -> None:
    """A terminal state is the outcome, reported to the watch exactly once."""
    tracker, recorder = _tracker()
    recorder.settings.follow_retries = False  # (a retried failure: the next test)
    tracker.on_answer(_state("IN_PROGRESS"), 1.0)
    outcome = tracker.on_answer(_state("FAILED"), 2.0)
    assert isinstance(outcome, Outcome)
    assert outcome.kind is OutcomeKind.FAILED and outcome.state == "FAILED"
    assert tracker.finish(OutcomeKind.WAIT_TIMEOUT, 3.0) is outcome
    assert recorder.outcomes == [outcome]
    assert [t.state for t in outcome.history] == ["IN_PROGRESS", "FAILED"]


def test_a_failure_its_job_may_retry_waits_for_the_allowance_then_ends_once() -> None:
    """FAILED, where the job may retry: not an outcome until the poller reads how many
    retries the job allows; none allowed, it ends FAILED, reported once."""
    tracker, recorder = _tracker()
    tracker.on_answer(_state("IN_PROGRESS"), 1.0)
    decision = tracker.on_answer(_state("FAILED"), 2.0)
    assert isinstance(decision, float) and tracker.retry_check
    assert recorder.outcomes == []
    outcome = tracker.after_retry_check({"FAILED": 0, "TIMED_OUT": 0}, 2.5)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.FAILED
    assert not tracker.retry_check and recorder.outcomes == [outcome]


def test_a_throttle_costs_nothing_but_time() -> None:
    """Throttled: no attempt counted, no backoff step taken; due after the usual delay,
    so a throttling storm never makes an execution poll faster."""
    tracker, _ = _tracker()
    decision = tracker.on_answer(_error(client_error("ThrottlingException", 400)), 3.0)
    assert isinstance(decision, float) and 4.0 <= decision <= 5.0
    assert tracker.attempts == 0 and tracker.step == 0


def test_transient_errors_back_off() -> None:
    """5xx and resets count as attempts and lengthen the backoff."""
    tracker, _ = _tracker()
    tracker.on_answer(_error(client_error("InternalFailure", 503)), 1.0)
    tracker.on_answer(_error(ConnectionClosedError(endpoint_url="http://127.0.0.1")), 2.0)
    assert tracker.attempts == 2 and tracker.step == 2
    assert tracker.outcome is None


def test_not_found_waits_out_the_grace_window_then_ends() -> None:
    """Unknown before the grace window passes: due again; after it: not_found."""
    tracker, _ = _tracker(grace=10.0)
    missing = _error(client_error("ResourceNotFoundException", 404))
    assert isinstance(tracker.on_answer(missing, 5.0), float)
    outcome = tracker.on_answer(missing, 10.0)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.NOT_FOUND


def test_not_found_after_a_sighting_is_vanished() -> None:
    """Seen, then unknown: it ended and the service forgot it."""
    tracker, _ = _tracker()
    tracker.on_answer(_state("IN_PROGRESS"), 1.0)
    outcome = tracker.on_answer(_error(client_error("ResourceNotFoundException", 404)), 2.0)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.VANISHED


def test_a_refusal_and_an_unknown_exception_end_the_wait() -> None:
    """Access denied is an error outcome; so is an exception nobody can classify."""
    tracker, _ = _tracker()
    outcome = tracker.on_answer(_error(client_error("AccessDeniedException", 403)), 1.0)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.ERROR
    tracker, _ = _tracker()
    outcome = tracker.on_answer(Answer(None, None, KeyError("boom")), 1.0)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.ERROR
    assert outcome.reason == "KeyError: 'boom'"


def test_an_unreachable_endpoint_ends_after_the_grace_window() -> None:
    """Only refused connections, never an answer: an error once the grace window passed."""
    tracker, _ = _tracker(grace=10.0)
    refused = _error(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert isinstance(tracker.on_answer(refused, 0.0), float)
    outcome = tracker.on_answer(refused, 10.0)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.ERROR
    assert outcome.reason is not None and outcome.reason.startswith("cannot reach the endpoint")


def test_the_deadline_caps_the_next_poll_and_ends_the_wait() -> None:
    """The next poll never lands past the deadline; an answer at it times the wait out."""
    tracker, _ = _tracker(timeout=10.0)
    assert tracker.on_answer(_state("IN_PROGRESS"), 9.5) == 10.0
    outcome = tracker.on_answer(_state("IN_PROGRESS"), 10.0)
    assert isinstance(outcome, Outcome) and outcome.kind is OutcomeKind.WAIT_TIMEOUT


def test_an_older_version_is_ignored() -> None:
    """An answer with a lower versionNumber than one seen is stale (eventual consistency)."""
    tracker, recorder = _tracker()
    tracker.on_answer(_running(version=3), 1.0)
    stale = Answer(
        {
            "execution": {"status": "QUEUED", "versionNumber": 2},
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
    )
    tracker.on_answer(stale, 2.0)
    assert tracker.state == "IN_PROGRESS"
    assert recorder.transitions == [(None, "IN_PROGRESS")]


def test_the_lifecycle_never_goes_backwards() -> None:
    """IN_PROGRESS then QUEUED (illegal, earlier): the later state stands."""
    tracker, recorder = _tracker()
    tracker.on_answer(_state("IN_PROGRESS"), 1.0)
    tracker.on_answer(_state("QUEUED"), 2.0)
    assert tracker.state == "IN_PROGRESS"
    assert recorder.transitions == [(None, "IN_PROGRESS")]


def test_a_hint_pulls_the_poll_in_and_its_slack_stops_it_repeating() -> None:
    """A deadline hint brings the next poll to just after it, once; reported again
    within the definition's slack (IoT: 60 s), it does not reset the backoff again."""
    tracker, _ = _tracker()
    for step in range(4):  # build up the backoff
        tracker.on_answer(_running(), float(step))
    due = tracker.on_answer(_running(seconds_left=2.0), 10.0)
    assert due == pytest.approx(12.5)
    tracker.on_answer(_running(seconds_left=0.0), 12.5)
    assert tracker.step == 0  # the hint came due: poll fast again
    for at in (13.5, 15.0, 18.0):
        tracker.on_answer(_running(seconds_left=0.0), at)
    # Still "0 s left" within the slack: the backoff grows instead of resetting.
    assert tracker.step == 3
    assert tracker.hint_at is None


def test_a_summary_from_a_list_finishes_the_wait() -> None:
    """A terminal state seen in a list sweep ends the wait like a Describe answer."""
    tracker, recorder = _tracker()
    item = {"status": "SUCCEEDED", "thingArn": "arn:aws:iot:us-east-1:1:thing/t"}
    outcome = tracker.on_summary("SUCCEEDED", item, 4.0)
    assert outcome is not None and outcome.kind is OutcomeKind.SUCCEEDED
    assert outcome.response == item and recorder.outcomes == [outcome]


_ANSWERS = st.sampled_from(
    [
        "QUEUED",
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "throttle",
        "5xx",
        "reset",
        "missing",
        "denied",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    answers=st.lists(st.tuples(_ANSWERS, st.floats(0.0, 50.0)), max_size=30),
    timeout=st.one_of(st.none(), st.floats(1.0, 500.0)),
)
def test_every_decision_is_an_outcome_or_a_time_before_the_deadline(
    answers: list[tuple[str, float]], timeout: float | None
) -> None:
    """Any answers, in any order: each decision is a time in [now, deadline] until the
    one outcome, which the watch hears of exactly once."""
    tracker, recorder = _tracker(timeout=timeout)
    deadline = tracker.deadline
    now = 0.0
    for name, gap in answers:
        if tracker.outcome is not None:
            break
        now += gap
        answer = {
            "throttle": lambda: _error(client_error("ThrottlingException", 400)),
            "5xx": lambda: _error(client_error("InternalFailure", 503)),
            "reset": lambda: _error(ConnectionClosedError(endpoint_url="http://127.0.0.1")),
            "missing": lambda: _error(client_error("ResourceNotFoundException", 404)),
            "denied": lambda: _error(client_error("AccessDeniedException", 403)),
        }.get(name, lambda: _state(name))()  # noqa: B023 - called at once
        decision = tracker.on_answer(answer, now)
        if isinstance(decision, Outcome):
            assert decision is tracker.outcome
        else:
            assert now <= decision <= deadline
            assert now < deadline or math.isinf(deadline)
    assert len(recorder.outcomes) == (0 if tracker.outcome is None else 1)
