"""Rate budgets: pacing, turns, throttling and recovery, and life across event loops."""

from __future__ import annotations

import itertools
import math
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import BACKENDS
from waiters import BudgetConfig, BudgetRegistry, LoopClock, Poller
from waiters._budget import RateBudget, default_budgets
from waiters.testing import MockClock

KEY = ("key-1", "us-east-1", "iot", "DescribeJobExecution")


def _budget(rate: float, now: float = 0.0, **config: Any) -> RateBudget:
    return RateBudget(
        KEY, BudgetConfig(initial_rate=rate, max_rate=rate, min_rate=min(rate, 0.2), **config), now
    )


def _most_in_any_window(times: list[float], width: float = 1.0) -> int:
    """The most calls that fall in any window [t, t + width) starting at a call."""
    times = sorted(times)
    best = 0
    first = 0
    for last, t in enumerate(times):
        while t - times[first] >= width:
            first += 1
        best = max(best, last - first + 1)
    return best


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.5, 50.0), callers=st.integers(1, 12), calls=st.integers(1, 8))
def test_slots_never_exceed_the_rate_in_any_second(
    backend: str, rate: float, callers: int, calls: int
) -> None:
    """However many callers queue, no one-second window holds more than the rate."""
    times: list[float] = []

    async def main() -> None:
        clock = LoopClock()
        budget = _budget(rate, clock.now())

        async def caller() -> None:
            for _ in range(calls):
                await budget.acquire(clock)
                times.append(clock.now())

        async with anyio.create_task_group() as tasks:
            for _ in range(callers):
                tasks.start_soon(caller)

    MockClock().run(main, backend=backend)
    assert len(times) == callers * calls
    assert _most_in_any_window(times) <= math.floor(rate) + 1
    # Evenly paced: consecutive slots one interval apart, never closer.
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 1 / rate - 1e-9 for gap in gaps)


@pytest.mark.anyio
async def test_callers_are_served_in_turn(mock_clock: MockClock) -> None:
    """Slots go first come, first served."""
    clock = LoopClock()
    budget = _budget(2.0, clock.now())
    order: list[int] = []

    async def caller(n: int) -> None:
        await budget.acquire(clock)
        order.append(n)

    async with anyio.create_task_group() as tasks:
        for n in range(6):
            tasks.start_soon(caller, n)
            await anyio.sleep(0.001)
    assert order == list(range(6))


@pytest.mark.anyio
async def test_a_caller_that_gives_up_books_nothing(mock_clock: MockClock) -> None:
    """Cancelled while in line, a caller leaves no slot behind for others to wait out."""
    clock = LoopClock()
    budget = _budget(1.0, clock.now())
    await budget.acquire(clock)  # the slot at 0; the next is at 1
    start = clock.now()
    async with anyio.create_task_group() as tasks:
        for _ in range(30):
            tasks.start_soon(budget.acquire, clock)
        await anyio.sleep(0.5)
        tasks.cancel_scope.cancel()
    await budget.acquire(clock)
    # The 30 quitters booked nothing: the next slot is the one at 1 s, not 31 s.
    assert clock.now() - start == pytest.approx(1.0, abs=1e-5)
    assert budget.calls == 2


@pytest.mark.anyio
async def test_throttling_cuts_the_rate_once_per_episode_then_it_recovers(
    mock_clock: MockClock,
) -> None:
    """A burst of throttles is one cut of 30%; the rate grows back to the ceiling in time."""
    clock = LoopClock()
    budget = RateBudget(KEY, BudgetConfig(initial_rate=10, max_rate=10), clock.now())
    for _ in range(5):
        budget.on_throttle(clock.now())
    assert budget.cuts == 1
    assert budget.throttles == 5
    assert budget.rate == pytest.approx(7.0)
    await anyio.sleep(2.0)
    budget.on_throttle(clock.now())
    assert budget.cuts == 2
    assert budget.rate == pytest.approx(4.9)
    await anyio.sleep(60.0)
    assert budget.stats(clock.now()).rate == pytest.approx(10.0)


@pytest.mark.anyio
async def test_a_throttle_pushes_back_the_caller_in_line(mock_clock: MockClock) -> None:
    """A caller already waiting for a slot waits at the new, slower pace."""
    clock = LoopClock()
    budget = _budget(10.0, clock.now(), decrease=0.5)
    await budget.acquire(clock)
    budget.on_throttle(clock.now())
    await budget.acquire(clock)
    assert clock.now() == pytest.approx(0.2, rel=1e-3)


def test_try_acquire_takes_only_a_free_slot() -> None:
    """try_acquire never waits: a slot now, or nothing."""
    budget = _budget(1.0)
    assert budget.try_acquire(0.0)
    assert not budget.try_acquire(0.5)
    assert budget.try_acquire(1.0 + 1e-5)
    assert budget.calls == 2


def test_bad_configuration_names_the_field() -> None:
    """Wrong types and values fail at construction, naming the field and the value."""
    with pytest.raises(TypeError, match=r"BudgetConfig\.decrease must be a number, got '0\.5'"):
        BudgetConfig(decrease="0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"BudgetConfig\.cooldown must be a number, got nan"):
        BudgetConfig(cooldown=math.nan)
    with pytest.raises(ValueError, match=r"BudgetConfig\.max_rate must be a positive number"):
        BudgetConfig(max_rate=0)
    with pytest.raises(TypeError, match="config must be a BudgetConfig"):
        BudgetRegistry("x")  # type: ignore[arg-type]


@pytest.mark.parametrize("backends", [("asyncio", "trio", "asyncio"), ("trio", "asyncio")])
def test_a_registry_follows_the_event_loop(backends: tuple[str, ...]) -> None:
    """One registry over several loops in turn: its times move to each loop's clock."""
    registry = BudgetRegistry(BudgetConfig(initial_rate=1, max_rate=1))
    waited: list[float] = []

    async def main() -> None:
        clock = LoopClock()
        budget = registry.get(KEY, clock.now())
        start = clock.now()
        await budget.acquire(clock)
        await budget.acquire(clock)
        waited.append(clock.now() - start)

    for index, backend in enumerate(backends):
        # Each loop's clock starts somewhere else: 0, 10**6, 2 * 10**6...
        MockClock(start=index * 1e6).run(main, backend=backend)
    # The first loop waits one interval for its second slot; each later loop waits
    # at most two (its first slot comes one interval after the last one used).
    assert waited[0] == pytest.approx(1.0, abs=1e-3)
    assert all(w <= 2.0 + 1e-3 for w in waited)


def test_a_real_clock_then_a_mock_clock_share_the_default_budgets_safely() -> None:
    """A real-clock loop, then a mock-clock loop: neither waits for the other's times."""
    # The registries themselves, not their ids: a freed registry's id can be reused.
    seen: list[tuple[BudgetRegistry, float]] = []

    async def main() -> None:
        clock = LoopClock()
        registry = default_budgets()
        budget = registry.get(KEY, clock.now())
        start = clock.now()
        for _ in range(3):
            await budget.acquire(clock)
        seen.append((registry, clock.now() - start))

    anyio.run(main)
    MockClock(start=3e9).run(main)
    MockClock(start=1e9).run(main, backend="trio")
    # Each run has a registry of its own (the default belongs to the event loop)...
    assert len({id(registry) for registry, _ in seen}) == 3
    # ...and paces at the default 5 calls/s: two intervals for three slots.
    assert all(waited == pytest.approx(0.4, abs=0.05) for _, waited in seen)


@pytest.mark.anyio
async def test_a_storm_where_every_call_is_throttled_drives_the_rate_to_its_floor(
    mock_clock: MockClock,
) -> None:
    """Time alone never grows the rate back while every call is throttled: it falls to
    min_rate; the first answer after the storm finds it recovered along the curve."""
    clock = LoopClock()
    budget = RateBudget(KEY, BudgetConfig(initial_rate=50, max_rate=50), clock.now())
    start = clock.now()
    while clock.now() - start < 60:
        await budget.acquire(clock)
        budget.on_throttle(clock.now())
    assert budget.rate == pytest.approx(0.2)
    await anyio.sleep(30)
    budget.on_success(clock.now())
    assert budget.rate == pytest.approx(50)


def test_a_lower_ceiling_alone_brings_the_defaults_down() -> None:
    """BudgetConfig(max_rate=2) starts at 2 (not an error); an explicit start above the
    ceiling is still refused, saying what to change."""
    config = BudgetConfig(max_rate=2.0)
    assert (config.initial_rate, config.max_rate) == (2.0, 2.0)
    assert BudgetConfig(max_rate=0.1).min_rate == 0.1
    with pytest.raises(ValueError, match=r"initial_rate=8\.0, max_rate=2\.0; change"):
        BudgetConfig(initial_rate=8.0, max_rate=2.0)
    with pytest.raises(ValueError, match="region_name must name a region"):
        Poller(region_name="")


def test_rekeying_a_budget_keeps_its_pacing() -> None:
    """The credentials' budget moved under the account's key paces on unbroken; an
    account budget that already exists takes over its next slot: no burst at handover."""
    anyio.run(_rekeying)


async def _rekeying() -> None:
    registry = BudgetRegistry(BudgetConfig(initial_rate=2, max_rate=2, min_rate=0.2))
    digest = ("key-abc", "us-east-1", "iot", "DescribeJobExecution")
    account = ("123456789012", "us-east-1", "iot", "DescribeJobExecution")
    first = registry.get(digest, 0.0)
    assert first.try_acquire(0.0)
    moved = registry.rekey(digest, account, 0.1)
    assert moved is first and moved.key == account
    assert not moved.try_acquire(0.2)  # its next slot is at 0.5, as before the move
    assert moved.try_acquire(0.51)
    assert [s.key for s in registry.stats()] == [account]

    # A second credential of the same account: its budget hands over its next slot.
    other = ("key-def", "us-east-1", "iot", "DescribeJobExecution")
    second = registry.get(other, 0.5)
    assert second.try_acquire(0.9)  # its own next slot: 1.4
    kept = registry.rekey(other, account, 1.0)
    assert kept is moved
    assert not kept.try_acquire(1.2)
    assert kept.try_acquire(1.41)
