"""The in-process fake clients: boto3's surface without HTTP."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ParamValidationError
from botocore.model import ServiceModel
from hypothesis import given, settings
from hypothesis import strategies as st

from waiters.simulator import FakeClient, Faults, Fleet, Latency, Reply, Simulator
from waiters.simulator._protocol import Backend, OperationSpec

from .helpers import EPOCH, WORKFLOW_ID, FakeClock


@pytest.fixture
def real_iot(served: Simulator) -> Iterator[Any]:
    """A real boto3 IoT client (only used for its client-side validation)."""
    client = boto3.client("iot", **served.client_kwargs())
    yield client
    client.close()


@pytest.mark.parametrize(
    "params",
    [
        {"jobId": "job-1"},  # missing thingName
        {"jobId": "job-1", "thingName": 7},  # wrong type
        {"jobId": "", "thingName": "thing-00001"},  # below the model's min length
        {"jobId": "job-1", "thingName": "thing-00001", "colour": "blue"},  # unknown parameter
    ],
)
def test_parameter_validation_matches_boto3(
    fleet: Fleet, real_iot: Any, params: dict[str, Any]
) -> None:
    """Bad parameters raise ParamValidationError with boto3's exact report."""
    fleet.add_iot_job("job-1", 1)
    with pytest.raises(ParamValidationError) as real:
        real_iot.describe_job_execution(**params)
    with pytest.raises(ParamValidationError) as fake:
        fleet.client("iot").describe_job_execution(**params)
    assert str(fake.value) == str(real.value)


def test_positional_arguments_are_refused_like_boto3(fleet: Fleet) -> None:
    """boto3 methods take keyword arguments only; so do the fakes."""
    with pytest.raises(TypeError, match="only accepts keyword arguments"):
        fleet.client("iot").describe_job("job-1")


def test_client_surface(fleet: Fleet) -> None:
    """meta, exceptions and methods mirror a boto3 client; unknown names are AttributeErrors."""
    client = fleet.client("iotsitewise", region="eu-west-1")
    assert isinstance(client.meta.service_model, ServiceModel)
    assert client.meta.service_model is fleet.client("iotsitewise").meta.service_model  # cached
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "inprocess://"
    assert client.meta.method_to_api_mapping["describe_execution"] == "DescribeExecution"
    assert issubclass(client.exceptions.ResourceNotFoundException, ClientError)
    with pytest.raises(AttributeError, match="describe_job_execution"):
        _ = client.describe_job_execution  # an IoT method, not a SiteWise one
    with pytest.raises(ClientError, match="NotImplemented"):
        client.list_assets()
    client.close()


def test_timestamps_are_aware_datetimes_equal_to_the_schedule(
    fleet: Fleet, clock: FakeClock
) -> None:
    """Timestamps come back as timezone-aware datetimes at the scheduled instants."""
    ids = fleet.add(
        "iot-job-execution", parent="job-1", schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 2.5)]
    )[0]
    clock.advance(3.0)
    execution = fleet.client("iot").describe_job_execution(**ids)["execution"]
    assert execution["queuedAt"] == datetime.datetime.fromtimestamp(EPOCH, datetime.UTC)
    assert execution["startedAt"] == datetime.datetime.fromtimestamp(EPOCH + 2.5, datetime.UTC)
    assert execution["startedAt"].tzinfo is not None


def test_response_metadata_like_botocore(fleet: Fleet) -> None:
    """Successful calls carry ResponseMetadata with status 200, a request id and zero retries."""
    fleet.add_iot_job("job-1", 1)
    metadata = fleet.client("iot").describe_job(jobId="job-1")["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 200
    assert metadata["RetryAttempts"] == 0
    assert metadata["HTTPHeaders"]["x-amzn-requestid"] == metadata["RequestId"]
    assert len(metadata["RequestId"]) == 36


def test_sync_paginator_walks_every_page(fleet: Fleet) -> None:
    """get_paginator drives the fake method through botocore's own Paginator."""
    fleet.add_iot_job("job-1", 23)
    client = fleet.client("iot")
    assert client.can_paginate("list_job_executions_for_job")
    assert not client.can_paginate("describe_job")
    pages = list(
        client.get_paginator("list_job_executions_for_job").paginate(
            jobId="job-1", PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(page["executionSummaries"]) for page in pages] == [5, 5, 5, 5, 3]


@pytest.mark.asyncio
async def test_async_client_and_paginator(fleet: Fleet) -> None:
    """The async fake is an async context manager whose methods and paginators are awaitable."""
    created = fleet.add_transfer_workflow(WORKFLOW_ID, 7)
    async with fleet.async_client("transfer") as transfer:
        described = await transfer.describe_execution(**created[0])
        assert described["Execution"]["ExecutionId"] == created[0]["ExecutionId"]
        ids = [
            item["ExecutionId"]
            async for page in transfer.get_paginator("list_executions").paginate(
                WorkflowId=WORKFLOW_ID, PaginationConfig={"PageSize": 3}
            )
            for item in page["Executions"]
        ]
    assert ids == [c["ExecutionId"] for c in created]


@pytest.mark.asyncio
async def test_async_calls_always_yield_to_the_loop(fleet: Fleet) -> None:
    """Every async call passes a checkpoint, so a busy poller cannot starve other tasks."""
    ids = fleet.add_iot_job("job-1", 1)[0]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    async with fleet.async_client("iot") as iot:
        for _ in range(50):
            await iot.describe_job_execution(**ids)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ticks >= 49


@pytest.mark.asyncio
async def test_async_latency_sleeps_on_the_event_loop() -> None:
    """Latency faults are awaited with anyio.sleep on the loop's clock."""
    loop = asyncio.get_running_loop()
    fleet = Fleet(clock=loop.time, faults=Faults(latency=Latency(low=0.05, high=0.05)))
    ids = fleet.add_iot_job("job-1", 1)[0]
    async with fleet.async_client("iot") as iot:
        started = loop.time()
        await iot.describe_job_execution(**ids)
        assert loop.time() - started >= 0.05


@pytest.mark.asyncio
async def test_async_faults_raise_botocore_errors() -> None:
    """Async fakes raise the same botocore exceptions as aiobotocore for each fault kind."""
    fleet = Fleet(clock=FakeClock())
    ids = fleet.add_snow_task("task-1", 1)[0]
    async with fleet.async_client("snow-device-management") as snow:
        fleet.faults = Faults(reset=1.0)
        with pytest.raises(ConnectionClosedError):
            await snow.describe_execution(**ids)
        fleet.faults = Faults(throttle=1.0)
        with pytest.raises(snow.exceptions.ThrottlingException) as caught:
            await snow.describe_execution(**ids)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        fleet.faults = Faults(error_5xx=1.0)
        with pytest.raises(snow.exceptions.InternalServerException):
            await snow.describe_execution(**ids)
        fleet.faults = None
        assert (await snow.describe_execution(**ids))["state"] == "QUEUED"


class _OneAnswer:
    """A backend that is not a fleet: it answers every request with the same body."""

    region = "eu-north-1"

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any], str | None]] = []

    def handle_spec(
        self, spec: OperationSpec, params: Mapping[str, Any], region: str | None
    ) -> Reply:
        self.seen.append((spec.key, dict(params), region))
        return Reply(200, body={"job": {"jobId": params["jobId"], "createdAt": EPOCH}})

    def next_request_id(self) -> str:
        return "request-1"


def test_clients_need_only_a_backend() -> None:
    """Any Backend can sit behind the clients; they never reach into a Fleet."""
    backend = _OneAnswer()
    typed: Backend = backend  # what the clients require, checked by mypy
    client = FakeClient(typed, "iot")
    response = client.describe_job(jobId="job-9")
    assert response["job"]["jobId"] == "job-9"
    assert response["job"]["createdAt"] == datetime.datetime.fromtimestamp(EPOCH, datetime.UTC)
    assert response["ResponseMetadata"]["RequestId"] == "request-1"
    assert client.meta.region_name == "eu-north-1"
    assert backend.seen == [("iot:DescribeJob", {"jobId": "job-9"}, None)]


@settings(max_examples=50, deadline=None)
@given(now=st.floats(0, 2e9, allow_nan=False), offsets=st.booleans())
def test_an_execution_exists_from_the_instant_it_is_added(now: float, offsets: bool) -> None:
    """Added at clock time t, an execution answers a describe at that same t, whatever
    the fraction of a millisecond t falls on (times are kept to the millisecond, rounded
    down: rounding up made a describe right after the add, the reported flake, miss it)."""
    fleet = Fleet(clock=lambda: now, seed=1)
    if offsets:
        (ids,) = fleet.add(
            "iot-job-execution", 1, parent="job-1", schedule=[("QUEUED", 0.0), ("SUCCEEDED", 5)]
        )
    else:
        (ids,) = fleet.add_iot_job("job-1", 1)
    answer = fleet.client("iot").describe_job_execution(**ids)
    assert answer["execution"]["status"] == "QUEUED"
