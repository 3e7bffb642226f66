"""``--events-queue``: hear executions end through an SQS queue, polling as the safety net.

The ``--events-*`` flags become a :class:`~waiters.SqsEvents` before any
call is made, every bad value a usage error naming its flag. The queue's
client comes from the same session (profile, credentials) as the others;
its calls go to ``--events-endpoint-url``, else ``--endpoint-url`` (a
simulator serves SQS beside IoT), else to AWS's SQS endpoint of the region
the queue's URL names, which may not be the session's. One call checks the
queue is there before the wait: a URL of no queue is bad input (exit 2); a
queue that cannot be checked (no answer, no permission to read its
attributes) is waited on regardless, polling covering for it until it is heard.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import anyio
import structlog

from waiters import InvalidOption, SqsEvents, StateMachine, default_registry

from ._errors import UsageError

__all__ = ["check_queue", "event_source", "queue_client_kwargs", "with_client"]

_log = structlog.get_logger("waiters.cli")

#: SqsEvents' fields that a flag sets, and the flag.
_FLAGS = {
    "SqsEvents.queue_url": "--events-queue",
    "SqsEvents.staleness": "--events-staleness",
    "SqsEvents.silence": "--events-silence",
    "SqsEvents.shared": "--events-shared",
}
#: The flags that mean nothing without --events-queue, by their dest.
_NEEDS_QUEUE = {
    "events_endpoint_url_given": "--events-endpoint-url",
    "events_staleness_given": "--events-staleness",
    "events_silence_given": "--events-silence",
    "events_shared": "--events-shared",
}
# AWS's queue hosts name their region: sqs.REGION.amazonaws.com (and its FIPS and
# VPC endpoint forms), or the legacy REGION.queue.amazonaws.com.
_AWS_QUEUE_HOST = re.compile(
    r"(?:.+\.)?sqs(?:-fips)?\.(?P<a>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?"
    r"|(?P<b>[a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.amazonaws\.com(?:\.cn)?"
)


def event_source(args: argparse.Namespace, machine: StateMachine) -> SqsEvents | None:
    """The event source the flags ask for (its client opened later), or ``None``.

    :raises UsageError: an ``--events-*`` flag without ``--events-queue``, a
        type whose definition has no ``[events]`` section, or a value the
        library refuses; the message names the flag and the value.
    """
    queue: str | None = args.events_queue
    if queue is None:
        for dest, flag in _NEEDS_QUEUE.items():
            if getattr(args, dest, False):
                raise UsageError(f"{flag}: needs --events-queue (the queue to hear events on)")
        return None
    if machine.events is None:
        heard = sorted(m.name for m in default_registry() if m.events is not None)
        raise UsageError(
            f"--events-queue: {machine.name} has no [events] section, so no event can "
            f"say how its executions end; types that have one: {', '.join(heard) or 'none'}"
        )
    try:
        return SqsEvents(
            queue,
            staleness=args.events_staleness,
            silence=args.events_silence,
            shared=args.events_shared,
        )
    except InvalidOption as exc:
        raise UsageError(f"{_FLAGS.get(exc.option, '--events-queue')}: {exc}") from None


def queue_client_kwargs(
    args: argparse.Namespace, region: str, client_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments of the queue's client: the other clients', with its endpoint.

    *region* is the session's; *client_kwargs* are the other clients' (their
    config and ``--endpoint-url``).
    """
    kwargs = dict(client_kwargs)
    endpoint: str | None = getattr(args, "events_endpoint_url", None)
    if endpoint is not None:
        kwargs["endpoint_url"] = endpoint
        return kwargs
    if "endpoint_url" in kwargs:
        return kwargs
    named = queue_region(args.events_queue)
    if named is not None and named != region:
        # SQS answers only for the queues of the region it is called in.
        kwargs["region_name"] = named
    return kwargs


def queue_region(url: str) -> str | None:
    """The region an AWS queue URL's host names, or ``None`` (another server's URL)."""
    match = _AWS_QUEUE_HOST.fullmatch(urlsplit(url).hostname or "")
    if match is None:
        return None
    return match.group("a") or match.group("b")


#: Error codes that say the URL names no queue here (Amazon SQS API Reference: the
#: query code, the JSON one, and a URL whose host is not the endpoint's).
_NO_QUEUE = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress"}
)


async def check_queue(client: Any, url: str, *, timeout: float) -> None:
    """Ask the queue for its visibility timeout once, before the wait.

    :param client: the queue's SQS client (aioboto3).
    :param url: the queue's URL (``--events-queue``).
    :param timeout: seconds to wait for the answer (the call timeout).
    :raises UsageError: SQS says there is no such queue, naming the URL.

    Any other failure is logged (a warning when the queue did not answer)
    and the wait goes on: polling covers for the queue until it is heard.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        with anyio.fail_after(timeout):
            await client.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code"), error.get("Message")
        if code in _NO_QUEUE:
            raise UsageError(f"--events-queue: no such queue: {url} ({code}: {message})") from None
        # A consumer may be allowed to receive and delete, not to read attributes.
        _log.info("waiters.cli.events_unchecked", queue=url, reason=f"{code}: {message}")
    except (TimeoutError, BotoCoreError, OSError) as exc:
        reason = f"no answer within {timeout:g}s" if isinstance(exc, TimeoutError) else str(exc)
        _log.warning(
            "waiters.cli.events_unreachable",
            queue=url,
            reason=reason,
            effect="waiting by polling until the queue is heard",
        )


def with_client(source: SqsEvents, client: Any) -> SqsEvents:
    """*source* consumed through *client*."""
    return replace(source, client=client)
