"""The rollout workflow: shards by (account, region), gathers their outcomes, stops them together.

Workflow code must replay identically from its history, so everything here
is deterministic: shards are ordered by their id, time is the workflow's,
and nothing is read from outside but the activities' results and signals.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from .. import OutcomeKind
    from ._activity import PROGRESS_EVERY, PROGRESS_SIGNAL, wait_shard
    from ._durable import cut, resume_from
    from ._model import (
        OutcomeRecord,
        RolloutInput,
        RolloutProgress,
        RolloutResult,
        ShardInput,
        ShardProgress,
        ShardReport,
        shard_key,
    )

__all__ = [
    "PROGRESS_SIGNALS",
    "REPORT_GRACE",
    "RolloutWorkflow",
    "progress_interval",
    "shards_of",
]

#: Seconds past the deadline a shard has to hand its outcomes back (the
#: Poller's last call at the deadline may take a call timeout to answer).
REPORT_GRACE = 60.0

#: The progress signals a whole rollout may send, however many shards it has
#: and however long it lasts (see :func:`progress_interval`).
PROGRESS_SIGNALS = 5_000


def progress_interval(shards: int, seconds: float) -> float:
    """Seconds between a shard's progress signals, for *shards* shards over *seconds*.

    Each signal is an event in the workflow's history (and, unless it
    arrives with others, a workflow task of three more), and Temporal ends a
    workflow whose history passes 50,000 events. A shard signals at most
    every :data:`PROGRESS_EVERY` seconds, and only when its counts
    changed; the interval grows with the shards and the rollout's length so
    that the rollout sends at most :data:`PROGRESS_SIGNALS` signals in all:
    at most 5,000 signal events and 15,000 workflow-task events, whatever
    the rollout's size (before, each shard signalled every 2 s: 1,800
    signals per shard-hour, so 100 shards passed the limit in 17 minutes on
    signal events alone). A shard-hour now costs at most 3,600 / interval
    signals, that is 5,000 x 3,600 / (shards x rollout seconds) once over the
    2 s floor: 1,667 for 3 shards over an hour, 50 for 100 shards over an
    hour (a signal every 72 s), 69 for 3 shards over a day. The price is
    freshness: the counts the progress query returns are up to an interval
    old (a shard's last counts arrive with its report). Heartbeats cost no
    history: Temporal keeps only a shard's last one.
    """
    if shards <= 0:
        return PROGRESS_EVERY
    return max(PROGRESS_EVERY, shards * max(seconds, 0.0) / PROGRESS_SIGNALS)


def shards_of(rollout: RolloutInput, *, now: float | None = None) -> list[ShardInput]:
    """The rollout's executions split by (account, region), in order of shard id.

    :param now: the workflow's time, epoch seconds, from which each shard's
        progress interval is reckoned unless the rollout sets one (default:
        the deadline, which gives the shortest interval).
    """
    accounts = {account.name: account for account in rollout.accounts}
    singles: dict[str, list[int]] = {}
    grouped: dict[str, list[int]] = {}
    places: dict[str, tuple[str, str]] = {}
    for index, target in enumerate(rollout.targets):
        key = shard_key(target.account, target.region)
        places[key] = (target.account, target.region)
        singles.setdefault(key, []).append(index)
    starts: list[int] = []
    start = len(rollout.targets)
    for position, group in enumerate(rollout.groups):
        key = shard_key(group.account, group.region)
        places[key] = (group.account, group.region)
        grouped.setdefault(key, []).append(position)
        starts.append(start)
        start += len(group)
    deadline = rollout.deadline_epoch
    every = rollout.progress_every
    if every is None:
        every = progress_interval(len(places), deadline - (deadline if now is None else now))
    return [
        ShardInput(
            account=accounts[account],
            region=region,
            indices=singles.get(key, []),
            targets=[rollout.targets[i] for i in singles.get(key, [])],
            deadline=deadline,
            fail_fast=rollout.fail_fast,
            polling=rollout.polling,
            groups=[rollout.groups[p] for p in grouped.get(key, [])],
            starts=[starts[p] for p in grouped.get(key, [])],
            progress_every=every,
        )
        for key, (account, region) in sorted(places.items())
    ]


def _filled(
    shard: ShardInput, known: list[OutcomeRecord], kind: OutcomeKind, reason: str, now: float
) -> list[OutcomeRecord]:
    """*known* outcomes of *shard*, and *kind* for every target without one."""
    by_index = {record.index: record for record in known}
    return [
        by_index.get(index) or OutcomeRecord(index, kind.value, None, cut(reason), 0, now)
        for index in shard.all_indices()
    ]


@workflow.defn(name="waiters.Rollout")
class RolloutWorkflow:
    """Wait on a rollout's executions across accounts and regions; every outcome once.

    One activity per (account, region) shard waits on its targets through
    one Poller, heartbeating a checkpoint; Temporal retries a shard whose
    worker died, and the retry resumes from the checkpoint. When a shard's
    fail-fast rule trips, every other shard is cancelled and its targets
    without an outcome come back ``abandoned``.

    Start it with ``client.execute_workflow(RolloutWorkflow.run, rollout,
    id=..., task_queue=...)``; query ``RolloutWorkflow.progress`` for the
    counts per state and shard.
    """

    def __init__(self) -> None:
        self._progress: dict[str, ShardProgress] = {}

    @workflow.run
    async def run(self, rollout: RolloutInput) -> RolloutResult:
        """Wait on every target of *rollout*; returns a :class:`RolloutResult`.

        :raises ApplicationError: the deadline is not in the future (not retried).
        """
        now = workflow.now().timestamp()
        deadline = rollout.deadline_epoch
        if deadline <= now:
            raise ApplicationError(
                f"RolloutInput.deadline must be in the future, got {deadline} "
                f"({now - deadline:.3f} s ago)",
                type="InvalidRollout",
                non_retryable=True,
            )
        shards = shards_of(rollout, now=now)
        for shard in shards:
            total = shard.size
            self._progress[shard.key] = ShardProgress(shard.key, total, waiting={"unseen": total})
        tasks: dict[asyncio.Task[ShardReport], ShardInput] = {}
        for shard in shards:
            handle = workflow.start_activity(
                wait_shard,
                shard,
                activity_id=shard.key,
                schedule_to_close_timeout=timedelta(seconds=deadline - now + REPORT_GRACE),
                heartbeat_timeout=timedelta(seconds=rollout.heartbeat_timeout),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=30),
                    non_retryable_error_types=["CorruptCheckpoint"],
                ),
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            tasks[handle] = shard
        reports: dict[str, ShardReport] = {}
        outcomes: list[OutcomeRecord] = []
        tripped: str | None = None
        pending = set(tasks)
        while pending:
            done, left = await workflow.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending = set(left)
            for task in sorted(done, key=lambda t: tasks[t].key):
                shard = tasks[task]
                report = self._report_of(shard, task)
                reports[shard.key] = report
                records = report.outcomes
                outcomes.extend(records)
                self._finished(shard, report, records)
                if report.tripped is not None and tripped is None:
                    tripped = f"{shard.key}: {report.tripped}"
                    for other in pending:
                        other.cancel()
        outcomes.sort(key=lambda record: record.index)
        counts = Counter(record.kind for record in outcomes)
        try:
            return RolloutResult.of(
                outcomes=outcomes,
                counts=dict(sorted(counts.items())),
                tripped=tripped,
                shards={
                    key: ShardReport(r.key, "", r.tripped, r.resumed, r.attempt)
                    for key, r in sorted(reports.items())
                },
            )
        except ValueError as exc:
            raise ApplicationError(str(exc), type="ResultTooLarge", non_retryable=True) from None

    def _report_of(self, shard: ShardInput, task: asyncio.Task[ShardReport]) -> ShardReport:
        """The shard's report, or, if its activity gave none, its last checkpoint filled in."""
        now = workflow.now().timestamp()
        try:
            return task.result()
        except (ActivityError, asyncio.CancelledError) as exc:
            cause = exc.cause if isinstance(exc, ActivityError) else exc
            details = cause.last_heartbeat_details if isinstance(cause, TimeoutError) else ()
            if isinstance(cause, TimeoutError):
                kind, why = OutcomeKind.WAIT_TIMEOUT, "the shard did not report by the deadline"
            elif isinstance(cause, CancelledError | asyncio.CancelledError):
                kind, why = OutcomeKind.ABANDONED, "the rollout was stopped"
            else:
                kind, why = OutcomeKind.ERROR, f"the shard failed: {cause or exc}"
            try:
                resumed = resume_from(details)
            except ValueError:
                resumed = None
            known = [] if resumed is None else list(resumed.outcomes.values())
            workflow.logger.warning("shard %s ended without a report: %s", shard.key, why)
            return ShardReport.of(
                shard.key, _filled(shard, known, kind, why, now), None, len(known), 0
            )

    def _finished(
        self, shard: ShardInput, report: ShardReport, records: list[OutcomeRecord]
    ) -> None:
        last = self._progress[shard.key]
        self._progress[shard.key] = ShardProgress(
            key=shard.key,
            total=shard.size,
            outcomes=dict(Counter(record.kind for record in records)),
            waiting={},
            attempt=max(last.attempt, report.attempt),
            sequence=last.sequence,
            done=True,
        )

    @workflow.signal(name=PROGRESS_SIGNAL)
    def shard_progress(self, progress: ShardProgress) -> None:
        """Take a shard's counts; an older report (of an earlier attempt) changes nothing."""
        last = self._progress.get(progress.key)
        if (
            last is None
            or last.done
            or (progress.attempt, progress.sequence)
            <= (
                last.attempt,
                last.sequence,
            )
        ):
            return
        self._progress[progress.key] = progress

    @workflow.query
    def progress(self) -> RolloutProgress:
        """The counts per state and shard: finished by outcome kind, waiting by last state."""
        outcomes: Counter[str] = Counter()
        waiting: Counter[str] = Counter()
        for shard in self._progress.values():
            outcomes.update(shard.outcomes)
            waiting.update(shard.waiting)
        return RolloutProgress(
            shards=dict(sorted(self._progress.items())),
            outcomes=dict(sorted(outcomes.items())),
            waiting=dict(sorted(waiting.items())),
            total=sum(shard.total for shard in self._progress.values()),
        )
