"""The service under test: ``python -m waiters.simulator`` in its own process.

The orchestrator talks to it only through its JSON control API (create
executions, read ground truth and counters), exactly as it would talk to a
simulator on another machine.  Ground truth comes back in the simulator's
clock base, which is ``time.time()`` at speed 1, the clock the client
processes stamp their detections with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from types import TracebackType
from typing import Any, Self

__all__ = ["SimulatorProcess"]

# Loopback only, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SimulatorProcess:
    """Start the standalone simulator; always stop it.

    Args:
        seed: the fleet's seed, so every system of a scenario meets the same rollout.
        rate: per-operation throttle (calls/s per region and operation); None for none.
        error_5xx: probability of an injected 5xx answer.
        counts_lag: seconds IoT DescribeJob counts lag behind the executions.
        cpu: pin the process to this CPU, so it never competes with the client.
        speed: service time runs this much faster than real time (default 1).
        record_requests: keep a record of every request, for :meth:`requests`.
        extra: more command-line options of the simulator (``--events ...``).
    """

    def __init__(
        self,
        *,
        seed: int,
        rate: float | None = None,
        error_5xx: float = 0.0,
        counts_lag: float = 0.0,
        cpu: int | None = None,
        speed: float = 1.0,
        record_requests: bool = False,
        extra: tuple[str, ...] = (),
    ) -> None:
        command = [sys.executable, "-m", "waiters.simulator", "--port", "0", "--seed", str(seed)]
        if speed != 1.0:
            command += ["--speed", repr(speed)]
        if record_requests:
            command.append("--record-requests")
        if rate is not None:
            # Burst = rate: a token bucket as AWS documents its per-API limits.
            command += ["--rate", repr(rate), "--burst", repr(rate)]
        if error_5xx:
            command += ["--error-5xx", repr(error_5xx), "--fault-seed", str(seed)]
        if counts_lag:
            command += ["--counts-lag", repr(counts_lag)]
        self.command = [*command, *extra]
        self.cpu = cpu
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        if self.cpu is not None:
            os.sched_setaffinity(self.process.pid, {self.cpu})

    def wait_ready(self) -> str:
        """Block until the simulator printed its URL (it starts in about a second)."""
        assert self.process is not None
        assert self.process.stdout is not None
        url = self.process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the simulator did not print its URL (got {url!r})")
        self.url = url
        return url

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the control API -----------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with _OPENER.open(request, timeout=120) as response:
            return json.loads(response.read())

    def create(
        self, kind: str, count: int, *, parent: str, lifecycle: dict[str, Any]
    ) -> list[dict[str, str]]:
        """Create *count* executions now: their rollout starts with this call."""
        answer = self._call(
            "POST",
            "/_simulator/executions",
            {"type": kind, "count": count, "parent": parent, "lifecycle": lifecycle},
        )
        executions: list[dict[str, str]] = answer["executions"]
        if len(executions) != count:
            raise RuntimeError(
                f"asked for {count} executions, the simulator made {len(executions)}"
            )
        return executions

    def truth(self, kind: str) -> list[dict[str, Any]]:
        """``[{"type", "ids", "truth": [[state, clock_time], ...]}, ...]`` for every execution."""
        answer = self._call("GET", f"/_simulator/truth?type={kind}")
        executions: list[dict[str, Any]] = answer["executions"]
        return executions

    def requests(self) -> list[list[Any]]:
        """Every request so far (``record_requests``): ``[clock_time, region, operation,
        result, access_key]`` each, in real time (``time.time()``)."""
        answer = self._call("GET", "/_simulator/requests")
        records: list[list[Any]] = answer["requests"]
        return records

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per ``service:Operation``: served, throttled, faulted, errors."""
        stats: dict[str, dict[str, Any]] = self._call("GET", "/_simulator/stats")
        return stats
