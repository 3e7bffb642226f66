"""The store: creating executions, finding them, and paging through their groups."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from waiters.simulator import Fleet, Lifecycle

from .helpers import ASSET_ID, EPOCH, WORKFLOW_ID, FakeClock, populate, walk

# -- creating ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (
            lambda f: f.add("iot-job-execution", -1),
            ValueError,
            r"count must be an int >= 0, got -1",
        ),
        (
            lambda f: f.add_iot_job("job-1", ["a", "a"]),
            ValueError,
            r"iot-job-execution \{'jobId': 'job-1', 'thingName': 'a'\} already exists",
        ),
    ],
)
def test_bad_add_names_field_and_value(call: Any, error: type[Exception], pattern: str) -> None:
    """Invalid executions are refused with a message naming what is wrong."""
    fleet = Fleet()
    with pytest.raises(error, match=pattern):
        call(fleet)


def test_failed_add_leaves_fleet_unchanged() -> None:
    """A duplicate id fails the whole add call: nothing from it is stored."""
    fleet = Fleet()
    fleet.add_iot_job("job-1", ["a", "b"])
    with pytest.raises(ValueError, match="already exists"):
        fleet.add_iot_job("job-1", ["c", "b"])
    assert [ids["thingName"] for _, ids, _ in fleet.executions()] == ["a", "b"]


def test_same_seed_same_fleet() -> None:
    """Two fleets with the same seed and the same calls hold identical executions and schedules."""
    runs = []
    for _ in range(2):
        fleet = Fleet(seed=42, clock=FakeClock())
        populate(fleet)
        fleet.add("snow-execution", 10)
        runs.append(list(fleet.executions()))
    assert runs[0] == runs[1]
    other = Fleet(seed=43, clock=FakeClock())
    populate(other)
    assert list(other.executions())[:5] != runs[0][:5]


def test_creating_ten_thousand_is_fast() -> None:
    """10,000 executions are created in well under a second (loose bound against O(n^2) slips)."""
    fleet = Fleet()
    fleet.add_iot_job("warm-up", 1)
    started = time.perf_counter()
    fleet.add_iot_job("job-1", 10_000)
    assert time.perf_counter() - started < 2.0
    assert len(fleet) == 10_001


def test_adding_zero_executions_creates_no_job() -> None:
    """add(count=0) returns nothing and leaves no empty job behind."""
    fleet = Fleet()
    assert fleet.add("iot-job-execution", 0, parent="job-0") == []
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        fleet.client("iot").describe_job(jobId="job-0")


# -- finding -------------------------------------------------------------------------------


def test_execution_before_start_does_not_exist() -> None:
    """An execution whose start_at is in the future answers ResourceNotFoundException until then."""
    clock = FakeClock()
    fleet = Fleet(clock=clock)
    ids = fleet.add("sitewise-execution", parent=ASSET_ID, start_at=EPOCH + 10.0)[0]
    client = fleet.client("iotsitewise")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_execution(**ids)
    clock.advance(10.5)
    assert client.describe_execution(**ids)["executionStatus"] == {"state": "RUNNING"}


# -- paging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "method", "params", "code"),
    [
        ("iot", "list_job_executions_for_job", {"jobId": "job-1"}, "InvalidRequestException"),
        (
            "iot",
            "list_command_executions",
            {"targetArn": "arn:aws:iot:us-east-1:123456789012:thing/thing-00001"},
            "ValidationException",
        ),
        (
            "iotsitewise",
            "list_executions",
            {"targetResourceType": "ASSET", "targetResourceId": ASSET_ID},
            "InvalidRequestException",
        ),
        ("snow-device-management", "list_executions", {"taskId": "task-1"}, "ValidationException"),
        ("transfer", "list_executions", {"WorkflowId": WORKFLOW_ID}, "InvalidNextTokenException"),
    ],
)
def test_invalid_next_token_answers_the_modeled_error(
    service: str, method: str, params: dict[str, str], code: str
) -> None:
    """A forged or foreign nextToken is refused with the operation's modeled validation error."""
    fleet = Fleet(clock=FakeClock())
    fleet.add_iot_job("job-1", 3)
    fleet.add_command("cmd-1", 3)
    fleet.add_sitewise_executions(ASSET_ID, 3)
    fleet.add_snow_task("task-1", 3)
    fleet.add_transfer_workflow(WORKFLOW_ID, 3)
    client = fleet.client(service)
    token_key = "NextToken" if service == "transfer" else "nextToken"
    for token in ("not-base64!", "MDAwMDAwMDA6MQ=="):  # garbage, then a token of another listing
        with pytest.raises(client.exceptions.ClientError) as caught:
            getattr(client, method)(**params, **{token_key: token})
        assert caught.value.response["Error"]["Code"] == code


def test_max_results_above_the_model_limit_is_refused() -> None:
    """maxResults above the model's maximum answers the modeled validation error."""
    fleet = Fleet(clock=FakeClock())
    fleet.add_iot_job("job-1", 3)
    iot = fleet.client("iot")
    assert (
        len(iot.list_job_executions_for_job(jobId="job-1", maxResults=250)["executionSummaries"])
        == 3
    )
    with pytest.raises(iot.exceptions.InvalidRequestException, match="between 1 and 250"):
        iot.list_job_executions_for_job(jobId="job-1", maxResults=251)


def test_status_filtered_listing_of_ten_thousand_is_cheap() -> None:
    """A full status-filtered walk of a 10,000-thing job stays far below 100 ms per page."""
    import time

    fleet = Fleet(clock=FakeClock())
    fleet.add_iot_job("job-1", 10_000, lifecycle=Lifecycle(pending=(100, 200)))
    iot = fleet.client("iot")
    started = time.perf_counter()
    items = walk(
        iot.list_job_executions_for_job,
        "executionSummaries",
        jobId="job-1",
        status="QUEUED",
        maxResults=250,
    )
    elapsed = time.perf_counter() - started
    assert len(items) == 10_000
    assert elapsed / 40 < 0.1
