"""The core microbenchmark: the scheduler alone, with no network in the way.

Two measurements, each in a fresh process (``python -m benchmarks.core ...``),
printing one JSON object on stdout:

``cpu --n N --polls P``
    The fan-out Poller (per-execution Describe) waits on N executions through
    a zero-cost transport: an async ``describe_job_execution`` that returns
    one of two prebuilt dicts (IN_PROGRESS for an execution's first P polls,
    then SUCCEEDED).  It runs on :func:`waiters.testing.run_virtual`, so the
    backoff sleeps are free and the process is busy with scheduling only; CPU
    is real.  The transport's own cost is measured separately (the same
    number of calls in a tight loop on the same kind of loop) and subtracted:
    what is left is the framework's CPU per poll.  The rate budget is set far
    above any reachable rate so that it paces nothing.

``memory --system S --n N``
    Resident memory per waiting execution: VmRSS once everything that is not
    per-wait exists (imports, an in-process simulator fleet holding the N
    executions, the client, the describe parameters), then again with all N
    waited on, each polled at least once and every one still pending; the
    difference over N.  The same in-process simulator client
    (``Fleet.async_client``) serves every system, so responses cost the same.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

from benchmarks._common import quiet_logs, rss_kib

__all__ = ["MEMORY_SYSTEMS", "main"]

MEMORY_SYSTEMS = (
    "waiters-poller-describe",
    "waiters-poller-batch",
    "waiters-wait_for",
    "aiobotocore-waiter",
    "aioboto3-loop",
)
_JOB = "job-core"


class CannedIoT:
    """A zero-cost IoT client: ``describe_job_execution`` returns a prebuilt dict.

    The only work per call is one dict update, so an execution can end after
    a given number of polls.
    """

    #: What a client's ``meta`` tells of it: an execution checks its service.
    meta = SimpleNamespace(
        service_model=SimpleNamespace(service_name="iot"),
        region_name="us-east-1",
        endpoint_url="https://iot.us-east-1.amazonaws.com",
    )

    def __init__(self, polls_before_done: int) -> None:
        self.polls_before_done = polls_before_done
        self.calls = 0
        self._polls: dict[str, int] = {}
        self._running = {
            "execution": {
                "jobId": _JOB,
                "status": "IN_PROGRESS",
                "versionNumber": 2,
                "executionNumber": 1,
            }
        }
        self._done = {
            "execution": {
                "jobId": _JOB,
                "status": "SUCCEEDED",
                "versionNumber": 3,
                "executionNumber": 1,
            }
        }

    async def describe_job_execution(self, **params: Any) -> Mapping[str, Any]:
        thing = params["thingName"]
        polls = self._polls.get(thing, 0) + 1
        self._polls[thing] = polls
        self.calls += 1
        return self._done if polls > self.polls_before_done else self._running


async def _scheduler(count: int, polls: int) -> dict[str, Any]:
    import waiters

    machine = waiters.default_registry().get("iot-job-execution")
    client = CannedIoT(polls)
    executions = [
        waiters.Execution(machine, {"jobId": _JOB, "thingName": f"thing-{i:06d}"}, client)
        for i in range(count)
    ]
    # A budget that never paces: a finite one, however high, still sleeps its
    # interval between calls, which would be measured as scheduling.
    budgets = waiters.BudgetRegistry(waiters.BudgetConfig.unlimited())
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with waiters.Poller(batch=False, budgets=budgets, timeout=None) as poller:
        result = await poller.wait_all(executions)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    succeeded = result.counts.get(waiters.OutcomeKind.SUCCEEDED, 0)
    if succeeded != count:
        raise RuntimeError(f"only {succeeded} of {count} waits succeeded: {result.counts}")

    # The transport alone: as many calls, in a tight loop, on the same kind of loop.
    transport = CannedIoT(polls)
    params = [dict(execution.params) for execution in executions]
    calls = client.calls
    cpu0 = time.process_time()
    for k in range(calls):
        await transport.describe_job_execution(**params[k % count])
    transport_cpu = time.process_time() - cpu0
    framework = max(cpu - transport_cpu, 0.0)
    return {
        "executions": count,
        "polls": calls,
        "poller_calls": poller.stats.calls,
        "cpu_s": cpu,
        "wall_s": wall,
        "transport_cpu_s": transport_cpu,
        "framework_cpu_s": framework,
        "framework_us_per_poll": framework / calls * 1e6,
        "polls_per_s": calls / wall,
        "polls_per_cpu_s": calls / cpu,
    }


def measure_cpu(count: int, polls: int) -> dict[str, Any]:
    from waiters.testing import run_virtual

    return run_virtual(_scheduler, count, polls)


async def _served(fleet: Any, operation: str) -> int:
    served: int = fleet.stats().get(operation, {}).get("served", 0)
    return served


async def _memory(system: str, count: int, delay: float) -> dict[str, Any]:
    import waiters
    from waiters.simulator import Fleet, Lifecycle

    loop = asyncio.get_running_loop()
    # Pending for ~12 virtual days: every execution is still waiting when measured.
    fleet = Fleet(seed=1, clock=loop.time)
    params = fleet.add_iot_job(_JOB, count, lifecycle=Lifecycle(pending=(1e6, 2e6)))
    machine = waiters.default_registry().get("iot-job-execution")
    describe = "iot:DescribeJobExecution"
    waits: list[asyncio.Task[Any]] = []
    async with fleet.async_client("iot") as client:
        if system == "aiobotocore-waiter":
            from aiobotocore.waiter import create_waiter_with_client
            from botocore.waiter import WaiterModel

            from benchmarks.clients import waiter_model_config

            model = WaiterModel(waiter_model_config(machine, delay=delay, max_attempts=10**6))
        gc.collect()
        before = rss_kib()
        started = loop.time()
        if system.startswith("waiters-poller"):
            poller = waiters.Poller(batch=system.endswith("batch"))
            await poller.__aenter__()
            bound = [waiters.Execution(machine, p, client) for p in params]
            await poller.submit(bound)
        elif system == "waiters-wait_for":
            bound = [waiters.Execution(machine, p, client) for p in params]
            waits = [asyncio.ensure_future(waiters.wait_for(e)) for e in bound]
        elif system == "aiobotocore-waiter":
            waits = [
                asyncio.ensure_future(
                    # The in-process client quacks like the BaseClient the stubs ask for.
                    create_waiter_with_client("ExecutionDone", model, cast(Any, client)).wait(**p)
                )
                for p in params
            ]
        elif system == "aioboto3-loop":

            async def loop_wait(p: Mapping[str, Any]) -> None:
                while True:
                    response = await client.describe_job_execution(**p)
                    if response["execution"]["status"] in machine.terminal_states:
                        return
                    await asyncio.sleep(delay)

            waits = [asyncio.ensure_future(loop_wait(p)) for p in params]
        else:
            raise ValueError(f"unknown system {system!r}")
        # Every wait exists, none has been polled yet (nothing has run since).
        gc.collect()
        submitted = rss_kib()
        # Until every execution was observed at least once (virtual time: free).
        if system == "waiters-poller-batch":
            operation, needed = "iot:ListJobExecutionsForJob", (count + 249) // 250
        else:
            operation, needed = describe, count
        for _ in range(10**6):
            if await _served(fleet, operation) >= needed:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(2.0)
        waiting = count if not waits else sum(not w.done() for w in waits)
        gc.collect()
        after = rss_kib()
        return {
            "system": system,
            "executions": count,
            "waiting": waiting,
            "virtual_s": loop.time() - started,
            "rss_before_kib": before,
            "rss_submitted_kib": submitted,
            "rss_after_kib": after,
            "bytes_per_execution_submitted": (submitted - before) * 1024 / count,
            "bytes_per_execution": (after - before) * 1024 / count,
        }


def measure_memory(system: str, count: int, delay: float) -> dict[str, Any]:
    from waiters.testing import run_virtual

    return run_virtual(_memory, system, count, delay)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    cpu = sub.add_parser("cpu", help="framework CPU per poll")
    cpu.add_argument("--n", type=int, required=True)
    cpu.add_argument("--polls", type=int, default=5, help="IN_PROGRESS answers before the end")
    memory = sub.add_parser("memory", help="RSS per waiting execution")
    memory.add_argument("--system", choices=MEMORY_SYSTEMS, required=True)
    memory.add_argument("--n", type=int, required=True)
    memory.add_argument("--delay", type=float, default=5.0, help="baselines' poll delay")
    args = parser.parse_args(argv)
    quiet_logs()
    if args.what == "cpu":
        result = measure_cpu(args.n, args.polls)
    else:
        result = measure_memory(args.system, args.n, args.delay)
    print(json.dumps(result))
    # Tearing down 100,000 waiting tasks measures nothing: leave at once.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
