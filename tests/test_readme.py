"""The README's Python examples run as written, against the simulator over 127.0.0.1.

Each ```python block is run in turn, in one namespace, as a notebook would:
top-level ``await`` is allowed (the examples live in async functions), and
the names an example says are the reader's own (``job_id``, ``thing_name``,
``thing_names``) name executions the simulator plays out. Every AWS client
the examples open goes to the simulator through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import ast
import asyncio
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from waiters import Execution, default_registry
from waiters.simulator import EventConfig, Lifecycle, Simulator

_JOB = default_registry().get("iot-job-execution")
README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)


def _examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return [textwrap.dedent(match.group(2)) for match in _BLOCK.finditer(text)]


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Simulator]:
    """The simulator in a thread, and the environment pointing every client at it."""
    with Simulator(seed=3, speed=60.0, events=EventConfig()).in_thread() as sim:
        for name in [n for n in __import__("os").environ if n.startswith("AWS_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_ENDPOINT_URL", sim.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASIMULATOR0000000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-checked")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield sim


def _run(source: str, namespace: dict[str, Any]) -> None:
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # the README's own examples, run as written
    if asyncio.iscoroutine(result):
        asyncio.run(result)


def test_every_python_example_runs_against_the_simulator(simulator: Simulator) -> None:
    """Run every example in order; each ends without an error, as the README shows."""
    examples = _examples()
    assert len(examples) >= 5
    quick = Lifecycle(pending=(0, 5), running=(10, 60), mix={"SUCCEEDED": 1.0})
    (one,) = simulator.fleet.add_iot_job("job-42", things=1, lifecycle=quick)
    rollout = simulator.fleet.add_iot_job("rollout-7", things=30, lifecycle=quick)
    namespace: dict[str, Any] = {
        "__name__": "readme",
        "job_id": one["jobId"],
        "thing_name": one["thingName"],
        "thing_names": [ids["thingName"] for ids in rollout],
        # The events example's queue and rollout: the simulator's own queue.
        "queue_url": simulator.events_queue_url,
        "rollout_executions": [Execution(_JOB, ids) for ids in rollout],
    }
    for index, source in enumerate(examples):
        try:
            _run(source, namespace)
        except Exception as exc:
            raise AssertionError(f"README example {index} failed:\n{source}") from exc
    assert namespace["outcome"].ok
    assert namespace["result"].counts
