"""Real boto3 and aioboto3 clients against the HTTP simulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import aioboto3
import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.model import Shape

from tests.clients import async_client, sync_client
from waiters.simulator import Faults, Fleet, Lifecycle, Simulator, ThrottleConfig
from waiters.simulator._protocol import operation_spec, service_model

from .helpers import ASSET_ID, WORKFLOW_ID, FakeClock, check_shape, strip_metadata

Created = dict[str, list[dict[str, str]]]
CMD_ARN = "arn:aws:iot:us-east-1:123456789012:command/cmd-1"


def rich_fleet(fleet: Fleet, clock: FakeClock) -> Created:
    """Executions of every type caught 12 s in: some pending, some running, some finished."""
    pending, running = (0.0, 16.0), (1.0, 10.0)

    def life(mix: dict[str, float], timeout_s: float | None = None) -> Lifecycle:
        return Lifecycle(pending=pending, running=running, mix=mix, timeout_s=timeout_s)

    half = {"SUCCEEDED": 0.5, "FAILED": 0.5}
    created = {
        "iot-job-execution": fleet.add_iot_job(
            "job-1", 10, lifecycle=life({"SUCCEEDED": 0.5, "CANCELED": 0.5}, timeout_s=8.0)
        ),
        "iot-command-execution": fleet.add_command("cmd-1", 10, lifecycle=life(half)),
        "sitewise-execution": fleet.add_sitewise_executions(
            ASSET_ID, 10, lifecycle=life({"COMPLETED": 0.5, "FAILED": 0.5})
        ),
        "snow-execution": fleet.add_snow_task("task-1", 10, lifecycle=life(half)),
        # Long enough that none has vanished at 12 s, short enough to be handling exceptions.
        "transfer-execution": fleet.add_transfer_workflow(
            WORKFLOW_ID,
            10,
            lifecycle=Lifecycle(
                pending=(0, 10), running=(20, 40), mix={"COMPLETED": 0.5, "EXCEPTION": 0.5}
            ),
        ),
    }
    # The log group of each Transfer execution, as FilterLogEvents parameters.
    created["log-groups"] = [
        {"logGroupName": str(fleet.transfer_log_group(**ids))}
        for ids in created["transfer-execution"]
    ]
    clock.advance(12.0)
    return created


# (service, method, calls) where calls builds the parameter sets from the created ids.
CASES: list[tuple[str, str, Callable[[Created], list[dict[str, Any]]]]] = [
    ("iot", "describe_job_execution", lambda c: c["iot-job-execution"]),
    (
        "iot",
        "list_job_executions_for_job",
        lambda c: [
            {"jobId": "job-1"},
            {"jobId": "job-1", "status": "IN_PROGRESS", "maxResults": 2},
        ],
    ),
    ("iot", "describe_job", lambda c: [{"jobId": "job-1"}]),
    ("iot", "get_command_execution", lambda c: c["iot-command-execution"]),
    (
        "iot",
        "list_command_executions",
        lambda c: [
            {"commandArn": CMD_ARN, "maxResults": 3},
            {"targetArn": c["iot-command-execution"][0]["targetArn"]},
            {"commandArn": CMD_ARN, "status": "FAILED", "sortOrder": "DESCENDING"},
        ],
    ),
    ("iotsitewise", "describe_execution", lambda c: c["sitewise-execution"]),
    (
        "iotsitewise",
        "list_executions",
        lambda c: [{"targetResourceType": "ASSET", "targetResourceId": ASSET_ID, "maxResults": 3}],
    ),
    ("snow-device-management", "describe_execution", lambda c: c["snow-execution"]),
    (
        "snow-device-management",
        "list_executions",
        lambda c: [
            {"taskId": "task-1"},
            {"taskId": "task-1", "state": "IN_PROGRESS", "maxResults": 1},
        ],
    ),
    ("transfer", "describe_execution", lambda c: c["transfer-execution"]),
    ("transfer", "list_executions", lambda c: [{"WorkflowId": WORKFLOW_ID, "MaxResults": 3}]),
    (
        "logs",
        "filter_log_events",
        lambda c: [
            c["log-groups"][0],
            {**c["log-groups"][1], "limit": 2},
            {**c["log-groups"][2], "filterPattern": '{ $.type = "StepStarted" }'},
        ],
    ),
]
CASE_IDS = [f"{service}.{method}" for service, method, _ in CASES]


def output_shape(service: str, method: str) -> Any:
    model = service_model(service)
    operation = next(
        name for name in model.operation_names if operation_spec(service, name).snake_name == method
    )
    return model.operation_model(operation).output_shape


@pytest.fixture
def boto(served: Simulator) -> Iterator[Callable[[str], Any]]:
    """Factory of real boto3 clients for the served simulator, closed after the test."""
    clients: list[Any] = []

    def make(service: str, **overrides: Any) -> Any:
        client = sync_client(service, **(served.client_kwargs() | overrides))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_implemented_operations_are_all_covered() -> None:
    """The cases below cover every implemented operation (so none escapes the shape checks)."""
    from waiters.simulator import IMPLEMENTED

    covered = {(service, output_shape(service, method).name) for service, method, _ in CASES}
    expected = {
        (service, cast(Shape, service_model(service).operation_model(name).output_shape).name)
        for service, names in IMPLEMENTED.items()
        for name in names
    }
    assert covered == expected


@pytest.mark.parametrize(("service", "method", "calls"), CASES, ids=CASE_IDS)
def test_boto3_responses_parse_into_the_modeled_shape(
    served: Simulator,
    clock: FakeClock,
    boto: Callable[[str], Any],
    service: str,
    method: str,
    calls: Any,
) -> None:
    """Each implemented operation via boto3 parses into its output shape and matches in-process."""
    created = rich_fleet(served.fleet, clock)
    client = boto(service)
    local = served.fleet.client(service)
    shape = output_shape(service, method)
    for params in calls(created):
        response = getattr(client, method)(**params)
        check_shape(response, shape)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert strip_metadata(getattr(local, method)(**params)) == strip_metadata(response)


@pytest.mark.asyncio
@pytest.mark.parametrize(("service", "method", "calls"), CASES, ids=CASE_IDS)
async def test_aioboto3_responses_parse_into_the_modeled_shape(
    served: Simulator, clock: FakeClock, service: str, method: str, calls: Any
) -> None:
    """Each implemented operation via aioboto3 parses into its shape and matches the async fake."""
    created = rich_fleet(served.fleet, clock)
    shape = output_shape(service, method)
    session = aioboto3.Session()
    async with (
        async_client(session, service, **served.client_kwargs()) as client,
        served.fleet.async_client(service) as local,
    ):
        for params in calls(created):
            response = await getattr(client, method)(**params)
            check_shape(response, shape)
            assert strip_metadata(await getattr(local, method)(**params)) == strip_metadata(
                response
            )


def test_shape_checks_saw_every_phase(
    served: Simulator, clock: FakeClock, boto: Callable[[str], Any]
) -> None:
    """The sample fleet shows pending, running and finished executions with terminal fields."""
    created = rich_fleet(served.fleet, clock)
    iot = boto("iot")
    jobs = {
        iot.describe_job_execution(**ids)["execution"]["status"]
        for ids in created["iot-job-execution"]
    }
    assert {"QUEUED", "IN_PROGRESS", "SUCCEEDED", "CANCELED", "TIMED_OUT"} <= jobs
    commands = [iot.get_command_execution(**ids) for ids in created["iot-command-execution"]]
    assert {"CREATED", "IN_PROGRESS", "SUCCEEDED", "FAILED"} <= {c["status"] for c in commands}
    failed = [c for c in commands if c["status"] == "FAILED"]
    assert all(c["statusReason"]["reasonCode"] == "DEVICE_FAILED" for c in failed)
    assert all(c["result"]["ok"]["B"] is False for c in failed)
    assert all(c["parameters"]["token"]["S"].startswith("secret-") for c in commands)
    sitewise = boto("iotsitewise")
    described = [sitewise.describe_execution(**ids) for ids in created["sitewise-execution"]]
    assert {r["executionStatus"]["state"] for r in described} == {"RUNNING", "COMPLETED", "FAILED"}
    assert all(
        ("executionEndTime" in r) == (r["executionStatus"]["state"] != "RUNNING") for r in described
    )
    snow = boto("snow-device-management")
    snow_states = {snow.describe_execution(**ids)["state"] for ids in created["snow-execution"]}
    assert snow_states == {"QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED"}
    transfer = boto("transfer")
    executions = [
        transfer.describe_execution(**ids)["Execution"] for ids in created["transfer-execution"]
    ]
    assert {e["Status"] for e in executions} == {"IN_PROGRESS", "HANDLING_EXCEPTION"}
    handling = [e for e in executions if e["Status"] == "HANDLING_EXCEPTION"]
    assert all(e["Results"]["Steps"][-1]["Error"]["Type"] == "CUSTOM_STEP_FAILED" for e in handling)


# -- throttles and faults --------------------------------------------------------------------

DESCRIBES = [
    ("iot", "describe_job_execution", "iot-job-execution", 400),
    ("iotsitewise", "describe_execution", "sitewise-execution", 429),
    ("snow-device-management", "describe_execution", "snow-execution", 429),
    ("transfer", "describe_execution", "transfer-execution", 400),
    ("logs", "filter_log_events", "log-groups", 400),
]


@pytest.mark.parametrize(("service", "method", "type_name", "status"), DESCRIBES)
def test_throttles_arrive_as_modeled_throttling_exception(
    served: Simulator,
    clock: FakeClock,
    boto: Callable[[str], Any],
    service: str,
    method: str,
    type_name: str,
    status: int,
) -> None:
    """Bucket and forced throttles surface as ThrottlingException with the model's status code."""
    created = rich_fleet(served.fleet, clock)
    ids = created[type_name][0]
    client = boto(service)
    served.fleet.throttle = ThrottleConfig(rate=0.0, burst=1.0)
    getattr(client, method)(**ids)
    with pytest.raises(ClientError) as caught:
        getattr(client, method)(**ids)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    served.fleet.throttle = None
    served.fleet.faults = Faults(throttle=1.0)
    with pytest.raises(client.exceptions.ThrottlingException):
        getattr(client, method)(**ids)


@pytest.mark.parametrize(("service", "method", "type_name", "status"), DESCRIBES)
def test_server_faults_use_the_operations_modeled_5xx_codes(
    served: Simulator,
    clock: FakeClock,
    boto: Callable[[str], Any],
    service: str,
    method: str,
    type_name: str,
    status: int,
) -> None:
    """error_5xx answers one of the operation's modeled server errors with its status code."""
    del status
    created = rich_fleet(served.fleet, clock)
    client = boto(service)
    spec = operation_spec(service, client.meta.method_to_api_mapping[method])
    modeled = {(error.code, error.status) for error in spec.server_errors}
    served.fleet.faults = Faults(error_5xx=1.0, seed=3)
    seen = set()
    for _ in range(8):
        with pytest.raises(ClientError) as caught:
            getattr(client, method)(**created[type_name][0])
        response = caught.value.response
        seen.add((response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]))
    assert seen <= modeled
    assert all(code >= 500 for _, code in seen)
    if service == "transfer":
        assert seen == {("InternalServiceError", 500), ("ServiceUnavailableException", 503)}


def test_reset_gives_connection_closed_error(
    served: Simulator, clock: FakeClock, boto: Callable[[str], Any]
) -> None:
    """A reset fault closes the connection without an answer: boto3 raises ConnectionClosedError."""
    ids = rich_fleet(served.fleet, clock)["iot-job-execution"][0]
    iot = boto("iot")
    served.fleet.faults = Faults(reset=1.0)
    with pytest.raises(ConnectionClosedError):
        iot.describe_job_execution(**ids)
    served.fleet.faults = None
    assert iot.describe_job_execution(**ids)["execution"]["jobId"] == "job-1"  # the client recovers


@pytest.mark.asyncio
async def test_reset_and_5xx_with_aioboto3(served: Simulator, clock: FakeClock) -> None:
    """aioboto3 sees resets as ConnectionClosedError and 5xx faults as the modeled ClientError."""
    ids: dict[str, Any] = rich_fleet(served.fleet, clock)["iot-job-execution"][0]
    async with aioboto3.Session().client("iot", **served.client_kwargs()) as iot:
        await iot.describe_job_execution(**ids)  # a pooled connection, as in real use
        served.fleet.faults = Faults(reset=1.0)
        with pytest.raises(ConnectionClosedError):
            await iot.describe_job_execution(**ids)
        served.fleet.faults = Faults(error_5xx=1.0)
        with pytest.raises(ClientError) as caught:
            await iot.describe_job_execution(**ids)
        assert caught.value.response["Error"]["Code"] == "ServiceUnavailableException"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        served.fleet.faults = None
        assert (await iot.describe_job_execution(**ids))["execution"]["jobId"] == "job-1"


@pytest.mark.asyncio
async def test_malformed_body_loses_the_payload_everywhere(
    served: Simulator, clock: FakeClock
) -> None:
    """botocore tolerates a truncated JSON body: the response has no modeled members."""
    created = rich_fleet(served.fleet, clock)
    ids = created["transfer-execution"][0]
    served.fleet.faults = Faults(malformed=1.0)
    sync_client = boto3.client("transfer", **served.client_kwargs())
    try:
        from_boto3 = sync_client.describe_execution(**ids)
    finally:
        sync_client.close()
    async with aioboto3.Session().client("transfer", **served.client_kwargs()) as client:
        from_aioboto3 = await client.describe_execution(**ids)
    from_fake = served.fleet.client("transfer").describe_execution(**ids)
    for response in (from_boto3, from_aioboto3, from_fake):
        assert strip_metadata(response) == {}  # WorkflowId and Execution are required, yet gone
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert served.fleet.stats()["transfer:DescribeExecution"]["faulted"] == {"malformed": 3}


def test_errors_have_the_same_shape_in_process(
    served: Simulator, clock: FakeClock, boto: Callable[[str], Any]
) -> None:
    """In-process errors carry the same Error, status and modeled members as botocore over HTTP."""
    created = rich_fleet(served.fleet, clock)
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("iot", "describe_job_execution", {"jobId": "job-1", "thingName": "ghost"}),
        (
            "transfer",
            "describe_execution",
            {**created["transfer-execution"][0], "WorkflowId": "w-zzzzzzzzzzzzzzzzz"},
        ),
        ("snow-device-management", "list_executions", {"taskId": "task-1", "nextToken": "Zm9v"}),
        (
            "iot",
            "create_job",
            {"jobId": "x", "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]},
        ),
    ]
    for service, method, params in cases:
        errors: list[tuple[str, dict[str, Any], int]] = []
        for client in (boto(service), served.fleet.client(service)):
            with pytest.raises(ClientError) as caught:
                getattr(client, method)(**params)
            response: dict[str, Any] = dict(caught.value.response)
            status = response.pop("ResponseMetadata")["HTTPStatusCode"]
            errors.append((type(caught.value).__name__, response, status))
        assert errors[0] == errors[1], (service, method)


@pytest.mark.asyncio
async def test_unimplemented_operation_is_a_clean_client_error(
    served: Simulator, boto: Callable[[str], Any]
) -> None:
    """A modeled but unimplemented operation answers NotImplemented (501), never an HTML page."""
    with pytest.raises(ClientError) as caught:
        boto("iot").list_things()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    async with aioboto3.Session().client("transfer", **served.client_kwargs()) as transfer:
        with pytest.raises(ClientError) as async_caught:
            await transfer.list_servers()
    assert async_caught.value.response["Error"]["Code"] == "NotImplemented"


def test_unknown_service_is_a_clean_client_error(boto: Callable[[str], Any]) -> None:
    """A service the simulator does not serve answers UnknownOperationException in AWS's format."""
    ssm = boto("ssm")
    with pytest.raises(ClientError) as caught:
        ssm.describe_parameters()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"


@pytest.mark.asyncio
async def test_raw_requests_get_aws_errors(served: Simulator) -> None:
    """Unsigned, unroutable and badly typed requests get JSON AWS errors with a request id."""
    auth = {
        "Authorization": "AWS4-HMAC-SHA256 "
        "Credential=AKID/20250101/us-east-1/iot/aws4_request, Signature=x"
    }
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{served.endpoint_url}/jobs/job-1") as response:
            assert response.status == 403
            assert "x-amzn-RequestId" in response.headers
        async with session.get(f"{served.endpoint_url}/no/such/route", headers=auth) as response:
            assert response.status == 404
            assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
        served.fleet.add_iot_job("job-1", 1)
        url = f"{served.endpoint_url}/jobs/job-1/things?maxResults=lots"
        async with session.get(url, headers=auth) as response:
            assert response.status == 400
            assert response.headers["x-amzn-ErrorType"] == "InvalidRequestException"
            assert "maxResults" in (await response.json())["message"]
        url = f"{served.endpoint_url}/jobs/job-1/things?status=SLEEPING"
        async with session.get(url, headers=auth) as response:
            assert response.status == 400
            assert "enum value set" in (await response.json())["message"]
        transfer = {
            "Authorization": auth["Authorization"].replace("/iot/", "/transfer/"),
            "X-Amz-Target": "TransferService.DescribeExecution",
        }
        async with session.post(served.endpoint_url, data=b"{oops", headers=transfer) as response:
            assert response.status == 400
            assert (await response.json(content_type=None))["__type"] == "SerializationException"


# -- control API, thread and process forms ------------------------------------------------------


@pytest.mark.asyncio
async def test_control_endpoints_drive_the_fleet(served: Simulator) -> None:
    """The /_simulator/ JSON API creates executions, reports truth and stats, sets faults."""
    base = f"{served.endpoint_url}/_simulator"
    async with aiohttp.ClientSession() as session:
        body = {
            "type": "iot-job-execution",
            "count": 3,
            "parent": "job-9",
            "lifecycle": {"pending": [0, 1], "running": [1, 2]},
        }
        async with session.post(f"{base}/executions", json=body) as response:
            assert response.status == 200
            created = (await response.json())["executions"]
        assert [ids["thingName"] for ids in created] == [
            "thing-00001",
            "thing-00002",
            "thing-00003",
        ]
        body = {
            "type": "snow-execution",
            "parent": "task-9",
            "schedule": [["QUEUED", 0], [None, 5]],
        }
        async with session.post(f"{base}/executions", json=body) as response:
            assert len((await response.json())["executions"]) == 1
        async with session.get(f"{base}/truth", params={"type": "iot-job-execution"}) as response:
            truth = (await response.json())["executions"]
        assert [item["ids"] for item in truth] == created
        assert truth[0]["truth"][0][0] == "QUEUED"
        faults = {
            "faults": {"throttle": 1.0, "latency": {"low": 0, "high": 0}},
            "throttle": {"rate": 5, "burst": 5},
        }
        async with session.post(f"{base}/faults", json=faults) as response:
            assert response.status == 200
        assert served.fleet.faults is not None and served.fleet.faults.throttle == 1.0
        assert served.fleet.throttle is not None and served.fleet.throttle.rate == 5
        async with session.post(f"{base}/faults", json={"faults": None}) as response:
            assert response.status == 200
        assert served.fleet.faults is None and served.fleet.throttle is not None
        served.fleet.client("iot").describe_job(jobId="job-9")
        async with session.get(f"{base}/stats") as response:
            assert (await response.json())["iot:DescribeJob"]["served"] == 1
        async with session.post(f"{base}/executions", json={"type": "nope"}) as response:
            assert response.status == 400
            assert "unknown execution type 'nope'" in (await response.json())["message"]
        async with session.get(f"{base}/missing") as response:
            assert response.status == 404


def test_thread_form_starts_and_stops_cleanly() -> None:
    """in_thread() serves from a thread that is joined on exit; the port is closed afterwards."""
    simulator = Simulator(seed=1)
    runner = simulator.in_thread()
    with runner as sim:
        assert runner.thread is not None and runner.thread.is_alive()
        thread = runner.thread
        url = sim.endpoint_url
        # Queued for an hour: a slow machine's first call still finds it so.
        queued = Lifecycle(pending=(3600.0, 3600.0))
        ids: dict[str, Any] = sim.fleet.add_iot_job("job-1", 1, lifecycle=queued)[0]
        client = boto3.client("iot", **sim.client_kwargs())
        try:
            assert client.describe_job_execution(**ids)["execution"]["status"] == "QUEUED"
        finally:
            client.close()
    assert not thread.is_alive()
    assert runner.thread is None
    with pytest.raises(RuntimeError, match="not running"):
        _ = simulator.endpoint_url
    import socket

    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_request_records_name_the_access_key_that_signed_them() -> None:
    """Different access keys are different accounts: each request's record says whose it was."""
    other = "AKIASIMULATOROTHER00"
    with Simulator(seed=3, record_requests=True).in_thread() as sim:
        # Queued for an hour: a slow machine's first call still finds it so.
        queued = Lifecycle(pending=(3600.0, 3600.0))
        ids: dict[str, Any] = sim.fleet.add_iot_job("job-1", 1, lifecycle=queued)[0]
        default = sim.client_kwargs()["aws_access_key_id"]
        for key in (default, other, other):
            client = boto3.client("iot", **{**sim.client_kwargs(), "aws_access_key_id": key})
            try:
                client.describe_job_execution(**ids)
            finally:
                client.close()
        records = sim.fleet.requests
    assert [(r.operation, r.access_key) for r in records] == [
        ("iot:DescribeJobExecution", default),
        ("iot:DescribeJobExecution", other),
        ("iot:DescribeJobExecution", other),
    ]
    # In-process clients sign nothing.
    fleet = Fleet(seed=3, record_requests=True)
    fleet.client("iot").describe_job_execution(**fleet.add_iot_job("job-1", 1)[0])
    assert [r.access_key for r in fleet.requests] == [None]


@pytest.mark.asyncio
async def test_async_form_is_a_context_manager() -> None:
    """async with Simulator() serves on an ephemeral port and closes it on exit."""
    async with Simulator(seed=2, speed=10.0) as sim:
        assert sim.endpoint_url.startswith("http://127.0.0.1:")
        assert sim.fleet.speed == 10.0
        kwargs = sim.client_kwargs(region="eu-west-1")
        assert kwargs["region_name"] == "eu-west-1"
        assert kwargs["config"].inject_host_prefix is False
        async with aioboto3.Session().client("iotsitewise", **kwargs) as sitewise:
            ids = sim.fleet.add_sitewise_executions(ASSET_ID, 1)[0]
            response = await sitewise.describe_execution(**ids)
            assert response["executionStatus"]["state"] == "RUNNING"
    with pytest.raises(RuntimeError):
        _ = sim.endpoint_url


def test_simulator_refuses_fleet_and_fleet_arguments_together() -> None:
    """Passing both a fleet and fleet keyword arguments is a TypeError naming them."""
    with pytest.raises(TypeError, match=r"not both \(got \['seed'\]\)"):
        Simulator(Fleet(), seed=3)


def test_a_simulator_bug_still_answers_like_aws(
    served: Simulator,
    boto: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception in the simulator becomes an AWS-style 500, and is logged."""

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(served.fleet, "handle_spec", broken)
    with pytest.raises(ClientError) as caught:
        boto("iot").describe_job(jobId="job-1")
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert any("simulator failed" in record.message for record in caplog.records)
    assert not any("Authorization" in record.getMessage() for record in caplog.records)
