"""Logging: silent until the application configures it, in structlog or the standard library."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BATCH = textwrap.dedent(
    """
    import sys
    import anyio
    from waiters import BudgetConfig, BudgetRegistry, Execution, default_registry, wait_all
    from waiters.simulator import Fleet, Lifecycle
    from waiters.testing import MockClock

    if sys.argv[1] == "logging":
        import logging
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    elif sys.argv[1] == "structlog":
        import structlog
        structlog.configure()

    async def main():
        fleet = Fleet(seed=1, clock=anyio.current_time)
        ids = fleet.add_iot_job("job-1", things=40, lifecycle=Lifecycle(running=(5, 30)))
        machine = default_registry().get("iot-job-execution")
        async with fleet.async_client("iot") as iot:
            executions = [Execution(machine, i, iot) for i in ids]
            budgets = BudgetRegistry(BudgetConfig.unlimited())
            return await wait_all(executions, budgets=budgets, batch_min=10)

    result = MockClock().run(main)
    assert len(result.outcomes) == 40
    """
)


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BATCH, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_a_batch_says_nothing_when_logging_is_not_configured() -> None:
    """structlog and logging both left alone: a 40-execution batch writes nothing."""
    done = _run("nothing")
    assert done.stdout == "" and done.stderr == ""


def test_the_standard_librarys_logging_turns_it_on() -> None:
    """logging.basicConfig(level=INFO): each outcome is a record of the 'waiters' logger."""
    done = _run("logging")
    lines = done.stderr.splitlines()
    assert sum(line == "INFO:waiters:waiters.finished" for line in lines) == 40
    assert done.stdout == ""


def test_configured_structlog_gets_the_events() -> None:
    """An application that configured structlog gets the events through it."""
    done = _run("structlog")
    assert "waiters.finished" in done.stdout
