"""The Fleet façade: its own configuration, time bases, truth, records and dispatch."""

from __future__ import annotations

from typing import Any

import pytest

from waiters.simulator import Fleet

from .helpers import EPOCH, FakeClock

# -- configuration errors name the field and the value -------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
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


# -- truth and time bases ------------------------------------------------------------------


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


# -- records and dispatch ------------------------------------------------------------------


def test_requests_need_recording_enabled() -> None:
    """Reading request records without record_requests=True is a clear error."""
    with pytest.raises(RuntimeError, match="record_requests=True"):
        _ = Fleet().requests


def test_unknown_operation_answers_cleanly() -> None:
    """handle() answers unknown or unimplemented operations with an AWS-style error."""
    fleet = Fleet()
    unknown = fleet.handle("iot", "FlyToTheMoon", {})
    assert unknown.error is not None and unknown.error.code == "UnknownOperationException"
    unimplemented = fleet.handle("iot", "CreateJob", {"jobId": "x", "targets": ["a"]})
    assert unimplemented.error is not None
    assert (unimplemented.error.code, unimplemented.status) == ("NotImplemented", 501)
