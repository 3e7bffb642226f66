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

from tests.fakesqs import QUEUE_URL, FakeSqs, eventbridge, job_event
from tests.test_lagging_service import Observed
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    InvalidOption,
    Poller,
    SqsEvents,
    default_registry,
)
from waiters._eventspec import payloads
from waiters.simulator import Fleet, Lifecycle
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")
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
) -> None:
    """Send each thing's state changes as events, at their times (plus delays); note in
    *heard* when each thing's events were sent (the listener takes them at once), and
    when the change each one reports happened."""
    sends: list[tuple[float, dict[str, Any]]] = []
    for thing in things:
        truth = fleet.truth("iot-job-execution", jobId="job", thingName=thing)
        for version, (state, at) in enumerate(truth, start=1):
            if state is None:
                continue
            if rng.random() < loss:
                continue
            details = {"reason": "it broke"} if state == "FAILED" else None
            event = job_event(
                "job", thing, state, at_ms=int(at * 1000), version=version, details=details
            )
            copies = 2 if rng.random() < duplicate else 1
            for _ in range(copies):
                sends.append((at + rng.uniform(0.0, delay), event))
    sends.sort(key=lambda pair: pair[0])
    for at, event in sends:
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
    seed=st.integers(0, 10_000),
)
def test_lost_duplicated_late_events_change_no_outcome(
    things: int, batch: bool, loss: float, duplicate: float, delay: float, seed: int
) -> None:
    """Whatever is lost, duplicated or late (so out of order): every outcome is the truth,
    none later than the safety-net bound, and no execution goes unobserved longer."""
    heard: dict[str, list[tuple[float, float]]] = defaultdict(list)
    result, client, fleet, _, _ = _rollout(
        things=things,
        seed=seed,
        batch=batch,
        loss=loss,
        duplicate=duplicate,
        delay=delay,
        heard=heard,
    )
    # The bound and what it takes to act on it: a listing, or a Describe in its turn.
    bound = STALENESS + SWEEP
    _check_truth(result, fleet, bound)
    for outcome in result.outcomes:
        thing = outcome.execution.params["thingName"]
        ended = outcome.elapsed
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
        ("client", object()),
    ],
)
def test_bad_options_are_refused_naming_the_field(field: str, value: Any) -> None:
    options: dict[str, Any] = {"queue_url": QUEUE_URL, field: value}
    with pytest.raises(InvalidOption, match=f"SqsEvents.{field}"):
        SqsEvents(**options)
