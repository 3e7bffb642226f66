"""How an execution ended, once the service no longer reports it.

Transfer Family describes executions in progress only. A waiter that saw one
running and then gets ``ResourceNotFoundException`` knows it ended, not how.
When the type's definition declares an ``[ending]`` (where the execution's
log is, and which log events end it), :func:`read_ending` reads the log
through an :class:`~._attempt.Endpoint` (the same budgets, call timeout and
deadline as every call) and ends the wait in the state the log names. When
the log cannot say (no logging configured, access denied, no ending in the
log after the definition's grace window) the wait ends ``vanished``, with
the last state seen and a reason that says which.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

from ._attempt import CallStats, Endpoint
from ._backoff import Backoff
from ._calls import FailureKind
from ._clock import Clock
from ._machine import EndingSpec
from ._outcome import OutcomeKind
from ._tracker import Tracker

__all__ = ["log_group_of", "read_ending"]

#: Pauses between looks at a log that has no ending yet (delivery lags).
_LOOK_AGAIN = Backoff(min_delay=1.0, max_delay=10.0)
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def log_group_of(spec: EndingSpec, response: Mapping[str, Any] | None) -> str | None:
    """The log group named in the last answer (or list item) seen of an execution."""
    if response is None:
        return None
    group = spec.log_group.search(response)
    if isinstance(group, str) and group:
        return group
    if spec.log_group_from is not None:
        value = spec.log_group_from.search(response)
        if isinstance(value, str) and value:
            return spec.log_group_format.format(value)
    return None


def _pattern(spec: EndingSpec, params: Mapping[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), "")), spec.filter_pattern)


def _message(event: Any) -> Mapping[str, Any] | None:
    text = event.get("message") if isinstance(event, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, Mapping) else None


async def read_ending(
    tracker: Tracker,
    endpoint: Endpoint | None,
    *,
    clock: Clock,
    rng: random.Random,
    stats: CallStats,
) -> None:
    """Find how *tracker*'s execution ended in its log, and end the wait accordingly.

    :param tracker: a wait whose execution the service stopped reporting
        (``tracker.ending_since`` is set).
    :param endpoint: the log's read operation (CloudWatch Logs
        ``FilterLogEvents``), or ``None`` when there is no client for it.
    :param clock: the poller's clock.
    :param rng: jitter for the pauses between looks.
    :param stats: where the calls are counted.
    """
    machine = tracker.execution.machine
    spec = machine.ending
    assert spec is not None
    since = tracker.ending_since if tracker.ending_since is not None else clock.now()
    last = tracker.state or "unseen"

    def vanish(why: str) -> None:
        if tracker.outcome is None:
            tracker.finish(
                OutcomeKind.VANISHED,
                clock.now(),
                reason=f"last seen {last}, then no longer reported; {why}",
            )

    if endpoint is None:
        vanish(f"no {spec.service} client to read its log (give the poller a session or clients=)")
        return
    group = log_group_of(spec, tracker.response) or tracker.log_group
    if group is None:
        vanish("no log group is configured for it, so no log says how it ended")
        return
    params: dict[str, Any] = {
        "logGroupName": group,
        "filterPattern": _pattern(spec, tracker.execution.params),
    }
    give_up = since + spec.grace
    looks = 0
    while tracker.outcome is None:
        request = dict(params)
        ending: str | None = None
        reason: str | None = None
        while True:
            answer = await endpoint.attempt(request, deadline=tracker.deadline)
            stats.record(answer)
            tracker.watch.stats.record(answer)
            if tracker.outcome is not None:
                return
            response = answer.response
            if response is None:
                failure = answer.failure
                if failure is None:
                    vanish(f"reading its log failed: {answer.error!r}")
                    return
                if clock.now() >= tracker.deadline:
                    # Out of time, not out of sources: the wait's own deadline.
                    tracker.time_out(clock.now())
                    return
                if failure.kind is FailureKind.THROTTLED:
                    continue
                if failure.kind is FailureKind.TRANSIENT and clock.now() < tracker.deadline:
                    looks += 1
                    await clock.sleep_until(clock.now() + _LOOK_AGAIN.delay(looks, rng))
                    continue
                if failure.kind is FailureKind.NOT_FOUND:
                    vanish(f"its log group {group} does not exist ({failure.reason})")
                else:
                    vanish(f"reading its log {group} failed: {failure.reason}")
                return
            for event in response.get("events") or ():
                message = _message(event)
                if message is None:
                    continue
                if spec.reason_field is not None:
                    said = spec.reason_field.search(message)
                    if isinstance(said, str) and said:
                        reason = said
                kind_of_event = spec.type_field.search(message)
                if isinstance(kind_of_event, str) and kind_of_event in spec.types:
                    ending = spec.types[kind_of_event]
            token = response.get("nextToken")
            if not token:
                break
            request["nextToken"] = token
        if ending is not None:
            tracker.end_in(ending, clock.now(), reason=reason)
            return
        now = clock.now()
        if now >= tracker.deadline:
            tracker.time_out(now)
            return
        if now >= give_up:
            vanish(f"its log {group} had no ending {spec.grace:g}s after it was last reported")
            return
        looks += 1
        await clock.sleep_until(min(now + _LOOK_AGAIN.delay(looks, rng), give_up, tracker.deadline))
