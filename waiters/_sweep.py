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

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio

from ._budget import RateBudget, budget_key
from ._calls import Caller, Failure, FailureKind, classify, make_caller
from ._machine import BatchSpec, StateKind, StateMachine
from ._paths import Path
from ._tracker import Tracker

if TYPE_CHECKING:
    from ._poller import Poller, _Lane

__all__ = ["Group", "identity_of"]

_RANK = {StateKind.PENDING: 0, StateKind.RUNNING: 1}
_MAX_PAGE_TRIES = 8


class _SweepFailed(Exception):
    """A list call failed for a reason waiting cannot fix; fall back to Describe."""


def identity_of(machine: StateMachine, params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(params.get(spec.name) for spec in machine.identity)


def _pages(count: int, page_size: int) -> int:
    return max(1, math.ceil(count / page_size))


class Group:
    """The waiting executions of one parent, observed through list sweeps."""

    def __init__(self, poller: Poller, lane: _Lane, machine: StateMachine, parent: Any) -> None:
        assert machine.batch is not None
        self.poller = poller
        self.lane = lane
        self.machine = machine
        self.spec: BatchSpec = machine.batch
        self.parent = parent
        self.members: dict[tuple[Any, ...], Tracker] = {}
        self.last_counts: dict[str, int] | None = None
        self.sweeps = 0
        self.calls = 0
        client = lane.client
        service = machine.service
        self._list: Caller = make_caller(client, _snake(self.spec.operation))
        self._list_budget: RateBudget = poller.budgets.get(
            budget_key(client, service, self.spec.operation), poller.clock.now()
        )
        self._progress: Caller | None = None
        self._progress_budget: RateBudget | None = None
        if self.spec.progress_operation:
            self._progress = make_caller(client, _snake(self.spec.progress_operation))
            self._progress_budget = poller.budgets.get(
                budget_key(client, service, self.spec.progress_operation), poller.clock.now()
            )
        # Every count path starts at the same member (DescribeJob's `job`).
        first = next(iter(self.spec.progress_counts.values()), None)
        self._progress_root = Path(first.keys[0]) if first and first.keys else Path("job")
        ordered = sorted(
            (s for s, k in machine.states.items() if not k.terminal),
            key=lambda s: _RANK.get(machine.states[s], 1),
        )
        self._nonterminal = ordered
        self._terminal = [s for s, k in machine.states.items() if k.terminal]

    def add(self, tracker: Tracker) -> None:
        tracker.listed = True
        self.members[identity_of(self.machine, tracker.execution.params)] = tracker

    # --- the sweeper task ------------------------------------------------------------------

    async def run(self) -> None:
        poller = self.poller
        clock = poller.clock
        interval = poller.sweep_interval
        try:
            try:
                await self._baseline()
            except _SweepFailed:
                return
            while True:
                self._prune()
                if len(self.members) <= poller.straggler_limit:
                    break
                started = clock.now()
                try:
                    await self._sweep()
                except _SweepFailed:
                    break
                self.sweeps += 1
                self._release_unseen(clock.now())
                # Back to back when a sweep takes longer than the interval.
                await clock.sleep_until(max(started + interval, clock.now()))
        finally:
            self._release_all()
            poller._groups.pop((id(self.lane.client), self.machine.name, self.parent), None)

    def _prune(self) -> None:
        for key in [k for k, t in self.members.items() if t.outcome is not None or not t.listed]:
            del self.members[key]

    def _describe(self, tracker: Tracker) -> None:
        """Hand one execution back to per-execution Describe polling."""
        tracker.listed = False
        self.lane.push(tracker, self.poller.clock.now())

    def _release_all(self) -> None:
        for tracker in self.members.values():
            if tracker.outcome is None and tracker.listed:
                self._describe(tracker)
        self.members.clear()

    def _release_unseen(self, now: float) -> None:
        """Never listed after the grace window: Describe says whether it exists at all."""
        for key, tracker in list(self.members.items()):
            if not tracker.seen and now - tracker.started >= tracker.settings.not_found_grace:
                del self.members[key]
                self._describe(tracker)

    # --- sweeps --------------------------------------------------------------------------

    async def _baseline(self) -> None:
        """List everything once: every member is seen (or known missing) and up to date.

        Later sweeps read only what changed; counts taken before this listing
        make the first of them catch whatever ended while it ran.
        """
        counts = await self._counts() if self._progress is not None else None
        await self._list_status(None)
        self.last_counts = counts

    async def _sweep(self) -> None:
        spec = self.spec
        if self._progress is not None and spec.status_filter:
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
        for key, tracker in list(self.members.items()):
            if key not in seen and tracker.seen and tracker.outcome is None:
                del self.members[key]
                self._describe(tracker)

    async def _sweep_with_counts(self) -> None:
        counts = await self._counts()
        previous = self.last_counts or dict.fromkeys(counts, 0)
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
            t
            for k, t in self.members.items()
            if t.outcome is None and t.seen and k not in still_running and k not in listed
        ]
        if len(ended) <= after[largest] - previous.get(largest, 0):
            now = self.poller.clock.now()
            for tracker in ended:
                self.poller._observed(tracker, largest, None, now)
        else:
            # More ended than the counts allow (deleted executions, lagging counts).
            for tracker in ended:
                self._describe(tracker)

    # --- calls ---------------------------------------------------------------------------

    async def _counts(self) -> dict[str, int]:
        assert self._progress is not None
        assert self._progress_budget is not None
        response = await self._call(
            self._progress,
            self._progress_budget,
            {self.spec.parent: self.parent},
            self._progress_root,
        )
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
        poller = self.poller
        while True:
            response = await self._call(self._list, self._list_budget, params, spec.items)
            now = poller.clock.now()
            items = spec.items.search(response)
            for item in items or ():
                key = self.machine.summary_identity(item, self.parent)
                seen.add(key)
                tracker = members.get(key)
                if tracker is None or tracker.outcome is not None:
                    continue
                state = spec.item_status.search(item)
                poller._observed(tracker, None if state is None else str(state), item, now)
            token = response.get(spec.token)
            if not token:
                return seen
            params[spec.token] = token

    async def _call(
        self, caller: Caller, budget: RateBudget, params: Mapping[str, Any], required: Path
    ) -> Mapping[str, Any]:
        """One call through the budget, retried while throttled or transiently failing.

        botocore parses a truncated JSON body into an empty response, so an
        answer without the *required* member is treated as malformed and retried.
        """
        poller = self.poller
        clock = poller.clock
        attempt = 0
        # Throttles only cost time (the budget paces the retries); other
        # transient failures get a few tries before the group falls back.
        while attempt < _MAX_PAGE_TRIES:
            slot = budget.reserve(clock.now())
            if slot > clock.now():
                await clock.sleep_until(slot)
            error: Exception | None = None
            async with self.lane.limiter:
                try:
                    with anyio.move_on_after(poller.call_timeout) as scope:
                        response = await caller(params)
                except Exception as exc:  # noqa: BLE001 - classified; a sweep never crashes
                    error = exc
                if scope.cancelled_caught:
                    error = TimeoutError(f"no answer within {poller.call_timeout:g}s")
            now = clock.now()
            self.calls += 1
            if error is None and required.search(response) is None:
                failure: Failure | None = Failure(
                    FailureKind.TRANSIENT,
                    "MalformedResponse",
                    f"no {required.expression}",
                    None,
                    None,
                )
            elif error is not None:
                failure = classify(error, self.machine)
            else:
                failure = None
            throttled = failure is not None and failure.kind is FailureKind.THROTTLED
            poller._count_call(self, throttled=throttled, failed=failure is not None)
            if failure is None and error is None:
                budget.on_success(now)
                return response
            if failure is not None and failure.kind is FailureKind.THROTTLED:
                budget.on_throttle(now)
                continue
            if failure is not None and failure.kind is FailureKind.TRANSIENT:
                attempt += 1
                await clock.sleep_until(now + min(8.0, 0.25 * 2**attempt))
                continue
            poller.events.log.warning(
                "waiters.batch_fallback",
                type=self.machine.name,
                parent=str(self.parent),
                operation=self.spec.operation,
                error=type(error).__name__,
                code=failure.code if failure else None,
            )
            raise _SweepFailed
        raise _SweepFailed


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))
