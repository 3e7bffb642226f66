"""structlog events with stable names.

``waiters.poll`` (debug), ``waiters.transition`` (debug), ``waiters.throttled``
(debug), ``waiters.transient_error`` (info), ``waiters.unknown_state``,
``waiters.missing_status`` and ``waiters.illegal_transition`` (warning),
``waiters.finished`` (info). Keys are flat. Ids, states and reasons are
logged; responses only with ``log_responses``. Every value passes the
scrubber (``_scrub``): secrets redacted, each value bounded as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from ._scrub import REDACTED, scrub_value

if TYPE_CHECKING:
    from ._machine import StateMachine

__all__ = ["REDACTED", "STDLIB_LOGGER", "Events", "default_logger", "redact"]


def redact(response: Mapping[str, Any], machine: StateMachine) -> dict[str, Any]:
    """A copy of *response* with the machine's sensitive fields replaced.

    Command parameters and results, and Transfer user details, can carry
    secrets; they stay out of logs unless the caller opts in.
    """
    result = dict(response)
    for path in machine.sensitive:
        keys = path.keys
        if keys is None:
            continue
        node: dict[str, Any] = result
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, Mapping):
                break
            node[key] = node = dict(child)
        else:
            if keys[-1] in node:
                node[keys[-1]] = REDACTED
    return result


#: The standard library's logger the library writes to when structlog is left
#: unconfigured. A library's logger goes nowhere until the application says
#: where (the logging HOWTO's "Configuring Logging for a Library").
STDLIB_LOGGER = logging.getLogger("waiters")
STDLIB_LOGGER.addHandler(logging.NullHandler())


def default_logger() -> Any:
    """Where events go unless a logger is given: silent until the application says.

    If the application configured structlog, its ``waiters`` logger; else the
    standard library's ``waiters`` logger, each event a record whose message is
    the event name and whose keys are the record's extra attributes.
    """
    if structlog.is_configured():
        return structlog.get_logger("waiters")
    return structlog.wrap_logger(
        STDLIB_LOGGER,
        processors=[structlog.stdlib.filter_by_level, structlog.stdlib.render_to_log_kwargs],
        wrapper_class=structlog.stdlib.BoundLogger,
    )


class _Scrubbed:
    """A logger whose every event leaves through :func:`scrub_value`.

    Events carry the service's words (reasons, error codes, unknown states,
    responses with ``log_responses``): no credential, token or signature in
    them reaches a log, and no value makes a 10 MB line.
    """

    __slots__ = ("_logger",)

    def __init__(self, logger: Any) -> None:
        self._logger = logger

    def debug(self, event: str, **fields: Any) -> Any:
        return self._logger.debug(event, **scrub_value(fields))

    def info(self, event: str, **fields: Any) -> Any:
        return self._logger.info(event, **scrub_value(fields))

    def warning(self, event: str, **fields: Any) -> Any:
        return self._logger.warning(event, **scrub_value(fields))

    def error(self, event: str, **fields: Any) -> Any:
        return self._logger.error(event, **scrub_value(fields))

    def exception(self, event: str, **fields: Any) -> Any:
        return self._logger.exception(event, **scrub_value(fields))

    def critical(self, event: str, **fields: Any) -> Any:
        return self._logger.critical(event, **scrub_value(fields))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


class Events:
    """A resolved logger plus which levels are on, decided once per wait or poller.

    Resolving the logger once keeps the per-poll cost to a boolean test when
    debug events are filtered out, as they are in production configurations.
    """

    __slots__ = ("_warned", "debug", "info", "log", "responses", "sensitive")

    def __init__(
        self, logger: Any = None, *, responses: bool = False, sensitive: bool = False
    ) -> None:
        bound = logger if logger is not None else default_logger()
        bound = bound.bind() if hasattr(bound, "bind") else bound
        self.log: Any = _Scrubbed(bound)
        enabled = getattr(bound, "is_enabled_for", None) or getattr(bound, "isEnabledFor", None)
        self.debug = bool(enabled(logging.DEBUG)) if enabled else True
        self.info = bool(enabled(logging.INFO)) if enabled else True
        self._warned: set[tuple[str, str, str]] = set()
        #: Add each response to ``waiters.poll`` (debug), redacted unless ``sensitive``.
        self.responses = responses
        self.sensitive = sensitive

    def response_fields(self, machine: StateMachine, response: Mapping[str, Any]) -> dict[str, Any]:
        """The ``response`` key for a poll event, if responses are logged at all."""
        if not self.responses:
            return {}
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        if not self.sensitive:
            body = redact(body, machine)
        return {"response": body}

    def warn_once(self, event: str, machine: str, value: str, **kw: Any) -> None:
        """Warn about a definition problem once per (event, type, value), not once per poll."""
        key = (event, machine, value)
        if key in self._warned:
            return
        self._warned.add(key)
        self.log.warning(event, type=machine, value=value, **kw)
