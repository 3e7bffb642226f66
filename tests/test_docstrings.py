"""Every public name is documented: a docstring, and an entry for every parameter.

Walks the public surface (``waiters.__all__``, ``waiters.testing.__all__``,
``waiters.simulator.__all__``): each function, each class (its constructor's
parameters, in the class or ``__init__`` docstring), and each public method
and property of each class.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import waiters
import waiters.simulator
import waiters.testing

MODULES = (waiters, waiters.testing, waiters.simulator)
# Dunder protocol methods say what they do by their name.
_PROTOCOL = re.compile(r"^__\w+__$")


def _documented(doc: str | None) -> set[str]:
    return set(re.findall(r":param\s+(?:[\w\[\], |.]+\s+)?\*{0,2}(\w+):", doc or ""))


def _parameters(func: Callable[..., Any]) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [name for name in signature.parameters if name not in ("self", "cls")]


def _surface() -> Iterator[tuple[str, Any, Any]]:
    """(qualified name, object, owning class or None) for every public callable."""
    seen: set[int] = set()
    for module in MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if id(value) in seen or not callable(value):
                continue
            seen.add(id(value))
            qualified = f"{module.__name__}.{name}"
            yield qualified, value, None
            if not inspect.isclass(value):
                continue
            for attr, member in vars(value).items():
                if attr.startswith("_") or isinstance(member, enum.Enum):
                    continue
                if isinstance(member, property):
                    yield f"{qualified}.{attr}", member, value
                elif inspect.isfunction(member) or isinstance(member, staticmethod | classmethod):
                    yield f"{qualified}.{attr}", getattr(value, attr), value


SURFACE = sorted(_surface(), key=lambda item: item[0])


@pytest.mark.parametrize(("name", "obj", "owner"), SURFACE, ids=[s[0] for s in SURFACE])
def test_every_public_name_is_documented(name: str, obj: Any, owner: Any) -> None:
    if isinstance(obj, property):
        assert (obj.__doc__ or "").strip(), f"{name}: a property without a docstring"
        return
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name}: no docstring"
    if inspect.isclass(obj):
        if issubclass(obj, enum.Enum):
            return
        # An exception's constructor is its own or the nearest base's in the package.
        init = next(
            (
                c.__dict__["__init__"]
                for c in obj.__mro__
                if "__init__" in c.__dict__ and c.__module__.startswith("waiters")
            ),
            None,
        )
        own_doc = doc + "\n" + (inspect.getdoc(init) or "" if init is not None else "")
        params = _parameters(obj)
        missing = [p for p in params if p not in _documented(own_doc)]
    else:
        missing = [p for p in _parameters(obj) if p not in _documented(doc)]
    assert not missing, f"{name}: parameters without a ':param' entry: {missing}"


def test_the_walk_covers_the_entry_points() -> None:
    """The walk is not vacuous: it reaches the main entry points and their options."""
    names = {name for name, _, _ in SURFACE}
    for expected in (
        "waiters.wait_for",
        "waiters.Poller",
        "waiters.Poller.submit",
        "waiters.Batch.progress",
        "waiters.BudgetConfig",
        "waiters.testing.MockClock",
        "waiters.simulator.Simulator",
    ):
        assert expected in names
    assert len(_parameters(waiters.wait_for)) >= 20
