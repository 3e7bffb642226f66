"""Push and poll: executions heard through an event queue, polling as the safety net.

On virtual time, with the in-process fleet for the service and an in-memory
queue (tests/fakesqs.py) that a publisher here fills from the fleet's ground
truth, lossy, duplicated and late as the test says. The simulator's own
queue and moto's serve the integration tests (tests/test_event_queues.py).
"""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tests.fakesqs import QUEUE_URL, FakeSqs, eventbridge, job_event
from tests.test_lagging_service import Observed
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    InvalidOption,
    OutcomeKind,
    Poller,
    SqsEvents,
    default_registry,
)
from waiters._eventspec import payloads
from waiters._sqs import Verdict
from waiters.simulator import Fleet, Lifecycle
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")
COMMAND = default_registry().get("iot-command-execution")
BACKOFF = Backoff(1.0, 30.0)
SWEEP = 8.0
STALENESS = 60.0
BUDGETS = BudgetConfig(initial_rate=50, max_rate=50)
LIFECYCLE = Lifecycle(
    pending=(0.0, 10.0),
    running=(5.0, 40.0),
    mix={"SUCCEEDED": 0.7, "FAILED": 0.2, "CANCELED": 0.1},
)


async def _publish(
    fleet: Fleet,
    queue: FakeSqs,
    things: list[str],
    *,
    rng: random.Random,
    loss: float,
    duplicate: float,
    delay: float,
    heard: dict[str, list[tuple[float, float]]],
    reasons: bool = True,
    reorder: float = 0.0,
) -> None:
    """Send each thing's state changes as events, at their times (plus delays); note in
    *heard* when each thing's events were sent (the listener takes them at once), and
    when the change each one reports happened."""
    sends: list[tuple[float, dict[str, Any]]] = []
    for thing in things:
        truth = fleet.truth("iot-job-execution", jobId="job", thingName=thing)
        mine: list[tuple[float, dict[str, Any]]] = []
        for version, (state, at) in enumerate(truth, start=1):
            if state is None:
                continue
            if rng.random() < loss:
                continue
            details = {"reason": "it broke"} if state == "FAILED" and reasons else None
            event = job_event(
                "job", thing, state, at_ms=int(at * 1000), version=version, details=details
            )
            copies = 2 if rng.random() < duplicate else 1
            for _ in range(copies):
                mine.append((at + rng.uniform(0.0, delay), event))
        mine.sort(key=lambda pair: pair[0])
        for index in range(len(mine) - 1, 0, -1):
            if rng.random() < reorder:
                # Held back until just after the next (in the same receive, after it).
                held = (mine[index][0], mine[index - 1][1])
                mine[index - 1], mine[index] = mine[index], held
        sends.extend(mine)
    sends.sort(key=lambda pair: pair[0])
    for at, event in sends:
        if at > anyio.current_time():
            # Those due at one moment go together, as a queue shows them at once.
            await anyio.sleep_until(at)
        queue.send(event)
        heard[event["thingArn"].rsplit("/", 1)[-1]].append((at, event["timestamp"] / 1000))


def _rollout(
    *,
    things: int,
    seed: int,
    batch: bool,
    loss: float = 0.0,
    duplicate: float = 0.0,
    delay: float = 0.0,
    events: bool = True,
    fail_at: float | None = None,
    heard: dict[str, list[tuple[float, float]]] | None = None,
    reasons: bool = True,
    failure_reasons: bool = False,
    reorder: float = 0.0,
) -> tuple[Any, Observed, Fleet, FakeSqs, Poller]:
    sent: dict[str, list[tuple[float, float]]] = heard if heard is not None else defaultdict(list)

    async def main() -> tuple[Any, Observed, Fleet, FakeSqs, Poller]:
        fleet = Fleet(seed=seed, clock=anyio.current_time)
        ids = fleet.add_iot_job("job", things=things, lifecycle=LIFECYCLE)
        queue = FakeSqs()
        rng = random.Random(seed)
        source = SqsEvents(QUEUE_URL, client=queue, staleness=STALENESS, silence=None)
        async with fleet.async_client("iot") as inner:
            client = Observed(inner, anyio.current_time)
            executions = [Execution(JOB, i, client) for i in ids]
            async with (
                Poller(
                    budgets=BudgetRegistry(BUDGETS),
                    backoff=BACKOFF,
                    sweep_interval=SWEEP,
                    batch=batch,
                    batch_min=10,
                    timeout=3600,
                    failure_reasons=failure_reasons,
                    events=source if events else None,
                    # The fleet's times are the virtual clock's, and so are its events'.
                    wall_clock=anyio.current_time,
                ) as poller,
                anyio.create_task_group() as tasks,
            ):
                tasks.start_soon(
                    lambda: _publish(
                        fleet,
                        queue,
                        [i["thingName"] for i in ids],
                        rng=rng,
                        loss=loss,
                        duplicate=duplicate,
                        delay=delay,
                        heard=sent,
                        reasons=reasons,
                        reorder=reorder,
                    )
                )
                if fail_at is not None:

                    async def fail() -> None:
                        await anyio.sleep(fail_at)
                        queue.fail = True

                    tasks.start_soon(fail)
                result = await poller.wait_all(executions)
                tasks.cancel_scope.cancel()
        return result, client, fleet, queue, poller

    return MockClock().run(main)


def _check_truth(result: Any, fleet: Fleet, bound: float) -> list[float]:
    """Every outcome is the truth, seen within *bound* of it; the detection latencies."""
    latencies = []
    for outcome in result.outcomes:
        thing = outcome.execution.params["thingName"]
        truth = fleet.truth("iot-job-execution", jobId="job", thingName=thing)
        assert outcome.state == truth[-1][0], (thing, outcome, truth)
        latency = outcome.elapsed - truth[-1][1]
        assert latency <= bound, (thing, latency, outcome.history)
        latencies.append(latency)
    return latencies


@pytest.mark.parametrize("batch", [True, False])
def test_heard_endings_are_seen_at_once_with_few_calls(batch: bool) -> None:
    """No loss, no delay: every ending is seen within a second of it, and the calls
    are a small part of what polling alone makes."""
    heard = _rollout(things=40, seed=3, batch=batch)
    polled = _rollout(things=40, seed=3, batch=batch, events=False)
    latencies = _check_truth(heard[0], heard[2], 1.0)
    assert max(latencies) <= 1.0
    calls_heard, calls_polled = heard[4].stats.calls, polled[4].stats.calls
    assert calls_heard * 3 <= calls_polled, (calls_heard, calls_polled)
    # Every message was taken and deleted once its event was entered.
    assert not heard[3].messages
    assert heard[4].listener is not None
    assert heard[4].listener.healthy


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    things=st.integers(20, 40),
    batch=st.booleans(),
    loss=st.sampled_from([0.0, 0.2, 1.0]),
    duplicate=st.sampled_from([0.0, 0.1, 0.5]),
    delay=st.sampled_from([0.0, 5.0, 30.0]),
    reasons=st.booleans(),
    failure_reasons=st.booleans(),
    reorder=st.sampled_from([0.0, 0.5, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_lost_duplicated_late_events_change_no_outcome(
    things: int,
    batch: bool,
    loss: float,
    duplicate: float,
    delay: float,
    reasons: bool,
    failure_reasons: bool,
    reorder: float,
    seed: int,
) -> None:
    """Whatever is lost, duplicated or late (so out of order), with or without the
    failures' reasons: every outcome is the truth, none later than the safety-net bound,
    and no execution goes unobserved longer. (Reported: a failure heard without its
    reason, then older events arriving late, put its confirming Describe off until the
    bound; its outcome came at the deadline, wait_timeout.)"""
    heard: dict[str, list[tuple[float, float]]] = defaultdict(list)
    result, client, fleet, _, _ = _rollout(
        things=things,
        seed=seed,
        batch=batch,
        loss=loss,
        duplicate=duplicate,
        delay=delay,
        heard=heard,
        reasons=reasons,
        failure_reasons=failure_reasons,
        reorder=reorder,
    )
    # The bound and what it takes to act on it: a listing, or a Describe in its turn.
    bound = STALENESS + SWEEP
    _check_truth(result, fleet, bound)
    for outcome in result.outcomes:
        thing = outcome.execution.params["thingName"]
        ended = outcome.elapsed
        # An ending heard is seen within moments of its event, whatever came late after
        # it: at most one Describe (for its reason) in its turn, never the safety net.
        truth_end = fleet.truth("iot-job-execution", jobId="job", thingName=thing)[-1][1]
        sent = [at for at, happened in heard[thing] if abs(happened - truth_end) < 0.002]
        if sent:
            assert ended <= min(sent) + 5.0, (thing, ended, min(sent), outcome.history)
        # An event observes its execution as of the change it reports, once it arrived.
        events = [happened for sent, happened in heard[thing] if sent <= ended]
        times = sorted(t for t in [*client.seen[thing], *events] if t <= ended)
        gaps = [b - a for a, b in itertools.pairwise([*times, ended])]
        assert max(gaps, default=0.0) <= bound, (thing, gaps)


def test_the_source_dying_hands_back_to_polling() -> None:
    """The queue fails mid-rollout: polling returns to its cadence (logged), outcomes right."""
    result, _, fleet, queue, poller = _rollout(things=30, seed=5, batch=True, fail_at=12.0)
    # Polling's own bound: max_delay plus a sweep, and the listing.
    _check_truth(result, fleet, float(BACKOFF.max_delay) + SWEEP + 5.0)  # type: ignore[arg-type]
    assert queue.fail
    assert poller.listener is not None
    assert not poller.listener.healthy


def test_an_event_bridge_envelope_reads_as_the_raw_payload() -> None:
    payload = job_event("job", "t1", "SUCCEEDED", at_ms=5)
    wrapped = eventbridge(payload, "IoT Job Execution Status Change")
    assert next(iter(payloads(json.dumps(wrapped)))) == payload
    sns = {"Type": "Notification", "Message": json.dumps(payload)}
    assert list(payloads(json.dumps(sns))) == [payload]
    assert list(payloads("not json")) == []
    assert JOB.events is not None
    event = JOB.events.read(payload, ("jobId", "thingName"))
    assert event is not None
    assert event.key == ("job", "t1")
    assert event.state == "SUCCEEDED"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("queue_url", "sqs/events"),
        ("staleness", 0.5),
        ("silence", 0),
        ("wait_time", 21),
        ("max_messages", 11),
        ("visibility_timeout", 1.5),
        ("shared", "yes"),
        ("receivers", 0),
        ("receivers", 33),
        ("client", object()),
    ],
)
def test_bad_options_are_refused_naming_the_field(field: str, value: Any) -> None:
    options: dict[str, Any] = {"queue_url": QUEUE_URL, field: value}
    with pytest.raises(InvalidOption, match=f"SqsEvents.{field}"):
        SqsEvents(**options)


# --- one wait at a time, on a scripted queue -------------------------------------------


async def _waits(
    ids: list[dict[str, str]],
    fleet: Fleet,
    queue: FakeSqs,
    *,
    machine: Any = JOB,
    batch: bool = False,
    failure_reasons: bool = False,
    source: SqsEvents | None = None,
    send: Any = None,
) -> tuple[Any, Poller]:
    service = "iot"
    async with fleet.async_client(service) as client:
        executions = [Execution(machine, i, client) for i in ids]
        async with (
            Poller(
                budgets=BudgetRegistry(BUDGETS),
                backoff=BACKOFF,
                batch=batch,
                batch_min=10,
                timeout=3600,
                failure_reasons=failure_reasons,
                events=source or SqsEvents(QUEUE_URL, client=queue, staleness=STALENESS),
                wall_clock=anyio.current_time,
            ) as poller,
            anyio.create_task_group() as tasks,
        ):
            if send is not None:
                tasks.start_soon(send)
            result = await poller.wait_all(executions)
            tasks.cancel_scope.cancel()
    return result, poller


def _calls(fleet: Fleet, operation: str) -> int:
    """Requests the fleet served for *operation* (``"iot:DescribeJobExecution"``)."""
    entry = fleet.stats().get(operation, {})
    return int(entry.get("served", 0)) + int(entry.get("throttled", 0))


def _failing_job(things: int) -> tuple[Fleet, list[dict[str, str]]]:
    fleet = Fleet(seed=1, clock=anyio.current_time)
    lifecycle = Lifecycle(pending=(0.0, 1.0), running=(20.0, 30.0), mix={"FAILED": 1.0})
    return fleet, fleet.add_iot_job("job", things=things, lifecycle=lifecycle)


def _send_endings(fleet: Fleet, queue: FakeSqs, ids: list[dict[str, str]], *, details: bool) -> Any:
    async def send() -> None:
        endings = []
        for i in ids:
            state, at = fleet.truth("iot-job-execution", **i)[-1]
            assert state is not None
            endings.append((at, i["thingName"], state))
        for at, thing, state in sorted(endings):
            await anyio.sleep_until(at)
            reason = {"reason": "disk full"} if details else None
            queue.send(job_event("job", thing, state, at_ms=int(at * 1000), details=reason))

    return send


@pytest.mark.parametrize("details", [True, False])
def test_a_failure_event_without_its_reason_is_described_once_for_it(details: bool) -> None:
    """Described executions: the outcome says why, as without events; an event that
    does not say is completed by one Describe, one that does needs none."""

    async def main() -> tuple[Any, Poller, Fleet]:
        fleet, ids = _failing_job(3)
        queue = FakeSqs()
        result, poller = await _waits(
            ids, fleet, queue, send=_send_endings(fleet, queue, ids, details=details)
        )
        return result, poller, fleet

    result, _, fleet = MockClock().run(main)
    for outcome in result.outcomes:
        assert outcome.kind is OutcomeKind.FAILED
        thing = outcome.execution.params["thingName"]
        ended = fleet.truth("iot-job-execution", jobId="job", thingName=thing)[-1][1]
        assert outcome.elapsed - ended <= 1.0
        # The event's reason, or the one its Describe read.
        assert outcome.reason == ("reason=disk full" if details else "result=failed")
    describes = _calls(fleet, "iot:DescribeJobExecution")
    # The first look at each (their first polls), then the retries allowance; and with
    # no reason in the event, one more Describe each.
    first = 3
    assert describes == (first if details else 2 * first), describes


@pytest.mark.parametrize("failure_reasons", [True, False])
def test_a_swept_failure_heard_without_its_reason_follows_failure_reasons(
    failure_reasons: bool,
) -> None:
    """Swept executions: as for a list item, the reason is read only when asked for."""

    async def main() -> tuple[Any, Fleet]:
        fleet, ids = _failing_job(30)
        queue = FakeSqs()
        result, _ = await _waits(
            ids,
            fleet,
            queue,
            batch=True,
            failure_reasons=failure_reasons,
            send=_send_endings(fleet, queue, ids, details=False),
        )
        return result, fleet

    result, fleet = MockClock().run(main)
    describes = _calls(fleet, "iot:DescribeJobExecution")
    for outcome in result.outcomes:
        assert outcome.kind is OutcomeKind.FAILED
        assert outcome.reason is not None
        if failure_reasons:
            assert outcome.reason == "result=failed"  # as its Describe read it
        else:
            assert outcome.reason == "ended FAILED; its event gives no reason"
    assert describes == (30 if failure_reasons else 0)


@pytest.mark.parametrize("shared", [False, True])
def test_messages_for_nobody_here_are_dropped_or_released(shared: bool) -> None:
    """On a queue of its own the poller deletes what is not its (an event for another
    execution, a message nobody could read); on a shared one it releases them for the
    other consumers, and deletes one only once it went round release_limit times."""

    async def main() -> tuple[FakeSqs, Poller, Any]:
        fleet = Fleet(seed=1, clock=anyio.current_time)
        lifecycle = Lifecycle(pending=(0.0, 1.0), running=(30.0, 30.0), mix={"SUCCEEDED": 1.0})
        ids = fleet.add_iot_job("job", things=1, lifecycle=lifecycle)
        queue = FakeSqs()
        other = queue.send(job_event("job", "somebody-else", "SUCCEEDED", at_ms=1))
        garbage = queue.send("<not an event>")
        source = SqsEvents(
            QUEUE_URL, client=queue, staleness=STALENESS, shared=shared, release_limit=3
        )

        async def send() -> None:
            await anyio.sleep(31)
            queue.send(job_event("job", "thing-00001", "SUCCEEDED", at_ms=31_000))

        result, poller = await _waits(ids, fleet, queue, source=source, send=send)
        return queue, poller, (other, garbage, result)

    queue, poller, (other, garbage, result) = MockClock().run(main)
    assert result.outcomes[0].kind is OutcomeKind.SUCCEEDED
    assert poller.listener is not None
    verdicts = poller.listener.verdicts
    if shared:
        # Released twice each (received 1 and 2 times), deleted at the third receive.
        assert queue.released.count(other) == 2
        assert queue.released.count(garbage) == 2
        assert other in queue.deleted and garbage in queue.deleted
        assert verdicts[Verdict.NOBODY] == 3 and verdicts[Verdict.FOREIGN] == 3
    else:
        assert queue.released == []
        assert other in queue.deleted and garbage in queue.deleted
        assert verdicts[Verdict.NOBODY] == 1 and verdicts[Verdict.FOREIGN] == 1
    assert verdicts[Verdict.TAKEN] == 1


def test_a_silent_source_hands_back_to_polling_until_it_speaks() -> None:
    """Nothing heard for `silence` seconds: logged, polled at the normal cadence; the
    next message makes it heard again (logged at info level), until the next silence."""

    async def main() -> tuple[Any, Poller, Fleet, list[Any]]:
        fleet = Fleet(seed=1, clock=anyio.current_time, record_requests=True)
        lifecycle = Lifecycle(pending=(0.0, 1.0), running=(200.0, 200.0), mix={"SUCCEEDED": 1.0})
        ids = fleet.add_iot_job("job", things=2, lifecycle=lifecycle)
        queue = FakeSqs()
        source = SqsEvents(QUEUE_URL, client=queue, staleness=STALENESS, silence=40)

        async def send() -> None:
            await anyio.sleep(120)
            # Any message at all says the source is alive.
            queue.send("a heartbeat nobody reads")

        with capture_logs() as logs:
            result, poller = await _waits(ids, fleet, queue, source=source, send=send)
        return result, poller, fleet, logs

    result, _, fleet, logs = MockClock().run(main)
    # Silent from 40 s; heard again at 120 s (a message), silent again from 160 s.
    unhealthy = [e for e in logs if e["event"] == "waiters.events_unhealthy"]
    assert [e["reason"] for e in unhealthy] == ["no message for 40s"] * 2
    # Silent from 40 s to 120 s: polled at the backoff's cadence then, not once a minute.
    times = [r.clock_time for r in fleet.requests if r.operation == "iot:DescribeJobExecution"]
    quiet = [t for t in times if 45 <= t <= 120]
    assert len(quiet) >= 2 * 2, times
    assert all(o.kind is OutcomeKind.SUCCEEDED for o in result.outcomes)


def test_silence_shorter_than_a_long_poll_is_judged_in_time() -> None:
    """Reported: silence=2 with the default 20 s long polls was judged at 23 s. Long polls
    are kept within the silence, so it is judged when it is due."""

    async def main() -> list[Any]:
        fleet = Fleet(seed=1, clock=anyio.current_time)
        lifecycle = Lifecycle(pending=(0.0, 1.0), running=(30.0, 30.0), mix={"SUCCEEDED": 1.0})
        ids = fleet.add_iot_job("job", things=2, lifecycle=lifecycle)
        queue = FakeSqs()
        source = SqsEvents(QUEUE_URL, client=queue, staleness=STALENESS, silence=2)
        with capture_logs() as logs:
            await _waits(ids, fleet, queue, source=source)
        return logs

    logs = MockClock().run(main)
    first = next(e for e in logs if e["event"] == "waiters.events_unhealthy")
    assert first["reason"] == "no message for 2s"


def test_command_executions_are_heard_too() -> None:
    """The other type with events: a command's executions, each described on its own."""

    async def main() -> tuple[Any, Fleet]:
        fleet = Fleet(seed=2, clock=anyio.current_time)
        lifecycle = Lifecycle(pending=(0.0, 1.0), running=(50.0, 90.0), mix={"SUCCEEDED": 1.0})
        ids = fleet.add_command("cmd", 3, lifecycle=lifecycle)
        queue = FakeSqs()

        async def send() -> None:
            endings = sorted((fleet.truth("iot-command-execution", **i)[-1][1], i) for i in ids)
            for at, i in endings:
                await anyio.sleep_until(at)
                queue.send(
                    eventbridge(
                        {
                            "eventType": "COMMAND_EXECUTION",
                            "timestamp": int(at * 1000),
                            "executionId": i["executionId"],
                            "targetArn": i["targetArn"],
                            "status": "SUCCEEDED",
                        },
                        "IoT Command Execution Status Change",
                    )
                )

        result, _ = await _waits(ids, fleet, queue, machine=COMMAND, send=send)
        return result, fleet

    result, fleet = MockClock().run(main)
    for outcome in result.outcomes:
        assert outcome.kind is OutcomeKind.SUCCEEDED
        ended = fleet.truth("iot-command-execution", **outcome.execution.params)[-1][1]
        assert outcome.elapsed - ended <= 1.0
    # One look each at the start, then nothing until they were heard ending.
    assert _calls(fleet, "iot:GetCommandExecution") <= 3 * 2


def test_a_visibility_timeout_within_the_call_timeout_is_refused() -> None:
    """A message must stay hidden while its handling runs, and that may take a call."""
    source = SqsEvents(QUEUE_URL, client=FakeSqs(), visibility_timeout=30)
    with pytest.raises(InvalidOption, match=r"visibility_timeout \(30 s\).*call_timeout \(30 s\)"):
        Poller(events=source, call_timeout=30)
    Poller(events=source, call_timeout=29)  # longer than the call timeout: fine
