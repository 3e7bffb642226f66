"""The embedded SQS queue, through real boto3 and aioboto3 clients over loopback."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import aioboto3
import boto3
import pytest
from botocore.exceptions import ClientError

from waiters.simulator import Faults, Fleet, Simulator, ThrottleConfig


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A real-time fleet served from a thread (queues run on the fleet's clock)."""
    with Simulator(seed=3).in_thread() as simulator:
        yield simulator


@pytest.fixture
def sqs(sim: Simulator) -> Iterator[Any]:
    with closing(boto3.client("sqs", **sim.client_kwargs())) as client:
        yield client


@pytest.fixture
def queue(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="work")["QueueUrl"]
    return url


def _code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, object]:
    details = error.value.response["Error"]
    return details["Code"], details.get("QueryErrorCode")


def test_queue_urls_name_the_endpoint_the_account_and_the_queue(
    sim: Simulator, sqs: Any, queue: str
) -> None:
    assert queue == f"{sim.endpoint_url}/{sim.fleet.account}/work"
    assert sqs.create_queue(QueueName="work")["QueueUrl"] == queue  # idempotent
    assert sqs.get_queue_url(QueueName="work")["QueueUrl"] == queue
    sqs.create_queue(QueueName="other")
    assert sqs.list_queues(QueueNamePrefix="wo")["QueueUrls"] == [queue]
    page = sqs.list_queues(MaxResults=1)
    assert len(page["QueueUrls"]) == 1 and "NextToken" in page
    rest = sqs.list_queues(MaxResults=1, NextToken=page["NextToken"])
    assert page["QueueUrls"] + rest["QueueUrls"] == sorted([queue, f"{queue[:-4]}other"])
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "5"})
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        sqs.get_queue_url(QueueName="work")
    # botocore reports the legacy code SQS sends in x-amzn-query-error.
    assert _code(missing) == ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def test_send_and_receive_carry_the_body_its_md5_and_the_asked_attributes(
    sim: Simulator, sqs: Any, queue: str
) -> None:
    body = '{"héllo": "wörld"}'
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    md5 = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    assert sent["MD5OfMessageBody"] == md5
    before = sim.fleet.now() * 1000
    got = sqs.receive_message(
        QueueUrl=queue,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
    )["Messages"]
    assert len(got) == 1
    message = got[0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5
    assert set(message["Attributes"]) == {"ApproximateReceiveCount", "SentTimestamp"}
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(message["Attributes"]["SentTimestamp"]) <= before + 1
    every = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)  # hidden for 30 s
    assert set(every["Attributes"]) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
    }
    assert every["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_long_poll_returns_as_soon_as_a_message_arrives(sim: Simulator, queue: str) -> None:
    async def main() -> tuple[float, list[dict[str, Any]]]:
        session = aioboto3.Session()
        async with (
            session.client("sqs", **sim.client_kwargs()) as receiver,
            session.client("sqs", **sim.client_kwargs()) as sender,
        ):

            async def send_later() -> None:
                await asyncio.sleep(0.3)
                await sender.send_message(QueueUrl=queue, MessageBody="now")

            started = time.monotonic()
            answer, _ = await asyncio.gather(
                receiver.receive_message(QueueUrl=queue, WaitTimeSeconds=10), send_later()
            )
            return time.monotonic() - started, answer.get("Messages", [])

    elapsed, messages = asyncio.run(main())
    assert [m["Body"] for m in messages] == ["now"]
    # Once it was sent, long before the 10 s the receive would wait (a loaded machine
    # may take a second or two to get there).
    assert 0.25 <= elapsed < 5.0


def test_a_long_poll_wakes_for_a_delayed_message_and_times_out_when_empty(
    sqs: Any, queue: str
) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=1)
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])
    assert [m["Body"] for m in got] == ["later"]
    # When it became visible, long before the receive's 10 s.
    assert 0.9 <= time.monotonic() - started < 5.0
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    assert 0.95 <= time.monotonic() - started < 5.0


def test_the_visibility_timeout_hides_a_message_then_shows_it_again(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attributes["VisibilityTimeout"] == "30"
    started = time.monotonic()
    again = sqs.receive_message(
        QueueUrl=queue, WaitTimeSeconds=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"][0]
    # When its visibility timeout ran out, long before the receive's 10 s.
    assert 0.8 <= time.monotonic() - started < 5.0
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_queue_default_visibility_timeout_applies(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="short", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    sqs.receive_message(QueueUrl=url)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)
    assert len(got["Messages"]) == 1


def test_visibility_zero_releases_at_once_and_a_stale_handle_deletes_nothing(
    sqs: Any, queue: str
) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    first = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    sqs.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    second = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    # The first handle is stale now: deleting with it succeeds and deletes nothing.
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=first["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.MessageNotInflight):
        sqs.change_message_visibility(
            QueueUrl=queue, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
        )
    sqs.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    third = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third["ReceiptHandle"])  # again: fine
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="not-a-handle")


def test_batches_answer_each_entry(sqs: Any, queue: str) -> None:
    sent = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": f"e{i}", "MessageBody": f"body-{i}"} for i in range(10)],
    )
    assert [entry["Id"] for entry in sent["Successful"]] == [f"e{i}" for i in range(10)]
    for entry in sent["Successful"]:
        body = f"body-{entry['Id'][1:]}"
        assert entry["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    mixed = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": "ok", "MessageBody": "x"}, {"Id": "bad", "MessageBody": ""}],
    )
    assert [e["Id"] for e in mixed["Successful"]] == ["ok"]
    assert mixed["Failed"][0]["Id"] == "bad" and mixed["Failed"][0]["SenderFault"] is True
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    released = sqs.change_message_visibility_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        ],
    )
    assert [e["Id"] for e in released["Successful"]] == ["a"]
    assert released["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    assert len(deleted["Successful"]) == 10 and deleted["Failed"] == []
    # got[0] was released, so its handle went stale only on a new receive: it was deleted.
    left = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in left] == ["x"]
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": f"d{i}", "ReceiptHandle": "h"} for i in range(11)],
        )
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": "same", "ReceiptHandle": "h"}, {"Id": "same", "ReceiptHandle": "h"}],
        )
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.delete_message_batch(QueueUrl=queue, Entries=[])


def test_out_of_range_parameters_are_invalid_parameter_values(sqs: Any, queue: str) -> None:
    for kwargs in (
        {"MaxNumberOfMessages": 11},
        {"MaxNumberOfMessages": 0},
        {"WaitTimeSeconds": 21},
        {"VisibilityTimeout": 43_201},
    ):
        with pytest.raises(ClientError) as error:
            sqs.receive_message(QueueUrl=queue, **kwargs)
        assert _code(error)[0] == "InvalidParameterValue"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["Nope"])


def test_purge_empties_the_queue(sqs: Any, queue: str) -> None:
    sqs.send_message_batch(
        QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(5)]
    )
    sqs.purge_queue(QueueUrl=queue)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)


def test_sqs_calls_are_counted_but_neither_throttled_nor_faulted() -> None:
    fleet = Fleet(
        seed=1, throttle=ThrottleConfig(rate=0, burst=0), faults=Faults(error_5xx=1.0, seed=1)
    )
    with (
        Simulator(fleet).in_thread() as sim,
        closing(boto3.client("sqs", **sim.client_kwargs())) as sqs,
    ):
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for _ in range(3):
            sqs.send_message(QueueUrl=url, MessageBody="m")
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    stats = fleet.stats()
    assert stats["sqs:SendMessage"]["served"] == 3
    assert stats["sqs:ReceiveMessage"]["served"] == 1
    assert stats["sqs:CreateQueue"] == {"served": 1, "throttled": 0, "faulted": {}, "errors": {}}


def test_message_ids_and_handles_follow_the_seed() -> None:
    def run() -> list[str]:
        with (
            Simulator(seed=11).in_thread() as sim,
            closing(boto3.client("sqs", **sim.client_kwargs())) as sqs,
        ):
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            ids = [sqs.send_message(QueueUrl=url, MessageBody="m")["MessageId"] for _ in range(3)]
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            return ids + [m["ReceiptHandle"] for m in got]

    assert run() == run()
