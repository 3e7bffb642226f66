"""Nothing is left running after a wait through a blocking boto3 client.

A blocking client's call runs in a worker thread, which a wait can abandon
but not stop. Against an endpoint that accepted and never answered,
``wait_for_sync`` returned on time and the process then took 63 s to exit
(5 min 15 s with a default client): the abandoned threads, non-daemon, sat in
``socket.readinto`` for botocore's 60 s read timeout on each of up to five
attempts. Calls for a blocking client are now bounded at the socket by the
call timeout and make one attempt, so no thread or connection outlives its
call by more than a moment.

These tests talk to real sockets on 127.0.0.1, so they run on the real clock,
with call timeouts of a second.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from waiters import (
    Backoff,
    BudgetRegistry,
    OutcomeKind,
    Poller,
    WaitTimeout,
    execution,
    wait_for_sync,
)
from waiters._calls import client_config

CALL_TIMEOUT = 1.0
TIMEOUT = 1.5
#: How late a wait may end: the final poll's grace (at most a second), and a margin.
LATE = min(CALL_TIMEOUT, 1.0) + 1.0
#: How long after a wait ended a call it made may still be under way.
OUTLIVE = CALL_TIMEOUT + 1.0
#: An answer long after any call timeout, long before botocore's own 60 s.
LONG_DELAY = 4.0
JOB = {"jobId": "j", "thingName": "t"}


class _Server:
    """A server on 127.0.0.1 that reads each request, then by *mode* never answers
    ("silent"), answers after ``LONG_DELAY`` ("late") or answers 500 at once ("error"),
    and notes when the client closed each connection."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.requests = 0
        self.describes = 0
        self.open = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with self._lock:
                self.open += 1
                self._connections.append(connection)
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        try:
            with contextlib.suppress(OSError):
                while (request := self._request(connection)) is not None:
                    with self._lock:
                        self.requests += 1
                        # Not the poller's one identity call (STS, on the same endpoint).
                        self.describes += b"/jobs/" in request.partition(b"\r\n")[0]
                    if self.mode == "error":
                        body = b'{"__type":"InternalFailure","message":"down"}'
                        connection.sendall(
                            b"HTTP/1.1 500 Internal Server Error\r\n"
                            b"Content-Type: application/json\r\n"
                            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                        )
                    elif self.mode == "late" and not self._closed_within(connection, LONG_DELAY):
                        body = b'{"execution":{"status":"IN_PROGRESS"}}'
                        connection.sendall(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                        )
        finally:
            # recv() answered b"" or failed: the client closed its end; close ours.
            connection.close()
            with self._lock:
                self.open -= 1

    def _closed_within(self, connection: socket.socket, seconds: float) -> bool:
        """Whether the client closed *connection* (or the server stopped) within *seconds*."""
        ends = time.monotonic() + seconds
        while not self._stop.is_set():
            left = ends - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([connection], [], [], min(left, 0.05))
            if readable and not connection.recv(65536, socket.MSG_PEEK):
                return True
        return True

    @staticmethod
    def _request(connection: socket.socket) -> bytes | None:
        """Read one request (headers and body); None once the client closed."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            body += chunk
        return head

    def close(self) -> None:
        self._stop.set()
        self.socket.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.close()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    running = _Server(request.param)
    try:
        yield running
    finally:
        running.close()


def _client(url: str, config: Config | None = None) -> Any:
    """A boto3 client as a user makes one: botocore's defaults (legacy retries, 60 s reads)."""
    return boto3.client(
        "iot",
        region_name="eu-west-1",
        endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=config,
    )


def _eventually(check: Callable[[], bool], within: float) -> bool:
    ends = time.monotonic() + within
    while not check():
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)
    return True


def _call_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since *before* that a process exit waits for, or that sit in a call."""
    return [
        thread
        for thread in threading.enumerate()
        if thread not in before and (not thread.daemon or _in_a_call(thread))
    ]


def _in_a_call(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("botocore", "endpoint.py")):
            return True
        frame = frame.f_back
    return False


def _assert_nothing_left(server: _Server, before: set[threading.Thread]) -> None:
    assert server.requests > 0, "no call was made"
    assert _eventually(lambda: not _call_threads(before), OUTLIVE), _call_threads(before)
    assert _eventually(lambda: server.open == 0, OUTLIVE), f"{server.open} connections open"


_CONFIGS = {
    "default": None,
    # What a careful user might set: it must not outlast the poller's call timeout either.
    "standard-10-attempts": Config(retries={"mode": "standard", "total_max_attempts": 10}),
}


@pytest.mark.parametrize("config", list(_CONFIGS), ids=list(_CONFIGS))
@pytest.mark.parametrize("server", ["silent", "late"], indirect=True)
def test_wait_for_sync_leaves_no_thread_or_connection(server: _Server, config: str) -> None:
    """The reported case: wait_for_sync through a default boto3 client against an
    endpoint that never answers returned on time, then left non-daemon worker threads
    reading for minutes. It still ends on time, and within a call timeout no thread of
    its calls is running and every connection it opened is closed."""
    client = _client(server.url, _CONFIGS[config])
    before = set(threading.enumerate())
    started = time.monotonic()
    with pytest.raises(WaitTimeout):
        wait_for_sync(
            client,
            "describe_job_execution",
            **JOB,
            timeout=TIMEOUT,
            call_timeout=CALL_TIMEOUT,
            budgets=BudgetRegistry(),
        )
    assert time.monotonic() - started < TIMEOUT + LATE
    _assert_nothing_left(server, before)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("server", ["silent", "late"], indirect=True)
def test_poller_close_leaves_no_call_running(server: _Server, backend: str) -> None:
    """A Poller waiting through a boto3 client, closed at the deadline: on either
    event loop, the calls it abandoned end at the socket within a call timeout."""
    client = _client(server.url)
    before = set(threading.enumerate())

    async def wait() -> OutcomeKind:
        async with Poller(
            timeout=TIMEOUT, call_timeout=CALL_TIMEOUT, budgets=BudgetRegistry()
        ) as poller:
            outcome = await poller.wait(execution(client, "describe_job_execution", **JOB))
        return outcome.kind

    started = time.monotonic()
    kind = anyio.run(wait, backend=backend)
    assert kind is OutcomeKind.WAIT_TIMEOUT
    assert time.monotonic() - started < TIMEOUT + LATE
    _assert_nothing_left(server, before)


@pytest.mark.parametrize("server", ["silent"], indirect=True)
@pytest.mark.parametrize("flavour", ["boto3", "aioboto3"])
def test_clients_opened_from_a_session_leave_nothing(server: _Server, flavour: str) -> None:
    """Clients the poller opens itself, blocking or not, leave no call or connection
    behind either (an aiobotocore call is cancelled with its connection)."""
    if flavour == "aioboto3":
        import aioboto3

        session: Any = aioboto3.Session(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
        )
    else:
        session = boto3.Session(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
        )
    before = set(threading.enumerate())

    async def wait() -> OutcomeKind:
        async with Poller(
            session=session,
            region_name="eu-west-1",
            endpoint_url=server.url,
            timeout=TIMEOUT,
            call_timeout=CALL_TIMEOUT,
            budgets=BudgetRegistry(),
        ) as poller:
            outcome = await poller.wait(execution("iot-job-execution", **JOB))
        return outcome.kind

    started = time.monotonic()
    assert anyio.run(wait, backend="asyncio") is OutcomeKind.WAIT_TIMEOUT
    assert time.monotonic() - started < TIMEOUT + LATE
    _assert_nothing_left(server, before)


@pytest.mark.parametrize("server", ["error"], indirect=True)
def test_one_request_per_call(server: _Server) -> None:
    """botocore's own retries (five attempts, with sleeps, in legacy mode) are not
    made: each of the poller's calls is one request, and the poller does the retrying."""
    client = _client(server.url)

    async def wait() -> int:
        async with Poller(
            timeout=TIMEOUT, call_timeout=CALL_TIMEOUT, budgets=BudgetRegistry()
        ) as poller:
            await poller.wait(execution(client, "describe_job_execution", **JOB))
            return poller.stats.calls

    calls = anyio.run(wait, backend="asyncio")
    assert calls > 0
    assert server.describes == calls


def test_the_clients_own_hooks_see_the_calls_and_it_stays_open() -> None:
    """The calls go through the client's own event hooks (a Stubber, a user's
    handler), and closing the poller closes nothing of the client's."""
    client = _client("http://127.0.0.1:9")
    seen: list[str] = []
    client.meta.events.register(
        "before-parameter-build.iot.DescribeJobExecution", lambda **kwargs: seen.append("called")
    )
    stubber = Stubber(client)
    stubber.add_response(
        "describe_job_execution", {"execution": {"status": "IN_PROGRESS"}}, dict(JOB)
    )
    stubber.add_response(
        "describe_job_execution", {"execution": {"status": "SUCCEEDED"}}, dict(JOB)
    )
    stubber.add_response(
        "describe_job_execution", {"execution": {"status": "SUCCEEDED"}}, dict(JOB)
    )
    with stubber:
        outcome = wait_for_sync(
            client, "describe_job_execution", **JOB, timeout=30, call_timeout=CALL_TIMEOUT,
            backoff=Backoff(min_delay=0.01, max_delay=0.01), budgets=BudgetRegistry(),
        )  # fmt: skip
        assert outcome.kind is OutcomeKind.SUCCEEDED
        assert seen == ["called", "called"]
        # The user's client still works after the wait's poller closed.
        assert client.describe_job_execution(**JOB)["execution"]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("server", ["silent"], indirect=True)
def test_the_process_exits_when_the_wait_ends(server: _Server, tmp_path: Path) -> None:
    """The symptom as reported: a script whose wait_for_sync timed out against a silent
    endpoint took 63 s (or 5 min) more to exit. It exits within a call timeout."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import time, boto3
            from waiters import WaitTimeout, wait_for_sync
            client = boto3.client(
                "iot", region_name="eu-west-1", endpoint_url={server.url!r},
                aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
            )
            try:
                wait_for_sync(client, "describe_job_execution", jobId="j", thingName="t",
                              timeout={TIMEOUT}, call_timeout={CALL_TIMEOUT})
            except WaitTimeout:
                print(time.monotonic(), flush=True)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    exited = time.monotonic()
    assert result.returncode == 0, result.stderr
    ended = float(result.stdout.strip())
    assert exited - ended < OUTLIVE, f"exited {exited - ended:.1f}s after the wait ended"


def test_session_clients_are_configured_with_the_call_timeout() -> None:
    """A client the poller opens waits no longer than the call timeout to connect or
    for an answer, in one attempt; what the user's own config says wins."""
    config = client_config(call_timeout=CALL_TIMEOUT)
    assert (config.connect_timeout, config.read_timeout) == (CALL_TIMEOUT, CALL_TIMEOUT)
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    mine = client_config(Config(read_timeout=0.5), call_timeout=CALL_TIMEOUT)
    assert (mine.connect_timeout, mine.read_timeout) == (CALL_TIMEOUT, 0.5)


@pytest.mark.parametrize("how", ["client", "session", "session without credentials"])
def test_an_aioboto3_client_on_trio_is_refused_before_any_call(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp runs on asyncio only: on trio every call failed as a connection error,
    retried to the deadline (an hour by default), and a session looking for credentials
    failed with botocore's HTTPClientError. Refused at once, saying what to use; the
    same waits on asyncio are made as usual."""
    import aioboto3

    from waiters import InvalidExecution, wait_for
    from waiters.simulator import Lifecycle, Simulator

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, os.devnull)
    with Simulator(seed=1, speed=60).in_thread() as sim:
        (added,) = sim.fleet.add_iot_job(
            "j", things=1, lifecycle=Lifecycle(running=(10, 20), mix={"SUCCEEDED": 1.0})
        )
        ids: dict[str, Any] = dict(added)
        kwargs = sim.client_kwargs()

        async def main() -> Any:
            if how == "client":
                async with aioboto3.Session().client("iot", **kwargs) as iot:
                    return await wait_for(iot, "describe_job_execution", **ids, timeout=60)
            keys = (
                {}
                if how == "session without credentials"
                else {
                    "aws_access_key_id": kwargs["aws_access_key_id"],
                    "aws_secret_access_key": kwargs["aws_secret_access_key"],
                }
            )
            session = aioboto3.Session(region_name=kwargs["region_name"], **keys)
            async with Poller(session=session, endpoint_url=kwargs["endpoint_url"]) as poller:
                return await poller.wait(execution("iot-job-execution", **ids), timeout=60)

        started = time.monotonic()
        with pytest.raises(
            InvalidExecution, match=r"aioboto3, which runs on asyncio only.*on trio, use a boto3"
        ):
            anyio.run(main, backend="trio")
        assert time.monotonic() - started < 10
        if how != "session without credentials":
            assert anyio.run(main).kind is OutcomeKind.SUCCEEDED
