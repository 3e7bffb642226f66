"""One exception tree: :class:`WaiterError` and its categories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._scrub import scrub

if TYPE_CHECKING:
    from ._execution import Execution
    from ._outcome import Outcome

__all__ = [
    "CallbackError",
    "DefinitionError",
    "ExecutionFailed",
    "ExecutionNotFound",
    "ExecutionVanished",
    "InvalidExecution",
    "InvalidOption",
    "ServiceError",
    "WaitTimeout",
    "WaiterError",
]


class WaiterError(Exception):
    """Base of every error this package raises.

    Carries the execution, the reason, the last response and the number of
    calls made, and, when the wait ended, its :class:`~waiters.Outcome`.
    """

    def __init__(
        self,
        message: str,
        *,
        execution: Execution | None = None,
        reason: str | None = None,
        last_response: Mapping[str, Any] | None = None,
        attempts: int = 0,
        outcome: Outcome | None = None,
    ) -> None:
        """Every error of the package, and each subclass, takes these.

        :param message: the error's text, as ``str(error)`` gives it (with
            credentials, tokens and signatures redacted, and at most about
            2,048 characters, as for *reason*).
        :param execution: the :class:`~waiters.Execution` it is about, if any.
        :param reason: why, in the service's words where it gave any
            (statusDetails, statusReason, the error message), with
            credentials, tokens and signatures redacted and a longer text
            cut with a marker.
        :param last_response: the last answer about the execution, if any.
        :param attempts: the calls that reported on the execution (default 0).
        :param outcome: the :class:`~waiters.Outcome` the wait ended with, if it did.
        """
        # Service words (a quoted canonical request, a 10 MB message) leave scrubbed.
        super().__init__(scrub(message))
        self.execution = execution
        self.reason = scrub(reason) if reason is not None else None
        self.last_response = last_response
        self.attempts = attempts
        self.outcome = outcome

    @classmethod
    def from_outcome(cls, message: str, outcome: Outcome) -> WaiterError:
        """The error of this class for a wait that ended with *outcome*.

        :param message: the error's text.
        :param outcome: the outcome; its execution, reason, response and
            attempts fill the error's.
        """
        return cls(
            message,
            execution=outcome.execution,
            reason=outcome.reason,
            last_response=outcome.response,
            attempts=outcome.attempts,
            outcome=outcome,
        )


class ExecutionFailed(WaiterError):
    """The execution ended in a failed or cancelled state."""


class WaitTimeout(WaiterError, TimeoutError):
    """The wait's deadline passed before the execution ended."""


class ExecutionNotFound(WaiterError):
    """The service does not know the execution (after the grace window)."""


class ExecutionVanished(WaiterError):
    """The execution was seen, then the service stopped reporting it.

    Transfer Family describes only executions in progress, so its executions
    end this way: finished, with no record of how.
    """


class ServiceError(WaiterError):
    """The service refused the call for a reason that waiting cannot fix.

    Expired credentials, access denied, a rejected request: the wait ends at
    once instead of retrying.
    """


class InvalidExecution(WaiterError, ValueError):
    """The wait was described wrongly (the execution or an option); raised before any call."""


class InvalidOption(InvalidExecution, TypeError):
    """An option of the wrong type or out of range; raised where it is given, before any call.

    Both a :class:`TypeError` and (through :class:`InvalidExecution`) a
    :class:`ValueError`, as Python's own checks would raise one or the other.
    """

    def __init__(self, message: str, *, option: str, value: Any) -> None:
        """
        :param message: the error's text, naming the option and the value.
        :param option: the option's name (``"timeout"``, ``"FailFast.count"``).
        :param value: the value given.
        """
        super().__init__(message, reason=message)
        #: The option's name, as the message gives it.
        self.option = option
        #: The value given.
        self.value = value


class DefinitionError(WaiterError, ValueError):
    """A state machine definition is malformed (names the file and the key)."""


class CallbackError(WaiterError):
    """A batch's ``on_transition`` or ``on_outcome`` callback raised.

    The batch went on: every outcome is in :attr:`result`. Raised by
    ``Batch.wait()`` (and so ``wait_all``) once every execution ended; the
    callback's own exception is the ``__cause__``.
    """

    def __init__(self, message: str, *, callback: str, result: Any) -> None:
        """
        :param message: the error's text (also its ``reason``).
        :param callback: ``"on_transition"`` or ``"on_outcome"``.
        :param result: the batch's :class:`~waiters.BatchResult`, every outcome.
        """
        super().__init__(message, reason=message)
        #: ``"on_transition"`` or ``"on_outcome"``.
        self.callback = callback
        #: The batch's :class:`~waiters.BatchResult`.
        self.result = result
