"""Push and poll: a rollout heard through the simulator's event queue, side by side with
polling alone, in one run.

Scenarios (each on a fresh simulator process, at speed 1, 10 calls/s per
operation, the same seeded rollout):

* ``polling``: events off, today's batch Poller: the baseline;
* ``events``: events on, delivered at once: the target (p99 detection at
  most 1.5 s, at most 0.005 Describe or list calls per execution); job
  executions publish their endings, as AWS IoT does;
* ``every-status``: the same with every status a job execution enters routed
  to the queue (three times the messages): how the consumer holds a burst;
* ``lossy``: 20% of events lost, 10% duplicated, delays up to 30 s: every
  outcome right, none later than the staleness bound;
* ``dying``: the queue fails mid-rollout: polling takes over, every outcome right.

Detection latency is the client's ``time.time()`` when it saw the outcome
less the time the simulator says the execution entered its last state.
Calls are the simulator's own counts of the IoT operations (Describe, list,
DescribeJob), so nothing the client says about itself is taken on trust.

    python -m benchmarks.events                 # N=10,000, all four
    python -m benchmarks.events --executions 1000 --only events lossy
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig

from benchmarks._common import percentile, quiet_logs
from benchmarks._simproc import SimulatorProcess
from waiters import POLL_RETRY_CONFIG, Execution, Poller, SqsEvents, default_registry

TYPE = "iot-job-execution"
JOB = "events-rollout"
REGION = "us-east-1"
# A rollout of about a minute: each execution ends 10-50 s after creation.
LIFECYCLE = {"pending": [0, 20], "running": [10, 30]}
IOT_OPERATIONS = ("iot:DescribeJobExecution", "iot:ListJobExecutionsForJob", "iot:DescribeJob")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Scenario:
    name: str
    events: bool
    flags: tuple[str, ...] = ()
    #: The safety-net bound the poller is given (seconds).
    staleness: float = 300.0
    #: Seconds into the rollout at which the queue starts failing, if it does.
    fail_at: float | None = None
    cap: float = 240.0


SCENARIOS = (
    Scenario("polling", events=False),
    Scenario("events", events=True),
    # Every status a job execution enters routed to the queue (IoT publishes its
    # endings only): three times the messages, a burst of 10,000 at creation.
    Scenario("every-status", events=True, flags=("--events-every-status",)),
    Scenario(
        "lossy",
        events=True,
        flags=("--events-loss", "0.2", "--events-duplicate", "0.1", "--events-delay", "30"),
        staleness=60.0,
    ),
    Scenario("dying", events=True, fail_at=25.0),
)


def _control(url: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with _OPENER.open(request, timeout=60) as response:
        return json.loads(response.read())


async def _client_run(
    url: str, scenario: Scenario, simulator: SimulatorProcess, count: int
) -> dict[str, Any]:
    session = aioboto3.Session(
        aws_access_key_id="AKIABENCHMARK0000000",
        aws_secret_access_key="not-checked",
        region_name=REGION,
    )
    machine = default_registry().get(TYPE)
    # One attempt per call, as the poller's own clients make: botocore's retries of a
    # failing queue would hide for seconds that it is failing.
    once = AioConfig(retries=dict(POLL_RETRY_CONFIG), max_pool_connections=50)
    async with (
        session.client("iot", endpoint_url=url, config=once) as iot,
        session.client("sqs", endpoint_url=url, config=once) as sqs,
    ):
        source = None
        if scenario.events:
            queue = await sqs.get_queue_url(QueueName="waiters-events")
            source = SqsEvents(queue["QueueUrl"], client=sqs, staleness=scenario.staleness)
        async with Poller(events=source, timeout=scenario.cap) as poller:
            ids = simulator.create(TYPE, count, parent=JOB, lifecycle=LIFECYCLE)
            started = time.time()
            if scenario.fail_at is not None:
                fail_at = scenario.fail_at

                def fail() -> None:
                    time.sleep(fail_at)
                    _control(url, "/_simulator/events", {"fail": True})

                threading.Thread(target=fail, daemon=True).start()
            seen: dict[str, tuple[str | None, float]] = {}
            executions = [Execution(machine, i, iot) for i in ids]
            async for outcome in poller.as_completed(executions):
                seen[outcome.execution.params["thingName"]] = (outcome.state, time.time())
            listener = poller.listener
            heard = {
                "healthy_at_end": listener.healthy if listener is not None else None,
                "received": listener.received if listener is not None else 0,
                "sqs_calls": listener.stats.calls if listener is not None else 0,
            }
    return {"seen": seen, "started": started, **heard}


def run(scenario: Scenario, count: int, seed: int) -> dict[str, Any]:
    flags = ("--events", *scenario.flags) if scenario.events else ()
    with SimulatorProcess(seed=seed, rate=10.0, extra=flags) as simulator:
        report = asyncio.run(_client_run(simulator.url, scenario, simulator, count))
        truth = {e["ids"]["thingName"]: e["truth"] for e in simulator.truth(TYPE)}
        stats = simulator.stats()
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []
    wrong = 0
    for thing, states in truth.items():
        state, seen_at = report["seen"].get(thing, (None, float("inf")))
        final, ended = states[-1]
        if state != final:
            wrong += 1
        latencies.append(seen_at - ended)
        timeline.append((ended, seen_at - ended))
    calls = sum(
        stats.get(op, {}).get("served", 0) + stats.get(op, {}).get("throttled", 0)
        for op in IOT_OPERATIONS
    )
    return {
        "scenario": scenario.name,
        "executions": count,
        "wrong": wrong,
        "missing": count - len(report["seen"]),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "staleness": scenario.staleness if scenario.events else None,
        "calls": calls,
        "calls_per_execution": calls / count,
        "by_operation": {op: stats.get(op, {}) for op in IOT_OPERATIONS},
        "received": report["received"],
        "sqs_calls": report["sqs_calls"],
        "healthy_at_end": report["healthy_at_end"],
        # (when it ended, seconds after the rollout started; its detection latency)
        "timeline": sorted((ended - report["started"], latency) for ended, latency in timeline),
    }


def _row(result: dict[str, Any]) -> str:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} s"

    return (
        f"| {result['scenario']} | {result['wrong']} | {result['missing']} | "
        f"{seconds(result['p50'])} | {seconds(result['p99'])} | {seconds(result['max'])} | "
        f"{result['calls']} | {result['calls_per_execution']:.4f} | {result['received']} | "
        f"{result['healthy_at_end']} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    quiet_logs()
    results = []
    print(
        "| scenario | wrong | missing | p50 | p99 | max | describe+list calls | per execution "
        "| messages | heard at end |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        result = run(scenario, args.executions, args.seed)
        results.append(result)
        print(_row(result), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2))
    targets = {r["scenario"]: r for r in results}
    verdicts = []
    if "events" in targets:
        r = targets["events"]
        ok = not r["wrong"] and not r["missing"] and r["p99"] <= 1.5
        ok = ok and r["calls_per_execution"] <= 0.005
        verdicts.append(
            f"events: p99 {r['p99']:.2f} s <= 1.5 s, "
            f"{r['calls_per_execution']:.4f} <= 0.005 calls/exec: "
            f"{'PASS' if ok else 'FAIL'}"
        )
    if "lossy" in targets:
        r = targets["lossy"]
        ok = not r["wrong"] and not r["missing"] and r["max"] <= r["staleness"]
        verdicts.append(
            f"lossy: every outcome right, max {r['max']:.2f} s <= staleness "
            f"{r['staleness']:g} s: {'PASS' if ok else 'FAIL'}"
        )
    if "dying" in targets:
        r = targets["dying"]
        ok = not r["wrong"] and not r["missing"]
        verdicts.append(f"dying: every outcome right: {'PASS' if ok else 'FAIL'}")
    for line in verdicts:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
