"""Waiting on one execution: outcomes, delays, deadlines, errors, logs."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scripted import Answer, ScriptedClient, client_error, status_response
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    ExecutionFailed,
    ExecutionNotFound,
    ExecutionVanished,
    OutcomeKind,
    ServiceError,
    StateKind,
    StateMachine,
    WaiterError,
    WaitTimeout,
    default_registry,
    execution,
    wait_for,
    wait_for_sync,
)
from waiters.testing import run_virtual

IDS: dict[str, dict[str, Any]] = {
    "iot-job-execution": {"jobId": "job-1", "thingName": "thing-1"},
    "iot-command-execution": {
        "executionId": "exec-1",
        "targetArn": "arn:aws:iot:us-east-1:123456789012:thing/t",
    },
    "sitewise-execution": {"executionId": "0f8e5a1c-1111-4a2b-9c3d-123456789abc"},
    "snow-execution": {"managedDeviceId": "smd-1", "taskId": "task-1"},
    "transfer-execution": {
        "ExecutionId": "0f8e5a1c-1111-4a2b-9c3d-123456789abc",
        "WorkflowId": "w-0123456789abcdefa",
    },
}
# Effectively unlimited, so pacing never shifts the poll times these tests measure.
FREE = BudgetConfig(initial_rate=1e9, max_rate=1e9)


def _client(name: str, answers: Sequence[Answer], **kw: Any) -> ScriptedClient:
    machine = default_registry().get(name)
    return ScriptedClient(machine.service, machine.method, answers, **kw)


def _wait(name: str, client: ScriptedClient, **kwargs: Any) -> Any:
    machine = default_registry().get(name)
    kwargs.setdefault("budgets", BudgetRegistry(FREE))
    return run_virtual(wait_for, client, machine.method, **IDS[name], **kwargs)


@st.composite
def legal_paths(draw: st.DrawFn, machine: StateMachine) -> list[str]:
    """A walk through the declared transitions that ends in a terminal state."""
    starts = [s for s, k in machine.states.items() if not k.terminal]
    state = draw(st.sampled_from(starts))
    path = [state]
    while not machine.states[state].terminal:
        state = draw(st.sampled_from(sorted(machine.transitions[state])))
        path.append(state)
    return path


@pytest.mark.parametrize("name", sorted(IDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_legal_sequence_ends_in_its_terminal_outcome(name: str, data: st.DataObject) -> None:
    """Repeats, throttles and 5xx in between: the outcome is the terminal state's kind."""
    machine = default_registry().get(name)
    path = data.draw(legal_paths(machine))
    answers: list[Answer] = []
    for state in path:
        # The wait ends on the first terminal answer, so that one comes once.
        repeats = 1 if machine.states[state].terminal else data.draw(st.integers(1, 4))
        for _ in range(repeats):
            noise = data.draw(st.sampled_from(["none", "none", "throttle", "5xx", "reset"]))
            if noise == "throttle":
                answers.append(client_error("ThrottlingException", 400))
            elif noise == "5xx":
                answers.append(client_error("InternalFailure", 503))
            elif noise == "reset":
                from botocore.exceptions import ConnectionClosedError

                answers.append(ConnectionClosedError(endpoint_url="http://127.0.0.1"))
            answers.append(status_response(machine, state))
    client = _client(name, answers)
    outcome = _wait(name, client, raise_on_failure=False, timeout=None)
    terminal = machine.states[path[-1]]
    assert outcome.kind.value == terminal.value
    assert outcome.state == path[-1]
    distinct = [s for i, s in enumerate(path) if i == 0 or path[i - 1] != s]
    assert [t.state for t in outcome.history] == distinct
    assert len(client.calls) == len(answers)


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(0.1, 5.0),
    spread=st.floats(0.0, 60.0),
    timeout=st.floats(1.0, 3600.0),
    seed=st.integers(0, 2**16),
)
def test_delays_stay_in_bounds_and_never_pass_the_deadline(
    low: float, spread: float, timeout: float, seed: int
) -> None:
    """Gaps between polls lie in [min, max] except the last, which lands on the deadline."""
    import random

    name = "snow-execution"
    machine = default_registry().get(name)
    client = _client(name, [status_response(machine, "IN_PROGRESS")])
    backoff = Backoff(min_delay=low, max_delay=low + spread)
    with pytest.raises(WaitTimeout) as info:
        _wait(name, client, backoff=backoff, timeout=timeout, rng=random.Random(seed))
    times = client.times
    start = times[0]
    assert times[-1] == pytest.approx(start + timeout)
    assert all(t <= start + timeout + 1e-6 for t in times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap in gaps[:-1]:
        assert low - 1e-6 <= gap <= low + spread + 1e-6
    assert gaps == [] or gaps[-1] <= low + spread + 1e-6
    assert info.value.outcome is not None and info.value.outcome.state == "IN_PROGRESS"


def test_backoff_resets_to_the_minimum_on_a_state_change() -> None:
    """After a change, the next delay is drawn from [min, 2*min] again."""
    name = "snow-execution"
    machine = default_registry().get(name)
    answers = [status_response(machine, "QUEUED")] * 8 + [
        status_response(machine, "IN_PROGRESS"),
        status_response(machine, "SUCCEEDED"),
    ]
    client = _client(name, answers)
    _wait(name, client, backoff=Backoff(min_delay=1, max_delay=1000))
    gaps = [b - a for a, b in zip(client.times, client.times[1:], strict=False)]
    assert max(gaps[:8]) > 2.0  # grew while nothing changed
    assert 1.0 <= gaps[8] <= 2.0  # first delay after IN_PROGRESS starts over


def test_timeout_is_a_timeout_error_carrying_the_last_state() -> None:
    """WaitTimeout is a TimeoutError and a WaiterError with state, response and attempts."""
    name = "iot-job-execution"
    machine = default_registry().get(name)
    client = _client(name, [status_response(machine, "QUEUED")])
    with pytest.raises(TimeoutError) as info:
        _wait(name, client, timeout=timedelta(hours=2))
    error = info.value
    assert isinstance(error, WaitTimeout) and isinstance(error, WaiterError)
    assert error.outcome is not None and error.outcome.kind is OutcomeKind.WAIT_TIMEOUT
    assert error.outcome.state == "QUEUED"
    assert error.attempts == len(client.calls)
    assert error.last_response is not None
    assert error.execution is not None and error.execution.type == name
    assert error.outcome.elapsed == pytest.approx(7200.0)


def test_terminal_failure_raises_or_returns() -> None:
    """FAILED raises ExecutionFailed with the reason; raise_on_failure=False returns it."""
    name = "iot-command-execution"
    machine = default_registry().get(name)
    failed = status_response(
        machine,
        "FAILED",
        statusReason={"reasonCode": "DEVICE_ERROR", "reasonDescription": "disk full"},
    )
    with pytest.raises(ExecutionFailed) as info:
        _wait(name, _client(name, [failed]))
    assert "ended FAILED" in str(info.value)
    assert info.value.reason == "reasonCode=DEVICE_ERROR, reasonDescription=disk full"
    outcome = _wait(name, _client(name, [failed]), raise_on_failure=False)
    assert outcome.kind is OutcomeKind.FAILED and not outcome.ok


def test_cancelled_is_its_own_kind() -> None:
    """A CANCELED job execution ends as cancelled, raising ExecutionFailed."""
    name = "iot-job-execution"
    machine = default_registry().get(name)
    outcome = _wait(
        name, _client(name, [status_response(machine, "CANCELED")]), raise_on_failure=False
    )
    assert outcome.kind is OutcomeKind.CANCELLED


def test_transfer_execution_seen_then_gone_has_vanished() -> None:
    """Transfer answers not-found once an execution ends: after it was seen, that is vanished."""
    name = "transfer-execution"
    machine = default_registry().get(name)
    client = _client(
        name,
        [status_response(machine, "IN_PROGRESS")] * 3
        + [client_error("ResourceNotFoundException", 400)],
    )
    with pytest.raises(ExecutionVanished) as info:
        _wait(name, client)
    outcome = info.value.outcome
    assert outcome is not None and outcome.kind is OutcomeKind.VANISHED
    assert outcome.state == "IN_PROGRESS"
    assert "does not report how it ended" in str(info.value)


def test_transfer_execution_never_seen_is_not_found_after_the_grace_window() -> None:
    """Not-found before the execution was ever seen keeps polling for the grace window."""
    name = "transfer-execution"
    client = _client(name, [client_error("ResourceNotFoundException", 400)])
    with pytest.raises(ExecutionNotFound) as info:
        _wait(name, client, not_found_grace=30.0, backoff=Backoff(min_delay=1, max_delay=4))
    assert len(client.calls) > 3
    assert client.times[-1] - client.times[0] >= 30.0
    assert info.value.outcome is not None and info.value.outcome.kind is OutcomeKind.NOT_FOUND


def test_not_found_then_visible_is_waited_on() -> None:
    """Eventual consistency: not-found at first, then seen, then finished."""
    name = "sitewise-execution"
    machine = default_registry().get(name)
    client = _client(
        name,
        [client_error("ResourceNotFoundException", 404)] * 2
        + [status_response(machine, "RUNNING"), status_response(machine, "COMPLETED")],
    )
    assert _wait(name, client).kind is OutcomeKind.SUCCEEDED


def test_a_throttling_storm_does_not_fail_the_wait() -> None:
    """Two hundred throttles in a row slow the wait down; they cost no attempts."""
    name = "iot-job-execution"
    machine = default_registry().get(name)
    answers: list[Answer] = [status_response(machine, "IN_PROGRESS")]
    answers += [client_error("ThrottlingException", 400)] * 200
    answers += [client_error("ThrottlingException", 429)] * 20
    answers += [status_response(machine, "SUCCEEDED")]
    client = _client(name, answers)
    budgets = BudgetRegistry(BudgetConfig(initial_rate=10, max_rate=10, min_rate=0.5))
    outcome = _wait(name, client, budgets=budgets)
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert outcome.attempts == 2
    (stats,) = budgets.stats()
    assert stats.throttles == 220 and stats.rate < 10


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ExpiredTokenException", 403),
        ("AccessDeniedException", 403),
        ("UnrecognizedClientException", 403),
        ("InvalidRequestException", 400),
    ],
)
def test_auth_and_validation_errors_fail_fast(code: str, status: int) -> None:
    """Credentials, permission and request errors end the wait on the first call."""
    name = "iot-job-execution"
    client = _client(name, [client_error(code, status, "DescribeJobExecution")])
    with pytest.raises(ServiceError) as info:
        _wait(name, client)
    assert len(client.calls) == 1
    assert code in str(info.value) and "DescribeJobExecution failed" in str(info.value)


def test_missing_credentials_fail_fast() -> None:
    """botocore's NoCredentialsError ends the wait with a ServiceError."""
    from botocore.exceptions import NoCredentialsError

    name = "snow-execution"
    client = _client(name, [NoCredentialsError()])
    with pytest.raises(ServiceError, match="NoCredentialsError"):
        _wait(name, client)


def test_unknown_state_is_not_terminal_and_logged_once() -> None:
    """A state the service added later keeps the wait going, with one warning."""
    name = "snow-execution"
    machine = default_registry().get(name)
    client = _client(
        name, [status_response(machine, "PAUSED")] * 5 + [status_response(machine, "SUCCEEDED")]
    )
    with structlog.testing.capture_logs() as logs:
        outcome = _wait(name, client)
    assert outcome.kind is OutcomeKind.SUCCEEDED
    unknown = [e for e in logs if e["event"] == "waiters.unknown_state"]
    assert unknown == [
        {
            "event": "waiters.unknown_state",
            "log_level": "warning",
            "type": "snow-execution",
            "value": "PAUSED",
            "execution": "snow-execution(managedDeviceId='smd-1', taskId='task-1')",
        }
    ]


def test_illegal_transition_is_logged_not_fatal() -> None:
    """Going backwards is logged and ignored; the wait still ends on the terminal state."""
    name = "iot-job-execution"
    machine = default_registry().get(name)
    client = _client(
        name,
        [
            status_response(machine, s)
            for s in ("IN_PROGRESS", "QUEUED", "IN_PROGRESS", "SUCCEEDED")
        ],
    )
    with structlog.testing.capture_logs() as logs:
        outcome = _wait(name, client)
    assert [t.state for t in outcome.history] == ["IN_PROGRESS", "SUCCEEDED"]
    illegal = [e for e in logs if e["event"] == "waiters.illegal_transition"]
    assert [(e["before"], e["after"]) for e in illegal] == [("IN_PROGRESS", "QUEUED")]


def test_missing_status_field_keeps_waiting() -> None:
    """A response without the status field is not terminal, and is reported."""
    name = "iot-job-execution"
    machine = default_registry().get(name)
    client = _client(
        name,
        [
            status_response(machine, None, execution={"jobId": "job-1"}),
            status_response(machine, "SUCCEEDED"),
        ],
    )
    with structlog.testing.capture_logs() as logs:
        assert _wait(name, client).ok
    assert any(e["event"] == "waiters.missing_status" for e in logs)


def test_an_empty_answer_is_a_failed_call_not_a_sighting() -> None:
    """botocore turns a truncated body into an empty response: a transient failure, so a
    Transfer execution answered that way and then not found is not found, not vanished."""
    name = "transfer-execution"
    machine = default_registry().get(name)
    client = _client(
        name, [status_response(machine, None), client_error("ResourceNotFoundException", 400)]
    )
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    with structlog.testing.capture_logs() as logs:
        outcome = _wait(name, client, raise_on_failure=False, not_found_grace=5)
    assert outcome.kind is OutcomeKind.NOT_FOUND
    assert any(
        e["event"] == "waiters.transient_error" and e["code"] == "MalformedResponse" for e in logs
    )


def test_hinted_deadline_pulls_the_next_poll_in() -> None:
    """approximateSecondsBeforeTimedOut makes the waiter poll just after the hinted time,
    when its backoff would have waited longer (never sooner than min_delay)."""
    name = "iot-job-execution"
    running = {"execution": {"status": "IN_PROGRESS"}, "ResponseMetadata": {"HTTPStatusCode": 200}}
    hinted = {
        "execution": {"status": "IN_PROGRESS", "approximateSecondsBeforeTimedOut": 7},
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    done = {"execution": {"status": "TIMED_OUT"}, "ResponseMetadata": {"HTTPStatusCode": 200}}
    # Eight unchanged answers first: the backoff's cap is 5 * 2**8 s by then.
    client = _client(name, [*[running] * 8, hinted, done])
    backoff = Backoff(min_delay=5, max_delay=600)
    outcome = _wait(name, client, backoff=backoff, raise_on_failure=False, rng=random.Random(7))
    assert outcome.kind is OutcomeKind.FAILED
    assert client.times[9] - client.times[8] == pytest.approx(7.5)
    # The same answers with a floor above the hint: the floor wins.
    client = _client(name, [hinted, done])
    _wait(name, client, backoff=Backoff(min_delay=60, max_delay=600), raise_on_failure=False)
    assert client.times[1] - client.times[0] == pytest.approx(60.0)


def test_stale_version_is_ignored() -> None:
    """An answer with a lower versionNumber than one already seen changes nothing."""
    name = "iot-job-execution"

    def answer(status: str, version: int) -> dict[str, Any]:
        return {
            "execution": {"status": status, "versionNumber": version},
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    client = _client(name, [answer("IN_PROGRESS", 2), answer("QUEUED", 1), answer("SUCCEEDED", 3)])
    with structlog.testing.capture_logs() as logs:
        outcome = _wait(name, client)
    assert [t.state for t in outcome.history] == ["IN_PROGRESS", "SUCCEEDED"]
    assert not [e for e in logs if e["event"] == "waiters.illegal_transition"]


def test_events_have_stable_names_and_flat_keys() -> None:
    """A wait emits waiters.poll, waiters.transition, waiters.throttled, waiters.finished."""
    name = "sitewise-execution"
    machine = default_registry().get(name)
    client = _client(
        name,
        [
            status_response(machine, "RUNNING"),
            client_error("ThrottlingException", 429),
            status_response(machine, "COMPLETED"),
        ],
    )
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    with structlog.testing.capture_logs() as logs:
        _wait(name, client)
    names = [e["event"] for e in logs]
    assert names == [
        "waiters.poll",
        "waiters.transition",
        "waiters.throttled",
        "waiters.poll",
        "waiters.transition",
        "waiters.finished",
    ]
    finished = logs[-1]
    assert finished == {
        "event": "waiters.finished",
        "log_level": "info",
        "type": name,
        "execution": f"{name}(executionId='{IDS[name]['executionId']}')",
        "outcome": "succeeded",
        "state": "COMPLETED",
        "attempts": 2,
        "elapsed": finished["elapsed"],
    }
    assert all(not isinstance(v, dict) for e in logs for v in e.values())


def test_outcome_carries_everything() -> None:
    """The outcome has state, kind, reason, response, attempts, elapsed and history."""
    name = "snow-execution"
    machine = default_registry().get(name)
    client = _client(
        name, [status_response(machine, "QUEUED"), status_response(machine, "SUCCEEDED")]
    )
    outcome = _wait(name, client)
    assert outcome.ok and outcome.state == "SUCCEEDED" and outcome.attempts == 2
    assert outcome.response is not None and outcome.response["state"] == "SUCCEEDED"
    assert [(t.state, t.kind) for t in outcome.history] == [
        ("QUEUED", StateKind.PENDING),
        ("SUCCEEDED", StateKind.SUCCEEDED),
    ]
    assert math.isclose(outcome.elapsed, client.times[-1] - client.times[0])
    assert repr(outcome).startswith("<Outcome succeeded snow-execution(")


def test_blocking_form_with_a_sync_client() -> None:
    """wait_for_sync waits with a plain (blocking) client from a script."""
    name = "snow-execution"
    machine = default_registry().get(name)
    client = _client(
        name,
        [status_response(machine, "QUEUED"), status_response(machine, "SUCCEEDED")],
        asynchronous=False,
    )
    job = execution(client, "describe_execution", **IDS[name])
    outcome = wait_for_sync(
        job, backoff=Backoff(min_delay=0.001, max_delay=0.002), budgets=BudgetRegistry(FREE)
    )
    assert outcome.ok and len(client.calls) == 2


def test_blocking_form_refuses_to_run_inside_a_loop() -> None:
    """Calling wait_for_sync from async code fails with a pointer to wait_for."""
    name = "snow-execution"
    machine = default_registry().get(name)
    client = _client(name, [status_response(machine, "SUCCEEDED")])

    async def inside() -> None:
        wait_for_sync(client, "describe_execution", **IDS[name])

    with pytest.raises(RuntimeError, match="use `await wait_for"):
        run_virtual(inside)


def test_an_endpoint_never_reached_ends_the_wait_after_the_grace_window() -> None:
    """Only refused connections, never one answer: an error outcome once the grace window
    has passed, not a wait until the deadline; a single blip is just retried."""
    from botocore.exceptions import EndpointConnectionError

    name = "snow-execution"
    machine = default_registry().get(name)
    refused = EndpointConnectionError(endpoint_url="https://snow.example.invalid")
    client = _client(name, [refused])
    with pytest.raises(ServiceError) as info:
        _wait(name, client, not_found_grace=20, timeout=3600)
    assert "cannot reach the endpoint" in str(info.value)
    assert 20 <= client.times[-1] - client.times[0] < 60
    blip = _client(name, [refused, status_response(machine, "SUCCEEDED")])
    assert _wait(name, blip).ok


def test_event_loops_and_clocks_follow_each_other_in_one_process() -> None:
    """A real-clock wait, then mock-clock waits on asyncio, trio and asyncio again, all on
    the default budgets and one shared registry: each ends as its answers say, none hangs."""
    import anyio

    from waiters.testing import MockClock

    name = "snow-execution"
    machine = default_registry().get(name)
    shared = BudgetRegistry(BudgetConfig(initial_rate=2, max_rate=2))

    def answers() -> ScriptedClient:
        running = status_response(machine, "IN_PROGRESS")
        return _client(name, [running, running, status_response(machine, "SUCCEEDED")])

    async def wait(**options: Any) -> Any:
        backoff = Backoff(min_delay=0.01, max_delay=0.02)
        return await wait_for(
            answers(), machine.method, **IDS[name], timeout=60, backoff=backoff, **options
        )

    outcomes = [anyio.run(wait), anyio.run(partial(wait, budgets=shared))]
    for start, backend in ((5e8, "asyncio"), (7.0, "trio"), (1e3, "asyncio")):
        outcomes.append(MockClock(start).run(wait, backend=backend))
        outcomes.append(MockClock(start).run(partial(wait, budgets=shared), backend=backend))
    assert [o.kind for o in outcomes] == [OutcomeKind.SUCCEEDED] * 8
    assert all(o.attempts == 3 for o in outcomes)


def test_options_that_belong_to_the_poller_are_refused_with_it() -> None:
    """wait_for(poller=...) raises on options the poller owns, naming them, and honours
    client= (the execution is bound to it)."""
    from waiters import InvalidExecution, Poller, execution

    name = "snow-execution"
    machine = default_registry().get(name)
    client = _client(name, [status_response(machine, "SUCCEEDED")])
    unbound = execution(name, **IDS[name])

    async def main() -> Any:
        async with Poller(budgets=BudgetRegistry(FREE)) as poller:
            conflicting: tuple[tuple[str, Any], ...] = (
                ("call_timeout", 5.0),
                ("budgets", BudgetRegistry()),
                ("logger", structlog.get_logger()),
                ("log_responses", True),
                ("session", object()),
            )
            for option, value in conflicting:
                with pytest.raises(InvalidExecution) as refused:
                    await wait_for(unbound, poller=poller, client=client, **{option: value})
                assert f"{option}={value!r} belongs to the poller; set it on Poller" in str(
                    refused.value
                )
            with pytest.raises(
                InvalidExecution,
                match=r"rng=<random.Random .*>, call_timeout=5\.0 belong to the poller; set them",
            ):
                await wait_for(unbound, poller=poller, call_timeout=5.0, rng=random.Random())
            return await wait_for(unbound, poller=poller, client=client)

    outcome = run_virtual(main)
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert len(client.calls) == 1
