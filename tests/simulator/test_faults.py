"""Faults and throttles: token buckets, seeded fault draws, storms, resets and latency."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from waiters.simulator import Faults, Fleet, Latency, ThrottleConfig
from waiters.simulator._faults import RequestGate
from waiters.simulator._protocol import operation_spec
from waiters.simulator._stats import OperationCounter

from .helpers import FakeClock

# -- configuration errors name the field and the value -------------------------------------


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
        (lambda: Faults(error_5xx=-0.1), ValueError, r"Faults\.error_5xx.*-0\.1"),
        (lambda: Faults(reset=1.5), ValueError, r"Faults\.reset.*1\.5"),
        (
            lambda: Faults(reset=0.6, malformed=0.6),
            ValueError,
            r"Faults: probabilities sum to 1\.2",
        ),
        (lambda: Latency(low=2.0, high=1.0), ValueError, r"min 2 > max 1"),
    ],
)
def test_bad_fault_or_throttle_config_names_field_and_value(
    build: Any, error: type[Exception], pattern: str
) -> None:
    """Invalid settings fail at construction with a message naming the field and the value."""
    with pytest.raises(error, match=pattern):
        build()


def test_throttle_configs_are_hashable_values() -> None:
    """A ThrottleConfig hashes by value, its per-operation limits included."""
    limits = {"DescribeJob": (1.0, 2.0)}
    assert hash(ThrottleConfig(1, 2, limits)) == hash(ThrottleConfig(1, 2, dict(limits)))


# -- throttling ----------------------------------------------------------------------------


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


# -- faults --------------------------------------------------------------------------------


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
            reply = fleet.handle("iot", "DescribeJobExecution", ids)
            kinds.append(reply.fault or (reply.error.code if reply.error else "ok"))
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
    """A latency distribution adds its draw to the reply's delay."""
    fleet = Fleet(faults=Faults(latency=Latency(low=0.25, high=0.25)))
    ids = fleet.add_iot_job("job-1", 1)[0]
    assert fleet.handle("iot", "DescribeJobExecution", ids).delay == 0.25
    assert fleet.stats()["iot:DescribeJobExecution"]["faulted"] == {"latency": 1}


def test_gate_is_active_exactly_while_something_is_in_force() -> None:
    """The fleet skips an inactive gate, so `active` must follow every assignment."""
    gate = RequestGate(None, None)
    assert not gate.active
    spec = operation_spec("iot", "DescribeJob")
    assert gate.admit(spec, "us-east-1", 0.0, OperationCounter()) == (None, 0.0, False)
    gate.faults = Faults(throttle=1.0)
    assert gate.active
    gate.throttle = ThrottleConfig(rate=1, burst=1)
    gate.faults = None
    assert gate.active
    gate.throttle = None
    assert not gate.active
    assert RequestGate(ThrottleConfig(rate=1, burst=1), None).active
    assert RequestGate(None, Faults()).active
