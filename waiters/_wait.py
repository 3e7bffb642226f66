"""Waiting on one execution: :func:`wait_for` and :func:`wait_for_sync`.

A lone wait is one execution on the poller its event loop shares among the
lone waits given the same poller options (see ``_lone``), or on the poller
given with ``poller=``; either way it runs on the same engine as a batch of
100,000: the same budgets, call timeout, deadline watchdog and answers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

import anyio

from ._backoff import Backoff
from ._budget import BudgetRegistry
from ._clock import Clock
from ._errors import InvalidExecution
from ._execution import Execution, execution
from ._lone import wait_lone
from ._options import DEFAULT_CALL_TIMEOUT, DEFAULT_TIMEOUT, check_bools, check_flags
from ._outcome import Outcome, error_for
from ._poller import FROM_POLLER, FromPoller, Poller, in_event_loop
from ._validate import instance

__all__ = ["resolve_execution", "wait_for", "wait_for_sync"]


def resolve_execution(target: Any, operation: str | None, params: dict[str, Any]) -> Execution:
    """The execution named by ``wait_for``'s positional arguments and parameters."""
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
    timeout: float | timedelta | FromPoller | None = FROM_POLLER,
    backoff: Backoff | None = None,
    raise_on_failure: bool = True,
    not_found_grace: float | timedelta | None = None,
    follow_retries: bool | None = None,
    client: Any = None,
    session: Any = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    client_config: Any = None,
    poller: Poller | None = None,
    clock: Clock | None = None,
    budgets: BudgetRegistry | None = None,
    rng: random.Random | None = None,
    logger: Any = None,
    call_timeout: float | timedelta | None = None,
    log_responses: bool | None = None,
    log_sensitive: bool | None = None,
    clients: Mapping[str, Any] | None = None,
    meter_provider: Any = None,
    **params: Any,
) -> Outcome:
    """Wait until one execution ends, and return how it ended.

    Call it the way the describe call is made::

        await wait_for(iot, "describe_job_execution", jobId="j", thingName="t", timeout=600)

    or with an :class:`Execution`.

    Without *poller*, the waits of one event loop given the same poller
    options (the same *session*, *budgets*, *clock*, *rng*, *logger*,
    *clients* and *meter_provider* objects, equal *region_name*,
    *endpoint_url*, *call_timeout* and logging flags) share one poller, as
    the executions of one batch do: at most 10 calls in flight per client,
    and waits on one execution share its calls. It starts with the first of
    them and is closed before the last returns; a wait that is cancelled
    abandons its own execution only.

    :param target: a client (then *operation* and the parameters name the
        execution) or an :class:`Execution`.
    :param operation: the describe method (``"describe_job_execution"``) or
        operation name, with a client.
    :param timeout: seconds or a timedelta until the absolute deadline;
        ``None`` waits as long as the execution runs (default: one hour, or
        the poller's own timeout with *poller*).
    :param backoff: delays between polls (default ``Backoff()``: 1 s to 30 s).
    :param raise_on_failure: raise the outcome's :class:`WaiterError` when it
        did not succeed (default ``True``).
    :param not_found_grace: seconds or a timedelta during which "not found"
        means "not visible yet" (default 10 s, or the poller's).
    :param follow_retries: when the parent retries failed executions (an IoT
        job's retry configuration), follow a FAILED or TIMED_OUT execution
        with retries left to its next attempt (default ``True``, or the
        poller's); ``False`` stops at the first terminal state.
    :param client: the client to poll through, for an unbound execution.
    :param session: a boto3 or aioboto3 session to open a client from.
    :param region_name: the region of that client.
    :param endpoint_url: the endpoint of that client (default: botocore's
        resolution, which honours ``AWS_ENDPOINT_URL``).
    :param client_config: a ``botocore.config.Config`` for that client,
        merged over one attempt per call; its settings win.
    :param poller: a running :class:`Poller` to wait on; it brings its own
        clients, clock, budgets, call timeout and logging, so *session*,
        *region_name*, *endpoint_url*, *client_config*, *clock*, *budgets*,
        *rng*, *logger*, *call_timeout*, *log_responses*, *log_sensitive*,
        *clients* and *meter_provider* cannot be given with it.
    :param clock: the clock (default: the event loop's).
    :param budgets: the rate budgets (default: the event loop's).
    :param rng: the source of jitter.
    :param logger: a structlog logger.
    :param call_timeout: seconds or a timedelta a call may go unanswered
        (default 30 s).
    :param log_responses: add each response to ``waiters.poll`` (debug).
    :param log_sensitive: do not redact fields the definition marks sensitive.
    :param clients: clients for calls that are not the execution's own, by
        service: ``{"logs": logs_client}`` reads how a Transfer execution ended.
    :param meter_provider: the OpenTelemetry ``MeterProvider`` for metrics
        (default: the global one; see :class:`Poller`).
    :param params: the describe call's parameters, with a client.
    :raises InvalidExecution: bad parameters (before any call), or options
        that conflict with *poller*.
    :raises InvalidOption: an option of the wrong type or out of range
        (before any call), naming it and the value.
    :raises ExecutionFailed: the execution failed or was cancelled.
    :raises WaitTimeout: the deadline passed first (also a :class:`TimeoutError`).
    :raises ExecutionNotFound: the service never reported it.
    :raises ExecutionVanished: seen, then no longer reported.
    :raises ServiceError: the service refused the calls (credentials, permissions).
    """
    check_bools(raise_on_failure=raise_on_failure)
    check_flags(log_responses=log_responses, log_sensitive=log_sensitive)
    if region_name is not None:
        instance("region_name", region_name, str, "a string")
    if poller is not None:
        instance("poller", poller, Poller, "a Poller")
    target_execution = resolve_execution(target, operation, params)
    if client is not None:
        target_execution = target_execution.bind(client)
    # The poller's own options: a shared poller's already, or the lone one's to build.
    poller_options: dict[str, Any] = {
        "session": session,
        "region_name": region_name,
        "endpoint_url": endpoint_url,
        "client_config": client_config,
        "clock": clock,
        "budgets": budgets,
        "rng": rng,
        "logger": logger,
        "call_timeout": call_timeout,
        "log_responses": log_responses,
        "log_sensitive": log_sensitive,
        "clients": clients,
        "meter_provider": meter_provider,
    }
    if poller is not None:
        given = [f"{name}={value!r}" for name, value in poller_options.items() if value is not None]
        if given:
            verb, them = ("belongs", "it") if len(given) == 1 else ("belong", "them")
            raise InvalidExecution(
                f"wait_for(poller=...): {', '.join(given)} {verb} to the poller; "
                f"set {them} on Poller(...)"
            )
        outcome = await poller.wait(
            target_execution,
            timeout=timeout,
            backoff=backoff,
            not_found_grace=not_found_grace,
            follow_retries=follow_retries,
        )
    else:
        if target_execution.client is None and session is None:
            raise InvalidExecution(
                f"{target_execution.describe()} is not bound to a client: pass client= or "
                "session=, or create it with execution(client, operation, ...)"
            )
        outcome = await wait_lone(
            target_execution,
            timeout=DEFAULT_TIMEOUT if isinstance(timeout, FromPoller) else timeout,
            backoff=backoff,
            not_found_grace=not_found_grace,
            follow_retries=follow_retries,
            poller_options={
                **poller_options,
                "call_timeout": DEFAULT_CALL_TIMEOUT if call_timeout is None else call_timeout,
                "log_responses": bool(log_responses),
                "log_sensitive": bool(log_sensitive),
            },
        )
    if raise_on_failure:
        error = error_for(outcome)
        if error is not None:
            raise error
    return outcome


def wait_for_sync(target: Any, operation: str | None = None, /, **kwargs: Any) -> Outcome:
    """The blocking form of :func:`wait_for`, for scripts (not from inside an event loop).

    A boto3 client's calls run in a worker thread; the keyword arguments are
    those of :func:`wait_for`. It runs its own event loop (``anyio.run``,
    asyncio) until the wait ends.

    :param target: a client or an :class:`Execution`, as for :func:`wait_for`.
    :param operation: the describe method or operation name, with a client.
    :param kwargs: the options of :func:`wait_for` and, with a client, the
        describe call's parameters.
    :raises RuntimeError: called from inside an event loop.
    :raises WaiterError: what :func:`wait_for` raises (:class:`InvalidExecution`,
        and with ``raise_on_failure``, the outcome's error).
    """
    if in_event_loop():
        raise RuntimeError(
            "wait_for_sync() cannot run inside an event loop; use `await wait_for(...)`"
        )
    return anyio.run(partial(wait_for, target, operation, **kwargs))
