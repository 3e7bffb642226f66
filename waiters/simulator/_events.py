"""Execution events: what IoT publishes when a job or command execution changes status.

With events on (:class:`EventConfig`), every state an IoT job execution or
IoT command execution enters becomes one message, shaped as an IoT rule
``SELECT * FROM '$aws/events/jobExecution/+/+'`` (or
``'$aws/events/commandExecution/+/+'``) routes it raw to SQS, or wrapped in
the EventBridge envelope.  Other execution types publish nothing.

Schedules are known when an execution is added, so nothing runs per
message: the :class:`EventPublisher` keeps an outbox heap of transitions by
service time and turns the ones that are due into messages when asked
(:meth:`EventPublisher.pump`), drawing the knobs (loss, delay, duplicate,
reorder) from its own seeded generator in transition order.  Every field of
a body is what the describe operation (DescribeJobExecution,
GetCommandExecution) answers at the transition's time.
"""

from __future__ import annotations

import datetime
import heapq
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from ._catalogue import GONE, ExecutionRecord
from ._checks import check_number
from ._handlers import command_reason, job_details
from ._ids import thing_arn

__all__ = [
    "EVENT_TYPES",
    "EventConfig",
    "EventPublisher",
    "EventRecord",
    "ForwardSqs",
    "Publication",
]

#: The execution types that publish events.
EVENT_TYPES: Final = ("iot-job-execution", "iot-command-execution")
_FORMATS: Final = ("raw", "eventbridge")
_DETAIL_TYPES: Final[Mapping[str, str]] = {
    "iot-job-execution": "IoT Job Execution Status Change",
    "iot-command-execution": "IoT Command Execution Status Change",
}
#: How far (service seconds) a held-back message is shown after the one it waits for.
_HOLD_GAP: Final = 0.001


@dataclass(frozen=True, slots=True)
class ForwardSqs:
    """Send the fleet's events to a real SQS queue instead of the embedded one.

    A background thread sends each message, when it becomes visible, with a
    boto3 SQS client (``SendMessageBatch``); the simulator's loop never waits
    on it.

    :param queue_url: the URL of the queue to send to (it must exist).
    :param endpoint_url: the SQS endpoint (``http://127.0.0.1:5000`` for a
        local server), or ``None`` for AWS's.
    :param region: the region to sign for (default ``"us-east-1"``).
    :param access_key_id: credentials for the client (default ``"testing"``,
        moto's convention).
    :param secret_access_key: likewise (default ``"testing"``).
    :raises TypeError: a field of the wrong type, naming it.
    """

    queue_url: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # noqa: S105 - a local test server's dummy

    def __post_init__(self) -> None:
        for name in ("queue_url", "region", "access_key_id", "secret_access_key"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"ForwardSqs.{name} must be a str, got {getattr(self, name)!r}")
        if self.endpoint_url is not None and not isinstance(self.endpoint_url, str):
            raise TypeError(f"ForwardSqs.endpoint_url must be a str, got {self.endpoint_url!r}")


@dataclass(frozen=True, slots=True)
class EventConfig:
    """How the fleet publishes execution events (``Fleet(events=EventConfig(...))``).

    Durations are service seconds, scaled by the fleet's ``speed`` like
    lifecycles; probabilities are drawn per event from a generator seeded
    with *seed* (default: the fleet's), in transition order, five draws per
    event whatever the outcome, so changing one knob does not reshuffle the
    others.

    :param queue: the embedded queue the events go to, created in the
        fleet's account (default ``"waiters-events"``).
    :param format: ``"raw"`` (the IoT rule's payload, the default) or
        ``"eventbridge"`` (the payload as ``detail`` of an EventBridge event).
    :param delay: each message becomes visible after a uniform draw in
        [0, *delay*] service seconds from its transition (default 0).
    :param duplicate: probability that a message is sent twice, the copy
        with its own delay (default 0).
    :param reorder: probability that a message is held back until just after
        the next message of the same execution (default 0); an execution's
        last event is never held.
    :param loss: probability that an event is never published (default 0).
    :param every_status: publish every status an IoT job execution enters
        (default ``False``: its terminal statuses only, as AWS IoT publishes
        job execution events "when a device reports success or failure",
        AWS IoT Developer Guide, "Jobs events"; a command execution publishes
        every status change either way).
    :param reasons: ``False`` leaves ``statusDetails`` (job executions) and
        ``statusReason`` (command executions) out of terminal events
        (default ``True``).
    :param fail: the source fails: every SQS request to the simulator
        answers 500 ``InternalError`` (with :attr:`forward_to`, the
        forwarder sends nothing and drops what comes due); events keep
        being published into the queue, readable once it is set back
        (default ``False``).
    :param silent: the source falls silent: nothing more is published while
        it is set (default ``False``).
    :param seed: the knobs' seed (default ``None``: the fleet's seed).
    :param forward_to: send the messages to a real SQS queue
        (:class:`ForwardSqs`) instead of the embedded one (default ``None``).
    :raises TypeError: a field of the wrong type, naming it.
    :raises ValueError: an unknown *format*, a probability outside [0, 1], a
        negative or infinite *delay*, or a bad queue name, naming the value.
    """

    queue: str = "waiters-events"
    format: str = "raw"
    delay: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    loss: float = 0.0
    every_status: bool = False
    reasons: bool = True
    fail: bool = False
    silent: bool = False
    seed: int | None = None
    forward_to: ForwardSqs | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.queue, str):
            raise TypeError(f"EventConfig.queue must be a str, got {self.queue!r}")
        if (
            not (0 < len(self.queue) <= 80)
            or not self.queue.replace("-", "").replace("_", "").isalnum()
        ):
            raise ValueError(f"EventConfig.queue is not a valid SQS queue name: {self.queue!r}")
        if self.format not in _FORMATS:
            raise ValueError(f"EventConfig.format must be one of {_FORMATS}, got {self.format!r}")
        object.__setattr__(self, "delay", check_number("EventConfig", "delay", self.delay))
        for name in ("duplicate", "reorder", "loss"):
            value = check_number("EventConfig", name, getattr(self, name))
            if value > 1:
                raise ValueError(f"EventConfig.{name} must be in [0, 1], got {value!r}")
            object.__setattr__(self, name, value)
        for name in ("every_status", "reasons", "fail", "silent"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"EventConfig.{name} must be a bool, got {getattr(self, name)!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise TypeError(f"EventConfig.seed must be an int or None, got {self.seed!r}")
        if self.forward_to is not None and not isinstance(self.forward_to, ForwardSqs):
            raise TypeError(
                f"EventConfig.forward_to must be a ForwardSqs or None, got {self.forward_to!r}"
            )


class EventRecord(NamedTuple):
    """What became of one event (``fleet.events_log``): ground truth for tests.

    :param event_id: the body's ``eventId`` (a duplicate carries the same).
    :param type: the execution type's name.
    :param ids: the execution's describe parameters.
    :param status: the state entered.
    :param execution_number: the attempt's ``executionNumber`` (1 for commands).
    :param transition: when the state was entered, in service time.
    :param fate: ``"published"``, ``"lost"`` (the *loss* knob) or ``"silenced"``.
    :param visible: the service times its copies became visible (empty unless published).
    :param reordered: it was held back behind the execution's next event.
    """

    event_id: str
    type: str
    ids: dict[str, str]
    status: str
    execution_number: int
    transition: float
    fate: str
    visible: tuple[float, ...]
    reordered: bool


class Publication(NamedTuple):
    """One message to deliver: its body and the service time it becomes visible."""

    body: str
    visible: float


class _Held(NamedTuple):
    position: int  # in the log
    bodies: tuple[str, ...]
    visible: tuple[float, ...]


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-8{text[17:20]}-{text[20:]}"


class EventPublisher:
    """The fleet's outbox of transitions and the knobs that turn them into messages.

    Not thread-safe by itself: the fleet calls it under its lock.

    :param config: the knobs in force.
    :param seed: the fleet's seed, used when the config names none.
    :param region: the region in ARNs and EventBridge envelopes.
    :param account: the account in ARNs and envelopes.
    """

    def __init__(self, config: EventConfig, *, seed: int, region: str, account: str) -> None:
        self.config = config
        self.region = region
        self.account = account
        self._fleet_seed = seed
        self._rng = random.Random(self._seed_of(config))
        self._outbox: list[tuple[float, int, int, ExecutionRecord]] = []
        self._order = 0
        self._held: dict[tuple[str, ...], list[_Held]] = {}
        #: Every event taken from the outbox, in order.
        self.log: list[EventRecord] = []
        #: Messages handed to the sink, counting duplicates.
        self.messages = 0

    def _seed_of(self, config: EventConfig) -> int:
        return config.seed if config.seed is not None else self._fleet_seed ^ 0xE7E7

    def reconfigure(self, config: EventConfig) -> None:
        """Put *config* in force; a new seed restarts the draws."""
        if self._seed_of(config) != self._seed_of(self.config):
            self._rng = random.Random(self._seed_of(config))
        self.config = config

    def track(self, execution: ExecutionRecord, after: float) -> None:
        """Queue the transitions of *execution* (every attempt) entered after service *after*."""
        if execution.type.name not in EVENT_TYPES:
            return
        chain = execution.attempts if execution.attempts is not None else [execution]
        for attempt in chain:
            for index, (state, entered) in enumerate(
                zip(attempt.states, attempt.times, strict=True)
            ):
                if state is None or state == GONE or entered <= after:
                    continue
                self._order += 1
                heapq.heappush(self._outbox, (entered, self._order, index, attempt))

    def next_due(self) -> float | None:
        """The service time of the next transition in the outbox; None if it is empty."""
        return self._outbox[0][0] if self._outbox else None

    def pump(self, now: float, limit: int | None = None) -> list[Publication]:
        """The messages for the transitions due by service time *now*, in transition order.

        At most *limit* transitions are taken (default: all that are due).
        """
        out: list[Publication] = []
        outbox = self._outbox
        budget = len(outbox) if limit is None else limit
        while outbox and outbox[0][0] <= now and budget > 0:
            budget -= 1
            _, _, index, attempt = heapq.heappop(outbox)
            self._publish(attempt, index, out)
        return out

    def _publish(self, attempt: ExecutionRecord, index: int, out: list[Publication]) -> None:
        config = self.config
        if (
            not config.every_status
            and attempt.type.name == "iot-job-execution"
            and attempt.states[index] not in attempt.type.terminal
        ):
            return  # IoT publishes no event for it: not one lost, none at all
        rng = self._rng
        event_id = _uuid(rng)
        lost, delay, copy, copy_delay, hold = (rng.random() for _ in range(5))
        state = str(attempt.states[index])
        entered = attempt.times[index]
        key = (attempt.type.name, *attempt.ids.values())
        fate = "published"
        if config.silent:
            fate = "silenced"
        elif lost < config.loss:
            fate = "lost"
        bodies: tuple[str, ...] = ()
        visible: tuple[float, ...] = ()
        would_show = entered + delay * config.delay
        if fate == "published":
            body = self.body(attempt, index, event_id)
            if copy < config.duplicate:
                bodies, visible = (body, body), (would_show, entered + copy_delay * config.delay)
            else:
                bodies, visible = (body,), (would_show,)
        self.log.append(
            EventRecord(
                event_id,
                attempt.type.name,
                dict(attempt.ids),
                state,
                attempt.number,
                entered,
                fate,
                visible,
                False,
            )
        )
        held = self._held.setdefault(key, [])
        if fate == "published" and hold < config.reorder and self._has_next(attempt, index):
            # Held until the execution's next event that is not held itself.
            held.append(_Held(len(self.log) - 1, bodies, visible))
            return
        del self._held[key]
        out.extend(Publication(b, v) for b, v in zip(bodies, visible, strict=True))
        self.messages += len(bodies)
        if not held:
            return
        # Each held event is shown just after the one it was held behind (the
        # newest first), or after when that one would have shown, if it was not.
        log = self.log
        after = max((would_show, *visible, *(v for item in held for v in item.visible)))
        for item in reversed(held):
            if config.silent:
                log[item.position] = log[item.position]._replace(fate="silenced", visible=())
                continue
            after += _HOLD_GAP
            moved = tuple(after for _ in item.bodies)
            log[item.position] = log[item.position]._replace(visible=moved, reordered=True)
            out.extend(Publication(b, v) for b, v in zip(item.bodies, moved, strict=True))
            self.messages += len(item.bodies)

    @staticmethod
    def _has_next(attempt: ExecutionRecord, index: int) -> bool:
        states = attempt.states
        if any(state is not None and state != GONE for state in states[index + 1 :]):
            return True
        chain = attempt.attempts
        return chain is not None and attempt.number < len(chain)

    def body(self, attempt: ExecutionRecord, index: int, event_id: str) -> str:
        """The message body for *attempt* entering ``states[index]``, in the configured format."""
        payload = self.payload(attempt, index, event_id)
        if self.config.format == "eventbridge":
            resource = payload["thingArn"] if "thingArn" in payload else payload["targetArn"]
            when = datetime.datetime.fromtimestamp(attempt.times[index], datetime.UTC)
            payload = {
                "version": "0",
                "id": event_id,
                "detail-type": _DETAIL_TYPES[attempt.type.name],
                "source": "aws.iot",
                "account": self.account,
                "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": [resource],
                "detail": payload,
            }
        return json.dumps(payload, separators=(",", ":"))

    def payload(self, attempt: ExecutionRecord, index: int, event_id: str) -> dict[str, Any]:
        """The raw IoT event payload, its fields as the describe operation answers them then.

        The details mirror the simulator's DescribeJobExecution (``statusDetails.detailsMap``)
        and GetCommandExecution (``statusReason``) answers.
        """
        state = str(attempt.states[index])
        entered = attempt.times[index]
        terminal = state in attempt.type.terminal
        timestamp = round(entered * 1000)
        if attempt.type.name == "iot-job-execution":
            payload: dict[str, Any] = {
                "eventType": "JOB_EXECUTION",
                "eventId": event_id,
                "timestamp": timestamp,
                "operation": state.lower(),
                "jobId": attempt.ids["jobId"],
                "thingArn": thing_arn(self.region, self.account, attempt.ids["thingName"]),
                "status": state,
                "executionNumber": attempt.number,
                "versionNumber": index + 1,
            }
            details = job_details(state, terminal)
            if details is not None and (self.config.reasons or not terminal):
                payload["statusDetails"] = details
            return payload
        payload = {
            "eventType": "COMMAND_EXECUTION",
            "eventId": event_id,
            "timestamp": timestamp,
            "commandArn": attempt.parent,
            "executionId": attempt.ids["executionId"],
            "targetArn": attempt.ids["targetArn"],
            "status": state,
        }
        reason = command_reason(state, terminal)
        if reason is not None and self.config.reasons:
            payload["statusReason"] = reason
        return payload

    def counts(self) -> dict[str, int]:
        """Events by fate, messages handed on, duplicates and reordered ones."""
        counts = {"events": len(self.log), "published": 0, "lost": 0, "silenced": 0}
        duplicated = reordered = 0
        for record in self.log:
            counts[record.fate] += 1
            duplicated += len(record.visible) > 1
            reordered += record.reordered
        counts.update(
            messages=self.messages,
            duplicated=duplicated,
            reordered=reordered,
            held=sum(len(items) for items in self._held.values()),
            pending=len(self._outbox),
        )
        return counts
