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

``batch --n N``
    Batch mode (list sweeps) on one IoT job rolled out to N things on the
    virtual clock (QUEUED U(0, 20) s, IN_PROGRESS U(10, 30) s, then 90%
    SUCCEEDED, 10% FAILED), through a cheap in-process transport of
    ``ListJobExecutionsForJob``, ``DescribeJob`` and ``DescribeJobExecution``
    that clocks its own CPU: what is left is the client's CPU per execution,
    which stays flat from N=10,000 to N=100,000 when every per-call and
    per-sweep step costs O(1) or O(what changed).

``lone --n N --rate R``
    N independent :func:`waiters.wait_for` on one R calls/s budget, against
    the same executions in one batch (``Poller(batch=False)``) on a budget
    of the same rate, and as ``wait_for(poller=...)`` on one shared poller:
    CPU per call of each, and budget checks (looks at whether a slot is
    free) per slot granted. Waits queued for slots should
    cost no more per call than one batch's lane. Every mode runs a few
    waits untimed first (lazy imports, first paths), then ``--rounds``
    times (3) in alternating order; each reports its median round.

``scaling``
    The three figures of the "constant work per call" claim in one run,
    each point in a fresh process: ``batch`` at N=10,000 and N=100,000 and
    ``lone`` at N=1,000 on 10 calls/s, with their ratios.

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
import random
import subprocess
import sys
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
#: What an execution checks a client by: a botocore client's service and region.
#: What a client's ``meta`` tells of it: an execution checks its service.
_IOT_META = SimpleNamespace(
    service_model=SimpleNamespace(service_name="iot"),
    region_name="us-east-1",
    endpoint_url="https://iot.us-east-1.amazonaws.com",
)


class CannedIoT:
    """A zero-cost IoT client: ``describe_job_execution`` returns a prebuilt dict.

    The only work per call is one dict update, so an execution can end after
    a given number of polls.
    """

    meta = _IOT_META

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


class CannedJob:
    """One IoT job rolled out on the virtual clock, served cheaply, its CPU clocked.

    Every execution moves QUEUED -> IN_PROGRESS -> SUCCEEDED or FAILED at
    precomputed times; status buckets are kept up to date as time passes (O(1)
    per transition), so a listing costs its pages and a count its buckets.
    """

    _STATUSES = ("QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED")
    meta = _IOT_META

    def __init__(self, count: int, now: float, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.cpu = 0.0
        self.calls: dict[str, int] = {}
        self._buckets: dict[str, dict[str, None]] = {s: {} for s in self._STATUSES}
        self._status: dict[str, str] = {}
        self._changed: dict[str, float] = {}
        self._events: list[tuple[float, str, str]] = []
        self._next = 0
        self._snapshots: dict[str, list[str]] = {}
        self._listings = 0
        self._wall = time.time() - now
        self.start = now
        for i in range(count):
            thing = f"thing-{i:06d}"
            self._status[thing] = "QUEUED"
            self._changed[thing] = now
            self._buckets["QUEUED"][thing] = None
            running = now + rng.uniform(0.0, 20.0)
            end = running + rng.uniform(10.0, 30.0)
            final = "FAILED" if rng.random() < 0.1 else "SUCCEEDED"
            self._events.append((running, thing, "IN_PROGRESS"))
            self._events.append((end, thing, final))
        self._events.sort()
        self.ends = max(t for t, _, _ in self._events)

    def _advance(self) -> None:
        now = asyncio.get_running_loop().time()
        events = self._events
        while self._next < len(events) and events[self._next][0] <= now:
            at, thing, status = events[self._next]
            self._next += 1
            del self._buckets[self._status[thing]][thing]
            self._buckets[status][thing] = None
            self._status[thing] = status
            self._changed[thing] = at

    def _count(self, operation: str) -> float:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        self._advance()
        return time.process_time()

    def _summary(self, thing: str, status: str) -> dict[str, Any]:
        return {
            "thingArn": f"arn:aws:iot:us-east-1:123456789012:thing/{thing}",
            "jobExecutionSummary": {
                "status": status,
                "executionNumber": 1,
                "lastUpdatedAt": self._changed[thing] + self._wall,
            },
        }

    async def list_job_executions_for_job(self, **params: Any) -> Mapping[str, Any]:
        started = self._count("ListJobExecutionsForJob")
        status = params.get("status")
        size = params.get("maxResults", 250)
        token = params.get("nextToken")
        if token is None:
            things = list(self._buckets.get(status, {}) if status else self._status)
            self._listings += 1
            token = f"t{self._listings}:0"
            self._snapshots[f"t{self._listings}"] = things
        name, offset = token.split(":")
        things = self._snapshots[name]
        start = int(offset)
        page = things[start : start + size]
        items = [self._summary(t, status or self._status[t]) for t in page]
        response: dict[str, Any] = {"executionSummaries": items}
        if start + size < len(things):
            response["nextToken"] = f"{name}:{start + size}"
        else:
            del self._snapshots[name]
        self.cpu += time.process_time() - started
        return response

    async def describe_job(self, **params: Any) -> Mapping[str, Any]:
        started = self._count("DescribeJob")
        b = self._buckets
        response = {
            "job": {
                "jobId": params["jobId"],
                "jobProcessDetails": {
                    "numberOfQueuedThings": len(b["QUEUED"]),
                    "numberOfInProgressThings": len(b["IN_PROGRESS"]),
                    "numberOfSucceededThings": len(b["SUCCEEDED"]),
                    "numberOfFailedThings": len(b["FAILED"]),
                },
            }
        }
        self.cpu += time.process_time() - started
        return response

    async def describe_job_execution(self, **params: Any) -> Mapping[str, Any]:
        started = self._count("DescribeJobExecution")
        thing = params["thingName"]
        response = {
            "execution": {
                "jobId": params["jobId"],
                "thingName": thing,
                "status": self._status[thing],
                "versionNumber": 1 + ("QUEUED", "IN_PROGRESS").count(self._status[thing]),
                "executionNumber": 1,
                "lastUpdatedAt": self._changed[thing] + self._wall,
            }
        }
        self.cpu += time.process_time() - started
        return response


async def _batch(count: int) -> dict[str, Any]:
    import waiters

    loop = asyncio.get_running_loop()
    machine = waiters.default_registry().get("iot-job-execution")
    client = CannedJob(count, loop.time())
    executions = [
        waiters.Execution(machine, {"jobId": _JOB, "thingName": f"thing-{i:06d}"}, client)
        for i in range(count)
    ]
    budgets = waiters.BudgetRegistry(waiters.BudgetConfig.unlimited())
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with waiters.Poller(budgets=budgets, timeout=None) as poller:
        result = await poller.wait_all(executions)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    ended = result.counts.get(waiters.OutcomeKind.SUCCEEDED, 0) + result.counts.get(
        waiters.OutcomeKind.FAILED, 0
    )
    if ended != count:
        raise RuntimeError(f"only {ended} of {count} waits ended: {result.counts}")
    client_cpu = max(cpu - client.cpu, 0.0)
    return {
        "executions": count,
        "calls": dict(client.calls),
        "cpu_s": cpu,
        "transport_cpu_s": client.cpu,
        "client_cpu_s": client_cpu,
        "client_us_per_execution": client_cpu / count * 1e6,
        "wall_s": wall,
        "virtual_s": loop.time() - client.start,
    }


def measure_batch(count: int) -> dict[str, Any]:
    from waiters.testing import run_virtual

    return run_virtual(_batch, count)


def _count_checks() -> list[int]:
    """Count every look at whether a budget slot is free (patched in this process only)."""
    from waiters import _budget

    checks = [0]
    free_at = _budget.RateBudget._free_at

    def counted(self: Any, now: float) -> float:
        checks[0] += 1
        return free_at(self, now)

    _budget.RateBudget._free_at = counted  # type: ignore[method-assign]
    return checks


_LONE_MODES = ("wait_for", "wait_for_shared", "batch")


async def _lone_mode(
    mode: str, count: int, config: Any, polls: int, checks: list[int]
) -> dict[str, Any]:
    """One way of waiting on *count* executions on a fresh budget: its calls and CPU."""
    import waiters

    machine = waiters.default_registry().get("iot-job-execution")
    client = CannedIoT(polls)
    executions = [
        waiters.Execution(machine, {"jobId": _JOB, "thingName": f"thing-{i:06d}"}, client)
        for i in range(count)
    ]
    budgets = waiters.BudgetRegistry(config)
    gc.collect()
    checks[0] = 0
    cpu0 = time.process_time()
    if mode == "wait_for":
        outcomes = await asyncio.gather(
            *(waiters.wait_for(e, budgets=budgets, timeout=None) for e in executions)
        )
        succeeded = sum(o.kind is waiters.OutcomeKind.SUCCEEDED for o in outcomes)
    elif mode == "wait_for_shared":
        async with waiters.Poller(batch=False, budgets=budgets, timeout=None) as shared:
            outcomes = await asyncio.gather(
                *(waiters.wait_for(e, poller=shared) for e in executions)
            )
        succeeded = sum(o.kind is waiters.OutcomeKind.SUCCEEDED for o in outcomes)
    else:
        async with waiters.Poller(batch=False, budgets=budgets, timeout=None) as poller:
            result = await poller.wait_all(executions)
        succeeded = result.counts.get(waiters.OutcomeKind.SUCCEEDED, 0)
    cpu = time.process_time() - cpu0
    if succeeded != count:
        raise RuntimeError(f"{mode}: only {succeeded} of {count} waits succeeded")
    slots = sum(s.calls for s in budgets.stats())
    return {
        "calls": client.calls,
        "slots": slots,
        "cpu_s": cpu,
        "cpu_us_per_call": cpu / client.calls * 1e6,
        "budget_checks": checks[0],
        "checks_per_slot": checks[0] / slots,
    }


async def _lone(count: int, rate: float, polls: int, rounds: int) -> dict[str, Any]:
    import waiters

    config = waiters.BudgetConfig(initial_rate=rate, max_rate=rate, min_rate=rate)
    checks = _count_checks()
    # Untimed, a few of each first: the modules a mode imports lazily and the
    # paths it runs first would otherwise be charged to whichever mode runs first.
    for mode in _LONE_MODES:
        await _lone_mode(mode, 10, waiters.BudgetConfig.unlimited(), polls, checks)
    # The heap a mode finds depends on what ran before it, worth +-20% here: the
    # rounds alternate the order, and each mode reports its median round.
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in _LONE_MODES}
    for round_ in range(rounds):
        order = _LONE_MODES if round_ % 2 == 0 else tuple(reversed(_LONE_MODES))
        for mode in order:
            runs[mode].append(await _lone_mode(mode, count, config, polls, checks))
    figures: dict[str, Any] = {"executions": count, "rate": rate, "rounds": rounds}
    for mode, measured in runs.items():
        measured.sort(key=lambda run: float(run["cpu_s"]))
        figures[mode] = {
            **measured[len(measured) // 2],
            "cpu_us_per_call_rounds": sorted(run["cpu_us_per_call"] for run in measured),
        }
    figures["cpu_per_call_ratio"] = (
        figures["wait_for"]["cpu_us_per_call"] / figures["batch"]["cpu_us_per_call"]
    )
    return figures


def measure_lone(count: int, rate: float, polls: int, rounds: int = 3) -> dict[str, Any]:
    from waiters.testing import run_virtual

    return run_virtual(_lone, count, rate, polls, rounds)


def _fresh(*args: str) -> dict[str, Any]:
    """One point in a fresh process (its own heap and caches), as its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.core", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def measure_scaling(small: int, large: int, lone: int, rate: float) -> dict[str, Any]:
    at_small = _fresh("batch", "--n", str(small))
    at_large = _fresh("batch", "--n", str(large))
    lone_figures = _fresh("lone", "--n", str(lone), "--rate", str(rate))
    return {
        "batch": [at_small, at_large],
        "batch_large_over_small": at_large["client_us_per_execution"]
        / at_small["client_us_per_execution"],
        "lone": lone_figures,
        "lone_over_batch_cpu_per_call": lone_figures["cpu_per_call_ratio"],
    }


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
    batch = sub.add_parser("batch", help="batch-mode client CPU per execution")
    batch.add_argument("--n", type=int, required=True)
    lone = sub.add_parser("lone", help="lone wait_for on one budget against one batch")
    lone.add_argument("--n", type=int, default=1000)
    lone.add_argument("--rate", type=float, default=10.0)
    lone.add_argument("--polls", type=int, default=5, help="IN_PROGRESS answers before the end")
    lone.add_argument(
        "--rounds", type=int, default=3, help="runs of each mode, in alternating order"
    )
    scaling = sub.add_parser("scaling", help="batch at two sizes and lone waits, in one run")
    scaling.add_argument("--small", type=int, default=10_000)
    scaling.add_argument("--large", type=int, default=100_000)
    scaling.add_argument("--lone", type=int, default=1000)
    scaling.add_argument("--rate", type=float, default=10.0)
    memory = sub.add_parser("memory", help="RSS per waiting execution")
    memory.add_argument("--system", choices=MEMORY_SYSTEMS, required=True)
    memory.add_argument("--n", type=int, required=True)
    memory.add_argument("--delay", type=float, default=5.0, help="baselines' poll delay")
    args = parser.parse_args(argv)
    quiet_logs()
    if args.what == "cpu":
        result = measure_cpu(args.n, args.polls)
    elif args.what == "batch":
        result = measure_batch(args.n)
    elif args.what == "lone":
        result = measure_lone(args.n, args.rate, args.polls, args.rounds)
    elif args.what == "scaling":
        result = measure_scaling(args.small, args.large, args.lone, args.rate)
    else:
        result = measure_memory(args.system, args.n, args.delay)
    print(json.dumps(result))
    # Tearing down 100,000 waiting tasks measures nothing: leave at once.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
