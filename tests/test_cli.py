"""The ``waiters`` command line, driven as a subprocess against the simulator over HTTP.

Every test runs ``python -m waiters.cli`` in a child process, as a CI step
would, against the embedded simulator served from a thread of this process
on 127.0.0.1 (real AWS protocol, real aioboto3 clients in the child). Each
test gives its executions their own parent, so the shared simulator needs no
resetting between tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from waiters._registry import builtin_directory
from waiters.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
# Fast polling: lifecycles below last about a second.
QUICK = ("--min-delay", "0.05", "--max-delay", "0.2", "--region", "us-east-1")
RUNNING_FOREVER = [("QUEUED", 0.0), ("IN_PROGRESS", 0.2)]


def _schedule(final: str, *, after: float = 0.6) -> list[tuple[str | None, float]]:
    return [("QUEUED", 0.0), ("IN_PROGRESS", 0.2), (final, after)]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """The simulator in a background thread, real time (speed 1), for the whole module."""
    with Simulator(seed=5, speed=1.0).in_thread() as running:
        yield running


def _base_env(tmp: Path) -> dict[str, str]:
    """The environment without any AWS configuration of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-credentials"),
        # Never ask an instance metadata service (it is not on 127.0.0.1).
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )
    env.pop("NO_COLOR", None)
    return env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials: the simulator never checks signatures."""
    return _base_env(tmp_path) | {
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000",
        "AWS_SECRET_ACCESS_KEY": "not-checked",
    }


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "waiters.cli", *args]


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    records = json_lines(result.stdout)
    assert records, result.stderr
    summary = records[-1]
    assert summary["event"] == "summary", summary
    return summary


def wait_args(sim: Simulator, type_name: str = "iot-job-execution") -> tuple[str, ...]:
    return ("wait", type_name, "--endpoint-url", sim.endpoint_url, *QUICK)


def add_job(
    sim: Simulator, job: str, schedule: Sequence[tuple[str | None, float]], count: int = 1
) -> list[dict[str, str]]:
    return sim.fleet.add("iot-job-execution", count, parent=job, schedule=schedule)


# --- exit codes -----------------------------------------------------------------------------


def test_success_exits_0_with_parseable_json_lines(sim: Simulator, env: dict[str, str]) -> None:
    """A succeeded execution exits 0; piped stdout gets transition events and a summary."""
    (ids,) = add_job(sim, "cli-ok", _schedule("SUCCEEDED"))
    result = run_cli(
        *wait_args(sim),
        "--param",
        "jobId=cli-ok",
        "--param",
        f"thingName={ids['thingName']}",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    assert records[0]["event"] == "start" and records[0]["total"] == 1
    transitions = [r for r in records if r["event"] == "transition"]
    assert transitions, records
    assert transitions[-1]["execution"] == {"type": "iot-job-execution", **ids}
    assert transitions[-1]["state"] == "SUCCEEDED" and transitions[-1]["kind"] == "succeeded"
    assert transitions[-1]["at"].endswith("Z")
    summary = records[-1]
    assert summary["event"] == "summary" and summary["exit_code"] == 0
    assert summary["counts"]["succeeded"] == 1
    (outcome,) = summary["outcomes"]
    assert outcome["type"] == "iot-job-execution" and outcome["params"] == ids
    assert outcome["outcome"] == "succeeded" and outcome["state"] == "SUCCEEDED"
    assert outcome["attempts"] >= 1 and outcome["elapsed"] >= 0


def test_a_failed_execution_exits_1(sim: Simulator, env: dict[str, str]) -> None:
    """One failed execution among succeeded ones makes the exit code 1."""
    ok = add_job(sim, "cli-mixed", _schedule("SUCCEEDED"), count=2)
    (bad,) = sim.fleet.add("iot-job-execution", 1, parent="cli-mixed", schedule=_schedule("FAILED"))
    groups = [f"thingName={ids['thingName']}" for ids in [*ok, bad]]
    result = run_cli(
        *wait_args(sim),
        "--param",
        "jobId=cli-mixed",
        *(arg for group in groups for arg in ("--execution", group)),
        "--output",
        "json",
        env=env,
    )
    assert result.returncode == 1, result.stderr
    summary = summary_of(result)
    assert summary["exit_code"] == 1
    assert summary["counts"]["succeeded"] == 2 and summary["counts"]["failed"] == 1
    assert [o["outcome"] for o in summary["outcomes"]] == ["succeeded", "succeeded", "failed"]


def test_the_deadline_passing_exits_3(sim: Simulator, env: dict[str, str]) -> None:
    """An execution still running at --timeout exits 3, with its last state reported."""
    (ids,) = add_job(sim, "cli-slow", RUNNING_FOREVER)
    result = run_cli(
        *wait_args(sim),
        "--param",
        "jobId=cli-slow",
        "--param",
        f"thingName={ids['thingName']}",
        "--timeout",
        "1s",
        "--output",
        "json",
        env=env,
    )
    assert result.returncode == 3, result.stderr
    (outcome,) = summary_of(result)["outcomes"]
    assert outcome["outcome"] == "wait_timeout" and outcome["state"] == "IN_PROGRESS"


def test_missing_credentials_exit_4(sim: Simulator, tmp_path: Path) -> None:
    """No credentials anywhere is an AWS error not about the execution: exit 4."""
    (ids,) = add_job(sim, "cli-nocreds", _schedule("SUCCEEDED"))
    result = run_cli(
        *wait_args(sim),
        "--param",
        "jobId=cli-nocreds",
        "--param",
        f"thingName={ids['thingName']}",
        "--output",
        "json",
        env=_base_env(tmp_path),
    )
    assert result.returncode == 4, result.stderr
    summary = summary_of(result)
    assert summary["counts"]["error"] == 1
    assert "NoCredentialsError" in summary["outcomes"][0]["reason"]


def test_an_endpoint_that_never_answers_exits_4(env: dict[str, str]) -> None:
    """Connection refused on every call is not about the execution: exit 4 at the deadline."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run_cli(
        "wait",
        "iot-job-execution",
        "--endpoint-url",
        closed,
        *QUICK,
        "--param",
        "jobId=j",
        "--param",
        "thingName=t",
        "--timeout",
        "1s",
        "--output",
        "json",
        env=env,
    )
    assert result.returncode == 4, result.stderr
    summary = summary_of(result)
    assert summary["counts"]["wait_timeout"] == 1 and summary["errors"] == summary["calls"] > 0
    assert summary["result"] == "AWS could not be reached"


def test_a_missing_parent_exits_1(sim: Simulator, env: dict[str, str]) -> None:
    """--all-of a job the service does not know ends badly (exit 1) and says which."""
    result = run_cli(*wait_args(sim), "--all-of", "cli-no-such-job", env=env)
    assert result.returncode == 1
    assert "cli-no-such-job" in result.stderr and "ResourceNotFoundException" in result.stderr
    assert summary_of(result)["total"] == 0


def test_verbose_logs_each_poll_as_json_without_credentials(
    sim: Simulator, env: dict[str, str]
) -> None:
    """-vv logs a JSON line per poll on a piped stderr; credentials and responses never appear."""
    (ids,) = add_job(sim, "cli-logs", _schedule("SUCCEEDED"))
    result = run_cli(
        *wait_args(sim),
        "-vv",
        "--param",
        "jobId=cli-logs",
        "--param",
        f"thingName={ids['thingName']}",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    logs = json_lines(result.stderr)
    events = {record["event"] for record in logs}
    assert {"waiters.poll", "waiters.finished", "waiters.cli.waiting"} <= events
    assert all("level" in record and "timestamp" in record for record in logs)
    assert env["AWS_SECRET_ACCESS_KEY"] not in result.stderr
    assert env["AWS_ACCESS_KEY_ID"] not in result.stderr
    assert "statusDetails" not in result.stderr  # a response field: responses are not logged
    quiet = run_cli(
        *wait_args(sim),
        "--param",
        "jobId=cli-logs",
        "--param",
        f"thingName={ids['thingName']}",
        env=env,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


# --- usage errors ---------------------------------------------------------------------------


BAD_FLAGS = {
    ("--timeout", "10 minutes"): "--timeout: invalid duration '10 minutes'",
    ("--min-delay", "soon"): "--min-delay: invalid duration 'soon'",
    ("--concurrency", "0"): "--concurrency: expected a positive integer, got '0'",
    ("--output", "xml"): "--output: invalid choice: 'xml'",
    ("--param", "thingName"): "--param: expected NAME=VALUE, got 'thingName'",
    ("--fail-fast", "half"): "--fail-fast: expected a count of failures",
}

BAD_EXECUTIONS = {
    ("--param", "jobId=j"): "missing parameter 'thingName'",
    ("--param", "jobId=j", "--param", "thingName=t", "--param", "color=red"): (
        "unknown parameter 'color'"
    ),
    ("--param", "jobId=j", "--param", "thingName=t", "--param", "executionNumber=x"): (
        "--param: executionNumber: expected long value, got 'x'"
    ),
    ("--param", "jobId=j", "--execution", "thingName=a", "--execution", "thing=b"): (
        "--execution #2: iot-job-execution: unknown parameter 'thing'"
    ),
    (): "nothing to wait on",
    ("--param", "jobId=j", "--param", "thingName=t", "--min-delay", "5s", "--max-delay", "1s"): (
        "--max-delay: must be at least --min-delay"
    ),
    ("--param", "jobId=j", "--param", "thingName=t", "--min-delay", "0", "--max-delay", "0"): (
        "--min-delay: Backoff.min_delay must be at least 0.001 seconds, got 0.0"
    ),
}


def run_all(argvs: Sequence[Sequence[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Run several CLI processes at once; (status, stdout, stderr) of each, in order."""
    processes = [
        subprocess.Popen(
            _command(*argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=REPO,
        )
        for argv in argvs
    ]
    try:
        outputs = [process.communicate(timeout=60) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return [(p.returncode, out, err) for p, (out, err) in zip(processes, outputs, strict=True)]


def test_bad_flags_exit_2_naming_the_flag(sim: Simulator, env: dict[str, str]) -> None:
    """A malformed option value exits 2 with 'waiters: error:' naming the flag and value."""
    valid = (*wait_args(sim), "--param", "jobId=j", "--param", "thingName=t")
    results = run_all([(*valid, *args) for args in BAD_FLAGS], env)
    for (status, stdout, stderr), message in zip(results, BAD_FLAGS.values(), strict=True):
        assert status == 2, (message, stderr)
        assert f"waiters: error: {message}" in stderr
        assert stdout == ""


def test_bad_executions_exit_2_before_any_call(sim: Simulator, env: dict[str, str]) -> None:
    """Parameters the describe call would refuse exit 2, naming the parameter and its source."""
    before = sim.fleet.stats()
    results = run_all([(*wait_args(sim), *args) for args in BAD_EXECUTIONS], env)
    for (status, _, stderr), message in zip(results, BAD_EXECUTIONS.values(), strict=True):
        assert status == 2, (message, stderr)
        assert "waiters: error:" in stderr and message in stderr
    assert sim.fleet.stats() == before


def test_an_unknown_type_exits_2_listing_the_known_ones(env: dict[str, str]) -> None:
    """An execution type nobody defined exits 2 and lists the types that exist."""
    result = run_cli("wait", "iot-job", "--param", "jobId=j", env=env)
    assert result.returncode == 2
    assert "unknown execution type 'iot-job'" in result.stderr
    assert "iot-job-execution" in result.stderr


def test_bad_json_lines_exit_2_naming_the_line(sim: Simulator, env: dict[str, str]) -> None:
    """--from reports the line that is not a JSON object of parameters."""
    lines = '{"jobId": "j", "thingName": "t"}\n\n[1, 2]\n'
    result = run_cli(*wait_args(sim), "--from", "-", stdin=lines, env=env)
    assert result.returncode == 2
    assert "--from stdin line 3: expected a JSON object" in result.stderr


def test_version_and_help(env: dict[str, str]) -> None:
    """--version prints the version; --help documents exit codes and shows examples."""
    version, top, wait = run_all([("--version",), ("--help",), ("wait", "--help")], env)
    assert version[0] == 0 and version[1].startswith("waiters ")
    assert top[0] == 0
    assert "exit codes:" in top[1] and "143" in top[1]
    assert "waiters demo" in top[1]
    assert wait[0] == 0
    assert "--all-of" in wait[1] and "--execution" in wait[1]
    assert "waiters wait iot-job-execution --param jobId=" in wait[1]


# --- naming many executions -----------------------------------------------------------------


def test_groups_and_json_lines_from_stdin_combine(sim: Simulator, env: dict[str, str]) -> None:
    """--execution groups and --from stdin add up, sharing --param; duplicates wait once."""
    things = [ids["thingName"] for ids in add_job(sim, "cli-many", _schedule("SUCCEEDED"), 4)]
    stdin = "".join(json.dumps({"thingName": name}) + "\n" for name in things[2:])
    # The second group repeats the first stdin line: one wait, counted as a duplicate.
    result = run_cli(
        *wait_args(sim),
        "--param",
        "jobId=cli-many",
        "--execution",
        f"thingName={things[0]}",
        "--execution",
        f"thingName={things[2]}",
        "-e",
        f"thingName={things[1]}",
        "--from",
        "-",
        "--output",
        "json",
        stdin=stdin,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert summary["total"] == 4 and summary["duplicates"] == 1
    assert [o["params"]["thingName"] for o in summary["outcomes"]] == [
        things[0],
        things[2],
        things[1],
        things[3],
    ]
    assert all(o["params"]["jobId"] == "cli-many" for o in summary["outcomes"])


def test_all_of_waits_on_every_execution_of_a_job(sim: Simulator, env: dict[str, str]) -> None:
    """--all-of JOB lists the job's executions (paging included) and waits on each."""
    created = add_job(sim, "cli-rollout", _schedule("SUCCEEDED", after=0.4), count=260)
    # No --output: piped stdout means JSON lines.
    result = run_cli(*wait_args(sim), "--all-of", "cli-rollout", "--max-rate", "200", env=env)
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert summary["total"] == 260 and summary["counts"]["succeeded"] == 260
    assert {o["params"]["thingName"] for o in summary["outcomes"]} == {
        ids["thingName"] for ids in created
    }


def test_latency_paces_a_rollout_and_a_target_below_a_millisecond_exits_2(
    sim: Simulator, env: dict[str, str]
) -> None:
    """--latency is the Poller's target: a rollout waited on with it ends as usual, and a
    target the backoff cannot meet (0, or under 1 ms) is a usage error naming the flag."""
    add_job(sim, "cli-latency", _schedule("SUCCEEDED", after=0.4), count=40)
    result = run_cli(*wait_args(sim), "--all-of", "cli-latency", "--latency", "2s", env=env)
    assert result.returncode == 0, result.stderr
    assert summary_of(result)["counts"]["succeeded"] == 40
    for bad in ("0", "0.0001", "-1s", "2h"):
        refused = run_cli(*wait_args(sim), "--all-of", "cli-latency", f"--latency={bad}", env=env)
        assert refused.returncode == 2, refused.stderr
        assert "--latency" in refused.stderr and bad in refused.stderr


def test_failure_reasons_reads_why_a_listed_failure_failed(
    sim: Simulator, env: dict[str, str]
) -> None:
    """--failure-reasons: a failure a list sweep sees is described once more, so its
    outcome gives the device's reason rather than saying the list gives none."""
    add_job(sim, "cli-reasons", _schedule("SUCCEEDED", after=6.0), count=15)
    sim.fleet.add(
        "iot-job-execution", 10, parent="cli-reasons", schedule=_schedule("FAILED", after=6.0)
    )
    result = run_cli(*wait_args(sim), "--all-of", "cli-reasons", "--failure-reasons", env=env)
    assert result.returncode == 1, result.stderr
    summary = summary_of(result)
    failed = [o for o in summary["outcomes"] if o["outcome"] == "failed"]
    assert len(failed) == 10
    assert all(o["reason"] and "list summary" not in o["reason"] for o in failed), failed


def test_all_of_listing_is_paced_by_the_budget(env: dict[str, str]) -> None:
    """--all-of pages through the list call under the same budget as every other call:
    at --max-rate 2, the service's own request log shows list calls half a second apart."""
    from waiters.simulator import Fleet

    fleet = Fleet(seed=11, record_requests=True)
    # 1,000 executions: four pages of 250 to list, then sweeps of the same operation.
    fleet.add("iot-job-execution", 1000, parent="cli-paced", schedule=_schedule("SUCCEEDED"))
    with Simulator(fleet).in_thread() as paced:
        result = run_cli(
            *wait_args(paced),
            "--all-of",
            "cli-paced",
            "--max-rate",
            "2",
            "--timeout",
            "30s",
            env=env,
        )
        records = fleet.requests
    assert result.returncode == 0, result.stderr[-2000:]
    assert summary_of(result)["total"] == 1000
    lists = sorted(r.clock_time for r in records if r.operation == "iot:ListJobExecutionsForJob")
    assert len(lists) >= 4
    # Unpaced, the four pages of the listing would arrive within milliseconds. Paced,
    # no second of the service's log holds more than the rate: slots are granted
    # half a second apart and each counts until its answer, so however late one
    # leaves (the first also opens the connection) it never shares a second with
    # two more. (Gaps between single calls may be shorter than half a second when
    # one left late: the rate is a promise about seconds, not about each gap.)
    busiest = max(sum(1 for t in lists if start <= t < start + 1.0) for start in lists)
    assert busiest <= 2, lists


@pytest.mark.parametrize(("final", "code"), [("COMPLETED", 0), ("EXCEPTION", 1)])
def test_a_transfer_workflow_exits_as_it_ended(
    sim: Simulator, env: dict[str, str], final: str, code: int
) -> None:
    """Transfer forgets a finished run; its execution log says how it ended: a completed
    workflow exits 0, one that ended in EXCEPTION exits 1."""
    workflow = "w-0000000000000cl7" + ("c" if final == "COMPLETED" else "e")
    (ids,) = sim.fleet.add(
        "transfer-execution",
        1,
        parent=workflow,
        schedule=[("IN_PROGRESS", 0.0), (final, 5.0)],
    )
    params = [f"--param={name}={value}" for name, value in ids.items()]
    result = run_cli(*wait_args(sim, "transfer-execution"), *params, env=env)
    assert result.returncode == code, result.stderr
    (outcome,) = summary_of(result)["outcomes"]
    assert outcome["state"] == final
    assert outcome["outcome"] == ("succeeded" if final == "COMPLETED" else "failed")


def test_an_all_of_that_lists_nothing_exits_5_not_0(sim: Simulator, env: dict[str, str]) -> None:
    """A Transfer workflow whose runs all finished lists none: 'nothing to wait on', exit 5,
    never 'every execution succeeded'."""
    workflow = "w-0000000000000cl5e"
    finished = [("IN_PROGRESS", 0.0), ("COMPLETED", 0.05)]
    sim.fleet.add("transfer-execution", 2, parent=workflow, schedule=finished)
    time.sleep(0.3)
    result = run_cli(*wait_args(sim, "transfer-execution"), "--all-of", workflow, env=env)
    assert result.returncode == 5, result.stderr
    assert "no execution to wait on" in result.stderr
    summary = summary_of(result)
    assert summary["total"] == 0 and summary["exit_code"] == 5


def test_all_of_enumerates_each_type_by_its_parent(sim: Simulator, env: dict[str, str]) -> None:
    """--all-of takes each type's parent: command ARN, asset id, Snow task, Transfer workflow."""
    fleet = sim.fleet
    # Never-ending executions: what is listed cannot depend on how fast the CLI starts
    # (Transfer lists only executions in progress), and --timeout ends each wait. The
    # deadline covers the listing too: 3 s lets four processes list on a loaded machine.
    running = {
        "iot-command-execution": [("CREATED", 0.0), ("IN_PROGRESS", 0.1)],
        "sitewise-execution": [("RUNNING", 0.0)],
        "snow-execution": [("QUEUED", 0.0), ("IN_PROGRESS", 0.1)],
        "transfer-execution": [("IN_PROGRESS", 0.0)],
    }
    parents = {
        "iot-command-execution": "cli-cmd",
        "sitewise-execution": "0f0e0d0c-0b0a-4909-8807-060504030201",
        "snow-execution": "cli-task",
        "transfer-execution": "w-0000000000000cl11",
    }
    created = {
        name: fleet.add(name, 3, parent=parent, schedule=running[name])
        for name, parent in parents.items()
    }
    # The simulator names the command by ARN, as ListCommandExecutions takes it.
    parents["iot-command-execution"] = created["iot-command-execution"][0]["targetArn"].replace(
        "thing/thing-00001", "command/cli-cmd"
    )
    processes = {
        name: subprocess.Popen(
            _command(*wait_args(sim, name), "--all-of", parent, "--timeout", "3s"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for name, parent in parents.items()
    }
    try:
        results = {name: p.communicate(timeout=60) for name, p in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    for name, (stdout, stderr) in results.items():
        assert processes[name].returncode == 3, (name, stderr)
        summary = json_lines(stdout)[-1]
        assert summary["total"] == 3, (name, stdout, stderr)
        assert [o["params"] for o in summary["outcomes"]] == created[name], name
        assert {o["outcome"] for o in summary["outcomes"]} == {"wait_timeout"}, name


# --- signals --------------------------------------------------------------------------------


def _read_until(process: subprocess.Popen[str], event: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if json.loads(line)["event"] == event:
            return lines
    raise AssertionError(f"no {event!r} event within {timeout}s: {lines}")


def test_sigterm_mid_wait_exits_143_with_a_summary(sim: Simulator, env: dict[str, str]) -> None:
    """SIGTERM while waiting: exit 143, no traceback, a summary naming who was still waiting."""
    add_job(sim, "cli-term", RUNNING_FOREVER, count=3)
    process = subprocess.Popen(
        _command(*wait_args(sim), "--all-of", "cli-term", "--output", "json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        _read_until(process, "transition", timeout=30)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, stderr
    # Cancelled calls and closed clients leave nothing behind to complain at exit.
    assert "Traceback" not in stderr and "Unclosed" not in stderr
    summary = json_lines(stdout)[-1]
    assert summary["event"] == "summary" and summary["exit_code"] == 143
    assert summary["interrupted"] == "SIGTERM" and summary["waiting"] == 3
    assert {o["outcome"] for o in summary["outcomes"]} == {"abandoned"}
    assert {o["state"] for o in summary["outcomes"]} <= {"QUEUED", "IN_PROGRESS", None}
    assert all(o["reason"] == "interrupted by SIGTERM" for o in summary["outcomes"])


def test_sigint_mid_wait_exits_130_listing_the_waiting(sim: Simulator, env: dict[str, str]) -> None:
    """Ctrl-C (SIGINT) while waiting: exit 130 and a text summary of the executions left."""
    (ids,) = add_job(sim, "cli-int", RUNNING_FOREVER)
    process = subprocess.Popen(
        _command(
            *wait_args(sim),
            "--param",
            "jobId=cli-int",
            "--param",
            f"thingName={ids['thingName']}",
            "--output",
            "text",
            "-v",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stderr is not None
        # -v logs when waiting starts (JSON lines on a pipe): the signal receiver is in place.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line or "waiters.cli.waiting" in line:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "Still waiting when SIGINT arrived (1)" in stdout
    assert ids["thingName"] in stdout and "exit 130" in stdout


# --- machines -------------------------------------------------------------------------------


def test_machines_lists_every_type(env: dict[str, str]) -> None:
    """`waiters machines` lists each type with its service, operation and parameters."""
    result = run_cli("machines", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["TYPE", "SERVICE", "OPERATION"]
    rows = {line.split()[0]: line for line in lines[1:] if line and not line.startswith("Det")}
    assert set(rows) == {
        "iot-command-execution",
        "iot-job-execution",
        "sitewise-execution",
        "snow-execution",
        "transfer-execution",
    }
    assert "DescribeJobExecution" in rows["iot-job-execution"]
    assert "jobId, thingName" in rows["iot-job-execution"]
    assert "--all-of JOB_ID" in rows["iot-job-execution"]
    assert "ExecutionId, WorkflowId" in rows["transfer-execution"]


def test_machines_shows_one_lifecycle(env: dict[str, str]) -> None:
    """`waiters machines TYPE` groups states by kind and writes transitions as A -> B, C."""
    result = run_cli("machines", "iot-job-execution", env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "iot DescribeJobExecution(jobId, thingName[, executionNumber])" in text
    assert "  pending    QUEUED" in text
    assert "  failed     FAILED, TIMED_OUT, REJECTED  (terminal)" in text
    assert "  cancelled  REMOVED, CANCELED  (terminal)" in text
    assert "QUEUED      -> IN_PROGRESS, SUCCEEDED, FAILED" in text
    assert "ResourceNotFoundException" in text and "retry" in text
    assert "ListJobExecutionsForJob(jobId)" in text
    unknown = run_cli("machines", "nope", env=env)
    assert unknown.returncode == 2 and "unknown execution type 'nope'" in unknown.stderr


def _user_definition(tmp_path: Path) -> Path:
    text = (builtin_directory() / "iot-job-execution.toml").read_text()
    text = text.replace('name = "iot-job-execution"', 'name = "firmware-update"')
    text = text.replace(
        'description = "AWS IoT job execution on a thing"',
        'description = "Our firmware rollout, one device"',
    )
    path = tmp_path / "firmware.toml"
    path.write_text(text)
    return path


def test_user_definitions_load_with_machines_path(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    """--machines PATH adds a type that `machines` lists and `wait` waits on."""
    path = _user_definition(tmp_path)
    listed = run_cli("--machines", str(path), "machines", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "firmware-update" in listed.stdout and "iot-job-execution" in listed.stdout
    shown = run_cli("machines", "firmware-update", "--machines", str(path), env=env)
    assert shown.returncode == 0 and "Our firmware rollout, one device" in shown.stdout
    (ids,) = add_job(sim, "cli-user-type", _schedule("SUCCEEDED"))
    waited = run_cli(
        "--machines",
        str(path),
        *wait_args(sim, "firmware-update"),
        "--param",
        "jobId=cli-user-type",
        "--param",
        f"thingName={ids['thingName']}",
        "--output",
        "json",
        env=env,
    )
    assert waited.returncode == 0, waited.stderr
    assert summary_of(waited)["outcomes"][0]["type"] == "firmware-update"


def test_a_malformed_user_definition_exits_2_naming_the_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A definition with a mistake fails at load time: exit 2, the file and key named."""
    path = tmp_path / "broken.toml"
    path.write_text(_user_definition(tmp_path).read_text().replace('"pending"', '"waiting"'))
    result = run_cli("--machines", str(path), "machines", env=env)
    assert result.returncode == 2
    assert "--machines:" in result.stderr and "broken.toml" in result.stderr
    assert "states.QUEUED" in result.stderr


# --- the demo and the simulator subcommand ----------------------------------------------------


def test_demo_completes_with_exit_0_and_a_json_summary(env: dict[str, str]) -> None:
    """The demo waits on every simulated type and exits 0 although some fail by design."""
    result = run_cli(
        "demo", "--things", "50", "--speed", "50", "--output", "json", env=env, timeout=90
    )
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    start, summary = records[0], records[-1]
    assert start["event"] == "start" and start["demo"] is True
    assert start["types"]["iot-job-execution"] == 50 and len(start["types"]) == 5
    assert summary["event"] == "summary" and summary["exit_code"] == 0
    assert summary["total"] == sum(start["types"].values()) == len(summary["outcomes"])
    assert sum(summary["counts"].values()) == summary["total"]
    assert summary["counts"]["succeeded"] > 0
    assert summary["counts"]["wait_timeout"] == summary["counts"]["error"] == 0
    # Transfer forgets finished executions: their logs say how they ended (one that ended
    # unseen, on a busy machine's slow start, is not found).
    transfer = [o for o in summary["outcomes"] if o["type"] == "transfer-execution"]
    assert {o["outcome"] for o in transfer} <= {"succeeded", "failed", "not_found"}
    assert any(o["outcome"] == "succeeded" for o in transfer)
    # Every execution that did not succeed says why.
    assert all(o["reason"] for o in summary["outcomes"] if o["outcome"] != "succeeded")
    assert "by design" in summary["note"]
    assert any(r["event"] == "transition" for r in records)


def test_simulator_subcommand_serves_until_sigterm(env: dict[str, str]) -> None:
    """`waiters simulator` prints its URL first, answers, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        _command("simulator", "--port", "0", "--add", "snow-execution=2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/_simulator/health", timeout=10) as response:
            assert json.load(response)["executions"] == 2
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0


# --- on a terminal ----------------------------------------------------------------------------


def _run_in_pty(
    args: Sequence[str],
    env: dict[str, str],
    timeout: float,
    on_output: Callable[[str], None] = lambda _: None,
) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on one pseudo-terminal; return (status, output).

    *on_output* sees the output so far each time more arrives.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    process = subprocess.Popen(
        _command(*args),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env | {"TERM": "xterm"},
        cwd=REPO,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                chunks.append(data)
                on_output(b"".join(chunks).decode("utf-8", "replace"))
            elif process.poll() is not None:
                break
        status = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


def test_terminal_gets_a_live_display_and_a_summary_table(
    sim: Simulator, env: dict[str, str]
) -> None:
    """On a terminal: a progress block redrawn in place with counts per state, then a table."""
    things = [f"thing-{n:05d}" for n in range(1, 5)]
    created: list[dict[str, str]] = []

    def start_the_rollout(output: str) -> None:
        # Only once the display is up, so the states change while it runs, however slowly
        # the CLI started (until then the executions are unseen, within the grace window).
        if not created and "waiting on 4 executions" in output:
            created.extend(add_job(sim, "cli-tty", _schedule("SUCCEEDED", after=1.2), count=3))
            created.extend(add_job(sim, "cli-tty", _schedule("FAILED", after=1.4)))

    args = [*wait_args(sim), "--param", "jobId=cli-tty", "--not-found-grace", "30s"]
    args += [arg for thing in things for arg in ("--execution", f"thingName={thing}")]
    status, output = _run_in_pty(args, env, timeout=60, on_output=start_the_rollout)
    assert [ids["thingName"] for ids in created] == things
    assert status == 1, output
    # The progress block: counts per state, calls, redrawn in place with cursor movement.
    assert "unseen 4" in output
    assert re.search(r"iot-job-execution +4  (QUEUED \d · )?IN_PROGRESS \d", output), output
    assert "calls " in output and "throttled " in output
    # Redrawn in place: back to the line's start and erased, then up a line and erased.
    assert "\r\x1b[2K" in output and "\x1b[1A\x1b[2K" in output
    # The summary table on stdout, after the display is erased.
    table = output[output.rindex("TYPE               TOTAL") :]
    assert re.search(r"^iot-job-execution +4 +3 +1\s*$", table, re.MULTILINE), table
    assert "exit 1: at least one execution ended badly" in table


# --- in-process: the small pure pieces --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("45", 45.0),
        ("0.5", 0.5),
        ("1m30s", 90.0),
        ("1d", 86400.0),
        (" 2H ", 7200.0),
    ],
)
def test_durations_accept_units_and_plain_seconds(text: str, seconds: float) -> None:
    """Durations read 90s, 30m, 2h, 1h30m and plain seconds."""
    from waiters.cli._args import deadline, duration

    assert duration(text) == seconds
    assert deadline(text) == seconds


@pytest.mark.parametrize("text", ["10 minutes", "", "-5", "1x", "m", "30m1h", "inf"])
def test_bad_durations_are_refused(text: str) -> None:
    """Anything else is refused with the value and the accepted forms in the message."""
    import argparse

    from waiters.cli._args import duration

    with pytest.raises(argparse.ArgumentTypeError, match=r"use 90s, 30m, 2h or seconds"):
        duration(text)


def test_no_deadline_is_spelled_none() -> None:
    """--timeout none waits as long as the executions run."""
    from waiters.cli._args import deadline

    assert deadline("none") is None and deadline("never") is None


def test_exit_code_precedence() -> None:
    """A bad ending outranks an AWS error, which outranks a timeout; all succeeded is 0."""
    from waiters import Execution, Outcome, OutcomeKind, default_registry
    from waiters.cli._exit import exit_code_for

    machine = default_registry().get("iot-job-execution")

    def outcome(kind: OutcomeKind) -> Outcome:
        execution = Execution(machine, {"jobId": "j", "thingName": kind.value})
        return Outcome(execution, kind, None, None, None, 1, 0.0, ())

    def code(*kinds: OutcomeKind) -> int:
        return int(exit_code_for([outcome(kind) for kind in kinds]))

    assert code() == code(OutcomeKind.SUCCEEDED) == 0
    for bad in (
        OutcomeKind.FAILED,
        OutcomeKind.CANCELLED,
        OutcomeKind.VANISHED,
        OutcomeKind.NOT_FOUND,
    ):
        assert code(OutcomeKind.SUCCEEDED, bad, OutcomeKind.ERROR, OutcomeKind.WAIT_TIMEOUT) == 1
    assert code(OutcomeKind.SUCCEEDED, OutcomeKind.ERROR, OutcomeKind.WAIT_TIMEOUT) == 4
    assert code(OutcomeKind.SUCCEEDED, OutcomeKind.WAIT_TIMEOUT) == 3


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"AWS_REGION": "us-east-1"}, 0),
        ({"AWS_DEFAULT_REGION": "us-east-1"}, 0),
        ({}, 2),
    ],
)
def test_the_region_comes_from_aws_region_or_aws_default_region(
    sim: Simulator, env: dict[str, str], variables: dict[str, str], code: int
) -> None:
    """As the AWS CLI v2 and the SDKs do, AWS_REGION counts (botocore reads only
    AWS_DEFAULT_REGION); with neither, the usage error names both."""
    (ids,) = add_job(sim, "cli-region", _schedule("SUCCEEDED"))
    bare = {k: v for k, v in env.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    # wait_args without its --region.
    no_region = ("wait", "iot-job-execution", "--endpoint-url", sim.endpoint_url, *QUICK[:4])
    result = run_cli(
        *no_region,
        "--param",
        "jobId=cli-region",
        "--param",
        f"thingName={ids['thingName']}",
        env=bare | variables,
    )
    assert result.returncode == code, result.stderr
    if code == 2:
        assert "AWS_REGION" in result.stderr and "AWS_DEFAULT_REGION" in result.stderr


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("--timout", "--timeout"),
        ("--regoin", "--region"),
        ("--fail-fast-stats", "--fail-fast-states"),
        ("--concurency", "--concurrency"),
    ],
)
def test_a_misspelt_flag_is_named_with_what_was_meant(
    env: dict[str, str], typo: str, meant: str
) -> None:
    """Exit 2, the wait command's own usage line, and the flag it most likely meant."""
    result = run_cli("wait", "iot-job-execution", typo, "5", "--param", "jobId=j", env=env)
    assert result.returncode == 2
    assert f"{typo} (did you mean {meant}?)" in result.stderr
    assert "usage: waiters wait" in result.stderr
