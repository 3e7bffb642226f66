"""structlog events with stable names.

``waiters.poll`` (debug), ``waiters.transition`` (debug), ``waiters.throttled``
(debug), ``waiters.transient_error`` (info), ``waiters.unknown_state``,
``waiters.missing_status`` and ``waiters.illegal_transition`` (warning),
``waiters.finished`` (info). Keys are flat. Responses are never logged; ids,
states and reasons are.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["Events"]


class Events:
    """A resolved logger plus which levels are on, decided once per wait or poller.

    Resolving the logger once keeps the per-poll cost to a boolean test when
    debug events are filtered out, as they are in production configurations.
    """

    __slots__ = ("_warned", "debug", "info", "log")

    def __init__(self, logger: Any = None) -> None:
        bound = logger if logger is not None else structlog.get_logger("waiters")
        bound = bound.bind() if hasattr(bound, "bind") else bound
        self.log = bound
        enabled = getattr(bound, "is_enabled_for", None)
        self.debug = bool(enabled(logging.DEBUG)) if enabled else True
        self.info = bool(enabled(logging.INFO)) if enabled else True
        self._warned: set[tuple[str, str, str]] = set()

    def warn_once(self, event: str, machine: str, value: str, **kw: Any) -> None:
        """Warn about a definition problem once per (event, type, value), not once per poll."""
        key = (event, machine, value)
        if key in self._warned:
            return
        self._warned.add(key)
        self.log.warning(event, type=machine, value=value, **kw)
