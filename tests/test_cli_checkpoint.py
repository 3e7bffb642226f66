"""``waiters wait --checkpoint FILE`` and ``--deadline-at``, run as a pipeline step would.

Each test runs ``python -m waiters.cli`` in a child process against the
simulator served from a thread of this process on 127.0.0.1. The kill test
SIGKILLs a command mid-run and runs it again: the union of what both showed,
and the rerun's summary, hold every execution exactly once, as the
simulator's ground truth says it ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import (
    QUICK,
    REPO,
    RUNNING_FOREVER,
    _base_env,
    _command,
    json_lines,
    run_cli,
    summary_of,
)
from waiters import Checkpoint
from waiters.simulator import Simulator

WORKFLOW = "w-0000000000000ck01"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=18, speed=1.0).in_thread() as running:
        yield running


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return _base_env(tmp_path) | {
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000",
        "AWS_SECRET_ACCESS_KEY": "not-checked",
    }


def _wait_args(sim: Simulator, type_name: str) -> list[str]:
    return ["wait", type_name, "--endpoint-url", sim.endpoint_url, *QUICK, "--output", "json"]


def _iot(sim: Simulator, job: str, schedule: Any, count: int = 2) -> list[str]:
    ids = sim.fleet.add("iot-job-execution", count, parent=job, schedule=schedule)
    return ["--param", f"jobId={job}", *(f"--execution=thingName={i['thingName']}" for i in ids)]


def _key(record: dict[str, Any]) -> str:
    return str(record["execution"]["ExecutionId"])


def _final(sim: Simulator, ids: dict[str, str]) -> str:
    states = [s for s, _ in sim.fleet.truth("transfer-execution", **ids)]
    return [s for s in states if s not in (None, "<GONE>")][-1]


@pytest.mark.parametrize(
    ("by", "workflow"), [("execution", WORKFLOW), ("all-of", "w-0000000000000ck02")]
)
def test_a_killed_command_run_again_shows_every_outcome_exactly_once(
    sim: Simulator, env: dict[str, str], tmp_path: Path, by: str, workflow: str
) -> None:
    """SIGKILL mid-run, the same command again: every Transfer run exactly once, as it
    ended; those seen running before the kill and gone by the rerun are read from their
    log, never not_found. Named one by one, or as ``--all-of`` the workflow: Transfer
    lists only runs in progress, so the rerun resumes what the first run listed."""
    WORKFLOW = workflow  # noqa: N806 - the module's default, per variant
    fleet = sim.fleet
    early = fleet.add(
        "transfer-execution",
        3,
        parent=WORKFLOW,
        schedule=[("IN_PROGRESS", 0.0), ("COMPLETED", 6.0)],
    )
    # These end while no command watches them.
    unwatched = fleet.add(
        "transfer-execution",
        3,
        parent=WORKFLOW,
        schedule=[("IN_PROGRESS", 0.0), ("EXCEPTION", 14.0)],
    )
    late = fleet.add(
        "transfer-execution",
        2,
        parent=WORKFLOW,
        schedule=[("IN_PROGRESS", 0.0), ("COMPLETED", 24.0)],
    )
    added = time.monotonic()
    everyone = [*early, *unwatched, *late]
    file = tmp_path / "rollout.checkpoint"
    command = [
        *_wait_args(sim, "transfer-execution"),
        *(
            [f"--execution=ExecutionId={i['ExecutionId']},WorkflowId={WORKFLOW}" for i in everyone]
            if by == "execution"
            else ["--all-of", WORKFLOW]
        ),
        "--timeout",
        "2m",
        "--checkpoint",
        str(file),
    ]
    process = subprocess.Popen(
        _command(*command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert process.stdout is not None
    shown: list[dict[str, Any]] = []
    unwatched_ids = {i["ExecutionId"] for i in unwatched}
    try:
        # Until the early runs are shown (so saved) and the others saved as seen running.
        give_up = time.monotonic() + 30
        while time.monotonic() < give_up:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            shown.append(json.loads(line))
            if sum(1 for r in shown if r["event"] == "outcome") < len(early):
                continue
            break
        # The scenario needs the unwatched runs saved as seen running before the kill:
        # on a slow machine the first polls of some may come after the early outcomes.
        while True:
            saved = Checkpoint.from_json(file.read_bytes())
            seen_before_kill = {
                json.loads(saved.executions[s.index].split(" ", 1)[1])["ExecutionId"]
                for s in saved.seen
            }
            if unwatched_ids <= seen_before_kill or time.monotonic() > added + 12.0:
                break
            time.sleep(0.1)
        assert unwatched_ids <= seen_before_kill, saved
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    killed = [r for r in shown if r["event"] == "outcome"]
    assert {_key(r) for r in killed} == {i["ExecutionId"] for i in early}
    # The unwatched runs end, and Transfer forgets them, before the rerun.
    time.sleep(max(0.0, added + 14.5 - time.monotonic()))

    rerun = run_cli(*command, env=env, timeout=90)
    assert rerun.returncode == 1, rerun.stderr[-2000:]  # the EXCEPTION runs failed
    records = json_lines(rerun.stdout)
    again = [r for r in records if r["event"] == "outcome"]
    both = [_key(r) for r in killed + again]
    assert sorted(both) == sorted(i["ExecutionId"] for i in everyone)  # each exactly once
    summary = summary_of(rerun)
    by_id = {o["params"]["ExecutionId"]: o for o in summary["outcomes"]}
    assert len(by_id) == len(summary["outcomes"]) == len(everyone)
    expected = {"COMPLETED": "succeeded", "EXCEPTION": "failed"}
    for ids in everyone:
        outcome = by_id[ids["ExecutionId"]]
        assert outcome["outcome"] == expected[_final(sim, ids)], outcome
        assert outcome["state"] == _final(sim, ids)


def test_a_finished_command_run_again_shows_the_same_outcomes_and_exit_code(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    file = tmp_path / "done.checkpoint"
    args = [
        *_wait_args(sim, "iot-job-execution"),
        *_iot(sim, "ck-done", [("QUEUED", 0.0), ("IN_PROGRESS", 0.1), ("FAILED", 0.4)]),
        "--checkpoint",
        str(file),
    ]
    first = run_cli(*args, env=env)
    assert first.returncode == 1, first.stderr
    second = run_cli(*args, env=env)
    assert second.returncode == 1, second.stderr
    assert not [r for r in json_lines(second.stdout) if r["event"] in ("outcome", "transition")]
    outcomes = [
        {k: o[k] for k in ("params", "outcome", "state")} for o in summary_of(first)["outcomes"]
    ]
    assert [
        {k: o[k] for k in ("params", "outcome", "state")} for o in summary_of(second)["outcomes"]
    ] == outcomes


def test_an_empty_checkpoint_file_is_a_fresh_start(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    """`CK=$(mktemp)` makes the file empty: nothing to resume, and the run saves there."""
    file = tmp_path / "made-by-mktemp"
    file.write_bytes(b"")
    result = run_cli(
        *_wait_args(sim, "iot-job-execution"),
        *_iot(sim, "ck-empty", [("QUEUED", 0.0), ("SUCCEEDED", 0.2)]),
        "--checkpoint",
        str(file),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert [o["outcome"] for o in summary_of(result)["outcomes"]] == ["succeeded"] * 2
    saved = Checkpoint.from_json(file.read_bytes())
    assert len(saved.outcomes) == 2


def test_a_checkpoint_of_another_command_is_a_usage_error_naming_the_file(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    file = tmp_path / "other.checkpoint"
    done = [("QUEUED", 0.0), ("SUCCEEDED", 0.1)]
    first = run_cli(
        *_wait_args(sim, "iot-job-execution"),
        *_iot(sim, "ck-one", done),
        "--checkpoint",
        str(file),
        env=env,
    )
    assert first.returncode == 0, first.stderr
    other = run_cli(
        *_wait_args(sim, "iot-job-execution"),
        *_iot(sim, "ck-two", done),
        "--checkpoint",
        str(file),
        env=env,
    )
    assert other.returncode == 2
    assert f"--checkpoint {file}: not this command's wait" in other.stderr


def _with_checkpoint(sim: Simulator, env: dict[str, str], path: Path) -> Any:
    """One wait on a thing of job j (none such) with ``--checkpoint`` *path*."""
    return run_cli(
        *_wait_args(sim, "iot-job-execution"),
        "--param",
        "jobId=j",
        "--param",
        "thingName=t",
        "--checkpoint",
        str(path),
        env=env,
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json at all", "not a JSON document"),
        ('{"format": "terraform-state"}', "checkpoint.format"),
        ('{"format": "waiters-checkpoint", "version": 99}', "checkpoint.version"),
    ],
)
def test_a_corrupt_or_foreign_checkpoint_file_is_a_usage_error(
    sim: Simulator, env: dict[str, str], tmp_path: Path, content: str, says: str
) -> None:
    file = tmp_path / "bad.checkpoint"
    file.write_text(content)
    result = _with_checkpoint(sim, env, file)
    assert result.returncode == 2
    assert f"--checkpoint {file}:" in result.stderr and says in result.stderr


@pytest.mark.parametrize("kind", ["a FIFO", "a directory", "a character device"])
def test_a_checkpoint_path_that_is_no_regular_file_is_a_usage_error(
    sim: Simulator, env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    """Refused at once, naming the flag, the path and what it is: a FIFO used to be
    opened for reading, which waits for a writer forever, deaf to SIGINT and SIGTERM."""
    path = tmp_path / "checkpoint"
    if kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a directory":
        path.mkdir()
    else:
        path = Path(os.devnull)
    result = _with_checkpoint(sim, env, path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"waiters: error: --checkpoint: {str(path)!r} must be a regular file (or none yet), "
        f"got {kind}"
    ]


def test_deadline_at_with_timeout_is_refused_naming_both(
    sim: Simulator, env: dict[str, str]
) -> None:
    result = run_cli(
        *_wait_args(sim, "iot-job-execution"),
        "--param",
        "jobId=j",
        "--param",
        "thingName=t",
        "--deadline-at",
        str(time.time() + 600),
        "--timeout",
        "1h",
        env=env,
    )
    assert result.returncode == 2
    assert "--deadline-at and --timeout" in result.stderr


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2001-01-01T00:00:00Z", "is in the past"),
        ("2030-01-01T00:00:00", "no zone"),
        ("next tuesday", "invalid time"),
    ],
)
def test_a_bad_deadline_at_is_refused(
    sim: Simulator, env: dict[str, str], value: str, says: str
) -> None:
    result = run_cli(
        *_wait_args(sim, "iot-job-execution"),
        "--param",
        "jobId=j",
        "--param",
        "thingName=t",
        "--deadline-at",
        value,
        env=env,
    )
    assert result.returncode == 2
    assert "--deadline-at" in result.stderr and says in result.stderr


def test_deadline_at_ends_the_wait_at_that_time(sim: Simulator, env: dict[str, str]) -> None:
    """An ISO time with a zone, 4 s from now: a run that never ends times out then (exit 3)."""
    at = datetime.fromtimestamp(time.time() + 4, tz=UTC).isoformat()
    started = time.monotonic()
    result = run_cli(
        *_wait_args(sim, "iot-job-execution"),
        *_iot(sim, "ck-at", RUNNING_FOREVER, 1),
        "--deadline-at",
        at,
        env=env,
    )
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    (outcome,) = summary_of(result)["outcomes"]
    assert outcome["outcome"] == "wait_timeout"
    assert 4 - 0.5 <= took <= 4 + 10, took


def test_every_outcome_is_shown_with_a_checkpoint_the_last_one_too(
    sim: Simulator, env: dict[str, str], tmp_path: Path
) -> None:
    """An outcome is shown once its checkpoint is saved; the last one, arriving alone as
    the batch ends, was taken for a save the end of the batch cut short and never shown
    (a tester saw it missing in 3 of 3 runs). Every execution gets its outcome line,
    in two runs."""
    for run in range(2):
        named = []
        for job, end in ((f"ck-last-{run}a", 1.0), (f"ck-last-{run}b", 4.0)):
            (ids,) = sim.fleet.add(
                "iot-job-execution",
                1,
                parent=job,
                schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 0.1), ("SUCCEEDED", end)],
            )
            named.append(f"--execution=jobId={job},thingName={ids['thingName']}")
        file = tmp_path / f"last-{run}.checkpoint"
        done = run_cli(
            *_wait_args(sim, "iot-job-execution"),
            *("--min-delay", "0.5", "--max-delay", "1"),  # polls a save apart, as a tester's
            *named,
            "--checkpoint",
            str(file),
            env=env,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        shown = [r for r in json_lines(done.stdout) if r["event"] == "outcome"]
        assert len(shown) == 2, (run, shown)
