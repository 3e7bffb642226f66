"""Events end to end over 127.0.0.1: the simulator's IoT and its queue, and moto's SQS.

Real aioboto3 clients. The simulator plays a rollout and publishes its
executions' events to its own queue (raw IoT rule payloads or EventBridge
envelopes), or forwards them to an SQS server nobody here wrote (moto's);
the poller hears them there. Every outcome must be the simulator's truth,
heard without the Describe and list calls polling alone would make.

The rollout's service time stands still until the poller has seen every
execution once and hears the queue (:class:`HeldClock`): what ends after
that is what the events must tell, however slow the machine is at starting
clients.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import aioboto3
import anyio
import pytest
from aiobotocore.config import AioConfig

from tests.motoserver import moto_queue
from waiters import POLL_RETRY_CONFIG, Execution, Poller, SqsEvents, default_registry
from waiters.simulator import EventConfig, ForwardSqs, Lifecycle, Simulator

JOB = default_registry().get("iot-job-execution")
COMMAND = default_registry().get("iot-command-execution")
# Speed 60: a rollout of about 80 s of service time in under 2 s.
SPEED = 60.0
LIFECYCLE = Lifecycle(
    pending=(0.0, 20.0), running=(10.0, 60.0), mix={"SUCCEEDED": 0.8, "FAILED": 0.2}
)
COMMAND_LIFECYCLE = Lifecycle(
    pending=(0.0, 20.0), running=(10.0, 60.0), mix={"SUCCEEDED": 0.8, "TIMED_OUT": 0.2}
)


class HeldClock:
    """The simulator's clock: held at its start until :meth:`release`, then running.

    A rollout at 60 times real speed ends within the first second; on a
    loaded machine the poller's clients may take that long to make their
    first call, and the first listing would then see the endings instead of
    the events telling them.  Holding service time until every execution has
    been seen, and the queue is heard, makes each test's rollout the same on
    any machine.
    """

    def __init__(self) -> None:
        self._start = time.time()
        self._released: float | None = None

    def __call__(self) -> float:
        released = self._released
        return self._start if released is None else self._start + time.time() - released

    def release(self) -> None:
        if self._released is None:
            self._released = time.time()


@pytest.fixture
def moto_sqs() -> Iterator[tuple[str, str]]:
    """moto's server on 127.0.0.1 with one queue: its endpoint and the queue's URL."""
    with moto_queue("job-events") as (endpoint, url, _):
        yield endpoint, url


async def _heard_rollout(
    sim: Simulator, clock: HeldClock, *, queue: tuple[str, str] | None, commands: bool = False
) -> tuple[Any, Poller]:
    session = aioboto3.Session()
    once = AioConfig(retries=dict(POLL_RETRY_CONFIG))

    def simulator() -> dict[str, Any]:
        kwargs = sim.client_kwargs()
        base = kwargs.get("config")
        kwargs["config"] = once if base is None else base.merge(once)
        return kwargs

    async with AsyncExitStack() as stack:
        iot = await stack.enter_async_context(session.client("iot", **simulator()))
        if queue is None:
            sqs_kwargs: dict[str, Any] = simulator()
            url = sim.events_queue_url
        else:
            endpoint, url = queue
            sqs_kwargs = {
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
                "config": once,
            }
        sqs = await stack.enter_async_context(session.client("sqs", **sqs_kwargs))
        if commands:
            ids = sim.fleet.add_command("cmd-1", 30, lifecycle=COMMAND_LIFECYCLE)
            executions = [Execution(COMMAND, i, iot) for i in ids]
        else:
            ids = sim.fleet.add_iot_job("job-1", things=40, lifecycle=LIFECYCLE)
            executions = [Execution(JOB, i, iot) for i in ids]
        source = SqsEvents(url, client=sqs, wait_time=2)
        seen: set[Execution] = set()

        def see(execution: Execution, _: object) -> None:
            seen.add(execution)

        async def release_once_heard(poller: Poller) -> None:
            # Until the queue is heard (its first receive answered) polling is the
            # safety net at its usual cadence; a loaded machine may take a second
            # or two to get there. The listener says it, but tells no one.
            while not (  # noqa: ASYNC110
                len(seen) == len(executions)
                and poller.listener is not None
                and poller.listener.healthy
            ):
                await anyio.sleep(0.005)
            clock.release()

        async with Poller(events=source, timeout=600, budgets=None) as poller:
            with anyio.fail_after(60):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(release_once_heard, poller)
                    result = await poller.wait_all(executions, on_transition=see)
    return result, poller


def _check(result: Any, sim: Simulator, machine: Any) -> None:
    """Every outcome is how the simulator says its execution ended."""
    for outcome in result.outcomes:
        truth = sim.fleet.truth(machine.name, **outcome.execution.params)
        assert outcome.state == truth[-1][0], (outcome, truth)


def _heard(result: Any) -> int:
    """Outcomes an event ended (their response is the event's payload)."""
    return sum(1 for o in result.outcomes if "eventType" in (o.response or {}))


@pytest.mark.parametrize("fmt", ["raw", "eventbridge"])
def test_a_rollout_heard_on_the_simulators_queue(fmt: str) -> None:
    """Raw IoT rule payloads and EventBridge envelopes alike: every outcome the truth, every
    ending heard, and after the first listing no Describe or list call but for the failures'
    reasons."""

    async def main() -> tuple[Any, Poller, Simulator]:
        clock = HeldClock()
        async with Simulator(
            seed=7, clock=clock, speed=SPEED, events=EventConfig(format=fmt)
        ) as sim:
            result, poller = await _heard_rollout(sim, clock, queue=None)
            return result, poller, sim

    result, poller, sim = anyio.run(main)
    _check(result, sim, JOB)
    assert poller.listener is not None
    assert _heard(result) == len(result.outcomes) == 40
    stats = sim.fleet.stats()
    describes = stats.get("iot:DescribeJobExecution", {}).get("served", 0)
    lists = stats.get("iot:ListJobExecutionsForJob", {}).get("served", 0)
    # Polling alone sweeps every 6 s for about two service minutes; heard, the one
    # listing that sees the executions first, and the stragglers' looks.
    assert lists <= 2, stats
    assert describes <= 10, stats


def test_command_executions_heard_on_the_simulators_queue() -> None:
    async def main() -> tuple[Any, Poller, Simulator]:
        clock = HeldClock()
        async with Simulator(seed=8, clock=clock, speed=SPEED, events=EventConfig()) as sim:
            result, poller = await _heard_rollout(sim, clock, queue=None, commands=True)
            return result, poller, sim

    result, poller, sim = anyio.run(main)
    _check(result, sim, COMMAND)
    assert poller.listener is not None
    assert _heard(result) == len(result.outcomes) == 30


def test_a_rollout_heard_on_motos_sqs(moto_sqs: tuple[str, str]) -> None:
    """The events forwarded to an SQS server nobody here wrote; the poller reads it."""
    endpoint, url = moto_sqs

    async def main() -> tuple[Any, Poller, Simulator]:
        forward = ForwardSqs(queue_url=url, endpoint_url=endpoint)
        clock = HeldClock()
        async with Simulator(
            seed=9, clock=clock, speed=SPEED, events=EventConfig(forward_to=forward)
        ) as sim:
            result, poller = await _heard_rollout(sim, clock, queue=moto_sqs)
            sim.fleet.events = None  # stop the forwarder before moto goes
            return result, poller, sim

    result, poller, sim = anyio.run(main)
    _check(result, sim, JOB)
    assert poller.listener is not None
    assert _heard(result) == len(result.outcomes) == 40
