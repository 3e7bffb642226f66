"""The benchmark suite keeps working: its quick mode runs and writes every result.

This checks that the suite ran and produced its artefacts (JSON that parses,
a row per system, the plots), never how fast anything was: the quick mode's
figures measure nothing.
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

    core = results["core"]
    assert core["cpu"] and all("error" not in point for point in core["cpu"])
    assert core["memory"] and all("error" not in point for point in core["memory"])
    assert "error" not in results["calibration"]
    assert [t["target"].split()[0] for t in results["targets"]] == [
        "(a)",
        "(a,",
        "(b)",
        "(c)",
        "(d)",
        "(e)",
    ]
    assert all(t["verdict"] in ("PASS", "FAIL", "n/a") for t in results["targets"])

    markdown = (out / "results.md").read_text()
    for system in SYSTEMS:
        assert f"| {system}" in markdown
    assert "PASS" in markdown or "FAIL" in markdown
    for plot in ("latency.png", "calls.png"):
        data = (out / plot).read_bytes()
        assert data.startswith(b"\x89PNG"), plot
    assert list((out / "raw").glob("*.json"))
