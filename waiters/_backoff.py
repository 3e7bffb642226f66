"""Delays between polls: exponential with full jitter, as Smithy waiters specify."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from ._validate import invalid, seconds

__all__ = ["MIN_DELAY", "Backoff"]

#: The shortest delay between two polls of one execution, in seconds (1 ms).
#: A zero delay would poll as fast as the budget grants calls, or, with no
#: budget, without ever letting time pass; every delay is at least this.
MIN_DELAY = 0.001

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
        seconds (a float) or a timedelta, at least :data:`MIN_DELAY` (1 ms;
        default 1 s), so no backoff polls without letting time pass.
    :param max_delay: the longest delay the doubling grows to: seconds (a
        float) or a timedelta, at least *min_delay* (default 30 s).
    :raises InvalidOption: a delay that is neither a number nor a timedelta
        (a bool is neither), an infinite or NaN delay, one below 1 ms, or
        *max_delay* below *min_delay*, naming the field and the value.

    Both are stored as float seconds once the object is made.
    """

    min_delay: float | timedelta = 1.0
    max_delay: float | timedelta = 30.0

    def __post_init__(self) -> None:
        low = seconds("Backoff.min_delay", self.min_delay, at_least=MIN_DELAY)
        high = seconds("Backoff.max_delay", self.max_delay, at_least=MIN_DELAY)
        if high < low:
            raise invalid("Backoff.max_delay", f"at least min_delay ({low:g} s)", self.max_delay)
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
        cap = low * (2.0 ** min(step, _MAX_EXPONENT))
        if cap > high:
            cap = high
        return low + (cap - low) * fraction
