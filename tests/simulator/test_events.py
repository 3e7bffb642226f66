"""Execution events published to the embedded SQS queue (and forwarded to moto's)."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, closing
from typing import Any

import aioboto3
import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.motoserver import moto_queue
from waiters.simulator import (
    EventConfig,
    Fleet,
    ForwardSqs,
    Lifecycle,
    Retries,
    Simulator,
    add_arguments,
)
from waiters.simulator._cli import build_fleet

from .helpers import FakeClock

#: Job executions that sometimes fail and are retried once; commands that end every way.
JOB_LIFE = Lifecycle(pending=(1.0, 5.0), running=(5.0, 20.0), mix={"SUCCEEDED": 0.5, "FAILED": 0.5})
COMMAND_LIFE = Lifecycle(
    pending=(1.0, 5.0),
    running=(5.0, 20.0),
    mix={"SUCCEEDED": 0.4, "FAILED": 0.3, "TIMED_OUT": 0.2, "REJECTED": 0.1},
)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    """Closes the test's boto3 clients after it (an unclosed socket is an error here)."""
    with ExitStack() as exits:
        yield exits


def _client(stack: ExitStack, sim: Simulator, service: str) -> Any:
    client: Any = boto3.client(service, **sim.client_kwargs())  # type: ignore[call-overload]
    return stack.enter_context(closing(client))


def _fleet(clock: FakeClock, **events: Any) -> Fleet:
    # Every status, so each transition's event can be held against its answer.
    fleet = Fleet(seed=5, clock=clock, events=EventConfig(**{"every_status": True, **events}))
    fleet.add_iot_job(
        "job-1",
        things=6,
        lifecycle=JOB_LIFE,
        retries=Retries(criteria={"FAILED": 1}, delay=(1.0, 2.0), lifecycle=JOB_LIFE),
    )
    fleet.add_command("cmd-1", 6, lifecycle=COMMAND_LIFE)
    fleet.add("snow-execution", 2)  # publishes nothing
    return fleet


def _transitions(fleet: Fleet) -> list[float]:
    """Every clock time an event-publishing execution changes state."""
    return sorted(
        {
            t
            for kind, _, truth in fleet.executions()
            if kind in ("iot-job-execution", "iot-command-execution")
            for _, t in truth
        }
    )


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message visible now, received and deleted."""
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out.extend(got)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )


def _ms(value: datetime.datetime) -> int:
    return round(value.timestamp() * 1000)


@pytest.mark.parametrize("fmt", ["raw", "eventbridge"])
def test_each_event_says_what_describe_answers_at_that_moment(fmt: str, stack: ExitStack) -> None:
    clock = FakeClock()
    fleet = _fleet(clock, format=fmt)
    seen: Counter[str] = Counter()
    with Simulator(fleet).in_thread() as sim:
        sqs = _client(stack, sim, "sqs")
        iot = _client(stack, sim, "iot")
        url = sim.events_queue_url
        for moment in _transitions(fleet):
            clock.now = moment + 1e-6
            for message in _drain(sqs, url):
                body = json.loads(message["Body"])
                if fmt == "eventbridge":
                    envelope, body = body, body["detail"]
                    assert envelope["version"] == "0"
                    assert envelope["id"] == body["eventId"]
                    assert envelope["source"] == "aws.iot"
                    assert (envelope["account"], envelope["region"]) == (
                        fleet.account,
                        fleet.region,
                    )
                    when = datetime.datetime.fromtimestamp(body["timestamp"] // 1000, datetime.UTC)
                    assert envelope["time"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
                    arn = body.get("thingArn", body.get("targetArn"))
                    assert envelope["resources"] == [arn]
                    assert envelope["detail-type"] == (
                        "IoT Job Execution Status Change"
                        if body["eventType"] == "JOB_EXECUTION"
                        else "IoT Command Execution Status Change"
                    )
                seen[body["eventType"]] += 1
                if body["eventType"] == "JOB_EXECUTION":
                    thing = body["thingArn"].rsplit("/", 1)[1]
                    job: Any = iot.describe_job_execution(
                        jobId=body["jobId"],
                        thingName=thing,
                        executionNumber=body["executionNumber"],
                    )["execution"]
                    answer = job
                    assert body["operation"] == answer["status"].lower()
                    expected = {
                        "jobId": answer["jobId"],
                        "thingArn": answer["thingArn"],
                        "status": answer["status"],
                        "executionNumber": answer["executionNumber"],
                        "versionNumber": answer["versionNumber"],
                        "timestamp": _ms(answer["lastUpdatedAt"]),
                    }
                    details = answer.get("statusDetails", {}).get("detailsMap")
                    assert body.get("statusDetails") == details
                else:
                    answer = iot.get_command_execution(
                        executionId=body["executionId"], targetArn=body["targetArn"]
                    )
                    expected = {
                        "commandArn": answer["commandArn"],
                        "executionId": answer["executionId"],
                        "targetArn": answer["targetArn"],
                        "status": answer["status"],
                        "timestamp": _ms(answer["lastUpdatedAt"]),
                    }
                    assert body.get("statusReason") == answer.get("statusReason")
                assert {key: body[key] for key in expected} == expected
    log = fleet.events_log
    assert len(log) == sum(seen.values())
    assert {record.fate for record in log} == {"published"}
    assert seen["JOB_EXECUTION"] == sum(
        len(truth) for kind, _, truth in fleet.executions() if kind == "iot-job-execution"
    )
    assert seen["COMMAND_EXECUTION"] == 6 * 3
    assert any(record.execution_number == 2 for record in log)  # retries publish too


def test_without_reasons_terminal_events_lack_details_and_reasons(stack: ExitStack) -> None:
    clock = FakeClock()
    fleet = _fleet(clock, reasons=False)
    clock.advance(3600)
    fleet.pump_events()
    with Simulator(fleet).in_thread() as sim:
        sqs = _client(stack, sim, "sqs")
        bodies = [json.loads(m["Body"]) for m in _drain(sqs, sim.events_queue_url)]
    assert len(bodies) == len(fleet.events_log)
    for body in bodies:
        terminal = body["status"] not in ("QUEUED", "CREATED", "IN_PROGRESS")
        if terminal:
            assert "statusDetails" not in body and "statusReason" not in body
        elif body["status"] == "IN_PROGRESS" and body["eventType"] == "JOB_EXECUTION":
            assert body["statusDetails"] == {"step": "downloading"}


def _big_fleet(clock: FakeClock, executions: int = 300, **events: Any) -> Fleet:
    fleet = Fleet(seed=9, clock=clock, speed=1.0, events=EventConfig(**events))
    fleet.add_command("cmd-big", executions, lifecycle=COMMAND_LIFE)
    return fleet


def _receive_all(fleet: Fleet) -> list[tuple[float, dict[str, Any]]]:
    """Step the fake clock through the run, receiving in-process: (service time, body) pairs."""
    clock = fleet._clock
    assert isinstance(clock, FakeClock)
    url = fleet.events_queue_url
    got: list[tuple[float, dict[str, Any]]] = []
    for _ in range(400):
        while True:
            answer = fleet.sqs_request(
                "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10}
            )
            assert answer.body is not None
            messages = answer.body.get("Messages", [])
            if not messages:
                break
            for message in messages:
                got.append((fleet.now(), json.loads(message["Body"])))
                fleet.sqs_request(
                    "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]}
                )
        clock.advance(0.25)
    return got


def test_loss_and_duplicates_by_count_under_a_seed() -> None:
    fleet = _big_fleet(FakeClock(), loss=0.2, duplicate=0.1, delay=2.0)
    got = _receive_all(fleet)
    stats = fleet.events_stats()
    log = fleet.events_log
    assert stats["events"] == len(log) == 900 and stats["pending"] == 0
    assert 0.15 * 900 < stats["lost"] < 0.25 * 900
    published = [record for record in log if record.fate == "published"]
    duplicated = [record for record in published if len(record.visible) == 2]
    assert 0.05 * len(published) < len(duplicated) < 0.15 * len(published)
    assert len(got) == stats["messages"] == len(published) + len(duplicated)
    by_id = Counter(body["eventId"] for _, body in got)
    assert by_id == Counter({record.event_id: len(record.visible) for record in published})
    # The same seed gives the same events, fates and delays.
    again = _big_fleet(FakeClock(), loss=0.2, duplicate=0.1, delay=2.0)
    _receive_all(again)
    assert again.events_log == log


def test_delays_hold_messages_back_and_reorder_swaps_an_executions_events() -> None:
    fleet = _big_fleet(FakeClock(), executions=100, delay=3.0, reorder=1.0)
    got = _receive_all(fleet)
    log = fleet.events_log
    assert len(got) == len(log) == 300
    delays = [record.visible[0] - record.transition for record in log if not record.reordered]
    assert min(delays) >= 0 and max(delays) <= 3.0 and max(delays) > 1.0
    # Every event but an execution's last is held behind the next one.
    reordered = [record for record in log if record.reordered]
    assert len(reordered) == 200
    order: dict[str, list[str]] = {}
    for _, body in got:
        order.setdefault(body["executionId"], []).append(body["status"])
    for statuses in order.values():
        # Each held behind the next: the terminal event first, then the others backwards.
        assert statuses[1:] == ["IN_PROGRESS", "CREATED"]
    for received_at, body in got:
        assert received_at * 1000 >= body["timestamp"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    loss=st.floats(0, 1),
    duplicate=st.floats(0, 1),
    reorder=st.floats(0, 1),
    delay=st.floats(0, 10),
)
def test_every_event_not_lost_arrives_never_before_its_transition(
    seed: int, loss: float, duplicate: float, reorder: float, delay: float
) -> None:
    fleet = Fleet(
        seed=seed,
        clock=FakeClock(),
        events=EventConfig(loss=loss, duplicate=duplicate, reorder=reorder, delay=delay),
    )
    fleet.add_command("cmd-p", 12, lifecycle=COMMAND_LIFE)
    got = _receive_all(fleet)
    log = fleet.events_log
    assert len(log) == 36
    arrived = Counter(body["eventId"] for _, body in got)
    for record in log:
        if record.fate == "lost":
            assert record.event_id not in arrived
        else:
            assert arrived[record.event_id] == len(record.visible) >= 1
    for received_at, body in got:
        assert received_at * 1000 >= body["timestamp"]


def test_a_failing_source_answers_500_and_a_silent_one_publishes_nothing(
    stack: ExitStack,
) -> None:
    clock = FakeClock()
    fleet = _fleet(clock)
    with Simulator(fleet).in_thread() as sim:
        sqs = _client(stack, sim, "sqs")
        url = sim.events_queue_url
        clock.advance(3)
        before = len(_drain(sqs, url))
        fleet.events = EventConfig(fail=True)
        with pytest.raises(ClientError) as failing:
            sqs.receive_message(QueueUrl=url)
        assert failing.value.response["Error"]["Code"] == "InternalError"
        assert failing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert fleet.stats()["sqs:ReceiveMessage"]["faulted"] == {"error_5xx": 1}
        clock.advance(10)
        fleet.events = EventConfig(silent=True)
        # Published while failing, readable once the source is back.
        during = len(_drain(sqs, url))
        clock.advance(3600)
        assert _drain(sqs, url) == []
        fates = Counter(record.fate for record in fleet.events_log)
    assert before > 0 and during > 0
    assert fates["published"] == before + during and fates["silenced"] > 0


def test_events_turned_on_later_cover_the_transitions_to_come() -> None:
    clock = FakeClock()
    fleet = Fleet(seed=2, clock=clock)
    fleet.add_command("cmd-late", 5, lifecycle=COMMAND_LIFE)
    clock.advance(0.5)  # every CREATED is past
    fleet.events = EventConfig()
    clock.advance(3600)
    fleet.pump_events()
    statuses = Counter(record.status for record in fleet.events_log)
    assert statuses["CREATED"] == 0
    assert statuses["IN_PROGRESS"] == 5
    assert sum(statuses.values()) == 10


def test_the_control_api_sets_events_and_reports_them() -> None:
    fleet = Fleet(seed=1, speed=1000.0)
    with Simulator(fleet).in_thread() as sim:

        def call(method: str, path: str, data: Any = None) -> Any:
            request = urllib.request.Request(
                f"{sim.endpoint_url}/_simulator/{path}",
                data=None if data is None else json.dumps(data).encode(),
                method=method,
            )
            with urllib.request.urlopen(request) as response:
                return json.load(response)

        state = call("POST", "events", {"format": "eventbridge", "queue": "ctl", "loss": 0.5})
        assert state["queue_url"] == f"{sim.endpoint_url}/{fleet.account}/ctl"
        assert fleet.events == EventConfig(format="eventbridge", queue="ctl", loss=0.5)
        fleet.add_command("cmd-ctl", 20, lifecycle=COMMAND_LIFE)
        time.sleep(0.1)  # 100 service seconds: every execution is over
        state = call("GET", "events?log=1")
        assert state["stats"]["events"] == 60 == len(state["log"])
        assert state["stats"]["lost"] + state["stats"]["published"] == 60
        call("POST", "events", {"enabled": False})
        assert fleet.events is None
        with pytest.raises(urllib.error.HTTPError) as refused:
            call("POST", "events", {"loss": 2})
        refused.value.close()
        assert refused.value.code == 400


def test_cli_flags_make_the_event_config() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--events",
            "--events-queue",
            "q",
            "--events-format",
            "eventbridge",
            "--events-delay",
            "30",
            "--events-duplicate",
            "0.1",
            "--events-reorder",
            "0.05",
            "--events-loss",
            "0.2",
            "--events-no-reasons",
            "--events-seed",
            "4",
        ]
    )
    assert build_fleet(args).events == EventConfig(
        queue="q",
        format="eventbridge",
        delay=30.0,
        duplicate=0.1,
        reorder=0.05,
        loss=0.2,
        reasons=False,
        seed=4,
    )
    assert build_fleet(parser.parse_args([])).events is None


def test_bad_knobs_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"EventConfig\.loss"):
        EventConfig(loss=1.5)
    with pytest.raises(ValueError, match=r"EventConfig\.format"):
        EventConfig(format="xml")
    with pytest.raises(ValueError, match=r"EventConfig\.queue"):
        EventConfig(queue="bad name")
    with pytest.raises(TypeError, match=r"Fleet\.events"):
        Fleet(events="on")  # type: ignore[arg-type]


def test_a_rollouts_messages_reach_four_receivers_once_each_never_early() -> None:
    """A real-time run: 1,200 transitions over about 2 s to four long-polling receivers.

    The 400 CREATED events come all at once, when the executions are added;
    the 800 others spread over the run. Each arrives once (no knob duplicates
    it), none before its transition. How soon they arrive is a benchmark's to
    measure (``python -m benchmarks.events``), never a timed test's.
    """
    fleet = Fleet(seed=4, speed=10.0, events=EventConfig())
    latencies: list[float] = []
    ids: list[str] = []
    received = 0

    async def main(sim: Simulator) -> None:
        session = aioboto3.Session()
        url = sim.events_queue_url
        expected = 1200
        done = asyncio.Event()
        connected = 0
        ready = asyncio.Event()

        async def receiver() -> None:
            nonlocal connected, received
            async with session.client("sqs", **sim.client_kwargs()) as sqs:
                await sqs.get_queue_attributes(QueueUrl=url)
                connected += 1
                if connected == 4:
                    ready.set()
                while not done.is_set():
                    got = await sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                    )
                    now = time.time()
                    messages = got.get("Messages", [])
                    received += len(messages)
                    for message in messages:
                        ids.append(message["MessageId"])
                        body = json.loads(message["Body"])
                        if body["status"] != "CREATED":
                            latencies.append(now - fleet.to_clock(body["timestamp"] / 1000))
                    if messages:
                        await sqs.delete_message_batch(
                            QueueUrl=url,
                            Entries=[
                                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                for i, m in enumerate(messages)
                            ],
                        )
                    if received >= expected:
                        done.set()

        async def rollout() -> None:
            await ready.wait()  # every receiver connected: latency is the queue's alone
            fleet.add_command(
                "cmd-rate", 400, lifecycle=Lifecycle(pending=(3.0, 13.0), running=(0.0, 10.0))
            )

        await asyncio.wait_for(asyncio.gather(rollout(), *(receiver() for _ in range(4))), 15)

    with Simulator(fleet).in_thread() as sim:
        asyncio.run(main(sim))
    latencies.sort()
    assert received == 1200 and len(latencies) == 800
    assert len(set(ids)) == 1200  # each once
    assert latencies[0] > -0.01  # never before the transition


@pytest.fixture
def moto_sqs() -> Iterator[tuple[str, Any]]:
    """moto's server on 127.0.0.1 with an SQS queue: its URL and a boto3 client."""
    with moto_queue("forwarded") as (_, url, client):
        yield url, client


def test_events_forwarded_to_motos_sqs_arrive_as_published(moto_sqs: tuple[str, Any]) -> None:
    url, client = moto_sqs
    endpoint = client.meta.endpoint_url
    fleet = Fleet(
        seed=6,
        speed=100.0,
        events=EventConfig(
            forward_to=ForwardSqs(queue_url=url, endpoint_url=endpoint), every_status=True
        ),
    )
    try:
        fleet.add_iot_job("job-fw", things=10, lifecycle=JOB_LIFE)
        fleet.add_command("cmd-fw", 10, lifecycle=COMMAND_LIFE)
        bodies: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while len(bodies) < 60 and time.monotonic() < deadline:
            got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                bodies.append(json.loads(message["Body"]))
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        stats = fleet.events_stats()
    finally:
        fleet.events = None
    assert len(bodies) == 60 == stats["forwarded"] == stats["published"]
    publisher_log = {body["eventId"] for body in bodies}
    assert len(publisher_log) == 60
    kinds = Counter(body["eventType"] for body in bodies)
    assert kinds == {"JOB_EXECUTION": 30, "COMMAND_EXECUTION": 30}
    # No embedded queue was made: the events went to moto's.
    assert fleet.sqs.queues == {}


def test_job_executions_publish_only_their_endings_unless_every_status() -> None:
    """As IoT publishes job execution events (on success or failure), by default; every
    status with ``every_status``. Command executions publish every change either way."""
    counts = {}
    for every in (False, True):
        clock = FakeClock()
        fleet = Fleet(seed=5, clock=clock, events=EventConfig(every_status=every))
        fleet.add_iot_job("job-1", things=4, lifecycle=JOB_LIFE)
        fleet.add_command("cmd-1", 4, lifecycle=COMMAND_LIFE)
        clock.advance(10_000.0)
        fleet.pump_events()
        counts[every] = Counter(
            (
                record.type,
                record.status
                in ("SUCCEEDED", "FAILED", "TIMED_OUT", "REJECTED", "REMOVED", "CANCELED"),
            )
            for record in fleet.events_log
        )
    assert counts[False][("iot-job-execution", False)] == 0
    assert counts[False][("iot-job-execution", True)] == 4
    assert counts[True][("iot-job-execution", False)] >= 4
    assert counts[True][("iot-job-execution", True)] == 4
    assert (
        counts[False][("iot-command-execution", False)]
        == counts[True][("iot-command-execution", False)]
        > 0
    )
