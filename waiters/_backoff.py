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
        """The delay before the poll that follows *step* unchanged polls."""
        low: float = self.min_delay  # type: ignore[assignment]  # normalised in __post_init__
        high: float = self.max_delay  # type: ignore[assignment]
        cap = low * (2.0 ** min(step, _MAX_EXPONENT)) if low > 0 else high
        if cap > high:
            cap = high
        return low + (cap - low) * rng.random()
