"""The shard activity: one account in one region, one Poller, a heartbeat that survives the worker.

Temporal's guidance for frequent polling is a long-running activity that
heartbeats; this is that activity. It waits on its shard's targets through
one :class:`~waiters.Poller` with budgets of its own (so its account's quota
is spent by it alone), heartbeats a checkpoint every second, reports its
counts to the workflow by signal every few seconds, and, when it is a retry,
starts from the last checkpoint: outcomes in it are not waited on again, and
the deadline is the rollout's, not a new one.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import anyio
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from .. import (
    Backoff,
    Batch,
    BudgetConfig,
    BudgetRegistry,
    Checkpoint,
    Execution,
    FailFast,
    InvalidExecution,
    Outcome,
    OutcomeKind,
    Poller,
    execution,
)
from ._durable import Resumed, checkpoint_of, cut, resume_from
from ._model import Account, OutcomeRecord, ShardInput, ShardProgress, ShardReport

__all__ = ["HEARTBEAT_EVERY", "PROGRESS_EVERY", "PROGRESS_SIGNAL", "wait_shard"]

#: Seconds between heartbeats (Temporal sends at most one per 80% of the
#: heartbeat timeout and keeps the newest details meanwhile).
HEARTBEAT_EVERY = 1.0

#: The shortest time between two progress reports of a shard to the workflow,
#: seconds; the workflow sets a longer one for a large or long rollout
#: (:attr:`ShardInput.progress_every`), and a shard reports only changed counts.
PROGRESS_EVERY = 2.0

#: The workflow's signal that takes a :class:`ShardProgress`.
PROGRESS_SIGNAL = "waiters.shard_progress"

_log = structlog.get_logger("waiters")

#: Shard activities running in this process: their checkpoints share one CPU budget.
_running = 0


_LOADER: Any = None

_ACCOUNT_ID = re.compile(r"\d{12}")


def _session(account: Account) -> Any:
    """An aioboto3 session with *account*'s credentials, on the process's one model loader.

    A session of its own per shard keeps accounts apart; the loader is shared
    because each new one parses every service model again (a fraction of a
    second of CPU each), and shards starting together would hold up the
    event loop, and so their heartbeats, for seconds.

    With access keys and an :attr:`Account.name` that is a 12-digit account
    id, the credentials carry it: the Poller keys its budgets by account and
    would otherwise learn it with GetCallerIdentity, through a botocore
    session of its own that loads its models anew, a third of a second of
    CPU per shard start (measured: a third of two workers' CPU in a rollout
    of 100 shards).
    """
    global _LOADER  # one per worker process, made on first use
    import aioboto3
    import botocore.loaders
    from aiobotocore.session import AioSession

    if _LOADER is None:
        _LOADER = botocore.loaders.create_loader()
    core = AioSession(profile=account.profile)
    core.register_component("data_loader", _LOADER)
    known = account.access_key_id is not None and _ACCOUNT_ID.fullmatch(account.name)
    return aioboto3.Session(
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        aws_session_token=account.session_token,
        aws_account_id=account.name if known else None,
        botocore_session=core,
    )


def _record(index: int, outcome: Outcome) -> OutcomeRecord:
    return OutcomeRecord(
        index=index,
        kind=outcome.kind.value,
        state=outcome.state,
        reason=cut(outcome.reason),
        attempts=outcome.attempts,
        finished_at=time.time(),
    )


def _ended(index: int, kind: OutcomeKind, reason: str, at: float | None = None) -> OutcomeRecord:
    return OutcomeRecord(index, kind.value, None, cut(reason), 0, time.time() if at is None else at)


def _counts(rule: FailFast, record: OutcomeRecord) -> bool:
    if OutcomeKind(record.kind) not in rule.kinds:
        return False
    return rule.states is None or record.state in rule.states


class _Shard:
    """One attempt at a shard: the outcomes so far, fail-fast, reports."""

    def __init__(self, shard: ShardInput, resumed: Resumed | None, attempt: int) -> None:
        self.shard = shard
        self.attempt = attempt
        self.deadline = shard.deadline if resumed is None else resumed.deadline
        self.done: dict[int, OutcomeRecord] = {} if resumed is None else dict(resumed.outcomes)
        self.resumed = len(self.done)
        self.rule = None if shard.fail_fast is None else shard.fail_fast.to_fail_fast()
        self.failures = (
            0 if self.rule is None else sum(_counts(self.rule, r) for r in self.done.values())
        )
        self.tripped: str | None = None
        self.batch: Batch | None = None
        self.indices: dict[Execution, list[int]] = {}
        self.size = shard.size
        self.sequence = 0

    def take(self, outcome: Outcome) -> None:
        """``on_outcome``: keep it, and judge the fail-fast rule over the whole shard."""
        for index in self.indices[outcome.execution]:
            self.finish(_record(index, outcome))

    def finish(self, record: OutcomeRecord) -> None:
        if record.index in self.done:
            return
        self.done[record.index] = record
        rule = self.rule
        if rule is None or self.tripped is not None:
            return
        self.failures += _counts(rule, record)
        if rule.tripped(self.failures, len(self.done), self.size):
            self.tripped = (
                f"fail-fast threshold reached: {self.failures} failures "
                f"of {len(self.done)} finished"
            )
            if self.batch is not None:
                # Called from the batch's own on_outcome, as its built-in rule does.
                self.batch.abandon(self.tripped)

    def progress(self) -> ShardProgress:
        outcomes = Counter(record.kind for record in self.done.values())
        waiting: dict[str, int] = {}
        batch = self.batch
        if batch is not None:
            waiting = {str(state): count for state, count in batch.progress().states.items()}
        else:
            unseen = self.size - len(self.done)
            waiting = {"unseen": unseen} if unseen else {}
        self.sequence += 1
        return ShardProgress(
            key=self.shard.key,
            total=self.size,
            outcomes=dict(outcomes),
            waiting=waiting,
            attempt=self.attempt,
            sequence=self.sequence,
        )

    def report(self) -> ShardReport:
        try:
            return ShardReport.of(
                key=self.shard.key,
                outcomes=[self.done[index] for index in self.shard.all_indices()],
                tripped=self.tripped,
                resumed=self.resumed,
                attempt=self.attempt,
            )
        except ValueError as exc:
            # Too large for a payload: a retry would only find as many again.
            raise ApplicationError(str(exc), type="ReportTooLarge", non_retryable=True) from None


async def _beat(shard: _Shard) -> None:
    """Heartbeat the checkpoint every second; signal the counts when they change."""
    info = activity.info()
    # Started on its own rather than by a rollout, it has no workflow to tell.
    handle = (
        None
        if info.workflow_id is None
        else activity.client().get_workflow_handle(info.workflow_id, run_id=info.workflow_run_id)
    )
    last: tuple[Mapping[str, int], Mapping[str, int]] | None = None
    every = max(PROGRESS_EVERY, shard.shard.progress_every)
    since = every
    packed, packed_for = "", -1
    took, made_at = 0.0, -math.inf
    while True:
        # Outcomes only ever grow: the same count is the same checkpoint, not made again.
        # What the batch saw changes it too. A checkpoint costs time in proportion to
        # the shard (about 13 ms per 1,000 executions), and one worker process runs
        # many shards on one CPU: each shard makes its checkpoint again at most once
        # per ten times what its last one took times the shards running here, so
        # that checkpoints take a tenth of the process's CPU at most, however many
        # shards it runs (50 shards of 1,000 executions would otherwise want all of
        # it, and starve the heartbeats until Temporal retries the shards). Between
        # two, the heartbeat repeats the last: a retry waits again on what ended
        # since, and reports it once, from the attempt that reports.
        batch = shard.batch
        now = time.monotonic()
        due = now - made_at >= max(HEARTBEAT_EVERY, 10 * took * max(1, _running))
        changed = batch is not None or len(shard.done) != packed_for
        if packed_for < 0 or (changed and due):
            try:
                packed = checkpoint_of(
                    shard.done.values(),
                    shard.deadline,
                    None if batch is None else batch.checkpoint(),
                )
            except ValueError as exc:
                # Too large for a heartbeat: a retry would only grow it again.
                raise ApplicationError(
                    str(exc), type="CheckpointTooLarge", non_retryable=True
                ) from None
            packed_for = len(shard.done)
            made_at = time.monotonic()
            took = made_at - now
        activity.heartbeat(packed)
        if handle is not None and since >= every:
            since = 0.0
            progress = shard.progress()
            if (progress.outcomes, progress.waiting) != last:
                last = (progress.outcomes, progress.waiting)
                try:
                    await handle.signal(PROGRESS_SIGNAL, progress)
                except Exception as exc:  # noqa: BLE001 - progress is best effort; the result is not
                    _log.warning(
                        "waiters.temporal.progress_lost", shard=shard.shard.key, error=repr(exc)
                    )
        await anyio.sleep(HEARTBEAT_EVERY)
        since += HEARTBEAT_EVERY


@activity.defn(name="waiters.wait_shard")
async def wait_shard(shard: ShardInput) -> ShardReport:
    """Wait on one shard's targets: one account in one region, one Poller.

    Resumes from the checkpoint of the attempt before, if any: outcomes in it
    are kept as they are and not waited on again, and the deadline is the
    checkpoint's. Targets whose type or parameters are refused end ``error``
    with the reason, without a call. Cancelled (another shard tripped its
    fail-fast rule), the targets without an outcome end ``abandoned`` and the
    report is returned all the same.

    :param shard: the :class:`ShardInput` the workflow made.
    :returns: a :class:`ShardReport` with one outcome per target.
    :raises ApplicationError: a checkpoint that cannot be read (not retried:
        a retry would read it again).
    """
    info = activity.info()
    try:
        resumed = resume_from(info.heartbeat_details)
    except ValueError as exc:
        raise ApplicationError(str(exc), type="CorruptCheckpoint", non_retryable=True) from None
    global _running  # the count of this process's shards, see _beat
    _running += 1
    try:
        return await _wait_shard(shard, resumed, info.attempt)
    finally:
        _running -= 1


async def _wait_shard(shard: ShardInput, resumed: Resumed | None, attempt: int) -> ShardReport:
    state = _Shard(shard, resumed, attempt)
    log = _log.bind(shard=shard.key, attempt=attempt)
    log.info("waiters.temporal.shard_started", targets=state.size, resumed=state.resumed)
    # Every valid target's execution, done or not: a batch resumed from its
    # checkpoint is the same batch again (the checkpoint names its executions).
    executions: dict[Execution, list[int]] = {}
    for index, target in shard.items():
        try:
            item = execution(target.type, **target.params)
        except InvalidExecution as exc:
            state.finish(_ended(index, OutcomeKind.ERROR, str(exc)))
            continue
        executions.setdefault(item, []).append(index)
    state.indices = executions
    async with anyio.create_task_group() as beats:
        beats.start_soon(_beat, state)
        try:
            await _wait(state, shard, executions, None if resumed is None else resumed.batch)
        finally:
            beats.cancel_scope.cancel()
    log.info(
        "waiters.temporal.shard_done",
        outcomes=dict(Counter(r.kind for r in state.done.values())),
        tripped=state.tripped,
    )
    return state.report()


async def _wait(
    state: _Shard,
    shard: ShardInput,
    executions: Mapping[Execution, list[int]],
    checkpoint: Checkpoint | None,
) -> None:
    left = state.deadline - time.time()
    undone = [e for e, indices in executions.items() if any(i not in state.done for i in indices)]
    if not undone:
        return
    if left <= 0 or state.tripped is not None:
        kind = OutcomeKind.WAIT_TIMEOUT if left <= 0 else OutcomeKind.ABANDONED
        reason = "the rollout's deadline passed" if left <= 0 else state.tripped or ""
        for item in undone:
            for index in executions[item]:
                # A wait past its deadline ended at the deadline, however late a
                # retry (a worker restarted after it) finds out.
                state.finish(_ended(index, kind, reason, state.deadline if left <= 0 else None))
        return
    polling = shard.polling
    config = BudgetConfig() if polling.max_rate is None else BudgetConfig(max_rate=polling.max_rate)
    async with Poller(
        session=_session(shard.account),
        region_name=shard.region,
        endpoint_url=shard.account.endpoint_url,
        backoff=Backoff(min_delay=polling.min_delay, max_delay=polling.max_delay),
        not_found_grace=polling.not_found_grace,
        budgets=BudgetRegistry(config),
        timeout=left,
    ) as poller:
        if checkpoint is not None:
            # The same batch again: its outcomes restored (not reported twice), what
            # it saw kept (a Transfer run seen in progress is not taken for missing),
            # its deadline the checkpoint's.
            batch = await poller.submit(
                list(executions), on_outcome=state.take, checkpoint=checkpoint
            )
        else:
            batch = await poller.submit(undone, on_outcome=state.take)
        state.batch = batch
        try:
            await batch.done.wait()
        except BaseException:
            # Cancelled by the workflow (another shard tripped), or by the worker
            # shutting down: the rest are abandoned, and the report still goes back.
            batch.abandon("the rollout was stopped")
            if not activity.is_cancelled():
                raise
        for outcome in batch.result():
            state.take(outcome)
