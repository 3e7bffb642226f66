"""A pytest plugin for code that waits: fixtures for the simulator, the mock clock and a
scripted client. Installed with the package (a ``pytest11`` entry point), so a test
suite that has ``waiters`` installed gets the fixtures without importing anything:

``waiters_clock``
    A :class:`~waiters.testing.MockClock`: ``waiters_clock.run(async_fn)`` runs a
    coroutine function on an event loop whose time jumps whenever every task waits.
``waiters_fleet``
    A simulated fleet (:class:`~waiters.simulator.Fleet`, seed 0) on that clock;
    ``waiters_fleet.async_client("iot")`` is an in-process client, no network at all.
``waiters_simulator``
    The simulator serving the same protocols as AWS on 127.0.0.1, in a thread, for
    real boto3 and aioboto3 clients (``**waiters_simulator.client_kwargs()``).
``waiters_scripted``
    Makes :class:`~waiters.testing.ScriptedClient` objects:
    ``waiters_scripted("iot-job-execution", [answer, ...])``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from ._registry import default_registry
from .testing import Answer, MockClock, ScriptedClient

__all__ = ["waiters_clock", "waiters_fleet", "waiters_scripted", "waiters_simulator"]


@pytest.fixture
def waiters_clock() -> MockClock:
    """A mock clock for this test, starting at 0."""
    return MockClock()


@pytest.fixture
def waiters_fleet(waiters_clock: MockClock) -> Any:
    """A simulated fleet on the test's mock clock (in-process clients)."""
    from .simulator import Fleet

    return Fleet(seed=0, clock=waiters_clock.current_time)


@pytest.fixture
def waiters_simulator() -> Iterator[Any]:
    """The simulator over HTTP on 127.0.0.1, in a thread, stopped after the test."""
    from .simulator import Simulator

    with Simulator(seed=0).in_thread() as running:
        yield running


@pytest.fixture
def waiters_scripted() -> Callable[..., ScriptedClient]:
    """A factory: ``waiters_scripted(type_name, answers, asynchronous=True)``."""

    def make(type_name: str, answers: Sequence[Answer], **options: Any) -> ScriptedClient:
        machine = default_registry().get(type_name)
        return ScriptedClient(machine.service, machine.method, answers, **options)

    return make
