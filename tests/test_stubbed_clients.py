"""Waits driven by real boto3 and aiobotocore clients, answered by botocore's Stubber.

The Stubber validates every canned response against the service model, so
these pin that the definitions read the real response shapes.
"""

from __future__ import annotations

from typing import Any

import aioboto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tests.clients import async_client, sync_client
from tests.test_wait import FREE, IDS
from waiters import Backoff, BudgetRegistry, OutcomeKind, default_registry, wait_for, wait_for_sync
from waiters.testing import run_virtual

# One realistic response per type, in progress then terminal; shapes per the botocore model.
_RESPONSES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "iot-job-execution": (
        {
            "execution": {
                "jobId": "job-1",
                "status": "IN_PROGRESS",
                "versionNumber": 2,
                "approximateSecondsBeforeTimedOut": 300,
            }
        },
        {"execution": {"jobId": "job-1", "status": "SUCCEEDED", "versionNumber": 3}},
    ),
    "iot-command-execution": (
        {"executionId": "exec-1", "status": "IN_PROGRESS", "executionTimeoutSeconds": 60},
        {"executionId": "exec-1", "status": "SUCCEEDED"},
    ),
    "sitewise-execution": (
        {
            "executionId": IDS["sitewise-execution"]["executionId"],
            "targetResource": {"assetId": "0f8e5a1c-2222-4a2b-9c3d-123456789abc"},
            "targetResourceVersion": "1",
            "executionStartTime": 1_700_000_000,
            "executionStatus": {"state": "RUNNING"},
        },
        {
            "executionId": IDS["sitewise-execution"]["executionId"],
            "targetResource": {"assetId": "0f8e5a1c-2222-4a2b-9c3d-123456789abc"},
            "targetResourceVersion": "1",
            "executionStartTime": 1_700_000_000,
            "executionStatus": {"state": "COMPLETED"},
        },
    ),
    "snow-execution": (
        {"executionId": "e-1", "state": "IN_PROGRESS"},
        {"executionId": "e-1", "state": "SUCCEEDED"},
    ),
    "transfer-execution": (
        {
            "WorkflowId": IDS["transfer-execution"]["WorkflowId"],
            "Execution": {
                "ExecutionId": IDS["transfer-execution"]["ExecutionId"],
                "Status": "IN_PROGRESS",
            },
        },
        {
            "WorkflowId": IDS["transfer-execution"]["WorkflowId"],
            "Execution": {
                "ExecutionId": IDS["transfer-execution"]["ExecutionId"],
                "Status": "COMPLETED",
            },
        },
    ),
}
_CLIENT_ARGS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "config": Config(retries={"max_attempts": 1}),
}


@pytest.mark.parametrize("name", sorted(_RESPONSES))
def test_boto3_client_for_every_type(name: str) -> None:
    """A plain boto3 client, the blocking form, and the modeled responses of every type."""
    machine = default_registry().get(name)
    client = sync_client(machine.service, **_CLIENT_ARGS)
    running, done = _RESPONSES[name]
    with Stubber(client) as stub:
        stub.add_response(machine.method, running, IDS[name])
        stub.add_response(machine.method, done, IDS[name])
        outcome = wait_for_sync(
            client,
            machine.method,
            **IDS[name],
            backoff=Backoff(min_delay=0.001, max_delay=0.002),
            budgets=BudgetRegistry(FREE),
        )
        stub.assert_no_pending_responses()
    client.close()
    assert outcome.kind is OutcomeKind.SUCCEEDED
    assert [t.state for t in outcome.history] == [
        machine.evaluate(running)[0],
        machine.evaluate(done)[0],
    ]


@pytest.mark.parametrize("name", sorted(_RESPONSES))
def test_aioboto3_client_for_every_type(name: str) -> None:
    """An aioboto3 client awaited on virtual time, for every type."""
    machine = default_registry().get(name)
    running, done = _RESPONSES[name]

    async def main() -> Any:
        session = aioboto3.Session()
        async with async_client(session, machine.service, **_CLIENT_ARGS) as client:
            with Stubber(client) as stub:
                stub.add_response(machine.method, running, IDS[name])
                stub.add_response(machine.method, done, IDS[name])
                outcome = await wait_for(
                    client, machine.method, **IDS[name], budgets=BudgetRegistry(FREE), timeout=600
                )
                stub.assert_no_pending_responses()
                return outcome

    outcome = run_virtual(main)
    assert outcome.ok and outcome.attempts == 2


def test_stubbed_throttle_and_vanish_on_transfer() -> None:
    """A modeled throttle, then the not-found Transfer answers once a workflow ends."""
    name = "transfer-execution"
    machine = default_registry().get(name)
    client = sync_client("transfer", **_CLIENT_ARGS)
    with Stubber(client) as stub:
        stub.add_response(machine.method, _RESPONSES[name][0], IDS[name])
        stub.add_client_error(machine.method, "ThrottlingException", http_status_code=400)
        stub.add_client_error(machine.method, "ResourceNotFoundException", http_status_code=400)
        outcome = wait_for_sync(
            client,
            machine.method,
            **IDS[name],
            raise_on_failure=False,
            backoff=Backoff(min_delay=0.001, max_delay=0.002),
            budgets=BudgetRegistry(FREE),
        )
    client.close()
    assert outcome.kind is OutcomeKind.VANISHED and outcome.attempts == 2
