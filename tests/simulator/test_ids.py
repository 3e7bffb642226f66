"""Identifiers: generated ones satisfy the model, given ones are checked against it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from waiters.simulator import EXECUTION_TYPES, Fleet
from waiters.simulator._protocol import service_model

from .helpers import populate


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (
            lambda f: f.add_transfer_workflow("w-TOO-SHORT", 1),
            ValueError,
            r"WorkflowId 'w-TOO-SHORT' must be 19 to 19 characters",
        ),
        (
            lambda f: f.add_iot_job("job 1", 1),
            ValueError,
            r"jobId 'job 1' does not match the model's pattern",
        ),
    ],
)
def test_bad_ids_name_field_and_value(call: Any, error: type[Exception], pattern: str) -> None:
    """Invalid executions are refused with a message naming what is wrong."""
    fleet = Fleet()
    with pytest.raises(error, match=pattern):
        call(fleet)


def test_add_returns_describe_parameters() -> None:
    """Each created execution comes back as the exact keyword arguments of its describe call."""
    fleet = Fleet()
    created = populate(fleet)
    assert created["iot-job-execution"][0] == {"jobId": "job-1", "thingName": "thing-00001"}
    for type_name, executions in created.items():
        describe = EXECUTION_TYPES[type_name]
        expected_params = set(describe.id_params)
        for ids in executions:
            assert set(ids) == expected_params


def test_generated_ids_satisfy_the_model() -> None:
    """Generated identifiers meet the describe operation's length and pattern constraints."""
    fleet = Fleet(seed=11)
    for type_name in EXECUTION_TYPES:
        fleet.add(type_name, 20)
    for type_name, ids, _ in fleet.executions():
        kind = EXECUTION_TYPES[type_name]
        shape = service_model(kind.service).operation_model(kind.describe).input_shape
        assert shape is not None
        for name, value in ids.items():
            metadata = shape.members[name].metadata
            assert metadata.get("min", 0) <= len(value) <= metadata.get("max", 10**6), (name, value)
            if "pattern" in metadata:
                assert re.fullmatch(metadata["pattern"], value), (name, value)
