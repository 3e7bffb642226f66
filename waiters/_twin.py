"""Shallow copies of botocore objects, for the copies of a client the poller calls through."""

from __future__ import annotations

from typing import Any

__all__ = ["twin"]


def twin(original: Any) -> Any:
    """A shallow copy of *original*: same type, its own ``__dict__`` with the same values."""
    # Not copy.copy: it asks a half-made client for __setstate__, and a
    # client's __getattr__ then recurses looking for its own attributes.
    copy = object.__new__(type(original))
    copy.__dict__.update(original.__dict__)
    return copy
