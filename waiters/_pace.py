"""How far apart polls may be while an event source is heard: polling as a safety net.

While a healthy event source reports executions' changes, a waiting
execution needs polling only in case an event is lost: once every *bound*
seconds. When the source fails or falls silent, :attr:`Pace.bound` goes back
to ``None`` and polling to its normal cadence; whoever sleeps on the pace
(a parent's sweeps) is woken to say so.
"""

from __future__ import annotations

import anyio

from ._clock import Clock

__all__ = ["Pace"]


class Pace:
    """The safety-net bound while events are heard, shared by a poller's waits.

    :param bound: seconds between observations of one execution while the
        event source is healthy.
    """

    __slots__ = ("_changed", "bound", "healthy_bound")

    def __init__(self, bound: float) -> None:
        #: The bound that applies now: ``None`` while events are not heard.
        self.bound: float | None = None
        self.healthy_bound = bound
        self._changed = anyio.Event()

    def heard(self, healthy: bool) -> bool:
        """Set whether the source is heard; True if that changed anything."""
        bound = self.healthy_bound if healthy else None
        if bound == self.bound:
            return False
        self.bound = bound
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        return True

    async def sleep_until(self, clock: Clock, deadline: float) -> bool:
        """Sleep until *deadline* on *clock*, or until the pace changes; True if it changed."""
        changed = self._changed
        if changed.is_set():
            return True
        woken = False
        async with anyio.create_task_group() as tasks:

            async def timer() -> None:
                await clock.sleep_until(deadline)
                tasks.cancel_scope.cancel()

            tasks.start_soon(timer)
            await changed.wait()
            woken = True
            tasks.cancel_scope.cancel()
        return woken
