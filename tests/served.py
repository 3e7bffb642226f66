"""Run waits until the service has served enough calls, however fast the machine is.

Tests of pacing check the seconds of the service's own request log. Given a
fixed few seconds of wall time, a loaded machine fills them with fewer calls
(the first ones open clients and look up accounts), and a check of "at least
so many calls" fails for the machine's speed, not the code's. These tests
run instead until the service has served the calls they need, with a
generous limit for a wait that never gets there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from waiters.simulator import Fleet

__all__ = ["served", "until_served"]

#: Seconds to get the calls before the test fails: far more than any machine needs.
LIMIT = 60.0


def served(fleet: Fleet, operation: str) -> list[float]:
    """When the service took each call of *operation* (``"iot:DescribeJobExecution"``)."""
    return [r.clock_time for r in fleet.requests if r.operation == operation]


async def until_served(
    fleet: Fleet,
    operation: str,
    count: int,
    wait: Callable[[], Awaitable[object]],
    *,
    limit: float = LIMIT,
) -> None:
    """Run *wait* until *fleet* has served *count* calls of *operation*, then cancel it.

    :raises AssertionError: *wait* returned, or *limit* seconds passed, first.
    """
    ended = False

    async def run() -> None:
        nonlocal ended
        await wait()
        ended = True

    with anyio.move_on_after(limit):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            # The fleet tells no one of a request: its log is read every 20 ms.
            while len(served(fleet, operation)) < count and not ended:  # noqa: ASYNC110
                await anyio.sleep(0.02)
            tasks.cancel_scope.cancel()
    got = len(served(fleet, operation))
    assert got >= count, f"{got} of {count} {operation} calls served (waits ended: {ended})"
