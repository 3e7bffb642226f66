"""The execution catalogue: types, lifecycles and the schedules drawn from them."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import pytest

from waiters.simulator import DEFAULT_LIFECYCLES, EXECUTION_TYPES, Fleet, Lifecycle

from .helpers import EPOCH, WORKFLOW_ID, FakeClock

# -- configuration errors name the field and the value -------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
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
    ],
)
def test_bad_lifecycle_names_field_and_value(
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
    ],
)
def test_bad_type_lifecycle_or_schedule_names_field_and_value(
    call: Any, error: type[Exception], pattern: str
) -> None:
    """Invalid executions are refused with a message naming what is wrong."""
    fleet = Fleet()
    with pytest.raises(error, match=pattern):
        call(fleet)


def test_lifecycles_are_hashable_values() -> None:
    """A Lifecycle compares and hashes by value, its mix included, and is frozen."""
    assert Lifecycle(mix={"SUCCEEDED": 1.0}) == Lifecycle(mix={"SUCCEEDED": 1.0})
    assert len({Lifecycle(mix={"SUCCEEDED": 1.0}), Lifecycle(mix={"SUCCEEDED": 1.0})}) == 1
    with pytest.raises(AttributeError):
        Lifecycle().timeout_s = 3.0  # type: ignore[misc]


# -- drawing schedules ---------------------------------------------------------------------


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


def test_default_lifecycles_cover_every_type() -> None:
    """Every execution type has a default lifecycle whose mix uses its own terminal states."""
    assert set(DEFAULT_LIFECYCLES) == set(EXECUTION_TYPES)
    for name, lifecycle in DEFAULT_LIFECYCLES.items():
        assert set(lifecycle.resolved_mix(EXECUTION_TYPES[name])) <= EXECUTION_TYPES[name].terminal
