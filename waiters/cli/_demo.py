"""``waiters demo``: the whole product on a fresh machine, no AWS account needed.

An embedded simulator serves a fleet over HTTP on 127.0.0.1: an IoT job rolled
out to ``--things`` devices, plus IoT commands, SiteWise, Snow and Transfer
Family executions, each type with a realistic share of failures. The wait
goes through real aioboto3 clients and the same poller, display and summary
as ``waiters wait``. The simulator throttles like AWS (``--rate`` calls per
second per operation) so the adaptive rate budget has something to adapt to.

Lifecycles are in simulated seconds (a few minutes, like a real rollout);
``--speed`` compresses them so the demo takes about 15-30 s of wall time.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import structlog

from waiters import (
    Backoff,
    BatchResult,
    Execution,
    Outcome,
    OutcomeKind,
    PollerOptions,
    WaitOptions,
    default_registry,
)

from ._display import Report
from ._exit import ExitCode, exit_code_for
from ._run import (
    Interrupts,
    RunOptions,
    cancelled_early,
    open_clients,
    run_interruptible,
    wait_and_report,
)

__all__ = ["run_demo"]

_log = structlog.get_logger("waiters.cli")

#: Endings the demo's fleet produces on purpose; anything else is a real problem.
_DESIGNED = frozenset(
    {OutcomeKind.SUCCEEDED, OutcomeKind.FAILED, OutcomeKind.CANCELLED, OutcomeKind.VANISHED}
)
JOB_ID = "firmware-2-4-1-rollout"
COMMAND_ID = "reboot-after-update"
SNOW_TASK_ID = "task-rotate-certificates"
TRANSFER_WORKFLOW_ID = "w-0123456789abcdefa"
SITEWISE_ASSET_ID = "5f0c3b1e-7a2d-4c9e-9b8a-1d2e3f4a5b6c"
DEMO_TYPES = (
    "iot-job-execution",
    "iot-command-execution",
    "sitewise-execution",
    "snow-execution",
    "transfer-execution",
)


def _fleet(args: argparse.Namespace) -> Any:
    from waiters.simulator import Fleet, ThrottleConfig

    return Fleet(
        seed=args.seed,
        speed=args.speed,
        throttle=ThrottleConfig(rate=args.rate, burst=max(1.0, args.rate)),
    )


def _populate(fleet: Any, things: int) -> dict[str, list[dict[str, str]]]:
    """Start the executions (their lifecycles begin now, in simulated time)."""
    from waiters.simulator import Lifecycle

    per_type = max(2, things // 50)
    return {
        # Devices pick the job up within a minute and a half and take up to two to install.
        "iot-job-execution": fleet.add_iot_job(
            JOB_ID,
            things=things,
            lifecycle=Lifecycle(
                pending=(0.0, 90.0),
                running=(20.0, 120.0),
                mix={"SUCCEEDED": 0.93, "FAILED": 0.04, "TIMED_OUT": 0.02, "REJECTED": 0.01},
            ),
        ),
        "iot-command-execution": fleet.add_command(
            COMMAND_ID,
            targets=max(3, things // 20),
            lifecycle=Lifecycle(
                pending=(0.0, 30.0),
                running=(10.0, 100.0),
                mix={"SUCCEEDED": 0.9, "FAILED": 0.06, "TIMED_OUT": 0.04},
            ),
        ),
        "sitewise-execution": fleet.add_sitewise_executions(
            SITEWISE_ASSET_ID,
            per_type,
            lifecycle=Lifecycle(
                pending=(0.0, 0.0),
                running=(30.0, 150.0),
                mix={"COMPLETED": 0.8, "FAILED": 0.2},
            ),
        ),
        "snow-execution": fleet.add_snow_task(
            SNOW_TASK_ID,
            devices=per_type,
            lifecycle=Lifecycle(
                pending=(0.0, 45.0),
                running=(20.0, 120.0),
                mix={"SUCCEEDED": 0.85, "FAILED": 0.1, "CANCELED": 0.05},
            ),
        ),
        # Transfer Family forgets finished executions: they end "vanished" by design.
        # (Long enough to be seen running at least once: one that ends unseen is "not found".)
        "transfer-execution": fleet.add_transfer_workflow(
            TRANSFER_WORKFLOW_ID,
            per_type,
            lifecycle=Lifecycle(
                pending=(0.0, 0.0),
                running=(60.0, 150.0),
                mix={"COMPLETED": 0.9, "EXCEPTION": 0.1},
            ),
        ),
    }


def _designed(outcome: Outcome) -> bool:
    if outcome.kind in _DESIGNED:
        return True
    # Transfer forgets an execution once it ends; one that ended before its first poll
    # (a slow start on a busy machine) was never seen, hence "not found".
    return outcome.kind is OutcomeKind.NOT_FOUND and outcome.execution.type == "transfer-execution"


def _code(result: BatchResult) -> int:
    """0 when the demo played out: its failures are part of the show."""
    if all(_designed(outcome) for outcome in result.outcomes):
        return ExitCode.OK
    return exit_code_for(result.outcomes)


def _note(result: BatchResult) -> tuple[str, str] | None:
    """The closing remark and the exit code's meaning, when the demo played out."""
    if not all(_designed(outcome) for outcome in result.outcomes):
        return None
    bad = sum(1 for outcome in result.outcomes if not outcome.ok)
    return (
        f"The {bad:,} executions that did not succeed failed by design: the simulated fleet "
        "has a realistic mix of failures (each with its reason). Transfer Family forgets "
        "finished executions: their workflow logs say how they ended (one that ended "
        "before its first poll is 'not found'). `waiters wait` would exit 1 here.",
        "demo complete (its failures are part of the demo)",
    )


def run_demo(args: argparse.Namespace, report: Report) -> int:
    import anyio

    fleet = _fleet(args)
    registry = default_registry()
    # Simulated minutes pass in real seconds: poll and sweep on that scale too. The
    # summary shows why each failure failed, as --failure-reasons does (the
    # simulator does not throttle, so the Describe each costs is cheap here).
    options = RunOptions(
        wait=WaitOptions(timeout=600.0, backoff=Backoff(min_delay=0.5, max_delay=4.0)),
        poller=PollerOptions(sweep_interval=1.0, failure_reasons=True),
    )

    async def body(interrupts: Interrupts) -> int:
        import aioboto3

        from waiters.simulator import Simulator

        async with Simulator(fleet) as sim:
            client_kwargs: dict[str, Any] = sim.client_kwargs()
            services = {registry.get(name).service for name in DEMO_TYPES}
            # CloudWatch Logs says how each Transfer execution ended.
            services |= {
                ending.service
                for name in DEMO_TYPES
                if (ending := registry.get(name).ending) is not None
            }
            async with open_clients(aioboto3.Session(), services, **client_kwargs) as clients:
                # Only now: the clients took a moment to open, and simulated time flies.
                added = _populate(fleet, args.things)
                executions: list[tuple[str, Mapping[str, str]]] = [
                    (name, ids) for name, many in added.items() for ids in many
                ]
                _log.info(
                    "waiters.cli.demo",
                    endpoint_url=sim.endpoint_url,
                    executions={name: len(ids) for name, ids in added.items()},
                )
                bound = [
                    Execution(registry.get(name), ids, clients[registry.get(name).service])
                    for name, ids in executions
                ]
                return await wait_and_report(
                    bound,
                    options,
                    report,
                    interrupts,
                    clients=clients,
                    code_for=_code,
                    note=_note,
                    start_extra={
                        "demo": True,
                        "endpoint_url": sim.endpoint_url,
                        "speed": args.speed,
                        "seed": args.seed,
                        "rate": args.rate,
                    },
                )

    return anyio.run(run_interruptible, body, cancelled_early(report))
