"""Delays between polls: exponential with full jitter, as Smithy waiters specify."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from ._clock import to_seconds

__all__ = ["Backoff"]

# 2**62 overflows no float; beyond ~60 doublings the cap is max_delay anyway.
_MAX_EXPONENT = 62


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait between polls of one execution.

    The n-th delay since the last change is drawn uniformly from
    ``[min_delay, min(max_delay, min_delay * 2**n)]`` (full jitter between the
    bounds, so polls of many executions spread out). A state change resets n.
    This is the formula of the Smithy waiters specification ("Waiter
    retries", smithy.io/2.0/additional-specs/waiters.html), with n counted
    from 0 where Smithy counts attempts from 1.

    :param min_delay: the shortest delay, and the first one after a change:
        seconds (a float) or a timedelta, at least 0 (default 1 s). With 0,
        every delay is drawn from ``[0, max_delay]``.
    :param max_delay: the longest delay the doubling grows to: seconds (a
        float) or a timedelta, at least *min_delay* (default 30 s).
    :raises TypeError: a delay that is neither a number nor a timedelta,
        naming the field.
    :raises ValueError: a negative, infinite or NaN delay, or *max_delay*
        below *min_delay*, naming the field and the value.

    Both are stored as float seconds once the object is made.
    """

    min_delay: float | timedelta = 1.0
    max_delay: float | timedelta = 30.0

    def __post_init__(self) -> None:
        low = to_seconds(self.min_delay, name="min_delay", allow_zero=True)
        high = to_seconds(self.max_delay, name="max_delay", allow_zero=True)
        if high < low:
            raise ValueError(f"max_delay must be at least min_delay ({low}), got {high}")
        object.__setattr__(self, "min_delay", low)
        object.__setattr__(self, "max_delay", high)

    def delay(self, step: int, rng: random.Random) -> float:
        """The delay before the poll that follows *step* unchanged polls, in seconds.

        :param step: how many polls since the last change of state brought
            nothing new (0 right after a change; a poller counts unchanged
            answers and transient errors, never throttled calls). Exponents
            above 62 are taken as 62, where the cap is *max_delay* anyway.
        :param rng: the source of the jitter (a ``random.Random``; one draw).
        """
        return self.delay_at(step, rng.random())

    def delay_at(self, step: int, fraction: float) -> float:
        """The delay after *step* unchanged polls, at *fraction* of the way up its range.

        :meth:`delay` with the jitter drawn already, so waits that share an
        execution's polls can share one draw too.

        :param step: as for :meth:`delay`.
        :param fraction: where in ``[min_delay, cap]`` the delay falls, in ``[0, 1)``.
        """
        low: float = self.min_delay  # type: ignore[assignment]  # normalised in __post_init__
        high: float = self.max_delay  # type: ignore[assignment]
        cap = low * (2.0 ** min(step, _MAX_EXPONENT)) if low > 0 else high
        if cap > high:
            cap = high
        return low + (cap - low) * fraction
