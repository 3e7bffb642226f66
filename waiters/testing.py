"""Helpers for testing code that waits: virtual time.

Run a coroutine on an event loop whose clock jumps ahead whenever every task
is asleep, so a wait of hours finishes in milliseconds and deterministically::

    from waiters.testing import run_virtual

    outcome = run_virtual(wait_for, execution, timeout=3600)

Everything that reads the loop's clock (``anyio.sleep``, timeouts, the
default :class:`~waiters.LoopClock`) sees virtual time. Real I/O still works:
the loop only jumps when nothing is ready. A blocking call running in a worker
thread does not hold virtual time back, so keep those for real-clock tests.

The in-process simulator clients (:meth:`waiters.simulator.Fleet.async_client`)
are the natural partner: give the fleet ``clock=virtual_clock()``'s reading.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["VirtualTimeLoop", "run_virtual"]

_T = TypeVar("_T")


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on virtual time."""

    def __init__(self, start: float = 0.0) -> None:
        super().__init__()
        self._virtual_now = start
        selector = self._selector  # type: ignore[attr-defined]
        real_select = selector.select

        def select(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            ready: list[tuple[selectors.SelectorKey, int]] = real_select(0)
            if ready or timeout == 0:
                return ready
            if timeout is None:
                # Nothing is scheduled: only real I/O (or a thread) can wake us.
                blocked: list[tuple[selectors.SelectorKey, int]] = real_select(None)
                return blocked
            self._virtual_now += timeout
            return []

        selector.select = select

    def time(self) -> float:
        return self._virtual_now


def run_virtual(
    func: Callable[..., Awaitable[_T]], *args: Any, start: float = 0.0, **kwargs: Any
) -> _T:
    """Run ``func(*args, **kwargs)`` to completion on a fresh virtual-time loop."""

    async def main() -> _T:
        return await func(*args, **kwargs)

    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(main())
