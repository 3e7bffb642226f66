"""Faults and throttles: what may answer a request before the service logic does.

:class:`ThrottleConfig` sets token buckets per (region, operation), refilled
in ``clock`` time; :class:`Faults` and :class:`Latency` describe seeded
fault injection.  :class:`RequestGate` holds the ones in force and decides,
per request, whether a throttle or an injected fault answers it instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ._checks import check_number, check_range
from ._protocol import IMPLEMENTED, OperationSpec, Reply
from ._stats import OperationCounter

__all__ = ["Faults", "Latency", "RequestGate", "ThrottleConfig", "TokenBuckets"]


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Token buckets per (region, operation), refilled in ``clock`` time.

    ``per_operation`` overrides ``(rate, burst)`` for single operations, keyed
    ``"Operation"`` or ``"service:Operation"`` (e.g. ``"iot:DescribeJobExecution"``).
    Throttling is deliberately not scaled by ``speed``: a client's request
    budget is real time even when lifecycles are fast-forwarded.

    Each bucket starts full; a request takes one token or, if less than one
    is left, is answered with the service's modeled ThrottlingException.

    :param rate: tokens added per second of ``clock`` time: the sustained
        requests per second per region and operation, finite and at least 0.
    :param burst: the bucket's size: how many requests may come at once
        after a quiet spell, finite and at least 0 (below 1, every request is
        throttled).
    :param per_operation: ``(rate, burst)`` by ``"Operation"`` or
        ``"service:Operation"`` for operations the fleet implements; the
        ``"service:Operation"`` key wins over the bare name (default: none).
    :raises TypeError: a value that is not a number, or an override that is
        not a ``(rate, burst)`` pair, naming the field.
    :raises ValueError: a negative or infinite value, or an operation the
        fleet does not implement, naming the field and the value.
    """

    rate: float
    burst: float
    per_operation: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", check_number("ThrottleConfig", "rate", self.rate))
        object.__setattr__(self, "burst", check_number("ThrottleConfig", "burst", self.burst))
        known = {op for ops in IMPLEMENTED.values() for op in ops} | {
            f"{service}:{op}" for service, ops in IMPLEMENTED.items() for op in ops
        }
        checked: dict[str, tuple[float, float]] = {}
        for key, value in self.per_operation.items():
            if key not in known:
                raise ValueError(f"ThrottleConfig.per_operation: unknown operation {key!r}")
            if not isinstance(value, tuple | list) or len(value) != 2:
                raise TypeError(
                    f"ThrottleConfig.per_operation[{key!r}] must be (rate, burst), got {value!r}"
                )
            checked[key] = (
                check_number("ThrottleConfig", f"per_operation[{key!r}].rate", value[0]),
                check_number("ThrottleConfig", f"per_operation[{key!r}].burst", value[1]),
            )
        object.__setattr__(self, "per_operation", MappingProxyType(checked))

    def __hash__(self) -> int:
        return hash((self.rate, self.burst, tuple(sorted(self.per_operation.items()))))

    def limits(self, spec: OperationSpec) -> tuple[float, float]:
        """``(rate, burst)`` for one operation.

        :param spec: the compiled operation (``OperationSpec``) a request is
            for; its ``"service:Operation"`` key is looked up first, then its
            bare name, else the defaults apply.
        """
        found = self.per_operation.get(spec.key) or self.per_operation.get(spec.name)
        return found if found is not None else (self.rate, self.burst)


@dataclass(frozen=True, slots=True)
class Latency:
    """Added response latency: ``uniform(low, high)`` seconds with ``probability``.

    A callable for ``Faults(latency=...)``: called with the fault draws'
    ``random.Random``, it returns the delay. The transports wait it out in
    the time of their event loop (or ``time.sleep`` for the synchronous
    in-process client), not scaled by the fleet's ``speed``.

    :param low: the shortest added delay in seconds, finite, at least 0
        (default 0).
    :param high: the longest, at least *low* (default 0).
    :param probability: the chance that a request is delayed at all, in
        [0, 1] (default 1).
    :raises TypeError: a value that is not a number, naming the field.
    :raises ValueError: a negative or infinite delay, ``low > high``, or a
        probability outside [0, 1], naming the field and the value.
    """

    low: float = 0.0
    high: float = 0.0
    probability: float = 1.0

    def __post_init__(self) -> None:
        check_range("Latency", "(low, high)", (self.low, self.high))
        if not 0.0 <= check_number("Latency", "probability", self.probability) <= 1.0:
            raise ValueError(f"Latency.probability must be in [0, 1], got {self.probability!r}")

    def __call__(self, rng: random.Random) -> float:
        """Draw one latency from *rng*."""
        if self.probability < 1.0 and rng.random() >= self.probability:
            return 0.0
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Faults:
    """Seeded fault injection; each request draws at most one fault.

    ``error_5xx`` answers a modeled server error of the operation, ``reset``
    drops the connection without a response, ``malformed`` answers 200 with a
    truncated JSON body, ``throttle`` forces a ThrottlingException whatever
    the token bucket says (for throttle storms).  ``latency`` delays the
    response by ``latency(rng)`` seconds.  Assign a new ``Faults`` to
    ``fleet.faults`` to start or stop a storm; the draw sequence restarts
    from ``seed``.

    Each probability is per request; one draw picks at most one of the four
    faults, so they add up like disjoint events and their sum must not
    exceed 1.

    :param error_5xx: the chance of one of the operation's modeled server
        errors (its 5xx error shapes, else the service's, picked evenly),
        default 0.
    :param reset: the chance the connection is dropped without an answer
        (clients raise botocore's ``ConnectionClosedError``), default 0.
    :param malformed: the chance a successful answer's JSON body is cut to
        half its length, default 0.
    :param throttle: the chance of a ThrottlingException whatever the token
        bucket holds, default 0.
    :param latency: draws each request's added delay in seconds from the
        fault ``random.Random`` (a :class:`Latency`, or any such callable), or
        ``None`` (the default) for none.
    :param seed: the seed of the fault draws, an int (default 0).
    :raises TypeError: a probability that is not a number, a *latency* that
        is not callable, or a *seed* that is not an int, naming the field.
    :raises ValueError: a probability outside [0, 1], or probabilities that
        sum to more than 1, naming the field and the value.
    """

    error_5xx: float = 0.0
    reset: float = 0.0
    malformed: float = 0.0
    throttle: float = 0.0
    latency: Callable[[random.Random], float] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_5xx", "reset", "malformed", "throttle"):
            value = check_number("Faults", name, getattr(self, name))
            if value > 1.0:
                raise ValueError(f"Faults.{name} must be a probability in [0, 1], got {value!r}")
            object.__setattr__(self, name, value)
        total = self.error_5xx + self.reset + self.malformed + self.throttle
        if total > 1.0 + 1e-9:
            raise ValueError(f"Faults: probabilities sum to {total!r} > 1")
        if self.latency is not None and not callable(self.latency):
            raise TypeError(
                f"Faults.latency must be callable(random.Random) -> float, got {self.latency!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"Faults.seed must be an int, got {self.seed!r}")


class TokenBuckets:
    """The buckets of one :class:`ThrottleConfig`, created full on first use."""

    __slots__ = ("_buckets", "_limits", "config")

    def __init__(self, config: ThrottleConfig) -> None:
        self.config = config
        # [tokens, last refill] per (region, operation key); a list, updated
        # in place, is the cheapest mutable pair on the request path.
        self._buckets: dict[tuple[str, str], list[float]] = {}
        self._limits: dict[str, tuple[float, float]] = {}

    def take(self, spec: OperationSpec, region: str, clock_now: float) -> bool:
        """Take a token for one *spec* request in *region*; False if the bucket is empty."""
        limits = self._limits.get(spec.key)
        if limits is None:
            limits = self._limits[spec.key] = self.config.limits(spec)
        rate, burst = limits
        bucket = self._buckets.get((region, spec.key))
        if bucket is None:
            bucket = self._buckets[region, spec.key] = [burst, clock_now]
        tokens = min(burst, bucket[0] + (clock_now - bucket[1]) * rate)
        bucket[1] = clock_now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False


class RequestGate:
    """The throttle and faults in force, and the decision they make for each request."""

    __slots__ = ("_buckets", "_fault_rng", "_faults", "active")

    def __init__(self, throttle: ThrottleConfig | None, faults: Faults | None) -> None:
        self._buckets = TokenBuckets(throttle) if throttle is not None else None
        self._faults = faults
        self._fault_rng = random.Random(faults.seed if faults else 0)
        #: False when nothing is in force, so callers can skip :meth:`admit`
        #: (it then lets every request through with no delay).
        self.active = faults is not None or throttle is not None

    @property
    def faults(self) -> Faults | None:
        """Fault injection in force; assigning restarts the draws from its seed."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self._faults = faults
        self._fault_rng = random.Random(faults.seed if faults else 0)
        self.active = faults is not None or self._buckets is not None

    @property
    def throttle(self) -> ThrottleConfig | None:
        """Throttling in force; assigning starts every bucket full."""
        return self._buckets.config if self._buckets is not None else None

    @throttle.setter
    def throttle(self, throttle: ThrottleConfig | None) -> None:
        self._buckets = TokenBuckets(throttle) if throttle is not None else None
        self.active = self._faults is not None or throttle is not None

    def admit(
        self, spec: OperationSpec, region: str, clock_now: float, counter: OperationCounter
    ) -> tuple[Reply | None, float, bool]:
        """``(reply, delay, malformed)`` for one request, counted in *counter*.

        *reply* answers the request instead of the service logic (a throttle,
        a server error, a reset), or is None to let the service answer; then
        *delay* is the latency to add and *malformed* says to truncate the
        body.  One fault draw decides between the injected faults, so their
        probabilities add up like those of disjoint events.
        """
        faults = self._faults
        delay = 0.0
        draw = 2.0
        if faults is not None:
            if faults.latency is not None:
                delay = faults.latency(self._fault_rng)
                if delay > 0:
                    counter.faulted["latency"] = counter.faulted.get("latency", 0) + 1
            if faults.throttle or faults.error_5xx or faults.reset or faults.malformed:
                draw = self._fault_rng.random()
            if draw < faults.throttle:
                counter.throttled += 1
                counter.faulted["throttle"] = counter.faulted.get("throttle", 0) + 1
                return _throttled(spec, delay), delay, False
        buckets = self._buckets
        if buckets is not None and not buckets.take(spec, region, clock_now):
            counter.throttled += 1
            return _throttled(spec, delay), delay, False
        if faults is None or draw >= 1.0:
            return None, delay, False
        draw -= faults.throttle
        if draw < faults.error_5xx:
            counter.faulted["error_5xx"] = counter.faulted.get("error_5xx", 0) + 1
            error = spec.server_errors[int(draw / faults.error_5xx * len(spec.server_errors))]
            return (
                Reply(error.status, error=error, message="Simulated server error", delay=delay),
                delay,
                False,
            )
        draw -= faults.error_5xx
        if draw < faults.reset:
            counter.faulted["reset"] = counter.faulted.get("reset", 0) + 1
            return Reply(0, fault="reset", delay=delay), delay, False
        draw -= faults.reset
        return None, delay, draw < faults.malformed


def _throttled(spec: OperationSpec, delay: float) -> Reply:
    extra = {"RetryAfterSeconds": "1"} if spec.protocol == "json" else None
    return Reply(
        spec.throttle.status, error=spec.throttle, message="Rate exceeded", extra=extra, delay=delay
    )
