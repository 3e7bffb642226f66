"""``waiters wait --events-queue``: the command line hears executions end through SQS.

The flags are checked in process (a usage error names its flag, before any
call); what they build is read from the command's own options. The end-to-end
tests run ``python -m waiters.cli`` as a pipeline step would, against the
simulator (IoT, served from a thread on 127.0.0.1) and a queue that nobody
here wrote: moto's SQS server, on another port of 127.0.0.1, which a publisher
thread fills with the IoT job execution events of the simulator's ground
truth, as an IoT rule would. Polling is slowed far below what the tests
allow, so an ending seen in time was heard.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.fakesqs import job_event
from tests.motoserver import moto_running
from tests.test_cli import REPO, _base_env, _command, json_lines, summary_of
from waiters import DEFAULT_EVENT_STALENESS, SqsEvents, default_registry
from waiters.cli import main
from waiters.cli._args import build_parser
from waiters.cli._display import Heard, Summary, render_summary, summary_record
from waiters.cli._events import queue_client_kwargs
from waiters.cli._wait import _options
from waiters.simulator import Simulator

REGION = "us-east-1"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/job-events"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "TIMED_OUT", "REJECTED", "REMOVED"})
# Polling far slower than the tests wait: an ending seen in time came from the queue.
SLOW = (
    "--min-delay",
    "30s",
    "--max-delay",
    "60s",
    "--latency",
    "60s",
    "--events-staleness",
    "60s",
    "--timeout",
    "20s",
    "--region",
    REGION,
    "--output",
    "json",
)


# --- the flags ------------------------------------------------------------------------------


NOWHERE = ("--endpoint-url", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--events-queue", "arn:aws:sqs:us-east-1:123456789012:job-events"],
            "--events-queue: expected the queue's URL, not its ARN: "
            "'arn:aws:sqs:us-east-1:123456789012:job-events'",
        ),
        (["--events-queue", "job-events"], "--events-queue: expected a queue URL"),
        (
            ["--events-queue", "https://sqs.us-east-1.amazonaws.com/job-events"],
            "got 'https://sqs.us-east-1.amazonaws.com/job-events'",
        ),
        (
            ["--events-queue", "ftp://sqs.us-east-1.amazonaws.com/123456789012/q"],
            "--events-queue: expected a queue URL",
        ),
        (["--events-queue", f"{QUEUE}?x=1"], f"got '{QUEUE}?x=1'"),
        (
            ["--events-queue", QUEUE, "--events-staleness", "0.5s"],
            "--events-staleness: SqsEvents.staleness must be at least 1 seconds, got 0.5",
        ),
        (
            ["--events-queue", QUEUE, "--events-staleness", "soon"],
            "--events-staleness: invalid duration 'soon'",
        ),
        (
            ["--events-queue", QUEUE, "--events-silence", "0"],
            "--events-silence: SqsEvents.silence must be greater than 0 seconds",
        ),
        (
            ["--events-queue", QUEUE, "--events-endpoint-url", "sqs"],
            "--events-endpoint-url: expected an http(s) URL such as http://127.0.0.1:4566, "
            "got 'sqs'",
        ),
        (["--events-staleness", "5m"], "--events-staleness: needs --events-queue"),
        (["--events-silence", "none"], "--events-silence: needs --events-queue"),
        (["--events-shared"], "--events-shared: needs --events-queue"),
        (
            ["--events-endpoint-url", "http://127.0.0.1:9"],
            "--events-endpoint-url: needs --events-queue",
        ),
    ],
)
def test_bad_events_flags_exit_2_naming_the_flag(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each is refused before any call (the endpoint is a closed port): exit 2, the flag."""
    code = main(["wait", "iot-job-execution", "--all-of", "j", "--region", REGION, *argv, *NOWHERE])
    err = capsys.readouterr().err
    assert code == 2, err
    (line,) = [x for x in err.splitlines() if x.startswith("waiters: error:")]
    assert said in line, line


def test_a_type_without_events_is_refused_naming_the_types_with_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "wait",
            "transfer-execution",
            "--all-of",
            "w-0123456789abcdef0",
            "--region",
            REGION,
            "--events-queue",
            QUEUE,
            *NOWHERE,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "waiters: error: --events-queue: transfer-execution has no [events] section" in err
    assert "iot-command-execution, iot-job-execution" in err


def _built(*argv: str) -> SqsEvents | None:
    args = build_parser(simulator=False).parse_checked(
        ["wait", "iot-job-execution", "--all-of", "j", *argv]
    )
    return _options(args, default_registry().get("iot-job-execution")).events


def test_the_flags_build_the_event_source() -> None:
    """What the poller is given: the library's defaults, or what the flags say."""
    assert _built() is None
    assert _built("--events-queue", QUEUE) == SqsEvents(QUEUE)
    source = _built("--events-queue", QUEUE)
    assert source is not None and source.staleness_seconds == DEFAULT_EVENT_STALENESS
    assert _built(
        "--events-queue",
        QUEUE,
        "--events-staleness",
        "2m",
        "--events-silence",
        "none",
        "--events-shared",
    ) == SqsEvents(QUEUE, staleness=120.0, silence=None, shared=True)
    assert _built("--events-queue", QUEUE, "--events-silence", "90s") == SqsEvents(
        QUEUE, silence=90.0
    )


def _queue_kwargs(*argv: str, region: str = REGION) -> dict[str, Any]:
    args = build_parser(simulator=False).parse_checked(["wait", "iot-job-execution", *argv])
    base = {"config": "the clients' config"}
    if args.endpoint_url is not None:
        base["endpoint_url"] = args.endpoint_url
    return queue_client_kwargs(args, region, base)


def test_the_queue_client_goes_where_the_flags_say() -> None:
    """--events-endpoint-url, else --endpoint-url, else AWS in the queue's own region."""
    sim, moto = "http://127.0.0.1:4001", "http://127.0.0.1:4002"
    config = {"config": "the clients' config"}
    assert _queue_kwargs("--events-queue", QUEUE) == config
    assert _queue_kwargs("--events-queue", QUEUE, region="eu-west-1") == {
        **config,
        "region_name": "us-east-1",
    }
    legacy = "https://eu-west-2.queue.amazonaws.com/123456789012/q"
    assert _queue_kwargs("--events-queue", legacy)["region_name"] == "eu-west-2"
    assert _queue_kwargs("--events-queue", QUEUE, "--endpoint-url", sim) == {
        **config,
        "endpoint_url": sim,
    }
    assert _queue_kwargs(
        "--events-queue", QUEUE, "--endpoint-url", sim, "--events-endpoint-url", moto
    ) == {**config, "endpoint_url": moto}
    elsewhere = "http://127.0.0.1:4002/123456789012/q"
    assert _queue_kwargs("--events-queue", elsewhere, region="eu-west-1") == config


def test_the_summary_says_what_the_queue_did_and_nothing_without_one() -> None:
    heard = Heard(QUEUE, received=12, taken=9, healthy=True, calls=7, errors=1)
    plain = Summary(outcomes=(), total=0, exit_code=0, elapsed=1.0, calls=3)
    with_events = Summary(outcomes=(), total=0, exit_code=0, elapsed=1.0, calls=3, events=heard)
    record, before = summary_record(with_events), summary_record(plain)
    assert record.pop("events") == {
        "queue": QUEUE,
        "received": 12,
        "taken": 9,
        "healthy": True,
        "calls": 7,
        "errors": 1,
    }
    assert record == before and "events" not in before
    text = render_summary(with_events, 100)
    assert "events: 12 heard · 9 about these executions · queue heard at the end" in text
    assert "events" not in render_summary(plain, 100)
    lost = Summary(
        outcomes=(),
        total=0,
        exit_code=0,
        elapsed=1.0,
        events=Heard(QUEUE, received=0, taken=0, healthy=False, calls=3, errors=3),
    )
    assert "queue not heard at the end (polling had taken over)" in render_summary(lost, 100)


# --- against a simulator and moto's SQS -----------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """The simulator in a background thread, real time (its truth is on time.time)."""
    with Simulator(seed=19, speed=1.0).in_thread() as running:
        yield running


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port): the queue's endpoint."""
    with moto_running() as endpoint:
        yield endpoint


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials: neither the simulator nor moto checks signatures."""
    return _base_env(tmp_path) | {
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000",
        "AWS_SECRET_ACCESS_KEY": "not-checked",
    }


def _sqs(moto: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=moto,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Publisher(threading.Thread):
    """Sends each execution's status changes to the queue as IoT would, at their times.

    The ending ones wait for *ready* too: an event about an execution nobody
    waits on yet is dropped, as documented, and the command waits on a job's
    executions only once it has listed them (its ``start`` line).
    """

    def __init__(self, sim: Simulator, moto: str, queue: str, job: str, things: Sequence[str]):
        super().__init__(daemon=True)
        self.sqs = _sqs(moto)
        self.queue = queue
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.sent: list[tuple[str, str]] = []
        self._sends = sorted(
            (at, thing, state, version)
            for thing in things
            for version, (state, at) in enumerate(
                sim.fleet.truth("iot-job-execution", jobId=job, thingName=thing), start=1
            )
            if state is not None
        )
        self.job = job

    def run(self) -> None:
        try:
            self._publish()
        finally:
            self.sqs.close()

    def _publish(self) -> None:
        for at, thing, state, version in self._sends:
            if state in TERMINAL:
                while not self.ready.wait(0.05):
                    if self.stop.is_set():
                        return
            if self.stop.wait(max(0.0, at - time.time())):
                return
            event = job_event(self.job, thing, state, at_ms=int(at * 1000), version=version)
            self.sqs.send_message(QueueUrl=self.queue, MessageBody=json.dumps(event))
            self.sent.append((thing, state))


class Run:
    """``waiters wait`` in a child process; its JSON lines read as they come."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            _command(*argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.lines: list[str] = []
        self.started = threading.Event()
        self.outcomes = threading.Semaphore(0)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            event = json.loads(line).get("event")
            if event == "start":
                self.started.set()
            elif event == "outcome":
                self.outcomes.release()

    def finish(self, timeout: float = 60) -> tuple[int, list[dict[str, Any]], str]:
        """Wait for the command to exit: its code, its JSON lines and its stderr."""
        process = self.process
        try:
            code = process.wait(timeout)
            self._reader.join(timeout)
            assert process.stderr is not None
            stderr = process.stderr.read()
        finally:
            self.close()
        return code, json_lines("".join(self.lines)), stderr

    def close(self) -> None:
        """Kill the command if it still runs; close its pipes."""
        process = self.process
        if process.poll() is None:
            process.kill()
            process.wait(10)
        self._reader.join(10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def _truth(sim: Simulator, job: str, thing: str) -> str | None:
    """The state the execution ends in, by the simulator's ground truth."""
    return sim.fleet.truth("iot-job-execution", jobId=job, thingName=thing)[-1][0]


def _queue(moto: str, name: str) -> str:
    url: str = _sqs(moto).create_queue(QueueName=name)["QueueUrl"]
    return url


def test_all_of_a_job_ends_as_heard_on_moto_sqs(
    sim: Simulator, moto: str, env: dict[str, str]
) -> None:
    """Endings a 30 s poll could not see in time, heard through moto's queue: the exit
    code and outcomes are the simulator's truth, the summary says the queue was heard,
    and every message the command received is deleted."""
    job = "cli-events-1"
    schedule = [("QUEUED", 0.0), ("IN_PROGRESS", 0.3)]
    ids = sim.fleet.add("iot-job-execution", 3, parent=job, schedule=[*schedule, ("SUCCEEDED", 3)])
    ids += sim.fleet.add("iot-job-execution", 2, parent=job, schedule=[*schedule, ("FAILED", 3)])
    things = [i["thingName"] for i in ids]
    queue = _queue(moto, "cli-events-1")
    publisher = Publisher(sim, moto, queue, job, things)
    publisher.start()
    run = Run(
        [
            "wait",
            "iot-job-execution",
            "--all-of",
            job,
            "--endpoint-url",
            sim.endpoint_url,
            "--events-queue",
            queue,
            "--events-endpoint-url",
            moto,
            *SLOW,
        ],
        env,
    )
    try:
        assert run.started.wait(30), run.process.stderr
        publisher.ready.set()
        code, records, stderr = run.finish()
    finally:
        publisher.stop.set()
        publisher.join(10)
    summary = records[-1]
    assert summary["event"] == "summary", stderr
    assert code == 1, stderr
    got = {o["params"]["thingName"]: o["state"] for o in summary["outcomes"]}
    assert got == {thing: _truth(sim, job, thing) for thing in things}
    assert summary["elapsed"] < 15
    events = summary["events"]
    assert events["queue"] == queue and events["healthy"] is True
    assert events["taken"] >= 1 and events["received"] >= events["taken"]


def test_a_resumed_run_hears_the_queue_again(
    sim: Simulator, moto: str, env: dict[str, str], tmp_path: Path
) -> None:
    """--checkpoint with events: a run killed once two executions ended, run again, hears
    the other two end through the queue; every outcome shows once, as the truth says."""
    job = "cli-events-2"
    schedule = [("QUEUED", 0.0), ("IN_PROGRESS", 0.3)]
    early = sim.fleet.add(
        "iot-job-execution", 2, parent=job, schedule=[*schedule, ("SUCCEEDED", 2)]
    )
    late = sim.fleet.add("iot-job-execution", 1, parent=job, schedule=[*schedule, ("SUCCEEDED", 6)])
    late += sim.fleet.add("iot-job-execution", 1, parent=job, schedule=[*schedule, ("FAILED", 6)])
    queue = _queue(moto, "cli-events-2")
    argv = [
        "wait",
        "iot-job-execution",
        "--all-of",
        job,
        "--endpoint-url",
        sim.endpoint_url,
        "--events-queue",
        queue,
        "--events-endpoint-url",
        moto,
        "--checkpoint",
        str(tmp_path / "wait.json"),
        *SLOW,
    ]
    first_things = Publisher(sim, moto, queue, job, [i["thingName"] for i in early])
    last_things = Publisher(sim, moto, queue, job, [i["thingName"] for i in late])
    first_things.start()
    last_things.start()
    try:
        first = Run(argv, env)
        try:
            assert first.started.wait(30)
            first_things.ready.set()
            for _ in early:
                assert first.outcomes.acquire(timeout=15), "the early endings were not heard"
            first.process.send_signal(signal.SIGKILL)
            code, shown, _ = first.finish()
        finally:
            first.close()
        assert code == -signal.SIGKILL
        _outlive_dead_poll(moto, queue)
        again = Run(argv, env)
        try:
            assert again.started.wait(30)
            last_things.ready.set()
            code, records, stderr = again.finish()
        finally:
            again.close()
    finally:
        first_things.stop.set()
        last_things.stop.set()
        first_things.join(10)
        last_things.join(10)
    summary = records[-1]
    assert summary["event"] == "summary", stderr
    assert code == 1, stderr
    truth = {i["thingName"]: _truth(sim, job, i["thingName"]) for i in early + late}
    assert {o["params"]["thingName"]: o["state"] for o in summary["outcomes"]} == truth
    # Shown once each: the early ones by the killed run, the late ones by the rerun.
    lines = [r for r in shown + records if r["event"] == "outcome"]
    assert sorted(r["execution"]["thingName"] for r in lines) == sorted(truth)
    assert summary["elapsed"] < 15
    events = summary["events"]
    assert events["healthy"] is True and events["taken"] >= 1


def _outlive_dead_poll(moto: str, queue: str) -> None:
    """The killed command's long poll lives on in the server, up to 20 s, and would take
    the next message (hidden then for the visibility timeout, as SQS would, a minute for
    polling to cover): give it one that is nobody's, and wait until it is taken."""
    sqs = _sqs(moto)
    try:
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"nobody": "here"}))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            if attributes["ApproximateNumberOfMessages"] == "0":
                return
            time.sleep(0.05)
    finally:
        sqs.close()


def test_a_queue_that_is_not_there_exits_2_naming_it(
    sim: Simulator, moto: str, env: dict[str, str]
) -> None:
    """SQS says no such queue: bad input, before any execution is waited on."""
    missing = f"{moto}/123456789012/no-such-queue"
    result = subprocess.run(
        _command(
            "wait",
            "iot-job-execution",
            "--all-of",
            "cli-events-none",
            "--endpoint-url",
            sim.endpoint_url,
            "--events-queue",
            missing,
            "--events-endpoint-url",
            moto,
            *SLOW,
        ),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f"waiters: error: --events-queue: no such queue: {missing}" in result.stderr
    assert result.stdout == ""


def test_a_queue_that_never_answers_leaves_the_wait_to_polling(
    sim: Simulator, env: dict[str, str]
) -> None:
    """Nothing listens at the queue's endpoint: a warning, then the wait as without
    events: the exit code and outcomes of polling, and the summary says so."""
    job = "cli-events-3"
    ids = sim.fleet.add(
        "iot-job-execution", 2, parent=job, schedule=[("IN_PROGRESS", 0.0), ("SUCCEEDED", 0.5)]
    )
    result = subprocess.run(
        _command(
            "wait",
            "iot-job-execution",
            "--all-of",
            job,
            "--endpoint-url",
            sim.endpoint_url,
            "--events-queue",
            QUEUE,
            "--events-endpoint-url",
            "http://127.0.0.1:9",
            "--min-delay",
            "0.05",
            "--max-delay",
            "0.2",
            "--region",
            REGION,
            "--output",
            "json",
        ),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"event": "waiters.cli.events_unreachable"' in result.stderr
    summary = summary_of(result)
    assert summary["counts"]["succeeded"] == len(ids)
    assert summary["events"]["healthy"] is False and summary["events"]["received"] == 0
