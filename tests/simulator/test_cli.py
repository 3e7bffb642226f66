"""The standalone form: python -m waiters.simulator, and its argument handling."""

from __future__ import annotations

import argparse
import json
import select
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from waiters.simulator import Simulator, add_arguments, main
from waiters.simulator._cli import build_fleet


def test_subprocess_prints_url_and_exits_zero_on_sigterm() -> None:
    """The module prints its endpoint URL first, serves, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waiters.simulator",
            "--port",
            "0",
            "--seed",
            "3",
            "--add",
            "iot-job-execution=4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20.0)
        assert ready, "no URL within 20 s"
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/_simulator/truth", timeout=5) as response:
            truth = json.load(response)["executions"]
        assert len(truth) == 4
        assert {item["type"] for item in truth} == {"iot-job-execution"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_arguments_build_the_fleet() -> None:
    """add_arguments/build_fleet turn options into throttles, faults and executions."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--rate",
            "10",
            "--burst",
            "20",
            "--seed",
            "5",
            "--speed",
            "3",
            "--add",
            "snow-execution=2",
            "--reset",
            "0.1",
        ]
    )
    fleet = build_fleet(args)
    assert fleet.throttle is not None and (fleet.throttle.rate, fleet.throttle.burst) == (
        10.0,
        20.0,
    )
    assert fleet.faults is not None and fleet.faults.reset == 0.1
    assert (fleet.seed, fleet.speed, len(fleet)) == (5, 3.0, 2)


def test_bad_arguments_fail_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown execution types and invalid settings are reported, not served."""
    with pytest.raises(SystemExit) as exited:
        main(["--add", "iot-thing=3"])
    assert exited.value.code == 2
    assert "unknown execution type 'iot-thing'" in capsys.readouterr().err
    assert main(["--rate", "-1"]) == 2
    assert "ThrottleConfig.rate must be a finite number >= 0, got -1.0" in capsys.readouterr().err


def test_thread_start_failure_is_reported() -> None:
    """A port already in use fails in_thread() with the cause attached, and leaves no thread."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = Simulator(port=port).in_thread()
        with pytest.raises(RuntimeError, match="failed to start") as caught, runner:
            pass
        assert isinstance(caught.value.__cause__, OSError)
        assert runner.thread is None
