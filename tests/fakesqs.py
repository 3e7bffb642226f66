"""An in-memory SQS queue for tests on a virtual clock (the simulator's and moto's queues
serve the integration tests over loopback).

It keeps SQS's semantics that the listener relies on: long polls that return
as soon as a message is visible, a visibility timeout per receive, receipt
handles that change per receive, batch delete and release, and
``ApproximateReceiveCount``. ``fail`` makes every receive a 500; a test
sends messages with :meth:`FakeSqs.send`.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace
from typing import Any

import anyio

from waiters._machine import service_model
from waiters.testing import client_error

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events"


class _Message:
    __slots__ = ("body", "handle", "id", "receives", "visible_at")

    def __init__(self, body: str, number: int, visible_at: float) -> None:
        self.body = body
        self.id = f"m-{number}"
        self.handle = ""
        self.receives = 0
        self.visible_at = visible_at


class FakeSqs:
    """One queue, and a client of it: ``receive_message``, ``delete_message_batch``,
    ``change_message_visibility_batch``."""

    def __init__(self, *, region: str = "us-east-1") -> None:
        self.meta = SimpleNamespace(service_model=service_model("sqs"), region_name=region)
        self.messages: dict[str, _Message] = {}
        self.deleted: list[str] = []
        self.released: list[str] = []
        self.receives = 0
        self.fail = False
        self._numbers = itertools.count(1)
        self._handles = itertools.count(1)
        self._arrived: anyio.Event | None = None

    def send(self, body: Any, *, delay: float = 0.0) -> str:
        """Enqueue *body* (a mapping is sent as JSON), visible after *delay* seconds."""
        text = body if isinstance(body, str) else json.dumps(body)
        message = _Message(text, next(self._numbers), anyio.current_time() + delay)
        self.messages[message.id] = message
        if self._arrived is not None:
            self._arrived.set()
        return message.id

    async def receive_message(self, **params: Any) -> dict[str, Any]:
        assert params["QueueUrl"] == QUEUE_URL
        self.receives += 1
        if self.fail:
            raise client_error("InternalError", 500, "ReceiveMessage")
        deadline = anyio.current_time() + params.get("WaitTimeSeconds", 0)
        while True:
            now = anyio.current_time()
            ready = [m for m in self.messages.values() if m.visible_at <= now]
            if ready or now >= deadline:
                break
            self._arrived = anyio.Event()
            wake = min([deadline, *(m.visible_at for m in self.messages.values())])
            with anyio.move_on_after(max(0.0, wake - now)):
                await self._arrived.wait()
        out = []
        for message in ready[: params.get("MaxNumberOfMessages", 1)]:
            message.receives += 1
            message.handle = f"h-{next(self._handles)}"
            message.visible_at = now + params.get("VisibilityTimeout", 30)
            out.append(
                {
                    "MessageId": message.id,
                    "ReceiptHandle": message.handle,
                    "Body": message.body,
                    "Attributes": {"ApproximateReceiveCount": str(message.receives)},
                }
            )
        return {"Messages": out} if out else {}

    def _by_handle(self, handle: str) -> _Message | None:
        return next((m for m in self.messages.values() if m.handle == handle), None)

    async def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        done = []
        for entry in params["Entries"]:
            message = self._by_handle(entry["ReceiptHandle"])
            if message is not None:
                del self.messages[message.id]
                self.deleted.append(message.id)
            done.append({"Id": entry["Id"]})
        return {"Successful": done, "Failed": []}

    async def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        done = []
        for entry in params["Entries"]:
            message = self._by_handle(entry["ReceiptHandle"])
            if message is not None:
                message.visible_at = anyio.current_time() + entry["VisibilityTimeout"]
                self.released.append(message.id)
                if self._arrived is not None:
                    self._arrived.set()
            done.append({"Id": entry["Id"]})
        return {"Successful": done, "Failed": []}


def job_event(
    job: str,
    thing: str,
    status: str,
    *,
    at_ms: int,
    number: int = 1,
    version: int | None = None,
    details: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An IoT job execution event, as an IoT rule routes it to SQS raw."""
    payload: dict[str, Any] = {
        "eventType": "JOB_EXECUTION",
        "eventId": f"{job}/{thing}/{status}/{at_ms}",
        "timestamp": at_ms,
        "operation": status.lower(),
        "jobId": job,
        "thingArn": f"arn:aws:iot:us-east-1:123456789012:thing/{thing}",
        "status": status,
        "executionNumber": number,
    }
    if version is not None:
        payload["versionNumber"] = version
    if details is not None:
        payload["statusDetails"] = details
    return payload


def eventbridge(payload: dict[str, Any], detail_type: str) -> dict[str, Any]:
    """*payload* in EventBridge's envelope, as an EventBridge rule sends it to SQS."""
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": detail_type,
        "source": "aws.iot",
        "account": "123456789012",
        "time": "2026-11-30T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": payload,
    }
