"""How many DescribeJobExecution calls the simulator serves per second on one core.

Starts ``python -m waiters.simulator`` in its own process (pinned to one CPU
when the machine has two or more), creates a 10,000-thing job through the
control API, then drives it from this process with raw aiohttp requests that
carry a SigV4-shaped ``Authorization`` header (the simulator routes on the
credential scope and never checks signatures).  Also times a full,
status-filtered ListJobExecutionsForJob walk of the job, the call a waiter
makes about ten times a second.

Usage::

    python benchmarks/bench_simulator.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

THINGS = 10_000
JOB_ID = "bench-job"
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIASIMULATOR0000000/20250101/us-east-1/iot/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
HEADERS = {"Authorization": AUTHORIZATION, "X-Amz-Date": "20250101T000000Z"}


@contextlib.contextmanager
def simulator_process(cpu: int | None) -> Iterator[tuple[str, int]]:
    """Run the standalone simulator; yield its endpoint URL and pid; always stop it."""
    command = [sys.executable, "-m", "waiters.simulator", "--port", "0", "--seed", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the simulator did not print its URL (got {url!r})")
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of *pid* so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _aiohttp_worker(
    session: aiohttp.ClientSession, url: str, deadline: float, worker: int, counts: list[int]
) -> None:
    thing = worker
    while time.perf_counter() < deadline:
        thing = thing % THINGS + 1
        async with session.get(
            f"{url}/things/thing-{thing:05d}/jobs/{JOB_ID}", headers=HEADERS
        ) as response:
            await response.read()
            counts[response.status == 200] += 1


async def _raw_worker(url: str, deadline: float, worker: int, counts: list[int]) -> None:
    # A hand-rolled HTTP/1.1 keep-alive client: aiohttp's client spends more
    # CPU per request than the simulator does, so with it the benchmark would
    # mostly measure itself.
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    header_lines = "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
    thing = worker
    try:
        while time.perf_counter() < deadline:
            thing = thing % THINGS + 1
            request_line = f"GET /things/thing-{thing:05d}/jobs/{JOB_ID} HTTP/1.1\r\n"
            writer.write(f"{request_line}Host: {host}\r\n{header_lines}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            counts[head.startswith(b"HTTP/1.1 200")] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def measure_describe(
    url: str, seconds: float, concurrency: int, server_pid: int, client: str
) -> dict[str, float]:
    """Describe calls per second with *concurrency* requests in flight."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm-up through a real HTTP client, which also checks the answers are 200s.
        warm = [0, 0]
        await asyncio.gather(
            *(
                _aiohttp_worker(session, url, time.perf_counter() + 0.5, w, warm)
                for w in range(concurrency)
            )
        )
        if warm[0] or not warm[1]:
            raise RuntimeError(f"warm-up: {warm[0]} of {sum(warm)} describe calls failed")
        counts = [0, 0]  # [failed, ok]
        cpu_before = _cpu_seconds(server_pid)
        started = time.perf_counter()
        deadline = started + seconds
        if client == "aiohttp":
            await asyncio.gather(
                *(_aiohttp_worker(session, url, deadline, w, counts) for w in range(concurrency))
            )
        else:
            await asyncio.gather(
                *(_raw_worker(url, deadline, w, counts) for w in range(concurrency))
            )
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(server_pid) - cpu_before
    if counts[0]:
        raise RuntimeError(f"{counts[0]} describe calls failed")
    return {
        "describe_calls": counts[1],
        "describe_seconds": elapsed,
        "describe_calls_per_second": counts[1] / elapsed,
        "server_cpu_seconds": cpu,
        "describe_calls_per_server_cpu_second": counts[1] / cpu if cpu else 0.0,
    }


async def measure_list(url: str, walks: int) -> dict[str, float]:
    """Seconds per status-filtered ListJobExecutionsForJob walk of the whole job."""
    pages = 0
    listed = 0
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for _ in range(walks):
            token: str | None = None
            while True:
                params = {"maxResults": "250", "status": "QUEUED"}
                if token:
                    params["nextToken"] = token
                async with session.get(
                    f"{url}/jobs/{JOB_ID}/things", params=params, headers=HEADERS
                ) as response:
                    body = await response.json(content_type=None)
                    if response.status != 200:
                        raise RuntimeError(f"list failed: {response.status} {body}")
                pages += 1
                listed += len(body["executionSummaries"])
                token = body.get("nextToken")
                if not token:
                    break
        elapsed = time.perf_counter() - started
    return {
        "list_pages": pages,
        "list_walk_seconds": elapsed / walks,
        "list_pages_per_second": pages / elapsed,
    }


async def run(quick: bool, client: str) -> dict[str, Any]:
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0] if len(cpus) >= 2 else None
    if server_cpu is not None:
        os.sched_setaffinity(0, set(cpus[1:]))  # the load generator keeps off the server's core
    with simulator_process(server_cpu) as (url, pid):
        async with aiohttp.ClientSession() as session:
            # Slow lifecycles so the status filter matches for the whole run.
            lifecycle = {"pending": [3600, 7200], "running": [60, 120]}
            body = {
                "type": "iot-job-execution",
                "count": THINGS,
                "parent": JOB_ID,
                "lifecycle": lifecycle,
            }
            async with session.post(f"{url}/_simulator/executions", json=body) as response:
                created = await response.json()
                if response.status != 200 or len(created["executions"]) != THINGS:
                    raise RuntimeError(f"could not create the job: {created}")
        result: dict[str, Any] = {
            "things": THINGS,
            "server_pinned_to_cpu": server_cpu,
            "concurrency": 64,
            "client": client,
        }
        result.update(await measure_describe(url, 2.0 if quick else 6.0, 64, pid, client))
        result.update(await measure_list(url, 1 if quick else 3))
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/_simulator/stats") as response,
        ):
            result["server_stats"] = await response.json()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (for CI)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--client",
        choices=("raw", "aiohttp"),
        default="raw",
        help="load generator (default: raw HTTP/1.1)",
    )
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.quick, args.client))
    per_cpu = result["describe_calls_per_server_cpu_second"]
    print(
        f"DescribeJobExecution: {result['describe_calls_per_second']:.0f} calls/s "
        f"({per_cpu:.0f} per server CPU second; target >= 2000)"
    )
    walk_ms = result["list_walk_seconds"] * 1000
    print(
        f"ListJobExecutionsForJob status=QUEUED over {THINGS} things: "
        f"{walk_ms:.0f} ms per full walk ({result['list_pages_per_second']:.0f} pages/s)"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
