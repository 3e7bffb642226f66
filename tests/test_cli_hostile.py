"""The command line against a hostile tester: bad input, broken output, services that
never answer or answer nonsense, signals at any moment, values of any size.

Subprocess tests run ``python -m waiters.cli`` as a CI step would (see
test_cli.py); the properties of the pieces run in process.
"""

from __future__ import annotations

import contextlib
import io
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_cli import QUICK, REPO, _base_env, _command, json_lines, run_all, run_cli
from waiters.simulator import Simulator


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials, no AWS configuration of the machine running the tests."""
    return _base_env(tmp_path) | {
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000",
        "AWS_SECRET_ACCESS_KEY": "not-checked",
    }


# --- bad input: one line, exit 2 ------------------------------------------------------------


def _hostile_inputs(tmp: Path) -> dict[tuple[str, ...], str]:
    """Argument lists of bad input, each with what its one-line message must name."""
    binary = tmp / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 4)
    deep = tmp / "deep.json"
    deep.write_text("[" * 100_000)
    deep_lines = tmp / "deep.jsonl"
    deep_lines.write_text('{"thingName": ' + "[" * 100_000 + "\n")
    wait = ("wait", "iot-job-execution", "--region", "us-east-1", "--param", "jobId=j")
    one = (*wait, "--param", "thingName=t")
    return {
        (*wait, "--from", str(binary)): f"--from {binary}: not UTF-8 text",
        (*wait, "--from", str(deep_lines)): f"--from {deep_lines} line 1",
        (*one, "--endpoint-url", "not-a-url"): "--endpoint-url: expected an http(s) URL",
        (*one, "--endpoint-url", "http://127.0.0.1:port"): "--endpoint-url: expected",
        (*wait[:2], "--region", "not a region!", *wait[4:], "-p", "thingName=t"): (
            "--region: not a region name such as eu-west-1: 'not a region!'"
        ),
        ("--machines", str(deep), "machines"): (
            f"--machines: {deep}: not valid JSON: nested too deeply"
        ),
        ("--machines", str(binary), "machines"): f"--machines: {binary}",
        # Found by a tester: a stream with no end of line was read for ever.
        (*wait, "--from", "/dev/zero"): "--from /dev/zero line 1: longer than",
        # Found by a tester: a parent the list call's model refuses was sent, 4 calls.
        (*wait[:4], "--all-of", "bad job id!", "--endpoint-url", _closed_port()): (
            "--all-of bad job id!: iot-job-execution: parameter jobId: expected a value matching"
        ),
        (*wait[:4], "--all-of", "j" * 100, "--endpoint-url", _closed_port()): (
            "parameter jobId: expected at most 64 characters"
        ),
    }


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("waiters: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_bad_input_of_every_kind_is_one_line_and_exit_2(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A binary --from file, a --from line nested past the JSON parser's depth, an
    --endpoint-url that is no URL, a region botocore refuses, a --machines file
    nested too deeply or binary: each exits 2 (not 1, which means an execution
    failed, nor 4) with one line naming the flag, and no traceback."""
    cases = _hostile_inputs(tmp_path)
    results = run_all(list(cases), env | {"AWS_REGION": "us-east-1"})
    for (status, stdout, stderr), (argv, named) in zip(results, cases.items(), strict=True):
        assert status == 2, (argv, stderr)
        assert "Traceback" not in stderr, (argv, stderr)
        assert named in _one_error_line(stderr), (argv, stderr)
        assert stdout == "", argv


def test_the_region_from_aws_region_is_named_when_bad(env: dict[str, str]) -> None:
    """A bad region from the environment is bad input too, named by where it came from."""
    result = run_cli(
        "wait", "iot-job-execution", "-p", "jobId=j", "-p", "thingName=t",
        env=env | {"AWS_REGION": "eu west 1"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "AWS_REGION: not a region name such as eu-west-1: 'eu west 1'" in result.stderr


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("output", ["json", "text"])
@pytest.mark.parametrize(
    ("stdout", "named"),
    [("closed", "stdout is closed"), ("full", "stdout cannot be written (No space left")],
)
def test_stdout_closed_or_full_is_a_message_and_exit_2(
    env: dict[str, str], output: str, stdout: str, named: str
) -> None:
    """stdout closed (`>&-`) or on a full disk (/dev/full): the result cannot be
    delivered, so the command says so in one line on stderr and exits 2."""
    argv = _command(
        "wait", "iot-job-execution", "--endpoint-url", _closed_port(), *QUICK,
        "-p", "jobId=j", "-p", "thingName=t", "--timeout", "0.5s", "--output", output,
    )  # fmt: skip
    # `>&-` in a shell: the child starts with descriptor 1 closed.
    shell = 'exec "$@" >&-' if stdout == "closed" else 'exec "$@" >/dev/full'
    result = subprocess.run(
        ["/bin/sh", "-c", shell, "sh", *argv],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert named in _one_error_line(result.stderr), result.stderr


def test_machines_to_a_full_disk_exits_2(env: dict[str, str]) -> None:
    """`waiters machines > /dev/full`: a message and exit 2, not a traceback and 1."""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            _command("machines"),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert "stdout cannot be written" in _one_error_line(result.stderr)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_from_file_is_read_or_refused_in_one_line(content: bytes) -> None:
    """Whatever a --from file holds, it yields parameters or a UsageError naming --from,
    one line long; nothing else escapes (the reported case: a binary file)."""
    from waiters.cli._errors import UsageError
    from waiters.cli._wait import _from_file

    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8")
    try:
        sources = _from_file("-", stream)
    except UsageError as exc:
        message = str(exc)
        assert message.startswith("--from stdin"), message
        assert "\n" not in message and len(message) < 2200
    else:
        assert all(isinstance(source.params, dict) for source in sources)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=st.binary(max_size=200)
    | st.sampled_from(["[" * 50_000, "{" * 50_000, "a = " + "[" * 50_000, "name = 5\n"]).map(
        str.encode
    ),
    suffix=st.sampled_from([".toml", ".json"]),
)
def test_any_machines_file_loads_or_exits_2(
    tmp_path_factory: pytest.TempPathFactory,
    content: bytes,
    suffix: str,
) -> None:
    """Whatever a --machines file holds, `waiters machines` lists or exits 2 with one
    line: never a traceback, never 1 (the reported case: a file nested too deeply)."""
    from waiters.cli import main

    path = tmp_path_factory.mktemp("machines") / f"user{suffix}"
    path.write_bytes(content)
    with (
        contextlib.redirect_stderr(io.StringIO()) as stderr,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = main(["--machines", str(path), "machines"])
    err = stderr.getvalue()
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("waiters: error: --machines")


# --- one exit code for an unreachable or unintelligible service -----------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=7, speed=1.0).in_thread() as running:
        yield running


class _Server:
    """A TCP server on 127.0.0.1 that reads each request and then, by *mode*, never
    answers (holding the connection open) or answers 200 with a body no AWS service
    sends (HTML, or nothing)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                request += chunk
            if self.mode == "silent":
                self.held.append(connection)
                return
            body = b"<html><body>Welcome</body></html>" if self.mode == "html" else b""
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}"
            connection.sendall(head.encode() + b"\r\n\r\n" + body)
            connection.close()

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    running = _Server(request.param)
    try:
        yield running
    finally:
        running.close()


_ONE = ("-p", "jobId=j", "-p", "thingName=t")


@pytest.mark.parametrize(
    ("server", "naming"),
    [("silent", _ONE), ("html", _ONE), ("empty", _ONE), ("silent", ("--all-of", "j"))],
    indirect=["server"],
)
def test_a_service_that_never_answers_or_answers_nonsense_exits_4(
    env: dict[str, str], server: _Server, naming: tuple[str, ...]
) -> None:
    """An endpoint that accepts and never answers exited 3 when --timeout came before the
    call timeout (30 s) and 4 after it; the rule is now one: not one answer in the whole
    run, whether calls failed or were still unanswered at the deadline, is exit 4
    (AWS could not be reached), for a listing as for a wait."""
    result = run_cli(
        "wait", "iot-job-execution", "--endpoint-url", server.url, *QUICK, *naming,
        "--timeout", "1.5s", "--output", "json", env=env,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 4, result.stderr
    summary = json_lines(result.stdout)[-1]
    assert summary["exit_code"] == 4


# --- one deadline for the listing and the wait ------------------------------------------------


def test_all_of_listing_and_waiting_share_one_deadline(sim: Simulator, env: dict[str, str]) -> None:
    """--timeout is one deadline: a listing of three pages paced two seconds apart
    (--max-rate 0.5) leaves the wait what is left of --timeout, not a whole --timeout
    of its own (it used to wait the full 5 s more after listing)."""
    sim.fleet.add(
        "iot-job-execution", 600, parent="hostile-deadline",
        schedule=[("QUEUED", 0.0), ("IN_PROGRESS", 0.2)],
    )  # fmt: skip
    result = run_cli(
        "wait", "iot-job-execution", "--endpoint-url", sim.endpoint_url, *QUICK,
        "--all-of", "hostile-deadline", "--max-rate", "0.5", "--timeout", "5s",
        "--output", "json", env=env,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    summary = json_lines(result.stdout)[-1]
    assert summary["total"] == 600
    # Outcomes count from the batch's start, after at least two seconds of listing.
    assert max(o["elapsed"] for o in summary["outcomes"]) < 5.0 - 1.0, summary["elapsed"]


# --- what the command line echoes is bounded ----------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(size=st.sampled_from([10_000_000]) | st.integers(min_value=0, max_value=50_000))
def test_service_values_echoed_by_the_cli_are_bounded(size: int) -> None:
    """A status string (and a reason, an id) of any size (the reported case: 10 MB) is
    echoed at most ECHO_LIMIT characters long, in the JSON summary, a transition event,
    the text summary and a log line; short values are echoed unchanged."""
    from waiters import Execution, Outcome, OutcomeKind, Transition, default_registry
    from waiters.cli._console import Console
    from waiters.cli._display import Report, Summary, render_summary
    from waiters.cli._errors import ECHO_LIMIT

    huge = "S" * size
    bound = ECHO_LIMIT + 40  # the note of what was cut
    machine = default_registry().get("iot-job-execution")
    execution = Execution(machine, {"jobId": "j", "thingName": "t"})
    outcome = Outcome(execution, OutcomeKind.FAILED, huge, huge, None, 1, 0.0, ())
    out = io.StringIO()
    report = Report(json_lines=True, out=out, console=Console(io.StringIO()), progress=False)
    report.on_transition(execution, Transition(huge, None, 0.0, 1))
    report.on_outcome(outcome)
    report.finish(Summary(outcomes=[outcome], total=1, exit_code=1, elapsed=0.0))
    transition, ended, summary = json_lines(out.getvalue())
    echoed = [transition["state"], ended["state"], ended["reason"]]
    echoed += [summary["outcomes"][0]["state"], summary["outcomes"][0]["reason"]]
    assert all(len(value) <= bound for value in echoed)
    if size <= ECHO_LIMIT:
        assert echoed == [huge] * 5
    text = render_summary(Summary(outcomes=[outcome], total=1, exit_code=1, elapsed=0.0))
    assert len(text) < 3 * bound + 2000
    from waiters.cli._log import bounded

    line = bounded(None, "warning", {"event": "waiters.unknown_state", "state": huge})
    assert len(line["state"]) <= bound
