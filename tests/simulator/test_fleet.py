"""The fleet model on its own: configuration, schedules, truth, throttles, faults."""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from waiters.simulator import (
    DEFAULT_LIFECYCLES,
    EXECUTION_TYPES,
    GONE,
    Faults,
    Fleet,
    Latency,
    Lifecycle,
    ThrottleConfig,
)
from waiters.simulator._protocol import service_model

from .helpers import ASSET_ID, EPOCH, WORKFLOW_ID, FakeClock, populate

# -- configuration errors name the field and the value -------------------------------


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
        (lambda: ThrottleConfig(rate=-1.0, burst=5), ValueError, r"ThrottleConfig\.rate.*-1\.0"),
        (lambda: ThrottleConfig(rate=1, burst=-2), ValueError, r"ThrottleConfig\.burst.*-2"),
        (
            lambda: ThrottleConfig(rate=1, burst=1, per_operation={"Nope": (1, 1)}),
            ValueError,
            r"per_operation.*'Nope'",
        ),
        (lambda: Lifecycle(pending=(5.0, 1.0)), ValueError, r"Lifecycle\.pending: min 5 > max 1"),
        (lambda: Lifecycle(running=(-1.0, 1.0)), ValueError, r"Lifecycle\.running\[0\].*-1\.0"),
        (
            lambda: Lifecycle(mix={"SUCCEEDED": 0.5, "FAILED": 0.4}),
            ValueError,
            r"Lifecycle\.mix probabilities sum to 0\.9",
        ),
        (
            lambda: Lifecycle(mix={"SUCCEEDED": 1.5, "FAILED": -0.5}),
            ValueError,
            r"mix\['FAILED'\].*-0\.5",
        ),
        (lambda: Lifecycle(timeout_s=0), ValueError, r"Lifecycle\.timeout_s must be > 0, got 0"),
        (
            lambda: Lifecycle(pending=(1.0, cast(Any, "x"))),
            TypeError,
            r"Lifecycle\.pending\[1\].*'x'",
        ),
        (lambda: Faults(error_5xx=-0.1), ValueError, r"Faults\.error_5xx.*-0\.1"),
        (lambda: Faults(reset=1.5), ValueError, r"Faults\.reset.*1\.5"),
        (
            lambda: Faults(reset=0.6, malformed=0.6),
            ValueError,
            r"Faults: probabilities sum to 1\.2",
        ),
        (lambda: Latency(low=2.0, high=1.0), ValueError, r"min 2 > max 1"),
        (lambda: Fleet(speed=0), ValueError, r"Fleet\.speed must be > 0, got 0"),
        (lambda: Fleet(speed=-3), ValueError, r"Fleet\.speed.*-3"),
        (lambda: Fleet(region="mars"), ValueError, r"Fleet\.region.*'mars'"),
        (lambda: Fleet(throttle=(1, 1)), TypeError, r"Fleet\.throttle.*\(1, 1\)"),  # type: ignore[arg-type]
    ],
)
def test_bad_configuration_names_field_and_value(
    build: Any, error: type[Exception], pattern: str
) -> None:
    """Invalid settings fail at construction with a message naming the field and the value."""
    with pytest.raises(error, match=pattern):
        build()


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda f: f.add("iot-thing"), ValueError, r"unknown execution type 'iot-thing'"),
        (
            lambda f: f.add("iot-job-execution", -1),
            ValueError,
            r"count must be an int >= 0, got -1",
        ),
        (
            lambda f: f.add("iot-job-execution", lifecycle=Lifecycle(mix={"IN_PROGRESS": 1.0})),
            ValueError,
            r"'IN_PROGRESS' is not a terminal state of iot-job-execution",
        ),
        (
            lambda f: f.add("sitewise-execution", lifecycle=Lifecycle(mix={"SUCCEEDED": 1.0})),
            ValueError,
            r"'SUCCEEDED' is not a terminal state of sitewise-execution",
        ),
        (
            lambda f: f.add("transfer-execution", lifecycle=Lifecycle(timeout_s=5)),
            ValueError,
            r"timeout_s=5\.0: transfer-execution has no TIMED_OUT",
        ),
        (
            lambda f: f.add("snow-execution", schedule=[("QUEUED", 5.0), ("FAILED", 1.0)]),
            ValueError,
            r"schedule\[1\] offset 1 is before the previous offset 5",
        ),
        (
            lambda f: f.add("snow-execution", schedule=[("QUEUED", 0.0)], lifecycle=Lifecycle()),
            ValueError,
            r"lifecycle and schedule are exclusive",
        ),
        (
            lambda f: f.add_transfer_workflow("w-TOO-SHORT", 1),
            ValueError,
            r"WorkflowId 'w-TOO-SHORT' must be 19 to 19 characters",
        ),
        (
            lambda f: f.add_iot_job("job 1", 1),
            ValueError,
            r"jobId 'job 1' does not match the model's pattern",
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


# -- creation --------------------------------------------------------------------------


def test_add_returns_describe_parameters() -> None:
    """Each created execution comes back as the exact keyword arguments of its describe call."""
    fleet = Fleet()
    created = populate(fleet)
    assert created["iot-job-execution"][0] == {"jobId": "job-1", "thingName": "thing-00001"}
    for type_name, executions in created.items():
        describe = EXECUTION_TYPES[type_name]
        expected_params = set(describe.id_params)
        for ids in executions:
            assert set(ids) == expected_params


def test_generated_ids_satisfy_the_model() -> None:
    """Generated identifiers meet the describe operation's length and pattern constraints."""
    fleet = Fleet(seed=11)
    for type_name in EXECUTION_TYPES:
        fleet.add(type_name, 20)
    for type_name, ids, _ in fleet.executions():
        kind = EXECUTION_TYPES[type_name]
        shape = service_model(kind.service).operation_model(kind.describe).input_shape
        assert shape is not None
        for name, value in ids.items():
            metadata = shape.members[name].metadata
            assert metadata.get("min", 0) <= len(value) <= metadata.get("max", 10**6), (name, value)
            if "pattern" in metadata:
                assert re.fullmatch(metadata["pattern"], value), (name, value)


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


def test_lifecycle_draws_within_bounds_and_mix() -> None:
    """Drawn schedules respect the pending/running ranges and follow the terminal mix."""
    clock = FakeClock()
    fleet = Fleet(seed=3, clock=clock)
    lifecycle = Lifecycle(
        pending=(1.0, 2.0), running=(10.0, 20.0), mix={"SUCCEEDED": 0.7, "FAILED": 0.3}
    )
    fleet.add_iot_job("job-1", 2000, lifecycle=lifecycle)
    outcomes: Counter[str | None] = Counter()
    for _, _, truth in fleet.executions():
        (queued, t0), (running, t1), (terminal, t2) = truth
        assert (queued, running) == ("QUEUED", "IN_PROGRESS")
        assert t0 == pytest.approx(EPOCH, abs=1e-3)
        assert 1.0 - 1e-3 <= t1 - t0 <= 2.0 + 1e-3
        assert 10.0 - 2e-3 <= t2 - t1 <= 20.0 + 2e-3
        outcomes[terminal] += 1
    assert set(outcomes) == {"SUCCEEDED", "FAILED"}
    assert 0.65 < outcomes["SUCCEEDED"] / 2000 < 0.75


def test_timeout_turns_long_runs_into_timed_out() -> None:
    """With timeout_s, a running phase longer than the timeout ends TIMED_OUT at the timeout."""
    fleet = Fleet(seed=5, clock=FakeClock())
    fleet.add_iot_job(
        "job-1", 200, lifecycle=Lifecycle(pending=(0, 0), running=(0, 100), timeout_s=30)
    )
    timed_out = 0
    for _, _, truth in fleet.executions():
        (_, _), (_, started), (terminal, ended) = truth
        if terminal == "TIMED_OUT":
            timed_out += 1
            assert ended - started == pytest.approx(30, abs=2e-3)
        else:
            assert ended - started <= 30 + 2e-3
    assert 100 < timed_out < 180


def test_transfer_failures_pass_through_handling_exception() -> None:
    """Transfer EXCEPTION outcomes go IN_PROGRESS -> HANDLING_EXCEPTION -> EXCEPTION."""
    fleet = Fleet(seed=1, clock=FakeClock())
    fleet.add_transfer_workflow(
        WORKFLOW_ID, 50, lifecycle=Lifecycle(mix={"COMPLETED": 0.5, "EXCEPTION": 0.5})
    )
    paths = {tuple(state for state, _ in truth) for _, _, truth in fleet.executions()}
    assert paths == {
        ("IN_PROGRESS", "COMPLETED"),
        ("IN_PROGRESS", "HANDLING_EXCEPTION", "EXCEPTION"),
    }


def test_creating_ten_thousand_is_fast() -> None:
    """10,000 executions are created in well under a second (loose bound against O(n^2) slips)."""
    fleet = Fleet()
    fleet.add_iot_job("warm-up", 1)
    started = time.perf_counter()
    fleet.add_iot_job("job-1", 10_000)
    assert time.perf_counter() - started < 2.0
    assert len(fleet) == 10_001


def test_default_lifecycles_cover_every_type() -> None:
    """Every execution type has a default lifecycle whose mix uses its own terminal states."""
    assert set(DEFAULT_LIFECYCLES) == set(EXECUTION_TYPES)
    for name, lifecycle in DEFAULT_LIFECYCLES.items():
        assert set(lifecycle.resolved_mix(EXECUTION_TYPES[name])) <= EXECUTION_TYPES[name].terminal


# -- truth and time bases ---------------------------------------------------------------


def test_truth_is_in_clock_time_when_service_runs_faster() -> None:
    """With speed=10 a 100 s service phase is 10 s of clock time in the ground truth."""
    clock = FakeClock()
    fleet = Fleet(clock=clock, speed=10.0)
    clock.advance(5.0)  # service time is now 50 s ahead of the origin
    ids = fleet.add(
        "snow-execution", schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 100.0), ("SUCCEEDED", 200.0)]
    )[0]
    assert fleet.now() == pytest.approx(EPOCH + 50.0)
    truth = fleet.truth("snow-execution", **ids)
    assert [state for state, _ in truth] == ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    assert [at for _, at in truth] == pytest.approx([EPOCH + 5.0, EPOCH + 15.0, EPOCH + 25.0])
    client = fleet.client("snow-device-management")
    clock.now = EPOCH + 15.5
    assert client.describe_execution(**ids)["state"] == "IN_PROGRESS"
    clock.now = EPOCH + 25.5
    assert client.describe_execution(**ids)["state"] == "SUCCEEDED"


def test_truth_of_unknown_execution_raises() -> None:
    """Asking for the truth of an execution that does not exist is a KeyError."""
    fleet = Fleet()
    fleet.add_iot_job("job-1", 1)
    with pytest.raises(KeyError, match="no iot-job-execution"):
        fleet.truth("iot-job-execution", jobId="job-1", thingName="thing-00099")


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


# -- throttling -------------------------------------------------------------------------------


def test_token_bucket_per_region_and_operation_in_clock_time() -> None:
    """Buckets hold `burst` calls, refill at `rate` per clock second, per region and operation."""
    clock = FakeClock()
    fleet = Fleet(
        clock=clock, speed=100.0, throttle=ThrottleConfig(rate=2.0, burst=3.0), record_requests=True
    )
    ids = fleet.add_iot_job("job-1", 1)[0]
    iot = fleet.client("iot")
    iot_west = fleet.client("iot", region="us-west-2")

    def results(client: Any, n: int, call: str = "describe_job_execution") -> list[str]:
        out = []
        for _ in range(n):
            try:
                if call == "describe_job":
                    client.describe_job(jobId="job-1")
                else:
                    client.describe_job_execution(**ids)
                out.append("ok")
            except ClientError as exc:
                out.append(exc.response["Error"]["Code"])
        return out

    assert results(iot, 5) == ["ok"] * 3 + ["ThrottlingException"] * 2
    assert results(iot_west, 1) == ["ok"]  # another region has its own bucket
    assert results(iot, 1, "describe_job") == ["ok"]  # so does another operation
    clock.advance(1.0)  # refill is in clock time even though speed=100
    assert results(iot, 3) == ["ok", "ok", "ThrottlingException"]
    stats = fleet.stats()["iot:DescribeJobExecution"]
    assert (stats["served"], stats["throttled"]) == (6, 3)
    assert [r.result for r in fleet.requests if r.region == "us-east-1"][:5] == ["ok"] * 3 + [
        "throttled"
    ] * 2


def test_per_operation_limits_override_the_default() -> None:
    """per_operation gives one operation its own (rate, burst)."""
    fleet = Fleet(
        clock=FakeClock(),
        throttle=ThrottleConfig(rate=0, burst=1, per_operation={"iot:DescribeJob": (0, 4)}),
    )
    fleet.add_iot_job("job-1", 1)
    iot = fleet.client("iot")
    for _ in range(4):
        iot.describe_job(jobId="job-1")
    with pytest.raises(ClientError, match="ThrottlingException"):
        iot.describe_job(jobId="job-1")


def test_request_records_show_no_window_above_budget() -> None:
    """Recorded requests let a test check the served calls in any one-second window."""
    clock = FakeClock()
    fleet = Fleet(clock=clock, throttle=ThrottleConfig(rate=5.0, burst=5.0), record_requests=True)
    ids = fleet.add_iot_job("job-1", 1)[0]
    iot = fleet.client("iot")
    for _ in range(100):
        clock.advance(0.05)
        with contextlib.suppress(ClientError):
            iot.describe_job_execution(**ids)
    served = [r.clock_time for r in fleet.requests if r.result == "ok"]
    assert len(fleet.requests) == 100
    worst = max(sum(1 for t in served if start <= t < start + 1.0) for start in served)
    assert worst <= 10  # burst + rate * 1 s


def test_requests_need_recording_enabled() -> None:
    """Reading request records without record_requests=True is a clear error."""
    with pytest.raises(RuntimeError, match="record_requests=True"):
        _ = Fleet().requests


# -- faults ---------------------------------------------------------------------------------------


def test_fault_draws_are_seeded_and_follow_probabilities() -> None:
    """The same Faults seed gives the same fault sequence; rates match the probabilities."""

    def sequence(seed: int) -> list[str]:
        fleet = Fleet(
            clock=FakeClock(),
            faults=Faults(error_5xx=0.2, reset=0.1, malformed=0.1, throttle=0.2, seed=seed),
        )
        ids = fleet.add_iot_job("job-1", 1)[0]
        kinds = []
        for _ in range(2000):
            outcome = fleet.handle("iot", "DescribeJobExecution", ids)
            kinds.append(outcome.fault or (outcome.error.code if outcome.error else "ok"))
        return kinds

    first, again, other = sequence(1), sequence(1), sequence(2)
    assert first == again
    assert first != other
    counts = Counter(first)
    assert 0.15 < counts["ServiceUnavailableException"] / 2000 < 0.25
    assert 0.15 < counts["ThrottlingException"] / 2000 < 0.25
    assert 0.07 < counts["reset"] / 2000 < 0.13
    assert 0.07 < counts["malformed"] / 2000 < 0.13


def test_faults_can_start_and_stop_a_storm() -> None:
    """Assigning fleet.faults at runtime starts and stops a throttle storm."""
    fleet = Fleet(clock=FakeClock())
    ids = fleet.add_iot_job("job-1", 1)[0]
    iot = fleet.client("iot")
    iot.describe_job_execution(**ids)
    fleet.faults = Faults(throttle=1.0)
    with pytest.raises(iot.exceptions.ThrottlingException):
        iot.describe_job_execution(**ids)
    fleet.faults = None
    iot.describe_job_execution(**ids)
    assert fleet.stats()["iot:DescribeJobExecution"]["faulted"] == {"throttle": 1}


def test_reset_fault_raises_connection_closed_in_process() -> None:
    """A reset fault reaches in-process callers as botocore's ConnectionClosedError."""
    fleet = Fleet(faults=Faults(reset=1.0))
    ids = fleet.add_iot_job("job-1", 1)[0]
    with pytest.raises(ConnectionClosedError):
        fleet.client("iot").describe_job_execution(**ids)


def test_latency_is_reported_and_counted() -> None:
    """A latency distribution adds its draw to the outcome's delay."""
    fleet = Fleet(faults=Faults(latency=Latency(low=0.25, high=0.25)))
    ids = fleet.add_iot_job("job-1", 1)[0]
    assert fleet.handle("iot", "DescribeJobExecution", ids).delay == 0.25
    assert fleet.stats()["iot:DescribeJobExecution"]["faulted"] == {"latency": 1}


def test_unknown_operation_answers_cleanly() -> None:
    """handle() answers unknown or unimplemented operations with an AWS-style error."""
    fleet = Fleet()
    unknown = fleet.handle("iot", "FlyToTheMoon", {})
    assert unknown.error is not None and unknown.error.code == "UnknownOperationException"
    unimplemented = fleet.handle("iot", "CreateJob", {"jobId": "x", "targets": ["a"]})
    assert unimplemented.error is not None
    assert (unimplemented.error.code, unimplemented.status) == ("NotImplemented", 501)


def test_configuration_objects_are_hashable_values() -> None:
    """Frozen configs compare and hash by value, mixes and per-operation limits included."""
    assert Lifecycle(mix={"SUCCEEDED": 1.0}) == Lifecycle(mix={"SUCCEEDED": 1.0})
    assert len({Lifecycle(mix={"SUCCEEDED": 1.0}), Lifecycle(mix={"SUCCEEDED": 1.0})}) == 1
    limits = {"DescribeJob": (1.0, 2.0)}
    assert hash(ThrottleConfig(1, 2, limits)) == hash(ThrottleConfig(1, 2, dict(limits)))
    with pytest.raises(AttributeError):
        Lifecycle().timeout_s = 3.0  # type: ignore[misc]


def test_adding_zero_executions_creates_no_job() -> None:
    """add(count=0) returns nothing and leaves no empty job behind."""
    fleet = Fleet()
    assert fleet.add("iot-job-execution", 0, parent="job-0") == []
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        fleet.client("iot").describe_job(jobId="job-0")
