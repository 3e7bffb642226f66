"""Fixtures for the simulator tests: fleets on fake clocks and a running server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from waiters.simulator import Fleet, Simulator

from .helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


@pytest.fixture
def fleet(clock: FakeClock) -> Fleet:
    """An empty fleet on the fake clock."""
    return Fleet(seed=7, clock=clock)


@pytest.fixture
def served(fleet: Fleet) -> Iterator[Simulator]:
    """The fleet served over HTTP from a background thread (usable from sync and async tests)."""
    with Simulator(fleet).in_thread() as simulator:
        yield simulator
