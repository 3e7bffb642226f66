"""Batch observation: watch many executions of one parent through list calls.

Every execution of an IoT job, a command, a Snow task, a SiteWise asset or a
Transfer workflow can be read many at a time through the service's list
operation. A :class:`Group` holds the waiting executions of one parent; while
it is large enough its sweeper lists them instead of describing each one.

How a sweep reads as little as possible (IoT job executions, which declare
``DescribeJob`` progress counts):

* One ``DescribeJob`` says which terminal statuses grew since the last sweep;
  if none did, the sweep is that one call.
* Terminal statuses are absorbing. Either list just the grown terminal
  statuses (cheap early in a rollout), or list the non-terminal statuses,
  re-read the counts, and list the grown terminal statuses but the largest:
  an execution that was seen before and is in none of those lists has ended
  in the largest one (cheap late in a rollout). The cheaper plan, by pages,
  is chosen per sweep. The inference is checked against the counts; when
  they disagree the executions are described instead.

Types without counts list their non-terminal statuses (or everything, when
the list has no status filter) and confirm the executions that left them
with one Describe each. Transfer lists only executions in progress, so the
ones missing from a sweep are confirmed the same way.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio

from ._attempt import Answer, CallStats, Endpoint
from ._backoff import Backoff
from ._calls import FailureKind
from ._clock import Clock
from ._events import Events
from ._eventspec import Event
from ._machine import BatchSpec, StateKind, StateMachine
from ._pace import Pace
from ._tracker import Tracker

__all__ = ["Group", "identity_of"]

#: A list call that fails transiently this many times in a row ends the sweeps.
_MAX_PAGE_TRIES = 8
#: Delays between those tries, jittered like every poll.
_PAGE_RETRY = Backoff(min_delay=0.25, max_delay=8.0)
#: Seconds with every listing within a latency target that end an episode of missing it.
_EPISODE = 60.0


class _SweepFailed(Exception):
    """A list call failed for a reason waiting cannot fix; fall back to Describe."""


def identity_of(machine: StateMachine, params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(params.get(spec.name) for spec in machine.identity)


def _pages(count: int, page_size: int) -> int:
    return max(1, math.ceil(count / page_size))


class Group:
    """The waiting executions of one parent, observed through list sweeps.

    :param machine: the execution type (its ``batch`` section says how to list).
    :param parent: the parent's identifier (job id, command id, ...).
    :param lister: the endpoint of the list operation.
    :param counter: the endpoint of the progress operation (IoT's DescribeJob), if any.
    :param limiter: calls in flight per client, shared with the Describe lanes.
    :param clock: the poller's clock.
    :param rng: jitter for retries.
    :param events: where ``waiters.batch_fallback`` is logged.
    :param stats: the poller's call statistics; each member's batch gets its own too.
    :param interval: seconds between sweeps (with a *latency*, the longest).
    :param latency: the detection latency target in seconds, if any: each
        sweep starts *latency* less the time a listing takes after the one
        before, so an ending just missed by one is seen by the next in time.
    :param unmet: called with the group and a listing's seconds when one
        takes *latency* or longer (the quota cannot meet it), once per episode.
    :param straggler_limit: this few members left go back to Describe.
    :param describe: hands one member back to its own Describe calls, due at
        the time given (on the poller's clock).
    :param done: called once when the group stops sweeping.
    :param failure_reasons: describe each member seen failing, for its reason.
    :param allowance: the retries the parent allows after each retried state,
        once the poller has read them (``None`` before).
    :param read_allowance: reads them (once per parent, shared with the
        Describe path), on behalf of a member; awaited when a sweep sees a
        retried state before they are known, so its members need no Describe.
    :param pace: the safety net while an event source is heard: then the
        members' events report their changes, and a listing of the running
        statuses every ``pace.bound`` seconds catches what an event missed
        (``None``: the type has no events, or the poller no source).
    """

    def __init__(
        self,
        machine: StateMachine,
        parent: Any,
        *,
        lister: Endpoint,
        counter: Endpoint | None,
        limiter: anyio.Semaphore,
        clock: Clock,
        rng: random.Random,
        events: Events,
        stats: CallStats,
        interval: float,
        straggler_limit: int,
        describe: Callable[[Tracker, float], None],
        done: Callable[[Group], None],
        failure_reasons: bool = False,
        latency: float | None = None,
        unmet: Callable[[Group, float], None] | None = None,
        allowance: Callable[[], Mapping[str, int] | None] = lambda: None,
        read_allowance: Callable[[Tracker], Awaitable[object]] | None = None,
        pace: Pace | None = None,
    ) -> None:
        assert machine.batch is not None
        self._pace = pace
        self.machine = machine
        self.spec: BatchSpec = machine.batch
        self.parent = parent
        #: The waits on each execution, by identity: several batches (or an
        #: execution named with and without an optional parameter) may wait on
        #: one, and each list item reaches every one of them.
        # Tuples: almost every member is one wait, and a tuple of one costs half a list.
        self.members: dict[tuple[Any, ...], tuple[Tracker, ...]] = {}
        self.last_counts: dict[str, int] | None = None
        #: Why the counts are no longer believed (they lag, froze, or do not add
        #: up); then every sweep lists, as for a type without counts.
        self.distrust: str | None = None
        #: When a sweep last listed every running status: each member still
        #: running was observed then.
        self._last_full = -math.inf
        #: Terminal counts (summed) as that listing read them.
        self._ended_at_full: int | None = None
        #: Every member is observed at least this often (seconds): the
        #: largest backoff delay plus one interval, whatever the counts say.
        self._bound = math.inf
        #: How long the last listing of every running status took: the next one
        #: must start that much before the bound for its last page to be in time.
        self._full_took = 0.0
        self._lister = lister
        self._counter = counter
        self._limiter = limiter
        self._clock = clock
        self._rng = rng
        self._events = events
        self._stats = stats
        self._interval = interval
        self._latency = latency
        self._unmet = unmet
        #: When a listing last took the latency target or longer.
        self._behind = -math.inf
        #: When the sweep (or first listing) under way started, for the target.
        self._listing_started = -math.inf
        self._straggler_limit = straggler_limit
        self._describe_one = describe
        self._done = done
        self._failure_reasons = failure_reasons
        self._allowance = allowance
        self._read_allowance = read_allowance
        #: Members per batch; each batch with members follows the group's tally,
        #: so a call is recorded once whatever the number of batches it serves.
        self._owners: Counter[CallStats] = Counter()
        self._tally = CallStats()
        #: Members whose wait ended (they say so: ended), dropped at the
        #: next sweep, so no sweep looks through every member to find them.
        self._finished: list[Tracker] = []
        #: Members not seen yet, by when their not-found grace ends (stale entries
        #: are skipped when they come up), so a sweep touches only those due.
        self._unseen: list[tuple[float, int, list[Tracker]]] = []
        #: The entry members were last added to: members submitted together share
        #: their grace's end, so a batch of 100,000 makes one entry, not 100,000.
        self._unseen_last: tuple[float, int, list[Tracker]] | None = None
        self._order = itertools.count()
        ordered = sorted(
            (s for s, k in machine.states.items() if not k.terminal),
            key=lambda s: machine.states[s].rank,
        )
        self._nonterminal = ordered
        self._terminal = [s for s, k in machine.states.items() if k.terminal]

    def add(self, tracker: Tracker) -> None:
        tracker.listed = True
        max_delay: float = tracker.watch.settings.backoff.max_delay  # type: ignore[assignment]
        bound = max_delay + self._interval
        if bound < self._bound:
            self._bound = bound
        key = identity_of(self.machine, tracker.execution.params)
        waits = self.members.get(key, ())
        if tracker not in waits:
            self.members[key] = (*waits, tracker)
            tracker.group = self
            owner = tracker.watch.stats
            if not self._owners[owner]:
                owner.follow(self._tally)
            self._owners[owner] += 1
            if tracker.outcome is not None:
                self._finished.append(tracker)  # ended before it was told to say so
            elif not tracker.seen:
                grace_ends = tracker.started + tracker.watch.settings.not_found_grace
                last = self._unseen_last
                if last is not None and last[0] == grace_ends:
                    last[2].append(tracker)
                else:
                    last = self._unseen_last = (grace_ends, next(self._order), [tracker])
                    heapq.heappush(self._unseen, last)

    def ended(self, tracker: Tracker) -> None:
        """*tracker*, a member, has its outcome: it is dropped at the next sweep."""
        self._finished.append(tracker)

    def _forget(self, key: tuple[Any, ...], tracker: Tracker) -> None:
        waits = tuple(wait for wait in self.members[key] if wait is not tracker)
        if waits:
            self.members[key] = waits
        else:
            del self.members[key]
        tracker.group = None
        owner = tracker.watch.stats
        self._owners[owner] -= 1
        if not self._owners[owner]:
            del self._owners[owner]
            owner.unfollow(self._tally)

    def _member(self, tracker: Tracker) -> tuple[Any, ...] | None:
        """The key *tracker* is a member under, or None if it is not one (any longer)."""
        key = identity_of(self.machine, tracker.execution.params)
        return key if tracker in self.members.get(key, ()) else None

    def _waiting(self, key: tuple[Any, ...]) -> list[Tracker]:
        """The waits on one execution that have no outcome yet."""
        return [t for t in self.members.get(key, ()) if t.outcome is None]

    def _running_seen(self, key: tuple[Any, ...]) -> bool:
        """Whether a wait on this execution saw it and waits on."""
        return any(t.outcome is None and t.seen for t in self.members.get(key, ()))

    # --- the sweeper task ------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._sweeps()
        except Exception as exc:  # noqa: BLE001 - its members go back to Describe (finally)
            # Let out, it would cancel the poller's every task, and its callers.
            self._events.log.warning(
                "waiters.batch_fallback",
                type=self.machine.name,
                parent=str(self.parent),
                error=type(exc).__name__,
                reason=str(exc),
            )
        finally:
            self._release_all()
            self._finished.clear()
            self._unseen.clear()
            self._unseen_last = None
            self._done(self)

    async def _sweeps(self) -> None:
        clock = self._clock
        try:
            await self._baseline()
        except _SweepFailed:
            return
        while True:
            self._prune()
            if len(self.members) <= self._straggler_limit:
                break
            pace = self._pace
            if pace is not None and pace.bound is not None:
                try:
                    await self._safety_net(pace, pace.bound)
                except _SweepFailed:
                    break
                continue
            started = self._listing_started = clock.now()
            try:
                await self._sweep()
            except _SweepFailed:
                break
            now = clock.now()
            self._release_unseen(now)
            # Back to back when a sweep takes longer than the interval.
            await clock.sleep_until(max(started + self._gap(now - started), clock.now()))

    async def _safety_net(self, pace: Pace, bound: float) -> None:
        """While events are heard: list the running statuses once every *bound* seconds.

        Events report the members' changes; this listing catches what a lost
        one hid, so no member goes unobserved longer than the bound. Woken
        early when the source is no longer heard (back to sweeps), and for
        members whose not-found grace ended unseen.
        """
        clock = self._clock
        due = self._last_full + bound - self._full_took
        now = clock.now()
        if now < due:
            wake = due
            if self._unseen and self._unseen[0][0] < wake:
                wake = self._unseen[0][0]
            await pace.sleep_until(clock, wake)
            self._release_unseen(clock.now())
            return
        self._listing_started = now
        await self._sweep_listing(None)
        self._release_unseen(clock.now())

    def _gap(self, took: float) -> float:
        """Seconds from this sweep's start to the next one's, given this one *took*."""
        latency = self._latency
        if latency is None:
            return self._interval
        # An ending just after its page was read is seen on that page next sweep:
        # at most the gap plus the next listing, whose length the last full
        # listing (or this sweep, if longer) foretells.
        listing = took if took > self._full_took else self._full_took
        if listing >= latency:
            self._behind_by(listing, latency)
        # A twentieth of the target for what the estimate cannot see: a slot to wait
        # for, a page more, the counts call before the listing.
        gap = latency * 0.95 - listing
        return gap if gap < self._interval else self._interval

    def _behind_by(self, listing: float, latency: float) -> None:
        """A listing takes *listing* seconds, the *latency* target or longer: say so.

        Once per episode: one ends when a minute (or the target, if longer)
        passed with every listing within the target, so a parent whose
        listings hover about it says it once.
        """
        now = self._clock.now()
        quiet = latency if latency > _EPISODE else _EPISODE
        if now - self._behind > quiet and self._unmet is not None:
            self._unmet(self, listing)
        self._behind = now

    def _prune(self) -> None:
        """Drop the members whose wait ended since the last sweep (and only those)."""
        finished, self._finished = self._finished, []
        for tracker in finished:
            key = self._member(tracker)
            if key is not None:
                self._forget(key, tracker)

    def _describe(
        self, key: tuple[Any, ...], tracker: Tracker | None = None, *, release: bool = False
    ) -> None:
        """Hand a member (every wait on it, or just *tracker*) back to Describe polling.

        At once, unless *release* (the sweeps stop) while events are heard:
        then its Describe calls go on at the safety net's pace.
        """
        now = self._clock.now()
        pace = self._pace
        heard = pace is not None and pace.bound is not None
        for wait in [tracker] if tracker is not None else list(self.members.get(key, ())):
            self._forget(key, wait)
            if wait.outcome is None:
                wait.listed = False
                if not heard:
                    # The sweeps observed it until now (counts that did not move say
                    # nobody ended): its Describe calls take over from here. While
                    # events are heard no counts are read: its last sighting stands.
                    wait.polled = now
                self._describe_one(wait, wait.next_due(now) if release and heard else now)

    def _release_all(self) -> None:
        for key in list(self.members):
            self._describe(key, release=True)

    def _release_unseen(self, now: float) -> None:
        """Never listed after the grace window: Describe says whether it exists at all."""
        unseen = self._unseen
        while unseen and unseen[0][0] <= now:
            entry = heapq.heappop(unseen)
            if entry is self._unseen_last:
                self._unseen_last = None
            for tracker in entry[2]:
                if tracker.seen or tracker.outcome is not None:
                    continue
                key = self._member(tracker)
                if key is not None:
                    self._describe(key, tracker)

    def _apply(self, key: tuple[Any, ...], state: str | None, item: Any, now: float) -> None:
        """Apply a state a list showed (or the counts imply) to every wait on one member."""
        for tracker in self._waiting(key):
            self._apply_to(key, tracker, state, item, now)

    def take_event(
        self, tracker: Tracker, event: Event, now: float, observed: float | None = None
    ) -> None:
        """Enter an event about a member, as a list item about it would be entered.

        What a list summary cannot say, an event may not either: a failure
        whose reason is wanted (``failure_reasons``) and absent, or one the
        parent may retry, is described once; so is a member named by another
        attempt than the event's. *observed*: when the change happened, on
        the poller's clock, if the event says.
        """
        key = self._member(tracker)
        if key is None or tracker.outcome is not None:
            return
        machine = self.machine
        named = self._named_attempt(tracker)
        if named is not None and event.attempt is not None and event.attempt != named:
            self._describe(key, tracker)
            return
        kind = machine.kind_of(event.state)
        if (
            kind is not None
            and kind.terminal
            and kind is not StateKind.SUCCEEDED
            and (
                (self._failure_reasons and machine.reason is not None and event.reason is None)
                or self._may_retry(tracker, event.state, event.attempt)
            )
        ):
            # Its Describe confirms the ending; a late older event cannot put it off.
            if tracker.heard(event):
                self._describe(key, tracker)
            return
        tracker.on_event(event, now, retries_judged=True, observed=observed)
        if tracker.pinned is not None and tracker.outcome is None:
            self._describe(key, tracker)

    def _apply_to(
        self, key: tuple[Any, ...], tracker: Tracker, state: str | None, item: Any, now: float
    ) -> None:
        machine = self.machine
        named = self._named_attempt(tracker)
        if named is not None and self._item_attempt(item) != named:
            # Named by its attempt (IoT's executionNumber): a list names the newest
            # attempt, maybe another; that attempt's own Describe says how it is.
            if item is not None:
                tracker.attempts += 1  # this page reported on the execution
            self._describe(key, tracker)
            return
        kind = machine.kind_of(state)
        if (
            kind is not None
            and kind.terminal
            and kind is not StateKind.SUCCEEDED
            and (
                (self._failure_reasons and machine.reason is not None)
                or self._may_retry(tracker, state, self._item_attempt(item))
            )
        ):
            # A list summary does not say why (IoT's lack statusDetails): the one
            # Describe an execution that did not succeed costs reads its reason.
            if item is not None:
                tracker.attempts += 1  # this page reported on it
            self._describe(key, tracker)
            return
        tracker.on_summary(state, item, now)
        if tracker.pinned is not None and tracker.outcome is None:
            # A newer attempt is listed and this wait stops at the one it watched:
            # only that attempt's own Describe says how it ended.
            self._describe(key, tracker)

    def _named_attempt(self, tracker: Tracker) -> Any:
        """The attempt the execution's own parameters name (``executionNumber``), if any."""
        spec = self.machine.retries
        if spec is None or spec.attempt is None:
            return None
        return tracker.execution.params.get(spec.attempt)

    def _item_attempt(self, item: Any) -> Any:
        if item is None or self.spec.item_attempt is None:
            return None
        return self.spec.item_attempt.search(item)

    async def know_allowance(self, states: Iterable[Any]) -> None:
        """Read the parent's retries first if one of *states* may be retried."""
        spec = self.machine.retries
        if spec is None or self._read_allowance is None or self._allowance() is not None:
            return
        if not any(state in spec.states for state in states):
            return
        for waits in self.members.values():
            for tracker in waits:
                if tracker.outcome is None and tracker.watch.settings.follow_retries:
                    await self._read_allowance(tracker)
                    return

    def _may_retry(self, tracker: Tracker, state: str | None, attempt: Any) -> bool:
        """Whether a new attempt may follow this ending (*attempt*, the one it is of, if
        known): the Describe path judges it."""
        spec = self.machine.retries
        if spec is None or state is None or not tracker.watch.settings.follow_retries:
            return False
        if state not in spec.states:
            return False
        allowance = self._allowance()
        if allowance is None:
            return True  # not read yet: the Describe path reads it
        if not isinstance(attempt, int | float) or isinstance(attempt, bool):
            attempt = tracker.attempt
        return spec.left(allowance, state, attempt)

    # --- sweeps --------------------------------------------------------------------------

    async def _baseline(self) -> None:
        """List everything once: every member is seen (or known missing) and up to date.

        Later sweeps read only what changed; counts taken before this listing
        make the first of them catch whatever ended while it ran.
        """
        started = self._listing_started = self._clock.now()
        counts = await self._counts() if self._counter is not None else None
        await self._list_status(None)
        self._full_took = self._clock.now() - started
        self.last_counts = counts
        self._last_full = started
        if counts is not None:
            self._ended_at_full = self._ended(counts)
            if sum(counts.values()) < len(self.members):
                self._distrust(
                    f"the counts add up to {sum(counts.values())}, fewer than the "
                    f"{len(self.members)} executions waited on"
                )

    async def _sweep(self) -> None:
        spec = self.spec
        if self._counter is not None and spec.status_filter:
            await self._sweep_with_counts()
        elif spec.status_filter and spec.lists_only is None:
            await self._sweep_nonterminal()
        else:
            await self._sweep_everything()

    async def _sweep_everything(self) -> None:
        seen = await self._list_status(None)
        if self.spec.lists_only == "in_progress":
            self._confirm_missing(seen)

    async def _sweep_nonterminal(self) -> None:
        seen: set[tuple[Any, ...]] = set()
        for status in self._nonterminal:
            seen |= await self._list_status(status)
        self._confirm_missing(seen)

    def _confirm_missing(self, seen: set[tuple[Any, ...]]) -> None:
        for key, waits in list(self.members.items()):
            if key not in seen:
                for tracker in list(waits):
                    if tracker.seen and tracker.outcome is None:
                        self._describe(key, tracker)

    def _ended(self, counts: Mapping[str, int]) -> int:
        return sum(counts.get(s, 0) for s in self._terminal)

    def _distrust(self, reason: str) -> None:
        """Stop believing the counts (once): every sweep lists from now on."""
        if self.distrust is not None:
            return
        self.distrust = reason
        self._events.log.warning(
            "waiters.batch_fallback",
            type=self.machine.name,
            parent=str(self.parent),
            operation=self.spec.progress_operation,
            reason=f"counts not trusted: {reason}",
        )

    async def _sweep_with_counts(self) -> None:
        if self.distrust is not None:
            await self._sweep_listing(None)
            return
        started = self._clock.now()
        counts = await self._counts()
        previous = self.last_counts or dict.fromkeys(counts, 0)
        fell = [s for s in self._terminal if counts.get(s, 0) < previous.get(s, 0)]
        if fell:
            # Terminal states are absorbing: a count that falls is not a count.
            self._distrust(f"{fell[0]} fell from {previous[fell[0]]} to {counts[fell[0]]}")
            await self._sweep_listing(None)
            return
        if started - self._last_full + self._interval + self._full_took >= self._bound:
            # Whatever the counts say, nobody goes unobserved longer than the bound:
            # the next sweep (an interval away) would finish its listing too late.
            self.last_counts = counts
            await self._sweep_listing(counts)
            return
        grown = [s for s in self._terminal if counts.get(s, 0) > previous.get(s, 0)]
        if not grown:
            self.last_counts = counts
            return
        size = self.spec.page_size
        by_terminal = sum(_pages(counts[s], size) for s in grown)
        largest = max(grown, key=lambda s: counts[s])
        # A non-terminal status empty before the lists cannot hold a member that was
        # seen before: executions only move forward.
        running = [s for s in self._nonterminal if counts.get(s, 0) > 0]
        by_elimination = (
            1
            + sum(_pages(counts[s], size) for s in running)
            + sum(_pages(counts[s], size) for s in grown if s != largest)
        )
        if by_terminal <= by_elimination:
            for status in grown:
                await self._list_status(status)
            self.last_counts = counts
            return
        still_running: set[tuple[Any, ...]] = set()
        for status in running:
            still_running |= await self._list_status(status)
        # Counts read after the non-terminal lists cover everything that left them.
        after = await self._counts()
        # The next sweep compares with the counts read before this one's lists:
        # whatever was still listed running then ended after that reading.
        self.last_counts = counts
        grown = [s for s in self._terminal if after.get(s, 0) > previous.get(s, 0)]
        if not grown:
            return
        largest = max(grown, key=lambda s: after[s])
        listed: set[tuple[Any, ...]] = set()
        for status in grown:
            if status != largest:
                listed |= await self._list_status(status)
        ended = [
            k
            for k in self.members
            if self._running_seen(k) and k not in still_running and k not in listed
        ]
        if len(ended) <= after[largest] - previous.get(largest, 0):
            await self.know_allowance((largest,))
            now = self._clock.now()
            for key in ended:
                self._apply(key, largest, None, now)
        else:
            # More ended than the counts allow (deleted executions, lagging counts).
            for key in ended:
                self._describe(key)

    async def _sweep_listing(self, counts: Mapping[str, int] | None) -> None:
        """List every running status; find how the members that left them ended.

        With *counts* (still believed), the counts read after the lists are
        checked: executions that left the running lists must have made the
        terminal counts grow by as many, or the counts lag (or froze).
        """
        started = self._clock.now()
        still_running: set[tuple[Any, ...]] = set()
        for status in self._nonterminal:
            still_running |= await self._list_status(status)
        self._full_took = self._clock.now() - started
        ended = [k for k in self.members if self._running_seen(k) and k not in still_running]
        if counts is not None:
            after = await self._counts()
            self.last_counts = after
            grew = self._ended(after) - (self._ended_at_full or 0)
            self._ended_at_full = self._ended(after)
            if len(ended) > grew:
                self._distrust(
                    f"{len(ended)} executions left the running lists while the terminal "
                    f"counts grew by {grew}"
                )
        self._last_full = started
        if not ended:
            return
        if len(ended) > len(self._terminal):
            # Cheaper to list where they went than to describe each.
            for status in self._terminal:
                await self._list_status(status)
        for key in ended:
            for tracker in self._waiting(key):
                self._describe(key, tracker)

    # --- calls ---------------------------------------------------------------------------

    async def _counts(self) -> dict[str, int]:
        assert self._counter is not None
        response = await self._call(self._counter, {self.spec.parent: self.parent})
        counts: dict[str, int] = {}
        for state, path in self.spec.progress_counts.items():
            value = path.search(response)
            counts[state] = int(value) if isinstance(value, int) else 0
        return counts

    async def _list_status(self, status: str | None) -> set[tuple[Any, ...]]:
        """List every page (of one status); apply what is seen; return the identities seen."""
        spec = self.spec
        params: dict[str, Any] = {
            spec.parent: self.parent,
            **spec.parent_params,
            spec.page_size_param: spec.page_size,
        }
        if status is not None and spec.status_filter:
            params[spec.status_filter] = status
        seen: set[tuple[Any, ...]] = set()
        members = self.members
        machine = self.machine
        while True:
            response = await self._call(self._lister, params)
            # A page with a token and no list member is an empty page, not a broken one.
            items = spec.items.search(response) or ()
            await self.know_allowance(spec.item_status.search(item) for item in items)
            now = self._clock.now()
            for item in items:
                key = machine.summary_identity(item, self.parent)
                seen.add(key)
                if key not in members:
                    continue
                state = spec.item_status.search(item)
                self._apply(key, None if state is None else str(state), item, now)
            latency = self._latency
            if latency is not None and now - self._listing_started >= latency:
                # Said as soon as it is known, not once the sweep is over: the
                # listing that is too slow may be the first, or end every wait.
                self._behind_by(now - self._listing_started, latency)
            token = response.get(spec.token)
            if not token:
                return seen
            params[spec.token] = token

    async def _call(self, endpoint: Endpoint, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """One call through the endpoint, again while throttled or transiently failing.

        Throttles cost only time (the budget paces the calls); other transient
        failures get a few jittered tries before the group falls back.
        """
        tries = 0
        while True:
            answer = await endpoint.attempt(params, limiter=self._limiter)
            self._record(answer)
            if answer.response is not None:
                return answer.response
            failure = answer.failure
            if failure is not None and failure.kind is FailureKind.THROTTLED:
                continue
            if failure is not None and failure.kind is FailureKind.TRANSIENT:
                tries += 1
                if tries < _MAX_PAGE_TRIES:
                    delay = _PAGE_RETRY.delay(tries, self._rng)
                    await self._clock.sleep_until(self._clock.now() + delay)
                    continue
            self._events.log.warning(
                "waiters.batch_fallback",
                type=self.machine.name,
                parent=str(self.parent),
                operation=endpoint.operation,
                error=type(answer.error).__name__ if answer.error is not None else None,
                code=failure.code if failure is not None else None,
            )
            raise _SweepFailed

    def _record(self, answer: Answer) -> None:
        self._stats.record(answer)
        self._tally.record(answer)
