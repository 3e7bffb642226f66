"""Real boto3 and aioboto3 clients against the embedded simulator over 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aioboto3
import anyio
import pytest

from tests.clients import async_client, sync_client
from tests.served import served, until_served
from tests.test_poller import _check_against_truth, _max_in_any_second
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    OutcomeKind,
    Poller,
    default_registry,
    execution,
    wait_for,
    wait_for_sync,
)
from waiters.simulator import Fleet, Lifecycle, Simulator, ThrottleConfig

TYPES = (
    "iot-job-execution",
    "iot-command-execution",
    "sitewise-execution",
    "snow-execution",
    "transfer-execution",
)
# Service time runs 20x faster: lifecycles of tens of seconds end in about a second.
SPEED = 20.0
QUICK = Backoff(min_delay=0.05, max_delay=0.4)
SHORT = Lifecycle(pending=(0.0, 4.0), running=(2.0, 20.0))


@pytest.mark.parametrize("type_name", TYPES)
def test_aioboto3_wait_for_every_type(type_name: str) -> None:
    """An aioboto3 client waits on each type over HTTP until its true final state."""

    async def main() -> tuple[Any, Fleet]:
        async with Simulator(seed=11, speed=SPEED) as sim:
            (ids,) = sim.fleet.add(type_name, 1, lifecycle=SHORT)
            machine = default_registry().get(type_name)
            session = aioboto3.Session()
            async with async_client(session, machine.service, **sim.client_kwargs()) as client:
                outcome = await wait_for(
                    execution(client, machine.method, **ids),
                    backoff=QUICK,
                    timeout=60,
                    raise_on_failure=False,
                    budgets=BudgetRegistry(),
                )
            return outcome, sim.fleet

    outcome, fleet = anyio.run(main)
    _check_against_truth(fleet, [outcome])
    assert outcome.attempts >= 1


@pytest.mark.parametrize("type_name", TYPES)
def test_boto3_blocking_wait_for_every_type(type_name: str) -> None:
    """A plain boto3 client and wait_for_sync, against the simulator in a thread."""
    with Simulator(seed=12, speed=SPEED).in_thread() as sim:
        (ids,) = sim.fleet.add(type_name, 1, lifecycle=SHORT)
        machine = default_registry().get(type_name)
        client = sync_client(machine.service, **sim.client_kwargs())
        try:
            outcome = wait_for_sync(
                client,
                machine.method,
                **ids,
                backoff=QUICK,
                timeout=60,
                raise_on_failure=False,
                budgets=BudgetRegistry(),
            )
        finally:
            client.close()
        _check_against_truth(sim.fleet, [outcome])


def test_rollout_of_2000_under_a_50_per_second_budget() -> None:
    """2,000 job executions through aioboto3 under 50 calls/s: every outcome correct."""

    async def main() -> tuple[Any, Fleet, Counter[str]]:
        fleet = Fleet(
            seed=13, speed=SPEED, record_requests=True, throttle=ThrottleConfig(rate=50, burst=50)
        )
        async with Simulator(fleet) as sim:
            ids = fleet.add_iot_job(
                "rollout-2000",
                things=2000,
                lifecycle=Lifecycle(
                    pending=(0, 40),
                    running=(20, 120),
                    mix={"SUCCEEDED": 0.9, "FAILED": 0.05, "REJECTED": 0.05},
                ),
            )
            session = aioboto3.Session()
            budgets = BudgetRegistry(BudgetConfig(initial_rate=20, max_rate=50))
            async with session.client("iot", **sim.client_kwargs()) as iot:
                jobs = [execution(iot, "describe_job_execution", **p) for p in ids]
                async with Poller(
                    budgets=budgets, backoff=QUICK, timeout=120, sweep_interval=0.5
                ) as poller:
                    result = await poller.wait_all(jobs)
            operations = Counter(r.operation for r in fleet.requests)
            return result, fleet, operations

    result, fleet, operations = anyio.run(main)
    assert len(result.outcomes) == 2000
    _check_against_truth(fleet, result.outcomes)
    for operation in operations:
        times = [r.clock_time for r in fleet.requests if r.operation == operation]
        assert _max_in_any_second(times) <= 50, operation
    assert operations["iot:ListJobExecutionsForJob"] > 0


def test_describe_mode_over_http_for_mixed_types() -> None:
    """Per-execution Describe of 150 mixed executions through one poller over HTTP."""

    async def main() -> tuple[Any, Fleet]:
        fleet = Fleet(seed=14, speed=SPEED, throttle=ThrottleConfig(rate=50, burst=50))
        async with Simulator(fleet) as sim:
            session = aioboto3.Session()
            executions = []
            clients = {}
            for type_name in TYPES:
                machine = default_registry().get(type_name)
                if machine.service not in clients:
                    clients[machine.service] = await async_client(
                        session, machine.service, **sim.client_kwargs()
                    ).__aenter__()
                client = clients[machine.service]
                for ids in fleet.add(type_name, 30, lifecycle=SHORT):
                    executions.append(execution(client, machine.method, **ids))
            try:
                async with Poller(
                    batch=False,
                    backoff=QUICK,
                    timeout=120,
                    budgets=BudgetRegistry(BudgetConfig(20, 50)),
                ) as poller:
                    result = await poller.wait_all(executions)
            finally:
                for client in clients.values():
                    await client.__aexit__(None, None, None)
            return result, fleet

    result, fleet = anyio.run(main)
    assert len(result.outcomes) == 150
    _check_against_truth(fleet, result.outcomes)
    assert Counter(o.kind for o in result.outcomes)[OutcomeKind.SUCCEEDED] > 0


def test_unbound_executions_through_an_aioboto3_session() -> None:
    """execution(type, ...) with Poller(session=...) opens, uses and closes its own clients."""

    async def main() -> tuple[Any, Fleet, int]:
        before = len(asyncio.all_tasks())
        async with Simulator(seed=15, speed=SPEED) as sim:
            ids = sim.fleet.add("snow-execution", 5, lifecycle=SHORT)
            kwargs = sim.client_kwargs()
            session = aioboto3.Session(
                aws_access_key_id=kwargs["aws_access_key_id"],
                aws_secret_access_key=kwargs["aws_secret_access_key"],
            )
            jobs = [execution("snow-execution", **p) for p in ids]
            async with Poller(
                session=session,
                region_name="us-east-1",
                endpoint_url=sim.endpoint_url,
                backoff=QUICK,
                budgets=BudgetRegistry(),
            ) as poller:
                result = await poller.wait_all(jobs)
        # Counted once the server has closed its side of the connections too.
        return result, sim.fleet, len(asyncio.all_tasks()) - before

    result, fleet, leaked = anyio.run(main)
    _check_against_truth(fleet, result.outcomes)
    assert leaked == 0


def test_a_batch_of_every_type_on_uvloop() -> None:
    """The poller on uvloop: aioboto3 over HTTP, list sweeps included, every outcome true."""
    pytest.importorskip("uvloop")

    async def main() -> tuple[Any, Fleet, str]:
        async with Simulator(seed=17, speed=SPEED) as sim:
            session = aioboto3.Session()
            executions = []
            async with session.client("iot", **sim.client_kwargs()) as iot:
                clients = {"iot": iot}
                for type_name in TYPES:
                    machine = default_registry().get(type_name)
                    if machine.service not in clients:
                        clients[machine.service] = await _enter(
                            async_client(session, machine.service, **sim.client_kwargs())
                        )
                    for ids in sim.fleet.add(type_name, 25, lifecycle=SHORT):
                        executions.append(
                            execution(clients[machine.service], machine.method, **ids)
                        )
                try:
                    async with Poller(
                        backoff=QUICK, timeout=120, budgets=BudgetRegistry(), batch_min=10
                    ) as poller:
                        result = await poller.wait_all(executions)
                finally:
                    for service, client in clients.items():
                        if service != "iot":
                            await client.__aexit__(None, None, None)
            loop = type(asyncio.get_running_loop()).__module__
            return result, sim.fleet, loop

    result, fleet, loop = anyio.run(main, backend_options={"use_uvloop": True})
    assert loop.startswith("uvloop")
    assert len(result.outcomes) == 25 * len(TYPES)
    _check_against_truth(fleet, result.outcomes)


async def _enter(client: Any) -> Any:
    return await client.__aenter__()


async def _fresh_client_arrivals(kind: str, rate: float) -> list[float]:
    """300 waits through a client opened just now, at *rate* calls/s, until the service
    has served 4 s of calls: when it logged each Describe call (over HTTP, its first call
    opening the client's HTTP session and connection)."""
    lifecycle = Lifecycle(running=(3000, 3500), mix={"SUCCEEDED": 1.0})
    # The service on a loop of its own, as a real one is: on the poller's loop, its log
    # would also time how long that loop took to read each request.
    with Simulator(seed=1, speed=1, record_requests=True).in_thread() as sim:
        ids = sim.fleet.add_iot_job("job-1", things=300, lifecycle=lifecycle)
        budgets = BudgetRegistry(BudgetConfig(initial_rate=rate, max_rate=rate))
        backoff = Backoff(min_delay=0.05, max_delay=0.1)
        options: dict[str, Any] = {
            "budgets": budgets,
            "batch": False,
            "backoff": backoff,
            "timeout": None,
            "concurrency": 50,
        }

        async def wait() -> None:
            if kind == "boto3":
                client = sync_client("iot", **sim.client_kwargs())
                try:
                    async with Poller(**options) as poller:
                        batch = await poller.submit(
                            [execution(client, "describe_job_execution", **i) for i in ids],
                            immediate=True,
                        )
                        await batch.wait()
                finally:
                    client.close()
            else:
                async with (
                    async_client(aioboto3.Session(), "iot", **sim.client_kwargs()) as client,
                    Poller(**options) as poller,
                ):
                    batch = await poller.submit(
                        [execution(client, "describe_job_execution", **i) for i in ids],
                        immediate=True,
                    )
                    await batch.wait()

        await until_served(sim.fleet, "iot:DescribeJobExecution", round(4 * rate), wait)
        return served(sim.fleet, "iot:DescribeJobExecution")


@pytest.mark.parametrize("kind", ["aioboto3", "boto3"])
@pytest.mark.parametrize("rate", [1.0, 5.0])
def test_a_fresh_clients_first_call_keeps_every_second_within_the_rate(
    kind: str, rate: float
) -> None:
    """Reported: a client opened just now sends its first call a tenth of a second after
    its slot (aiobotocore makes its HTTP session then), and at 5 calls/s the service
    logged 6 in one second (2 at 1 call/s). Slots count from when their call leaves,
    and a client's first calls until they are answered."""
    arrived = anyio.run(_fresh_client_arrivals, kind, rate)
    assert _max_in_any_second(arrived) <= rate
