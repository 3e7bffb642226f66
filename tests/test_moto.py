"""Against an AWS-compatible server nobody here wrote: moto's IoT, over loopback.

moto serves ``DescribeJob``, ``DescribeJobExecution`` and
``ListJobExecutionsForJob``; its job counts never move (and do not add up to
the job's targets), and every answer carries the same version number. A
batch with batch observation on must still see every execution end, because
counts and versions only ever make a wait cheaper, never blind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aioboto3
import anyio
import pytest

from tests.motoserver import moto_running
from waiters import Backoff, BudgetRegistry, OutcomeKind, Poller, execution

moto_iot = pytest.importorskip("moto.iot.models")

REGION = "us-east-1"
THINGS = 30
# moto's account for any credentials (moto.core.DEFAULT_ACCOUNT_ID).
ACCOUNT = "123456789012"
ENDINGS = {
    "SUCCEEDED": OutcomeKind.SUCCEEDED,
    "FAILED": OutcomeKind.FAILED,
    "CANCELED": OutcomeKind.CANCELLED,
    "TIMED_OUT": OutcomeKind.FAILED,
    "REJECTED": OutcomeKind.FAILED,
}


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port), stopped after the test."""
    with moto_running() as endpoint:
        yield endpoint


def _client_kwargs(endpoint: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


def test_a_default_batch_sees_every_ending_while_the_counts_never_move(
    moto_endpoint: str,
) -> None:
    """30 executions moved in moto's backend while a batch with list sweeps waits."""
    endings = [list(ENDINGS)[i % len(ENDINGS)] for i in range(THINGS)]

    async def main() -> Any:
        session = aioboto3.Session()
        async with session.client("iot", **_client_kwargs(moto_endpoint)) as iot:
            arns = [
                (await iot.create_thing(thingName=f"thing-{i:02d}"))["thingArn"]
                for i in range(THINGS)
            ]
            await iot.create_job(jobId="rollout-1", targets=arns, document="{}")
            backend = moto_iot.iot_backends[ACCOUNT][REGION]

            async def move() -> None:
                # Each execution starts, then ends, at its own moment, as devices do.
                for i in range(THINGS):
                    job_execution = backend.job_executions[("rollout-1", f"thing-{i:02d}")]
                    job_execution.status = "IN_PROGRESS"
                    await anyio.sleep(0.05)
                for i in range(THINGS):
                    job_execution = backend.job_executions[("rollout-1", f"thing-{i:02d}")]
                    job_execution.status = endings[i]
                    await anyio.sleep(0.1)

            jobs = [
                execution(iot, "describe_job_execution", jobId="rollout-1", thingName=name)
                for name in (f"thing-{i:02d}" for i in range(THINGS))
            ]
            # Default options (batch observation on, 20 to form a group), on a time
            # scale ten times faster, so the test takes seconds rather than minutes.
            async with (
                Poller(
                    backoff=Backoff(0.1, 3.0),
                    sweep_interval=0.8,
                    timeout=60,
                    budgets=BudgetRegistry(),
                ) as poller,
                anyio.create_task_group() as tasks,
            ):
                tasks.start_soon(move)
                result = await poller.wait_all(jobs)
            return result, poller

    result, poller = anyio.run(main)
    got = {o.execution.params["thingName"]: (o.kind, o.state) for o in result.outcomes}
    want = {f"thing-{i:02d}": (ENDINGS[endings[i]], endings[i]) for i in range(THINGS)}
    assert got == want
    # Cheaper than describing each one every poll, never blind: every outcome came.
    assert poller.stats.calls < THINGS * 20
