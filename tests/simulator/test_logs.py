"""CloudWatch Logs FilterLogEvents over the Transfer workflow execution logs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import aioboto3
import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.model import Shape, StringShape

from waiters.simulator import IMPLEMENTED, Faults, Fleet, Lifecycle, Simulator, ThrottleConfig
from waiters.simulator._ids import transfer_user_details
from waiters.simulator._protocol import service_model

from .helpers import WORKFLOW_ID, FakeClock, check_shape, strip_metadata, walk

KEYS = {"type", "workflowId", "executionId", "details", "transferDetails"}
COMPLETED = [("IN_PROGRESS", 0.0), ("COMPLETED", 10.0)]
HANDLED = [("IN_PROGRESS", 0.0), ("HANDLING_EXCEPTION", 4.0), ("EXCEPTION", 10.0)]
UNHANDLED = [("IN_PROGRESS", 0.0), ("EXCEPTION", 6.0)]


def _types(messages: list[dict[str, Any]]) -> list[str]:
    return [message["type"] for message in messages]


def _group(fleet: Fleet, ids: dict[str, str]) -> str:
    group = fleet.transfer_log_group(**ids)
    assert group is not None
    return group


def _events(client: Any, group: str, **params: Any) -> list[dict[str, Any]]:
    """Every event of *group* through small pages."""
    return walk(client.filter_log_events, "events", logGroupName=group, limit=3, **params)


def _messages(client: Any, group: str, **params: Any) -> list[dict[str, Any]]:
    return [json.loads(event["message"]) for event in _events(client, group, **params)]


def _add(
    fleet: Fleet, schedule: Sequence[tuple[str | None, float]], **kwargs: Any
) -> dict[str, str]:
    return fleet.add("transfer-execution", parent=WORKFLOW_ID, schedule=schedule, **kwargs)[0]


def _code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


# -- what the log says ---------------------------------------------------------------------------


def test_a_completed_execution_logs_its_steps_and_ends_in_execution_completed(
    fleet: Fleet, clock: FakeClock
) -> None:
    """ExecutionStarted, the steps, ExecutionCompleted, stamped when the schedule says."""
    ids = _add(fleet, COMPLETED)
    described = fleet.client("transfer").describe_execution(**ids)["Execution"]
    group = described["LoggingConfiguration"]["LogGroupName"]
    user = described["ServiceMetadata"]["UserDetails"]
    assert group == f"/aws/transfer/{user['ServerId']}" == fleet.transfer_log_group(**ids)
    clock.advance(20)
    events = _events(fleet.client("logs"), group)
    messages = [json.loads(event["message"]) for event in events]
    assert _types(messages) == [
        "ExecutionStarted",
        "StepStarted",
        "StepCompleted",
        "StepStarted",
        "StepCompleted",
        "ExecutionCompleted",
    ]
    for message in messages:
        assert set(message) == KEYS
        assert (message["workflowId"], message["executionId"]) == (
            ids["WorkflowId"],
            ids["ExecutionId"],
        )
        assert message["transferDetails"] == {
            "serverId": user["ServerId"],
            "username": user["UserName"],
            "sessionId": user["SessionId"],
        }
    assert messages[1]["details"]["stepType"] == "COPY"
    assert messages[1]["details"]["stepName"]
    streams = {event["logStreamName"] for event in events}
    assert streams == {f"{user['UserName']}.{ids['WorkflowId']}.{ids['ExecutionId']}"}
    truth = fleet.truth("transfer-execution", **ids)
    assert events[0]["timestamp"] == round(truth[0][1] * 1000)
    assert events[-1]["timestamp"] == round(truth[-1][1] * 1000)
    assert [event["timestamp"] for event in events] == sorted(e["timestamp"] for e in events)
    assert len({event["eventId"] for event in events}) == len(events)
    assert all(event["ingestionTime"] == event["timestamp"] for event in events)


def test_an_execution_that_handled_its_exception_logs_the_on_exception_steps(
    fleet: Fleet, clock: FakeClock
) -> None:
    """StepErrored when HANDLING_EXCEPTION starts, the on-exception step, then ExecutionErrored."""
    ids = _add(fleet, HANDLED)
    clock.advance(5)
    described = fleet.client("transfer").describe_execution(**ids)["Execution"]
    assert described["Status"] == "HANDLING_EXCEPTION"
    error = described["Results"]["Steps"][-1]["Error"]
    clock.advance(10)
    logs = fleet.client("logs")
    events = _events(logs, _group(fleet, ids))
    messages = [json.loads(event["message"]) for event in events]
    assert _types(messages) == [
        "ExecutionStarted",
        "StepStarted",
        "StepCompleted",
        "StepStarted",
        "StepErrored",
        "StepStarted",
        "StepCompleted",
        "ExecutionErrored",
    ]
    errored = messages[4]["details"]
    enum = cast(StringShape, service_model("transfer").shape_for("ExecutionErrorType")).enum
    assert errored["errorType"] in enum and errored["stepType"] == "CUSTOM"
    assert (errored["errorType"], errored["errorMessage"]) == (error["Type"], error["Message"])
    assert messages[5]["details"]["stepType"] == "DELETE"
    assert set(messages[-1]["details"]) == {"errorType", "errorMessage"}
    assert messages[-1]["details"]["errorType"] in enum
    start, handling, end = (round(at * 1000) for _, at in fleet.truth("transfer-execution", **ids))
    stamps = [event["timestamp"] for event in events]
    assert stamps[0] == start and stamps[4] == stamps[5] == handling and stamps[-1] == end


def test_an_unhandled_exception_ends_in_step_errored_then_execution_errored(
    fleet: Fleet, clock: FakeClock
) -> None:
    """Without HANDLING_EXCEPTION there are no on-exception step entries."""
    ids = _add(fleet, UNHANDLED)
    clock.advance(7)
    messages = _messages(fleet.client("logs"), _group(fleet, ids))
    assert _types(messages)[-2:] == ["StepErrored", "ExecutionErrored"]
    assert "DELETE" not in {m["details"].get("stepType") for m in messages}


def test_the_log_agrees_with_the_ground_truth_of_generated_executions(clock: FakeClock) -> None:
    """Across a seeded workflow at speed 4: the ending, the phases and the times all agree."""
    fleet = Fleet(seed=3, clock=clock, speed=4.0)
    created = fleet.add_transfer_workflow(
        WORKFLOW_ID, 30, lifecycle=Lifecycle(mix={"COMPLETED": 0.5, "EXCEPTION": 0.5})
    )
    clock.advance(60)
    logs = fleet.client("logs")
    endings = set()
    for ids in created:
        truth = fleet.truth("transfer-execution", **ids)
        events = _events(logs, _group(fleet, ids))
        messages = [json.loads(event["message"]) for event in events]
        last_state, ended = truth[-1]
        endings.add(last_state)
        assert (
            messages[-1]["type"]
            == {
                "COMPLETED": "ExecutionCompleted",
                "EXCEPTION": "ExecutionErrored",
            }[str(last_state)]
        )
        handled = any(state == "HANDLING_EXCEPTION" for state, _ in truth)
        assert ("DELETE" in {m["details"].get("stepType") for m in messages}) == handled
        assert ("StepErrored" in _types(messages)) == (last_state == "EXCEPTION")
        # Service-time stamps, converted back, are the truth's clock times.
        assert fleet.to_clock(events[0]["timestamp"] / 1000) == pytest.approx(truth[0][1])
        assert fleet.to_clock(events[-1]["timestamp"] / 1000) == pytest.approx(ended)
    assert endings == {"COMPLETED", "EXCEPTION"}


def test_entries_appear_as_the_lifecycle_reaches_them(fleet: Fleet, clock: FakeClock) -> None:
    """Entries are written when their state is reached; the log outlives DescribeExecution."""
    ids = _add(fleet, COMPLETED)
    logs, transfer = fleet.client("logs"), fleet.client("transfer")
    group = _group(fleet, ids)
    assert _types(_messages(logs, group)) == ["ExecutionStarted", "StepStarted"]
    clock.advance(5)
    assert _types(_messages(logs, group))[-1] == "StepStarted"
    assert len(_messages(logs, group)) == 4
    clock.advance(5)
    with pytest.raises(transfer.exceptions.ResourceNotFoundException):
        transfer.describe_execution(**ids)
    assert _types(_messages(logs, group))[-1] == "ExecutionCompleted"


def test_an_execution_that_never_ends_logs_only_its_start(fleet: Fleet, clock: FakeClock) -> None:
    """An execution that vanishes without a terminal state leaves a log without an ending."""
    from waiters.simulator import GONE

    ids = _add(fleet, [("IN_PROGRESS", 0.0), (GONE, 3.0)])
    clock.advance(10)
    assert _types(_messages(fleet.client("logs"), _group(fleet, ids))) == [
        "ExecutionStarted",
        "StepStarted",
    ]


# -- knobs ---------------------------------------------------------------------------------------


def test_logging_off_means_no_logging_configuration_and_no_log_group(
    fleet: Fleet, clock: FakeClock
) -> None:
    """logging=False: DescribeExecution omits LoggingConfiguration; its server's group is absent."""
    silent = fleet.add_transfer_workflow(WORKFLOW_ID, 2, lifecycle=None, logging=False)
    logged = fleet.add_transfer_workflow(WORKFLOW_ID, 1)[0]
    transfer, logs = fleet.client("transfer"), fleet.client("logs")
    servers = []
    for ids in silent:
        described = transfer.describe_execution(**ids)["Execution"]
        assert "LoggingConfiguration" not in described
        assert fleet.transfer_log_group(**ids) is None
        servers.append(described["ServiceMetadata"]["UserDetails"]["ServerId"])
    assert "LoggingConfiguration" in transfer.describe_execution(**logged)["Execution"]
    clock.advance(60)
    for server in servers:
        with pytest.raises(logs.exceptions.ResourceNotFoundException):
            logs.filter_log_events(logGroupName=f"/aws/transfer/{server}")
    assert _types(_messages(logs, _group(fleet, logged)))[0] == "ExecutionStarted"


def test_access_denied_per_fleet_and_per_log_group(fleet: Fleet, clock: FakeClock) -> None:
    """logs_denied refuses every group, denied_log_groups only those named."""
    first, second = (_add(fleet, COMPLETED) for _ in range(2))
    one, two = _group(fleet, first), _group(fleet, second)
    clock.advance(11)
    logs = fleet.client("logs")
    fleet.logs_denied = True
    with pytest.raises(logs.exceptions.AccessDeniedException) as caught:
        logs.filter_log_events(logGroupName=one)
    assert "not authorized to perform: logs:FilterLogEvents" in str(caught.value)
    with pytest.raises(logs.exceptions.AccessDeniedException):
        logs.filter_log_events(logGroupName="/aws/transfer/s-00000000000000000")
    fleet.logs_denied = False
    fleet.denied_log_groups = {one}
    with pytest.raises(logs.exceptions.AccessDeniedException):
        logs.filter_log_events(logGroupName=one)
    assert _types(_messages(logs, two))[-1] == "ExecutionCompleted"
    fleet.denied_log_groups = ()
    assert _types(_messages(logs, one))[-1] == "ExecutionCompleted"
    assert fleet.stats()["logs:FilterLogEvents"]["errors"] == {"AccessDeniedException": 3}
    with pytest.raises(TypeError):
        fleet.denied_log_groups = one
    with pytest.raises(TypeError):
        fleet.logs_denied = 1  # type: ignore[assignment]


def test_log_lag_delays_visibility_in_service_time(clock: FakeClock) -> None:
    """An entry is visible log_lag service seconds after its event: lag / speed on the clock."""
    fleet = Fleet(seed=1, clock=clock, speed=10.0)
    ids = _add(fleet, COMPLETED, log_lag=30.0)  # ends 10 service s in, visible at 40 (4 on clock)
    logs = fleet.client("logs")
    group = _group(fleet, ids)
    assert _messages(logs, group) == []  # even ExecutionStarted needs 30 service seconds
    clock.advance(3.9)
    assert "ExecutionCompleted" not in _types(_messages(logs, group))
    clock.advance(0.1)
    events = _events(logs, group)
    assert json.loads(events[-1]["message"])["type"] == "ExecutionCompleted"
    assert all(event["ingestionTime"] - event["timestamp"] == 30_000 for event in events)


def test_knobs_are_checked() -> None:
    """logging and log_lag are Transfer-only and validated."""
    fleet = Fleet()
    with pytest.raises(ValueError, match="Transfer"):
        fleet.add("iot-job-execution", logging=False)
    with pytest.raises(ValueError, match="Transfer"):
        fleet.add("snow-execution", log_lag=5.0)
    with pytest.raises(ValueError, match="log_lag"):
        fleet.add_transfer_workflow(WORKFLOW_ID, 1, log_lag=-1.0)
    with pytest.raises(TypeError, match="logging"):
        fleet.add_transfer_workflow(WORKFLOW_ID, 1, logging="yes")  # type: ignore[arg-type]
    assert len(fleet) == 0


def test_logging_knobs_leave_the_seeded_fleet_unchanged() -> None:
    """The same seed gives the same ids with or without logging, and the same log answers."""

    def build(**kwargs: Any) -> tuple[Fleet, list[dict[str, str]]]:
        clock = FakeClock()
        fleet = Fleet(seed=5, clock=clock)
        fleet.add_iot_job("job-1", 3)
        created = fleet.add_transfer_workflow(WORKFLOW_ID, 5, **kwargs)
        fleet.add("transfer-execution", 2)
        clock.advance(100)
        return fleet, created

    def answers(fleet: Fleet, created: list[dict[str, str]]) -> list[dict[str, Any]]:
        logs = fleet.client("logs")
        return [
            strip_metadata(logs.filter_log_events(logGroupName=_group(fleet, ids)))
            for ids in created
        ]

    one, created = build()
    two, again = build()
    three, silent = build(logging=False, log_lag=7.0)
    assert created == again == silent
    assert list(one.executions()) == list(two.executions()) == list(three.executions())
    assert answers(one, created) == answers(two, again)


# -- the request ---------------------------------------------------------------------------------


def test_paging_walks_every_event_once(fleet: Fleet, clock: FakeClock) -> None:
    """Small pages, with nextToken in the store's style, add up to the whole log."""
    ids = _add(fleet, HANDLED)
    clock.advance(11)
    logs = fleet.client("logs")
    group = _group(fleet, ids)
    whole = logs.filter_log_events(logGroupName=group)
    assert "nextToken" not in whole and len(whole["events"]) == 8
    first = logs.filter_log_events(logGroupName=group, limit=3)
    assert len(first["events"]) == 3
    checksum, _, position = base64.b64decode(first["nextToken"]).decode().partition(":")
    assert len(checksum) == 8 and position == "3"
    assert _events(logs, group) == whole["events"]
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName=group, limit=2))
    assert len(pages) == 4
    assert [event for page in pages for event in page["events"]] == whole["events"]
    # A token belongs to its query: another pattern refuses it.
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(
            logGroupName=group, filterPattern='{ $.type = "X" }', nextToken=first["nextToken"]
        )
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, limit=0)


def test_an_unknown_log_group_is_resource_not_found(fleet: Fleet) -> None:
    """Names that are no server's log group answer ResourceNotFoundException."""
    logs = fleet.client("logs")
    _add(fleet, COMPLETED)
    for name in ("/aws/transfer/s-00000000000000000", "/aws/transfer/s-zz", "/aws/lambda/fn"):
        with pytest.raises(logs.exceptions.ResourceNotFoundException) as caught:
            logs.filter_log_events(logGroupName=name)
        assert "does not exist" in str(caught.value)
    # The server id an IoT execution (the second one created) would have is no log group.
    fleet.add_iot_job("job-1", 1)
    server = transfer_user_details(fleet.seed, 2)[0]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.filter_log_events(logGroupName=f"/aws/transfer/{server}")


def test_the_filter_pattern(fleet: Fleet, clock: FakeClock) -> None:
    """JSON equality terms joined by &&; anything else is InvalidParameterException."""
    ids = _add(fleet, HANDLED)
    clock.advance(11)
    logs = fleet.client("logs")
    group = _group(fleet, ids)
    execution = ids["ExecutionId"]
    every = _messages(logs, group)
    assert _messages(logs, group, filterPattern="") == every
    assert _messages(logs, group, filterPattern=f'{{ $.executionId = "{execution}" }}') == every
    assert _messages(logs, group, filterPattern='{ $.executionId = "other" }') == []
    both = f'{{ $.executionId = "{execution}" && $.type = "ExecutionErrored" }}'
    assert _types(_messages(logs, group, filterPattern=both)) == ["ExecutionErrored"]
    nested = "{$.details.stepType=DELETE}"
    assert _types(_messages(logs, group, filterPattern=nested)) == ["StepStarted", "StepCompleted"]
    others = _messages(logs, group, filterPattern='{ $.type != "StepStarted" }')
    assert len(others) == len(every) - 3
    for bad in (
        "ERROR",
        '{ $.type = "A" || $.type = "B" }',
        "{ $.timestamp > 3 }",
        '{ $.type = "Step*" }',
        '{ $.type = "A" && }',
        "{ }",
    ):
        with pytest.raises(logs.exceptions.InvalidParameterException, match="filter pattern"):
            logs.filter_log_events(logGroupName=group, filterPattern=bad)


def test_group_identifier_time_window_and_streams(fleet: Fleet, clock: FakeClock) -> None:
    """logGroupIdentifier (name or ARN), startTime/endTime in ms, stream filters."""
    ids = _add(fleet, COMPLETED)
    clock.advance(11)
    logs = fleet.client("logs")
    group = _group(fleet, ids)
    every = _events(logs, group)
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
    for identifier in (group, arn):
        assert logs.filter_log_events(logGroupIdentifier=identifier)["events"] == every
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, logGroupIdentifier=group)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events()
    middle = every[2]["timestamp"]
    later = _events(logs, group, startTime=middle)
    assert later == [event for event in every if event["timestamp"] >= middle]
    earlier = _events(logs, group, endTime=middle - 1)
    assert earlier == [event for event in every if event["timestamp"] < middle]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, startTime=middle, endTime=middle - 1)
    stream = every[0]["logStreamName"]
    assert _events(logs, group, logStreamNames=[stream]) == every
    assert _events(logs, group, logStreamNamePrefix=stream[:5]) == every
    assert _events(logs, group, logStreamNames=["nobody"]) == []


def test_throttles_and_faults_apply_to_filter_log_events(fleet: Fleet, clock: FakeClock) -> None:
    """FilterLogEvents has its own token bucket and takes injected faults like every operation."""
    ids = _add(fleet, COMPLETED)
    clock.advance(11)
    logs, transfer = fleet.client("logs"), fleet.client("transfer")
    group = _group(fleet, ids)
    fleet.throttle = ThrottleConfig(
        rate=100.0, burst=100.0, per_operation={"logs:FilterLogEvents": (0.0, 1.0)}
    )
    logs.filter_log_events(logGroupName=group)
    with pytest.raises(logs.exceptions.ThrottlingException):
        logs.filter_log_events(logGroupName=group)
    with pytest.raises(transfer.exceptions.ResourceNotFoundException):
        transfer.describe_execution(**ids)  # a bucket of its own: not throttled
    fleet.throttle = None
    fleet.faults = Faults(error_5xx=1.0)
    with pytest.raises(logs.exceptions.ServiceUnavailableException):
        logs.filter_log_events(logGroupName=group)
    fleet.faults = None
    stats = fleet.stats()["logs:FilterLogEvents"]
    assert stats["throttled"] == 1 and stats["faulted"] == {"error_5xx": 1}
    assert "FilterLogEvents" in IMPLEMENTED["logs"]


# -- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def boto_logs(served: Simulator) -> Iterator[Any]:
    """A real boto3 CloudWatch Logs client of the served simulator."""
    client = boto3.client("logs", **served.client_kwargs())
    yield client
    client.close()


def test_boto3_reads_the_logs_like_the_in_process_client(
    served: Simulator, clock: FakeClock, boto_logs: Any
) -> None:
    """Completed, handled and unhandled executions; paging; shapes match the model."""
    fleet = served.fleet
    created = [_add(fleet, schedule) for schedule in (COMPLETED, HANDLED, UNHANDLED)]
    clock.advance(11)
    local = fleet.client("logs")
    shape = service_model("logs").operation_model("FilterLogEvents").output_shape
    endings = []
    for ids in created:
        group = _group(fleet, ids)
        response = boto_logs.filter_log_events(logGroupName=group, limit=3)
        check_shape(response, cast(Shape, shape))
        assert strip_metadata(response) == strip_metadata(
            local.filter_log_events(logGroupName=group, limit=3)
        )
        events = _events(boto_logs, group)
        assert events == _events(local, group)
        endings.append(json.loads(events[-1]["message"])["type"])
        pages = boto_logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern=f'{{ $.executionId = "{ids["ExecutionId"]}" }}'
        )
        assert [event for page in pages for event in page["events"]] == events
    assert endings == ["ExecutionCompleted", "ExecutionErrored", "ExecutionErrored"]


def test_errors_over_http_match_the_in_process_ones(
    served: Simulator, clock: FakeClock, boto_logs: Any
) -> None:
    """Unknown group, bad pattern, bad token, denied and silent executions, both ways alike."""
    fleet = served.fleet
    ids = _add(fleet, COMPLETED)
    silent = _add(fleet, COMPLETED, logging=False)
    clock.advance(11)
    group = _group(fleet, ids)
    cases: list[tuple[Callable[[], None], dict[str, Any], str]] = [
        (lambda: None, {"logGroupName": "/aws/transfer/s-00000000000000000"}, "ResourceNotFound"),
        (lambda: None, {"logGroupName": group, "filterPattern": "oops"}, "InvalidParameter"),
        (lambda: None, {"logGroupName": group, "nextToken": "Zm9v"}, "InvalidParameter"),
        (
            lambda: setattr(fleet, "logs_denied", True),
            {"logGroupName": group},
            "AccessDenied",
        ),
    ]
    for prepare, params, code in cases:
        prepare()
        errors = []
        for client in (boto_logs, fleet.client("logs")):
            with pytest.raises(ClientError) as caught:
                client.filter_log_events(**params)
            response: dict[str, Any] = dict(caught.value.response)
            status = response.pop("ResponseMetadata")["HTTPStatusCode"]
            errors.append((type(caught.value).__name__, response, status))
        assert errors[0] == errors[1]
        assert errors[0][0] == f"{code}Exception" and errors[0][2] == 400
    fleet.logs_denied = False
    assert fleet.transfer_log_group(**silent) is None


@pytest.mark.asyncio
async def test_aioboto3_reads_the_logs(served: Simulator, clock: FakeClock) -> None:
    """aioboto3's client and paginator see the same log as the async in-process client."""
    fleet = served.fleet
    ids = _add(fleet, HANDLED, log_lag=2.0)
    group = _group(fleet, ids)
    clock.advance(11)
    async with (
        aioboto3.Session().client("logs", **served.client_kwargs()) as logs,
        fleet.async_client("logs") as local,
    ):
        pattern = f'{{ $.executionId = "{ids["ExecutionId"]}" }}'
        response = await logs.filter_log_events(logGroupName=group, filterPattern=pattern)
        assert strip_metadata(response) == strip_metadata(
            await local.filter_log_events(logGroupName=group, filterPattern=pattern)
        )
        # The ending happened 10 s in and lags 2 s: not visible 11 s in.
        assert json.loads(response["events"][-1]["message"])["type"] == "StepStarted"
        clock.advance(1)
        events = [
            event
            async for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, PaginationConfig={"PageSize": 3}
            )
            for event in page["events"]
        ]
        assert json.loads(events[-1]["message"])["type"] == "ExecutionErrored"
        with pytest.raises(ClientError) as caught:
            await logs.filter_log_events(logGroupName="/aws/transfer/s-00000000000000000")
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.asyncio
async def test_control_api_sets_the_logging_knobs(served: Simulator, clock: FakeClock) -> None:
    """POST executions takes logging and log_lag; POST faults takes the denials."""
    base = f"{served.endpoint_url}/_simulator"
    fleet = served.fleet
    async with aiohttp.ClientSession() as session:
        body = {"type": "transfer-execution", "count": 2, "logging": False}
        async with session.post(f"{base}/executions", json=body) as response:
            silent = (await response.json())["executions"]
        body = {"type": "transfer-execution", "schedule": COMPLETED, "log_lag": 5}
        async with session.post(f"{base}/executions", json=body) as response:
            lagging = (await response.json())["executions"][0]
        body = {"type": "iot-job-execution", "parent": "j", "members": ["a"], "logging": False}
        async with session.post(f"{base}/executions", json=body) as response:
            assert response.status == 400
        async with session.post(
            f"{base}/faults", json={"logs_denied": True, "denied_log_groups": ["/g"]}
        ) as response:
            assert response.status == 200
        assert fleet.logs_denied and fleet.denied_log_groups == {"/g"}
        async with session.post(
            f"{base}/faults", json={"logs_denied": False, "denied_log_groups": None}
        ) as response:
            assert response.status == 200
    assert not fleet.logs_denied and fleet.denied_log_groups == frozenset()
    assert all(fleet.transfer_log_group(**ids) is None for ids in silent)
    clock.advance(12)
    logs = fleet.client("logs")
    assert "ExecutionCompleted" not in _types(_messages(logs, _group(fleet, lagging)))
    clock.advance(3)
    assert _types(_messages(logs, _group(fleet, lagging)))[-1] == "ExecutionCompleted"


def test_refused_credentials_answer_in_the_logs_protocol(served: Simulator) -> None:
    """A refused key gets the JSON 1.1 error shape for CloudWatch Logs, as for Transfer."""
    served.fleet.refused_keys[served.client_kwargs()["aws_access_key_id"]] = "ExpiredTokenException"
    client = boto3.client("logs", **served.client_kwargs())
    try:
        with pytest.raises(ClientError) as caught:
            client.filter_log_events(logGroupName="/aws/transfer/s-00000000000000000")
    finally:
        client.close()
    assert caught.value.response["Error"]["Code"] == "ExpiredTokenException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
