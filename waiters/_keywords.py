"""Misspelt keyword arguments get a "did you mean" from the entry points.

Python says only ``unexpected keyword argument 'timout'``; an entry point
with a dozen options should say which one was meant. The check runs on the
call into the entry point, never on the polling path.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["checked_keywords", "keyword_names", "suggestion"]

_F = TypeVar("_F", bound=Callable[..., Any])
_NAMED = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def keyword_names(func: Callable[..., Any]) -> frozenset[str]:
    """The names *func* (a function or a class) takes as keyword arguments."""
    return frozenset(
        name
        for name, parameter in inspect.signature(func).parameters.items()
        if parameter.kind in _NAMED and name not in ("self", "cls")
    )


def suggestion(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'timeout'?)`` for a near miss of *name* among *known*, else ``""``."""
    meant = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f" (did you mean {meant[0]!r}?)" if meant else ""


def checked_keywords(*also: Callable[..., Any]) -> Callable[[_F], _F]:
    """Check a call's keywords against the function's own and those of *also*.

    For functions that pass ``**kwargs`` on (``wait_all`` to :class:`Poller`),
    *also* names where they go, so a misspelling is caught at the entry point,
    naming it.

    :param also: functions or classes whose keyword names are accepted too.
    """

    def decorate(func: _F) -> _F:
        name = func.__qualname__.removesuffix(".__init__")
        known: frozenset[str] | None = None

        def check(kwargs: dict[str, Any]) -> None:
            nonlocal known
            if known is None:
                known = keyword_names(func).union(*(keyword_names(f) for f in also))
            for key in kwargs:
                if key not in known:
                    raise TypeError(
                        f"{name}() got an unexpected keyword argument {key!r}"
                        f"{suggestion(key, known)}"
                    )

        if inspect.iscoroutinefunction(func):
            # Still a coroutine function to anyone who asks (inspect, anyio, trio).

            @functools.wraps(func)
            async def checked_async(*args: Any, **kwargs: Any) -> Any:
                if kwargs:
                    check(kwargs)
                return await func(*args, **kwargs)

            return checked_async  # type: ignore[return-value]

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if kwargs:
                check(kwargs)
            return func(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
