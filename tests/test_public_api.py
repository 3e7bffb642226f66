"""The public surface: what `waiters` exports."""

from __future__ import annotations

import types

import waiters
import waiters.testing


def test_all_lists_exactly_the_public_names() -> None:
    """Every name in __all__ exists, and every public attribute is in __all__."""
    for module in (waiters, waiters.testing):
        assert isinstance(module.__all__, tuple | list)
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is listed but missing"
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and not isinstance(value, types.ModuleType)
            and getattr(value, "__module__", module.__name__).startswith("waiters")
        }
        assert public <= set(module.__all__) | {"annotations"}, public - set(module.__all__)


def test_public_objects_come_from_private_modules() -> None:
    """Implementation lives in private modules; the package only re-exports it."""
    for name in waiters.__all__:
        value = getattr(waiters, name)
        owner = getattr(value, "__module__", None)
        if owner is not None:
            assert owner.startswith("waiters._"), (name, owner)
