"""Quirks and job retries: the simulator behaving like a service that lags.

Each option is exercised through a real boto3 client over HTTP and through
the in-process client (the ``connect`` fixture runs every such test once per
transport), on a fake clock so nothing sleeps.  The fleet's origin is the
fake clock's start, and ``speed`` is 1, so service time is clock time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.clients import sync_client
from waiters.simulator import Fleet, Lifecycle, Quirks, Retries, Simulator, add_arguments
from waiters.simulator._cli import build_fleet

from .helpers import ASSET_ID, EPOCH, WORKFLOW_ID, FakeClock, strip_metadata

Connect = Callable[[str], Any]
JOB = "iot-job-execution"
CMD_ARN = "arn:aws:iot:us-east-1:123456789012:command/cmd-1"
#: DescribeJob's jobProcessDetails count of each execution state.
COUNT_NAMES = {
    "QUEUED": "numberOfQueuedThings",
    "IN_PROGRESS": "numberOfInProgressThings",
    "SUCCEEDED": "numberOfSucceededThings",
    "FAILED": "numberOfFailedThings",
    "REJECTED": "numberOfRejectedThings",
    "REMOVED": "numberOfRemovedThings",
    "CANCELED": "numberOfCanceledThings",
    "TIMED_OUT": "numberOfTimedOutThings",
}


def counts(**by_state: int) -> dict[str, int]:
    """A full jobProcessDetails: the given states' counts, every other 0."""
    return {name: by_state.get(state, 0) for state, name in COUNT_NAMES.items()}


def at(clock: FakeClock, seconds: float) -> None:
    """Move the clock to *seconds* after the fleet was made."""
    clock.now = EPOCH + seconds


def ts(seconds: float) -> datetime:
    """The timestamp a client parses for *seconds* after the fleet was made."""
    return datetime.fromtimestamp(EPOCH + seconds, UTC)


@pytest.fixture(params=["http", "in-process"])
def connect(request: pytest.FixtureRequest, served: Simulator) -> Iterator[Connect]:
    """Clients of the served fleet: real boto3 over HTTP, or the in-process fake."""
    clients: list[Any] = []

    def make(service: str) -> Any:
        if request.param == "in-process":
            return served.fleet.client(service)
        client = sync_client(service, **served.client_kwargs())
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def three_things(fleet: Fleet) -> list[dict[str, str]]:
    """job-1 on three things: one succeeds at 20 s, one fails at 30 s, one stays queued."""
    created: list[dict[str, str]] = []
    for schedule in (
        [("QUEUED", 0.0), ("IN_PROGRESS", 10.0), ("SUCCEEDED", 20.0)],
        [("QUEUED", 0.0), ("IN_PROGRESS", 5.0), ("FAILED", 30.0)],
        [("QUEUED", 0.0)],
    ):
        created += fleet.add(JOB, 1, parent="job-1", schedule=schedule)
    return created


# -- the options ----------------------------------------------------------------------------


def test_quirks_are_checked_naming_the_field() -> None:
    """Bad quirks are refused with the field and the value; the default is all off."""
    assert Quirks() == Quirks(0.0, False, 0.0, False, False)
    with pytest.raises(ValueError, match=r"Quirks\.counts_lag must be a finite number >= 0"):
        Quirks(counts_lag=-1)
    with pytest.raises(TypeError, match=r"Quirks\.hint_lag must be a number, got '5'"):
        Quirks(hint_lag="5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Quirks\.omit_empty_lists must be a bool, got 1"):
        Quirks(omit_empty_lists=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"counts_frozen and counts_lag=3\.0 are exclusive"):
        Quirks(counts_lag=3, counts_frozen=True)
    with pytest.raises(TypeError, match=r"Fleet\.quirks must be a Quirks or None"):
        Fleet(quirks={"counts_lag": 1})  # type: ignore[arg-type]
    fleet = Fleet(quirks=Quirks(hint_lag=2))
    assert fleet.quirks == Quirks(hint_lag=2.0)
    fleet.quirks = None
    assert fleet.quirks == Quirks()
    with pytest.raises(TypeError, match=r"Fleet\.quirks must be a Quirks or None"):
        fleet.quirks = "lag"  # type: ignore[assignment]


def test_counts_lag_reports_the_states_of_lag_seconds_ago(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """DescribeJob counts each execution in its state counts_lag seconds ago; nothing else lags."""
    three_things(fleet)
    iot = connect("iot")
    at(clock, 22)
    assert iot.describe_job(jobId="job-1")["job"]["jobProcessDetails"] == counts(
        QUEUED=1, IN_PROGRESS=1, SUCCEEDED=1
    )
    fleet.quirks = Quirks(counts_lag=8.0)
    job = iot.describe_job(jobId="job-1")["job"]
    assert job["jobProcessDetails"] == counts(QUEUED=1, IN_PROGRESS=2)  # as of 14 s
    assert job["lastUpdatedAt"] == ts(20)  # the job's own fields are current
    assert job["status"] == "IN_PROGRESS"
    at(clock, 3)  # 8 s ago the job did not exist yet
    assert iot.describe_job(jobId="job-1")["job"]["jobProcessDetails"] == counts()
    at(clock, 38)  # as of 30 s, the FAILED execution has just failed
    assert iot.describe_job(jobId="job-1")["job"]["jobProcessDetails"] == counts(
        QUEUED=1, SUCCEEDED=1, FAILED=1
    )
    at(clock, 37.999)
    assert iot.describe_job(jobId="job-1")["job"]["jobProcessDetails"] == counts(
        QUEUED=1, IN_PROGRESS=1, SUCCEEDED=1
    )
    describe = iot.describe_job_execution(jobId="job-1", thingName="thing-00002")
    assert describe["execution"]["status"] == "FAILED"  # executions themselves do not lag


def test_counts_frozen_never_move(fleet: Fleet, clock: FakeClock, connect: Connect) -> None:
    """Frozen counts show every execution the job has as QUEUED, whatever it did."""
    three_things(fleet)
    fleet.add(
        JOB,
        1,
        parent="job-1",
        schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 1.0), ("SUCCEEDED", 2.0)],
        start_at=EPOCH + 15,
    )
    fleet.quirks = Quirks(counts_frozen=True)
    iot = connect("iot")
    at(clock, 10)
    assert iot.describe_job(jobId="job-1")["job"]["jobProcessDetails"] == counts(QUEUED=3)
    at(clock, 40)
    job = iot.describe_job(jobId="job-1")["job"]
    assert job["jobProcessDetails"] == counts(QUEUED=4)
    assert job["lastUpdatedAt"] == ts(30)
    fleet.quirks = None
    assert iot.describe_job(jobId="job-1")["job"]["jobProcessDetails"] == counts(
        QUEUED=1, SUCCEEDED=2, FAILED=1
    )


def test_hint_lag_reaches_zero_early_and_stays_there(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """approximateSecondsBeforeTimedOut hits 0 hint_lag seconds before the real timeout."""
    (ids,) = fleet.add_iot_job(
        "job-t", 1, lifecycle=Lifecycle(pending=(2, 2), running=(30, 30), timeout_s=10)
    )
    assert fleet.truth(JOB, **ids)[-1] == ("TIMED_OUT", EPOCH + 12)
    iot = connect("iot")

    def hint(seconds: float) -> tuple[str, int | None]:
        at(clock, seconds)
        execution = iot.describe_job_execution(**ids)["execution"]
        return execution["status"], execution.get("approximateSecondsBeforeTimedOut")

    assert hint(3) == ("IN_PROGRESS", 9)
    fleet.quirks = Quirks(hint_lag=4.0)
    assert hint(3) == ("IN_PROGRESS", 5)
    assert hint(7.5) == ("IN_PROGRESS", 1)
    assert hint(8) == ("IN_PROGRESS", 0)
    assert hint(11.999) == ("IN_PROGRESS", 0)
    assert hint(12) == ("TIMED_OUT", None)
    at(clock, 5)
    timeout = iot.describe_job(jobId="job-t")["job"]["timeoutConfig"]
    assert timeout == {"inProgressTimeoutInMinutes": 1}


LISTINGS = [
    ("iot", "list_job_executions_for_job", {"jobId": "job-1"}, "executionSummaries", {}),
    ("iot", "list_command_executions", {"commandArn": CMD_ARN}, "commandExecutions", {}),
    (
        "iotsitewise",
        "list_executions",
        {"targetResourceType": "ASSET", "targetResourceId": ASSET_ID},
        "executionSummaries",
        {},
    ),
    ("snow-device-management", "list_executions", {"taskId": "task-1"}, "executions", {}),
    (
        "transfer",
        "list_executions",
        {"WorkflowId": WORKFLOW_ID},
        "Executions",
        {"WorkflowId": WORKFLOW_ID},
    ),
]


@pytest.mark.parametrize(
    ("service", "method", "params", "items", "rest"),
    LISTINGS,
    ids=[c[1] + "." + c[0] for c in LISTINGS],
)
def test_omit_empty_lists_drops_the_list_of_an_empty_page(
    fleet: Fleet,
    clock: FakeClock,
    connect: Connect,
    service: str,
    method: str,
    params: dict[str, Any],
    items: str,
    rest: dict[str, str],
) -> None:
    """Each list operation leaves out an empty list with the quirk, and only an empty one."""
    for type_name, parent in (
        (JOB, "job-1"),
        ("iot-command-execution", "cmd-1"),
        ("sitewise-execution", ASSET_ID),
        ("snow-execution", "task-1"),
        ("transfer-execution", WORKFLOW_ID),
    ):
        fleet.add(type_name, 2, parent=parent, start_at=EPOCH + 100)
    client = connect(service)
    list_page = getattr(client, method)
    at(clock, 50)  # the groups exist, their executions are not created yet
    assert strip_metadata(list_page(**params)) == {**rest, items: []}
    fleet.quirks = Quirks(omit_empty_lists=True)
    assert strip_metadata(list_page(**params)) == rest
    at(clock, 101)
    assert len(list_page(**params)[items]) == 2


def four_things(fleet: Fleet) -> None:
    """job-s: things 2 and 4 have SUCCEEDED by 1 s, things 1 and 3 stay queued."""
    for schedule in (
        [("QUEUED", 0.0)],
        [("QUEUED", 0.0), ("SUCCEEDED", 1.0)],
        [("QUEUED", 0.0)],
        [("QUEUED", 0.0), ("SUCCEEDED", 1.0)],
    ):
        fleet.add(JOB, 1, parent="job-s", schedule=schedule)


def pages(list_page: Callable[..., Any], token_key: str = "nextToken", **params: Any) -> list[Any]:
    """Every page of a listing, without ResponseMetadata, following the token."""
    seen: list[Any] = []
    token = None
    while True:
        page = strip_metadata(list_page(**params, **({token_key: token} if token else {})))
        seen.append(page)
        token = page.get(token_key)
        if not token:
            return seen
        assert len(seen) < 20


def test_sparse_pages_give_a_token_without_a_list(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """With sparse pages and omitted lists, a filtered-out page is a bare next token."""
    four_things(fleet)
    iot = connect("iot")
    at(clock, 5)
    query: dict[str, Any] = {"jobId": "job-s", "status": "SUCCEEDED", "maxResults": 1}
    fleet.quirks = Quirks(omit_empty_lists=True)
    dense = pages(iot.list_job_executions_for_job, **query)
    assert [sorted(page) for page in dense] == [
        ["executionSummaries", "nextToken"],
        ["executionSummaries"],
    ]
    fleet.quirks = Quirks(omit_empty_lists=True, sparse_pages=True)
    sparse = pages(iot.list_job_executions_for_job, **query)
    assert [sorted(page) for page in sparse] == [
        ["nextToken"],
        ["executionSummaries", "nextToken"],
        ["nextToken"],
        ["executionSummaries"],
    ]
    listed = [
        s["thingArn"].rsplit("/", 1)[1] for p in sparse for s in p.get("executionSummaries", [])
    ]
    assert listed == ["thing-00002", "thing-00004"]
    fleet.quirks = Quirks(sparse_pages=True)  # without the omission, the empty pages say []
    assert [
        page.get("executionSummaries") == []
        for page in pages(iot.list_job_executions_for_job, **query)
    ] == [True, False, True, False]
    # botocore's own paginator walks the bare-token pages.
    fleet.quirks = Quirks(omit_empty_lists=True, sparse_pages=True)
    paginator = iot.get_paginator("list_job_executions_for_job")
    full = paginator.paginate(
        jobId="job-s", status="SUCCEEDED", PaginationConfig={"PageSize": 1}
    ).build_full_result()
    assert [s["thingArn"][-11:] for s in full["executionSummaries"]] == listed


def test_sparse_pages_read_a_page_of_each_listing_with_a_filter(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """Snow's state filter also applies after the page is read (one more listing, same rule)."""
    for schedule in ([("QUEUED", 0.0)], [("QUEUED", 0.0), ("SUCCEEDED", 1.0)]):
        fleet.add("snow-execution", 1, parent="task-1", schedule=schedule)
    fleet.quirks = Quirks(omit_empty_lists=True, sparse_pages=True)
    snow = connect("snow-device-management")
    at(clock, 2)
    found = pages(snow.list_executions, taskId="task-1", state="SUCCEEDED", maxResults=1)
    assert [sorted(page) for page in found] == [["nextToken"], ["executions"]]
    assert found[1]["executions"][0]["state"] == "SUCCEEDED"


# -- job retries ----------------------------------------------------------------------------


def test_retries_are_checked_naming_the_field() -> None:
    """Retry criteria follow the iot model's RetryCriteria bounds; errors name field and value."""
    assert Retries({"FAILED": 2}).delay == (1.0, 5.0)
    for criteria, error, pattern in [
        ({}, ValueError, r"one or two failure types, got \{\}"),
        ({"FAILED": 1, "TIMED_OUT": 1, "ALL": 1}, ValueError, "one or two failure types"),
        ({"CANCELED": 1}, ValueError, r"unknown failure type 'CANCELED'"),
        ({"FAILED": 11}, ValueError, r"criteria\['FAILED'\] must be in \[0, 10\], got 11"),
        ({"FAILED": True}, TypeError, r"criteria\['FAILED'\] must be an int, got True"),
        ([("FAILED", 1)], TypeError, "must be a mapping"),
    ]:
        with pytest.raises(error, match=pattern):
            Retries(criteria)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Retries\.delay: min 5 > max 1"):
        Retries({"ALL": 1}, delay=(5, 1))
    with pytest.raises(TypeError, match=r"Retries\.lifecycle must be a Lifecycle"):
        Retries({"ALL": 1}, lifecycle={"mix": {}})  # type: ignore[arg-type]
    fleet = Fleet()
    with pytest.raises(ValueError, match="retries are for iot-job-execution, not snow-execution"):
        fleet.add("snow-execution", 1, retries={"FAILED": 1})
    with pytest.raises(TypeError, match="retries must be a Retries or a mapping"):
        fleet.add_iot_job("job-1", 1, retries=3)  # type: ignore[arg-type]
    fleet.add_iot_job("job-1", 1, retries={"FAILED": 1})
    with pytest.raises(ValueError, match=r"differ from the job's"):
        fleet.add_iot_job("job-1", ["other"])
    assert len(fleet) == 1
    with pytest.raises(ValueError, match=r"Lifecycle\.mix: 'EXCEPTION' is not a terminal state"):
        fleet.add_iot_job(
            "job-2", 1, retries=Retries({"ALL": 1}, lifecycle=Lifecycle(mix={"EXCEPTION": 1.0}))
        )


@pytest.mark.parametrize(
    ("criteria", "ending", "number", "retried"),
    [
        ({"FAILED": 2}, "FAILED", 1, True),
        ({"FAILED": 2}, "FAILED", 2, True),
        ({"FAILED": 2}, "FAILED", 3, False),
        ({"FAILED": 2}, "TIMED_OUT", 1, False),
        ({"TIMED_OUT": 1}, "TIMED_OUT", 1, True),
        ({"TIMED_OUT": 1}, "TIMED_OUT", 2, False),
        ({"ALL": 1}, "FAILED", 1, True),
        ({"ALL": 1}, "TIMED_OUT", 1, True),
        ({"ALL": 1}, "REJECTED", 1, False),
        ({"ALL": 1}, "SUCCEEDED", 1, False),
        ({"FAILED": 0, "ALL": 3}, "FAILED", 1, False),  # the specific criterion wins
        ({"FAILED": 0, "ALL": 3}, "TIMED_OUT", 3, True),
        ({"FAILED": 0}, "FAILED", 1, False),
    ],
)
def test_which_endings_are_retried(
    criteria: dict[str, int], ending: str, number: int, retried: bool
) -> None:
    """An attempt is retried while its criterion (else ALL's) allows more than number - 1."""
    assert Retries(criteria).allows(ending, number) is retried


QUICK_FAIL = Lifecycle(pending=(2, 2), running=(8, 8), mix={"FAILED": 1.0})


def retried_jobs(fleet: Fleet) -> tuple[dict[str, str], dict[str, str]]:
    """job-r: fails at 10 s, retried at 13 s, succeeds at 18 s.  job-x: fails three times."""
    (recovered,) = fleet.add_iot_job(
        "job-r",
        1,
        lifecycle=QUICK_FAIL,
        retries=Retries(
            {"FAILED": 2},
            delay=(3, 3),
            lifecycle=Lifecycle(pending=(1, 1), running=(4, 4), mix={"SUCCEEDED": 1.0}),
        ),
    )
    (exhausted,) = fleet.add_iot_job(
        "job-x",
        1,
        lifecycle=QUICK_FAIL,
        retries=Retries(
            {"FAILED": 2},
            delay=(3, 3),
            lifecycle=Lifecycle(pending=(1, 1), running=(4, 4), mix={"FAILED": 1.0}),
        ),
    )
    return recovered, exhausted


def test_retry_truth_and_attempts(fleet: Fleet) -> None:
    """truth() runs through every attempt; attempts() splits them by executionNumber."""
    recovered, exhausted = retried_jobs(fleet)
    first = [("QUEUED", EPOCH), ("IN_PROGRESS", EPOCH + 2), ("FAILED", EPOCH + 10)]
    second = [("QUEUED", EPOCH + 13), ("IN_PROGRESS", EPOCH + 14), ("SUCCEEDED", EPOCH + 18)]
    assert fleet.truth(JOB, **recovered) == first + second
    assert fleet.attempts(JOB, **recovered) == [(1, first), (2, second)]
    truth = fleet.truth(JOB, **exhausted)
    assert truth[-1] == ("FAILED", EPOCH + 26)
    assert [number for number, _ in fleet.attempts(JOB, **exhausted)] == [1, 2, 3]
    assert [state for state, _ in truth].count("QUEUED") == 3
    # One entry per thing in executions(), its truth the whole run.
    listed = {ids["jobId"]: states for _, ids, states in fleet.executions()}
    assert listed["job-r"] == first + second
    assert len(fleet) == 2
    # Without retries the attempts are the truth, numbered 1, for any type.
    (plain,) = fleet.add_snow_task("task-1", 1)
    assert fleet.attempts("snow-execution", **plain) == [
        (1, fleet.truth("snow-execution", **plain))
    ]


def test_retried_executions_get_new_numbers(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """The newest attempt answers; executionNumber picks one; versions restart at 1."""
    recovered, exhausted = retried_jobs(fleet)
    iot = connect("iot")

    def describe(**extra: Any) -> dict[str, Any]:
        execution = iot.describe_job_execution(**recovered, **extra)["execution"]
        return {
            key: execution[key]
            for key in ("status", "executionNumber", "versionNumber", "queuedAt")
        }

    at(clock, 5)
    assert describe() == {
        "status": "IN_PROGRESS",
        "executionNumber": 1,
        "versionNumber": 2,
        "queuedAt": ts(0),
    }
    at(clock, 11)  # failed, the retry not queued yet: the failed attempt is the newest
    assert describe() == {
        "status": "FAILED",
        "executionNumber": 1,
        "versionNumber": 3,
        "queuedAt": ts(0),
    }
    with pytest.raises(ClientError) as caught:
        describe(executionNumber=2)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert (
        caught.value.response["Error"]["Message"] == "No execution number 2 for thing thing-00001"
    )
    at(clock, 13.5)
    assert describe() == {
        "status": "QUEUED",
        "executionNumber": 2,
        "versionNumber": 1,
        "queuedAt": ts(13),
    }
    assert describe(executionNumber=1)["status"] == "FAILED"
    assert describe(executionNumber=2)["executionNumber"] == 2
    at(clock, 20)
    assert describe() == {
        "status": "SUCCEEDED",
        "executionNumber": 2,
        "versionNumber": 3,
        "queuedAt": ts(13),
    }
    at(clock, 30)
    execution = iot.describe_job_execution(**exhausted)["execution"]
    assert (execution["status"], execution["executionNumber"]) == ("FAILED", 3)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        iot.describe_job_execution(**exhausted, executionNumber=4)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        iot.describe_job_execution(**exhausted, executionNumber=0)


def test_retries_list_the_newest_attempt_and_count_it(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """ListJobExecutionsForJob shows each thing's newest attempt; DescribeJob counts it."""
    recovered, _ = retried_jobs(fleet)
    iot = connect("iot")
    at(clock, 11)
    failed = iot.list_job_executions_for_job(jobId="job-r", status="FAILED")
    assert [s["jobExecutionSummary"]["executionNumber"] for s in failed["executionSummaries"]] == [
        1
    ]
    at(clock, 13.5)
    (summary,) = iot.list_job_executions_for_job(jobId="job-r")["executionSummaries"]
    assert summary["thingArn"].endswith("/" + recovered["thingName"])
    assert summary["jobExecutionSummary"] == {
        "status": "QUEUED",
        "queuedAt": ts(13),
        "lastUpdatedAt": ts(13),
        "executionNumber": 2,
        "retryAttempt": 1,
    }
    assert (
        iot.list_job_executions_for_job(jobId="job-r", status="FAILED")["executionSummaries"] == []
    )
    job = iot.describe_job(jobId="job-r")["job"]
    assert job["jobProcessDetails"] == counts(QUEUED=1)
    assert job["status"] == "IN_PROGRESS"
    assert job["jobExecutionsRetryConfig"] == {
        "criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2}]
    }
    at(clock, 20)
    job = iot.describe_job(jobId="job-r")["job"]
    assert job["jobProcessDetails"] == counts(SUCCEEDED=1)
    assert (job["status"], job["completedAt"]) == ("COMPLETED", ts(18))
    fleet.quirks = Quirks(counts_lag=9.0)  # as of 11 s: still the first, failed attempt
    assert iot.describe_job(jobId="job-r")["job"]["jobProcessDetails"] == counts(FAILED=1)


def test_timeouts_are_retried_and_schedules_can_fail_first(
    fleet: Fleet, clock: FakeClock, connect: Connect
) -> None:
    """A TIMED_OUT attempt is retried under TIMED_OUT or ALL; an explicit schedule can fail."""
    (timed_out,) = fleet.add_iot_job(
        "job-t",
        1,
        lifecycle=Lifecycle(pending=(0, 0), running=(60, 60), timeout_s=10),
        retries=Retries(
            {"TIMED_OUT": 1},
            delay=(0, 0),
            lifecycle=Lifecycle(pending=(0, 0), running=(5, 5), mix={"SUCCEEDED": 1.0}),
        ),
    )
    assert [state for state, _ in fleet.truth(JOB, **timed_out)] == [
        "QUEUED",
        "IN_PROGRESS",
        "TIMED_OUT",
        "QUEUED",
        "IN_PROGRESS",
        "SUCCEEDED",
    ]
    (scheduled,) = fleet.add(
        JOB,
        1,
        parent="job-s",
        schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 1.0), ("FAILED", 2.0)],
        retries={"ALL": 1},
    )
    attempts = fleet.attempts(JOB, **scheduled)
    assert [number for number, _ in attempts] == [1, 2]
    assert 1.0 <= attempts[1][1][0][1] - (EPOCH + 2) <= 5.0  # the default delay
    iot = connect("iot")
    at(clock, 10)  # the timeout and the retry's queueing happen at once: the retry answers
    execution = iot.describe_job_execution(**timed_out)["execution"]
    assert (execution["status"], execution["executionNumber"]) == ("IN_PROGRESS", 2)
    assert "approximateSecondsBeforeTimedOut" not in execution  # its lifecycle has no timeout
    job = iot.describe_job(jobId="job-s")["job"]
    assert job["jobExecutionsRetryConfig"] == {
        "criteriaList": [{"failureType": "ALL", "numberOfRetries": 1}]
    }


# -- the control API and the command line ---------------------------------------------------


def post(served: Simulator, route: str, body: Mapping[str, Any]) -> tuple[int, Any]:
    """POST JSON to the control API; the status and the decoded answer."""
    request = urllib.request.Request(
        f"{served.endpoint_url}/_simulator/{route}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_control_api_sets_quirks_and_retries(served: Simulator, clock: FakeClock) -> None:
    """POST faults takes "quirks"; POST executions takes "retries" in either form."""
    fleet = served.fleet
    status, answer = post(served, "faults", {"quirks": {"counts_lag": 5, "omit_empty_lists": True}})
    assert status == 200
    assert fleet.quirks == Quirks(counts_lag=5.0, omit_empty_lists=True)
    assert answer["quirks"] == repr(fleet.quirks)
    status, answer = post(served, "faults", {"quirks": {"counts_lag": -5}})
    assert (status, answer["error"]) == (400, "ValueError")
    assert post(served, "faults", {"quirks": None})[0] == 200
    assert fleet.quirks == Quirks()
    status, answer = post(
        served,
        "executions",
        {
            "type": JOB,
            "parent": "job-c",
            "schedule": [["QUEUED", 0], ["FAILED", 1]],
            "retries": {
                "criteria": {"FAILED": 1},
                "delay": [2, 2],
                "lifecycle": {"pending": [1, 1], "running": [1, 1], "mix": {"SUCCEEDED": 1.0}},
            },
        },
    )
    assert status == 200
    (ids,) = answer["executions"]
    assert fleet.truth(JOB, **ids)[-1] == ("SUCCEEDED", EPOCH + 5)
    status, answer = post(
        served,
        "executions",
        {"type": JOB, "parent": "job-m", "members": ["m-1"], "retries": {"TIMED_OUT": 2}},
    )
    assert status == 200
    at(clock, 1)
    job = fleet.client("iot").describe_job(jobId="job-m")["job"]
    assert job["jobExecutionsRetryConfig"]["criteriaList"] == [
        {"failureType": "TIMED_OUT", "numberOfRetries": 2}
    ]
    status, answer = post(
        served,
        "executions",
        {"type": "snow-execution", "parent": "t-1", "members": ["d"], "retries": {"FAILED": 1}},
    )
    assert status == 400
    assert (
        answer["message"] == "executions: 'retries' are for iot-job-execution, not 'snow-execution'"
    )


def test_command_line_sets_quirks() -> None:
    """The --counts-lag, --hint-lag and flag options make the fleet's quirks."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert build_fleet(parser.parse_args([])).quirks == Quirks()
    args = parser.parse_args(
        ["--counts-lag", "30", "--hint-lag", "60", "--omit-empty-lists", "--sparse-pages"]
    )
    assert build_fleet(args).quirks == Quirks(
        counts_lag=30.0, hint_lag=60.0, omit_empty_lists=True, sparse_pages=True
    )
    assert build_fleet(parser.parse_args(["--counts-frozen"])).quirks.counts_frozen
    with pytest.raises(ValueError, match="exclusive"):
        build_fleet(parser.parse_args(["--counts-frozen", "--counts-lag", "1"]))


# -- properties, over both transports --------------------------------------------------------


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Simulator, Any]]:
    """One server for the property tests (each example serves a fleet of its own) and a client."""
    with Simulator(Fleet()).in_thread() as simulator:
        client = sync_client("iot", **simulator.client_kwargs())
        try:
            yield simulator, client
        finally:
            client.close()


TERMINALS = ("SUCCEEDED", "FAILED", "TIMED_OUT", "REJECTED", "REMOVED", "CANCELED")
spans = st.tuples(st.floats(0, 30), st.floats(0, 30)).map(lambda pair: (min(pair), max(pair)))


def weighted(states: list[str]) -> st.SearchStrategy[dict[str, float]]:
    """Mixes of *states* with random weights."""
    return st.lists(st.integers(1, 5), min_size=len(states), max_size=len(states)).map(
        lambda weights: {s: w / sum(weights) for s, w in zip(states, weights, strict=True)}
    )


some_terminals = st.lists(st.sampled_from(TERMINALS), min_size=1, max_size=3, unique=True)
mixes = some_terminals.flatmap(weighted)
#: Mixes that always may fail, so retries happen often.
failing_mixes = some_terminals.map(lambda states: list(dict.fromkeys(["FAILED", *states])))
lifecycles = st.builds(
    Lifecycle,
    pending=spans,
    running=spans,
    mix=mixes,
    timeout_s=st.none() | st.floats(1, 30),
)
failing_lifecycles = st.builds(
    Lifecycle,
    pending=spans,
    running=spans,
    mix=failing_mixes.flatmap(weighted),
    timeout_s=st.none() | st.floats(1, 30),
)
retry_configs = st.builds(
    Retries,
    criteria=st.dictionaries(
        st.sampled_from(("FAILED", "TIMED_OUT", "ALL")), st.integers(0, 3), min_size=1, max_size=2
    ),
    delay=spans,
    lifecycle=st.none() | failing_lifecycles,
)


def state_at(truth: Sequence[tuple[str | None, float]], when: float) -> str | None:
    """The state a truth is in at *when* (None before it starts)."""
    current = None
    for state, entered in truth:
        if entered > when:
            break
        current = state
    return current


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lifecycle=lifecycles,
    later=st.none() | st.tuples(lifecycles, st.floats(0, 40)),
    things=st.integers(1, 8),
    retries=st.none() | retry_configs,
    lag=st.floats(0, 40),
    times=st.lists(st.floats(0, 80), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_lagging_counts_are_a_recount_of_truth_lag_seconds_ago(
    shared: tuple[Simulator, Any],
    lifecycle: Lifecycle,
    later: tuple[Lifecycle, float] | None,
    things: int,
    retries: Retries | None,
    lag: float,
    times: list[float],
    seed: int,
) -> None:
    """For any lifecycles, retries and query times, lagged counts recount the truth at now - lag.

    Frozen counts, likewise, are the number of executions that exist, all QUEUED.
    """
    simulator, http = shared
    clock = FakeClock()
    fleet = Fleet(seed=seed, clock=clock)
    simulator.fleet = fleet
    local = fleet.client("iot")
    created = fleet.add_iot_job("job-h", things, lifecycle=lifecycle, retries=retries)
    if later is not None:
        created += fleet.add(
            JOB, 2, parent="job-h", lifecycle=later[0], start_at=EPOCH + later[1], retries=retries
        )
    truths = [fleet.truth(JOB, **ids) for ids in created]
    for when in times:
        at(clock, when)
        fleet.quirks = Quirks(counts_lag=lag)
        recount = counts()
        for truth in truths:
            state = state_at(truth, clock.now - lag)
            if state is not None:
                recount[COUNT_NAMES[state]] += 1
        event(f"states counted: {sum(1 for value in recount.values() if value)}")
        for client in (http, local):
            assert client.describe_job(jobId="job-h")["job"]["jobProcessDetails"] == recount
        fleet.quirks = Quirks(counts_frozen=True)
        exist = sum(1 for truth in truths if truth[0][1] <= clock.now)
        for client in (http, local):
            assert client.describe_job(jobId="job-h")["job"]["jobProcessDetails"] == counts(
                QUEUED=exist
            )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lifecycle=failing_lifecycles,
    retries=retry_configs,
    things=st.integers(1, 4),
    times=st.lists(st.floats(0, 200), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_retry_chains_follow_the_criteria_and_the_newest_answers(
    shared: tuple[Simulator, Any],
    lifecycle: Lifecycle,
    retries: Retries,
    things: int,
    times: list[float],
    seed: int,
) -> None:
    """Attempts are retried exactly while the criteria allow; Describe answers the newest."""
    simulator, http = shared
    clock = FakeClock()
    fleet = Fleet(seed=seed, clock=clock)
    simulator.fleet = fleet
    local = fleet.client("iot")
    created = fleet.add_iot_job("job-p", things, lifecycle=lifecycle, retries=retries)
    criteria = dict(retries.criteria)
    low, high = retries.delay

    def retried(ending: str | None, number: int) -> bool:
        if ending not in ("FAILED", "TIMED_OUT"):
            return False
        limit = criteria.get(ending, criteria.get("ALL"))
        return limit is not None and number - 1 < limit

    for ids in created:
        attempts = fleet.attempts(JOB, **ids)
        event(f"attempts: {min(len(attempts), 3)}{'+' if len(attempts) >= 3 else ''}")
        assert [number for number, _ in attempts] == list(range(1, len(attempts) + 1))
        for (number, truth), (_, following) in itertools.pairwise(attempts):
            assert retried(truth[-1][0], number)
            assert following[0][0] == "QUEUED"
            assert low - 1e-3 <= following[0][1] - truth[-1][1] <= high + 1e-3
        assert not retried(attempts[-1][1][-1][0], attempts[-1][0])
        assert fleet.truth(JOB, **ids) == [entry for _, truth in attempts for entry in truth]
        for when in times:
            at(clock, when)
            number, truth = [(n, t) for n, t in attempts if t[0][1] <= clock.now][-1]
            version = sum(1 for _, entered in truth if entered <= clock.now)
            for client in (http, local):
                execution = client.describe_job_execution(**ids)["execution"]
                assert execution["executionNumber"] == number
                assert execution["versionNumber"] == version
                assert execution["status"] == state_at(truth, clock.now)
