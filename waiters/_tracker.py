"""One execution's wait: what each answer means and when to ask again.

A :class:`Tracker` takes an answer (from its own Describe call, or an item
of a list sweep) and returns a decision: the wait is finished with an
:class:`~waiters.Outcome`, or the execution is due again at a time. It
reports transitions and its end to the :class:`Watch` that owns it (a
batch), so a single wait and a batch of 100,000 reach the same outcome from
the same answers. Kept small (``__slots__``): a poller holds one per
waiting execution.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from ._attempt import Answer, CallStats
from ._backoff import Backoff
from ._calls import Failure, FailureKind
from ._events import Events
from ._eventspec import Event
from ._execution import Execution
from ._machine import AcceptorError, StateKind
from ._outcome import Outcome, OutcomeKind, Transition
from ._pace import Pace
from ._scrub import scrub

__all__ = ["Tracker", "WaitSettings", "Watch", "share"]

_OUTCOME_OF = {
    StateKind.SUCCEEDED: OutcomeKind.SUCCEEDED,
    StateKind.FAILED: OutcomeKind.FAILED,
    StateKind.CANCELLED: OutcomeKind.CANCELLED,
}
# Poll a moment after a hinted deadline, not on it.
_HINT_MARGIN = 0.5
# A deadline hint further off than this (about 31 years) tells nothing a poll
# schedule can use, and added to a clock reading it would lose all precision.
_MAX_HINT = 1e9


class WaitSettings:
    """A wait's options in the form the hot path reads (compiled from WaitOptions)."""

    __slots__ = (
        "backoff",
        "follow_retries",
        "keep_responses",
        "min_delay",
        "not_found_grace",
        "pace",
        "timeout",
    )

    def __init__(
        self,
        *,
        backoff: Backoff,
        timeout: float | None,
        not_found_grace: float,
        keep_responses: bool = True,
        follow_retries: bool = True,
        pace: Pace | None = None,
    ) -> None:
        self.backoff = backoff
        #: While an event source is heard, polls of a seen execution are this
        #: far apart at least (see Pace); None without events.
        self.pace = pace
        #: A failure the parent retries is followed to the next attempt.
        self.follow_retries = follow_retries
        self.min_delay: float = backoff.min_delay  # type: ignore[assignment]
        self.timeout = timeout
        self.not_found_grace = not_found_grace
        #: Hold every answer until the next, so any outcome carries the last
        #: response. Off in big batches: a parsed response outweighs the rest of a
        #: waiting execution, and terminal outcomes still carry theirs.
        self.keep_responses = keep_responses


class Watch(Protocol):
    """What owns a group of trackers (a batch): their settings and where they report."""

    settings: WaitSettings
    events: Events
    rng: random.Random
    #: Where the calls made for its executions are counted.
    stats: CallStats

    def transitioned(
        self, tracker: Tracker, before: str | None, before_kind: StateKind | None
    ) -> None:
        """The tracker's state changed from *before*."""

    def finished(self, tracker: Tracker, outcome: Outcome) -> None:
        """The tracker's wait ended with *outcome* (called exactly once)."""


class Tracker:
    """The state of one wait."""

    __slots__ = (
        "attempt",
        "attempts",
        "confirming",
        "deadline",
        "due",
        "ending_since",
        "event_order",
        "execution",
        "fresh",
        "group",
        "hint_at",
        "hint_spent",
        "history",
        "kind",
        "known",
        "listed",
        "log_group",
        "not_found",
        "outcome",
        "peers",
        "pinned",
        "polled",
        "response",
        "retry_allowance",
        "retry_check",
        "retry_until",
        "said",
        "seen",
        "started",
        "state",
        "step",
        "unreachable_since",
        "version",
        "watch",
    )

    def __init__(
        self, execution: Execution, watch: Watch, now: float, deadline: float | None = None
    ) -> None:
        self.execution = execution
        self.watch = watch
        self.started = now
        if deadline is None:
            timeout = watch.settings.timeout
            deadline = now + timeout if timeout is not None else math.inf
        #: *now* plus the timeout: given by a batch whose waits start together, so
        #: 100,000 of them share one float, not one each.
        self.deadline = deadline
        self.due = now
        #: When a call or a list last answered for it (a throttle does not):
        #: the gap a latency target bounds.
        self.polled = now
        self.step = 0
        self.attempts = 0
        self.state: str | None = None
        self.kind: StateKind | None = None
        self.seen = False
        self.response: Mapping[str, Any] | None = None
        # A tuple, grown by one per transition (a few per wait): an empty one costs
        # nothing and a short one less than a list, and the outcome takes it as is.
        self.history: tuple[Transition, ...] = ()
        #: When a hinted deadline is due (poll just after it), if one is known.
        self.hint_at: float | None = None
        #: Until when a hint already acted on may still run late (its slack).
        self.hint_spent: float | None = None
        #: The newest (attempt, version) taken: answers are ordered by them.
        self.attempt: float | None = None
        self.version: float | None = None
        #: A new attempt (a retry) began: its first state may go "backwards".
        self.fresh = False
        #: The last state the definition knows: transitions out of an unknown
        #: state are judged from it, so an unknown state erases no progress.
        self.known: str | None = None
        #: Retries the parent allows after each retried state (None: not read yet).
        self.retry_allowance: Mapping[str, int] | None = None
        #: Ended in a retried state and the allowance is unknown: the poller reads it.
        self.retry_check = False
        #: Until when a retry announced by the allowance may still appear.
        self.retry_until: float | None = None
        #: Parameters that hold its calls to one attempt: set when a wait that does
        #: not follow retries sees a newer attempt, so it reads how its own ended.
        self.pinned: dict[str, Any] | None = None
        self.not_found: Failure | None = None
        self.outcome: Outcome | None = None
        #: Every wait on the same execution in this poller (this one included),
        #: sharing one list, or None while it is the only one: one call serves them all.
        self.peers: list[Tracker] | None = None
        #: Observed through list sweeps rather than its own Describe calls.
        self.listed = False
        #: The sweeps (a Group) holding it, which take its events too and are told
        #: when it ends (``ended``), so they drop it without looking through every
        #: member; None when it is described.
        self.group: Any = None
        #: When the service stopped reporting it, while its ending is looked up elsewhere.
        self.ending_since: float | None = None
        self.unreachable_since: float | None = None
        #: Where its ending is read, as a checkpoint kept it (its answers name it otherwise).
        self.log_group: str | None = None
        #: The newest order (a timestamp or version) of an event taken: older ones are stale.
        self.event_order: float | None = None
        #: An event said it ended, without what the outcome needs (its reason, or
        #: whether a retry follows): its own Describe confirms it, at the backoff's
        #: cadence, never the safety net's.
        self.confirming = False
        #: Why it ended, as the last event taken said, for an outcome decided later
        #: (once the parent's retries are known); a later answer replaces it.
        self.said: str | None = None

    def resume(self, state: str, attempt: float | None, log_group: str | None) -> None:
        """Go on from what a checkpoint says was seen of it: *state*, its retry *attempt*,
        and the *log_group* its ending is read from; no transition is reported.

        Seen, so a "not found" now means it ended (see ``_gone``), never that
        it was never there.
        """
        machine = self.execution.machine
        self.seen = True
        self.state = state
        self.kind = machine.states.get(state)
        if self.kind is not None:
            self.known = state
        self.attempt = attempt
        self.log_group = log_group

    # --- answers -----------------------------------------------------------------------

    def on_answer(
        self, answer: Answer, now: float, *, jitter: float | None = None
    ) -> Outcome | float:
        """Take the answer of this execution's own call: its outcome, or when it is due next.

        A throttled call costs the execution no attempt and no backoff step; it
        is due again after its usual delay (and the budget slows down).
        *jitter* is the backoff's draw when waits sharing the call share it too.
        """
        response = answer.response
        if answer.failure is None or answer.failure.kind is not FailureKind.THROTTLED:
            self.polled = now
        if response is not None:
            outcome = self.on_response(response, now)
        elif answer.failure is not None:
            if answer.failure.kind is FailureKind.THROTTLED:
                # No attempt and no backoff step: a throttle is not the execution's
                # doing. But it waits its usual delay, so a storm never makes an
                # execution poll faster than it would have.
                self._throttled(answer.failure)
                if now >= self.deadline:
                    return self.time_out(now)
                return self.next_due(now, jitter)
            outcome = self.on_failure(answer.failure, now, answer.error)
        else:
            assert answer.error is not None
            return self.on_exception(answer.error, now)
        if outcome is not None:
            return outcome
        if now >= self.deadline:
            return self.time_out(now)
        return self.next_due(now, jitter)

    def on_response(self, response: Mapping[str, Any], now: float) -> Outcome | None:
        """Take a describe answer; the outcome if it ends the wait."""
        machine = self.execution.machine
        events = self.watch.events
        self.attempts += 1
        self.seen = True
        self.said = None
        self.not_found = None
        self.unreachable_since = None
        hints = machine.hints
        if (hints.attempt is not None or hints.version is not None) and not self.take_order(
            hints.attempt.search(response) if hints.attempt is not None else None,
            hints.version.search(response) if hints.version is not None else None,
        ):
            # An older answer than one already taken (eventual consistency): it
            # says nothing new, so the backoff goes on as for an unchanged one.
            self.step += 1
            self._after_poll(now)
            return None
        try:
            state, kind = machine.evaluate(response)
        except AcceptorError as exc:
            # botocore's waiter raises here too (say, length() of a missing list).
            self.response = response
            return self.finish(OutcomeKind.ERROR, now, reason=str(exc), error=exc)
        if (
            self.watch.settings.keep_responses
            or (kind is not None and kind.terminal)
            or machine.ending is not None  # the last answer says where its log is
        ):
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
        self.observe(state, kind, now)
        if self.kind is not None and self.kind.terminal:
            if self.retry_follows(now):
                return None
            return self.finish(_OUTCOME_OF[self.kind], now)
        # The hint this poll was made for first, then whatever the answer hints next.
        self._after_poll(now)
        if hints.deadline_in is not None or hints.deadline_after is not None:
            self._read_hints(response, now)
        return None

    def take_order(self, attempt: Any, version: Any) -> bool:
        """Whether an answer about (*attempt*, *version*) is news; False if it is older.

        A higher attempt is a new execution (a retry): it is taken whatever its
        version, and its lifecycle starts again. Values that are not numbers
        (a broken answer) order nothing.
        """
        attempt = _number(attempt)
        version = _number(version)
        if attempt is not None:
            if self.attempt is not None and attempt < self.attempt:
                return False
            if self.attempt is not None and attempt > self.attempt and self.pin():
                return False
            if self.attempt is not None and attempt > self.attempt:
                self.attempt = attempt
                self.version = version
                self.fresh = True
                self.retry_until = None
                return True
            self.attempt = attempt
        if version is not None:
            if self.version is not None and version < self.version:
                return False
            self.version = version
        return True

    def pin(self) -> bool:
        """Hold the calls to the attempt watched so far, if retries are not followed.

        A newer attempt means the watched one ended in a retried state; its own
        Describe (with the definition's ``retries.attempt`` parameter) says which.
        False when retries are followed or the definition cannot ask for one.
        """
        spec = self.execution.machine.retries
        if self.watch.settings.follow_retries or spec is None or spec.attempt is None:
            return False
        if self.pinned is None:
            assert self.attempt is not None
            self.pinned = {spec.attempt: int(self.attempt)}
            self.step = 0  # its ending is there to read now
        return True

    def retry_follows(self, now: float) -> bool:
        """Whether a new attempt may still follow the retried state this ended in.

        Only with ``follow_retries`` and a definition whose parent retries
        (``retries``): while the allowance is unknown, ``retry_check`` asks the
        poller to read it; with retries left, a new attempt has the not-found
        grace to appear before the failure stands.
        """
        spec = self.execution.machine.retries
        settings = self.watch.settings
        state = self.state
        if spec is None or not settings.follow_retries or state is None:
            return False
        if state not in spec.states:
            return False
        allowance = self.retry_allowance
        if allowance is None:
            self.retry_check = True
            return True
        if not spec.left(allowance, state, self.attempt):
            return False
        if self.retry_until is None:
            self.retry_until = now + settings.not_found_grace
            self.step = 0  # the retry comes soon: look for it at the backoff's floor
        return now < self.retry_until

    def after_retry_check(self, allowance: Mapping[str, int], now: float) -> Outcome | float:
        """Take the parent's retry allowance, read for this wait: its outcome, or when next due."""
        self.retry_allowance = allowance
        self.retry_check = False
        if self.outcome is not None:
            return self.outcome
        if self.retry_follows(now):
            return self.next_due(now)
        assert self.kind is not None
        return self.finish(_OUTCOME_OF[self.kind], now)

    def observe(self, state: str | None, kind: StateKind | None, now: float) -> bool:
        """Record an observed state (from Describe or a list); True if it changed."""
        if kind is None and state is not None and state not in self.execution.machine.states:
            # Not a state any definition knows: the service's free text, which
            # goes into outcomes, history and logs scrubbed and bounded.
            state = scrub(state)
        previous = self.state
        fresh = self.fresh
        if state == previous and not fresh:
            self.step += 1
            return False
        machine = self.execution.machine
        if state is None:
            return False
        events = self.watch.events
        if kind is None and state not in machine.states and machine.states:
            events.warn_once(
                "waiters.unknown_state", machine.name, state, execution=self.execution.describe()
            )
        known = self.known
        if not fresh and not machine.is_legal(known, state):
            events.log.warning(
                "waiters.illegal_transition",
                execution=self.execution.describe(),
                type=machine.name,
                before=previous,
                after=state,
            )
            if kind is not None and known is not None and kind.rank < machine.states[known].rank:
                # Never go backwards in the lifecycle: keep the later state.
                self.step += 1
                return False
        self.fresh = False
        if kind is not None and state in machine.states:
            self.known = state
        before_kind = self.kind
        self.state = state
        self.kind = kind
        self.step = 0
        self.history += (Transition(state, kind, now, self.attempts),)
        # The batch counts it before it is logged: a logger that raises then leaves
        # the batch's counts true to its trackers, and ends this wait alone.
        self.watch.transitioned(self, previous, before_kind)
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
        self, state: str | None, item: Mapping[str, Any] | None, now: float
    ) -> Outcome | None:
        """Take a state seen in a list call (or inferred from one); the outcome if it ends.

        A list page that reports the execution counts as one of its attempts.
        """
        machine = self.execution.machine
        self.polled = now
        if item is not None:
            self.attempts += 1
            spec = machine.batch
            if (
                spec is not None
                and spec.item_attempt is not None
                and not self.take_order(spec.item_attempt.search(item), None)
            ):
                return None  # about an earlier attempt than one already seen
        self.seen = True
        self.not_found = None
        kind = machine.kind_of(state)
        if item is not None and (
            self.watch.settings.keep_responses
            or (kind and kind.terminal)
            or machine.ending is not None
        ):
            self.response = item
        self.observe(state, kind, now)
        if self.kind is not None and self.kind.terminal:
            return self.finish(_OUTCOME_OF[self.kind], now)
        return None

    def heard(self, event: Event) -> bool:
        """Take *event*'s place in the order without its state: it reports an ending that
        its own Describe is to confirm (``confirming``). False if it is stale.

        Events older than it are stale from here on, so a late one can neither
        undo the ending nor put the confirming Describe off.
        """
        if not self.take_order(event.attempt, event.version):
            return False
        if not self._take_event_order(event.order):
            return False
        self.confirming = True
        return True

    def _take_event_order(self, order: float | None) -> bool:
        """Keep *order* (an event's order field) as the newest; False if an event already
        taken is newer (a duplicate's equal order is kept: its state decides)."""
        if order is not None:
            if self.event_order is not None and order < self.event_order:
                return False
            self.event_order = order
        return True

    def on_event(
        self,
        event: Event,
        now: float,
        *,
        retries_judged: bool = False,
        observed: float | None = None,
    ) -> Outcome | None:
        """Take a status-change event about it; the outcome if it ends the wait.

        An event is an observation like an answer: one older than an answer or
        event already taken (by attempt and version, then by its order field)
        changes nothing, and neither does a duplicate. The outcome carries the
        event's payload as its response, and the event's reason.
        *retries_judged*: the caller (a parent's sweeps) already knows no retry
        follows a failure, as for a list item. *observed*: when the change
        happened on this tracker's clock, if the event says (a late event
        counts as an observation as of then, not as of its arrival).
        """
        if not self.take_order(event.attempt, event.version):
            return None
        machine = self.execution.machine
        kind = machine.kind_of(event.state)
        known = self.known
        if (
            kind is not None
            and known is not None
            and not self.fresh
            and kind.rank < machine.states[known].rank
        ):
            # Behind what an answer or a list already showed: a late event, not a
            # step back (no warning; an answer that went back would be one).
            return None
        if not self._take_event_order(event.order):
            return None
        seen_at = now if observed is None or observed > now else observed
        if seen_at > self.polled:
            self.polled = seen_at
        self.seen = True
        self.not_found = None
        self.unreachable_since = None
        if self.watch.settings.keep_responses or (kind is not None and kind.terminal):
            self.response = event.payload
            self.said = event.reason
        self.observe(event.state, kind, now)
        if self.kind is not None and self.kind.terminal:
            if not retries_judged and self.retry_follows(now):
                return None
            outcome = _OUTCOME_OF[self.kind]
            reason = event.reason
            if reason is None and outcome in (OutcomeKind.FAILED, OutcomeKind.CANCELLED):
                reason = f"ended {self.state}; its event gives no reason"
            return self.finish(outcome, now, reason=reason)
        return None

    def _throttled(self, failure: Failure) -> None:
        events = self.watch.events
        if events.debug:
            events.log.debug(
                "waiters.throttled", execution=self.execution.describe(), code=failure.code
            )

    def on_failure(
        self, failure: Failure, now: float, exc: BaseException | None = None
    ) -> Outcome | None:
        """Take a failed call (not a throttle); the outcome if it ends the wait."""
        kind = failure.kind
        events = self.watch.events
        self.attempts += 1
        if kind is FailureKind.WAITING:
            # An acceptor's retry: the service answered, and the answer means "not yet".
            self.unreachable_since = None
            self.observe(failure.code, StateKind.RUNNING, now)
            self._after_poll(now)
            return None
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
                elif now - self.unreachable_since >= self.watch.settings.not_found_grace:
                    return self.finish(
                        OutcomeKind.ERROR,
                        now,
                        reason=f"cannot reach the endpoint: {failure.reason}",
                        error=exc,
                    )
            self._after_poll(now)
            return None
        if kind is FailureKind.TERMINAL:
            assert failure.rule is not None
            assert failure.rule.kind is not None
            self.observe(failure.code, failure.rule.kind, now)
            return self.finish(
                _OUTCOME_OF[failure.rule.kind], now, reason=failure.message or failure.code
            )
        if kind is FailureKind.NOT_FOUND:
            if self.seen:
                return self._gone(failure, now)
            self.not_found = failure
            if now - self.started >= self.watch.settings.not_found_grace or now >= self.deadline:
                return self.finish(OutcomeKind.NOT_FOUND, now, reason=failure.reason)
            self.step += 1
            return None
        return self.finish(OutcomeKind.ERROR, now, reason=failure.reason, error=exc)

    def _gone(self, failure: Failure, now: float) -> Outcome | None:
        """Seen, and now unknown to the service: it ended. Say how, where anything can."""
        machine = self.execution.machine
        last = self.state
        sole = machine.sole_endings.get(last) if last is not None else None
        if sole is not None:
            # What the last answer said of the failure, else why the ending is certain.
            said = machine.reason_of(self.response)
            return self.end_in(
                sole,
                now,
                reason=said
                or f"{sole} is the only way {last} ends; the service no longer reports it",
            )
        if machine.ending is not None:
            # Its log may say: the poller looks it up (see waiters._ending).
            self.ending_since = now
            return None
        return self.finish(
            OutcomeKind.VANISHED,
            now,
            reason=f"last seen {last or 'unseen'}, then {failure.code}: it ended, and the "
            "service does not say how",
        )

    def end_in(self, state: str, now: float, *, reason: str | None = None) -> Outcome:
        """End the wait in terminal *state*, learnt other than from a describe answer."""
        kind = self.execution.machine.states[state]
        self.observe(state, kind, now)
        return self.finish(_OUTCOME_OF[kind], now, reason=reason)

    def on_exception(self, exc: BaseException, now: float) -> Outcome:
        """An exception nobody classified: end the wait with it, never lose the execution."""
        self.attempts += 1
        return self.finish(OutcomeKind.ERROR, now, reason=f"{type(exc).__name__}: {exc}", error=exc)

    # --- timing ------------------------------------------------------------------------

    def _after_poll(self, now: float) -> None:
        hint = self.hint_at
        if hint is not None and now >= hint:
            # Past the hinted deadline the change is due any moment: poll fast
            # again, once; the same deadline running late within its slack does
            # not reset the backoff again.
            self.hint_at = None
            self.hint_spent = hint + self.execution.machine.hints.slack
            self.step = 0

    def next_due(self, now: float, jitter: float | None = None) -> float:
        """When to poll next: backoff, pulled in to a hinted deadline, capped at the deadline.

        *jitter* is the backoff's draw in ``[0, 1)`` (default: a new one).
        """
        settings = self.watch.settings
        backoff = settings.backoff
        if jitter is None:
            due = now + backoff.delay(self.step, self.watch.rng)
        else:
            due = now + backoff.delay_at(self.step, jitter)
        hint = self.hint_at
        if hint is not None and now < hint < due:
            # A hint makes a poll sooner, never sooner than the backoff's floor.
            due = max(hint, now + settings.min_delay)
        pace = settings.pace
        if (
            pace is not None
            and pace.bound is not None
            and self.seen
            and self.retry_until is None
            and not self.confirming
        ):
            # Events report its changes: a poll is only the net for a lost one. An
            # execution not seen yet (or whose retry is due) keeps its cadence.
            floor = self.polled + pace.bound
            if due < floor:
                due = floor
        if due > self.deadline:
            due = self.deadline
        self.due = due
        return due

    def _read_hints(self, response: Mapping[str, Any], now: float) -> None:
        hints = self.execution.machine.hints
        remaining: float | None = None
        if hints.deadline_in is not None:
            remaining = _seconds(hints.deadline_in.search(response))
        elif hints.deadline_after is not None and hints.deadline_since is not None:
            seconds = _seconds(hints.deadline_after.search(response))
            since = hints.deadline_since.search(response)
            server_now = _server_time(response)
            if seconds is not None and isinstance(since, datetime) and server_now:
                remaining = since.timestamp() + seconds - server_now
        # A hint is advice: one the service sent as nonsense (negative, not finite,
        # a 400-digit integer) is no hint, never a reason to end the wait.
        if remaining is None or not 0 <= remaining < _MAX_HINT:
            return
        at = now + remaining + _HINT_MARGIN
        spent = self.hint_spent
        if spent is not None and at <= spent + _HINT_MARGIN:
            # The deadline already acted on, reported again while the service is
            # within its documented slack (IoT: "up to 60 seconds later").
            return
        self.hint_at = at

    # --- ending ------------------------------------------------------------------------

    def finish(
        self,
        kind: OutcomeKind,
        now: float,
        *,
        reason: str | None = None,
        error: BaseException | None = None,
    ) -> Outcome:
        """End the wait with an outcome of *kind*, and report it to the watch (once)."""
        if self.outcome is not None:
            return self.outcome
        machine = self.execution.machine
        if reason is None:
            reason = self.said if self.said is not None else machine.reason_of(self.response)
        if reason is None and kind in (OutcomeKind.FAILED, OutcomeKind.CANCELLED):
            # Say so rather than nothing: the model has no field for why.
            if not self.listed:
                reason = f"ended {self.state}; {machine.operation} gives no reason"
            elif machine.reason is not None:
                reason = (
                    f"ended {self.state}; its list summary gives no reason "
                    f"(failure_reasons=True reads it with {machine.operation})"
                )
            else:
                reason = f"ended {self.state}; its list summary gives no reason"
        outcome = Outcome(
            execution=self.execution,
            kind=kind,
            state=self.state,
            reason=reason,
            response=self.response,
            attempts=self.attempts,
            elapsed=now - self.started,
            history=self.history,
            error=error,
        )
        self.outcome = outcome
        if self.group is not None:
            self.group.ended(self)
        # Delivered before it is logged: a logger that raises cannot keep the
        # outcome from its batch, whose wait would then never end.
        self.watch.finished(self, outcome)
        events = self.watch.events
        if events.info:
            # The outcome is delivered: a logger failing on it has no wait left to
            # end, and raised here it would escape the handler that ends a wait on an
            # error (the logger failing again), taking the poller with it.
            with contextlib.suppress(Exception):
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

    def time_out(self, now: float) -> Outcome:
        """End the wait at its deadline (``not_found`` if it was never seen, only missed)."""
        if self.not_found is not None and not self.seen:
            return self.finish(OutcomeKind.NOT_FOUND, now, reason=self.not_found.reason)
        if self.ending_since is not None:
            reason = (
                f"last seen {self.state or 'unseen'}, no longer reported; how it ended was "
                "not known by the deadline"
            )
        else:
            reason = f"still {self.state or 'unseen'} at the deadline"
        return self.finish(OutcomeKind.WAIT_TIMEOUT, now, reason=reason)

    def abandon(self, now: float, reason: str) -> Outcome:
        return self.finish(OutcomeKind.ABANDONED, now, reason=reason)

    def served_with(self) -> list[Tracker]:
        """The waits one Describe call made for this one answers: itself and its peers.

        Peers qualify while they wait on Describe calls of their own (not
        swept, not pinned to an attempt, not reading a log or a retry
        allowance); the others are served where they are.
        """
        peers = self.peers
        if peers is None or self.pinned is not None:
            return [self] if self.outcome is None else []
        return [
            t
            for t in peers
            if t.outcome is None
            and (
                t is self
                or (
                    not t.listed
                    and t.pinned is None
                    and t.ending_since is None
                    and not t.retry_check
                )
            )
        ]

    def __repr__(self) -> str:
        return f"<Tracker {self.execution.describe()} state={self.state!r} due={self.due:.3f}>"


def _number(value: Any) -> float | None:
    """A number that orders answers, or None (absent, or not a number at all)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return value
    return None


def _seconds(value: Any) -> float | None:
    """A number of seconds an answer gives, or None (absent, not a number, not finite)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return seconds if math.isfinite(seconds) else None


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


def share(tracker: Tracker, other: Tracker) -> None:
    """Make *tracker* a peer of *other*, a wait on the same execution still under way.

    Waits on one execution from different batches (or ``wait_for`` calls)
    then share its calls: each answer reaches every one of them, and each
    still ends by its own options (deadline, backoff, retries).
    """
    peers = other.peers
    if peers is None:
        peers = other.peers = [other]
    else:
        # Finished waits leave the list here, so a long-watched execution's stays short.
        peers[:] = [t for t in peers if t.outcome is None]
    peers.append(tracker)
    tracker.peers = peers
