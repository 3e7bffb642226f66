"""Shared test configuration: quiet, capturable logs and small helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from waiters.testing import MockClock


@pytest.fixture(autouse=True)
def _quiet_structlog() -> Iterator[None]:
    """Keep per-poll debug events out of test output; capture_logs() still sees everything."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.KeyValueRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    yield
    structlog.reset_defaults()


#: The event loops every public entry point must run on (uvloop: see test_integration).
BACKENDS = ("asyncio", "trio")


@pytest.fixture
def mock_clock() -> MockClock:
    """The test's clock: time jumps to the next timer whenever every task waits."""
    return MockClock()


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest, mock_clock: MockClock) -> tuple[str, Any]:
    """Run each ``@pytest.mark.anyio`` test on asyncio and on trio, on the mock clock."""
    backend: str = request.param
    return backend, mock_clock.backend_options(backend)
