"""The handlers: Describe and List agree with the ground truth at every step of the clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from waiters.simulator import EXECUTION_TYPES, GONE, IMPLEMENTED, FakeClient, Fleet, Lifecycle
from waiters.simulator._handlers import HANDLERS

from .helpers import ASSET_ID, EPOCH, WORKFLOW_ID, FakeClock, walk

# Clock steps avoid landing exactly on the millisecond-rounded transition times.
STEP = 0.7003
STEPS = 60


def expected_state(truth: list[tuple[str | None, float]], now: float) -> tuple[bool, str | None]:
    """(exists, state) at clock time *now* according to the truth."""
    current = [state for state, at in truth if at <= now]
    if not current:
        return False, None
    return True, current[-1]


LIFECYCLE = Lifecycle(
    pending=(0.0, 8.0),
    running=(2.0, 25.0),
    mix={"SUCCEEDED": 0.5, "FAILED": 0.3, "REJECTED": 0.2},
    timeout_s=18.0,
)


def test_iot_job_describe_list_and_counts_follow_truth() -> None:
    """Job executions, status-filtered pages and DescribeJob counts match the truth at each step."""
    clock = FakeClock(EPOCH)
    fleet = Fleet(seed=21, clock=clock, speed=1.5)
    created = fleet.add_iot_job("job-1", 40, lifecycle=LIFECYCLE)
    truths = {ids["thingName"]: fleet.truth("iot-job-execution", **ids) for ids in created}
    iot = fleet.client("iot")
    statuses = sorted(EXECUTION_TYPES["iot-job-execution"].states)
    seen_states: set[str | None] = set()
    for _ in range(STEPS):
        clock.advance(STEP)
        now = clock.now
        expected = {thing: expected_state(truth, now)[1] for thing, truth in truths.items()}
        seen_states.update(expected.values())
        for ids in created:
            execution = iot.describe_job_execution(**ids)["execution"]
            truth = truths[ids["thingName"]]
            assert execution["status"] == expected[ids["thingName"]]
            assert execution["versionNumber"] == sum(1 for _, at in truth if at <= now)
            if execution["status"] == "IN_PROGRESS":
                assert 0 <= execution["approximateSecondsBeforeTimedOut"] <= 18
        for status in statuses:
            listed = walk(
                iot.list_job_executions_for_job,
                "executionSummaries",
                jobId="job-1",
                status=status,
                maxResults=7,
            )
            assert all(item["jobExecutionSummary"]["status"] == status for item in listed)
            names = sorted(item["thingArn"].rsplit("/", 1)[1] for item in listed)
            assert names == sorted(thing for thing, state in expected.items() if state == status)
        everything = walk(
            iot.list_job_executions_for_job, "executionSummaries", jobId="job-1", maxResults=9
        )
        assert len(everything) == 40
        job = iot.describe_job(jobId="job-1")["job"]
        counts = Counter(expected.values())
        details = job["jobProcessDetails"]
        assert details["numberOfQueuedThings"] == counts["QUEUED"]
        assert details["numberOfInProgressThings"] == counts["IN_PROGRESS"]
        assert details["numberOfSucceededThings"] == counts["SUCCEEDED"]
        assert details["numberOfFailedThings"] == counts["FAILED"]
        assert details["numberOfRejectedThings"] == counts["REJECTED"]
        assert details["numberOfTimedOutThings"] == counts["TIMED_OUT"]
        assert details["numberOfRemovedThings"] == details["numberOfCanceledThings"] == 0
        terminal = EXECUTION_TYPES["iot-job-execution"].terminal
        done = all(state in terminal for state in expected.values())
        assert job["status"] == ("COMPLETED" if done else "IN_PROGRESS")
        assert ("completedAt" in job) == done
    # The walk covered the whole lifecycle, including timeouts.
    assert {"QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT"} <= seen_states


def _check_flat_type(
    fleet: Fleet,
    clock: FakeClock,
    type_name: str,
    created: list[dict[str, str]],
    describe: Callable[[dict[str, str]], str | None],
    listing: Callable[[str | None], list[str]],
    key: str,
) -> set[str | None]:
    """Step the clock; Describe and (filtered) List must match the truth for every execution."""
    kind = EXECUTION_TYPES[type_name]
    truths = {ids[key]: fleet.truth(type_name, **ids) for ids in created}
    seen: set[str | None] = set()
    for _ in range(STEPS):
        clock.advance(STEP)
        expected = {name: expected_state(truth, clock.now) for name, truth in truths.items()}
        visible = {
            name: state
            for name, (exists, state) in expected.items()
            if exists and not (kind.vanishes and state in kind.terminal)
        }
        seen.update(state for _, state in expected.values())
        for ids in created:
            name = ids[key]
            if name in visible:
                assert describe(ids) == visible[name]
            else:
                with pytest.raises(Exception, match="ResourceNotFoundException"):
                    describe(ids)
        assert sorted(listing(None)) == sorted(visible)
        for state in sorted(kind.states) if not kind.vanishes else ():
            assert sorted(listing(state)) == sorted(n for n, s in visible.items() if s == state)
    return seen


def test_transfer_executions_vanish_when_finished() -> None:
    """Finished Transfer executions answer ResourceNotFound and drop out of ListExecutions."""
    clock = FakeClock(EPOCH)
    fleet = Fleet(seed=4, clock=clock, speed=2.0)
    lifecycle = Lifecycle(
        pending=(0.0, 20.0), running=(5.0, 40.0), mix={"COMPLETED": 0.6, "EXCEPTION": 0.4}
    )
    created = fleet.add_transfer_workflow(WORKFLOW_ID, 25, lifecycle=lifecycle)
    transfer = fleet.client("transfer")

    def describe(ids: dict[str, str]) -> str | None:
        execution = transfer.describe_execution(**ids)["Execution"]
        if execution["Status"] == "HANDLING_EXCEPTION":
            assert execution["Results"]["Steps"][-1]["Error"]["Type"] == "CUSTOM_STEP_FAILED"
        return str(execution["Status"])

    def listing(_: str | None) -> list[str]:
        items = walk(
            transfer.list_executions,
            "Executions",
            "NextToken",
            WorkflowId=WORKFLOW_ID,
            MaxResults=4,
        )
        return [item["ExecutionId"] for item in items]

    seen = _check_flat_type(
        fleet, clock, "transfer-execution", created, describe, listing, "ExecutionId"
    )
    assert {"IN_PROGRESS", "HANDLING_EXCEPTION", "COMPLETED", "EXCEPTION"} <= seen
    assert listing(None) == []


def test_snow_sitewise_and_commands_follow_truth() -> None:
    """Snow, SiteWise and command executions: Describe and filtered List match the truth."""
    clock = FakeClock(EPOCH)
    fleet = Fleet(seed=9, clock=clock)
    snow = fleet.client("snow-device-management")
    sitewise = fleet.client("iotsitewise")
    iot: FakeClient = fleet.client("iot")
    short = Lifecycle(
        pending=(0.0, 10.0), running=(2.0, 20.0), mix={"SUCCEEDED": 0.6, "FAILED": 0.4}
    )

    snow_ids = fleet.add_snow_task("task-1", 12, lifecycle=short)
    seen = _check_flat_type(
        fleet,
        clock,
        "snow-execution",
        snow_ids,
        lambda ids: snow.describe_execution(**ids)["state"],
        lambda state: [
            item["managedDeviceId"]
            for item in walk(
                snow.list_executions,
                "executions",
                taskId="task-1",
                maxResults=5,
                **({"state": state} if state else {}),
            )
        ],
        "managedDeviceId",
    )
    assert {"QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED"} <= seen

    clock.now = EPOCH
    sitewise_ids = fleet.add_sitewise_executions(
        ASSET_ID,
        12,
        lifecycle=Lifecycle(pending=(0, 5), running=(1, 20), mix={"COMPLETED": 0.5, "FAILED": 0.5}),
    )
    seen = _check_flat_type(
        fleet,
        clock,
        "sitewise-execution",
        sitewise_ids,
        lambda ids: sitewise.describe_execution(**ids)["executionStatus"]["state"],
        lambda state: [
            item["executionId"]
            for item in walk(
                sitewise.list_executions,
                "executionSummaries",
                targetResourceType="ASSET",
                targetResourceId=ASSET_ID,
                maxResults=5,
            )
            if state is None or item["executionStatus"]["state"] == state
        ],
        "executionId",
    )
    assert {"RUNNING", "COMPLETED", "FAILED"} <= seen

    clock.now = EPOCH
    command_ids = fleet.add_command("cmd-7", 12, lifecycle=short)
    arn = command_ids[0]["targetArn"].replace(":thing/thing-00001", ":command/cmd-7")

    def describe_command(ids: dict[str, str]) -> str | None:
        response = iot.get_command_execution(**ids)
        if response["status"] == "FAILED":
            assert response["statusReason"]["reasonCode"] == "DEVICE_FAILED"
        return str(response["status"])

    seen = _check_flat_type(
        fleet,
        clock,
        "iot-command-execution",
        command_ids,
        describe_command,
        lambda state: [
            item["executionId"]
            for item in walk(
                iot.list_command_executions,
                "commandExecutions",
                commandArn=arn,
                maxResults=5,
                **({"status": state} if state else {}),
            )
        ],
        "executionId",
    )
    assert {"CREATED", "IN_PROGRESS", "SUCCEEDED", "FAILED"} <= seen


def test_command_listing_by_target_and_sort_order() -> None:
    """ListCommandExecutions filters by targetArn and honours sortOrder."""
    fleet = Fleet(seed=2, clock=FakeClock())
    first = fleet.add_command("cmd-a", ["thing-1", "thing-2"])
    second = fleet.add_command("cmd-b", ["thing-1"])
    iot = fleet.client("iot")
    target = first[0]["targetArn"]
    ascending = iot.list_command_executions(targetArn=target)["commandExecutions"]
    assert [item["executionId"] for item in ascending] == [
        first[0]["executionId"],
        second[0]["executionId"],
    ]
    descending = iot.list_command_executions(targetArn=target, sortOrder="DESCENDING")[
        "commandExecutions"
    ]
    assert [item["executionId"] for item in descending] == [
        second[0]["executionId"],
        first[0]["executionId"],
    ]
    with pytest.raises(iot.exceptions.ValidationException, match="commandArn or targetArn"):
        iot.list_command_executions()


def test_explicit_schedule_unknown_states_missing_fields_and_gone() -> None:
    """Explicit schedules serve any state verbatim, omit the status for None, vanish at GONE."""
    clock = FakeClock()
    fleet = Fleet(clock=clock)
    ids = fleet.add(
        "iot-job-execution",
        parent="job-x",
        schedule=[
            ("QUEUED", 0.0),
            ("SUCCEEDED", 5.0),
            ("IN_PROGRESS", 7.0),
            ("WARPING", 9.0),
            (None, 11.0),
            (GONE, 13.0),
        ],
    )[0]
    client = fleet.client("iot")
    seen = []
    for offset in (1.0, 6.0, 8.0, 10.0, 12.0):
        clock.now = EPOCH + offset
        execution = client.describe_job_execution(**ids)["execution"]
        seen.append(execution.get("status", "<missing>"))
    assert seen == ["QUEUED", "SUCCEEDED", "IN_PROGRESS", "WARPING", "<missing>"]
    clock.now = EPOCH + 14.0
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_job_execution(**ids)
    assert [state for state, _ in fleet.truth("iot-job-execution", **ids)][-1] == GONE


def test_every_implemented_operation_has_exactly_one_handler() -> None:
    """The handler table and IMPLEMENTED name the same operations."""
    implemented = {f"{service}:{name}" for service, names in IMPLEMENTED.items() for name in names}
    assert set(HANDLERS) == implemented
