"""Every option of a wait and of a poller, with its unit and default, in one place.

Options are frozen dataclasses, validated and normalised once when they are
made (durations to float seconds, a :class:`~datetime.timedelta` accepted
wherever seconds are), so nothing downstream re-checks them. A per-batch
override is ``dataclasses.replace(options, timeout=...)``, which validates
again.
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ._backoff import MIN_DELAY, Backoff
from ._budget import BudgetRegistry
from ._clock import Clock
from ._errors import InvalidOption
from ._progress import FailFast
from ._validate import (
    client_service,
    flag,
    flags,
    instance,
    integer,
    invalid,
    iterable,
    mapping,
    methods,
    seconds,
)

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_NOT_FOUND_GRACE",
    "DEFAULT_SWEEP_INTERVAL",
    "DEFAULT_TIMEOUT",
    "PollerOptions",
    "WaitOptions",
    "check_batch",
    "check_bools",
    "check_flags",
    "check_poller",
    "check_region",
]

#: A region name as botocore accepts one: a DNS host label, not all digits.
_HOST_LABEL = re.compile(r"(?![0-9]+\Z)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")

#: One hour, in seconds. ``timeout=None`` waits as long as the execution runs.
DEFAULT_TIMEOUT = 3600.0
#: Seconds during which "not found" may mean "not visible yet" (eventual consistency).
DEFAULT_NOT_FOUND_GRACE = 10.0
#: Seconds a call may go unanswered before it counts as a transient error, so a
#: hung connection never hangs a wait.
DEFAULT_CALL_TIMEOUT = 30.0
#: The loosest latency target, in seconds (one hour, the default timeout).
MAX_LATENCY = 3600.0
#: Seconds between the starts of a parent's list sweeps without a latency
#: target: chosen from the benchmarks (see :class:`PollerOptions`).
DEFAULT_SWEEP_INTERVAL = 6.0


def check_region(name: str, value: Any) -> str:
    """*value* if it is a region name botocore accepts: a DNS host label, not all digits.

    botocore refuses any other when it opens a client
    (``botocore.utils.validate_region_name``); refused here, before any call.

    :raises InvalidOption: naming *name* and the value.
    """
    instance(name, value, str, "a string")
    if not _HOST_LABEL.fullmatch(value):
        message = f"{name} must name a region such as 'eu-west-1', got {value!r}"
        raise InvalidOption(message, option=name, value=value)
    return str(value)


def check_flags(**values: object) -> None:
    """Reject a flag that is not a bool (``None``: left to its default), naming it.

    :raises InvalidOption: a value that is neither ``None`` nor a bool.
    """
    flags(**values)


def check_bools(**values: object) -> None:
    """Reject a flag that is not a bool, ``None`` included, naming it.

    :raises InvalidOption: a value that is not a bool.
    """
    for name, value in values.items():
        flag(name, value)


def check_poller(
    *,
    session: Any,
    region_name: Any,
    budgets: Any,
    clock: Any,
    rng: Any,
    logger: Any,
    clients: Any,
    meter_provider: Any,
) -> None:
    """Check the options of a poller that are objects rather than settings (``None``: default).

    Each must be what it is used as, so a wrong one fails where it is given,
    not at the first call that uses it.

    :raises InvalidOption: naming the option and the value.
    """
    if session is not None:
        methods("session", session, ("client",), "a boto3 or aioboto3 session")
    if region_name is not None:
        check_region("region_name", region_name)
    if budgets is not None:
        instance("budgets", budgets, BudgetRegistry, "a BudgetRegistry")
    if clock is not None:
        instance("clock", clock, Clock, "a Clock, with now() and sleep_until()")
    if rng is not None:
        instance("rng", rng, random.Random, "a random.Random")
    if logger is not None:
        methods("logger", logger, ("debug", "info", "warning", "error"), "a structlog logger")
    if clients is not None:
        expected = "a mapping of botocore service names to their clients"
        for service, client in mapping("clients", clients, expected).items():
            if client_service(f"clients[{service!r}]", client) != service:
                raise invalid(f"clients[{service!r}]", f"a {service!r} client", client)
    if meter_provider is not None:
        methods("meter_provider", meter_provider, ("get_meter",), "an OpenTelemetry MeterProvider")


def check_batch(
    executions: Any,
    *,
    fail_fast: Any,
    on_transition: Callable[..., Any] | None,
    on_outcome: Callable[..., Any] | None,
) -> None:
    """Check what a batch is given, before any of it is waited on (``None``: none).

    :raises InvalidOption: *executions* is not an iterable, *fail_fast* not
        a :class:`FailFast`, or a callback not a plain callable, naming it.
    """
    iterable("executions", executions, "an iterable of Execution")
    if fail_fast is not None:
        instance("fail_fast", fail_fast, FailFast, "a FailFast")
    for name, callback in (("on_transition", on_transition), ("on_outcome", on_outcome)):
        if callback is not None and not callable(callback):
            raise invalid(name, "callable", callback)
        if inspect.iscoroutinefunction(callback):
            expected = (
                "a plain function: it is called on the event loop and an async one would "
                "never be awaited"
            )
            raise invalid(name, expected, callback)


@dataclass(frozen=True, slots=True)
class WaitOptions:
    """How each execution of a wait is polled, and for how long.

    :param timeout: seconds (or a timedelta) from the start of the wait to its
        absolute deadline; ``None`` waits as long as the execution runs.
        Default :data:`DEFAULT_TIMEOUT` (one hour).
    :param backoff: the delays between polls of one execution (default
        ``Backoff()``: 1 s rising to 30 s with full jitter).
    :param not_found_grace: seconds (or a timedelta) during which an
        execution the service does not know yet is polled again rather than
        reported ``not_found`` (default 10 s).
    :param keep_responses: keep every answer until the next, so any outcome
        carries the last response (default ``True``). A poller's big batches
        turn it off: terminal outcomes still carry theirs.
    :param follow_retries: when the parent retries failed executions (an IoT
        job's retry configuration), a FAILED or TIMED_OUT execution with
        retries left is not the end: the wait follows the next attempt, and
        ends in the failure only if no new attempt appears within the
        not-found grace (default ``True``). ``False`` stops at the first
        terminal state.
    :raises InvalidOption: a value of the wrong type, or a negative, infinite
        or NaN duration, naming the field and the value.
    """

    timeout: float | timedelta | None = DEFAULT_TIMEOUT
    backoff: Backoff = field(default_factory=Backoff)
    not_found_grace: float | timedelta = DEFAULT_NOT_FOUND_GRACE
    keep_responses: bool = True
    follow_retries: bool = True

    def __post_init__(self) -> None:
        if self.timeout is not None:
            object.__setattr__(self, "timeout", seconds("WaitOptions.timeout", self.timeout))
        instance("WaitOptions.backoff", self.backoff, Backoff, "a Backoff")
        grace = seconds("WaitOptions.not_found_grace", self.not_found_grace)
        object.__setattr__(self, "not_found_grace", grace)
        for name in ("keep_responses", "follow_retries"):
            flag(f"WaitOptions.{name}", getattr(self, name))

    @property
    def deadline_in(self) -> float | None:
        """The timeout in seconds (``None``: no deadline)."""
        return self.timeout  # type: ignore[return-value]  # normalised in __post_init__

    @property
    def grace(self) -> float:
        """The not-found grace window in seconds."""
        return self.not_found_grace  # type: ignore[return-value]  # normalised in __post_init__


@dataclass(frozen=True, slots=True)
class PollerOptions:
    """How a poller schedules calls and observes executions in batches.

    :param concurrency: calls in flight at once per client, at least 1 (default 10).
    :param call_timeout: seconds (or a timedelta) a call may go unanswered
        before it is abandoned as a transient error; greater than 0 (default 30 s).
    :param batch: observe executions that share a parent through the list
        operation (default ``True``).
    :param sweep_interval: seconds (or a timedelta) between the starts of list
        sweeps of one parent; greater than 0, or ``None`` (the default) for
        :data:`DEFAULT_SWEEP_INTERVAL` (6 s) unless *latency* is given. An
        ending is seen within this plus one sweep's listing (about 2-3 s for a
        10,000-thing IoT job at 10 calls/s): 6 s keeps that within 10 s (p99
        measured 9.7 s at 7 s), for about 0.02 calls per execution.
    :param latency: the detection latency needed, in seconds (or a
        timedelta): an ending should be seen within it (p99 in spirit); at
        least 1 ms (the backoff's floor) and at most :data:`MAX_LATENCY` (one
        hour), or ``None`` (the default) for the fixed sweep interval and the
        backoff as given. The poller then chooses the cadence that meets it
        with the fewest calls: each sweep of a parent starts 0.95 *latency*
        less the time the last listing took after the one before, and no
        execution is described more than 0.95 *latency* apart (the backoff's
        delays are drawn between half that and that). When the quota cannot
        meet it (a listing takes longer than *latency* at the budget's rate,
        or an execution comes up later than *latency* after its last answer)
        the poller logs ``waiters.latency_unmet`` once per episode (one ends
        after a minute, or *latency* if longer, with nothing late) and goes
        on as fast as the budget allows.
    :param batch_min: executions of one parent from which they are swept rather
        than described one by one (default 20; never below ``straggler_limit + 1``).
    :param straggler_limit: when this few are left in a sweep, they go back to
        their own Describe calls (default 5).
    :param failure_reasons: read why each execution a sweep sees fail failed,
        with one Describe each, paced like every call: list summaries carry no
        reason (IoT's ``JobExecutionSummary`` lacks ``statusDetails``, a
        command's summary its ``statusReason``). ``False`` (the default)
        reports such an outcome at once, its response the list summary and its
        reason saying the list gives none: a rollout where one in ten fails
        would otherwise spend 0.1 calls per execution on reasons alone, and
        end only once the budget has served them.
    :raises InvalidOption: a value of the wrong type or out of range, naming
        the field and the value, or *latency* and *sweep_interval* both
        given (the latency chooses the interval).
    """

    concurrency: int = 10
    call_timeout: float | timedelta = DEFAULT_CALL_TIMEOUT
    batch: bool = True
    sweep_interval: float | timedelta | None = None
    batch_min: int = 20
    straggler_limit: int = 5
    failure_reasons: bool = False
    latency: float | timedelta | None = None

    def __post_init__(self) -> None:
        integer("PollerOptions.concurrency", self.concurrency, minimum=1)
        integer("PollerOptions.batch_min", self.batch_min, minimum=0)
        integer("PollerOptions.straggler_limit", self.straggler_limit, minimum=0)
        for name in ("batch", "failure_reasons"):
            flag(f"PollerOptions.{name}", getattr(self, name))
        for name in ("call_timeout", "sweep_interval", "latency"):
            value = getattr(self, name)
            if value is None and name != "call_timeout":
                continue
            # A latency below the backoff's floor could not cap its delays.
            floor = MIN_DELAY if name == "latency" else None
            value = seconds(f"PollerOptions.{name}", value, allow_zero=False, at_least=floor)
            if name == "latency" and value > MAX_LATENCY:
                # Sweeps that far apart would see nothing before any deadline.
                raise InvalidOption(
                    f"PollerOptions.latency must be at most {MAX_LATENCY:g} seconds "
                    f"(one hour), got {value!r}",
                    option="latency",
                    value=value,
                )
            object.__setattr__(self, name, value)
        if self.latency is not None and self.sweep_interval is not None:
            raise InvalidOption(
                f"PollerOptions.sweep_interval: {self.sweep_interval!r} given with latency "
                f"{self.latency!r}; give one of them (the latency chooses the interval)",
                option="sweep_interval",
                value=self.sweep_interval,
            )
        object.__setattr__(self, "batch_min", max(self.batch_min, self.straggler_limit + 1))

    @property
    def call_limit(self) -> float:
        """The call timeout in seconds."""
        return self.call_timeout  # type: ignore[return-value]  # normalised in __post_init__

    @property
    def sweep_every(self) -> float:
        """The sweep interval in seconds (with a latency target, the longest one)."""
        if self.sweep_interval is not None:
            return self.sweep_interval  # type: ignore[return-value]  # normalised in __post_init__
        if self.latency is not None:
            return self.latency  # type: ignore[return-value]
        return DEFAULT_SWEEP_INTERVAL

    @property
    def latency_target(self) -> float | None:
        """The latency target in seconds, if any."""
        return self.latency  # type: ignore[return-value]  # normalised in __post_init__
