"""Waiting on one execution: :func:`wait_for` and :func:`wait_for_sync`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from ._backoff import Backoff
from ._budget import BudgetRegistry, budget_key, default_budgets
from ._calls import POLL_RETRY_CONFIG, FailureKind, classify, make_caller
from ._clock import Clock, LoopClock, to_seconds
from ._errors import InvalidExecution
from ._events import Events
from ._execution import Execution, execution
from ._outcome import Outcome
from ._tracker import Tracker, WaitSettings, error_for

if TYPE_CHECKING:
    from ._poller import Poller

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_NOT_FOUND_GRACE",
    "DEFAULT_TIMEOUT",
    "resolve_execution",
    "settings_from",
    "wait_for",
    "wait_for_sync",
]

#: One hour. Pass ``timeout=None`` to wait as long as the execution runs.
DEFAULT_TIMEOUT = 3600.0
#: How long "not found" may mean "not visible yet" (eventual consistency).
DEFAULT_NOT_FOUND_GRACE = 10.0
#: A call with no answer by then is abandoned and counts as a transient error,
#: so a hung connection never hangs a wait.
DEFAULT_CALL_TIMEOUT = 30.0

#: A lone wait books a budget slot at most this far ahead (seconds).
_MAX_BOOKED_AHEAD = 1.0


def settings_from(
    timeout: float | timedelta | None, backoff: Backoff | None, not_found_grace: float | timedelta
) -> WaitSettings:
    return WaitSettings(
        backoff=backoff if backoff is not None else Backoff(),
        timeout=None if timeout is None else to_seconds(timeout, name="timeout"),
        not_found_grace=to_seconds(not_found_grace, name="not_found_grace"),
    )


def resolve_execution(target: Any, operation: str | None, params: dict[str, Any]) -> Execution:
    if isinstance(target, Execution):
        if operation is not None or params:
            extra = operation if operation is not None else ", ".join(params)
            raise InvalidExecution(
                f"wait_for({target.describe()}, ...): an Execution already carries its "
                f"parameters; unexpected {extra}"
            )
        return target
    return execution(target, operation, **params)


async def wait_for(
    target: Any,
    operation: str | None = None,
    /,
    *,
    timeout: float | timedelta | None = DEFAULT_TIMEOUT,
    backoff: Backoff | None = None,
    raise_on_failure: bool = True,
    not_found_grace: float | timedelta = DEFAULT_NOT_FOUND_GRACE,
    client: Any = None,
    session: Any = None,
    region_name: str | None = None,
    poller: Poller | None = None,
    clock: Clock | None = None,
    budgets: BudgetRegistry | None = None,
    rng: random.Random | None = None,
    logger: Any = None,
    call_timeout: float | timedelta = DEFAULT_CALL_TIMEOUT,
    log_responses: bool = False,
    log_sensitive: bool = False,
    **params: Any,
) -> Outcome:
    """Wait until one execution ends, and return how it ended.

    Call it the way the describe call is made::

        await wait_for(iot, "describe_job_execution", jobId="j", thingName="t", timeout=600)

    or with an :class:`Execution`. A failed, cancelled, vanished or not-found
    execution raises the matching :class:`WaiterError` (carrying the outcome)
    unless ``raise_on_failure=False``; a timeout raises :class:`WaitTimeout`,
    which is also a :class:`TimeoutError`.
    """
    target_execution = resolve_execution(target, operation, params)
    settings = settings_from(timeout, backoff, not_found_grace)
    if poller is not None:
        outcome = await poller.wait(
            target_execution,
            timeout=settings.timeout,
            backoff=settings.backoff,
            not_found_grace=settings.not_found_grace,
        )
    else:
        async with _client_for(target_execution, client, session, region_name) as bound:
            outcome = await _wait_one(
                target_execution,
                bound,
                settings,
                clock=clock or LoopClock(),
                budgets=budgets or default_budgets(),
                rng=rng or random.Random(),
                events=Events(logger, responses=log_responses, sensitive=log_sensitive),
                call_timeout=to_seconds(call_timeout, name="call_timeout", allow_zero=False),
            )
    if raise_on_failure:
        error = error_for(outcome)
        if error is not None:
            raise error
    return outcome


def wait_for_sync(target: Any, operation: str | None = None, /, **kwargs: Any) -> Outcome:
    """The blocking form of :func:`wait_for`, for scripts (not from inside an event loop).

    A boto3 client's calls run in a worker thread; the keyword arguments are
    those of :func:`wait_for`.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(partial(wait_for, target, operation, **kwargs))
    raise RuntimeError("wait_for_sync() cannot run inside an event loop; use `await wait_for(...)`")


@asynccontextmanager
async def _client_for(
    target: Execution, client: Any, session: Any, region_name: str | None
) -> AsyncIterator[Any]:
    if client is not None:
        yield client
    elif target.client is not None:
        yield target.client
    elif session is not None:
        async with open_client(session, target.machine.service, region_name) as created:
            yield created
    else:
        raise InvalidExecution(
            f"{target.describe()} is not bound to a client: pass client= or session=, "
            "or create it with execution(client, operation, ...)"
        )


@asynccontextmanager
async def open_client(session: Any, service: str, region_name: str | None) -> AsyncIterator[Any]:
    """A client from a boto3 or aioboto3 session, one attempt per call (POLL_RETRY_CONFIG)."""
    from botocore.config import Config

    config = Config(retries=dict(POLL_RETRY_CONFIG))
    created = session.client(service, region_name=region_name, config=config)
    if hasattr(created, "__aenter__"):
        async with created as client:
            yield client
    else:
        try:
            yield created
        finally:
            created.close()


async def _wait_one(
    target: Execution,
    client: Any,
    settings: WaitSettings,
    *,
    clock: Clock,
    budgets: BudgetRegistry,
    rng: random.Random,
    events: Events,
    call_timeout: float,
) -> Outcome:
    machine = target.machine
    call = make_caller(client, machine.method)
    params = dict(target.params)
    now = clock.now()
    tracker = Tracker(target, settings, now)
    budget = budgets.get(budget_key(client, machine.service, machine.operation), now)
    # A random first offset would delay a lone wait for nothing; the poller
    # de-synchronises batches instead.
    while True:
        now = clock.now()
        ahead = budget.backlog(now)
        if ahead > _MAX_BOOKED_AHEAD:
            # Many lone waits share this budget. Booking a slot far ahead would
            # fix it at today's rate; instead look again in about the time the
            # booked queue takes to drain, so a rate that grows meanwhile serves
            # this wait too. (A Poller queues its executions without this cost.)
            await clock.sleep_until(now + ahead * rng.uniform(0.5, 1.5))
            continue
        slot = budget.reserve(now)
        if slot > clock.now():
            await clock.sleep_until(slot)
        try:
            with anyio.fail_after(call_timeout):
                response = await call(params)
        except Exception as exc:  # noqa: BLE001 - every failure is classified or becomes an outcome
            now = clock.now()
            failure = classify(exc, machine)
            if failure is None:
                return tracker.on_exception(exc, now, events)
            if failure.kind is FailureKind.THROTTLED:
                budget.on_throttle(now)
            outcome = tracker.on_failure(failure, now, events, exc)
            if outcome is not None:
                return outcome
            if failure.kind is FailureKind.THROTTLED:
                if tracker.timed_out(now):
                    return tracker.time_out(now, events)
                continue
        else:
            now = clock.now()
            budget.on_success(now)
            outcome = tracker.on_response(response, now, events)
            if outcome is not None:
                return outcome
        if tracker.timed_out(now):
            return tracker.time_out(now, events)
        await clock.sleep_until(tracker.next_due(now, rng))
