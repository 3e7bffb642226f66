"""Rate budgets shared per (account, region, service, operation).

Every wait in the event loop that calls the same operation in the same
account and region draws from one budget. It paces calls evenly (no bursts), and
grants no more slots in any second and a margin than the rate rounded up allows, so
however late each call reaches the service after its slot (up to the margin), no
second of the service's log holds more. It cuts its
rate multiplicatively when the service throttles, and grows back with a cubic
curve (as CUBIC and botocore's adaptive mode do) up to a ceiling, but only while
its callers queue for slots: a rate nobody used says nothing about what the
service would take. Unlike botocore's adaptive mode it is shared by every
client, and once the rate is back at the ceiling it stops limiting below it.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from anyio.lowlevel import RunVar

from ._clock import Clock
from ._errors import InvalidOption
from ._validate import instance, mapping, number, seconds

__all__ = [
    "BudgetConfig",
    "BudgetKey",
    "BudgetRegistry",
    "BudgetStats",
    "RateBudget",
    "budget_key",
    "default_budgets",
]

BudgetKey = tuple[str, str, str, str]
_DEFAULT_INITIAL = 5.0
_DEFAULT_MIN = 0.2
# A hair of extra spacing so float rounding, and event loops that fire timers up to
# their clock resolution early, never pack ceiling+1 calls into one second.
_SPACING = 1.0 + 1e-6
# The window the service counts calls in, in seconds.
_SECOND = 1.0
# Slots are granted in groups of the rate times this many seconds (one at 10
# calls/s or less, five at 50): a group's calls share one wake-up of the
# process, which costs as much as the call itself, and the window still holds
# no more than the rate rounded up. Only until the service first throttles.
_GROUP = 0.1
# The rate the service serves is measured over at least this many seconds and
# answers; a gap of more than _SILENCE intervals (or a window) counts as that long.
_WINDOW = 1.0
_SAMPLES = 4
_SILENCE = 2.0
# The rate at which the curve's growth constant applies as given; at other rates
# it scales with the rate, so a budget probes as gently at 1 call/s as at 10.
_REFERENCE = 10.0
# The most curve time one waited slot adds while probing: a slot at 4 calls/s.
# Smaller probes a quota under a call per second more gently but climbs back from
# a storm (where the service served little) more slowly; 0.25 keeps both within
# what test_budget.py and test_reliability.py hold it to.
_STEP = 0.25


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Calls per second for one budget.

    The default starts at 5 calls/s, is never above 50 and never below 0.2:
    AWS control-plane describe and list calls are typically limited to about
    10 per second per account (each service's request-rate quotas are listed
    in its "endpoints and quotas" page of the AWS General Reference, such as
    "AWS IoT Device Management endpoints and quotas"), and a waiter should be
    a polite neighbour of the deployment that started the work.

    The rate falls by *decrease* when the service throttles, from the rate
    the service was serving if that was lower than the pace (its burst
    allowance can hide an excess for a while; botocore's adaptive mode
    measures it the same way), and grows back along a cubic curve, as CUBIC
    (RFC 8312) and botocore's adaptive retry mode
    (``botocore/retries/throttling.py``, ``CubicCalculator``: beta 0.7, scale
    constant 0.4) do. The curve's time is the time since the cut during
    which callers queued for slots (RFC 7661: a rate the callers leave unused
    shows nothing about the service, so it does not grow while idle or
    between sweeps); a slot below the rate the service last served adds its
    whole interval, but climbs no further than that rate; above it, a slot
    adds at most 0.25 s, so a budget probes a low quota as many calls apart
    as a quota of 4 calls/s. The served rate is answers per second of the
    time they took, a pause longer than two intervals (or a second) counting
    as that long, so a budget used in short sweeps is measured too; a window
    in which more calls were refused than served (a storm) leaves the rate
    served before it standing.

    :param initial_rate: calls per second a new budget starts at, between
        *min_rate* and *max_rate* (default 5; brought down to *max_rate* when
        only a lower ceiling is given).
    :param max_rate: calls per second the budget never exceeds (default 50).
        With an *initial_rate* of ``math.inf`` too, calls are not paced at
        all (:meth:`unlimited`).
    :param min_rate: calls per second throttling never drives it below
        (default 0.2, one call every 5 s; brought down to *max_rate* or
        *initial_rate* when only those are given lower).
    :param decrease: the factor the rate is multiplied by on a throttle, once
        per episode, between 0 and 1 exclusive (default 0.7: CUBIC's beta).
    :param growth: the cubic growth constant in calls/s per s**3 at a cut
        from 10 calls/s, proportionally at other rates so the curve keeps its
        shape at any scale; greater than 0 (default 0.4: CUBIC's C).
    :param cooldown: seconds (or a timedelta) after a cut during which further
        throttles belong to the same episode and cut nothing more, for a
        throttle whose call's send time is unknown; finite and at least 0
        (default 1 s), stored as float seconds. A
        throttled call sent before the cut belongs to its episode; one sent
        after it, paced at the cut rate, starts a new one.
    :param jitter: the most seconds (or a timedelta) a call may take from its
        slot to the service (event-loop lag, a worker thread, a new
        connection, the network) and still be counted in its own second: no
        window of one second plus *jitter* is granted more slots than the
        rate rounded up, so no one-second window of arrivals holds more.
        Finite and at least 0 (default 0.05 s), stored as float seconds. It
        costs pace only at whole rates, which it brings down by the factor
        ``1 / (1 + jitter)`` (20 calls/s to 19.05).
    :raises InvalidOption: a field that is not a number (a bool is not; nor
        is NaN), a rate that is not positive, an infinite *min_rate* or
        *growth*, rates out of the order ``min_rate <= initial_rate <=
        max_rate``, *decrease* outside (0, 1), or a negative or infinite
        *cooldown* or *jitter*, naming the field and the value.
    """

    initial_rate: float = _DEFAULT_INITIAL
    max_rate: float = 50.0
    min_rate: float = _DEFAULT_MIN
    decrease: float = 0.7
    growth: float = 0.4
    cooldown: float | timedelta = 1.0
    jitter: float | timedelta = 0.05

    def __post_init__(self) -> None:
        # An infinite ceiling (and start) is documented: no pacing at all. A floor
        # or a growth constant of infinity is no rate a budget could follow.
        for name in ("initial_rate", "max_rate", "min_rate"):
            number(
                f"BudgetConfig.{name}",
                getattr(self, name),
                "a positive number of calls per second",
                above=0.0,
                finite=name == "min_rate",
            )
        number("BudgetConfig.growth", self.growth, "a finite number above 0", above=0.0)
        number(
            "BudgetConfig.decrease", self.decrease, "a number between 0 and 1", above=0.0, below=1.0
        )
        cooldown = seconds("BudgetConfig.cooldown", self.cooldown)
        object.__setattr__(self, "cooldown", cooldown)
        jitter = seconds("BudgetConfig.jitter", self.jitter)
        object.__setattr__(self, "jitter", jitter)
        # A lower ceiling alone (BudgetConfig(max_rate=2)) brings the defaults that
        # would sit above it down to it, as the command line's --max-rate does.
        if self.max_rate < self.initial_rate == _DEFAULT_INITIAL:
            object.__setattr__(self, "initial_rate", self.max_rate)
        if self.max_rate < self.min_rate == _DEFAULT_MIN:
            object.__setattr__(self, "min_rate", self.max_rate)
        if self.initial_rate < self.min_rate == _DEFAULT_MIN:
            object.__setattr__(self, "min_rate", self.initial_rate)
        if not self.min_rate <= self.initial_rate <= self.max_rate:
            message = (
                "BudgetConfig: need min_rate <= initial_rate <= max_rate, got "
                f"min_rate={self.min_rate!r}, initial_rate={self.initial_rate!r}, "
                f"max_rate={self.max_rate!r}; change the one out of order"
            )
            raise InvalidOption(
                message, option="BudgetConfig.initial_rate", value=self.initial_rate
            )

    @property
    def cooldown_seconds(self) -> float:
        """The cooldown in seconds."""
        return self.cooldown  # type: ignore[return-value]  # normalised in __post_init__

    @property
    def jitter_seconds(self) -> float:
        """The jitter margin in seconds."""
        return self.jitter  # type: ignore[return-value]  # normalised in __post_init__

    @classmethod
    def unlimited(cls) -> BudgetConfig:
        """No pacing at all (for tests and in-process transports): calls never wait."""
        return cls(initial_rate=math.inf, max_rate=math.inf)


@dataclass(frozen=True, slots=True)
class BudgetStats:
    """A snapshot of one budget, as :meth:`BudgetRegistry.stats` takes it.

    :param key: whose budget: ``(account, region, service, operation)``,
        such as ``("123456789012", "eu-west-1", "iot", "DescribeJobExecution")``.
        The account is ``"default"`` for clients whose credentials cannot be
        read, or ``"key-"`` and a digest of the access key id when it could
        not be learned.
    :param rate: the current pace in calls per second.
    :param calls: call slots granted since the budget was made.
    :param throttles: throttled calls reported to it.
    :param cuts: times the rate was cut (at most one per throttling episode).
    """

    key: BudgetKey
    rate: float
    calls: int
    throttles: int
    cuts: int


#: Seconds a timed slot counts as sent at every moment before it counts from its
#: grant: a slot nobody told of (a caller that gave it up) must not hold the
#: budget back for long. A first call resolving credentials and opening its
#: connection is answered well within it.
PENDING_LIMIT = 5.0


class Slot:
    """One granted call slot, timed when its caller says (:meth:`sent`).

    The budget grants slots an interval apart, but what the service counts is
    when calls arrive: a call sent later than its slot (a first call opening
    its connection, a worker thread's hand-off, a wait for a connection) must
    not share a second with more calls than the rate allows. Until its caller
    tells, a timed slot counts as sent at every moment the budget looks; the
    endpoint tells when the call's answer is back, the latest moment the
    service can have logged it. The time is taken from the monotonic clock,
    so it can be told from any thread, and counted on the budget's clock from
    the grant.
    """

    __slots__ = ("_mono", "at", "pending", "time")

    def __init__(self, at: float, *, timed: bool) -> None:
        #: When the slot was granted, on the budget's clock.
        self.at = at
        #: When its call was sent (the grant until then).
        self.time = at
        #: Granted, its call not sent yet, nor given up: only for a caller that
        #: will tell when it sends (*timed*); others count from the grant.
        self.pending = timed
        self._mono = time.monotonic() if timed else 0.0

    def sent(self, at: float | None = None) -> None:
        """Its call has reached the service by now (or *at*); the first time counts.

        :param at: when, on the budget's clock (default: now, told by the
            monotonic clock since the grant, so any thread may call this).
        """
        if self.pending:
            if at is None:
                at = self.at + max(0.0, time.monotonic() - self._mono)
            self.time = at
            self.pending = False

    def release(self) -> None:
        """Its call will not be timed (sent as granted, or never): it counts when granted."""
        self.pending = False

    def sent_by(self, now: float) -> float:
        """When its call was sent, or *now* while it may still be."""
        if self.pending and now - self.at < PENDING_LIMIT:
            return now if now > self.at else self.at
        return self.time

    def shift(self, seconds: float) -> None:
        """Move it onto another clock, *seconds* ahead."""
        self.at += seconds
        self.time += seconds


def _granted(slot: Slot) -> float:
    return slot.at


class RateBudget:
    """One shared, adaptive pacing budget.

    Callers take slots with :meth:`acquire`, in turn: a caller waiting for a
    slot has booked nothing, so a wait that is cancelled or times out while it
    queues costs the others nothing, and a rate that grows meanwhile serves
    every caller still in line.
    """

    __slots__ = (
        "_answered",
        "_answered_at",
        "_burst",
        "_busy",
        "_interval",
        "_k",
        "_last",
        "_limit",
        "_lock",
        "_recent",
        "_refused",
        "_served",
        "_span",
        "_t_cut",
        "_tat",
        "_w_max",
        "_window",
        "calls",
        "config",
        "cuts",
        "key",
        "rate",
        "throttles",
    )

    def __init__(self, key: BudgetKey, config: BudgetConfig, now: float) -> None:
        self.key = key
        self.config = config
        self.rate = config.initial_rate
        self._interval = _SPACING / self.rate
        #: How far ahead of the theoretical arrival time a slot may be granted
        #: (GCRA's burst tolerance): a group's worth of intervals, less one.
        self._burst = _burst(self.rate, self._interval)
        #: The theoretical arrival time (GCRA): no call before it.
        self._tat = now
        #: The slots of the last _span seconds, in the order granted: no more than
        #: _limit of them in any _span, each at the time its call was sent (see
        #: Slot), so calls that reach the service up to config.jitter after they
        #: are sent put no more than _limit in any second.
        self._recent: deque[Slot] = deque()
        self._span = (_SECOND + config.jitter_seconds) * _SPACING
        self._limit = _ceil(self.rate)
        # Probe upward from the initial rate as if it were the last safe one.
        self._w_max = config.initial_rate
        #: Seconds since the last cut during which callers queued for slots: the
        #: curve's time. A budget its callers do not fill shows nothing about
        #: what the service would take, so it does not grow (RFC 7661).
        self._busy = 0.0
        self._t_cut = now
        self._k = 0.0
        #: Answers in the current window and the seconds it spans (gaps capped),
        #: and the rate the service served in the last whole window (None until
        #: one has closed).
        self._answered = 0
        self._refused = 0
        self._answered_at = now
        self._window = 0.0
        self._served: float | None = None
        #: The latest time this budget was told, so its times can move to another clock.
        self._last = now
        self._lock = anyio.Lock(fast_acquire=True)
        self.calls = 0
        self.throttles = 0
        self.cuts = 0

    async def acquire(self, clock: Clock, *, timed: bool = False) -> Slot:
        """Wait for the next call slot, first come first served, and take it.

        :param timed: the caller will tell the slot when its call is sent
            (:meth:`Slot.sent`) or that none will be (:meth:`Slot.release`);
            until then it counts as sent at each moment the budget looks.
            Otherwise (default) it counts as sent when granted.
        :returns: the slot.
        """
        entered = clock.now()
        slot = self.try_acquire(entered, timed=timed)
        if slot is not None:
            return slot
        async with self._lock:
            now = clock.now()
            # A throttle while this caller sleeps pushes the slot back: look again.
            while (free := self._free_at(now)) > now:
                # Wake when a whole group is free, not at the first slot of it: the
                # callers in line then take the group in this one wake-up.
                await clock.sleep_until(free + self._burst)
                now = clock.now()
            # This caller waited: for that long (an interval at most, as slots are
            # an interval apart), the budget, not the callers, set the pace; calls
            # that only collide now and then add little. Above the rate the service
            # was last seen to serve, the curve's time runs at most _STEP per slot:
            # a budget probing past a low quota does so as many calls apart as a
            # fast one, while one recovering from a storm climbs back to what was
            # served before at the curve's speed.
            step = now - entered
            if step > self._interval:
                step = self._interval
            served = self._served
            if step > _STEP and served is not None and self.rate >= served:
                step = _STEP
            self._busy += step
            return self._take(now, timed)

    def try_acquire(self, now: float, *, timed: bool = False) -> Slot | None:
        """Take a slot if one is free at *now* and nobody is in line; never waits.

        :param timed: as for :meth:`acquire`.
        """
        if self._lock.locked() or self._free_at(now) > now:
            return None
        return self._take(now, timed)

    def _free_at(self, now: float) -> float:
        """The earliest time from *now* a slot is free: one interval after the last,
        and no more than the rate rounded up in the span behind it.

        A slot whose call is not sent yet counts as sent now (it will be sent
        later still): the slot after it in the window waits for it, and is
        looked at again as time passes.
        """
        recent = self._recent
        horizon = now - self._span
        while recent and recent[0].sent_by(now) <= horizon:
            recent.popleft()
        limit = self._limit
        # A nanosecond's give, so float rounding of the tolerance never splits a
        # group over two wake-ups (_SPACING keeps the rate whole).
        paced = self._tat - self._burst - 1e-9 if self._burst else self._tat
        if len(recent) < limit or not limit:  # 0: unlimited
            return paced
        # Sent in another order than granted (a first call opening its
        # connection, a thread hand-off): the window is about send times.
        if len(recent) == limit:  # the usual full window: its earliest send
            kth = min([slot.sent_by(now) for slot in recent])
        else:
            kth = heapq.nlargest(limit, [slot.sent_by(now) for slot in recent])[-1]
        free = kth + self._span
        return free if free > paced else paced

    def _take(self, now: float, timed: bool) -> Slot:
        # Within a group the theoretical arrival time runs ahead of the clock.
        self._tat = (self._tat if self._tat > now else now) + self._interval
        slot = Slot(now, timed=timed)
        if self._limit:
            self._recent.append(slot)
        self._last = now
        self.calls += 1
        return slot

    def take_over(self, other: RateBudget) -> None:
        """Pace *other*'s callers from now on: no slot before its next one."""
        if other._tat > self._tat:
            self._tat = other._tat
        # Both budgets' slots reach the same service: each counts the other's.
        self._recent = deque(sorted((*self._recent, *other._recent), key=_granted))

    def on_success(self, now: float) -> None:
        """A call went through: the rate grows along the curve.

        The curve's time is the time since the last cut during which callers
        queued for slots. Neither the passing of time alone nor answers to a
        budget its callers leave idle grow it: a storm in which every call is
        throttled drives the rate down to ``min_rate``, and a budget used in
        bursts (a sweep's pages every few seconds) starts each burst at the
        pace the last one reached rather than at a rate nothing has tried.
        """
        # The served rate is answers per second of the time they took, where a gap
        # longer than _SILENCE intervals (and a second) counts as that long: the
        # callers' pauses (between sweeps, say) are theirs, not the service's, and
        # a budget used in short bursts is measured all the same.
        gap = now - self._answered_at
        limit = _SILENCE * self._interval
        if limit < _WINDOW:
            limit = _WINDOW
        self._window += gap if gap < limit else limit
        self._answered_at = now
        self._answered += 1
        if self._answered >= _SAMPLES and self._window >= _WINDOW:
            # A window in which the service refused more than it served is a
            # storm, not its quota: the rate served before it stands, so the
            # budget climbs back to it at the curve's speed once the storm ends.
            if self._refused <= self._answered:
                self._served = self._answered / self._window
            self._window = 0.0
            self._answered = self._refused = 0
        if now > self._last:
            self._last = now
        if self.rate < self.config.max_rate:
            self._grow()

    def _grow(self) -> None:
        config = self.config
        t = self._busy - self._k
        w_max = self._w_max
        scale = config.growth * (w_max / _REFERENCE)
        target = scale * t * t * t + w_max
        served = self._served
        if served is not None and self.rate < served < target:
            # A slot below the served rate adds its whole interval to the curve's
            # time (a slow budget climbs back quickly); that carries it up to the
            # served rate, not past it: beyond, it probes per slot.
            target = served
            self._busy = self._k + math.cbrt((served - w_max) / scale)
        if target > self.rate:
            self.rate = target if target < config.max_rate else config.max_rate
            self._interval = _SPACING / self.rate
            self._burst = _burst(self.rate, self._interval) if not self.cuts else 0.0
            self._limit = _ceil(self.rate)

    def on_throttle(self, now: float, sent: float | None = None) -> None:
        """The service throttled a call: cut the rate, once per episode.

        :param now: the clock time of the answer, in seconds.
        :param sent: when the call was sent, if known. A call sent before the
            last cut was paced at the old rate: its throttle belongs to that
            episode. One sent after it was paced at the new rate and still
            throttled, so the cut was not enough: a new episode. Without it,
            throttles within ``cooldown`` of the cut belong to its episode.
        """
        self._last = max(self._last, now)
        self.throttles += 1
        self._refused += 1
        config = self.config
        if self.cuts and (
            sent <= self._t_cut if sent is not None else now - self._t_cut < config.cooldown_seconds
        ):
            return
        self.cuts += 1
        # The rate the service was serving when it throttled, as botocore's
        # adaptive mode measures it (``ClientRateLimiter._update_measured_rate``):
        # the pace alone overstates it when the service's burst allowance hid
        # the excess for a while, and a cut from there is still above its limit.
        # A measure taken while the rate climbed back from the last cut reads
        # low, so it lowers the rate by at most one more cut.
        served = self._served
        rate = self.rate
        floor = rate * config.decrease
        self._w_max = rate if served is None or served >= rate else max(served, floor)
        self.rate = max(config.min_rate, self._w_max * config.decrease)
        self._interval = _SPACING / self.rate
        # Spaced evenly from the first cut on: a service whose token bucket holds
        # less than a group refuses groups, and one that throttles sets the pace
        # anyway (its quota, not the wake-ups, bounds the calls).
        self._burst = 0.0
        self._limit = _ceil(self.rate)
        self._t_cut = now
        self._busy = 0.0
        self._k = (_REFERENCE * (1.0 - config.decrease) / config.growth) ** (1.0 / 3.0)
        # Whoever is in line now waits at the new pace, a whole group later.
        if self._tat < now + self._interval + self._burst:
            self._tat = now + self._interval + self._burst

    def rebase(self, now: float) -> None:
        """Carry this budget over to another event loop whose clock reads *now*.

        Its times are kept relative (the next slot is as far ahead, the last
        cut as far behind), and its lock is made anew for the new loop.
        """
        shift = now - self._last
        self._tat += shift
        self._t_cut += shift
        self._answered_at += shift
        for slot in self._recent:
            slot.shift(shift)
        self._last = now
        self._lock = anyio.Lock(fast_acquire=True)

    def stats(self) -> BudgetStats:
        """A snapshot of the rate and the counters."""
        return BudgetStats(self.key, self.rate, self.calls, self.throttles, self.cuts)

    def __repr__(self) -> str:
        return f"<RateBudget {'/'.join(self.key)} rate={self.rate:.2f}/s calls={self.calls}>"


class BudgetRegistry:
    """The budgets of one event loop (or one test), created on first use.

    A registry serves one event loop at a time. Used from the next loop (a
    test's virtual clock after a real one, ``anyio.run`` after ``anyio.run``)
    its budgets carry their rates over and their times are moved to the new
    clock, so nothing waits for a time read on another clock.

    :param config: the :class:`BudgetConfig` of every budget (default: 5 calls/s
        rising to at most 50).
    :param operations: per-operation configuration, by operation name
        (``"DescribeJobExecution"``), overriding *config*.
    :raises InvalidOption: *config* is not a :class:`BudgetConfig`, or
        *operations* is not a mapping of operation names to them, naming the
        value.
    """

    __slots__ = (
        "__weakref__",
        "_budgets",
        "_run",
        "account_lookups",
        "config",
        "known_accounts",
        "operations",
    )

    def __init__(
        self,
        config: BudgetConfig | None = None,
        operations: Mapping[str, BudgetConfig] | None = None,
    ) -> None:
        if config is not None:
            instance("BudgetRegistry.config", config, BudgetConfig, "a BudgetConfig")
        self.config = config if config is not None else BudgetConfig()
        self.operations: dict[str, BudgetConfig] = {}
        if operations is not None:
            self.operations = mapping(
                "BudgetRegistry.operations",
                operations,
                "a mapping of operation names to BudgetConfig",
            )
        for name, value in self.operations.items():
            instance(f"BudgetRegistry.operations[{name!r}]", value, BudgetConfig, "a BudgetConfig")
        self._budgets: dict[BudgetKey, RateBudget] = {}
        self._run: object | None = None
        #: The account of each (access key id, non-AWS endpoint) learned so far,
        #: so every poller on these budgets asks once per credentials.
        self.known_accounts: dict[tuple[str, str | None], str] = {}
        #: Lookups under way (their events belong to the running event loop).
        self.account_lookups: dict[tuple[str, str | None], anyio.Event] = {}

    def get(self, key: BudgetKey, now: float, default: BudgetConfig | None = None) -> RateBudget:
        """The budget for *key*, bound to the running event loop whose clock reads *now*.

        Made on first use, with the configuration of ``operations[operation]``
        if there is one, else *default* if given, else *config*. When the running event loop is not
        the one the registry last served, every budget is first carried over
        to this loop's clock (see the class description).

        :param key: ``(account, region, service, operation)``.
        :param now: the running loop's clock time, in seconds.
        :param default: the configuration of a budget made here when the
            registry has none of the operation's own (the caller's, such as
            :class:`~waiters.SqsEvents`'s).
        """
        run = _current_run()
        if run is not self._run:
            self._run = run
            self.account_lookups.clear()  # another loop's events: never set here
            for budget in self._budgets.values():
                budget.rebase(now)
        found = self._budgets.get(key)
        if found is None:
            config = self.operations.get(key[3]) or default or self.config
            found = self._budgets[key] = RateBudget(key, config, now)
        return found

    def rekey(
        self, old: BudgetKey, new: BudgetKey, now: float, *, shared: bool = False
    ) -> RateBudget:
        """The budget of *new*, which from now on also paces the calls of *old*.

        A poller draws on a provisional budget until it has learned a
        client's account. The first to learn it moves that budget under the
        account's key, so its pacing goes on unbroken; if the account already
        has a budget (another credential of it), that one takes over the
        first's next slot and recent calls, so the handover allows no burst.

        :param old: the key the calls were paced under.
        :param new: the account's key.
        :param now: the clock time (seconds), for a budget made here.
        :param shared: *old* goes on pacing other callers (the budget of every
            client whose account is being learned): it stays, and *new*'s
            budget takes over its next slot and recent calls (default
            ``False``: *old* is moved or merged away).
        """
        # A budget made for the account keeps the configuration the old one was made with.
        before = self._budgets.get(old)
        default = before.config if before is not None else None
        if shared:
            budget = self.get(new, now, default)
            pending = self._budgets.get(old)
            if pending is not None and pending is not budget:
                budget.take_over(pending)
            return budget
        moved = self._budgets.pop(old, None)
        existing = self._budgets.get(new)
        if existing is None:
            if moved is None:
                return self.get(new, now, default)
            moved.key = new
            self._budgets[new] = moved
            return moved
        if moved is not None and moved is not existing:
            existing.take_over(moved)
        return existing

    def config_for(self, operation: str) -> BudgetConfig:
        """The configuration of *operation*'s budgets (its own, else the registry's).

        :param operation: the operation's name in the model (``DescribeJobExecution``).
        """
        return self.operations.get(operation, self.config)

    def stats(self) -> list[BudgetStats]:
        """A snapshot of every budget, in the order they were made."""
        return [budget.stats() for budget in self._budgets.values()]

    def __repr__(self) -> str:
        return f"<BudgetRegistry {len(self._budgets)} budgets>"


def _burst(rate: float, interval: float) -> float:
    """The burst tolerance at *rate*: ``_GROUP`` seconds' worth of slots, less one."""
    if math.isinf(rate):
        return 0.0  # unlimited: every slot is free at once anyway
    group = int(rate * _GROUP)
    return (group - 1) * interval if group > 1 else 0.0


def _ceil(rate: float) -> int:
    """The most calls a one-second window may hold at *rate*; 0 for no limit."""
    return 0 if rate == math.inf else math.ceil(rate)


_RUN: RunVar[object] = RunVar("waiters_run")
_DEFAULT: RunVar[BudgetRegistry] = RunVar("waiters_budgets")


def _current_run() -> object:
    """A token unique to the running event loop."""
    token = _RUN.get(None)
    if token is None:
        token = object()
        _RUN.set(token)
    return token


def default_budgets() -> BudgetRegistry:
    """The registry every wait in the running event loop uses unless given another."""
    registry = _DEFAULT.get(None)
    if registry is None:
        registry = BudgetRegistry()
        _DEFAULT.set(registry)
    return registry


def budget_key(account: str, client: Any, service: str, operation: str) -> BudgetKey:
    """The budget of a call: its account (see ``_accounts``), region, service and operation."""
    region = str(getattr(getattr(client, "meta", None), "region_name", None) or "default")
    return (account, region, service, operation)
