"""Where a definition says its executions' status-change events are, and how to read one.

A definition's ``[events]`` section names how to recognise one of its events
in a message (constant fields, ``match``), where the execution's identity,
status and reason are, and which fields order events (``attempt`` and
``version`` as answers are ordered, then ``order``, a timestamp or a version
number). A message is read whole by :func:`payloads`: the raw payload an IoT
rule routes, an EventBridge envelope (its ``detail``) or an SNS notification
(its ``Message``), so a definition describes the payload alone.

A section with ``available = false`` says the service publishes no such
events: that type is observed by polling only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._paths import Path, PathSyntaxError
from ._schema import definition_error

__all__ = ["Event", "EventSpec", "compile_events", "format_reason", "payloads"]

#: Transforms an identity field may need (an ARN whose last segment is the name).
_TRANSFORMS = frozenset({"arn_last_segment"})
#: Units of a change's time, per second.
_UNITS = {"milliseconds": 1000.0, "seconds": 1.0}
#: Envelopes unwrapped at most this deep (SNS inside EventBridge is two).
_MAX_ENVELOPES = 3


@dataclass(frozen=True, slots=True)
class EventSpec:
    """How one execution type's events look (compiled from ``[events]``).

    :param match: member paths and the constant each must hold for a payload
        to be one of this type's events (IoT: ``eventType = "JOB_EXECUTION"``).
    :param identity: for each identity parameter, where the payload holds it.
    :param identity_transform: a transform per parameter (``arn_last_segment``).
    :param status: where the payload holds the state.
    :param reason: where it holds why, if anywhere.
    :param attempt: which attempt (a retry's execution number) it is about.
    :param version: the execution's version number, if the payload has one.
    :param order: the field that orders events of one execution (a
        timestamp or a version number): an event below the newest taken is stale.
    :param at: when the change happened, if the payload says (epoch time
        in *at_scale* units per second: 1000 for milliseconds). An event is
        an observation as of then: a late one is no fresher than its time.
    :param at_scale: units of *at* per second (1000 for milliseconds, 1 for seconds).
    :param topic: the MQTT topic filter the service publishes them on, for people.
    """

    match: Mapping[Path, Any]
    identity: Mapping[str, Path]
    identity_transform: Mapping[str, str]
    status: Path
    order: Path
    reason: Path | None = None
    attempt: Path | None = None
    version: Path | None = None
    at: Path | None = None
    at_scale: float = 1000.0
    topic: str | None = None

    def read(self, payload: Mapping[str, Any], names: Sequence[str]) -> Event | None:
        """The event *payload* is, for an execution identified by *names*; None if not ours.

        :param payload: one decoded payload (see :func:`payloads`).
        :param names: the identity parameters, in the definition's order.
        """
        for path, expected in self.match.items():
            if path.search(payload) != expected:
                return None
        values: list[Any] = []
        for name in names:
            value = self.identity[name].search(payload)
            if not isinstance(value, str) or not value:
                return None
            if self.identity_transform.get(name) == "arn_last_segment":
                value = value.rsplit("/", 1)[-1]
            values.append(value)
        state = self.status.search(payload)
        if not isinstance(state, str) or not state:
            return None
        reason = format_reason(self.reason.search(payload)) if self.reason is not None else None
        at = _number(self.at.search(payload)) if self.at is not None else None
        return Event(
            key=tuple(values),
            state=state,
            reason=reason,
            attempt=_number(self.attempt.search(payload)) if self.attempt is not None else None,
            version=_number(self.version.search(payload)) if self.version is not None else None,
            order=_number(self.order.search(payload)),
            at=at / self.at_scale if at is not None else None,
            payload=payload,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One status-change event, read: whose, which state, and what orders it."""

    key: tuple[Any, ...]
    state: str
    reason: str | None
    attempt: float | None
    version: float | None
    order: float | None
    #: When the change happened, in epoch seconds, if the payload says.
    at: float | None
    payload: Mapping[str, Any]


def format_reason(value: Any) -> str | None:
    """A reason as outcomes give it: a map as ``key=value, ...`` in key order; empty is none."""
    if value is None or value in ({}, [], ""):
        return None
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={value[key]}" for key in sorted(value))
    return str(value)


def payloads(body: str) -> Iterator[Mapping[str, Any]]:
    """The payloads a message body carries, unwrapped from EventBridge and SNS envelopes.

    A body that is not a JSON object yields nothing. The envelope itself is
    yielded too (after its content), so a definition may also match one.

    :param body: an SQS message body.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return
    for _ in range(_MAX_ENVELOPES):
        if not isinstance(document, Mapping):
            return
        detail = document.get("detail")
        if isinstance(detail, Mapping) and "detail-type" in document:
            # EventBridge: {"version", "id", "detail-type", "source", ..., "detail": {...}}
            yield detail
            yield document
            return
        message = document.get("Message")
        if document.get("Type") == "Notification" and isinstance(message, str):
            # SNS to SQS without raw message delivery: the payload is a JSON string.
            try:
                document = json.loads(message)
            except (ValueError, RecursionError):
                return
            continue
        yield document
        return


def compile_events(
    raw: Any,
    *,
    source: str,
    identity: Sequence[str],
) -> EventSpec | None:
    """Compile a definition's ``[events]`` table (its keys' types already checked).

    :param raw: the table, or ``None`` when the definition has none.
    :param source: the definition's file name, for errors.
    :param identity: the type's identity parameters.
    :returns: the spec, or ``None`` for no section or ``available = false``.
    :raises DefinitionError: a missing key, a bad path or transform, an
        identity parameter without a path, naming the key and the value.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise definition_error(source, "events", "a table", raw)
    available = raw.get("available", True)
    if available is False:
        others = sorted(k for k in raw if k != "available")
        if others:
            raise definition_error(
                source, f"events.{others[0]}", "nothing besides available = false", raw[others[0]]
            )
        return None
    for key in ("match", "identity", "status", "order"):
        if key not in raw:
            raise definition_error(source, f"events.{key}", "a value (the key is missing)")

    def path(expression: Any, key: str) -> Path:
        if not isinstance(expression, str) or not expression:
            raise definition_error(source, key, "a dotted path or JMESPath expression", expression)
        try:
            return Path(expression)
        except PathSyntaxError as exc:
            raise definition_error(
                source, key, f"a valid JMESPath expression ({exc})", expression
            ) from None

    match = {path(k, f"events.match.{k}"): v for k, v in raw["match"].items()}
    if not match:
        raise definition_error(source, "events.match", "at least one PATH = value", raw["match"])
    ids = {k: path(v, f"events.identity.{k}") for k, v in raw["identity"].items()}
    for name in identity:
        if name not in ids:
            raise definition_error(
                source,
                "events.identity",
                f"a path for identity parameter {name!r}",
                raw["identity"],
            )
    unknown = sorted(set(ids) - set(identity))
    if unknown:
        raise definition_error(
            source, f"events.identity.{unknown[0]}", f"one of {list(identity)}", unknown[0]
        )
    transforms = dict(raw.get("identity_transform", {}))
    for name, transform in transforms.items():
        if transform not in _TRANSFORMS:
            raise definition_error(
                source,
                f"events.identity_transform.{name}",
                f"one of {sorted(_TRANSFORMS)}",
                transform,
            )
        if name not in ids:
            raise definition_error(
                source, f"events.identity_transform.{name}", "an identity parameter", name
            )
    optional = {
        key: path(raw[key], f"events.{key}") if key in raw else None
        for key in ("reason", "attempt", "version", "at")
    }
    topic = raw.get("topic")
    unit = raw.get("at_unit", "milliseconds")
    if unit not in _UNITS:
        raise definition_error(source, "events.at_unit", f"one of {sorted(_UNITS)}", unit)
    return EventSpec(
        match=match,
        identity=ids,
        identity_transform=transforms,
        status=path(raw["status"], "events.status"),
        order=path(raw["order"], "events.order"),
        reason=optional["reason"],
        attempt=optional["attempt"],
        version=optional["version"],
        at=optional["at"],
        at_scale=_UNITS[unit],
        topic=topic if isinstance(topic, str) else None,
    )


def _number(value: Any) -> float | None:
    """A field that orders events: a finite number (a bool or text orders nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits: no order
        return None
    return number if math.isfinite(number) else None
