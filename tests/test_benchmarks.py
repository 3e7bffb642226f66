"""The benchmark suite keeps working: its quick mode runs and writes every result.

This checks that the suite ran and produced its artefacts (JSON that parses,
a row per system, the plots), never how fast anything was: the quick mode's
figures measure nothing, so it prints no verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks._common import SYSTEMS

ROOT = Path(__file__).resolve().parent.parent


def test_quick_mode_runs_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["mode"] == "quick"
    (scenario,) = results["scenarios"]
    assert set(scenario["runs"]) == set(SYSTEMS)
    for system, metrics in scenario["runs"].items():
        assert "error" not in metrics, f"{system}: {metrics.get('error')}"
        assert metrics["executions"] == scenario["executions"]
        # Every execution is accounted for one way or another.
        accounted = metrics["finished"] + metrics["failed"] + metrics["lost"] + metrics["wrong"]
        assert accounted == metrics["executions"], system
        assert metrics["calls"] > 0, system

    # The latency-target system took the waiter's p99 measured before it in the run.
    waiter_p99 = scenario["runs"]["aiobotocore-waiter"]["latency_p99_s"]
    assert scenario["runs"]["waiters-poller-batch-latency"]["latency_target_s"] == waiter_p99

    core = results["core"]
    assert core["cpu"] and all("error" not in point for point in core["cpu"])
    # The loopback transport ran on every event loop, and once paced.
    assert {point["backend"] for point in core["cpu"]} == {"asyncio", "uvloop", "trio"}
    paced = [point for point in core["cpu"] if point["rate"] is not None]
    assert paced and paced[0]["rate"] == results["pace"]["calls_per_s"]
    for point in core["cpu"]:
        assert point["transport"] == "loopback" and point["connections"] >= 1
        assert point["hand_loop_paced"]["calls"] == point["polls"]
        assert point["hand_loop_back_to_back"]["calls"] == point["polls"]
    assert core["memory"] and all("error" not in point for point in core["memory"])
    calibration = results["calibration"]
    assert "error" not in calibration
    assert calibration["paced"]["rate"] == results["pace"]["calls_per_s"]
    assert [t["target"].split()[0] for t in results["targets"]] == [
        "(a)",
        "(a,",
        "(b)",
        "(c)",
        "(d)",
        "(e)",
        "(f)",
        "(g)",
    ]
    # A quick run writes its figures and judges nothing.
    assert all(t["verdict"] == "not judged" for t in results["targets"])

    markdown = (out / "results.md").read_text()
    for system in SYSTEMS:
        assert f"| {system}" in markdown
    assert "**PASS**" not in markdown and "**FAIL**" not in markdown
    assert "## Latency as a target (quick-rate30)" in markdown
    for plot in ("latency.png", "calls.png"):
        data = (out / plot).read_bytes()
        assert data.startswith(b"\x89PNG"), plot
    assert list((out / "raw").glob("*.json"))
