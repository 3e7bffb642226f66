"""An embedded SQS-compatible queue service: the queues the fleet's events go to.

It answers the SQS operations a queue consumer uses (:data:`SQS_OPERATIONS`)
with the shapes of botocore's ``sqs`` model (JSON 1.0,
``X-Amz-Target: AmazonSQS.<Operation>``) and the semantics SQS documents for
a standard queue: a visibility timeout per queue (30 s by default) that a
receive may override, receipt handles that change with every receive, long
polling up to 20 s, at-least-once delivery in roughly arrival order.

Time is the fleet's ``clock`` (like throttling, not scaled by ``speed``):
visibility timeouts and long polls are the consumer's own seconds.  The
timestamps a message reports (``SentTimestamp``,
``ApproximateFirstReceiveTimestamp``) are epoch milliseconds of service time,
as every timestamp the simulator answers is.

Messages live in one heap per queue keyed by the clock time they become
visible, so a receive pops what is due and a long poll sleeps until the top
of the heap (or a new message) rather than polling.  A message whose
visibility changes gets a fresh heap entry; the old one is recognised as
stale by its version and dropped when it reaches the top.

Where AWS leaves a choice, the simulator answers as follows:

- deleting with a stale receipt handle (the message was received again
  since) succeeds and deletes nothing, as the DeleteMessage documentation
  says; a handle this queue never issued is ``ReceiptHandleIsInvalid``;
- changing the visibility with a stale handle is ``MessageNotInflight``;
- message attributes (``MessageAttributes``) and FIFO queues are refused
  with ``InvalidParameterValue``/``UnsupportedOperation``: nothing here needs them;
- PurgeQueue has no 60-second limit.

Errors are sent as SQS sends them over JSON: ``__type`` is the modeled shape
(``com.amazonaws.sqs#QueueDoesNotExist``) and the ``x-amzn-query-error``
header carries the legacy query code, which botocore reports as
``Error.Code`` (``AWS.SimpleQueueService.NonExistentQueue``) while
``client.exceptions.QueueDoesNotExist`` still catches it.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

__all__ = [
    "DEFAULT_VISIBILITY_TIMEOUT",
    "SQS_OPERATIONS",
    "ReceivePoll",
    "SqsAnswer",
    "SqsError",
    "SqsMessage",
    "SqsQueue",
    "SqsService",
    "error_body",
]

#: The SQS operations the simulator answers.
SQS_OPERATIONS: Final = (
    "CreateQueue",
    "GetQueueUrl",
    "ListQueues",
    "DeleteQueue",
    "PurgeQueue",
    "GetQueueAttributes",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
)

#: Seconds a received message stays hidden when neither the queue nor the
#: receive says otherwise ("the default visibility timeout for a message is
#: 30 seconds", SQS Developer Guide, Visibility timeout).
DEFAULT_VISIBILITY_TIMEOUT: Final = 30
_MAX_VISIBILITY: Final = 43_200  # 12 hours
_MAX_WAIT: Final = 20
_MAX_DELAY: Final = 900
_MAX_BODY: Final = 262_144
_RETENTION: Final = 345_600  # the default 4 days; messages are never expired here
_BATCH_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")
_QUEUE_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")

#: The legacy (query protocol) code SQS sends in ``x-amzn-query-error`` for a
#: modeled error; botocore reports it as ``Error.Code``.
_QUERY_CODES: Final[Mapping[str, str]] = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}

#: Receive attributes ``All`` stands for.
_MESSAGE_ATTRIBUTES: Final = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
)
_MESSAGE_ATTRIBUTE_NAMES: Final = frozenset(
    {
        "All",
        *_MESSAGE_ATTRIBUTES,
        "SequenceNumber",
        "MessageDeduplicationId",
        "MessageGroupId",
        "AWSTraceHeader",
        "DeadLetterQueueSourceArn",
    }
)
_QUEUE_ATTRIBUTE_NAMES: Final = frozenset(
    {
        "All",
        "Policy",
        "VisibilityTimeout",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "QueueArn",
        "ApproximateNumberOfMessagesDelayed",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
        "RedrivePolicy",
        "FifoQueue",
        "ContentBasedDeduplication",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "RedriveAllowPolicy",
        "SqsManagedSseEnabled",
    }
)
#: Queue attributes CreateQueue may set, with their bounds.
_SETTABLE: Final[Mapping[str, tuple[int, int]]] = {
    "VisibilityTimeout": (0, _MAX_VISIBILITY),
    "DelaySeconds": (0, _MAX_DELAY),
    "ReceiveMessageWaitTimeSeconds": (0, _MAX_WAIT),
    "MessageRetentionPeriod": (60, 1_209_600),
    "MaximumMessageSize": (1024, _MAX_BODY),
}


class SqsError(Exception):
    """An SQS error answer: the modeled shape name (or unmodeled code), message, status.

    :param code: the shape name in botocore's model (``QueueDoesNotExist``)
        or, for errors the model does not list, the code SQS sends
        (``InvalidParameterValue``, ``MissingParameter``, ``InternalError``).
    :param message: the error message.
    :param status: the HTTP status (default 400).
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def query_code(self) -> str:
        """The code botocore reports as ``Error.Code`` (the legacy query code)."""
        return _QUERY_CODES.get(self.code, self.code)


def error_body(error: SqsError) -> tuple[bytes, dict[str, str]]:
    """Body and headers of *error* in SQS's JSON 1.0 wire form."""
    fault = "Sender" if error.status < 500 else "Receiver"
    body = {"__type": f"com.amazonaws.sqs#{error.code}", "message": error.message}
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-query-error": f"{error.query_code};{fault}",
    }
    return json.dumps(body, separators=(",", ":")).encode(), headers


def _invalid(message: str) -> SqsError:
    return SqsError("InvalidParameterValue", message)


def _int_param(params: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(
            f"Value {value} for parameter {name} is invalid. Reason: Must be between "
            f"{low} and {high}, if provided."
        )
    return value


def _string_param(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise SqsError("MissingParameter", f"The request must contain the parameter {name}.")
    if not isinstance(value, str):
        raise _invalid(f"Value {value!r} for parameter {name} is invalid: not a string.")
    return value


class SqsMessage:
    """One message in a queue: its body and where it is in its visibility cycle."""

    __slots__ = (
        "body",
        "deleted",
        "first_receive",
        "handle_gen",
        "md5",
        "message_id",
        "received",
        "sender",
        "sent_ms",
        "version",
        "visible_at",
    )

    def __init__(
        self, message_id: str, body: str, visible_at: float, sent_ms: int, sender: str
    ) -> None:
        self.message_id = message_id
        self.body = body
        self.md5 = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
        #: Clock time it becomes (again) receivable.
        self.visible_at = visible_at
        self.sent_ms = sent_ms
        self.sender = sender
        #: How many times it was received (ApproximateReceiveCount).
        self.received = 0
        self.first_receive: int | None = None
        #: Bumped by each receive: only the newest receipt handle is current.
        self.handle_gen = 0
        #: Bumped by each heap entry: older entries are stale.
        self.version = 0
        self.deleted = False


class SqsQueue:
    """One standard queue: its attributes and its messages in a heap by visible time."""

    __slots__ = (
        "_heap",
        "_order",
        "account",
        "attributes",
        "created_ms",
        "messages",
        "name",
        "notify",
    )

    def __init__(
        self, name: str, account: str, created_ms: int, attributes: Mapping[str, int]
    ) -> None:
        self.name = name
        self.account = account
        self.created_ms = created_ms
        self.attributes: dict[str, int] = {
            "VisibilityTimeout": DEFAULT_VISIBILITY_TIMEOUT,
            "DelaySeconds": 0,
            "ReceiveMessageWaitTimeSeconds": 0,
            "MessageRetentionPeriod": _RETENTION,
            "MaximumMessageSize": _MAX_BODY,
            **attributes,
        }
        #: Every message not yet deleted, by id.
        self.messages: dict[str, SqsMessage] = {}
        self._heap: list[tuple[float, int, int, SqsMessage]] = []
        self._order = 0
        #: Called (under the fleet's lock) whenever a message is added or
        #: released: wakes the long polls waiting on this queue.
        self.notify: list[Callable[[], None]] = []

    def _push(self, message: SqsMessage) -> None:
        message.version += 1
        self._order += 1
        heapq.heappush(self._heap, (message.visible_at, self._order, message.version, message))

    def _wake(self) -> None:
        for wake in list(self.notify):
            wake()

    def put(self, message: SqsMessage) -> None:
        """Add *message*, receivable from its ``visible_at``."""
        self.messages[message.message_id] = message
        self._push(message)
        self._wake()

    def next_visible(self) -> float | None:
        """The clock time the next message becomes receivable; None if there is none."""
        heap = self._heap
        while heap:
            _, _, version, message = heap[0]
            if message.deleted or version != message.version:
                heapq.heappop(heap)
                continue
            return message.visible_at
        return None

    def receive(self, now: float, limit: int, visibility: int) -> list[SqsMessage]:
        """Up to *limit* messages visible at *now*, hidden for *visibility* seconds."""
        taken: list[SqsMessage] = []
        heap = self._heap
        while heap and len(taken) < limit:
            visible_at, _, version, message = heap[0]
            if message.deleted or version != message.version:
                heapq.heappop(heap)
                continue
            if visible_at > now:
                break
            heapq.heappop(heap)
            taken.append(message)
        for message in taken:
            message.received += 1
            message.handle_gen += 1
            message.visible_at = now + visibility
            self._push(message)
        return taken

    def delete(self, message: SqsMessage) -> None:
        """Remove *message* for good."""
        message.deleted = True
        self.messages.pop(message.message_id, None)

    def change_visibility(self, message: SqsMessage, visible_at: float) -> None:
        """Make *message* receivable again from *visible_at*."""
        message.visible_at = visible_at
        self._push(message)
        self._wake()

    def purge(self) -> None:
        """Delete every message."""
        for message in self.messages.values():
            message.deleted = True
        self.messages.clear()
        self._heap.clear()

    def counts(self, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed) message counts at *now*."""
        visible = in_flight = delayed = 0
        for message in self.messages.values():
            if message.visible_at <= now:
                visible += 1
            elif message.received:
                in_flight += 1
            else:
                delayed += 1
        return visible, in_flight, delayed


class SqsService:
    """Every queue of a fleet, answering the SQS operations of :data:`SQS_OPERATIONS`.

    Not thread-safe by itself: the fleet calls it under its lock.

    :param clock: the fleet's clock (seconds): visibility and waits.
    :param to_service_ms: a clock time as epoch milliseconds of service time.
    :param region: the region in queue ARNs.
    :param seed: seeds message ids and receipt handles.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        to_service_ms: Callable[[float], int],
        region: str,
        seed: int,
    ) -> None:
        self.clock = clock
        self.to_service_ms = to_service_ms
        self.region = region
        #: The endpoint queue URLs start with; the HTTP server sets it when it starts.
        self.base_url = "http://127.0.0.1"
        self.queues: dict[tuple[str, str], SqsQueue] = {}
        self._rng = random.Random(seed ^ 0x5C5)

    # -- queues ----------------------------------------------------------------------------

    def url_of(self, account: str, name: str) -> str:
        """The URL of queue *name* of *account* (whether it exists or not)."""
        return f"{self.base_url}/{account}/{name}"

    def create(self, account: str, name: str, attributes: Mapping[str, Any] | None = None) -> str:
        """Create queue *name* (or find it, with the same attributes); its URL.

        :raises SqsError: a bad name or attribute, or the queue exists with other attributes.
        """
        if not _QUEUE_NAME.fullmatch(name):
            raise _invalid(
                "Can only include alphanumeric characters, hyphens, or underscores. "
                "1 to 80 in length"
            )
        settings: dict[str, int] = {}
        for key, raw in (attributes or {}).items():
            if key == "FifoQueue" and str(raw).lower() == "true":
                raise SqsError("UnsupportedOperation", "The simulator serves standard queues only.")
            if key not in _SETTABLE:
                if key in _QUEUE_ATTRIBUTE_NAMES:
                    continue  # accepted and ignored: policies, encryption
                raise SqsError("InvalidAttributeName", f"Unknown Attribute {key}.")
            low, high = _SETTABLE[key]
            try:
                value = int(raw)
            except (TypeError, ValueError):
                value = low - 1
            if not low <= value <= high:
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {key}.")
            settings[key] = value
        queue = self.queues.get((account, name))
        if queue is not None:
            if any(queue.attributes.get(key) != value for key, value in settings.items()):
                raise SqsError(
                    "QueueNameExists",
                    f"A queue already exists with the same name and a different value for "
                    f"attribute(s) {', '.join(sorted(settings))}",
                )
            return self.url_of(account, name)
        self.queues[account, name] = SqsQueue(
            name, account, self.to_service_ms(self.clock()), settings
        )
        return self.url_of(account, name)

    def queue(self, url: object) -> SqsQueue:
        """The queue at *url* (``.../<account>/<name>``); QueueDoesNotExist if none."""
        if not isinstance(url, str):
            raise SqsError("MissingParameter", "The request must contain the parameter QueueUrl.")
        parts = url.rstrip("/").rsplit("/", 2)
        queue = self.queues.get((parts[-2], parts[-1])) if len(parts) == 3 else None
        if queue is None:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    def delete_queue(self, queue: SqsQueue) -> None:
        """Delete *queue* and wake whoever waits on it."""
        del self.queues[queue.account, queue.name]
        queue.purge()
        queue._wake()

    # -- messages --------------------------------------------------------------------------

    def _uuid(self) -> str:
        bits = self._rng.getrandbits(128)
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"

    def send(
        self,
        queue: SqsQueue,
        body: str,
        visible_at: float,
        sender: str,
        sent_at: float | None = None,
    ) -> SqsMessage:
        """Put *body* in *queue*, receivable from clock time *visible_at*.

        *sent_at* is the clock time it counts as sent (``SentTimestamp``;
        default: now).
        """
        sent = self.clock() if sent_at is None else sent_at
        message = SqsMessage(self._uuid(), body, visible_at, self.to_service_ms(sent), sender)
        queue.put(message)
        return message

    def _handle(self, queue: SqsQueue, message: SqsMessage) -> str:
        nonce = self._rng.getrandbits(64)
        raw = f"{queue.account}/{queue.name}/{message.message_id}/{message.handle_gen}/{nonce:x}"
        return base64.urlsafe_b64encode(raw.encode()).decode()

    def _resolve(self, queue: SqsQueue, handle: object) -> tuple[SqsMessage | None, bool]:
        """The message *handle* names (None if deleted) and whether the handle is current.

        :raises SqsError: ReceiptHandleIsInvalid for a handle this queue never issued.
        """
        try:
            account, name, message_id, gen, _ = (
                base64.urlsafe_b64decode(str(handle).encode()).decode().split("/")
            )
            generation = int(gen)
        except (ValueError, UnicodeError):
            raise SqsError(
                "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not valid.'
            ) from None
        if (account, name) != (queue.account, queue.name):
            raise SqsError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
        message = queue.messages.get(message_id)
        return message, message is not None and message.handle_gen == generation

    # -- operations ------------------------------------------------------------------------

    def handle(
        self, operation: str, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        """Answer *operation* (not ReceiveMessage: see :meth:`receive`) for *account*.

        :raises SqsError: the error SQS would answer.
        """
        method = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise SqsError("UnsupportedOperation", f"{operation} is not supported")
        result: dict[str, Any] = method(params, account, sender)
        return result

    def _op_CreateQueue(  # noqa: N802 - named after the operation
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        attributes = params.get("Attributes")
        return {"QueueUrl": self.create(account, _string_param(params, "QueueName"), attributes)}

    def _op_GetQueueUrl(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        owner = params.get("QueueOwnerAWSAccountId") or account
        name = _string_param(params, "QueueName")
        if (owner, name) not in self.queues:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return {"QueueUrl": self.url_of(owner, name)}

    def _op_ListQueues(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        prefix = params.get("QueueNamePrefix") or ""
        limit = _int_param(params, "MaxResults", 1, 1000)
        urls = sorted(
            self.url_of(owner, name)
            for owner, name in self.queues
            if owner == account and name.startswith(prefix)
        )
        start = 0
        token = params.get("NextToken")
        if token is not None:
            try:
                start = int(base64.b64decode(str(token), validate=True).decode())
            except ValueError:
                raise _invalid("Invalid NextToken value.") from None
        result: dict[str, Any] = {}
        if limit is None:
            page = urls[:1000]
        else:
            page = urls[start : start + limit]
            if start + limit < len(urls):
                result["NextToken"] = base64.b64encode(str(start + limit).encode()).decode()
        if page:
            result["QueueUrls"] = page
        return result

    def _op_DeleteQueue(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        self.delete_queue(self.queue(params.get("QueueUrl")))
        return {}

    def _op_PurgeQueue(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        self.queue(params.get("QueueUrl")).purge()
        return {}

    def _op_GetQueueAttributes(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        names = params.get("AttributeNames") or []
        for name in names:
            if name not in _QUEUE_ATTRIBUTE_NAMES:
                raise SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")
        visible, in_flight, delayed = queue.counts(self.clock())
        known: dict[str, str] = {key: str(value) for key, value in queue.attributes.items()}
        known.update(
            {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
                "ApproximateNumberOfMessagesDelayed": str(delayed),
                "CreatedTimestamp": str(queue.created_ms // 1000),
                "LastModifiedTimestamp": str(queue.created_ms // 1000),
                "QueueArn": f"arn:aws:sqs:{self.region}:{queue.account}:{queue.name}",
                "SqsManagedSseEnabled": "false",
            }
        )
        wanted = known if "All" in names else {name: known[name] for name in names if name in known}
        return {"Attributes": dict(wanted)} if wanted else {}

    def _check_body(self, body: object, delay: int | None, attributes: object) -> str:
        if not isinstance(body, str) or not body:
            raise _invalid("The request must contain a non-empty MessageBody.")
        if len(body.encode()) > _MAX_BODY:
            raise _invalid(
                "One or more parameters are invalid. Reason: Message must be shorter than "
                f"{_MAX_BODY} bytes."
            )
        if attributes:
            raise _invalid("MessageAttributes are not supported by the simulator.")
        return body

    def _send_one(self, queue: SqsQueue, entry: Mapping[str, Any], sender: str) -> SqsMessage:
        delay = _int_param(entry, "DelaySeconds", 0, _MAX_DELAY)
        body = self._check_body(entry.get("MessageBody"), delay, entry.get("MessageAttributes"))
        if delay is None:
            delay = queue.attributes["DelaySeconds"]
        return self.send(queue, body, self.clock() + delay, sender)

    def _op_SendMessage(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        message = self._send_one(queue, params, sender)
        return {"MessageId": message.message_id, "MD5OfMessageBody": message.md5}

    def _batch(self, params: Mapping[str, Any], action: str) -> Sequence[Mapping[str, Any]]:
        entries = params.get("Entries")
        if not entries:
            raise SqsError(
                "EmptyBatchRequest",
                f"There should be at least one {action}BatchRequestEntry in the request.",
            )
        if len(entries) > 10:
            raise SqsError(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
            )
        seen: set[str] = set()
        for entry in entries:
            entry_id = entry.get("Id")
            if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
                raise SqsError(
                    "InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and "
                    "underscores. It can be at most 80 letters long.",
                )
            if entry_id in seen:
                raise SqsError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
            seen.add(entry_id)
        return list(entries)

    @staticmethod
    def _failed(entry_id: str, error: SqsError) -> dict[str, Any]:
        return {
            "Id": entry_id,
            "SenderFault": error.status < 500,
            "Code": error.query_code,
            "Message": error.message,
        }

    def _op_SendMessageBatch(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in self._batch(params, "SendMessage"):
            try:
                message = self._send_one(queue, entry, sender)
            except SqsError as exc:
                failed.append(self._failed(entry["Id"], exc))
                continue
            successful.append(
                {
                    "Id": entry["Id"],
                    "MessageId": message.message_id,
                    "MD5OfMessageBody": message.md5,
                }
            )
        return {"Successful": successful, "Failed": failed}

    def _delete_one(self, queue: SqsQueue, handle: object) -> None:
        message, current = self._resolve(queue, handle)
        if message is not None and current:
            queue.delete(message)
        # A stale handle: "the request succeeds, but the message will not be
        # deleted" (SQS API Reference, DeleteMessage).

    def _op_DeleteMessage(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        self._delete_one(queue, _string_param(params, "ReceiptHandle"))
        return {}

    def _op_DeleteMessageBatch(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in self._batch(params, "DeleteMessage"):
            try:
                self._delete_one(queue, entry.get("ReceiptHandle"))
            except SqsError as exc:
                failed.append(self._failed(entry["Id"], exc))
                continue
            successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    def _change_one(self, queue: SqsQueue, handle: object, timeout: object) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            raise SqsError(
                "MissingParameter", "The request must contain the parameter VisibilityTimeout."
            )
        if not 0 <= timeout <= _MAX_VISIBILITY:
            raise _invalid(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: "
                f"Must be between 0 and {_MAX_VISIBILITY}."
            )
        message, current = self._resolve(queue, handle)
        if message is None or not current:
            raise SqsError(
                "MessageNotInflight",
                "The message referred to is not in flight (deleted, or received again since).",
            )
        queue.change_visibility(message, self.clock() + timeout)

    def _op_ChangeMessageVisibility(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        self._change_one(
            queue, _string_param(params, "ReceiptHandle"), params.get("VisibilityTimeout")
        )
        return {}

    def _op_ChangeMessageVisibilityBatch(  # noqa: N802
        self, params: Mapping[str, Any], account: str, sender: str
    ) -> dict[str, Any]:
        queue = self.queue(params.get("QueueUrl"))
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in self._batch(params, "ChangeMessageVisibility"):
            try:
                self._change_one(
                    queue, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout", 0)
                )
            except SqsError as exc:
                failed.append(self._failed(entry["Id"], exc))
                continue
            successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    # -- receiving ---------------------------------------------------------------------------

    def receive_settings(
        self, params: Mapping[str, Any]
    ) -> tuple[SqsQueue, int, int | None, float, tuple[str, ...]]:
        """A ReceiveMessage's queue, count, visibility override, wait (s) and attributes.

        :raises SqsError: a missing queue, or a value out of SQS's bounds.
        """
        queue = self.queue(params.get("QueueUrl"))
        limit = _int_param(params, "MaxNumberOfMessages", 1, 10) or 1
        visibility = _int_param(params, "VisibilityTimeout", 0, _MAX_VISIBILITY)
        wait = _int_param(params, "WaitTimeSeconds", 0, _MAX_WAIT)
        if wait is None:
            wait = queue.attributes["ReceiveMessageWaitTimeSeconds"]
        if params.get("MessageAttributeNames"):
            raise _invalid("MessageAttributes are not supported by the simulator.")
        names: list[str] = [
            *(params.get("AttributeNames") or ()),
            *(params.get("MessageSystemAttributeNames") or ()),
        ]
        for name in names:
            if name not in _MESSAGE_ATTRIBUTE_NAMES:
                raise SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")
        wanted = _MESSAGE_ATTRIBUTES if "All" in names else tuple(dict.fromkeys(names))
        return queue, limit, visibility, float(wait), wanted

    def receive(
        self, queue: SqsQueue, limit: int, visibility: int | None, wanted: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Receive up to *limit* messages visible now from *queue*, as ReceiveMessage lists them."""
        now = self.clock()
        timeout = visibility if visibility is not None else queue.attributes["VisibilityTimeout"]
        taken = queue.receive(now, limit, timeout)
        now_ms = self.to_service_ms(now)
        out: list[dict[str, Any]] = []
        for message in taken:
            if message.first_receive is None:
                message.first_receive = now_ms
            item: dict[str, Any] = {
                "MessageId": message.message_id,
                "ReceiptHandle": self._handle(queue, message),
                "MD5OfBody": message.md5,
                "Body": message.body,
            }
            if wanted:
                values = {
                    "SenderId": message.sender,
                    "SentTimestamp": str(message.sent_ms),
                    "ApproximateReceiveCount": str(message.received),
                    "ApproximateFirstReceiveTimestamp": str(message.first_receive),
                }
                attributes = {name: values[name] for name in wanted if name in values}
                if attributes:
                    item["Attributes"] = attributes
            out.append(item)
        return out


class ReceivePoll:
    """A long poll in progress: what it asked for and until when (clock time) it waits."""

    __slots__ = ("deadline", "limit", "queue", "visibility", "wanted")

    def __init__(
        self,
        queue: SqsQueue,
        limit: int,
        visibility: int | None,
        wanted: tuple[str, ...],
        deadline: float,
    ) -> None:
        self.queue = queue
        self.limit = limit
        self.visibility = visibility
        self.wanted = wanted
        self.deadline = deadline


class SqsAnswer:
    """The fleet's answer to one SQS request: a body, an error, or a long poll to go on with."""

    __slots__ = ("body", "error", "poll")

    def __init__(
        self,
        body: dict[str, Any] | None = None,
        error: SqsError | None = None,
        poll: ReceivePoll | None = None,
    ) -> None:
        self.body = body
        self.error = error
        self.poll = poll

    def render(self, request_id: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body bytes in SQS's JSON 1.0 wire form."""
        if self.error is not None:
            payload, headers = error_body(self.error)
            status = self.error.status
        else:
            payload = json.dumps(self.body or {}, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            status = 200
        headers["x-amzn-RequestId"] = request_id
        return status, headers, payload
