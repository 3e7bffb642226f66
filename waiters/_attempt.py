"""The attempt: one call, from its budget slot to a classified answer.

Every call this package makes (a Describe of one execution, a page of a list
sweep, a job's progress counts, the command line's listing of a parent) goes
through an :class:`Endpoint`: it takes a slot from the budget of its account,
region and operation, bounds the call by the call timeout and the time left
before the deadline, classifies the answer or the error, and tells the budget
how the call went. Callers get an :class:`Answer` and never branch on
exceptions themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from ._budget import RateBudget, Slot
from ._calls import Caller, Failure, FailureKind, classify, make_caller
from ._clock import Clock
from ._machine import StateMachine
from ._scrub import scrub_exception

__all__ = ["Answer", "CallStats", "Endpoint"]

_MALFORMED = Failure(
    FailureKind.TRANSIENT, "MalformedResponse", "no members in the answer", None, None
)
_NOT_A_MAPPING = Failure(
    FailureKind.TRANSIENT, "MalformedResponse", "the answer is not a mapping", None, None
)
#: A slot that came after the deadline: no call was made.
_TOO_LATE: Answer


class Answer:
    """What one call came back with: a response, or a classified failure.

    ``failure`` is ``None`` for a usable response. ``error`` is the exception
    behind a failure, if any; an exception nobody could classify has ``error``
    set and ``failure`` ``None`` (see :attr:`unclassified`).
    """

    __slots__ = ("error", "failure", "response")

    def __init__(
        self,
        response: Mapping[str, Any] | None,
        failure: Failure | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.response = response
        self.failure = failure
        self.error = error

    @property
    def ok(self) -> bool:
        return self.response is not None

    @property
    def unclassified(self) -> bool:
        """An exception that is not the service's (a bug, a broken client)."""
        return self.response is None and self.failure is None

    def __repr__(self) -> str:
        if self.response is not None:
            return "<Answer ok>"
        if self.failure is not None:
            return f"<Answer {self.failure.kind.value} {self.failure.code}>"
        return f"<Answer unclassified {type(self.error).__name__}>"


class CallStats:
    """Calls made, and what came of them. One definition of each figure.

    ``calls`` counts every call made; ``throttles`` those the service
    throttled; ``errors`` those that failed transiently (5xx, a reset
    connection, a malformed answer, no answer within the call timeout).

    Calls that serve many batches at once (a list sweep's pages) are recorded
    once in a shared tally; each batch it serves follows that tally
    (:meth:`follow`) while it does, so a call costs the same however many batches it serves.
    """

    __slots__ = ("_calls", "_errors", "_followed", "_throttles")

    def __init__(self) -> None:
        self._calls = 0
        self._throttles = 0
        self._errors = 0
        #: Tallies counted in, each with its figures when following began.
        self._followed: dict[CallStats, tuple[int, int, int]] | None = None

    def _with_followed(self, own: int, field: int) -> int:
        """*own* plus what each followed tally recorded of figure *field* since following."""
        if not self._followed:
            return own
        return own + sum(t._figures()[field] - base[field] for t, base in self._followed.items())

    def _figures(self) -> tuple[int, int, int]:
        return self._calls, self._throttles, self._errors

    @property
    def calls(self) -> int:
        """Calls made."""
        return self._with_followed(self._calls, 0)

    @property
    def throttles(self) -> int:
        """Calls the service throttled."""
        return self._with_followed(self._throttles, 1)

    @property
    def errors(self) -> int:
        """Calls that failed transiently."""
        return self._with_followed(self._errors, 2)

    def record(self, answer: Answer) -> None:
        self._calls += 1
        failure = answer.failure
        if failure is not None:
            if failure.kind is FailureKind.THROTTLED:
                self._throttles += 1
            elif failure.kind is FailureKind.TRANSIENT:
                self._errors += 1

    def follow(self, tally: CallStats) -> None:
        """Count every call *tally* records from now on, until :meth:`unfollow`."""
        if self._followed is None:
            self._followed = {}
        self._followed.setdefault(tally, tally._figures())

    def unfollow(self, tally: CallStats) -> None:
        """Keep what *tally* recorded while followed; count nothing more of it."""
        if not self._followed or tally not in self._followed:
            return
        calls, throttles, errors = self._followed.pop(tally)
        self._calls += tally._calls - calls
        self._throttles += tally._throttles - throttles
        self._errors += tally._errors - errors

    def __repr__(self) -> str:
        return f"<CallStats calls={self.calls} throttles={self.throttles} errors={self.errors}>"


class Endpoint:
    """One operation of one client, paced by its budget.

    :param client: a boto3, aioboto3 or in-process client; blocking clients
        are called in worker threads.
    :param method: the client method (``describe_job_execution``).
    :param operation: the operation's name in the model, for messages.
    :param machine: the definition whose error rules classify failures
        (``None`` for a call of no execution type's, such as SQS's: the
        generic rules alone).
    :param budget: the shared :class:`~waiters.BudgetStats` source for this
        account, region and operation.
    :param clock: the wait's clock (deadlines).
    :param call_timeout: seconds a call may go unanswered (greater than 0). A
        blocking botocore client's calls also give up at the socket after it,
        in one attempt: an abandoned worker thread ends within it too.
    :param expects_members: an answer with no members at all is malformed
        (botocore parses a truncated JSON body into an empty response).
    :param observe: called with every call's answer (metrics), if given.
    :param pace: the budget's clock (default *clock*): the event loop's, so
        waits whose clocks differ (a custom ``clock=``) share a budget on one
        time scale; a rate is a pace in real time whatever a wait's clock says.
    """

    __slots__ = (
        "_call",
        "_no_answer",
        "_observe",
        "budget",
        "call_timeout",
        "client",
        "clock",
        "expects_members",
        "machine",
        "operation",
        "pace",
    )

    def __init__(
        self,
        client: Any,
        method: str,
        operation: str,
        machine: StateMachine | None,
        budget: RateBudget,
        clock: Clock,
        call_timeout: float,
        *,
        expects_members: bool = True,
        observe: Callable[[Answer], None] | None = None,
        pace: Clock | None = None,
    ) -> None:
        self.client = client
        self.pace = pace if pace is not None else clock
        self._observe = observe
        self.operation = operation
        self.machine = machine
        self.budget = budget
        self.clock = clock
        self.call_timeout = call_timeout
        self.expects_members = expects_members
        self._call: Caller = make_caller(client, method, timeout=call_timeout)
        error = TimeoutError(f"{operation}: no answer within {call_timeout:g}s")
        self._no_answer = Answer(None, classify(error, machine), error)

    async def slot(self) -> Slot:
        """Wait for this operation's next budget slot, in turn, and take it.

        :returns: the slot, to pass to :meth:`call`, or to release unused.
        """
        # Timed: the slot counts as sent at every moment until its call ends
        # (see call).
        budget = self.budget
        slot = await budget.acquire(self.pace, timed=True)
        while self.budget is not budget:
            # Moved to its account's budget while in the old one's line: a slot of
            # the old would go uncounted by the new. It counts where granted.
            slot.release()
            budget = self.budget
            slot = await budget.acquire(self.pace, timed=True)
        return slot

    async def call(
        self, params: Mapping[str, Any], *, limit: float | None, slot: Slot | None = None
    ) -> Answer:
        """Make the call (the slot already taken) and classify how it went.

        :param limit: seconds to wait for the answer; ``None`` when the caller
            enforces the call timeout itself (a lane's watchdog cancels it and
            reports :meth:`no_answer`).
        :param slot: the slot taken for it (from :meth:`slot`): it counts until
            the call ends, as the moment the service logged it.
        """
        answer: Answer | None = None
        sent = self.pace.now()
        try:
            if limit is None:
                answer = self._answer(await self._call(params))
            else:
                with anyio.move_on_after(limit):
                    answer = self._answer(await self._call(params))
                if answer is None:
                    answer = self._no_answer
        except Exception as exc:  # noqa: BLE001 - every failure is classified or returned
            answer = self._failed(exc, sent)
        finally:
            if slot is not None:
                # The service logs a call somewhere between the moment it leaves
                # and the moment its answer is back, and no hook tells when the
                # bytes left: a worker thread's hand-off, a new connection, an
                # HTTP session made after botocore's before-send (aiobotocore's
                # first call), a stalled process. Counted at its end, no call
                # shares a second of the service's log with more than the rate
                # allows, however late it left.
                slot.sent()
        if self._observe is not None:
            self._observe(answer)
        return answer

    async def attempt(
        self,
        params: Mapping[str, Any],
        *,
        deadline: float = math.inf,
        limiter: anyio.Semaphore | None = None,
    ) -> Answer:
        """Take a slot, then make the call, bounded by the call timeout and *deadline*.

        :param deadline: the absolute time (on the endpoint's clock) after
            which the answer is of no use; a call is not started after it.
        :param limiter: held for the call only (calls in flight per client),
            never while waiting for the slot.
        """
        slot = await self.slot()
        left = deadline - self.clock.now()
        if left <= 0:
            slot.release()
            return _TOO_LATE
        limit = self.call_timeout if self.call_timeout < left else left
        if limiter is None:
            return await self.call(params, limit=limit, slot=slot)
        async with limiter:
            return await self.call(params, limit=limit, slot=slot)

    def close(self) -> None:
        """Close the connections this endpoint opened for itself (not the client's own)."""
        self._call.close()

    def no_answer(self) -> Answer:
        """The answer of a call that outlived its time: a transient timeout."""
        if self._observe is not None:
            self._observe(self._no_answer)
        return self._no_answer

    def _answer(self, response: Mapping[str, Any]) -> Answer:
        if not isinstance(response, Mapping):
            return Answer(None, _NOT_A_MAPPING)
        if self.expects_members and response.keys() <= {"ResponseMetadata"}:
            return Answer(None, _MALFORMED)
        self.budget.on_success(self.pace.now())
        return Answer(response)

    def _failed(self, exc: Exception, sent: float) -> Answer:
        # Kept by the outcome and chained under the error raised: its text
        # (a message quoting the request) leaves scrubbed too.
        scrub_exception(exc)
        failure = classify(exc, self.machine)
        if failure is not None and failure.kind is FailureKind.THROTTLED:
            self.budget.on_throttle(self.pace.now(), sent)
        return Answer(None, failure, exc)

    def __repr__(self) -> str:
        service = self.budget.key[2]
        return f"<Endpoint {service}.{self.operation} {self.budget!r}>"


_TOO_LATE = Answer(
    None,
    Failure(
        FailureKind.TRANSIENT,
        "DeadlinePassed",
        "the deadline passed before a budget slot came; no call was made",
        None,
        None,
    ),
)
