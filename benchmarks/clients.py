"""One measured client process: one system waits on one scenario's executions.

The suite starts ``python -m benchmarks.clients --system NAME ...`` fresh for
every (system, scenario), so CPU and peak RSS belong to that system alone.
The conversation on stdin/stdout:

1. stdin: ``{"endpoint": URL, "region": REGION}``; the process creates its
   clients (and everything else it needs before the first call);
2. stdout: ``READY``; the orchestrator then creates the executions, which
   starts their rollout;
3. stdin: ``{"executions": [describe parameters, ...]}``; the process waits
   on every one, stamping each outcome with ``time.time()`` when it is seen,
   until all have one or the wall-clock cap passes;
4. it writes its result (``--result``, JSON) and exits at once: threads or
   tasks still waiting at the cap are not waited for.

The process measures itself: CPU (user + system, every thread) and wall time
from the first wait to the last outcome, resident memory once set up and its
peak.  Calls are counted by the simulator, which sees every attempt,
including botocore's own retries.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from benchmarks._common import SYSTEMS, cpu_seconds, peak_rss_kib, quiet_logs, rss_kib

__all__ = ["main", "waiter_model_config"]

# The simulator never checks signatures; botocore insists on signing.
_ACCESS_KEY = "AKIABENCHMARK0000000"
_SECRET_KEY = "benchmark-secret-not-checked"  # a dummy: nothing checks it
_WAITER_NAME = "ExecutionDone"
#: The library's recommended client retries (its POLL_RETRY_CONFIG, which
#: ``Poller(session=...)`` applies itself): one attempt per call, the poller retries.
_POLL_RETRIES: Mapping[str, Any] = {"total_max_attempts": 1, "mode": "standard"}
CALIBRATION = "aiobotocore-calls"


def waiter_model_config(machine: Any, *, delay: float, max_attempts: int) -> dict[str, Any]:
    """A botocore ``waiters-2`` document for *machine*: its terminal states as acceptors.

    What a user writes for an execution type botocore ships no waiter for:
    a path acceptor per success state and per failure or cancelled state.
    """
    from waiters import StateKind

    assert machine.status is not None, f"{machine.name} has no status path"
    argument = machine.status.expression
    acceptors = [
        {"matcher": "path", "argument": argument, "expected": state, "state": "success"}
        for state in machine.states_of(StateKind.SUCCEEDED)
    ] + [
        {"matcher": "path", "argument": argument, "expected": state, "state": "failure"}
        for state in machine.states_of(StateKind.FAILED, StateKind.CANCELLED)
    ]
    return {
        "version": 2,
        "waiters": {
            _WAITER_NAME: {
                "operation": machine.operation,
                "delay": delay,
                "maxAttempts": max_attempts,
                "acceptors": acceptors,
            }
        },
    }


@dataclass
class Context:
    """What a system runner needs: the scenario, the endpoint and the recorder."""

    system: str
    machine: Any
    endpoint: str
    region: str
    cap: float
    delay: float
    max_attempts: int
    threads: int
    calls: int
    result_path: Path
    sweep_interval: float | None = None
    latency: float | None = None
    pace: float | None = None
    paced_calls: int = 0

    def client_kwargs(
        self, retries: Mapping[str, Any] | None, *, pool: int | None = None
    ) -> dict[str, Any]:
        """boto3/aioboto3 client arguments; *retries* None keeps botocore's defaults."""
        from botocore.config import Config

        options: dict[str, Any] = {"inject_host_prefix": False}
        if retries is not None:
            options["retries"] = dict(retries)
        if pool is not None:
            options["max_pool_connections"] = pool
        return {
            "endpoint_url": self.endpoint,
            "region_name": self.region,
            "aws_access_key_id": _ACCESS_KEY,
            "aws_secret_access_key": _SECRET_KEY,
            "config": Config(**options),
        }

    def status_of(self, response: Mapping[str, Any] | None) -> str | None:
        if response is None or self.machine.status is None:
            return None
        value = self.machine.status.search(response)
        return None if value is None else str(value)


class Recorder:
    """Per execution: when its outcome was seen, the terminal state seen, or why it failed."""

    def __init__(self, count: int) -> None:
        self.detected_at: list[float | None] = [None] * count
        self.states: list[str | None] = [None] * count
        self.errors: list[str | None] = [None] * count
        self.started = 0.0
        self.cpu_started = 0.0
        self.rss_setup = 0
        self.ended = 0.0
        self.cpu = 0.0
        self.capped = False
        self.extra: dict[str, Any] = {}

    def outcome(self, index: int, state: str | None) -> None:
        self.detected_at[index] = time.time()
        self.states[index] = state

    def failure(self, index: int, reason: str) -> None:
        self.detected_at[index] = time.time()
        self.errors[index] = reason[:300]

    def from_outcome(self, index: int, outcome: Any) -> None:
        """A waiters Outcome: succeeded/failed/cancelled are detections, the rest failures."""
        if outcome.kind.value in ("succeeded", "failed", "cancelled"):
            self.outcome(index, outcome.state)
        else:
            self.failure(index, f"{outcome.kind.value}: {outcome.reason}")

    def start(self) -> None:
        self.rss_setup = rss_kib()
        self.started = time.time()
        self.cpu_started = cpu_seconds()

    def stop(self, *, capped: bool) -> None:
        self.cpu = cpu_seconds() - self.cpu_started
        self.capped = capped
        seen = [t for t in self.detected_at if t is not None]
        self.ended = time.time() if capped or not seen else max(seen)


def _handshake() -> list[dict[str, Any]]:
    print("READY", flush=True)  # the orchestrator waits for this line
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("the orchestrator closed stdin before sending the executions")
    executions: list[dict[str, Any]] = json.loads(line)["executions"]
    return executions


def _finish(ctx: Context, recorder: Recorder, count: int) -> NoReturn:
    """Write the result and leave now: waits still running at the cap are abandoned."""
    result = {
        "system": ctx.system,
        "executions": count,
        "started": recorder.started,
        "ended": recorder.ended,
        "capped": recorder.capped,
        "cap_s": ctx.cap,
        "cpu_s": recorder.cpu,
        "cpu_total_s": cpu_seconds(),
        "rss_setup_kib": recorder.rss_setup,
        "rss_peak_kib": peak_rss_kib(),
        "detected_at": recorder.detected_at,
        "states": recorder.states,
        "errors": recorder.errors,
        **recorder.extra,
    }
    ctx.result_path.write_text(json.dumps(result))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _run_capped(
    ctx: Context, recorder: Recorder, waits: list[Coroutine[Any, Any, None]]
) -> None:
    """Run one task per wait until all are done or the cap passes."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    _, pending = await asyncio.wait(tasks, timeout=ctx.cap)
    recorder.stop(capped=bool(pending))


# --- baselines ---------------------------------------------------------------------------


def run_botocore_waiter(ctx: Context) -> NoReturn:
    """botocore's custom waiter per execution, in a thread pool, one shared boto3 client."""
    import boto3
    from botocore.exceptions import WaiterError
    from botocore.waiter import WaiterModel, create_waiter_with_client

    # Default retries, as users have them; a pool as large as the thread pool
    # so threads never queue for a connection.
    client = boto3.client(ctx.machine.service, **ctx.client_kwargs(None, pool=ctx.threads))
    model = WaiterModel(
        waiter_model_config(ctx.machine, delay=ctx.delay, max_attempts=ctx.max_attempts)
    )
    success = [s for s, k in ctx.machine.states.items() if k.value == "succeeded"]
    executions = _handshake()
    recorder = Recorder(len(executions))

    def one(index: int) -> None:
        waiter = create_waiter_with_client(_WAITER_NAME, model, client)
        try:
            waiter.wait(**executions[index])
        except WaiterError as exc:
            state = ctx.status_of(getattr(exc, "last_response", None))
            if state in ctx.machine.terminal_states:
                recorder.outcome(index, state)  # a failure acceptor: an outcome, not a failed wait
            else:
                recorder.failure(index, str(exc))
        except Exception as exc:  # any other error is a failed wait
            recorder.failure(index, f"{type(exc).__name__}: {exc}")
        else:
            # The sync wait() returns nothing; the only way to succeed is a success state.
            recorder.outcome(index, success[0] if len(success) == 1 else "success")

    recorder.start()
    pool = concurrent.futures.ThreadPoolExecutor(ctx.threads)
    futures = [pool.submit(one, index) for index in range(len(executions))]
    _, pending = concurrent.futures.wait(futures, timeout=ctx.cap)
    recorder.stop(capped=bool(pending))
    _finish(ctx, recorder, len(executions))


async def run_aiobotocore_waiter(ctx: Context) -> NoReturn:
    """aiobotocore's waiter per execution, all gathered on one aioboto3 client."""
    import aioboto3
    from aiobotocore.waiter import create_waiter_with_client
    from botocore.exceptions import WaiterError
    from botocore.waiter import WaiterModel

    model = WaiterModel(
        waiter_model_config(ctx.machine, delay=ctx.delay, max_attempts=ctx.max_attempts)
    )
    async with aioboto3.Session().client(ctx.machine.service, **ctx.client_kwargs(None)) as client:
        executions = _handshake()
        recorder = Recorder(len(executions))

        async def one(index: int) -> None:
            # aiobotocore's waiter returns the last response; the stubs say None.
            waiter: Any = create_waiter_with_client(_WAITER_NAME, model, client)
            try:
                response = await waiter.wait(**executions[index])
            except WaiterError as exc:
                state = ctx.status_of(getattr(exc, "last_response", None))
                if state in ctx.machine.terminal_states:
                    recorder.outcome(index, state)
                else:
                    recorder.failure(index, str(exc))
            except Exception as exc:  # any other error is a failed wait
                recorder.failure(index, f"{type(exc).__name__}: {exc}")
            else:
                recorder.outcome(index, ctx.status_of(response))

        recorder.start()
        await _run_capped(ctx, recorder, [one(i) for i in range(len(executions))])
        _finish(ctx, recorder, len(executions))


async def run_aioboto3_loop(ctx: Context) -> NoReturn:
    """The loop people write by hand: describe, stop on a terminal state, else sleep(5)."""
    import aioboto3

    terminal = ctx.machine.terminal_states
    async with aioboto3.Session().client(ctx.machine.service, **ctx.client_kwargs(None)) as client:
        describe = getattr(client, ctx.machine.method)
        executions = _handshake()
        recorder = Recorder(len(executions))

        async def one(index: int) -> None:
            try:
                while True:
                    state = ctx.status_of(await describe(**executions[index]))
                    if state in terminal:
                        recorder.outcome(index, state)
                        return
                    await asyncio.sleep(ctx.delay)
            except Exception as exc:  # a naive loop dies on its first error
                recorder.failure(index, f"{type(exc).__name__}: {exc}")

        recorder.start()
        await _run_capped(ctx, recorder, [one(i) for i in range(len(executions))])
        _finish(ctx, recorder, len(executions))


# --- this project ------------------------------------------------------------------------


async def run_wait_for(ctx: Context) -> NoReturn:
    """``waiters.wait_for`` per execution, gathered; they share the process's rate budget."""
    import aioboto3

    import waiters

    async with aioboto3.Session().client(
        ctx.machine.service, **ctx.client_kwargs(_POLL_RETRIES)
    ) as client:
        executions = _handshake()
        recorder = Recorder(len(executions))
        bound = [waiters.execution(client, ctx.machine.method, **p) for p in executions]
        # Imported before the clock starts, as the baselines' waiter modules are.
        wait_for = waiters.wait_for

        async def one(index: int) -> None:
            try:
                outcome = await wait_for(bound[index], raise_on_failure=False)
            except Exception as exc:  # recorded as a failed wait, never raised
                recorder.failure(index, f"{type(exc).__name__}: {exc}")
            else:
                recorder.from_outcome(index, outcome)

        recorder.start()
        await _run_capped(ctx, recorder, [one(i) for i in range(len(executions))])
        _finish(ctx, recorder, len(executions))


async def run_poller(
    ctx: Context, *, batch: bool, reasons: bool = False, latency: bool = False
) -> NoReturn:
    """The fan-out Poller with its defaults, per-execution Describe or batch (list) mode.

    *reasons* True: ``failure_reasons=True``, each failure seen in a list is
    described once more for its reason.  *latency* True: ``latency=`` the
    context's target (``--latency``, seconds), which the Poller meets by its
    own choice of sweep intervals and cadence.
    """
    if latency and ctx.latency is None:
        raise SystemExit(f"{ctx.system} needs --latency (seconds)")
    import aioboto3

    import waiters

    async with aioboto3.Session().client(
        ctx.machine.service, **ctx.client_kwargs(_POLL_RETRIES)
    ) as client:
        executions = _handshake()
        recorder = Recorder(len(executions))
        bound = [waiters.execution(client, ctx.machine.method, **p) for p in executions]
        index = {execution: i for i, execution in enumerate(bound)}
        # Imported before the clock starts, as the baselines' waiter modules are.
        poller_type = waiters.Poller
        recorder.start()
        options: dict[str, Any] = {}
        if latency:
            # The target chooses the sweep interval (a shortened scenario's interval
            # does not apply: the two are exclusive).
            options["latency"] = ctx.latency
        elif ctx.sweep_interval is not None:
            options["sweep_interval"] = ctx.sweep_interval
        async with poller_type(batch=batch, failure_reasons=reasons, **options) as poller:
            submitted = await poller.submit(
                bound,
                on_outcome=lambda outcome: recorder.from_outcome(index[outcome.execution], outcome),
            )
            try:
                await asyncio.wait_for(submitted.wait(), ctx.cap)
            except TimeoutError:
                recorder.stop(capped=True)
            else:
                recorder.stop(capped=False)
            # What the poller believes it did; the simulator's counters are the reference.
            recorder.extra["client_calls"] = poller.stats.calls
            recorder.extra["client_throttles"] = poller.stats.throttles
            _finish(ctx, recorder, len(executions))


# --- calibration -------------------------------------------------------------------------


async def run_calibration(ctx: Context) -> NoReturn:
    """aiobotocore's own CPU per call: back to back, then paced; ten in flight.

    Back to back, every worker sends its next call as soon as the last is
    answered.  Paced (``--pace R``), call k starts at k / R s, each on its own
    wake-up, the way a loop spaced to a quota sends them: a call then costs
    its wake-ups too, as the polls of a paced poller do.
    """
    import aioboto3

    async with aioboto3.Session().client(ctx.machine.service, **ctx.client_kwargs(None)) as client:
        describe = getattr(client, ctx.machine.method)
        executions = _handshake()
        recorder = Recorder(len(executions))
        for params in executions[:50]:
            await describe(**params)  # warm-up: lazy model loading, first connections
        workers = 10

        async def worker(first: int, calls: int, started: float, pace: float | None) -> None:
            for k in range(first, calls, workers):
                if pace is not None:
                    await asyncio.sleep(max(0.0, started + k / pace - time.monotonic()))
                await describe(**executions[k % len(executions)])

        async def phase(calls: int, pace: float | None) -> tuple[float, float]:
            started, cpu0 = time.monotonic(), cpu_seconds()
            await asyncio.gather(*(worker(w, calls, started, pace) for w in range(workers)))
            return cpu_seconds() - cpu0, time.monotonic() - started

        recorder.start()
        cpu, _ = await phase(ctx.calls, None)
        recorder.stop(capped=False)
        recorder.ended = time.time()
        recorder.extra["calibration_calls"] = ctx.calls
        recorder.extra["cpu_per_call_us"] = cpu / ctx.calls * 1e6
        if ctx.pace is not None:
            paced_cpu, paced_wall = await phase(ctx.paced_calls, ctx.pace)
            recorder.extra["paced"] = {
                "rate": ctx.pace,
                "calls": ctx.paced_calls,
                "cpu_s": paced_cpu,
                "wall_s": paced_wall,
                "cpu_per_call_us": paced_cpu / ctx.paced_calls * 1e6,
            }
        _finish(ctx, recorder, len(executions))


_ASYNC_RUNNERS: dict[str, Callable[[Context], Coroutine[Any, Any, NoReturn]]] = {
    "aiobotocore-waiter": run_aiobotocore_waiter,
    "aioboto3-loop": run_aioboto3_loop,
    "waiters-wait_for": run_wait_for,
    "waiters-poller-describe": lambda ctx: run_poller(ctx, batch=False),
    "waiters-poller-batch": lambda ctx: run_poller(ctx, batch=True),
    "waiters-poller-batch-reasons": lambda ctx: run_poller(ctx, batch=True, reasons=True),
    "waiters-poller-batch-latency": lambda ctx: run_poller(ctx, batch=True, latency=True),
    CALIBRATION: run_calibration,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--system", required=True, choices=(*SYSTEMS, CALIBRATION))
    parser.add_argument("--type", default="iot-job-execution", help="execution type")
    parser.add_argument("--cap", type=float, required=True, help="wall-clock budget, seconds")
    parser.add_argument("--delay", type=float, default=5.0, help="baselines' poll delay, s")
    parser.add_argument("--max-attempts", type=int, default=60, help="botocore waiters' limit")
    parser.add_argument("--threads", type=int, default=32, help="botocore waiter thread pool")
    parser.add_argument("--calls", type=int, default=2000, help="calibration: calls to make")
    parser.add_argument(
        "--sweep-interval",
        type=float,
        default=None,
        help="batch mode's sweep interval (default: the library's)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=None,
        help="batch-latency: the Poller's detection latency target, s",
    )
    parser.add_argument("--pace", type=float, default=None, help="calibration: paced calls/s")
    parser.add_argument("--paced-calls", type=int, default=0, help="calibration: paced calls")
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON")
    args = parser.parse_args(argv)
    quiet_logs()
    import waiters

    hello = json.loads(sys.stdin.readline())
    ctx = Context(
        system=args.system,
        machine=waiters.default_registry().get(args.type),
        endpoint=hello["endpoint"],
        region=hello.get("region", "us-east-1"),
        cap=args.cap,
        delay=args.delay,
        max_attempts=args.max_attempts,
        threads=args.threads,
        calls=args.calls,
        result_path=args.result,
        sweep_interval=args.sweep_interval,
        latency=args.latency,
        pace=args.pace,
        paced_calls=args.paced_calls,
    )
    if args.system == "botocore-waiter":
        run_botocore_waiter(ctx)
    asyncio.run(_ASYNC_RUNNERS[args.system](ctx))
    return 1  # not reached: every runner exits the process


if __name__ == "__main__":
    raise SystemExit(main())
