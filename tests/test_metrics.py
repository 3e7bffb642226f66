"""Metrics through OpenTelemetry, read back with the SDK's in-memory reader."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections import Counter
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from waiters import (
    BudgetConfig,
    BudgetRegistry,
    Execution,
    Outcome,
    OutcomeKind,
    Poller,
    default_registry,
)
from waiters.simulator import Fleet, Lifecycle, ThrottleConfig
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")
ENDED = {OutcomeKind.SUCCEEDED, OutcomeKind.FAILED, OutcomeKind.CANCELLED}


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def _by(points: list[Any], key: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for point in points:
        counts[point.attributes[key]] += point.value
    return counts


def test_calls_throttles_outcomes_rates_and_detection_latency() -> None:
    """A throttled rollout of 60 on virtual time: every figure agrees with the poller's
    own stats, and the latency histogram with the fleet's ground truth."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    budgets = BudgetRegistry(BudgetConfig(initial_rate=20, max_rate=20, min_rate=1))

    async def main() -> tuple[Any, Poller, dict[Execution, float], Fleet]:
        async with Poller(
            meter_provider=provider, budgets=budgets, batch=False, timeout=3600
        ) as poller:
            # The service's clock reads wall time as the poller sees it (to within
            # the moment since it started): ends are dated in the same frame.
            offset = time.time() - anyio.current_time()
            fleet = Fleet(
                seed=9, clock=lambda: anyio.current_time() + offset, throttle=ThrottleConfig(2, 2)
            )
            ids = fleet.add_iot_job("job-m", things=60, lifecycle=Lifecycle(running=(5, 60)))
            seen: dict[Execution, float] = {}

            def detected(outcome: Outcome) -> None:
                seen[outcome.execution] = anyio.current_time() + offset

            async with fleet.async_client("iot") as iot:
                executions = [Execution(JOB, i, iot) for i in ids]
                result = await poller.wait_all(executions, on_outcome=detected)
        return result, poller, seen, fleet

    result, poller, seen, fleet = MockClock().run(main)
    points = _points(reader)

    calls = points["waiters.calls"]
    assert sum(p.value for p in calls) == poller.stats.calls
    assert {p.attributes["service"] for p in calls} == {"iot"}
    assert {p.attributes["region"] for p in calls} == {"us-east-1"}
    operations = _by(calls, "operation")
    assert operations["DescribeJobExecution"] > 0
    # Describe mode: its own calls, and the job's retry configuration read once.
    assert set(operations) <= {"DescribeJobExecution", "DescribeJob"}
    assert operations["DescribeJob"] <= 1
    results = _by(calls, "result")
    assert results["throttled"] == poller.stats.throttles > 0
    assert results["transient"] == poller.stats.errors
    assert sum(p.value for p in points["waiters.throttles"]) == poller.stats.throttles

    assert _by(points["waiters.outcomes"], "kind") == {k.value: n for k, n in result.counts.items()}

    rates = points["waiters.budget.rate"]
    budget_rates = {s.key[3]: s.rate for s in budgets.stats()}
    assert {p.attributes["operation"]: p.value for p in rates} == budget_rates

    # Detection latency: one sample per execution the service dated, equal to the
    # ground truth (detection time minus the time the fleet says it ended).
    histogram = points["waiters.detection_latency"]  # a point per kind
    count = sum(p.count for p in histogram)
    total = sum(p.sum for p in histogram)
    truth = []
    for outcome in result.outcomes:
        if outcome.kind in ENDED:
            states = fleet.truth("iot-job-execution", **outcome.execution.params)
            truth.append(seen[outcome.execution] - states[-1][1])
    assert count == len(truth) == 60
    assert total == pytest.approx(sum(truth), abs=0.01 * len(truth))
    assert total > 0
    assert max(p.max for p in histogram) <= 60
    assert {p.attributes["kind"] for p in histogram} <= {k.value for k in ENDED}


def test_without_an_sdk_the_global_provider_records_nothing_and_costs_no_errors() -> None:
    """No SDK configured: the API's own no-op; the wait is unchanged."""
    code = textwrap.dedent(
        """
        import anyio
        from waiters import Execution, Poller, default_registry
        from waiters.testing import ScriptedClient, status_response
        from waiters._metrics import metrics_for

        machine = default_registry().get("iot-job-execution")
        client = ScriptedClient("iot", machine.method, [status_response(machine, "SUCCEEDED")])

        async def main():
            async with Poller() as poller:
                job = Execution(machine, {"jobId": "j", "thingName": "t"}, client)
                return await poller.wait(job)

        print(anyio.run(main).kind.value, metrics_for() is not None)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["succeeded", "True"]
    assert done.stderr == ""


def test_without_opentelemetry_installed_nothing_is_recorded() -> None:
    """The extra is optional: with the package absent, metrics_for() is None and waits run."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if not installed
        import anyio
        from waiters import Execution, Poller, default_registry
        from waiters.testing import ScriptedClient, status_response
        from waiters._metrics import metrics_for

        machine = default_registry().get("iot-job-execution")
        client = ScriptedClient("iot", machine.method, [status_response(machine, "FAILED")])

        async def main():
            async with Poller() as poller:
                job = Execution(machine, {"jobId": "j", "thingName": "t"}, client)
                return await poller.wait(job)

        print(anyio.run(main).kind.value, metrics_for() is None)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["failed", "True"]


def test_a_meter_provider_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="meter_provider must be an OpenTelemetry MeterProvider"):
        Poller(meter_provider="prometheus")


def test_latency_is_never_measured_against_a_clock_that_is_not_the_walls() -> None:
    """A fleet on virtual time from 0 (its endings dated 1970) and one whose clock runs ten
    times fast (dated in the future): no absurd figures, only bounded or none."""
    for speed, clock_at_zero in ((1.0, True), (10.0, False)):
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])

        async def main(
            speed: float = speed, at_zero: bool = clock_at_zero, provider: Any = provider
        ) -> Any:
            start = 0.0 if at_zero else time.time() - anyio.current_time()
            fleet = Fleet(seed=2, clock=lambda: anyio.current_time() + start, speed=speed)
            ids = fleet.add_iot_job("job-c", things=20, lifecycle=Lifecycle(running=(5, 60)))
            async with fleet.async_client("iot") as iot:
                executions = [Execution(JOB, i, iot) for i in ids]
                async with Poller(
                    meter_provider=provider, budgets=BudgetRegistry(), batch=False
                ) as poller:
                    return await poller.wait_all(executions)

        result = MockClock().run(main)
        longest = max(o.elapsed for o in result.outcomes)
        histogram = _points(reader).get("waiters.detection_latency", [])
        if clock_at_zero:
            # Ended "in 1970": measured from the start of each wait, so within it.
            assert sum(p.count for p in histogram) == 20
            assert max(p.max for p in histogram) <= longest + 1e-3  # epoch-sized floats
        else:
            # Dated ahead of the wall clock: not recorded at all (rather than as 0).
            assert histogram == []
