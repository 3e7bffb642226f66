"""Compiled response paths.

Plain dotted paths (the common case, and the hot path of every poll) are read
with direct dictionary lookups; anything else is a JMESPath expression, the
language botocore waiters already use, compiled once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

__all__ = ["Path", "PathSyntaxError"]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class PathSyntaxError(ValueError):
    """The expression is neither a dotted path nor valid JMESPath."""


class Path:
    """A read-only accessor into a response dictionary."""

    __slots__ = ("_expression", "_keys", "expression")

    def __init__(self, expression: str) -> None:
        self.expression = expression
        if _DOTTED.fullmatch(expression):
            self._keys: tuple[str, ...] | None = tuple(expression.split("."))
            self._expression: Any = None
        else:
            self._keys = None
            try:
                self._expression = jmespath.compile(expression)
            except JMESPathError as exc:
                raise PathSyntaxError(str(exc)) from exc

    @property
    def keys(self) -> tuple[str, ...] | None:
        """The member names of a dotted path, or None for a JMESPath expression."""
        return self._keys

    def search(self, data: Mapping[str, Any] | None) -> Any:
        keys = self._keys
        if keys is None:
            return self._expression.search(data)
        value: Any = data
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    def __repr__(self) -> str:
        return f"Path({self.expression!r})"
