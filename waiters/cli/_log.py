"""Logging: structlog to stderr, for people on a terminal and for machines otherwise.

The library logs only identifiers, states and reasons (never responses or
credentials); the command line adds nothing more sensitive than an endpoint
URL and a region.
"""

from __future__ import annotations

import logging

import structlog

from ._console import Console

__all__ = ["configure_logging", "level_for"]


def level_for(verbosity: int) -> int:
    """-v info, -vv debug (a line per poll); warnings by default."""
    if verbosity <= 0:
        return logging.WARNING
    if verbosity == 1:
        return logging.INFO
    return logging.DEBUG


def configure_logging(verbosity: int, console: Console) -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
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
