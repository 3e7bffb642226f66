"""SIGINT and SIGTERM for one run of the command, from its first line to its last.

One Python handler owns both signals for the whole run: it records each
signal and wakes whoever waits for them. It is never swapped for an event
loop's handler, because closing such a receiver puts the default action back
(asyncio's ``remove_signal_handler``) and a signal in that gap killed the
process before it could say anything. The handler never raises while Python
imports, parses or waits: the signal is acted on where the command can still
report every execution it was given. The one exception is a read that may
block for ever (``--from -`` on a pipe that is never closed), inside
:meth:`ProcessSignals.interruptible`.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from types import FrameType

# Imported before the handlers are in place: nothing that is not needed (see main).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    _Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
del TYPE_CHECKING

__all__ = ["SIGNALS", "Interrupted", "ProcessSignals", "process_signals"]

#: The signals the command answers with a summary and exit 128 + the signal's number.
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds between looks at the record while waiting for a signal: a signal the kernel
#: hands to another thread runs the handler only once the main thread next wakes, and
#: two signals pending then run in signal-number order, not arrival order. A short tick
#: keeps the record in arrival order for signals this far apart or more.
_TICK = 0.02


class Interrupted(BaseException):
    """A signal cut short a read that could have blocked for ever.

    A ``BaseException``, like ``KeyboardInterrupt``: no ``except Exception``
    on the way may swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ProcessSignals:
    """The record of every SIGINT and SIGTERM, and the handler that keeps it."""

    def __init__(self) -> None:
        #: Signal numbers in the order they arrived.
        self.received: list[int] = []
        self._previous: dict[int, _Handler] = {}
        self._raising = False
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    @property
    def first(self) -> int | None:
        """The first signal's number, or ``None`` if none arrived."""
        return self.received[0] if self.received else None

    def install(self) -> None:
        """Take SIGINT and SIGTERM over (main thread only; raises ``ValueError`` elsewhere)."""
        if self.installed:
            return
        self.received.clear()
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self, *, ignore: bool = False) -> None:
        """Give the signals back: to their previous handlers, or (*ignore*) to nobody.

        Ignoring is for the process's own exit: the summary is written, and a
        signal now must not kill the process and change its exit code.
        """
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_IGN if ignore else previous)
        self._previous.clear()
        for sock in (self._reader, self._writer):
            if sock is not None:
                sock.close()
        self._reader = self._writer = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        writer = self._writer
        if writer is not None:
            # Full (a storm of signals) or closed: the record is what counts.
            with contextlib.suppress(OSError):
                writer.send(b"\0")
        if self._raising:
            self._raising = False
            raise Interrupted(self.received[0])

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Around a read that may block for ever: a signal (or one already in) raises.

        :raises Interrupted: once, for the first signal; later ones are only recorded.
        """
        if self.received:
            raise Interrupted(self.received[0])
        self._raising = True
        try:
            yield
        finally:
            self._raising = False

    async def arrivals(self, since: int = 0) -> AsyncIterator[int]:
        """Each signal after the first *since* received, as it arrives (any anyio backend)."""
        import anyio

        seen = since
        while True:
            while seen < len(self.received):
                seen += 1
                yield self.received[seen - 1]
            reader = self._reader
            if reader is None:
                await anyio.sleep(_TICK)
                continue
            with anyio.move_on_after(_TICK):
                await anyio.wait_readable(reader)
            with contextlib.suppress(OSError):
                while reader.recv(512):
                    pass


_PROCESS = ProcessSignals()


def process_signals() -> ProcessSignals:
    """The one record for this process (signal handlers are the process's, not a call's)."""
    return _PROCESS
