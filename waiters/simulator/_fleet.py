"""The fleet: the simulator's one object, composing the store, the handlers and the gate.

A :class:`Fleet` holds executions of five AWS execution types (``_catalogue``)
in a store (``_store``), answers the implemented operations with the
handlers (``_handlers``) after the throttles and faults in force have had
their say (``_faults``), and counts what it saw (``_stats``).  It owns the
time bases and the lock that makes all of that safe to share between the
HTTP server's thread and a test's thread.

Transfer executions also write their workflow's execution log, read with
CloudWatch Logs ``FilterLogEvents`` (``_logs``): logging is on by default,
per ``add`` call (``logging=``, ``log_lag=``); :attr:`Fleet.logs_denied` and
:attr:`Fleet.denied_log_groups` make reading it fail with AccessDeniedException.

The :class:`Quirks` in force (:attr:`Fleet.quirks`) make the answers lag
or leave out what the model lists, as a lagging service does; IoT jobs
added with ``retries`` give failed executions new attempts.

Service time runs ``speed`` times faster than ``clock``; ground truth is
reported back in the ``clock`` time base so a client timing itself with the
same clock can measure detection latency directly.

The HTTP server (``_server``) and the in-process clients (``_inprocess``) are
thin transports around :meth:`Fleet.handle_spec`, so both see the same
lifecycles, throttles and faults.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ._catalogue import Lifecycle, Retries, SchedulePlan, lookup_type
from ._checks import check_number
from ._events import EventConfig, EventPublisher, EventRecord
from ._faults import Faults, RequestGate, ThrottleConfig
from ._forward import Forwarder
from ._handlers import HANDLERS, invalid_params
from ._inprocess import AsyncFakeClient, FakeClient
from ._protocol import ErrorSpec, OperationSpec, Reply, ServiceError, operation_spec
from ._quirks import NO_QUIRKS, Quirks
from ._sqs import ReceivePoll, SqsAnswer, SqsError, SqsService
from ._stats import OperationCounter, RequestRecord, Stats, result_of
from ._store import Store

__all__ = ["Fleet"]


class Fleet:
    """Executions of the five types, answering the implemented operations.

    Safe to share between threads (the HTTP server's and a test's): requests,
    additions and changes of settings take the fleet's lock.

    :param seed: seeds every random draw that shapes the fleet (ids,
        durations, outcomes), so the same seed and the same calls give the
        same fleet; an int (default 0).
    :param clock: a function returning the time in seconds, the time base
        for throttling, request records and ground truth (default
        ``time.time``); pass the event loop's time (``anyio.current_time``)
        for virtual-time tests. Service time starts at its reading when the
        fleet is made.
    :param speed: service time runs this many times faster than ``clock``,
        greater than 0 (default 1); lifecycles, hints and log lags are in
        service time, throttling and latency are not.
    :param throttle: token buckets per region and operation; ``None`` (the
        default) throttles nothing. Can be changed later (:attr:`throttle`).
    :param faults: fault injection; ``None`` (the default) injects nothing.
        Can be changed later (:attr:`faults`).
    :param region: the region in ARNs, and of requests that name none
        (default ``"us-east-1"``).
    :param account: the 12-digit account id in ARNs, and the one STS
        ``GetCallerIdentity`` reports for keys not in :attr:`accounts`
        (default ``"123456789012"``).
    :param record_requests: keep a :class:`RequestRecord` of every request
        (:attr:`requests`; default ``False``).
    :param quirks: how the answers lag or depart from the model (a
        :class:`Quirks`); ``None`` (the default) for none. Can be changed
        later (:attr:`quirks`).
    :param events: publish execution events to an SQS queue (an
        :class:`EventConfig`); ``None`` (the default) publishes none. Can be
        changed later (:attr:`events`).
    :raises TypeError: a *seed* that is not an int, a *clock* that is not
        callable, or a *throttle*, *faults*, *quirks* or *events* of the
        wrong type, naming it.
    :raises ValueError: a *speed* that is not a finite number above 0, a
        *region* not shaped like ``us-east-1``, or an *account* that is not
        12 digits, naming it and the value.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        speed: float = 1.0,
        throttle: ThrottleConfig | None = None,
        faults: Faults | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        record_requests: bool = False,
        quirks: Quirks | None = None,
        events: EventConfig | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"Fleet.seed must be an int, got {seed!r}")
        if not callable(clock):
            raise TypeError(f"Fleet.clock must be callable, got {clock!r}")
        speed = check_number("Fleet", "speed", speed)
        if speed <= 0:
            raise ValueError(f"Fleet.speed must be > 0, got {speed!r}")
        _check_throttle(throttle)
        _check_faults(faults)
        _check_quirks(quirks)
        _check_events(events)
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
            raise ValueError(f"Fleet.region must look like 'us-east-1', got {region!r}")
        if not re.fullmatch(r"\d{12}", account):
            raise ValueError(f"Fleet.account must be 12 digits, got {account!r}")
        self.speed = speed
        self._clock = clock
        self._origin = clock()
        self._lock = threading.RLock()
        self._store = Store(seed=seed, region=region, account=account)
        self._store.quirks = quirks if quirks is not None else NO_QUIRKS
        self._gate = RequestGate(throttle, faults)
        self._stats = Stats(record_requests=record_requests)
        #: Access key ids the HTTP server refuses, with the error code to answer
        #: (ExpiredTokenException, UnrecognizedClientException, AccessDeniedException):
        #: how tests meet expired or wrong credentials.
        self.refused_keys: dict[str, str] = {}
        #: The account of each access key, as STS ``GetCallerIdentity`` answers
        #: it; keys not named belong to :attr:`account`. How tests make two
        #: keys one account (two roles), or each key an account of its own.
        self.accounts: dict[str, str] = {}
        #: ``GetCallerIdentity`` requests answered.
        self.identity_calls = 0
        prefix = random.Random(seed).getrandbits(64)
        self._request_prefix = (
            f"{prefix >> 32:08x}-{prefix >> 16 & 0xFFFF:04x}-4{prefix & 0xFFF:03x}-8000-"
        )
        self._request_count = 0
        self._sqs = SqsService(
            clock=clock, to_service_ms=self._service_ms, region=region, seed=seed
        )
        self._events: EventPublisher | None = None
        self._forwarder: Forwarder | None = None
        self._undelivered = 0
        self.events = events

    def __repr__(self) -> str:
        return (
            f"Fleet(seed={self.seed}, speed={self.speed:g}, executions={len(self._store)}, "
            f"throttle={self.throttle!r}, faults={self.faults!r})"
        )

    # The store generates ARNs and other response values from these, so they
    # live there; assigning one here changes the responses as it always did.

    @property
    def seed(self) -> int:
        """The seed of the fleet's random draws."""
        return self._store.seed

    @seed.setter
    def seed(self, seed: int) -> None:
        self._store.seed = seed

    @property
    def region(self) -> str:
        """The fleet's region: in ARNs, and for requests that name none."""
        return self._store.region

    @region.setter
    def region(self, region: str) -> None:
        self._store.region = region

    @property
    def account(self) -> str:
        """The account id in ARNs."""
        return self._store.account

    @account.setter
    def account(self, account: str) -> None:
        self._store.account = account

    def account_of(self, access_key: str) -> str:
        """Answer one ``GetCallerIdentity``: the account *access_key* belongs to (counted).

        Called by the HTTP transport for each STS request, which it answers
        with this account; :attr:`identity_calls` counts them.

        :param access_key: the access key id of the request's credentials.
            Keys named in :attr:`accounts` belong to theirs, any other to
            :attr:`account`.
        """
        with self._lock:
            self.identity_calls += 1
        return self.accounts.get(access_key, self.account)

    # -- time -----------------------------------------------------------------------------

    def now(self) -> float:
        """The current service time (epoch seconds as the responses report it)."""
        return self._origin + (self._clock() - self._origin) * self.speed

    def clock(self) -> float:
        """The current ``clock`` time (the time base of throttles, queues and truth)."""
        return self._clock()

    def to_clock(self, service_time: float) -> float:
        """Convert a service time to the ``clock`` time base (the inverse of :meth:`now`).

        :param service_time: a time in service seconds, as responses and
            schedules report it.
        """
        return self._origin + (service_time - self._origin) / self.speed

    def _service_ms(self, clock_time: float) -> int:
        """A ``clock`` time as epoch milliseconds of service time."""
        return round((self._origin + (clock_time - self._origin) * self.speed) * 1000)

    # -- configuration at runtime ---------------------------------------------------------

    @property
    def faults(self) -> Faults | None:
        """Fault injection in force; assign to start or stop a storm."""
        return self._gate.faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        _check_faults(faults)
        with self._lock:
            self._gate.faults = faults

    @property
    def throttle(self) -> ThrottleConfig | None:
        """Throttling in force; assigning one starts every bucket full."""
        return self._gate.throttle

    @throttle.setter
    def throttle(self, throttle: ThrottleConfig | None) -> None:
        _check_throttle(throttle)
        with self._lock:
            self._gate.throttle = throttle

    @property
    def quirks(self) -> Quirks:
        """The quirks in force (``Quirks()``: none); assign a :class:`Quirks`, or None for none.

        They apply to every request answered from then on; what happens to
        the executions (the ground truth) does not change.
        """
        return self._store.quirks

    @quirks.setter
    def quirks(self, quirks: Quirks | None) -> None:
        _check_quirks(quirks)
        with self._lock:
            self._store.quirks = quirks if quirks is not None else NO_QUIRKS

    @property
    def events(self) -> EventConfig | None:
        """How execution events are published (None: they are not); assign to change it.

        Turning events on creates the queue (:attr:`events_queue_url`) in
        the fleet's account, if it does not exist, and publishes every
        transition from then on (those of executions added earlier too);
        turning them off (None) drops what was not yet published and the
        log.  Other changes apply to the transitions not yet published.
        With ``forward_to``, a thread sends the messages to that queue.
        """
        events = self._events
        return events.config if events is not None else None

    @events.setter
    def events(self, config: EventConfig | None) -> None:
        _check_events(config)
        stop: Forwarder | None = None
        with self._lock:
            publisher = self._events
            if config is None:
                self._events = None
                stop, self._forwarder = self._forwarder, None
            else:
                if publisher is None:
                    publisher = self._events = EventPublisher(
                        config, seed=self.seed, region=self.region, account=self.account
                    )
                    now = self.now()
                    for execution in self._store.executions:
                        publisher.track(execution, after=now)
                else:
                    # What came due under the old settings is published under them.
                    self._pump_events()
                    publisher.reconfigure(config)
                target = config.forward_to
                forwarder = self._forwarder
                if forwarder is not None and forwarder.target != target:
                    stop, self._forwarder = forwarder, None
                if target is None:
                    self._sqs.create(self.account, config.queue)
                elif self._forwarder is None:
                    self._forwarder = Forwarder(
                        target,
                        clock=self._clock,
                        pump=self._pump_for_forwarder,
                        failing=self._events_failing,
                    )
                    self._forwarder.start()
                else:
                    self._forwarder.wake()
        if stop is not None:
            # Outside the lock: the forwarder's thread takes it to pump.
            stop.stop()

    @property
    def events_queue_url(self) -> str:
        """The URL of the embedded queue the events go to.

        Its host is the HTTP server's once :class:`Simulator` serves the fleet.

        :raises RuntimeError: events are off.
        """
        config = self.events
        if config is None:
            raise RuntimeError("events are off: set Fleet.events to an EventConfig")
        return self._sqs.url_of(self.account, config.queue)

    @property
    def events_log(self) -> list[EventRecord]:
        """Every event taken from the outbox so far, in transition order (ground truth).

        Events are taken lazily, when an SQS request (or the forwarder)
        comes: call :meth:`pump_events` first to bring the log up to now.
        """
        with self._lock:
            events = self._events
            return list(events.log) if events is not None else []

    def events_stats(self) -> dict[str, int]:
        """Counts of the events so far (an empty dict when events are off).

        ``events`` taken from the outbox, by fate (``published``, ``lost``,
        ``silenced``); ``messages`` handed to the queue (duplicates count
        twice); ``duplicated`` and ``reordered`` events; ``held`` (waiting
        for their execution's next event) and ``pending`` (transitions not
        yet due); ``undelivered`` messages whose queue had been deleted;
        with ``forward_to``, ``forwarded``, ``refused`` and ``dropped``
        (while failing) messages.
        """
        with self._lock:
            events = self._events
            if events is None:
                return {}
            counts = events.counts()
            counts["undelivered"] = self._undelivered
            forwarder = self._forwarder
        if forwarder is not None:
            counts.update(
                forwarded=forwarder.sent, refused=forwarder.refused, dropped=forwarder.dropped
            )
        return counts

    def pump_events(self) -> None:
        """Publish every event due by now (requests and the forwarder do it as they come)."""
        with self._lock:
            self._pump_events()

    def _pump_events(self, limit: int | None = None) -> None:
        events = self._events
        if events is None:
            return
        publications = events.pump(self.now(), limit)
        if not publications:
            return
        to_clock = self.to_clock
        forwarder = self._forwarder
        if forwarder is not None:
            for body, visible in publications:
                forwarder.put(body, to_clock(visible))
            return
        queue = self._sqs.queues.get((self.account, events.config.queue))
        if queue is None:
            self._undelivered += len(publications)
            return
        send = self._sqs.send
        for body, visible in publications:
            at = to_clock(visible)
            send(queue, body, at, _EVENTS_SENDER, sent_at=at)

    def _pump_for_forwarder(self) -> float | None:
        with self._lock:
            self._pump_events()
            events = self._events
            due = events.next_due() if events is not None else None
            return self.to_clock(due) if due is not None else None

    def _events_failing(self) -> bool:
        events = self._events
        return events is not None and events.config.fail

    @property
    def logs_denied(self) -> bool:
        """True: ``FilterLogEvents`` answers AccessDeniedException for every log group."""
        return self._store.logs_denied

    @logs_denied.setter
    def logs_denied(self, denied: bool) -> None:
        if not isinstance(denied, bool):
            raise TypeError(f"Fleet.logs_denied must be a bool, got {denied!r}")
        with self._lock:
            self._store.logs_denied = denied

    @property
    def denied_log_groups(self) -> frozenset[str]:
        """Log groups ``FilterLogEvents`` answers AccessDeniedException for (default: none).

        Assign a collection of log group names (see :meth:`transfer_log_group`).
        """
        return self._store.denied_log_groups

    @denied_log_groups.setter
    def denied_log_groups(self, groups: Iterable[str]) -> None:
        if isinstance(groups, str) or not all(isinstance(group, str) for group in groups):
            raise TypeError(
                f"Fleet.denied_log_groups must be a collection of names, got {groups!r}"
            )
        with self._lock:
            self._store.denied_log_groups = frozenset(groups)

    # -- creating executions --------------------------------------------------------------

    def add(
        self,
        type: str,
        count: int = 1,
        *,
        parent: str | None = None,
        lifecycle: Lifecycle | None = None,
        schedule: Sequence[tuple[str | None, float]] | None = None,
        start_at: float | None = None,
        logging: bool = True,
        log_lag: float = 0.0,
        retries: Retries | Mapping[str, int] | None = None,
    ) -> list[dict[str, str]]:
        """Create *count* executions of *type* and return their describe parameters.

        ``parent`` groups them: the IoT jobId, the command (id or ARN), the
        Snow taskId, the Transfer WorkflowId, the SiteWise asset id; a new one
        is generated when None.  ``start_at`` is the service time they are
        created at (default: now); before it they do not exist.

        ``schedule`` replaces the lifecycle with an explicit list of
        ``(state, offset_s)`` pairs, offsets in service seconds from the start
        and non-decreasing.  Any state string is allowed (the reliability
        tests use unknown ones and illegal orders); ``None`` makes responses
        omit the status field; :data:`GONE` makes the execution vanish.

        ``logging`` and ``log_lag`` are for Transfer executions only, as in
        :meth:`add_transfer_workflow`; ``retries`` for IoT job executions
        only, as in :meth:`add_iot_job` (an explicit schedule plays out the
        first attempt, the retries' lifecycle the others).

        :param type: the execution type's name, one of :data:`EXECUTION_TYPES`
            (``"iot-job-execution"``).
        :param count: how many executions, an int >= 0 (default 1; 0 adds none).
        :param parent: the parent they share, checked against the model's
            length and pattern for it, or ``None`` for a new one.
        :param lifecycle: how they play out (default: the type's entry in
            :data:`DEFAULT_LIFECYCLES`); not with *schedule*.
        :param schedule: an explicit list of ``(state, offset_s)`` pairs that
            every execution follows, or ``None``; not with *lifecycle*.
        :param start_at: the service time (as :meth:`now` reads it) they are
            created at, at least 0, or ``None`` for now.
        :param logging: Transfer only: write the workflow's execution log
            (default ``True``).
        :param log_lag: Transfer only: service seconds between an event and
            its log entry becoming readable, at least 0 (default 0).
        :param retries: IoT job executions only: the job's retry
            configuration, a :class:`Retries` or a mapping of its criteria
            (``{"FAILED": 2}``); ``None`` (the default) for none.
        :raises ValueError: an unknown *type*, a bad *count*, *lifecycle* and
            *schedule* together, a schedule out of order, a lifecycle that
            does not suit the type, a *parent* the model rejects, an id that
            already exists, *logging* or *log_lag* for another type, bad
            *retries*, *retries* for another type, or *retries* that differ
            from those the job was created with. The message names the value.
        :raises TypeError: an ill-typed *lifecycle*, *schedule*, *parent*,
            *start_at*, *logging*, *log_lag* or *retries*, naming it.

        Nothing is created when the call fails.
        """
        return self._add(
            type, count, parent, None, lifecycle, schedule, start_at, logging, log_lag, retries
        )

    def add_iot_job(
        self,
        job_id: str,
        things: int | Sequence[str],
        *,
        lifecycle: Lifecycle | None = None,
        retries: Retries | Mapping[str, int] | None = None,
    ) -> list[dict[str, str]]:
        """An IoT job rolled out to *things* (a count, or thing names).

        Returns each execution's ``DescribeJobExecution`` parameters
        (``jobId``, ``thingName``); generated things are named
        ``thing-00001`` onwards.

        With *retries*, an execution that ends FAILED or TIMED_OUT with
        retries left is followed by a new one on the same thing, with the
        next ``executionNumber`` (see :class:`Retries`).
        ``DescribeJobExecution`` answers the newest attempt unless given an
        ``executionNumber``; ``ListJobExecutionsForJob`` lists the newest
        attempt of each thing; ``DescribeJob`` counts each thing in the state
        of its newest attempt and reports ``jobExecutionsRetryConfig``.
        :meth:`truth` and :meth:`attempts` tell how the attempts went.

        :param job_id: the job id (the model's ``jobId`` length and pattern).
        :param things: how many things, or their names (each checked against
            the model's ``thingName`` pattern).
        :param lifecycle: how the executions play out (default: the type's).
        :param retries: the job's retry configuration, a :class:`Retries` or
            a mapping of its criteria (``{"FAILED": 2, "TIMED_OUT": 1}``);
            ``None`` (the default) for none. A job's later additions must
            repeat the retries it was created with.
        :raises TypeError: *things* given as a single string, or ill-typed
            *retries*.
        :raises ValueError: as :meth:`add` raises it.
        """
        return self._add_members("iot-job-execution", job_id, things, lifecycle, retries)

    def add_command(
        self, command: str, targets: int | Sequence[str], *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """An IoT command (id or ARN) executed on *targets* (a count, thing names or ARNs).

        Returns each execution's ``GetCommandExecution`` parameters
        (``executionId``, ``targetArn``).

        :param command: the command id (made into the command's ARN in the
            fleet's region and account) or its ARN.
        :param targets: how many targets (things ``thing-00001`` onwards), or
            thing names or target ARNs.
        :param lifecycle: how the executions play out (default: the type's).
        :raises TypeError: *targets* given as a single string.
        :raises ValueError: as :meth:`add` raises it.
        """
        return self._add_members("iot-command-execution", command, targets, lifecycle)

    def add_snow_task(
        self, task_id: str, devices: int | Sequence[str], *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """A Snow Device Management task on *devices* (a count, or managed device ids).

        Returns each execution's ``DescribeExecution`` parameters
        (``managedDeviceId``, ``taskId``).

        :param task_id: the task id (the model's ``taskId`` length and pattern).
        :param devices: how many devices (with generated ids), or their
            managed device ids.
        :param lifecycle: how the executions play out (default: the type's).
        :raises TypeError: *devices* given as a single string.
        :raises ValueError: as :meth:`add` raises it.
        """
        return self._add_members("snow-execution", task_id, devices, lifecycle)

    def add_transfer_workflow(
        self,
        workflow_id: str,
        count: int,
        *,
        lifecycle: Lifecycle | None = None,
        logging: bool = True,
        log_lag: float = 0.0,
    ) -> list[dict[str, str]]:
        """*count* executions of one Transfer Family workflow (``w-`` + 17 characters).

        Each runs on a server of its own.  With ``logging`` (the default) that
        server logs to ``/aws/transfer/<server id>``: DescribeExecution reports
        the group in ``Execution.LoggingConfiguration``, and the workflow's
        events (ExecutionStarted, StepStarted, StepCompleted, StepErrored,
        ExecutionCompleted / ExecutionErrored; see ``waiters.simulator._logs``)
        are readable with CloudWatch Logs ``FilterLogEvents``, each ``log_lag``
        service seconds (scaled by ``speed`` like every duration) after it
        happened.  Without ``logging`` there is no LoggingConfiguration and no
        log group (ResourceNotFoundException).  The settings apply to the
        executions this call creates.

        Returns each execution's ``DescribeExecution`` parameters
        (``ExecutionId``, ``WorkflowId``).

        :param workflow_id: the workflow id (``w-`` and 17 lowercase letters
            or digits, the model's pattern).
        :param count: how many executions, an int >= 0.
        :param lifecycle: how they play out (default: the type's).
        :param logging: write the workflow's execution log (default ``True``).
        :param log_lag: service seconds between an event and its log entry
            becoming readable, at least 0 (default 0).
        :raises TypeError: a *logging* that is not a bool, or a *log_lag* that
            is not a number.
        :raises ValueError: as :meth:`add` raises it.
        """
        return self._add(
            "transfer-execution", count, workflow_id, None, lifecycle, None, None, logging, log_lag
        )

    def add_sitewise_executions(
        self, asset_id: str, count: int, *, lifecycle: Lifecycle | None = None
    ) -> list[dict[str, str]]:
        """*count* IoT SiteWise executions targeting one asset (a UUID).

        Returns each execution's ``DescribeExecution`` parameters
        (``executionId``).

        :param asset_id: the asset id the executions share, a lowercase UUID
            (checked against the model's pattern for an execution id).
        :param count: how many executions, an int >= 0.
        :param lifecycle: how they play out (default: the type's).
        :raises ValueError: as :meth:`add` raises it.
        """
        return self._add("sitewise-execution", count, asset_id, None, lifecycle, None, None)

    def _add_members(
        self,
        type_name: str,
        parent: str,
        members: int | Sequence[str],
        lifecycle: Lifecycle | None,
        retries: Retries | Mapping[str, int] | None = None,
    ) -> list[dict[str, str]]:
        if isinstance(members, int):
            return self._add(
                type_name, members, parent, None, lifecycle, None, None, retries=retries
            )
        if isinstance(members, str):
            raise TypeError(
                f"{type_name}: members must be a count or a sequence of names, got {members!r}"
            )
        names = list(members)
        return self._add(
            type_name, len(names), parent, names, lifecycle, None, None, retries=retries
        )

    def _add(
        self,
        type_name: str,
        count: int,
        parent: str | None,
        members: list[str] | None,
        lifecycle: Lifecycle | None,
        schedule: Sequence[tuple[str | None, float]] | None,
        start_at: float | None,
        logging: bool = True,
        log_lag: float = 0.0,
        retries: Retries | Mapping[str, int] | None = None,
    ) -> list[dict[str, str]]:
        execution_type = lookup_type(type_name)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an int >= 0, got {count!r}")
        if not isinstance(logging, bool):
            raise TypeError(f"logging must be a bool, got {logging!r}")
        lag = check_number("add", "log_lag", log_lag)
        logs = execution_type.service == "transfer"
        if not logs and (not logging or lag):
            raise ValueError(f"logging and log_lag are for Transfer executions, not {type_name}")
        plan = SchedulePlan(execution_type, lifecycle, schedule, retries)
        with self._lock:
            start = self.now() if start_at is None else check_number("add", "start_at", start_at)
            created = self._store.add(
                plan, count, parent, members, start, log_lag=lag if logs and logging else None
            )
            events = self._events
            if events is not None and created:
                for execution in self._store.executions[-len(created) :]:
                    events.track(execution, after=-math.inf)
                if self._forwarder is not None:
                    self._forwarder.wake()
            return created

    # -- ground truth ---------------------------------------------------------------------

    def truth(self, type: str, **ids: str) -> list[tuple[str | None, float]]:
        """The states *type* execution *ids* enters and when, in ``clock`` time.

        Transfer executions vanish on entering COMPLETED or EXCEPTION; the
        truth lists that state (when it happened) and the disappearance is
        implied.  Explicit schedules list :data:`GONE` where they vanish.

        An IoT job execution that is retried (``add_iot_job(retries=...)``)
        gives the states of every attempt, one after the other: each retry
        starts again at QUEUED, and ``truth[-1]`` is how the last attempt
        ended.  :meth:`attempts` tells the attempts apart.

        :param type: the execution type's name (``"iot-job-execution"``).
        :param ids: its describe parameters, as :meth:`add` returned them.
        :raises ValueError: an unknown *type*.
        :raises TypeError: *ids* that lack an identifying parameter.
        :raises KeyError: no such execution.
        """
        with self._lock:
            execution = self._store.lookup(lookup_type(type), ids)
        return execution.truth(self.to_clock)

    def attempts(self, type: str, **ids: str) -> list[tuple[int, list[tuple[str | None, float]]]]:
        """Each attempt of *type* execution *ids*: ``(executionNumber, truth)``, in order.

        ``truth`` is the attempt's own states and when they are entered, in
        ``clock`` time, as :meth:`truth` gives them.  An execution that is
        never retried has one attempt, number 1 (so ``attempts(...)[-1][0]``
        is the number of the last attempt, whatever the type).

        :param type: the execution type's name (``"iot-job-execution"``).
        :param ids: its describe parameters, as :meth:`add` returned them.
        :raises ValueError: an unknown *type*.
        :raises TypeError: *ids* that lack an identifying parameter.
        :raises KeyError: no such execution.
        """
        with self._lock:
            execution = self._store.lookup(lookup_type(type), ids)
        to_clock = self.to_clock
        chain = execution.attempts if execution.attempts is not None else [execution]
        return [
            (number, [(state, to_clock(t)) for state, t in zip(states, times, strict=True)])
            for number, states, times in ((a.number, a.states, a.times) for a in chain)
        ]

    def transfer_log_group(self, **ids: str) -> str | None:
        """The log group Transfer execution *ids* writes to; None if it does not log.

        The group is ``/aws/transfer/<server id>``: each simulated execution
        runs on a server of its own.

        :param ids: its describe parameters (``ExecutionId``, ``WorkflowId``).
        :raises TypeError: *ids* that lack one of them.
        :raises KeyError: no such execution.
        """
        with self._lock:
            store = self._store
            return store.log_group_of(store.lookup(lookup_type("transfer-execution"), ids))

    def executions(self) -> Iterator[tuple[str, dict[str, str], list[tuple[str | None, float]]]]:
        """Every execution in creation order as ``(type, ids, truth)``."""
        with self._lock:
            snapshot = list(self._store.executions)
        to_clock = self.to_clock
        for execution in snapshot:
            yield execution.type.name, dict(execution.ids), execution.truth(to_clock)

    def __len__(self) -> int:
        return len(self._store)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per operation (``"service:Operation"``): requests served, throttled, faulted.

        ``served`` counts requests the service logic answered (200, or a
        modeled client error such as ResourceNotFoundException, broken down
        in ``errors`` by code); ``throttled`` counts ThrottlingExceptions from
        the bucket or forced by faults; ``faulted`` counts injected faults by
        kind (``error_5xx``, ``reset``, ``malformed``, ``throttle``,
        ``latency``).
        """
        with self._lock:
            return self._stats.snapshot()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far; needs ``Fleet(record_requests=True)``."""
        records = self._stats.records
        if records is None:
            raise RuntimeError(
                "request records are off: create the Fleet with record_requests=True"
            )
        with self._lock:
            return list(records)

    def reset_stats(self) -> None:
        """Zero the counters and drop the request records."""
        with self._lock:
            self._stats.reset()

    # -- clients --------------------------------------------------------------------------

    def client(self, service: str, *, region: str | None = None) -> FakeClient:
        """A synchronous in-process client shaped like ``boto3.client(service)``.

        :param service: a botocore service name the simulator serves
            (``"iot"``, ``"iotsitewise"``, ``"snow-device-management"``,
            ``"transfer"``, ``"logs"``).
        :param region: the region its requests are attributed to (default:
            the fleet's).
        :raises ValueError: a service the simulator does not serve.
        """
        return FakeClient(self, service, region=region)

    def async_client(self, service: str, *, region: str | None = None) -> AsyncFakeClient:
        """An asynchronous in-process client shaped like an aioboto3 client.

        :param service: a botocore service name the simulator serves
            (``"iot"``, ``"iotsitewise"``, ``"snow-device-management"``,
            ``"transfer"``, ``"logs"``).
        :param region: the region its requests are attributed to (default:
            the fleet's).
        :raises ValueError: a service the simulator does not serve.
        """
        return AsyncFakeClient(self, service, region=region)

    # -- serving --------------------------------------------------------------------------

    def next_request_id(self) -> str:
        """A fresh UUID-shaped request id (a seeded prefix and a counter: cheap)."""
        self._request_count += 1
        return f"{self._request_prefix}{self._request_count:012x}"

    def handle(
        self, service: str, operation: str, params: Mapping[str, Any], *, region: str | None = None
    ) -> Reply:
        """Answer one request; the transport-independent heart of the simulator.

        For a transport, or a test, that has the service and operation by
        name; it compiles them and goes on as :meth:`handle_spec`. Service
        errors come back as a :class:`Reply` with an error, never raised: a
        service the simulator does not serve, or an operation its model does
        not have, is a 400 ``UnknownOperationException``.

        :param service: the botocore service name (``"iot"``).
        :param operation: the operation name (``"DescribeJobExecution"``).
        :param params: the request's input parameters, decoded, by model
            member name.
        :param region: the region the request was sent to (default: the
            fleet's).
        """
        try:
            spec = operation_spec(service, operation)
        except (KeyError, ValueError):
            return Reply(
                400,
                error=ErrorSpec("UnknownOperationException", 400),
                message=f"{service}:{operation}",
            )
        return self.handle_spec(spec, params, region)

    def handle_spec(
        self,
        spec: OperationSpec,
        params: Mapping[str, Any],
        region: str | None,
        access_key: str | None = None,
    ) -> Reply:
        """:meth:`handle` for a compiled operation (what the transports call).

        The HTTP server and the in-process clients call it for every request
        they routed. Under the fleet's lock it applies the throttle and the
        faults in force, checks the parameters as the service front end
        would, runs the operation's handler at the current service time, and
        counts (and records, with ``record_requests``) the request. An
        operation the model has but the simulator does not implement is a
        501 ``NotImplemented``, neither counted nor recorded.

        :param spec: the compiled operation (``OperationSpec``) the transport
            routed the request to.
        :param params: the request's input parameters, decoded, by model
            member name.
        :param region: the region the request was sent to, or ``None`` for
            the fleet's.
        :param access_key: the access key id that signed the request, kept
            in its record (default ``None``: unsigned, as in-process calls are).
        """
        if not spec.implemented:
            return Reply(
                501,
                error=ErrorSpec("NotImplemented", 501),
                message=f"{spec.key} is modeled but the simulator does not implement it",
            )
        region = region or self.region
        with self._lock:
            clock_now = self._clock()
            stats = self._stats
            reply = self._decide(spec, params, region, clock_now, stats.counters[spec.key])
            if stats.records is not None:
                stats.records.append(
                    RequestRecord(clock_now, region, spec.key, result_of(reply), access_key)
                )
            return reply

    def _decide(
        self,
        spec: OperationSpec,
        params: Mapping[str, Any],
        region: str,
        clock_now: float,
        counter: OperationCounter,
    ) -> Reply:
        gate = self._gate
        if gate.active:
            stop, delay, malformed = gate.admit(spec, region, clock_now, counter)
            if stop is not None:
                return stop
        else:
            delay, malformed = 0.0, False
        counter.served += 1
        try:
            problem = invalid_params(spec, params)
            if problem is not None:
                raise ServiceError(spec.invalid, problem)  # noqa: TRY301 - one path for all errors
            body = HANDLERS[spec.key](self._store, params, self.now(), spec)
        except ServiceError as exc:
            counter.errors[exc.error.code] = counter.errors.get(exc.error.code, 0) + 1
            return exc.reply(delay)
        if malformed:
            counter.faulted["malformed"] = counter.faulted.get("malformed", 0) + 1
            return Reply(spec.success_status, body=body, fault="malformed", delay=delay)
        return Reply(spec.success_status, body=body, delay=delay)

    # -- SQS --------------------------------------------------------------------------------

    @property
    def sqs(self) -> SqsService:
        """The embedded SQS service: its queues (the HTTP server serves it; tests may peek)."""
        return self._sqs

    def sqs_request(
        self, operation: str, params: Mapping[str, Any], access_key: str | None = None
    ) -> SqsAnswer:
        """Answer one SQS request (what the HTTP server calls), counted as ``sqs:<Operation>``.

        SQS requests are not throttled and take no injected faults; while
        :attr:`events` says ``fail`` (and does not forward), every one
        answers 500 ``InternalError``. A ReceiveMessage that finds nothing
        and may wait returns an answer with a ``poll``: go on with
        :meth:`sqs_poll`.

        :param operation: the operation name (``"ReceiveMessage"``).
        :param params: its decoded JSON parameters.
        :param access_key: the access key id that signed it: its account
            owns the queues it creates and lists.
        """
        with self._lock:
            clock_now = self._clock()
            counter = self._stats.counters[f"sqs:{operation}"]
            answer = self._sqs_answer(operation, params, access_key, clock_now)
            error = answer.error
            if error is not None and error.code == "InternalError" and error.status == 500:
                counter.faulted["error_5xx"] = counter.faulted.get("error_5xx", 0) + 1
            else:
                counter.served += 1
                if error is not None:
                    counter.errors[error.code] = counter.errors.get(error.code, 0) + 1
            records = self._stats.records
            if records is not None:
                result = "ok" if error is None else "error_5xx" if error.status >= 500 else "error"
                records.append(
                    RequestRecord(clock_now, self.region, f"sqs:{operation}", result, access_key)
                )
            return answer

    def _sqs_answer(
        self,
        operation: str,
        params: Mapping[str, Any],
        access_key: str | None,
        clock_now: float,
    ) -> SqsAnswer:
        # Publishing goes on while the source fails: the queue is only unreachable.
        self._pump_events(_PUMP_LIMIT)
        events = self._events
        if events is not None and events.config.fail and events.config.forward_to is None:
            return SqsAnswer(
                error=SqsError("InternalError", "The event source fails (EventConfig.fail)", 500)
            )
        sqs = self._sqs
        try:
            if operation == "ReceiveMessage":
                queue, limit, visibility, wait, wanted = sqs.receive_settings(params)
                messages = sqs.receive(queue, limit, visibility, wanted)
                if messages or wait <= 0:
                    return SqsAnswer(body={"Messages": messages} if messages else {})
                return SqsAnswer(
                    poll=ReceivePoll(queue, limit, visibility, wanted, clock_now + wait)
                )
            account = self.accounts.get(access_key, self.account) if access_key else self.account
            return SqsAnswer(body=sqs.handle(operation, params, account, access_key or "simulator"))
        except SqsError as exc:
            return SqsAnswer(error=exc)

    def sqs_poll(
        self, poll: ReceivePoll, wake: Callable[[], None]
    ) -> tuple[SqsAnswer | None, float]:
        """Try a long poll again: ``(answer, 0)`` when it is over, else ``(None, wake_at)``.

        While it goes on, *wake* is registered with the queue (called, under
        the fleet's lock, when a message is added or released) and
        ``wake_at`` is the clock time to try again at the latest: the
        deadline, the next message to become visible, or the next event to
        publish. Call :meth:`sqs_poll_done` when giving up early.

        :param poll: the long poll, from the answer :meth:`sqs_request` gave.
        :param wake: a thread-safe callable that wakes the waiting request.
        """
        with self._lock:
            events = self._events
            queue = poll.queue
            if events is not None and events.config.fail and events.config.forward_to is None:
                queue.notify[:] = [w for w in queue.notify if w is not wake]
                return SqsAnswer(
                    error=SqsError(
                        "InternalError", "The event source fails (EventConfig.fail)", 500
                    )
                ), 0.0
            self._pump_events(_PUMP_LIMIT)
            sqs = self._sqs
            gone = sqs.queues.get((queue.account, queue.name)) is not queue
            messages = [] if gone else sqs.receive(queue, poll.limit, poll.visibility, poll.wanted)
            now = self._clock()
            if messages or gone or now >= poll.deadline:
                queue.notify[:] = [w for w in queue.notify if w is not wake]
                return SqsAnswer(body={"Messages": messages} if messages else {}), 0.0
            if all(w is not wake for w in queue.notify):
                queue.notify.append(wake)
            wake_at = poll.deadline
            visible = queue.next_visible()
            if visible is not None:
                wake_at = min(wake_at, visible)
            if events is not None and (queue.account, queue.name) == (
                self.account,
                events.config.queue,
            ):
                due = events.next_due()
                if due is not None:
                    wake_at = min(wake_at, self.to_clock(due))
            return None, wake_at

    def sqs_poll_done(self, poll: ReceivePoll, wake: Callable[[], None]) -> None:
        """Forget *wake* (a long poll given up: the client went away).

        :param poll: the long poll :meth:`sqs_poll` was called with.
        :param wake: the callable registered for it.
        """
        with self._lock:
            poll.queue.notify[:] = [w for w in poll.queue.notify if w is not wake]


#: Transitions one SQS request publishes at most: a rollout's burst (10,000
#: QUEUED at once) is published over several requests, so that the fleet's
#: lock is never held for long and describe calls go on meanwhile.
_PUMP_LIMIT = 500

#: The SenderId of the messages the fleet publishes (as an IoT rule's role would show).
_EVENTS_SENDER = "AROASIMULATORIOTRULE:iot-rule"


def _check_events(events: object) -> None:
    if events is not None and not isinstance(events, EventConfig):
        raise TypeError(f"Fleet.events must be an EventConfig or None, got {events!r}")


def _check_throttle(throttle: object) -> None:
    if throttle is not None and not isinstance(throttle, ThrottleConfig):
        raise TypeError(f"Fleet.throttle must be a ThrottleConfig or None, got {throttle!r}")


def _check_faults(faults: object) -> None:
    if faults is not None and not isinstance(faults, Faults):
        raise TypeError(f"Fleet.faults must be a Faults or None, got {faults!r}")


def _check_quirks(quirks: object) -> None:
    if quirks is not None and not isinstance(quirks, Quirks):
        raise TypeError(f"Fleet.quirks must be a Quirks or None, got {quirks!r}")
