"""The one check of every public option: its declared type and its range.

Every entry point and option dataclass checks what it is given through these,
where it is given, so a wrong value fails at once as
:class:`~waiters.InvalidOption` naming the option and the value, never later
as an ``AttributeError`` from inside a wait. The rules are the same
everywhere: a bool is not a number (``timeout=True`` is no timeout), NaN and
the infinities are not finite numbers, and a duration is float seconds or a
:class:`~datetime.timedelta`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from ._errors import InvalidOption

__all__ = [
    "client_service",
    "flag",
    "flags",
    "instance",
    "integer",
    "invalid",
    "iterable",
    "mapping",
    "methods",
    "number",
    "seconds",
]

_T = TypeVar("_T")


def invalid(name: str, expected: str, value: Any) -> InvalidOption:
    """The error for *value* given as *name*: ``{name} must be {expected}, got {value!r}``."""
    return InvalidOption(f"{name} must be {expected}, got {value!r}", option=name, value=value)


def flag(name: str, value: Any) -> bool:
    """*value* if it is a bool (``1`` and ``"yes"`` are not)."""
    if not isinstance(value, bool):
        raise invalid(name, "True or False", value)
    return value


def flags(**values: Any) -> None:
    """Check the flags given to an entry point; ``None`` leaves one to its default."""
    for name, value in values.items():
        if value is not None:
            flag(name, value)


def number(
    name: str,
    value: Any,
    expected: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
    finite: bool = True,
) -> float:
    """*value* as a float, if it is a real number (not a bool, not NaN) within the bounds.

    :param expected: what the message says it must be (``"a positive number"``).
    :param finite: reject the infinities too (default ``True``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, expected, value)
    try:
        real = float(value)
    except OverflowError:  # an int beyond any float
        raise invalid(name, expected, value) from None
    if (
        math.isnan(real)
        or (finite and math.isinf(real))
        or (above is not None and not real > above)
        or (at_least is not None and not real >= at_least)
        or (below is not None and not real < below)
        or (at_most is not None and not real <= at_most)
    ):
        raise invalid(name, expected, value)
    return real


def integer(
    name: str,
    value: Any,
    *,
    minimum: int,
    maximum: int | None = None,
    expected: str | None = None,
) -> int:
    """*value* if it is an int (not a bool) of at least *minimum* (and at most *maximum*)."""
    if expected is None:
        if maximum is not None:
            expected = f"an integer from {minimum} to {maximum}"
        else:
            expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
                minimum, f"an integer >= {minimum}"
            )
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise invalid(name, expected, value)
    return value


def seconds(
    name: str, value: Any, *, allow_zero: bool = True, at_least: float | None = None
) -> float:
    """A duration given as float seconds or a timedelta, in float seconds.

    Finite, and at least 0 (greater than 0 without *allow_zero*; at least
    *at_least* when given).
    """
    if isinstance(value, timedelta):
        real = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, "seconds (float) or a timedelta", value)
    else:
        try:
            real = float(value)
        except OverflowError:  # an int beyond any float
            real = math.inf
    if not math.isfinite(real):
        raise invalid(name, "a finite duration", value)
    if at_least is not None and real < at_least:
        raise invalid(name, f"at least {at_least:g} seconds", value)
    if real < 0 or (real == 0 and not allow_zero):
        raise invalid(name, "at least 0 seconds" if allow_zero else "greater than 0 seconds", value)
    return real


def instance(name: str, value: _T, kind: type | tuple[type, ...], expected: str) -> _T:
    """*value* if it is an instance of *kind*."""
    if not isinstance(value, kind):
        raise invalid(name, expected, value)
    return value


def methods(name: str, value: _T, required: Iterable[str], expected: str) -> _T:
    """*value* if it has a callable attribute of each name in *required* (duck typing)."""
    if not all(callable(getattr(value, method, None)) for method in required):
        raise invalid(name, expected, value)
    return value


def mapping(name: str, value: Any, expected: str) -> dict[str, Any]:
    """A dict copy of *value*, if it is a mapping whose keys are all strings."""
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise invalid(name, expected, value)
    return dict(value)


def iterable(name: str, value: Any, expected: str) -> Iterable[Any]:
    """*value* if it can be iterated over, and is not a string or a mapping.

    A string or a mapping is iterable, but never the collection meant.
    """
    if isinstance(value, str | bytes | Mapping):
        raise invalid(name, expected, value)
    try:
        iter(value)
    except TypeError:
        raise invalid(name, expected, value) from None
    return value  # type: ignore[no-any-return]


def client_service(name: str, value: Any) -> str:
    """The botocore service name of a boto3, aioboto3 or simulator client given as *name*."""
    try:
        service = value.meta.service_model.service_name
    except AttributeError:
        service = None
    if not isinstance(service, str):
        raise invalid(name, "a boto3 or aioboto3 client", value)
    return service
