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

__all__ = ["MAX_DEPTH", "Path", "PathSyntaxError"]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

#: How deeply a path may nest: members in a dotted path, or levels of a
#: JMESPath expression's syntax tree. Response paths are a few levels deep
#: (botocore's own waiters reach 8); JMESPath parses and evaluates by
#: recursion, so without a bound a path could raise RecursionError at load,
#: or in the middle of a wait.
MAX_DEPTH = 32


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
            if len(self._keys) > MAX_DEPTH:
                raise PathSyntaxError(f"more than {MAX_DEPTH} members")
        else:
            self._keys = None
            try:
                self._expression = jmespath.compile(expression)
            except JMESPathError as exc:
                raise PathSyntaxError(str(exc)) from exc
            except RecursionError:
                raise PathSyntaxError(f"nested more than {MAX_DEPTH} deep") from None
            if _depth(self._expression.parsed) > MAX_DEPTH:
                raise PathSyntaxError(f"nested more than {MAX_DEPTH} deep")

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


def _depth(tree: Mapping[str, Any]) -> int:
    """The depth of a JMESPath syntax tree, walked without recursion."""
    deepest = 0
    pending = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        # A slice's children are its bounds (integers), not nodes.
        pending.extend(
            (child, depth + 1) for child in node.get("children", ()) if isinstance(child, Mapping)
        )
    return deepest
