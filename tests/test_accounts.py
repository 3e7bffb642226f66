"""Budgets are per AWS account, learned once per credentials; clients the poller opens take options.

Real aioboto3 and boto3 clients against the simulator over loopback, which
answers STS ``GetCallerIdentity`` with the account configured per access key.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import aioboto3
import anyio
import anyio.abc
import boto3
import pytest
import structlog
from botocore.config import Config

from tests.served import served, until_served
from tests.test_budget import _most_in_any_window
from waiters import Backoff, BudgetConfig, BudgetRegistry, Poller, execution, wait_all, wait_for
from waiters._accounts import PENDING_ACCOUNT
from waiters.simulator import Lifecycle, Simulator
from waiters.testing import client_error

OTHER_KEY = "AKIASIMULATOROTHER00"
THIRD_KEY = "AKIASIMULATORTHIRD00"


def _accounts(budgets: BudgetRegistry, operation: str) -> list[str]:
    """The accounts *operation*'s budgets are keyed by, leaving out the one every client
    shares while its account is being learned (it stays in the registry for others)."""
    return sorted(
        stats.key[0]
        for stats in budgets.stats()
        if stats.key[3] == operation and stats.key[0] != PENDING_ACCOUNT
    )


async def _until_learned(budgets: BudgetRegistry, access_key: str) -> None:
    """Wait until the account of *access_key* is known (or its fallback chosen).

    The poller learns it in the background and gives up on it when closed: a
    wait that ends first leaves the budget keyed by the access key. Tests that
    check the learned account wait for it, so a slow machine cannot race them.
    """
    with anyio.fail_after(30):
        # The registry has no event to await for an account it learns.
        while not any(key == access_key for key, _ in budgets.known_accounts):  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def _wait_through(
    sim: Simulator, keys: list[str], budgets: BudgetRegistry, *, logger: Any = None
) -> list[str]:
    """One execution per access key, each through its own aioboto3 client, on one poller.

    Each runs for a second or two: the account is learned in the background
    while the wait goes on (its first calls draw on the credentials' budget).
    """
    session = aioboto3.Session()
    kinds = []
    lifecycle = Lifecycle(pending=(0, 0), running=(1.5, 2.0))
    async with Poller(budgets=budgets, timeout=60, logger=logger) as poller:
        for key in keys:
            kwargs = {**sim.client_kwargs(), "aws_access_key_id": key}
            async with session.client("iot", **kwargs) as iot:
                (ids,) = sim.fleet.add("iot-job-execution", 1, lifecycle=lifecycle)
                outcome = await poller.wait(execution(iot, "describe_job_execution", **ids))
                kinds.append(outcome.kind.value)
                await _until_learned(budgets, key)
    return kinds


def test_two_credentials_of_one_account_share_one_budget() -> None:
    """Two roles of one account: one budget, and one identity call per credentials."""

    async def main() -> tuple[list[str], list[str], int]:
        async with Simulator(seed=3) as sim:
            sim.fleet.accounts = {OTHER_KEY: sim.fleet.account}
            budgets = BudgetRegistry()
            keys = [sim.client_kwargs()["aws_access_key_id"], OTHER_KEY]
            kinds = await _wait_through(sim, keys, budgets)
            # Asked again on the same budgets: the accounts are remembered.
            kinds += await _wait_through(sim, keys, budgets)
            return kinds, _accounts(budgets, "DescribeJobExecution"), sim.fleet.identity_calls

    kinds, accounts, identity_calls = anyio.run(main)
    assert set(kinds) <= {"succeeded", "failed", "cancelled", "timed_out", "rejected", "removed"}
    assert accounts == ["123456789012"]
    assert identity_calls == 2


def test_credentials_of_different_accounts_get_a_budget_each() -> None:
    async def main() -> list[str]:
        async with Simulator(seed=4) as sim:
            sim.fleet.accounts = {OTHER_KEY: "222222222222", THIRD_KEY: "333333333333"}
            budgets = BudgetRegistry()
            keys = [sim.client_kwargs()["aws_access_key_id"], OTHER_KEY, THIRD_KEY]
            await _wait_through(sim, keys, budgets)
            return _accounts(budgets, "DescribeJobExecution")

    assert anyio.run(main) == ["123456789012", "222222222222", "333333333333"]


def test_an_identity_the_service_refuses_falls_back_to_the_key_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """STS refuses GetCallerIdentity: the budget stays keyed by a digest of the access
    key, and that is logged once, however many waits use the credentials."""
    from waiters import _accounts as lookup

    async def refuse(*args: Any, **kwargs: Any) -> str:
        raise client_error("AccessDenied", 403, "GetCallerIdentity")

    monkeypatch.setattr(lookup.Accounts, "_caller_identity", refuse)

    async def main() -> tuple[list[str], list[MutableMapping[str, Any]]]:
        async with Simulator(seed=5) as sim:
            budgets = BudgetRegistry()
            with structlog.testing.capture_logs() as events:
                kinds = await _wait_through(
                    sim, [OTHER_KEY, OTHER_KEY], budgets, logger=structlog.get_logger()
                )
            assert set(kinds) <= {"succeeded", "failed", "cancelled"}
            return _accounts(budgets, "DescribeJobExecution"), events

    accounts, events = anyio.run(main)
    assert len(accounts) == 1
    assert accounts[0].startswith("key-")
    assert OTHER_KEY not in accounts[0]
    unknown = [e for e in events if e["event"] == "waiters.account_unknown"]
    assert len(unknown) == 1
    assert "AccessDenied" in unknown[0]["error"]


def test_an_account_the_credentials_carry_needs_no_call() -> None:
    async def main() -> tuple[list[str], int]:
        async with Simulator(seed=6, speed=50) as sim:
            budgets = BudgetRegistry()
            session = aioboto3.Session()
            kwargs = {**sim.client_kwargs(), "aws_account_id": "444444444444"}
            async with (
                session.client("iot", **kwargs) as iot,
                Poller(budgets=budgets, timeout=60) as poller,
            ):
                (ids,) = sim.fleet.add("iot-job-execution", 1)
                await poller.wait(execution(iot, "describe_job_execution", **ids))
            return _accounts(budgets, "DescribeJobExecution"), sim.fleet.identity_calls

    accounts, identity_calls = anyio.run(main)
    assert accounts == ["444444444444"]
    assert identity_calls == 0


def test_a_blocking_boto3_client_learns_its_account_too() -> None:
    async def main() -> tuple[list[str], int]:
        async with Simulator(seed=7, speed=50) as sim:
            sim.fleet.accounts = {OTHER_KEY: "555555555555"}
            budgets = BudgetRegistry()
            iot = boto3.client("iot", **{**sim.client_kwargs(), "aws_access_key_id": OTHER_KEY})
            (ids,) = sim.fleet.add("iot-job-execution", 1)
            async with Poller(budgets=budgets, timeout=60) as poller:
                await poller.wait(execution(iot, "describe_job_execution", **ids))
                await _until_learned(budgets, OTHER_KEY)
            iot.close()
            return _accounts(budgets, "DescribeJobExecution"), sim.fleet.identity_calls

    accounts, identity_calls = anyio.run(main)
    assert accounts == ["555555555555"]
    assert identity_calls == 1


def test_clients_the_poller_opens_take_its_endpoint_and_config() -> None:
    """endpoint_url and client_config reach the clients opened from the session."""

    async def main() -> tuple[str, Any, str]:
        async with Simulator(seed=8, speed=50) as sim:
            kwargs = sim.client_kwargs()
            session = aioboto3.Session(
                aws_access_key_id=kwargs["aws_access_key_id"],
                aws_secret_access_key=kwargs["aws_secret_access_key"],
            )
            (ids,) = sim.fleet.add("sitewise-execution", 1)
            async with Poller(
                session=session,
                region_name="us-east-1",
                endpoint_url=sim.endpoint_url,
                client_config=Config(read_timeout=7, user_agent_extra="probe"),
                budgets=BudgetRegistry(),
                timeout=60,
            ) as poller:
                outcome = await poller.wait(execution("sitewise-execution", **ids))
                client = await poller._client_for_service("iotsitewise")
                config = client.meta.config
                return outcome.kind.value, config, client.meta.endpoint_url

    kind, config, endpoint = anyio.run(main)
    # iotsitewise's "api." host prefix was not injected: the call reached 127.0.0.1.
    assert kind != "error"
    assert endpoint.startswith("http://127.0.0.1:")
    assert config.read_timeout == 7
    assert "probe" in config.user_agent_extra
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"endpoint_url": 4566}, TypeError, "endpoint_url must be a string, got 4566"),
        ({"endpoint_url": "127.0.0.1:4566"}, ValueError, "endpoint_url must be an http(s) URL"),
        ({"endpoint_url": "ftp://host"}, ValueError, "got 'ftp://host'"),
        ({"client_config": {"read_timeout": 7}}, TypeError, "client_config must be a botocore"),
    ],
)
def test_client_options_are_checked_when_given(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        Poller(session=boto3.Session(), **options)


def test_learning_the_account_never_holds_up_a_deadline() -> None:
    """An endpoint that accepts and never answers (STS included): a 1 s wait ends at 1 s,
    not after the identity call's own timeout."""

    async def main() -> tuple[str, float]:
        async def silent(stream: Any) -> None:
            async with stream:
                await anyio.sleep_forever()

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as server:
            server.start_soon(listener.serve, silent)
            session = aioboto3.Session()
            kwargs: dict[str, Any] = {
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-east-1",
                "aws_access_key_id": "AKIASILENT0000000000",
                "aws_secret_access_key": "secret",
            }
            async with session.client("iot", **kwargs) as iot:
                started = anyio.current_time()
                async with Poller(budgets=BudgetRegistry()) as poller:
                    outcome = await poller.wait(
                        execution(iot, "describe_job_execution", jobId="j", thingName="t"),
                        timeout=1.0,
                    )
                took = anyio.current_time() - started
            server.cancel_scope.cancel()
        return outcome.kind.value, took

    kind, took = anyio.run(main)
    assert kind == "wait_timeout"
    assert took < 3.0


def test_a_hanging_identity_call_delays_no_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """STS never answers, the service does: the wait polls at once (on the budget every
    client whose account is being learned shares) and ends succeeded well before its 2 s
    timeout."""
    from waiters import _accounts as lookup

    async def hang(*args: Any, **kwargs: Any) -> str:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    monkeypatch.setattr(lookup.Accounts, "_caller_identity", hang)

    async def main() -> tuple[str, int, float, list[str]]:
        async with Simulator(seed=9, speed=50) as sim:
            (ids,) = sim.fleet.add(
                "iot-job-execution", 1, lifecycle=Lifecycle(pending=(0, 0), running=(0, 0))
            )
            one: dict[str, Any] = ids
            await anyio.sleep(0.1)  # it has ended by now
            budgets = BudgetRegistry()
            async with aioboto3.Session().client("iot", **sim.client_kwargs()) as iot:
                started = anyio.current_time()
                outcome = await wait_for(
                    iot,
                    "describe_job_execution",
                    **one,
                    timeout=2,
                    budgets=budgets,
                    raise_on_failure=False,
                )
                took = anyio.current_time() - started
            return outcome.kind.value, outcome.attempts, took, _accounts_of(budgets)

    kind, attempts, took, accounts = anyio.run(main)
    assert kind in {"succeeded", "failed"} and attempts >= 1
    assert took < 1.5
    assert accounts == [PENDING_ACCOUNT]


def test_many_waits_on_one_client_ask_for_its_account_once() -> None:
    """50 concurrent wait_for on one client and one registry: one GetCallerIdentity."""

    async def main() -> tuple[int, list[str]]:
        async with Simulator(seed=10) as sim:
            ids: list[dict[str, Any]] = sim.fleet.add(
                "iot-job-execution", 50, lifecycle=Lifecycle(pending=(0, 0), running=(1.5, 2.0))
            )
            budgets = BudgetRegistry()
            async with (
                aioboto3.Session().client("iot", **sim.client_kwargs()) as iot,
                anyio.create_task_group() as tasks,
            ):
                for one in ids:
                    tasks.start_soon(
                        partial(
                            wait_for,
                            iot,
                            "describe_job_execution",
                            **one,
                            budgets=budgets,
                            raise_on_failure=False,
                            timeout=60,
                        )
                    )
            return sim.fleet.identity_calls, _accounts_of(budgets)

    identity_calls, accounts = anyio.run(main)
    assert identity_calls == 1
    assert "123456789012" in accounts


DESCRIBE = "iot:DescribeJobExecution"


def _accounts_of(budgets: BudgetRegistry) -> list[str]:
    return sorted({s.key[0] for s in budgets.stats() if s.key[3] == "DescribeJobExecution"})


@pytest.mark.parametrize("keys", [2, 3])
def test_keys_of_one_account_never_exceed_its_rate_while_it_is_learned(keys: int) -> None:
    """Reported: three access keys of one account on a 20 calls/s budget put 29 calls in
    the service's first second (each key had a budget of its own until the account was
    learned). Every client whose account is being learned shares one budget, so no
    second of the service's log holds more than the rate, before or after."""

    async def main() -> list[float]:
        async with Simulator(seed=1, record_requests=True) as sim:
            names = [f"AKIDKEY{n}XXXXXXXXXXX" for n in range(keys)]
            sim.fleet.accounts = dict.fromkeys(names, sim.fleet.account)
            ids = sim.fleet.add_iot_job(
                "job-1", things=60, lifecycle=Lifecycle(pending=(0, 0), running=(3600, 3600))
            )
            budgets = BudgetRegistry(BudgetConfig(initial_rate=20, max_rate=20))
            session = aioboto3.Session()
            async with AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(
                        session.client("iot", **{**sim.client_kwargs(), "aws_access_key_id": name})
                    )
                    for name in names
                ]
                waits = [
                    execution(clients[n % keys], "describe_job_execution", **one)
                    for n, one in enumerate(ids)
                ]
                # Three seconds of calls at the rate, the account's lookup among them.
                await until_served(
                    sim.fleet,
                    DESCRIBE,
                    60,
                    partial(
                        wait_all,
                        waits,
                        timeout=None,
                        budgets=budgets,
                        batch=False,
                        backoff=Backoff(min_delay=0.001, max_delay=0.01),
                    ),
                )
            return served(sim.fleet, DESCRIBE)

    arrived = anyio.run(main)
    assert _most_in_any_window(arrived) <= 20


def test_keys_of_one_account_never_exceed_its_rate_when_lookups_answer_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reported: two keys of one account on two pollers, one key's lookup answering 2 s
    after the other's, put 8 calls in a second at 4 calls/s: the first key moved to the
    account's budget while the second still drew on the shared one. Clients move once no
    lookup is under way, so no second of the service's log holds more than the rate."""
    from waiters import _accounts as lookup

    original = lookup.Accounts._caller_identity
    slow = "AKIDSLOWXXXXXXXXXXXX"

    async def delayed(self: Any, client: Any, frozen: Any, *args: Any) -> str:
        if frozen.access_key == slow:
            await anyio.sleep(1.5)
        return await original(self, client, frozen, *args)

    monkeypatch.setattr(lookup.Accounts, "_caller_identity", delayed)

    async def main() -> list[float]:
        async with Simulator(seed=2, record_requests=True) as sim:
            names = ["AKIDFASTXXXXXXXXXXXX", slow]
            sim.fleet.accounts = dict.fromkeys(names, sim.fleet.account)
            ids = sim.fleet.add_iot_job(
                "job-1", things=8, lifecycle=Lifecycle(pending=(0, 0), running=(3600, 3600))
            )
            budgets = BudgetRegistry(BudgetConfig(initial_rate=4, max_rate=4))
            session = aioboto3.Session()

            async def run(name: str, part: list[dict[str, str]]) -> None:
                kwargs = {**sim.client_kwargs(), "aws_access_key_id": name}
                async with session.client("iot", **kwargs) as iot:
                    await wait_all(
                        [execution(iot, "describe_job_execution", **one) for one in part],
                        timeout=None,
                        budgets=budgets,
                        batch=False,
                        backoff=Backoff(min_delay=0.05, max_delay=0.1),
                    )

            async def both() -> None:
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(run, names[0], ids[:4])
                    tasks.start_soon(run, names[1], ids[4:])

            # Three seconds of calls at the rate: the slow lookup answers within them.
            await until_served(sim.fleet, DESCRIBE, 12, both)
            return served(sim.fleet, DESCRIBE)

    arrived = anyio.run(main)
    assert _most_in_any_window(arrived) <= 4
