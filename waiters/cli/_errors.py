"""Bad input and unwritable output: the errors the command line answers with exit 2.

Every step that reads what the user gave (a flag's value, a ``--from`` file,
a ``--machines`` definition, the AWS configuration) runs under
:func:`reading`, which turns whatever it raises into a :class:`UsageError`
naming the source. ``main`` catches both errors below in one place and
prints one line; no traceback reaches the user for bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OutputError", "UsageError", "one_line", "reading"]

#: Characters of any value the command line echoes (a status string, an id, an
#: error message): far above any identifier or state AWS defines (an ARN is at
#: most 2,048), far below what a hostile or broken service can send. The
#: library cuts the text it passes on at the same length.
ECHO_LIMIT = 2048


class UsageError(Exception):
    """Bad input found after parsing: exit 2 with ``waiters: error: <message>``."""


class OutputError(Exception):
    """stdout is closed or cannot be written (a full disk): exit 2, nothing more to say."""


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """*text*, cut to *limit* characters with a note of how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def one_line(text: str) -> str:
    """*text* as a single bounded line: a message must not spill over a terminal."""
    return clip(" ".join(text.split()))


def describe_error(exc: BaseException) -> str:
    """What went wrong, in words: our own errors say it; others also name their type."""
    from waiters import WaiterError

    if isinstance(exc, (UsageError, WaiterError)):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start} cannot be decoded)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read: {exc.strerror}"
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def reading(where: str) -> Iterator[None]:
    """Run a step that reads user input; anything it raises is bad input from *where*."""
    try:
        yield
    except UsageError as exc:
        raise UsageError(one_line(str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - input of any shape must end as one line
        raise UsageError(one_line(f"{where}: {describe_error(exc)}")) from None
