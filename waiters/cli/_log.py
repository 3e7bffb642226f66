"""Logging: structlog to stderr, for people on a terminal and for machines otherwise.

The library logs only identifiers, states and reasons (never responses or
credentials); the command line adds nothing more sensitive than an endpoint
URL and a region.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

from ._console import Console
from ._errors import clip

__all__ = ["bounded", "configure_logging", "level_for"]


def level_for(verbosity: int) -> int:
    """-v info, -vv debug (a line per poll); warnings by default."""
    if verbosity <= 0:
        return logging.WARNING
    if verbosity == 1:
        return logging.INFO
    return logging.DEBUG


def bounded(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """Every text value of a log line, bounded: a state or message the service sent
    may be megabytes long (an unknown 10 MB status would be a 10 MB warning line)."""
    return {key: clip(value) if isinstance(value, str) else value for key, value in event.items()}


def configure_logging(verbosity: int, console: Console) -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        bounded,
    ]
    if console.terminal:
        processors.append(structlog.dev.ConsoleRenderer(colors=console.colors))
    else:
        processors += [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level_for(verbosity)),
        logger_factory=structlog.PrintLoggerFactory(file=console),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
