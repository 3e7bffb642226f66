"""Argument checks shared by the simulator's configuration objects.

A refused value is named with its owner and field (``Lifecycle.pending[0]``)
and shown as given, so a typo in a test's setup reads as what it is.
"""

from __future__ import annotations

import math

__all__ = ["check_number", "check_range"]


def check_number(owner: str, name: str, value: object, *, minimum: float = 0.0) -> float:
    """*value* as a float, if it is a finite real number >= *minimum* (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < minimum:
        raise ValueError(f"{owner}.{name} must be a finite number >= {minimum:g}, got {value!r}")
    return number


def check_range(owner: str, name: str, value: object) -> tuple[float, float]:
    """*value* as a ``(low, high)`` pair of checked numbers with ``low <= high``."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{owner}.{name} must be a (min_s, max_s) pair, got {value!r}")
    low = check_number(owner, f"{name}[0]", value[0])
    high = check_number(owner, f"{name}[1]", value[1])
    if low > high:
        raise ValueError(f"{owner}.{name}: min {low:g} > max {high:g} in {tuple(value)!r}")
    return low, high
