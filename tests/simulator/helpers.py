"""Shared helpers: a controllable clock, a model-driven shape checker, a sample fleet, paging."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape

from waiters.simulator import Fleet

#: A fixed, unremarkable epoch for fake clocks (2023-11-14T22:13:20Z).
EPOCH = 1_700_000_000.0


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = EPOCH) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # Java-only syntax such as \p{C}: skip the check


def check_shape(value: Any, shape: Shape, path: str = "$", *, top: bool = True) -> None:
    """Assert *value* is what botocore would produce for *shape*: names, types, constraints."""
    kind = shape.type_name
    if kind == "structure":
        structure = cast(StructureShape, shape)
        assert isinstance(value, dict), f"{path}: expected a dict, got {value!r}"
        allowed = set(structure.members) | ({"ResponseMetadata"} if top else set())
        assert set(value) <= allowed, f"{path}: unmodeled members {sorted(set(value) - allowed)}"
        missing = set(structure.required_members) - set(value)
        assert not missing, f"{path}: required members missing: {sorted(missing)}"
        for name, item in value.items():
            if name != "ResponseMetadata":
                check_shape(item, structure.members[name], f"{path}.{name}", top=False)
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        low = shape.metadata.get("min")
        assert low is None or len(value) >= low, f"{path}: fewer than {low} items"
        for index, item in enumerate(value):
            check_shape(item, cast(ListShape, shape).member, f"{path}[{index}]", top=False)
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected a dict, got {value!r}"
        for key, item in value.items():
            assert isinstance(key, str), f"{path}: non-string key {key!r}"
            check_shape(item, cast(MapShape, shape).value, f"{path}[{key!r}]", top=False)
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a str, got {value!r}"
        string = cast(StringShape, shape)
        if string.enum:
            assert value in string.enum, f"{path}: {value!r} not in {string.enum}"
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
        assert len(value) >= low and (high is None or len(value) <= high), f"{path}: bad length"
        pattern = shape.metadata.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        assert compiled is None or compiled.search(value), f"{path}: {value!r} !~ {pattern}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a bool, got {value!r}"
    elif kind == "timestamp":
        assert isinstance(value, datetime.datetime), f"{path}: {value!r}"
        assert value.tzinfo is not None, f"{path}: naive datetime"
    elif kind in ("double", "float"):
        assert isinstance(value, int | float), f"{path}: {value!r}"
    elif kind == "blob":
        assert isinstance(value, bytes), f"{path}: {value!r}"
    else:  # pragma: no cover - a model change the simulator does not know about
        raise AssertionError(f"{path}: unexpected shape type {kind}")


ASSET_ID = "0b9c1a4e-6a0b-4e3f-9d3c-1234567890ab"
WORKFLOW_ID = "w-abcdefghij0123456"


def populate(fleet: Fleet) -> dict[str, list[dict[str, str]]]:
    """A few executions of every type, keyed by type."""
    return {
        "iot-job-execution": fleet.add_iot_job("job-1", 5),
        "iot-command-execution": fleet.add_command("cmd-1", 4),
        "sitewise-execution": fleet.add_sitewise_executions(ASSET_ID, 3),
        "snow-execution": fleet.add_snow_task("task-1", 3),
        "transfer-execution": fleet.add_transfer_workflow(WORKFLOW_ID, 3),
    }


def strip_metadata(response: Mapping[str, Any]) -> dict[str, Any]:
    """A response without its ResponseMetadata (request ids and headers differ by transport)."""
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def walk(
    page: Callable[..., dict[str, Any]], items_key: str, token_key: str = "nextToken", **params: Any
) -> list[dict[str, Any]]:
    """Every item of a listing, following the next token through small pages."""
    items: list[dict[str, Any]] = []
    token = None
    pages = 0
    while True:
        response = page(**params, **({token_key: token} if token else {}))
        items.extend(response[items_key])
        pages += 1
        token = response.get(token_key)
        if not token:
            return items
        assert pages < 1000
