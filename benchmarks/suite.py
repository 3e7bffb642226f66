"""Run the benchmark suite: every system on every scenario, side by side, in one run.

::

    python -m benchmarks.suite            # the full suite (about an hour)
    python -m benchmarks.suite --quick    # a smoke run for CI (under a minute)

For each (scenario, system) the orchestrator starts a fresh simulator process
(same seed, so every system meets the same rollout) and a fresh client
process, creates the scenario's executions through the simulator's control
API once the client is ready, lets the client wait on them (capped in wall
time), then reads the ground truth and the request counters back from the
simulator and scores the client's detections against them.  Then the core
microbenchmark and the aiobotocore calibration run, and everything is written
to ``benchmarks/results/``: ``results.json``, ``results.md``, ``latency.png``,
``calls.png`` and the raw per-run reports under ``raw/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BASELINES,
    LATENCY_REFERENCE,
    LATENCY_SYSTEM,
    PROJECT,
    SYSTEMS,
)
from benchmarks._simproc import SimulatorProcess
from benchmarks.report import evaluate_targets, render_markdown, render_plots, run_metrics

__all__ = ["Scenario", "main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
TYPE = "iot-job-execution"
JOB = "bench-rollout"
REGION = "us-east-1"


@dataclass(frozen=True)
class Scenario:
    """One rollout the systems meet in turn."""

    name: str
    executions: int
    rate: float | None  # per-operation throttle, calls/s; None: no limit
    error_5xx: float
    systems: tuple[str, ...]
    cap: float  # wall-clock budget per client run, s
    lifecycle: dict[str, Any]
    delay: float  # the baselines' poll delay, s
    seed: int
    roles: tuple[str, ...] = ()  # which target this scenario serves
    #: The batch Poller's sweep interval; None keeps the library default (6 s).
    sweep_interval: float | None = None
    #: Seconds the service's job counts lag behind its executions.
    counts_lag: float = 0.0

    @property
    def description(self) -> str:
        limit = f"{self.rate:g} calls/s per operation" if self.rate else "no rate limit"
        faults = f", {self.error_5xx:.0%} injected 5xx answers" if self.error_5xx else ""
        pending, running = self.lifecycle["pending"], self.lifecycle["running"]
        return (
            f"One IoT job rolled out to {self.executions:,} things; {limit}{faults}. "
            f"Each execution QUEUED for U{tuple(pending)} s, then IN_PROGRESS for "
            f"U{tuple(running)} s (90% SUCCEEDED, 10% FAILED); baselines poll every "
            f"{self.delay:g} s; each client run capped at {self.cap:g} s wall time."
            + (
                f" Batch sweeps every {self.sweep_interval:g} s (shortened)."
                if self.sweep_interval is not None
                else ""
            )
            + (
                f" DescribeJob counts lag {self.counts_lag:g} s behind the executions."
                if self.counts_lag
                else ""
            )
        )


# A rollout of about a minute at speed 1: an execution ends 10-50 s after creation.
_LIFECYCLE = {"pending": [0, 20], "running": [10, 30]}
_CAP = 120.0


def full_matrix() -> tuple[list[Scenario], list[str]]:
    """The full suite, target scenarios first; and the cells left out, with why."""
    # The latency-target system runs only where its reference waiter runs first
    # and the table is drawn: the no-limit N=1,000 scenario.
    everything = tuple(s for s in SYSTEMS if s != LATENCY_SYSTEM)
    no_wait_for = tuple(s for s in everything if s != "waiters-wait_for")
    pollers = ("waiters-poller-describe", "waiters-poller-batch")
    batches = ("waiters-poller-batch", "waiters-poller-batch-reasons")

    def make(
        name: str,
        count: int,
        rate: float | None,
        error_5xx: float,
        systems: tuple[str, ...],
        seed: int,
        roles: tuple[str, ...] = (),
    ) -> Scenario:
        return Scenario(name, count, rate, error_5xx, systems, _CAP, _LIFECYCLE, 5.0, seed, roles)

    scenarios = [
        make("n1000-rate10", 1000, 10, 0.0, everything, 11, ("rate-limited",)),
        make("n10000-rate10", 10_000, 10, 0.0, no_wait_for, 12, ("batch",)),
        make("n1000-nolimit", 1000, None, 0.0, SYSTEMS, 13, ("latency-table",)),
        make("n1000-rate100", 1000, 100, 0.0, everything, 14),
        make("n1000-5xx", 1000, None, 0.05, everything, 15),
        make("n10000-nolimit", 10_000, None, 0.0, no_wait_for, 16),
        make("n10000-rate100", 10_000, 100, 0.0, pollers, 17),
        make("n10000-5xx", 10_000, None, 0.05, pollers, 18),
        # The service's counts lag (IoT updates them asynchronously): the batch
        # target must hold without believing them.
        dataclasses.replace(
            make("n10000-rate10-lag30", 10_000, 10, 0.0, batches, 19, ("lagging",)),
            counts_lag=30.0,
        ),
    ]
    trimmed = [
        "waiters-wait_for at N=10,000 under 10 calls/s: 10,000 independent waits need at "
        "least 10,000 Describe calls, 1,000 s at that rate, far past the cap; batches are "
        "the Poller's job, and the N=1,000 runs show wait_for against the cap.",
        "Baselines at N=10,000 with 100 calls/s and with 5% 5xx: left out to keep the full "
        "run near an hour (six more runs of one to two minutes each); the N=1,000 cells "
        "show the baselines under those conditions and the N=10,000 no-limit cells show "
        "them at that scale. Only the two Poller modes run there.",
        "N=100,000 end to end: covered by the core microbenchmark with an in-process "
        "transport, as planned.",
    ]
    return scenarios, trimmed


def quick_matrix() -> tuple[list[Scenario], list[str]]:
    """A smoke run: every system once on a tiny, fast, rate-limited rollout."""
    lifecycle = {"pending": [0, 0.5], "running": [0.5, 1.5]}
    # Polls every second and sweeps every second: the point is that it runs, fast.
    # A limit the 25 waits brush against (each baseline asks about 25 calls/s), so the
    # throttling paths run too, without making the smoke run wait on them.
    scenario = Scenario(
        "quick-rate30",
        25,
        30,
        0.0,
        SYSTEMS,
        15.0,
        lifecycle,
        1.0,
        21,
        ("rate-limited", "latency-table"),
        sweep_interval=1.0,
    )
    return [scenario], [
        "quick mode: one tiny scenario with shortened delays; its figures "
        "only show that the suite runs, they measure nothing"
    ]


# --- one client run ----------------------------------------------------------------------


def _cpus() -> tuple[int | None, int | None]:
    """(simulator CPU, client CPU): apart when there are two, so they never compete."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        return cpus[0], cpus[1]
    return None, None


def _readline(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no answer from the client within {timeout:g} s")
    return process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str], timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None and not stream.closed:
            stream.close()


def run_client(
    scenario: Scenario,
    system: str,
    raw: Path,
    *,
    calls: int = 0,
    lifecycle: dict[str, Any] | None = None,
    latency: float | None = None,
    pace: float | None = None,
    paced_calls: int = 0,
) -> dict[str, Any]:
    """One fresh simulator and one fresh client process; the client's report and the truth."""
    sim_cpu, client_cpu = _cpus()
    result_path = raw / f"{scenario.name}--{system}.json"
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.clients",
        "--system",
        system,
        "--type",
        TYPE,
        "--cap",
        repr(scenario.cap),
        "--delay",
        repr(scenario.delay),
        "--result",
        str(result_path),
    ]
    if calls:
        command += ["--calls", str(calls)]
    if scenario.sweep_interval is not None:
        command += ["--sweep-interval", repr(scenario.sweep_interval)]
    if latency is not None:
        command += ["--latency", repr(latency)]
    if pace is not None:
        command += ["--pace", repr(pace), "--paced-calls", str(paced_calls)]
    simulator = SimulatorProcess(
        seed=scenario.seed,
        rate=scenario.rate,
        error_5xx=scenario.error_5xx,
        counts_lag=scenario.counts_lag,
        cpu=sim_cpu,
    )
    # Both start together: their imports overlap on the two CPUs.
    client = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        if client_cpu is not None:
            os.sched_setaffinity(client.pid, {client_cpu})
        simulator.start()
        url = simulator.wait_ready()
        assert client.stdin is not None
        client.stdin.write(json.dumps({"endpoint": url, "region": REGION}) + "\n")
        client.stdin.flush()
        line = _readline(client, 120)
        if line != "READY":
            raise RuntimeError(f"client said {line!r} instead of READY")
        executions = simulator.create(
            TYPE, scenario.executions, parent=JOB, lifecycle=lifecycle or scenario.lifecycle
        )
        client.stdin.write(json.dumps({"executions": executions}) + "\n")
        client.stdin.close()
        _stop(client, scenario.cap + 120)
        if not result_path.exists():
            raise RuntimeError(f"the client exited {client.returncode} without a result")
        report: dict[str, Any] = json.loads(result_path.read_text())
        truth = simulator.truth(TYPE) if not calls else []
        stats = simulator.stats()
    finally:
        if client.poll() is None:
            client.kill()
        _stop(client, 10)
        simulator.stop()
    report["executions_params"] = executions
    report["truth"] = truth
    report["simulator_stats"] = stats
    result_path.write_text(json.dumps(report))
    return report


def measure(
    scenario: Scenario, system: str, raw: Path, *, latency: float | None = None
) -> dict[str, Any]:
    """Run and score one (scenario, system); a crash is reported, never raised.

    *latency*: the detection latency target (s) handed to the latency system.
    """
    started = time.time()
    print(f"[{dt.datetime.now():%H:%M:%S}] {scenario.name} / {system} ...", flush=True)
    try:
        report = run_client(scenario, system, raw, latency=latency)
        import waiters

        terminal = waiters.default_registry().get(TYPE).terminal_states
        metrics = run_metrics(
            report,
            report["executions_params"],
            report["truth"],
            report["simulator_stats"],
            terminal,
        )
    except Exception as exc:  # one broken cell must not lose the run
        print(f"    failed: {type(exc).__name__}: {exc}", flush=True)
        return {"error": f"{type(exc).__name__}: {exc}"}
    if latency is not None:
        metrics["latency_target_s"] = latency
    print(
        f"    {metrics['finished']}/{metrics['executions']} finished, "
        f"{metrics['failed']} failed, {metrics['lost']} lost, p99 "
        f"{metrics['latency_p99_s']}, {metrics['calls_per_execution']:.3f} calls/exec, "
        f"cpu {metrics['cpu_s']:.1f}s ({time.time() - started:.0f}s)",
        flush=True,
    )
    return metrics


#: The pace to compare at when no Describe-mode poller ran in this run: the
#: default budget's top rate, calls/s.
DEFAULT_PACE = 50.0


def poller_pace(results: dict[str, Any]) -> tuple[float, str]:
    """The average call rate of the Describe-mode poller in the latency-table scenario.

    (calls/s, where it comes from): the simulator's count of its calls over its
    wall time, measured earlier in this run; else :data:`DEFAULT_PACE`.
    """
    for entry in results["scenarios"]:
        if "latency-table" not in entry["roles"]:
            continue
        run = entry["runs"].get("waiters-poller-describe")
        if run and not run.get("error") and run["wall_s"] > 0 and run["calls"]:
            return run["calls"] / run["wall_s"], f"{entry['name']} / waiters-poller-describe"
    return DEFAULT_PACE, "the default budget's top rate (no Describe-mode run to match)"


def calibrate(raw: Path, quick: bool, pace: float) -> dict[str, Any]:
    """aiobotocore's own CPU per describe call, back to back and at *pace* calls/s."""
    scenario = Scenario("calibration", 2000, None, 0.0, (), 300.0, {}, 5.0, 31)
    print(f"[{dt.datetime.now():%H:%M:%S}] calibration: aiobotocore CPU per call ...", flush=True)
    # About 20 s of paced calls, at least 100 (quick: about 2 s, at least 20).
    paced_calls = max(20, round(pace * 2)) if quick else max(100, round(pace * 20))
    try:
        report = run_client(
            scenario,
            "aiobotocore-calls",
            raw,
            calls=200 if quick else 3000,
            lifecycle={"pending": [3600, 7200], "running": [60, 120]},
            pace=pace,
            paced_calls=paced_calls,
        )
    except Exception as exc:  # reported in the results
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "calibration_calls": report["calibration_calls"],
        "cpu_s": report["cpu_s"],
        "wall_s": report["ended"] - report["started"],
        "cpu_per_call_us": report["cpu_per_call_us"],
        "paced": report["paced"],
    }


# --- the core microbenchmark -------------------------------------------------------------


def _core_point(arguments: Sequence[str], label: dict[str, Any]) -> dict[str, Any]:
    """One microbenchmark point in a fresh process; a failure is reported, never raised."""
    print(f"[{dt.datetime.now():%H:%M:%S}] core {' '.join(arguments)} ...", flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.core", *arguments],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return {**label, "error": f"timed out after {exc.timeout:g} s"}
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return {**label, "error": f"exit {done.returncode}: {last}"}
    point: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return point


def core_cpu_plan(quick: bool, pace: float) -> list[list[str]]:
    """The ``cpu`` points: unpaced at each size and on each event loop, and one paced.

    The paced point's budget is fixed at *pace* calls/s, the pace the
    calibration measures aiobotocore at, for about 20 s (2 s quick).
    """
    sizes = (300,) if quick else (1000, 10_000, 100_000)
    polls = "1" if quick else "2"
    plan = [["cpu", "--n", str(n), "--polls", polls] for n in sizes]
    plan += [
        ["cpu", "--n", str(sizes[0]), "--polls", polls, "--backend", backend]
        for backend in ("uvloop", "trio")
    ]
    paced = max(5, round(pace)) if quick else max(10, round(pace * 10))  # two calls each
    plan.append(["cpu", "--n", str(paced), "--polls", "1", "--rate", repr(pace)])
    return plan


def run_core(quick: bool, pace: float) -> dict[str, Any]:
    sizes = (1000,) if quick else (1000, 10_000, 100_000)
    _, client_cpu = _cpus()
    # The client's CPU for the measured process; the loopback peer takes the others.
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})  # children inherit it
    try:
        cpu = [
            _core_point(point, {"executions": int(point[2])})
            for point in core_cpu_plan(quick, pace)
        ]
        memory_plan: list[tuple[str, int]] = []
        if quick:
            memory_plan = [("waiters-poller-describe", 500), ("aiobotocore-waiter", 500)]
        else:
            for n in sizes:
                memory_plan += [
                    ("waiters-poller-describe", n),
                    ("waiters-poller-batch", n),
                    ("aiobotocore-waiter", n),
                ]
            memory_plan += [("waiters-wait_for", 10_000), ("aioboto3-loop", 10_000)]
        memory = [
            _core_point(
                ["memory", "--system", system, "--n", str(n)], {"system": system, "executions": n}
            )
            for system, n in memory_plan
        ]
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return {"cpu": cpu, "memory": memory}


# --- the run -----------------------------------------------------------------------------


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def _write(results: dict[str, Any], out: Path) -> None:
    # Raw latencies stay in results.json; the markdown shows percentiles.
    (out / "results.json").write_text(json.dumps(results, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the CI smoke run (< 1 minute)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="run these scenarios only")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, help="run these systems only")
    parser.add_argument("--skip-core", action="store_true", help="no microbenchmark")
    parser.add_argument("--commit", default=None, help="label the run (default: git describe)")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="run nothing: score the run in --out again from its raw reports",
    )
    args = parser.parse_args(argv)
    if args.rescore:
        rescore(args.out)
        return 0
    scenarios, trimmed = quick_matrix() if args.quick else full_matrix()
    if args.only:
        unknown = set(args.only) - {s.name for s in scenarios}
        if unknown:
            parser.error(
                f"unknown scenarios {sorted(unknown)}; known: {[s.name for s in scenarios]}"
            )
        scenarios = [s for s in scenarios if s.name in args.only]
    out: Path = args.out
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stale in (*raw.glob("*.json"), out / "latency.png", out / "calls.png"):
        stale.unlink(missing_ok=True)
    started = time.time()
    results: dict[str, Any] = {
        "meta": {
            "mode": "quick" if args.quick else "full",
            "started_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "commit": args.commit or _commit(),
            "cpus": os.cpu_count(),
            "pinned": _cpus()[0] is not None,
            "python": platform.python_version(),
            "systems": {"baselines": list(BASELINES), "project": list(PROJECT)},
        },
        "scenarios": [],
        "trimmed": trimmed,
    }
    for scenario in scenarios:
        entry: dict[str, Any] = {
            "name": scenario.name,
            "description": scenario.description,
            "executions": scenario.executions,
            "rate": scenario.rate,
            "error_5xx": scenario.error_5xx,
            "counts_lag": scenario.counts_lag,
            "cap_s": scenario.cap,
            "roles": list(scenario.roles),
            "runs": {},
        }
        results["scenarios"].append(entry)
        for system in scenario.systems:
            if args.systems and system not in args.systems:
                continue
            if system == LATENCY_SYSTEM:
                reference = entry["runs"].get(LATENCY_REFERENCE) or {}
                target = reference.get("latency_p99_s")
                if reference.get("error") or target is None:
                    entry["runs"][system] = {
                        "error": f"no {LATENCY_REFERENCE} p99 measured earlier in this "
                        "scenario to take as the latency target"
                    }
                    continue
                entry["runs"][system] = measure(scenario, system, raw, latency=target)
            else:
                entry["runs"][system] = measure(scenario, system, raw)
            _write(results, out)
    if not args.skip_core:
        pace, source = poller_pace(results)
        results["pace"] = {"calls_per_s": pace, "from": source}
        results["calibration"] = calibrate(raw, args.quick, pace)
        results["core"] = run_core(args.quick, pace)
    results["meta"]["duration_s"] = time.time() - started
    _finish(results, out)
    print(f"results in {out} ({time.time() - started:.0f} s)")
    return 0


def _finish(results: dict[str, Any], out: Path) -> None:
    """Targets, results.json, results.md and the plots, from the measurements in *results*."""
    results["targets"] = evaluate_targets(results)
    _write(results, out)
    markdown = render_markdown(results)
    (out / "results.md").write_text(markdown)
    render_plots(results, out)
    print(markdown)


def rescore(out: Path) -> None:
    """Score an earlier run again from its raw reports (after a change to the scoring).

    Measures nothing: every figure still comes from that run's client reports,
    ground truth and counters, kept under ``raw/``.
    """
    import waiters

    terminal = waiters.default_registry().get(TYPE).terminal_states
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    for entry in results["scenarios"]:
        for system, metrics in entry["runs"].items():
            path = out / "raw" / f"{entry['name']}--{system}.json"
            if metrics.get("error") or not path.exists():
                continue
            report = json.loads(path.read_text())
            target = metrics.get("latency_target_s")
            entry["runs"][system] = run_metrics(
                report,
                report["executions_params"],
                report["truth"],
                report["simulator_stats"],
                terminal,
            )
            if target is not None:  # an input of that run, not a figure to recompute
                entry["runs"][system]["latency_target_s"] = target
    results["meta"]["rescored_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    # The explanation of the cells left out is text, not a measurement: keep it current.
    results["trimmed"] = (quick_matrix() if results["meta"]["mode"] == "quick" else full_matrix())[
        1
    ]
    _finish(results, out)


if __name__ == "__main__":
    raise SystemExit(main())
