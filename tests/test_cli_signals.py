"""SIGINT and SIGTERM at any moment, once or twice: one summary, every execution, 130/143.

Each case runs ``python -m waiters.cli wait`` as a pipeline step would, against
the simulator served from this process, and signals it at one of the moments
that used to go wrong: while Python imports, once waiting has started, and
during the shutdown the first signal began (a second signal 0-100 ms later).
The executions are named with ``--execution`` groups, so every one of them is
handed in before any call and must be in the summary, whenever the signal came.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import QUICK, REPO, RUNNING_FOREVER, _base_env, _command
from waiters.simulator import Simulator

COUNT = 3


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=11, speed=1.0).in_thread() as running:
        yield running


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return _base_env(tmp_path) | {
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000",
        "AWS_SECRET_ACCESS_KEY": "not-checked",
    }


def _start(
    sim: Simulator, env: dict[str, str], job: str
) -> tuple[subprocess.Popen[str], list[dict[str, str]]]:
    ids = sim.fleet.add("iot-job-execution", COUNT, parent=job, schedule=RUNNING_FOREVER)
    groups = [f"thingName={one['thingName']}" for one in ids]
    process = subprocess.Popen(
        _command(
            "wait",
            "iot-job-execution",
            "--endpoint-url",
            sim.endpoint_url,
            *QUICK,
            "--param",
            f"jobId={job}",
            *(arg for group in groups for arg in ("--execution", group)),
            "--output",
            "json",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    return process, ids


def _handler_installed(process: subprocess.Popen[str]) -> None:
    """Wait until the child catches SIGTERM: its own code runs, the engine still imports.

    Before that the interpreter itself is starting, and no Python program can
    answer a signal (Linux: the caught-signals mask in /proc).
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = Path(f"/proc/{process.pid}/status").read_text()
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)
    raise AssertionError("the command never took SIGTERM over")


def _wait_started(process: subprocess.Popen[str]) -> list[str]:
    """Read stdout up to the first transition: the batch is being waited on."""
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line, "the command ended before waiting"
        lines.append(line)
        if json.loads(line)["event"] == "transition":
            return lines
    raise AssertionError("no transition within 30 s")


def _finish(process: subprocess.Popen[str], before: list[str]) -> tuple[str, str]:
    try:
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return "".join(before) + stdout, stderr


def _check(
    returncode: int, stdout: str, stderr: str, first: signal.Signals, ids: list[dict[str, str]]
) -> None:
    assert returncode == 128 + first, (returncode, stdout, stderr)
    assert "Traceback" not in stderr, stderr
    records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    summaries = [r for r in records if r["event"] == "summary"]
    assert len(summaries) == 1 and records[-1] is summaries[0], stdout
    summary = summaries[0]
    assert summary["exit_code"] == 128 + first and summary["interrupted"] == first.name
    # Every execution handed in, each once: none ended, so each was abandoned.
    assert sorted(o["params"]["thingName"] for o in summary["outcomes"]) == sorted(
        one["thingName"] for one in ids
    ), summary
    assert summary["total"] == COUNT
    assert {o["outcome"] for o in summary["outcomes"]} == {"abandoned"}
    assert {o["reason"] for o in summary["outcomes"]} == {f"interrupted by {first.name}"}


CASES = [
    (moment, first, second, gap)
    for moment in ("early", "waiting")
    for first, second, gap in (
        (signal.SIGTERM, None, 0.0),
        (signal.SIGINT, None, 0.0),
        (signal.SIGTERM, signal.SIGTERM, 0.05),
        (signal.SIGINT, signal.SIGTERM, 0.0),
        (signal.SIGTERM, signal.SIGINT, 0.1),
        (signal.SIGINT, signal.SIGINT, 0.02),
    )
]


@pytest.mark.parametrize(("moment", "first", "second", "gap"), CASES)
def test_any_signal_any_moment_one_summary_listing_every_execution(
    sim: Simulator,
    env: dict[str, str],
    moment: str,
    first: signal.Signals,
    second: signal.Signals | None,
    gap: float,
) -> None:
    """One summary, last; every execution abandoned; exit 128 + the first signal."""
    job = f"sig-{moment}-{first.name}-{second.name if second else 'once'}-{int(gap * 1000)}"
    process, ids = _start(sim, env, job)
    before: list[str] = []
    if moment == "early":
        # The reported fault: a signal while Python still imports (it takes a second).
        _handler_installed(process)
    else:
        before = _wait_started(process)
    process.send_signal(first)
    if second is not None:
        time.sleep(gap)
        process.send_signal(second)
    stdout, stderr = _finish(process, before)
    _check(process.returncode, stdout, stderr, first, ids)


def test_a_storm_of_signals_during_shutdown_still_one_summary(
    sim: Simulator, env: dict[str, str]
) -> None:
    """Signals every few ms from the first until exit: never the default action."""
    process, ids = _start(sim, env, "sig-storm")
    before = _wait_started(process)
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        try:
            process.send_signal(signal.SIGINT if len(before) % 2 else signal.SIGTERM)
        except ProcessLookupError:
            break
        time.sleep(0.003)
    stdout, stderr = _finish(process, before)
    _check(process.returncode, stdout, stderr, signal.SIGTERM, ids)


#: What may be imported of this project when the command takes the signals over.
BEFORE_HANDLERS = {"waiters", "waiters.cli", "waiters.cli._signals"}
#: A child that notes the project's modules (and heavy ones: its libraries, typing) at the first
#: signal.signal call, then runs `python -m waiters machines` as the shell does.
_FIRST_ACT = """
import json, runpy, signal, sys
seen = []
def noting(signum, handler, _signal=signal.signal):
    if not seen:
        seen.append(sorted(m for m in sys.modules if m.split(".")[0] in
                           ("waiters", "anyio", "botocore", "structlog", "typing")))
    return _signal(signum, handler)
signal.signal = noting
sys.argv = ["waiters", "machines"]
try:
    runpy.run_module("waiters", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print(json.dumps(seen[0]), file=sys.stderr)
"""


def test_taking_the_signals_over_is_the_commands_first_act(env: dict[str, str]) -> None:
    """The window in which a signal meets Python's defaults is the interpreter's start
    and as little more as can be: `python -m waiters` imports nothing of the engine,
    of its libraries or of `typing` (14 ms with `re`) before its handlers are in place.
    (It imported `typing` first, 10 ms of a 58 ms start to the handlers.)"""
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _FIRST_ACT],
        capture_output=True,
        text=True,
        env=env | {"PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert loaded <= BEFORE_HANDLERS, loaded
