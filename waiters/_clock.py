"""Time, injected.

Every wait reads time from a :class:`Clock`. The default reads the event loop's
monotonic clock, never ``time.time()``, so a virtual-time loop (see
:mod:`waiters.testing`) runs hours of waiting in milliseconds.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "LoopClock", "bound_clock"]


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock that can sleep until an absolute time.

    A :class:`typing.Protocol` to implement (``runtime_checkable``: a poller
    checks ``isinstance(clock, Clock)``), not a class to instantiate: any
    object with these two methods is a clock, such as :class:`LoopClock` or
    :class:`waiters.testing.MockClock`. Times are float seconds on the
    clock's own monotonic scale, not epoch time.

    :param args: none: calling ``Clock(...)`` raises ``TypeError``
        ("Protocols cannot be instantiated").
    :param kwargs: none, likewise.
    """

    def now(self) -> float:
        """Return the current time in seconds."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once :meth:`now` has reached *deadline*.

        :param deadline: an absolute time in seconds on this clock's scale
            (as :meth:`now` reads it); one already past returns at once.
        """
        ...


class LoopClock:
    """The running event loop's clock (the default).

    It reads ``anyio.current_time()``, the loop's monotonic clock, never
    ``time.time()``; under a :class:`waiters.testing.MockClock` that is mock
    time. It takes no arguments and holds no state, so one instance serves
    every loop; it must be read from inside a running event loop.
    """

    __slots__ = ()

    def now(self) -> float:
        """The running event loop's time, in seconds (``anyio.current_time()``).

        :raises RuntimeError: no event loop is running in this thread (anyio's error).
        """
        return anyio.current_time()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the loop's time reaches *deadline* (``anyio.sleep_until``).

        :param deadline: an absolute loop time in seconds, as :meth:`now`
            reads it; one already past returns after a checkpoint.
        """
        await anyio.sleep_until(deadline)

    def __repr__(self) -> str:
        return "LoopClock()"


class _AsyncioClock:
    """LoopClock bound to one asyncio loop: the poller reads time on every poll,
    and anyio's backend lookup per reading costs more than the poll itself."""

    __slots__ = ("now",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.now = loop.time

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.now()
        await asyncio.sleep(delay if delay > 0 else 0)


def bound_clock(clock: Clock) -> Clock:
    """A faster equivalent of *clock* for the running loop, where there is one."""
    if type(clock) is LoopClock:
        try:
            # Only asyncio sets a running loop; under trio this raises and the clock stays.
            return _AsyncioClock(asyncio.get_running_loop())
        except RuntimeError:
            pass
    return clock
