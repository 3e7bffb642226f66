"""Exit codes: what a pipeline step can branch on without parsing anything."""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Not at run time: usage errors should not pay for importing the library.
    from waiters import Outcome

__all__ = ["ExitCode", "describe", "exit_code_for", "for_signal"]


class ExitCode(enum.IntEnum):
    OK = 0
    #: At least one execution ended badly: failed, cancelled, vanished, not found.
    FAILED = 1
    #: Usage or bad input (argparse's convention).
    USAGE = 2
    #: The deadline passed before every execution ended, and none ended badly.
    TIMED_OUT = 3
    #: AWS refused for a reason not about the execution: credentials, permissions, endpoint.
    AWS_ERROR = 4
    #: Nothing to wait on: every --all-of parent listed no execution.
    NOTHING = 5
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM


# OutcomeKind values.
_BAD_ENDINGS = frozenset(
    {
        "failed",
        "cancelled",
        "vanished",
        "not_found",
        # Only fail-fast abandons a batch that was not interrupted: failures caused it.
        "abandoned",
    }
)

_MEANING = {
    ExitCode.OK: "every execution succeeded",
    ExitCode.FAILED: "at least one execution ended badly",
    ExitCode.USAGE: "usage or bad input",
    ExitCode.TIMED_OUT: "the deadline passed before every execution ended",
    ExitCode.AWS_ERROR: "AWS refused calls for a reason not about the executions",
    ExitCode.NOTHING: "there was no execution to wait on",
    ExitCode.SIGINT: "interrupted (SIGINT)",
    ExitCode.SIGTERM: "terminated (SIGTERM)",
}


def exit_code_for(outcomes: Iterable[Outcome], accept: Iterable[str] = ()) -> ExitCode:
    """The exit code of a finished wait.

    A definite bad ending outranks an AWS error, which outranks a timeout:
    "the deployment failed" is the answer a pipeline needs first, "fix the
    credentials" second, and "wait longer" last. Outcome kinds in *accept*
    (``--accept vanished``) count as success.
    """
    kinds = {outcome.kind.value for outcome in outcomes} - set(accept)
    if kinds & _BAD_ENDINGS:
        return ExitCode.FAILED
    if "error" in kinds:
        return ExitCode.AWS_ERROR
    if "wait_timeout" in kinds:
        return ExitCode.TIMED_OUT
    return ExitCode.OK


def for_signal(signum: int) -> ExitCode:
    return ExitCode.SIGTERM if signum == signal.SIGTERM else ExitCode.SIGINT


def describe(code: int) -> str:
    try:
        return _MEANING[ExitCode(code)]
    except (ValueError, KeyError):
        return f"exit {code}"
