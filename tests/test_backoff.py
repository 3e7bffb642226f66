"""Backoff delays stay within their bounds."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waiters import Backoff, InvalidOption
from waiters._backoff import MIN_DELAY


@given(
    low=st.floats(min_value=MIN_DELAY, max_value=60.0),
    extra=st.floats(min_value=0.0, max_value=600.0),
    step=st.integers(min_value=0, max_value=10_000),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_is_within_min_and_exponential_cap(
    low: float, extra: float, step: int, seed: int
) -> None:
    """Each delay lies in [min_delay, min(max_delay, min_delay * 2**step)]."""
    backoff = Backoff(min_delay=low, max_delay=low + extra)
    delay = backoff.delay(step, random.Random(seed))
    cap = min(low + extra, low * 2.0 ** min(step, 62))
    assert MIN_DELAY <= low <= delay <= cap + 1e-9


def test_durations_accept_timedelta() -> None:
    """timedelta durations are normalised to float seconds."""
    backoff = Backoff(min_delay=timedelta(milliseconds=500), max_delay=timedelta(minutes=1))
    assert (backoff.min_delay, backoff.max_delay) == (0.5, 60.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_delay": -1}, "Backoff.min_delay must be at least 0.001 seconds, got -1"),
        (
            {"min_delay": 0, "max_delay": 0},
            "Backoff.min_delay must be at least 0.001 seconds, got 0",
        ),
        ({"min_delay": True}, "Backoff.min_delay must be seconds (float) or a timedelta, got True"),
        ({"min_delay": 5, "max_delay": 1}, "max_delay must be at least min_delay"),
        ({"max_delay": "10"}, "max_delay must be seconds (float) or a timedelta, got '10'"),
        ({"min_delay": float("nan")}, "min_delay must be a finite duration"),
    ],
)
def test_bad_backoff_names_the_field(kwargs: dict[str, object], message: str) -> None:
    """Invalid bounds fail with the field and the value."""
    with pytest.raises(InvalidOption) as info:
        Backoff(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)
