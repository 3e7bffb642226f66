"""A user's script, typed with the client stubs: checked by mypy --strict in the tests."""

from __future__ import annotations

from datetime import timedelta

import aioboto3
from botocore.config import Config
from types_aiobotocore_iot import IoTClient

from waiters import (
    BatchResult,
    FailFast,
    Outcome,
    OutcomeKind,
    Poller,
    Progress,
    StateKind,
    execution,
    wait_for,
)


async def one(iot: IoTClient) -> OutcomeKind:
    outcome: Outcome = await wait_for(
        iot, "describe_job_execution", jobId="j", thingName="t", timeout=600
    )
    state: str | None = outcome.state
    attempts: int = outcome.attempts
    print(state, attempts, outcome.reason)
    return outcome.kind


async def many(thing_names: list[str]) -> dict[OutcomeKind, int]:
    session = aioboto3.Session()
    async with session.client("iot", region_name="eu-west-1") as iot:
        jobs = [
            execution(iot, "describe_job_execution", jobId="rollout-7", thingName=name)
            for name in thing_names
        ]
        async with Poller(
            timeout=timedelta(minutes=30),
            region_name="eu-west-1",
            client_config=Config(read_timeout=10),
        ) as poller:
            batch = await poller.submit(jobs, fail_fast=FailFast(fraction=0.1))
            async for outcome in batch:
                print(outcome.execution.describe(), outcome.kind.value)
            progress: Progress = batch.progress()
            waiting: dict[StateKind | None, int] = dict(progress.kinds)
            print(waiting)
            result: BatchResult = await batch.wait()
    failed = [o for o in result if o.kind is OutcomeKind.FAILED]
    print(len(failed), result.ok)
    return dict(result.counts)
