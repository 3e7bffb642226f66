"""One execution's wait: what each answer means and when to ask again.

Shared by :func:`~waiters.wait_for` and the poller, so a single wait and a
batch of 100,000 reach the same outcome from the same answers. Kept small
(``__slots__``) because the poller holds one per waiting execution.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ._backoff import Backoff
from ._calls import Failure, FailureKind
from ._errors import (
    ExecutionFailed,
    ExecutionNotFound,
    ExecutionVanished,
    ServiceError,
    WaiterError,
    WaitTimeout,
)
from ._events import Events
from ._execution import Execution
from ._machine import StateKind
from ._outcome import Outcome, OutcomeKind, Transition

__all__ = ["Tracker", "WaitSettings", "error_for"]

_RANK = {
    StateKind.PENDING: 0,
    StateKind.RUNNING: 1,
    StateKind.SUCCEEDED: 2,
    StateKind.FAILED: 2,
    StateKind.CANCELLED: 2,
}
_OUTCOME_OF = {
    StateKind.SUCCEEDED: OutcomeKind.SUCCEEDED,
    StateKind.FAILED: OutcomeKind.FAILED,
    StateKind.CANCELLED: OutcomeKind.CANCELLED,
}
_MALFORMED = Failure(
    FailureKind.TRANSIENT, "MalformedResponse", "no members in the answer", None, None
)
# Poll a moment after a hinted deadline, not on it.
_HINT_MARGIN = 0.5


class WaitSettings:
    """The resolved options of a wait (internal; users pass keyword arguments)."""

    __slots__ = ("backoff", "keep_responses", "not_found_grace", "timeout")

    def __init__(
        self,
        *,
        backoff: Backoff,
        timeout: float | None,
        not_found_grace: float,
        keep_responses: bool = True,
    ) -> None:
        self.backoff = backoff
        self.timeout = timeout
        self.not_found_grace = not_found_grace
        #: Hold every answer until the next one, so any outcome carries the last
        #: response. Off in big batches: a parsed response outweighs the rest of a
        #: waiting execution, and terminal outcomes still carry theirs.
        self.keep_responses = keep_responses


class Tracker:
    """The state of one wait."""

    __slots__ = (
        "attempts",
        "deadline",
        "due",
        "execution",
        "hint_at",
        "history",
        "kind",
        "listed",
        "not_found",
        "outcome",
        "owner",
        "response",
        "seen",
        "settings",
        "started",
        "state",
        "step",
        "unreachable_since",
        "version",
    )

    def __init__(self, execution: Execution, settings: WaitSettings, now: float) -> None:
        self.execution = execution
        self.settings = settings
        self.started = now
        self.deadline = now + settings.timeout if settings.timeout is not None else float("inf")
        self.due = now
        self.step = 0
        self.attempts = 0
        self.state: str | None = None
        self.kind: StateKind | None = None
        self.seen = False
        self.response: Mapping[str, Any] | None = None
        self.history: list[Transition] = []
        self.hint_at: float | None = None
        self.version: Any = None
        self.not_found: Failure | None = None
        self.outcome: Outcome | None = None
        #: The batch this wait belongs to, when a poller runs it.
        self.owner: Any = None
        #: Observed through list sweeps rather than its own Describe calls.
        self.listed = False
        self.unreachable_since: float | None = None

    # --- answers -----------------------------------------------------------------------

    def on_response(
        self, response: Mapping[str, Any], now: float, events: Events
    ) -> Outcome | None:
        """Take a describe answer; the outcome if it ends the wait."""
        machine = self.execution.machine
        if machine.status is not None and response.keys() <= {"ResponseMetadata"}:
            # botocore parses a truncated JSON body into an empty response: that
            # is a failed call, not a sighting of the execution.
            return self.on_failure(_MALFORMED, now, events)
        self.attempts += 1
        self.seen = True
        self.not_found = None
        hints = machine.hints
        if hints.version is not None:
            version = hints.version.search(response)
            if version is not None:
                if self.version is not None and version < self.version:
                    # An older answer than one already seen (eventual consistency).
                    return self._after_poll(now)
                self.version = version
        state, kind = machine.evaluate(response)
        if self.settings.keep_responses or (kind is not None and kind.terminal):
            self.response = response
        if events.debug:
            events.log.debug(
                "waiters.poll",
                execution=self.execution.describe(),
                state=state,
                attempt=self.attempts,
                **events.response_fields(machine, response),
            )
        if state is None and kind is None:
            events.warn_once(
                "waiters.missing_status", machine.name, "", execution=self.execution.describe()
            )
        self.observe(state, kind, now, events)
        if hints.deadline_in is not None or hints.deadline_after is not None:
            self._read_hints(response, now)
        if self.kind is not None and self.kind.terminal:
            return self.finish(_OUTCOME_OF[self.kind], now, events)
        return self._after_poll(now)

    def observe(
        self, state: str | None, kind: StateKind | None, now: float, events: Events
    ) -> bool:
        """Record an observed state (from Describe or a list); True if it changed."""
        previous = self.state
        if state == previous:
            self.step += 1
            return False
        machine = self.execution.machine
        if state is None:
            return False
        if kind is None and state not in machine.states and machine.states:
            events.warn_once(
                "waiters.unknown_state", machine.name, state, execution=self.execution.describe()
            )
        if not machine.is_legal(previous, state):
            old_rank = _RANK.get(self.kind) if self.kind is not None else None
            new_rank = _RANK.get(kind) if kind is not None else None
            events.log.warning(
                "waiters.illegal_transition",
                execution=self.execution.describe(),
                type=machine.name,
                before=previous,
                after=state,
            )
            if old_rank is not None and new_rank is not None and new_rank < old_rank:
                # Never go backwards in the lifecycle: keep the later state.
                self.step += 1
                return False
        self.state = state
        self.kind = kind
        self.step = 0
        self.history.append(Transition(state, kind, now, self.attempts))
        if events.debug:
            events.log.debug(
                "waiters.transition",
                execution=self.execution.describe(),
                before=previous,
                after=state,
                kind=kind.value if kind else None,
            )
        return True

    def on_summary(
        self, state: str | None, item: Mapping[str, Any] | None, now: float, events: Events
    ) -> Outcome | None:
        """Take a state seen in a list call (or inferred from one); the outcome if it ends."""
        self.seen = True
        self.not_found = None
        machine = self.execution.machine
        kind = machine.kind_of(state)
        if item is not None and (self.settings.keep_responses or (kind and kind.terminal)):
            self.response = item
        self.observe(state, kind, now, events)
        if self.kind is not None and self.kind.terminal:
            return self.finish(_OUTCOME_OF[self.kind], now, events)
        return None

    def on_failure(
        self, failure: Failure, now: float, events: Events, exc: BaseException | None = None
    ) -> Outcome | None:
        """Take a failed call; the outcome if it ends the wait."""
        kind = failure.kind
        if kind is FailureKind.THROTTLED:
            # Throttling costs the execution nothing but time: no attempt, no backoff step.
            if events.debug:
                events.log.debug(
                    "waiters.throttled", execution=self.execution.describe(), code=failure.code
                )
            return None
        self.attempts += 1
        if kind is FailureKind.TRANSIENT:
            if events.info:
                events.log.info(
                    "waiters.transient_error",
                    execution=self.execution.describe(),
                    code=failure.code,
                    status=failure.status,
                    attempt=self.attempts,
                )
            self.step += 1
            if failure.unreachable and not self.seen:
                # Never one answer, only refused connections: past the grace
                # window this is a wrong endpoint or region, not a blip.
                if self.unreachable_since is None:
                    self.unreachable_since = now
                elif now - self.unreachable_since >= self.settings.not_found_grace:
                    return self.finish(
                        OutcomeKind.ERROR,
                        now,
                        events,
                        reason=f"cannot reach the endpoint: {failure.reason}",
                        error=exc,
                    )
            return self._after_poll(now)
        if kind is FailureKind.TERMINAL:
            assert failure.rule is not None
            assert failure.rule.kind is not None
            self.observe(failure.code, failure.rule.kind, now, events)
            return self.finish(
                _OUTCOME_OF[failure.rule.kind], now, events, reason=failure.message or failure.code
            )
        if kind is FailureKind.NOT_FOUND:
            if self.seen:
                return self.finish(
                    OutcomeKind.VANISHED,
                    now,
                    events,
                    reason=f"{failure.code} after the execution was seen running",
                )
            self.not_found = failure
            if now - self.started >= self.settings.not_found_grace or now >= self.deadline:
                return self.finish(
                    OutcomeKind.NOT_FOUND,
                    now,
                    events,
                    reason=failure.reason,
                )
            self.step += 1
            return None
        reason = failure.reason
        return self.finish(OutcomeKind.ERROR, now, events, reason=reason, error=exc)

    def on_exception(self, exc: BaseException, now: float, events: Events) -> Outcome:
        """An exception nobody classified: end the wait with it, never lose the execution."""
        self.attempts += 1
        return self.finish(
            OutcomeKind.ERROR, now, events, reason=f"{type(exc).__name__}: {exc}", error=exc
        )

    # --- timing ------------------------------------------------------------------------

    def _after_poll(self, now: float) -> Outcome | None:
        if self.hint_at is not None and now >= self.hint_at:
            # Past the hinted deadline the change is due any moment: poll fast again.
            self.hint_at = None
            self.step = 0
        return None

    def timed_out(self, now: float) -> bool:
        return now >= self.deadline

    def next_due(self, now: float, rng: random.Random) -> float:
        """When to poll next: backoff, pulled in to a hinted deadline, capped at the deadline."""
        due = now + self.settings.backoff.delay(self.step, rng)
        hint = self.hint_at
        if hint is not None and now < hint < due:
            due = hint
        if due > self.deadline:
            due = self.deadline
        self.due = due
        return due

    def _read_hints(self, response: Mapping[str, Any], now: float) -> None:
        hints = self.execution.machine.hints
        remaining: float | None = None
        if hints.deadline_in is not None:
            value = hints.deadline_in.search(response)
            if isinstance(value, int | float) and not isinstance(value, bool):
                remaining = float(value)
        elif hints.deadline_after is not None and hints.deadline_since is not None:
            seconds = hints.deadline_after.search(response)
            since = hints.deadline_since.search(response)
            server_now = _server_time(response)
            if isinstance(seconds, int | float) and isinstance(since, datetime) and server_now:
                remaining = since.timestamp() + float(seconds) - server_now
        if remaining is not None and remaining >= 0:
            self.hint_at = now + remaining + _HINT_MARGIN

    # --- ending ------------------------------------------------------------------------

    def finish(
        self,
        kind: OutcomeKind,
        now: float,
        events: Events,
        *,
        reason: str | None = None,
        error: BaseException | None = None,
    ) -> Outcome:
        machine = self.execution.machine
        if reason is None:
            reason = machine.reason_of(self.response)
        outcome = Outcome(
            execution=self.execution,
            kind=kind,
            state=self.state,
            reason=reason,
            response=self.response,
            attempts=self.attempts,
            elapsed=now - self.started,
            history=tuple(self.history),
            error=error,
        )
        self.outcome = outcome
        if events.info:
            events.log.info(
                "waiters.finished",
                execution=self.execution.describe(),
                type=machine.name,
                outcome=kind.value,
                state=self.state,
                attempts=self.attempts,
                elapsed=round(now - self.started, 3),
            )
        return outcome

    def time_out(self, now: float, events: Events) -> Outcome:
        if self.not_found is not None and not self.seen:
            failure = self.not_found
            return self.finish(
                OutcomeKind.NOT_FOUND,
                now,
                events,
                reason=failure.reason,
            )
        return self.finish(
            OutcomeKind.TIMED_OUT,
            now,
            events,
            reason=f"still {self.state or 'unseen'} at the deadline",
        )


def _server_time(response: Mapping[str, Any]) -> float | None:
    """The service's own clock, from the Date header, so hints survive local skew."""
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    date = headers.get("date")
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None


def error_for(outcome: Outcome) -> WaiterError | None:
    """The exception a failed outcome raises (None for success)."""
    kind = outcome.kind
    what = outcome.execution.describe()
    if kind is OutcomeKind.SUCCEEDED:
        return None
    if kind in (OutcomeKind.FAILED, OutcomeKind.CANCELLED):
        message = f"{what} ended {outcome.state}"
        cls: type[WaiterError] = ExecutionFailed
    elif kind is OutcomeKind.TIMED_OUT:
        message = f"{what} did not finish within the deadline (last state {outcome.state})"
        cls = WaitTimeout
    elif kind is OutcomeKind.NOT_FOUND:
        message = f"{what} was not found"
        cls = ExecutionNotFound
    elif kind is OutcomeKind.VANISHED:
        message = f"{what} finished while running; the service does not report how it ended"
        cls = ExecutionVanished
    elif kind is OutcomeKind.ABANDONED:
        message = f"{what} was abandoned before it ended"
        cls = WaiterError
    else:
        message = f"{what}: {outcome.execution.machine.operation} failed"
        cls = ServiceError
    if outcome.reason:
        message += f": {outcome.reason}"
    error = cls.from_outcome(message, outcome)
    if outcome.error is not None:
        error.__cause__ = outcome.error
    return error
