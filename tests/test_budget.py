"""Rate budgets: pacing, turns, throttling and recovery, and life across event loops."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import BACKENDS
from waiters import BudgetConfig, BudgetRegistry, InvalidOption, LoopClock, Poller
from waiters._budget import RateBudget, Slot, default_budgets
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
    # Paced at the rate on average, in groups of at most a tenth of a second's worth
    # (GCRA with that burst tolerance): any n slots span at least n - group intervals.
    group = max(1, int(rate * 0.1))
    for first, start in enumerate(times):
        for last in range(first + group, len(times)):
            assert times[last] - start >= (last - first + 1 - group) / rate - 1e-9


@pytest.mark.parametrize(("rate", "group"), [(10.0, 1), (50.0, 5), (200.0, 20)])
def test_slots_come_in_groups_that_share_a_wake_up(rate: float, group: int) -> None:
    """Reported: one slot per 1/rate seconds woke the process once per call, and a
    wake-up costs as much as the call. Callers queued at 50 calls/s now get five slots
    per wake-up, at the same average rate and never more than the rate in a second."""
    times: list[float] = []

    async def main() -> None:
        clock = LoopClock()
        budget = _budget(rate, clock.now())

        async def caller() -> None:
            for _ in range(20):
                await budget.acquire(clock)
                times.append(clock.now())

        async with anyio.create_task_group() as tasks:
            for _ in range(group * 2):
                tasks.start_soon(caller)

    MockClock().run(main)
    # One wake-up per group; at whole rates the window (the rate per second plus the
    # jitter margin) now and then holds a group back a little and splits it.
    instants = len(set(times))
    assert instants <= 1.1 * len(times) / group + 1, (instants, len(times))
    assert _most_in_any_window(times) <= math.ceil(rate)
    span = max(times) - min(times)
    assert (len(times) - group) / span <= rate * (1 + 1e-6)


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
    # No jitter: the slot after the first comes exactly one interval later.
    budget = _budget(1.0, clock.now(), jitter=0.0)
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


async def _demand(budget: RateBudget, clock: LoopClock, seconds: float) -> None:
    """One caller that always wants the next slot, for *seconds*: every answer served."""
    end = clock.now() + seconds
    while clock.now() < end:
        await budget.acquire(clock)
        budget.on_success(clock.now())


@pytest.mark.anyio
async def test_throttling_cuts_the_rate_once_per_episode_then_it_recovers(
    mock_clock: MockClock,
) -> None:
    """A burst of throttles is one cut of 30%; idle, the rate stays where the cut left
    it; under demand it grows back to the ceiling."""
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
    budget.on_success(clock.now())
    assert budget.stats().rate == pytest.approx(4.9)
    # K = (7 * 0.3 / 0.4) ** (1/3), about 1.7 s of demand back to the 7 it was cut
    # from, then the curve's convex half reaches the ceiling within seconds.
    await _demand(budget, clock, 6.0)
    assert budget.stats().rate == pytest.approx(10.0)


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
    budget = _budget(1.0, jitter=0.0)
    assert budget.try_acquire(0.0)
    assert not budget.try_acquire(0.5)
    assert budget.try_acquire(1.0 + 1e-5)
    assert budget.calls == 2


def test_bad_configuration_names_the_field() -> None:
    """Wrong types and values fail at construction, naming the field and the value."""
    with pytest.raises(
        InvalidOption, match=r"BudgetConfig\.decrease must be a number .*, got '0\.5'"
    ):
        BudgetConfig(decrease="0.5")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidOption, match=r"BudgetConfig\.cooldown must be a finite duration, got nan"
    ):
        BudgetConfig(cooldown=math.nan)
    with pytest.raises(InvalidOption, match=r"BudgetConfig\.max_rate must be a positive number"):
        BudgetConfig(max_rate=0)
    with pytest.raises(InvalidOption, match="config must be a BudgetConfig"):
        BudgetRegistry("x")  # type: ignore[arg-type]


@pytest.mark.parametrize("backends", [("asyncio", "trio", "asyncio"), ("trio", "asyncio")])
def test_a_registry_follows_the_event_loop(backends: tuple[str, ...]) -> None:
    """One registry over several loops in turn: its times move to each loop's clock."""
    registry = BudgetRegistry(BudgetConfig(initial_rate=1, max_rate=1, jitter=0.0))
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
    min_rate, stays there while idle, and climbs the curve once callers queue again."""
    clock = LoopClock()
    budget = RateBudget(KEY, BudgetConfig(initial_rate=50, max_rate=50), clock.now())
    start = clock.now()
    while clock.now() - start < 60:
        await budget.acquire(clock)
        budget.on_throttle(clock.now())
    assert budget.rate == pytest.approx(0.2)
    await anyio.sleep(30)
    budget.on_success(clock.now())
    assert budget.rate == pytest.approx(0.2)
    # Nothing was served in the storm, so the climb runs on the curve's own time:
    # back to a call a second in seconds, to the ceiling within half a minute.
    await _demand(budget, clock, 12.0)
    assert budget.rate >= 1.0
    await _demand(budget, clock, 20.0)
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
    # The account's last second already holds two slots (0.51 and 0.9): the next is
    # free once 0.51 is a second and the jitter margin (0.05 s) behind.
    assert not kept.try_acquire(1.41)
    assert not kept.try_acquire(1.55)
    assert kept.try_acquire(1.57)


async def _against_token_bucket(
    limit: float, burst: float, callers: int, pages: int, every: float, seconds: float
) -> tuple[int, int]:
    """Callers drawing on one default budget against a service whose quota is a token
    bucket (*limit* per second, *burst* at most), 5 ms per call: (served, throttled).

    Each caller makes *pages* calls in a row, one after the other's answer (a sweep's
    pages), then waits for the next multiple of *every* seconds (0: never pauses)."""
    clock = LoopClock()
    budget = RateBudget(KEY, BudgetConfig(), clock.now())
    tokens, filled = burst, clock.now()
    served = throttled = 0
    end = clock.now() + seconds

    async def caller() -> None:
        nonlocal tokens, filled, served, throttled
        while clock.now() < end:
            started = clock.now()
            for _ in range(pages):
                await budget.acquire(clock)
                now = clock.now()
                tokens, filled = min(burst, tokens + (now - filled) * limit), now
                await anyio.sleep(0.005)
                if tokens >= 1:
                    tokens -= 1
                    served += 1
                    budget.on_success(clock.now())
                else:
                    throttled += 1
                    budget.on_throttle(clock.now(), sent=now)
                if clock.now() >= end:
                    return
            if every:
                await clock.sleep_until(started + every)

    async with anyio.create_task_group() as tasks:
        for _ in range(callers):
            tasks.start_soon(caller)
    return served, throttled


@settings(max_examples=25, deadline=None)
@given(
    limit=st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0]),
    burst_factor=st.sampled_from([0.1, 1.0, 2.0, 10.0]),
    callers=st.integers(1, 4),
    demand=st.sampled_from([(10**9, 0.0), (40, 8.0), (10, 3.0), (100, 10.0), (300, 32.0)]),
)
def test_against_a_token_bucket_few_calls_are_throttled_and_the_quota_is_used(
    limit: float, burst_factor: float, callers: int, demand: tuple[int, float]
) -> None:
    """Whatever the service's quota (0.25-40 calls/s, bursts up to ten seconds' worth)
    and however the callers use the budget (without pause, or in sweeps of pages every
    few seconds), over two minutes (longer for quotas under half a call per second) at
    most 10% of calls are throttled, beyond 20 while the default start of 5 calls/s
    comes down to a lower quota, and at least 70% of what the quota or the callers
    allowed is served. A sawtooth that probes far past the quota (a rate that grows
    while idle, cuts from a pace the burst allowance hid) fails both."""
    pages, every = demand
    seconds = max(120.0, 60.0 / limit)  # at least a minute of calls at the quota
    burst = max(1.0, limit * burst_factor)
    served, throttled = MockClock().run(
        _against_token_bucket, limit, burst, callers, pages, every, seconds
    )
    wanted = callers * pages * seconds / every if every else math.inf
    allowed = min(wanted, limit * seconds + burst)
    assert throttled <= 0.1 * (served + throttled) + 20, (served, throttled)
    assert served >= 0.7 * allowed, (served, throttled, allowed)


def test_a_sweep_every_eight_seconds_against_ten_per_second() -> None:
    """The benchmark's list budget, as reported: 40 pages every 8 s against 10 calls/s
    with a burst of 10. A rate that grew between sweeps threw half of them away
    (289 of 600 throttled); now under a tenth."""
    served, throttled = MockClock().run(_against_token_bucket, 10.0, 10.0, 1, 40, 8.0, 120.0)
    assert throttled <= 0.1 * (served + throttled), (served, throttled)
    assert served >= 0.9 * 600


def test_every_time_a_budget_keeps_moves_to_the_new_clock() -> None:
    """Carried over to a loop whose clock reads 1e9 s less, the budget's times (next slot,
    last cut, last answer) move with it: the served rate measured next is the pace the
    answers come at, not a span read across two clocks."""
    budget = _budget(10.0, now=1e9)
    for n in range(8):
        budget.on_success(1e9 + n * 0.1)
    budget.rebase(5.0)
    assert budget._tat <= 5.0 + 0.2 and budget._t_cut <= 5.0 and budget._answered_at <= 5.0
    for n in range(1, 12):
        budget.on_success(5.0 + n * 0.5)
    assert budget._served == pytest.approx(2.0, rel=0.05)


async def _arrivals(rate: float, delays: list[float]) -> list[float]:
    """Slots from a budget at *rate*, each call reaching the service *delays[i]* seconds
    after its slot (event-loop lag, a worker thread, a connection, the network): the
    times the service logs them, as one lane makes them (the next slot is sought while
    the last call is still on its way)."""
    clock = LoopClock()
    budget = _budget(rate, clock.now())
    arrived: list[float] = []

    async def dispatch(delay: float) -> None:
        await anyio.sleep(delay)
        arrived.append(clock.now())

    async with anyio.create_task_group() as tasks:
        for delay in delays:
            await budget.acquire(clock)
            tasks.start_soon(dispatch, delay)
    return arrived


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(0.25, 200.0),
    jitter=st.lists(st.floats(0.0, 0.05), min_size=1, max_size=64),
    data=st.data(),
)
def test_no_second_of_arrivals_holds_more_than_the_rate_whatever_the_dispatch_delay(
    backend: str, rate: float, jitter: list[float], data: st.DataObject
) -> None:
    """Calls arrive up to 50 ms (BudgetConfig.jitter) after their slot, each delayed by
    its own amount: still no one-second window of arrivals holds more than the rate
    rounded up. Reported: at 20 calls/s over HTTP, windows of 21 calls."""
    calls = math.ceil(rate) * data.draw(st.integers(2, 4)) + 1
    # The drawn delays, repeated: hypothesis shrinks them to the pattern that breaks.
    delays = [jitter[n % len(jitter)] for n in range(calls)]
    arrived = MockClock().run(_arrivals, rate, delays, backend=backend)
    assert len(arrived) == calls
    assert _most_in_any_window(arrived) <= math.ceil(rate)


def test_the_reported_twenty_per_second_with_dispatch_jitter() -> None:
    """The reported case: 20 calls/s, a call that left 50 ms late and twenty on time."""
    delays = [0.05] + [0.0] * 20 + [0.05, 0.0] * 20
    arrived = MockClock().run(_arrivals, 20.0, delays)
    assert _most_in_any_window(arrived) <= 20


async def _sent_arrivals(
    rate: float, sends: list[float], network: list[float], back: list[float] | None = None
) -> list[float]:
    """Timed slots whose calls are sent *sends* seconds after their slot (a first call
    opening its connection: far beyond the jitter margin), then reach the service
    *network* seconds later: the times the service logs them. The slot is told when
    its call is sent or, given *back*, when its answer is back that much later."""
    clock = LoopClock()
    budget = _budget(rate, clock.now())
    arrived: list[float] = []

    async def dispatch(slot: Slot, send: float, wire: float, answer: float | None) -> None:
        await anyio.sleep(send)
        if answer is None:
            slot.sent(clock.now())
        await anyio.sleep(wire)
        arrived.append(clock.now())
        if answer is not None:
            await anyio.sleep(answer)
            slot.sent(clock.now())

    answers: list[float | None] = [None] * len(sends) if back is None else list(back)
    async with anyio.create_task_group() as tasks:
        for send, wire, answer in zip(sends, network, answers, strict=True):
            slot = await budget.acquire(clock, timed=True)
            tasks.start_soon(dispatch, slot, send, wire, answer)
    return arrived


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(0.25, 100.0),
    send=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=16),
    wire=st.lists(st.floats(0.0, 0.05), min_size=1, max_size=16),
    data=st.data(),
)
def test_no_second_of_arrivals_holds_more_than_the_rate_however_late_calls_are_sent(
    backend: str, rate: float, send: list[float], wire: list[float], data: st.DataObject
) -> None:
    """A call sent seconds after its slot (its client resolving credentials, opening a
    connection) counts from when it was sent, and the slot after it in the window
    waits for it: no one-second window of arrivals holds more than the rate rounded
    up. Reported: fresh clients at 5 calls/s put 6 calls in one second."""
    calls = math.ceil(rate) * data.draw(st.integers(2, 3)) + 1
    sends = [send[n % len(send)] for n in range(calls)]
    network = [wire[n % len(wire)] for n in range(calls)]
    arrived = MockClock().run(_sent_arrivals, rate, sends, network, backend=backend)
    assert len(arrived) == calls
    assert _most_in_any_window(arrived) <= math.ceil(rate)


def test_the_reported_fresh_client_at_five_per_second() -> None:
    """The reported case: a fresh client's first call leaves 0.3 s after its slot."""
    sends = [0.3] + [0.0] * 30
    arrived = MockClock().run(_sent_arrivals, 5.0, sends, [0.0] * 31)
    assert _most_in_any_window(arrived) <= 5


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(0.25, 100.0),
    send=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=16),
    wire=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=16),
    back=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=16),
    data=st.data(),
)
def test_calls_counted_at_their_answer_keep_every_second_within_the_rate(
    backend: str,
    rate: float,
    send: list[float],
    wire: list[float],
    back: list[float],
    data: st.DataObject,
) -> None:
    """The endpoint tells a slot when its call's answer is back: however late the call
    left and however long it took to reach the service (far beyond the jitter margin),
    no one-second window of arrivals holds more than the rate rounded up."""
    calls = math.ceil(rate) * data.draw(st.integers(2, 3)) + 1
    sends = [send[n % len(send)] for n in range(calls)]
    network = [wire[n % len(wire)] for n in range(calls)]
    backs = [back[n % len(back)] for n in range(calls)]
    arrived = MockClock().run(_sent_arrivals, rate, sends, network, backs, backend=backend)
    assert len(arrived) == calls
    assert _most_in_any_window(arrived) <= math.ceil(rate)


def test_the_reported_call_logged_late_at_one_per_second() -> None:
    """The reported case (CI, boto3 at 1 call/s): the service logged a call 0.23 s after
    it left, and the next one on time, 0.83 s apart."""
    sends = [0.0] * 6
    network = [0.0, 0.23, 0.0, 0.0, 0.0, 0.0]
    counted_at_send = MockClock().run(_sent_arrivals, 1.0, sends, network)
    assert _most_in_any_window(counted_at_send) == 2  # the failure, reproduced
    counted_at_answer = MockClock().run(_sent_arrivals, 1.0, sends, network, [0.001] * 6)
    assert _most_in_any_window(counted_at_answer) <= 1


def test_an_unlimited_budget_never_waits() -> None:
    """BudgetConfig.unlimited(): any number of slots at one instant, none refused."""
    budget = RateBudget(KEY, BudgetConfig.unlimited(), 0.0)
    assert all(budget.try_acquire(0.0) for _ in range(1000))
