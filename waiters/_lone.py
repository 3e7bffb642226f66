"""Lone waits share one engine per event loop: :func:`wait_lone`.

A :func:`~waiters.wait_for` without ``poller=`` used to build, start and
close a poller of its own: a task group, a deadline watchdog and a lane with
its workers per wait, and on one busy budget a thousand lanes each queued for
their own slots. Instead, lone waits in one event loop that are given the
same poller options (session, clock, budgets, logger, call timeout, ...)
wait on one shared poller, as ``wait_for(poller=...)`` does: one lane per
client and operation hands out the slots, so a thousand lone waits cost per
call what one batch of a thousand costs.

The shared poller runs in a task of its own (asyncio's ``create_task``, a
trio system task), because it outlives whichever wait started it: it starts
with the first wait and closes when the last one leaves, before that wait
returns, so nothing of it is left running. A wait that is cancelled abandons
its own execution alone. Should the shared poller itself fail, every wait on
it raises that error, as a poller of its own would have raised it.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel

from ._backoff import Backoff
from ._execution import Execution
from ._outcome import Outcome, OutcomeKind
from ._poller import Poller

__all__ = ["LONE_CONCURRENCY", "wait_lone"]

#: Calls in flight at once per client, across the lone waits of one event loop:
#: a Poller's default. A lone wait makes one call at a time whatever the value.
LONE_CONCURRENCY = 10

#: Values a key holds as they are (hashable when they are of the right type);
#: anything else by identity, as the poller would use that very object.
_BY_VALUE = (str, int, float, timedelta)


class _Engine:
    """One shared poller, the waits on it, and its lifetime."""

    __slots__ = (
        "closed",
        "closing",
        "engines",
        "error",
        "held",
        "key",
        "poller",
        "ready",
        "stop",
        "users",
    )

    def __init__(
        self,
        poller: Poller,
        engines: dict[tuple[Any, ...], _Engine],
        key: tuple[Any, ...],
        held: tuple[Any, ...],
    ) -> None:
        self.poller = poller
        self.engines = engines
        self.key = key
        # The option objects whose ids are in the key: holding them keeps those
        # ids from being reused by other objects while this engine lives.
        self.held = held
        self.users = 0
        self.ready = anyio.Event()
        self.stop = anyio.Event()
        self.closed = anyio.Event()
        #: Set once no new wait may join (the last one left, or the poller failed).
        self.closing = False
        self.error: Exception | None = None

    def retire(self) -> None:
        """No new wait joins this engine: later ones start another."""
        self.closing = True
        if self.engines.get(self.key) is self:
            del self.engines[self.key]


_ENGINES: anyio.lowlevel.RunVar[dict[tuple[Any, ...], _Engine]] = anyio.lowlevel.RunVar(
    "waiters_lone_engines"
)

#: Hosts running on asyncio: the loop keeps only weak references to its tasks.
_HOSTS: set[asyncio.Task[None]] = set()


def _engines() -> dict[tuple[Any, ...], _Engine]:
    engines = _ENGINES.get(None)
    if engines is None:
        engines = {}
        _ENGINES.set(engines)
    return engines


def _key(options: dict[str, Any]) -> tuple[Any, ...]:
    """Which shared poller serves these options: equal strings and durations, the same
    objects (a session, a clock, a dict of clients)."""
    region, endpoint, call_timeout = (
        options["region_name"],
        options["endpoint_url"],
        options["call_timeout"],
    )
    return (
        id(options["session"]),
        region if isinstance(region, _BY_VALUE) else id(region),
        endpoint if isinstance(endpoint, _BY_VALUE) else id(endpoint),
        id(options["client_config"]),
        id(options["clock"]),
        id(options["budgets"]),
        id(options["rng"]),
        id(options["logger"]),
        call_timeout if isinstance(call_timeout, _BY_VALUE) else id(call_timeout),
        options["log_responses"] is True,
        options["log_sensitive"] is True,
        id(options["clients"]),
        id(options["meter_provider"]),
    )


async def wait_lone(
    execution: Execution,
    *,
    timeout: float | timedelta | None,
    backoff: Backoff | None,
    not_found_grace: float | timedelta | None,
    follow_retries: bool | None,
    poller_options: dict[str, Any],
) -> Outcome:
    """Wait on *execution* on the event loop's shared poller for *poller_options*.

    :param execution: the execution, bound to a client unless the options
        carry a session.
    :param timeout: seconds or a timedelta until this wait's deadline, ``None``
        for none.
    :param backoff: delays between polls (``None``: ``Backoff()``).
    :param not_found_grace: seconds or a timedelta (``None``: 10 s).
    :param follow_retries: follow a failure the parent retries (``None``: ``True``).
    :param poller_options: the keyword arguments of :class:`Poller` that
        :func:`~waiters.wait_for` takes, each given (``None`` for its default):
        session, region_name, endpoint_url, client_config, clock, budgets,
        rng, logger, call_timeout, log_responses, log_sensitive, clients,
        meter_provider.
    :raises InvalidOption: an option of the wrong type or out of range.
    :raises InvalidExecution: *execution* is unbound and there is no session.
    :raises Exception: what the shared poller failed with, if it failed.
    """
    engine = _join(poller_options)
    try:
        await engine.ready.wait()
        if engine.error is not None:
            raise engine.error
        try:
            outcome = await engine.poller.wait(
                execution,
                timeout=timeout,
                backoff=backoff,
                not_found_grace=not_found_grace,
                follow_retries=follow_retries,
            )
        except RuntimeError:
            # Joined as it failed: its error, not "the Poller was closed", is the cause.
            if not engine.closing:
                raise
            await engine.closed.wait()
            if engine.error is None:
                raise
            raise engine.error from None
        if outcome.kind is OutcomeKind.ABANDONED and engine.closing:
            # Abandoned because the poller failed, not by this wait: say why.
            await engine.closed.wait()
            if engine.error is not None:
                raise engine.error
        return outcome
    finally:
        await _leave(engine)


def _join(options: dict[str, Any]) -> _Engine:
    engines = _engines()
    key = _key(options)
    engine = engines.get(key)
    if engine is None:
        # Built here, in the caller, so a bad option is the caller's InvalidOption.
        poller = Poller(
            **options,
            concurrency=LONE_CONCURRENCY,
            batch=False,
            keep_responses=True,
        )
        engine = engines[key] = _Engine(poller, engines, key, tuple(options.values()))
        _spawn(partial(_host, engine))
    engine.users += 1
    return engine


async def _leave(engine: _Engine) -> None:
    engine.users -= 1
    if engine.users == 0:
        engine.retire()
        engine.stop.set()
        # The last wait returns once the poller is closed: nothing of it outlives
        # the waits. Closing is the host's, so a cancelled last wait closes it too.
        with anyio.CancelScope(shield=True):
            await engine.closed.wait()


async def _host(engine: _Engine) -> None:
    """Run *engine*'s poller until its last wait leaves."""
    try:
        async with engine.poller:
            engine.ready.set()
            try:
                await engine.stop.wait()
            finally:
                # Stopped, or cancelled because one of the poller's tasks failed:
                # either way no wait may join it from here on.
                engine.retire()
    except Exception as exc:  # noqa: BLE001 - raised by every wait on it (see wait_lone)
        engine.error = exc
    finally:
        engine.retire()
        engine.ready.set()
        engine.closed.set()


def _spawn(host: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Start *host* in a task of its own on the running event loop, in a fresh context.

    A fresh context: the poller serves every caller, so it must not carry the
    context variables (structlog's bound ones, say) of the one that started it.
    """
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            trio.lowlevel.spawn_system_task(host, name="waiters lone waits")
            return
    task = asyncio.get_running_loop().create_task(
        host(), name="waiters lone waits", context=contextvars.Context()
    )
    _HOSTS.add(task)
    task.add_done_callback(_HOSTS.discard)
