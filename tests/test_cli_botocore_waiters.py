"""``waiters wait SERVICE:WaiterName``: botocore's own waiters from the command line.

The simulator serves none of the operations botocore's waiters poll, so a
small HTTP server here answers two JSON-protocol operations (transfer
``DescribeServer``, ecs ``DescribeServices``) from scripts, and the real
command line (aioboto3 clients, signing, parsing) talks to it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from waiters.cli import main

SERVER_1 = "s-0123456789abcdef0"
SERVER_2 = "s-0123456789abcdef1"
QUICK = ("--min-delay", "0.01", "--max-delay", "0.01", "--timeout", "30s", "--output", "json")


class FakeAws:
    """Answers each (operation, key) from its script; the last answer repeats."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def answer(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((operation, body))
            key = body.get("ServerId") or body.get("cluster") or ""
            script = self.scripts[(operation, key)]
            return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeAws, str]]:
    """A fake AWS endpoint on 127.0.0.1, and credentials it never checks."""
    fake = FakeAws()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            operation = str(self.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1]
            status, reply = fake.answer(operation, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the requests from FakeAws."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-checked",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _server(state: str, server_id: str) -> tuple[int, dict[str, Any]]:
    return 200, {
        "Server": {
            "Arn": f"arn:aws:transfer:us-east-1:1:server/{server_id}",
            "ServerId": server_id,
            "State": state,
        }
    }


def _summary(out: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert records and records[-1]["event"] == "summary", out
    return records[-1]


def test_a_botocore_waiter_waits_on_a_batch(
    aws: tuple[FakeAws, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """transfer:ServerOffline on two servers: one goes offline, one fails to stop (exit 1)."""
    fake, url = aws
    fake.scripts[("DescribeServer", SERVER_1)] = [
        _server("STOPPING", SERVER_1),
        _server("OFFLINE", SERVER_1),
    ]
    fake.scripts[("DescribeServer", SERVER_2)] = [_server("STOP_FAILED", SERVER_2)]
    code = main(
        [
            "wait",
            "transfer:ServerOffline",
            "--endpoint-url",
            url,
            *QUICK,
            "-e",
            f"ServerId={SERVER_1}",
            "-e",
            f"ServerId={SERVER_2}",
        ]
    )
    summary = _summary(capsys.readouterr().out)
    assert code == 1
    kinds = sorted(outcome["outcome"] for outcome in summary["outcomes"])
    assert kinds == ["failed", "succeeded"], summary
    calls = [body["ServerId"] for operation, body in fake.requests]
    assert calls.count(SERVER_1) >= 2 and calls.count(SERVER_2) == 1


def test_list_parameters_are_given_as_a_b_c_or_json(
    aws: tuple[FakeAws, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """ecs:ServicesStable takes its required list ``services`` as web,api (or JSON)."""
    fake, url = aws
    stable = {"deployments": [{"status": "PRIMARY"}], "runningCount": 2, "desiredCount": 2}
    fake.scripts[("DescribeServices", "prod")] = [
        (200, {"services": [{"serviceName": "web", "status": "ACTIVE", **stable}]}),
    ]
    for services in ("web,api", '["web", "api"]'):
        code = main(
            [
                "wait",
                "ecs:ServicesStable",
                "--endpoint-url",
                url,
                *QUICK,
                "--param",
                "cluster=prod",
                "--param",
                f"services={services}",
            ]
        )
        assert code == 0, capsys.readouterr()
        assert _summary(capsys.readouterr().out)["outcomes"][0]["outcome"] == "succeeded"
        assert fake.requests[-1][1] == {"cluster": "prod", "services": ["web", "api"]}


def test_a_5xx_keeps_the_wait_going_where_botocore_would_fail(
    aws: tuple[FakeAws, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """ecs:ServicesInactive through a 500 (botocore's waiter would fail there), then done."""
    fake, url = aws
    # ServicesInactive: failures[].reason MISSING is failure; services[].status INACTIVE success.
    fake.scripts[("DescribeServices", "prod")] = [
        (500, {"__type": "ServerException", "message": "try again"}),
        (200, {"services": [{"serviceName": "web", "status": "DRAINING"}]}),
        (200, {"services": [{"serviceName": "web", "status": "INACTIVE"}]}),
    ]
    code = main(
        [
            "wait",
            "ecs:ServicesInactive",
            "--endpoint-url",
            url,
            *QUICK,
            "--param",
            "cluster=prod",
            "--param",
            "services=web",
        ]
    )
    assert code == 0, capsys.readouterr()
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["transfer:Nope", "--param", f"ServerId={SERVER_1}"],
            "no waiter named 'Nope'; it has ServerOffline, ServerOnline",
        ),
        (["iot:JobDone", "--param", "jobId=j"], "no waiter named 'JobDone'; it has no waiters"),
        (
            ["ecs:ServicesStable", "--param", "cluster=c", "--param", "services={"],
            "services: not JSON",
        ),
        (["ec2:InstanceRunning", "--param", "Filters=x"], "Filters: expected a JSON list"),
        (
            ["transfer:ServerOffline", "--param", "ServerId=nope"],
            "parameter ServerId: expected at least 19 characters",
        ),
    ],
)
def test_usage_errors_exit_2_before_any_call(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown waiters (listing the service's), bad lists and bad values exit 2, uncalled."""
    code = main(["wait", *args, "--endpoint-url", "http://127.0.0.1:9", *QUICK])
    assert code == 2
    assert message in capsys.readouterr().err


def test_machines_lists_a_services_waiters(capsys: pytest.CaptureFixture[str]) -> None:
    """``waiters machines SERVICE:`` lists its botocore waiters; one shows its acceptors."""
    assert main(["machines", "transfer:"]) == 0
    out = capsys.readouterr().out
    assert "transfer:ServerOffline" in out and "transfer:ServerOnline" in out
    assert main(["machines", "transfer:ServerOnline"]) == 0
    out = capsys.readouterr().out
    assert "path Server.State == 'ONLINE' -> success" in out
    assert main(["machines", "iot:"]) == 0
    assert "botocore has no waiters for iot" in capsys.readouterr().out
