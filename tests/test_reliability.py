"""Reliability and security under faults, load and bad input.

Each test states what it injects and what it checks. Unless said otherwise
they run the poller against the simulator's in-process fleet on virtual time,
so minutes of faults take milliseconds and every run is the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import boto3
import pytest
import structlog
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.clients import sync_client
from tests.test_poller import _check_against_truth, _executions, _fleet
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    ExecutionNotFound,
    OutcomeKind,
    Poller,
    ServiceError,
    WaiterError,
    default_registry,
    execution,
    wait_all,
    wait_for,
    wait_for_sync,
)
from waiters.simulator import GONE, Faults, Fleet, Latency, Lifecycle, Simulator
from waiters.testing import run_virtual

MIXED = (
    "iot-job-execution",
    "iot-command-execution",
    "sitewise-execution",
    "snow-execution",
    "transfer-execution",
)


def _mixed_fleet(fleet: Fleet, count: int, lifecycle: Lifecycle) -> list[Any]:
    executions = []
    for type_name in MIXED:
        executions += _executions(
            fleet, type_name, fleet.add(type_name, count, lifecycle=lifecycle)
        )
    return executions


def test_throttle_storm_then_recovery() -> None:
    """Injected: 90% of all calls throttled for the first 3 minutes, then none.
    Checked: every outcome matches the ground truth; the budget was cut during the
    storm; afterwards it recovers: each execution that ends after the storm is seen
    within its longest poll delay (20 s) and the budget's climb back (10 s at most)."""

    async def main() -> tuple[Fleet, Any, Any, float, float]:
        fleet = _fleet(seed=21, faults=Faults(throttle=0.9, seed=2))
        executions = _mixed_fleet(fleet, 30, Lifecycle(pending=(0, 30), running=(30, 240)))
        budgets = BudgetRegistry(BudgetConfig(initial_rate=10, max_rate=10))
        async with Poller(
            budgets=budgets, timeout=None, batch_min=10, backoff=Backoff(1, 20)
        ) as poller:
            submitted = anyio.current_time()
            batch = await poller.submit(executions)
            await anyio.sleep(180)
            during = budgets.stats()
            fleet.faults = None
            calm = anyio.current_time()
            result = await batch.wait()
        return fleet, result, during, submitted, calm

    fleet, result, during, submitted, calm = run_virtual(main)
    assert len(result.outcomes) == 150
    _check_against_truth(fleet, result.outcomes)
    assert sum(fleet.stats()[op]["throttled"] for op in fleet.stats()) > 100
    busiest = max(during, key=lambda s: s.throttles)
    assert busiest.cuts > 20
    late = 0
    for outcome in result.outcomes:
        truth = fleet.truth(outcome.execution.type, **outcome.execution.params)
        ended = truth[-1][1]
        # A Transfer execution the service forgot is reported after the grace
        # for its disappearance, by design: not a measure of the budget.
        if ended > calm and outcome.kind is not OutcomeKind.VANISHED:
            late += 1
            assert submitted + outcome.elapsed - ended <= 20 + 10, (outcome, truth)
    assert late > 40  # most executions end after the storm: the check has its subjects


def test_network_faults_do_not_end_waits() -> None:
    """Injected: 20% 5xx answers, 10% connection resets, 5% malformed JSON, and 5% of
    answers delayed 60-120 s, beyond the 5 s per-call timeout.
    Checked: every wait still ends in its true final state."""

    async def main() -> tuple[Fleet, Any]:
        fleet = _fleet(
            seed=22,
            faults=Faults(
                error_5xx=0.2,
                reset=0.1,
                malformed=0.05,
                latency=Latency(60, 120, probability=0.05),
                seed=3,
            ),
        )
        executions = _mixed_fleet(fleet, 12, Lifecycle(pending=(0, 20), running=(10, 120)))
        result = await wait_all(
            executions,
            timeout=None,
            call_timeout=5,
            budgets=BudgetRegistry(),
            batch_min=10,
            backoff=Backoff(1, 15),
        )
        return fleet, result

    fleet, result = run_virtual(main)
    assert len(result.outcomes) == 60
    _check_against_truth(fleet, result.outcomes)


def test_faults_forever_are_bounded_by_the_deadline() -> None:
    """Injected: every call fails (5xx or reset) forever.
    Checked: each wait times out at its 5-minute deadline, not later, and none is lost."""

    async def main() -> tuple[Any, float]:
        fleet = _fleet(seed=23, faults=Faults(error_5xx=0.5, reset=0.5, seed=4))
        executions = _mixed_fleet(fleet, 4, Lifecycle())
        start = anyio.current_time()
        result = await wait_all(executions, timeout=300, budgets=BudgetRegistry(), batch=False)
        return result, anyio.current_time() - start

    result, elapsed = run_virtual(main)
    assert len(result.outcomes) == 20
    assert {o.kind for o in result.outcomes} == {OutcomeKind.WAIT_TIMEOUT}
    assert elapsed <= 301.0


@pytest.mark.parametrize(
    ("schedule", "outcome", "event"),
    [
        # The status field missing from some answers: keep waiting, report it.
        (
            [("QUEUED", 0.0), (None, 5.0), ("SUCCEEDED", 30.0)],
            "SUCCEEDED",
            "waiters.missing_status",
        ),
        # A state the definition does not know (the service added one): not terminal.
        (
            [("QUEUED", 0.0), ("PAUSED", 5.0), ("SUCCEEDED", 30.0)],
            "SUCCEEDED",
            "waiters.unknown_state",
        ),
        # Going backwards: logged as illegal, never recorded.
        (
            [("IN_PROGRESS", 0.0), ("QUEUED", 5.0), ("SUCCEEDED", 40.0)],
            "SUCCEEDED",
            "waiters.illegal_transition",
        ),
        # An execution that disappears while running: it ended, the service won't say how.
        ([("QUEUED", 0.0), ("IN_PROGRESS", 3.0), (GONE, 20.0)], "vanished", None),
    ],
)
def test_odd_answers_give_documented_outcomes(
    schedule: list[Any], outcome: str, event: str | None
) -> None:
    """Injected: scripted lifecycles with a missing status, an unknown state, a backwards
    move, a vanishing execution. Checked: the documented outcome and event, no crash."""

    async def main() -> Any:
        fleet = _fleet(seed=24)
        ids = fleet.add("iot-job-execution", 1, schedule=schedule)
        (job,) = _executions(fleet, "iot-job-execution", ids)
        return await wait_for(
            job, raise_on_failure=False, budgets=BudgetRegistry(), backoff=Backoff(1, 2)
        )

    with structlog.testing.capture_logs() as logs:
        result = run_virtual(main)
    if outcome == "vanished":
        assert result.kind is OutcomeKind.VANISHED
        assert result.state == "IN_PROGRESS"
    else:
        assert result.state == outcome and result.ok
    if event is not None:
        assert event in [e["event"] for e in logs]
    if event == "waiters.illegal_transition":
        assert "QUEUED" not in [t.state for t in result.history[1:]]


def _refusing(fleet: Fleet, service: str, code: str, status: int) -> Any:
    """An in-process client whose every call is refused like AWS refuses bad credentials."""
    client = fleet.async_client(service)
    calls: list[str] = []

    class Refusing:
        meta = client.meta

        def __getattr__(self, name: str) -> Any:
            async def refuse(**params: Any) -> Any:
                calls.append(name)
                response: Any = {
                    "Error": {"Code": code, "Message": f"{code} (test)"},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                }
                raise ClientError(response, "DescribeExecution")

            return refuse

    refusing = Refusing()
    refusing.calls = calls  # type: ignore[attr-defined]
    return refusing


@pytest.mark.parametrize(
    ("code", "status", "about_client"),
    [
        ("ExpiredTokenException", 403, True),
        ("UnrecognizedClientException", 403, True),
        ("AccessDeniedException", 403, False),
    ],
)
def test_bad_credentials_fail_fast_without_a_retry_loop(
    code: str, status: int, about_client: bool
) -> None:
    """Injected: every call refused for credentials or permissions.
    Checked: a single wait raises ServiceError naming the operation after one call; a
    batch of 40 all end with error outcomes: after the calls already in flight when
    the client's identity is refused, after one call each when each is denied (IAM
    denies per resource, so each denial answers for its own execution only)."""

    async def main() -> tuple[Any, Any, int]:
        fleet = _fleet(seed=25)
        ids = fleet.add("snow-execution", 40)
        client = _refusing(fleet, "snow-device-management", code, status)
        jobs = [execution(client, "describe_execution", **p) for p in ids]
        with pytest.raises(ServiceError) as info:
            await wait_for(jobs[0], budgets=BudgetRegistry())
        single_calls = len(client.calls)
        result = await wait_all(jobs, budgets=BudgetRegistry(), batch=False)
        return info.value, result, len(client.calls) - single_calls

    error, result, batch_calls = run_virtual(main)
    assert "DescribeExecution failed" in str(error) and code in str(error)
    assert error.attempts == 1
    assert {o.kind for o in result.outcomes} == {OutcomeKind.ERROR}
    assert len(result.outcomes) == 40
    if about_client:
        # At most the calls already in flight when the first refusal came back.
        assert batch_calls <= 10
    else:
        assert batch_calls == 40 and {o.attempts for o in result.outcomes} == {1}


@pytest.mark.parametrize(
    ("service", "type_name", "code"),
    [
        ("iot", "iot-job-execution", "ExpiredTokenException"),
        ("transfer", "transfer-execution", "UnrecognizedClientException"),
        ("snow-device-management", "snow-execution", "AccessDeniedException"),
    ],
)
def test_refused_credentials_over_http_fail_fast(service: str, type_name: str, code: str) -> None:
    """Injected: the simulator refuses the client's access key (expired, unknown, denied),
    answering as AWS does over the wire. Checked: a real boto3 wait makes one call and
    raises ServiceError naming the operation and the code."""
    with Simulator(seed=32, speed=20).in_thread() as sim:
        (ids,) = sim.fleet.add(type_name, 1)
        sim.fleet.refused_keys["AKIAREFUSED000000000"] = code
        kwargs = {**sim.client_kwargs(), "aws_access_key_id": "AKIAREFUSED000000000"}
        client = sync_client(service, **kwargs)
        machine = default_registry().get(type_name)
        try:
            with pytest.raises(ServiceError) as info:
                wait_for_sync(execution(client, machine.method, **ids), budgets=BudgetRegistry())
        finally:
            client.close()
        served = sum(s["served"] + s["throttled"] for s in sim.fleet.stats().values())
    assert info.value.attempts == 1
    assert f"{machine.operation} failed: {code}" in str(info.value)
    assert served == 0  # refused before any operation ran


def test_an_execution_that_never_existed_is_not_found_after_the_grace_window() -> None:
    """Injected: ids the service never knew. Checked: ExecutionNotFound after the grace
    window (not before), naming the execution."""

    async def main() -> tuple[Any, float]:
        fleet = _fleet(seed=26)
        client = fleet.async_client("iot")
        start = anyio.current_time()
        with pytest.raises(ExecutionNotFound) as info:
            await wait_for(
                client,
                "describe_job_execution",
                jobId="nope",
                thingName="ghost",
                not_found_grace=20,
                budgets=BudgetRegistry(),
            )
        return info.value, anyio.current_time() - start

    error, elapsed = run_virtual(main)
    assert elapsed >= 20
    assert "iot-job-execution(jobId='nope', thingName='ghost') was not found" in str(error)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cancel_at=st.floats(0.0, 400.0), batch=st.booleans(), sync_client=st.booleans())
def test_cancellation_at_any_point_leaks_nothing(
    cancel_at: float, batch: bool, sync_client: bool
) -> None:
    """Injected: the caller cancelled at a random moment. Checked: no task or thread left
    behind, and the batch reports every execution, the unfinished ones as abandoned."""
    threads_before = threading.active_count()

    async def main() -> tuple[int, Any]:
        tasks_before = len(asyncio.all_tasks())
        fleet = _fleet(seed=27)
        ids = fleet.add("snow-execution", 30, lifecycle=Lifecycle(running=(10, 300)))
        machine = default_registry().get("snow-execution")
        client = (
            fleet.client(machine.service) if sync_client else fleet.async_client(machine.service)
        )
        jobs = [execution(client, machine.method, **p) for p in ids]
        holder: list[Any] = []
        with anyio.move_on_after(cancel_at):
            async with Poller(budgets=BudgetRegistry(), batch=batch, batch_min=10) as poller:
                batch_ = await poller.submit(jobs)
                holder.append(batch_)
                await batch_.wait()
        await anyio.lowlevel.checkpoint()
        return len(asyncio.all_tasks()) - tasks_before, holder[0] if holder else None

    leaked, batch_ = run_virtual(main)
    assert leaked == 0
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= threads_before
    if batch_ is not None:
        result = batch_.result()
        assert len(result.outcomes) == 30
        waiting = result.of(OutcomeKind.ABANDONED)
        assert result.aborted == bool(waiting)
        assert all(o.reason == "the poller was closed" for o in waiting)


@pytest.mark.slow
@pytest.mark.timeout(600)  # about 90 s here; room for a slower CI machine
def test_load_of_100000_executions_in_one_poller() -> None:
    """Injected: 100,000 executions in one poller (in-process transport, 5% 5xx faults):
    90,000 in ten IoT job rollouts, observed through list sweeps, and 10,000 Snow
    executions in groups too small to list, described one by one.
    Checked: every outcome delivered exactly once, each one the true final state, and
    memory stays bounded while they wait."""

    def rss_kib() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    delivered: Counter[Any] = Counter()

    async def main() -> tuple[Fleet, list[Any], int]:
        fleet = _fleet(seed=28, faults=Faults(error_5xx=0.05, seed=5))
        lifecycle = Lifecycle(pending=(0, 60), running=(30, 300))
        jobs = []
        for index in range(10):
            jobs += _executions(
                fleet,
                "iot-job-execution",
                fleet.add_iot_job(f"load-{index}", things=9_000, lifecycle=lifecycle),
            )
        for _ in range(1_000):
            jobs += _executions(
                fleet, "snow-execution", fleet.add("snow-execution", 10, lifecycle=lifecycle)
            )
        before = rss_kib()
        outcomes = []
        growth = 0
        async with Poller(
            budgets=BudgetRegistry(BudgetConfig(1e4, 1e4)),
            concurrency=50,
            backoff=Backoff(5, 60),
            timeout=None,
        ) as poller:
            batch = await poller.submit(jobs)
            await anyio.sleep(20)
            growth = rss_kib() - before
            async for outcome in batch:
                delivered[outcome.execution] += 1
                outcomes.append(outcome)
        return fleet, outcomes, growth

    fleet, outcomes, growth = run_virtual(main)
    assert len(delivered) == 100_000
    assert set(delivered.values()) == {1}
    _check_against_truth(fleet, outcomes)
    # All 100,000 waiting: trackers, heap entries and early outcomes, in KiB.
    assert growth < 100_000 * 1.5, f"{growth} KiB"


_CHILD = """
import json, sys, anyio, aioboto3, structlog, logging
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
from botocore.config import Config
from waiters import Backoff, execution, Poller, BudgetRegistry

async def main():
    endpoint, ids_file = sys.argv[1], sys.argv[2]
    ids = [json.loads(line) for line in open(ids_file)]
    session = aioboto3.Session(aws_access_key_id="AKIATEST", aws_secret_access_key="x")
    config = Config(inject_host_prefix=False, retries={"total_max_attempts": 1})
    async with session.client("iot", endpoint_url=endpoint, region_name="us-east-1",
                              config=config) as iot:
        jobs = [execution(iot, "describe_job_execution", **p) for p in ids]
        async with Poller(budgets=BudgetRegistry(), backoff=Backoff(0.05, 0.3)) as poller:
            print("started", flush=True)
            async for outcome in poller.as_completed(jobs):
                print(json.dumps({"params": dict(outcome.execution.params),
                                  "state": outcome.state}), flush=True)

anyio.run(main)
"""


def test_killed_and_restarted_with_the_same_input_ends_the_same(tmp_path: Path) -> None:
    """Injected: the waiting process killed with SIGKILL mid-wait, then started again.
    Checked: the second run reports every execution's true final state: nothing depended on
    local state that was lost."""
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    with Simulator(seed=29, speed=20).in_thread() as sim:
        ids = sim.fleet.add_iot_job(
            "restart-job", things=40, lifecycle=Lifecycle(pending=(0, 20), running=(20, 80))
        )
        ids_file = tmp_path / "ids.jsonl"
        ids_file.write_text("".join(json.dumps(p) + "\n" for p in ids))
        command = [sys.executable, str(script), sim.endpoint_url, str(ids_file)]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert first.stdout is not None
            assert first.stdout.readline().strip() == "started"
            time.sleep(1.0)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            if first.stdout is not None:
                first.stdout.close()
        second = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=120, check=True
        )
        lines = [json.loads(line) for line in second.stdout.splitlines()[1:]]
        truth = {tuple(sorted(i.items())): t for _, i, t in sim.fleet.executions()}
    assert len(lines) == 40
    for line in lines:
        states = [s for s, _ in truth[tuple(sorted(line["params"].items()))]]
        assert line["state"] == states[-1]


# --- security -----------------------------------------------------------------------------


def test_credentials_never_reach_logs_or_errors() -> None:
    """Injected: a real boto3 client with known credentials, debug logging with responses,
    and a wait that fails. Checked: neither key, nor a signature, appears anywhere."""
    access_key, secret = "AKIAVERYSECRETKEY123", "wJalrXUtnFEMI-super-secret-value"
    with Simulator(seed=30, speed=20).in_thread() as sim:
        (ids,) = sim.fleet.add(
            "iot-command-execution", 1, lifecycle=Lifecycle(running=(1, 5), mix={"FAILED": 1.0})
        )
        kwargs = {
            **sim.client_kwargs(),
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret,
        }
        client = boto3.client("iot", **kwargs)
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
        try:
            with structlog.testing.capture_logs() as logs, pytest.raises(WaiterError) as info:
                wait_for_sync(
                    client,
                    "get_command_execution",
                    **ids,
                    log_responses=True,
                    backoff=Backoff(0.05, 0.2),
                    budgets=BudgetRegistry(),
                )
        finally:
            client.close()
    text = json.dumps(logs, default=str) + str(info.value) + repr(info.value)
    for secret_text in (access_key, secret, "Signature=", "Authorization"):
        assert secret_text not in text
    assert any(e["event"] == "waiters.poll" for e in logs)


@pytest.mark.parametrize("include", [False, True])
def test_command_parameters_are_redacted_unless_asked_for(include: bool) -> None:
    """Command parameters and results hold secrets: redacted in logged responses by default,
    present only with log_sensitive=True."""

    async def main() -> None:
        fleet = _fleet(seed=31)
        (ids,) = fleet.add("iot-command-execution", 1, lifecycle=Lifecycle(running=(1, 3)))
        client = fleet.async_client("iot")
        await wait_for(
            execution(client, "get_command_execution", **ids),
            raise_on_failure=False,
            log_responses=True,
            log_sensitive=include,
            budgets=BudgetRegistry(),
        )

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    with structlog.testing.capture_logs() as logs:
        run_virtual(main)
    polls = [e for e in logs if e["event"] == "waiters.poll"]
    assert polls
    for event in polls:
        parameters = event["response"].get("parameters")
        if include:
            assert "secret-" in json.dumps(parameters)
        else:
            assert parameters == "<redacted>"
    assert ("secret-" in json.dumps(logs, default=str)) is include


def test_transfer_user_details_are_redacted() -> None:
    """Transfer user details (user name, session) stay out of logged responses by default."""
    from waiters._events import redact

    machine = default_registry().get("transfer-execution")
    response: dict[str, Any] = {
        "Execution": {
            "Status": "IN_PROGRESS",
            "ServiceMetadata": {
                "UserDetails": {"UserName": "alice", "ServerId": "s-1", "SessionId": "x"}
            },
        }
    }
    redacted = redact(response, machine)
    assert redacted["Execution"]["ServiceMetadata"]["UserDetails"] == "<redacted>"
    assert response["Execution"]["ServiceMetadata"]["UserDetails"]["UserName"] == "alice"
