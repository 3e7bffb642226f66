"""Workflow execution logs: the CloudWatch Logs entries a Transfer execution writes.

A Transfer Family server with logging configured writes its workflows'
events to the log group ``/aws/transfer/<server id>``, one JSON message per
event, in the log stream ``<username>.<workflowId>.<executionId>``.  Each
simulated Transfer execution runs on a server of its own, so a log group
holds one execution's log.

The entries are derived from the execution's schedule, without randomness
and only when a request reads them, so they agree with the ground truth by
construction: ``ExecutionStarted`` when the execution is created, then the
workflow's steps, and at the terminal state ``ExecutionCompleted`` or
(after ``StepErrored``, and after the on-exception steps when the execution
passed through HANDLING_EXCEPTION) ``ExecutionErrored``.  Each message::

    {"type": ..., "workflowId": ..., "executionId": ...,
     "details": {...}, "transferDetails": {"serverId", "username", "sessionId"}}

An entry is written at the service time of its event and becomes visible to
``FilterLogEvents`` ``lag`` service seconds later (its ``ingestionTime``).

It also owns the filter patterns ``FilterLogEvents`` understands
(:func:`compile_filter`): empty, or JSON terms ``$.a.b = "v"`` /
``$.a.b != "v"`` joined by ``&&`` inside braces.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._catalogue import GONE, ExecutionRecord

__all__ = [
    "ON_EXCEPTION_STEP",
    "STEP_ERROR",
    "WORKFLOW_STEPS",
    "FilterTerms",
    "LogEntry",
    "compile_filter",
    "log_group_name",
    "log_group_of_identifier",
    "matches",
    "server_of_log_group",
    "workflow_log",
]

#: The steps of every simulated workflow, ``(stepType, stepName)``; the last
#: one is the custom (Lambda) step that fails in executions that end in EXCEPTION.
WORKFLOW_STEPS: Final = (("COPY", "copy-to-archive"), ("CUSTOM", "validate-file"))
#: The workflow's on-exception step, run while HANDLING_EXCEPTION.
ON_EXCEPTION_STEP: Final = ("DELETE", "delete-upload")
#: ``(errorType, errorMessage)`` of the failing step, as DescribeExecution reports it.
STEP_ERROR: Final = ("CUSTOM_STEP_FAILED", "Lambda step failed")

_LOG_GROUP_PREFIX: Final = "/aws/transfer/"


def log_group_name(server: str) -> str:
    """The log group a Transfer server logs to."""
    return _LOG_GROUP_PREFIX + server


def server_of_log_group(name: str) -> str | None:
    """The server id in a Transfer log group name, or None if it is not one."""
    return name[len(_LOG_GROUP_PREFIX) :] if name.startswith(_LOG_GROUP_PREFIX) else None


def log_group_of_identifier(identifier: str) -> str:
    """The log group name in a ``logGroupIdentifier`` (a name or a log group ARN)."""
    if identifier.startswith("arn:"):
        _, found, name = identifier.partition(":log-group:")
        if not found or not name:
            raise ValueError(f"Invalid log group ARN: {identifier}")
        return name.removesuffix(":*")
    return identifier


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log event as ``FilterLogEvents`` reports it, plus its parsed message."""

    timestamp: int  # epoch milliseconds (service time) of the event
    ingestion: int  # when it becomes visible: timestamp + lag
    stream: str
    message: str
    fields: Mapping[str, Any]
    event_id: str

    def as_event(self) -> dict[str, Any]:
        """The entry as a member of ``FilterLogEvents``' ``events``."""
        return {
            "logStreamName": self.stream,
            "timestamp": self.timestamp,
            "message": self.message,
            "ingestionTime": self.ingestion,
            "eventId": self.event_id,
        }


def _ending(execution: ExecutionRecord) -> tuple[float | None, float | None, str | None]:
    """``(entered HANDLING_EXCEPTION, entered a terminal state, that state)``, None if not."""
    kind = execution.type
    handling = None
    for state, entered in zip(execution.states, execution.times, strict=True):
        if state == GONE:
            break  # vanished without an ending: the log just stops
        if state in kind.terminal:
            return handling, entered, state
        if state == kind.failing and handling is None:
            handling = entered
    return handling, None, None


def workflow_log(
    execution: ExecutionRecord, server: str, username: str, session: str, lag_s: float
) -> list[LogEntry]:
    """Every entry *execution* writes over its whole schedule, in order.

    *server*, *username* and *session* are its ``ServiceMetadata.UserDetails``;
    *lag_s* is the delivery lag in service seconds.
    """
    kind = execution.type
    start = execution.times[0]
    handling, end, terminal = _ending(execution)
    location = {"bucket": "inbound-files", "key": f"uploads/file-{execution.seq}.csv"}
    (copy_type, copy_name), (custom_type, custom_name) = WORKFLOW_STEPS
    events: list[tuple[float, str, dict[str, Any]]] = [
        (start, "ExecutionStarted", {"input": {"initialFileLocation": location}}),
        (start, "StepStarted", {"input": location, "stepType": copy_type, "stepName": copy_name}),
    ]
    copied = {"output": {"bucket": "archive"}, "stepType": copy_type, "stepName": copy_name}
    custom = {"input": location, "stepType": custom_type, "stepName": custom_name}
    error_type, error_message = STEP_ERROR
    if end is not None and terminal == kind.success:
        middle = (start + end) / 2
        events += [
            (middle, "StepCompleted", copied),
            (middle, "StepStarted", custom),
            (
                end,
                "StepCompleted",
                {"output": {}, "stepType": custom_type, "stepName": custom_name},
            ),
            (end, "ExecutionCompleted", {}),
        ]
    elif end is not None or handling is not None:
        failed = handling if handling is not None else end
        assert failed is not None
        middle = (start + failed) / 2
        events += [
            (middle, "StepCompleted", copied),
            (middle, "StepStarted", custom),
            (
                failed,
                "StepErrored",
                {
                    "errorType": error_type,
                    "errorMessage": error_message,
                    "stepType": custom_type,
                    "stepName": custom_name,
                },
            ),
        ]
        if handling is not None:
            on_type, on_name = ON_EXCEPTION_STEP
            events.append((handling, "StepStarted", {"stepType": on_type, "stepName": on_name}))
            if end is not None:
                events.append(
                    (
                        end,
                        "StepCompleted",
                        {"output": {}, "stepType": on_type, "stepName": on_name},
                    )
                )
        if end is not None:
            events.append(
                (end, "ExecutionErrored", {"errorType": error_type, "errorMessage": error_message})
            )
    workflow_id, execution_id = execution.parent, execution.ids["ExecutionId"]
    transfer = {"serverId": server, "username": username, "sessionId": session}
    stream = f"{username}.{workflow_id}.{execution_id}"
    lag_ms = round(lag_s * 1000)
    entries = []
    for position, (at, event_type, details) in enumerate(events):
        fields = {
            "type": event_type,
            "workflowId": workflow_id,
            "executionId": execution_id,
            "details": details,
            "transferDetails": transfer,
        }
        timestamp = round(at * 1000)
        entries.append(
            LogEntry(
                timestamp=timestamp,
                ingestion=timestamp + lag_ms,
                stream=stream,
                message=json.dumps(fields, separators=(",", ":")),
                fields=fields,
                # 56 digits like AWS's, ordered like the entries.
                event_id=f"{timestamp:020d}{execution.seq:018d}{position:018d}",
            )
        )
    return entries


# -- filter patterns -----------------------------------------------------------------------

#: ``((path, equal, value), ...)``: every term must hold (``&&``).
FilterTerms = tuple[tuple[tuple[str, ...], bool, str], ...]

_TERM: Final = re.compile(
    r"\s*\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*(!=|=)\s*"
    r'(?:"([^"\\*]*)"|([A-Za-z0-9_.:/+-]+))\s*'
)


@functools.lru_cache(maxsize=256)
def compile_filter(pattern: str | None) -> FilterTerms | None:
    """The terms of a filter pattern; None matches everything; ValueError if unsupported.

    Supported: an empty pattern, and ``{ $.field = "value" }`` with ``=`` or
    ``!=`` terms (quoted or bare values, dotted paths) joined by ``&&``.
    """
    if pattern is None or not pattern.strip():
        return None
    text = pattern.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(pattern)
    body = text[1:-1]
    terms: list[tuple[tuple[str, ...], bool, str]] = []
    position = 0
    while True:
        found = _TERM.match(body, position)
        if found is None:
            raise ValueError(pattern)
        path, operator, quoted, bare = found.groups()
        terms.append(
            (tuple(path[1:].split(".")), operator == "=", quoted if bare is None else bare)
        )
        position = found.end()
        if position == len(body):
            return tuple(terms)
        if not body.startswith("&&", position):
            raise ValueError(pattern)
        position += 2


def matches(terms: FilterTerms | None, fields: Mapping[str, Any]) -> bool:
    """Whether a message's *fields* satisfy every term (a missing field satisfies none)."""
    if terms is None:
        return True
    for path, equal, expected in terms:
        value: Any = fields
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return False
            value = value[key]
        if isinstance(value, Mapping | list) or value is None:
            return False
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if (text == expected) != equal:
            return False
    return True
