"""State machine definitions: the shipped ones, validation, user files, botocore waiters."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from waiters import (
    DefinitionError,
    MachineRegistry,
    StateKind,
    default_registry,
    load_machines,
    machine_from_botocore_waiter,
)
from waiters._machine import compile_definition, service_model
from waiters._registry import builtin_directory

SEED_TYPES = {
    "iot-job-execution": ("iot", "DescribeJobExecution", ["jobId", "thingName"]),
    "iot-command-execution": ("iot", "GetCommandExecution", ["executionId", "targetArn"]),
    "sitewise-execution": ("iotsitewise", "DescribeExecution", ["executionId"]),
    "snow-execution": (
        "snow-device-management",
        "DescribeExecution",
        ["managedDeviceId", "taskId"],
    ),
    "transfer-execution": ("transfer", "DescribeExecution", ["ExecutionId", "WorkflowId"]),
}


def _definition(name: str = "iot-job-execution") -> dict[str, Any]:
    path = builtin_directory() / f"{name}.toml"
    return tomllib.loads(path.read_text())


def test_the_five_seed_types_are_shipped() -> None:
    """Each seed type loads with its service, operation and identifying parameters."""
    registry = default_registry()
    assert {m.name for m in registry} == set(SEED_TYPES)
    for name, (service, operation, identity) in SEED_TYPES.items():
        machine = registry.get(name)
        assert (machine.service, machine.operation) == (service, operation)
        assert [p.name for p in machine.identity] == identity
        assert machine.batch is not None


@pytest.mark.parametrize("name", sorted(SEED_TYPES))
def test_every_modeled_state_has_a_kind(name: str) -> None:
    """The states of each definition are exactly the service model's enum."""
    machine = default_registry().get(name)
    assert machine.status is not None and machine.status.keys is not None
    shape = service_model(machine.service).operation_model(machine.operation).output_shape
    for key in machine.status.keys:
        shape = shape.members[key]
    assert set(machine.states) == set(shape.enum)


def test_state_kinds_follow_the_issue_table() -> None:
    """Pending, running, succeeded, failed and cancelled states are as documented."""
    job = default_registry().get("iot-job-execution")
    assert job.states_of(StateKind.PENDING) == ("QUEUED",)
    assert job.states_of(StateKind.RUNNING) == ("IN_PROGRESS",)
    assert job.states_of(StateKind.SUCCEEDED) == ("SUCCEEDED",)
    assert set(job.states_of(StateKind.FAILED, StateKind.CANCELLED)) == {
        "FAILED",
        "TIMED_OUT",
        "REJECTED",
        "REMOVED",
        "CANCELED",
    }
    transfer = default_registry().get("transfer-execution")
    assert transfer.states_of(StateKind.RUNNING) == ("IN_PROGRESS", "HANDLING_EXCEPTION")
    assert transfer.terminal_states == {"COMPLETED", "EXCEPTION"}


def test_transitions_are_declared() -> None:
    """Legal transitions pass; leaving a terminal state is illegal."""
    job = default_registry().get("iot-job-execution")
    assert job.is_legal("QUEUED", "IN_PROGRESS")
    assert job.is_legal("IN_PROGRESS", "SUCCEEDED")
    assert not job.is_legal("SUCCEEDED", "IN_PROGRESS")
    assert not job.is_legal("IN_PROGRESS", "QUEUED")


def test_hints_are_compiled() -> None:
    """IoT's approximateSecondsBeforeTimedOut carries the documented 60 s slack."""
    job = default_registry().get("iot-job-execution")
    assert job.hints.deadline_in is not None
    assert job.hints.deadline_in.expression == "execution.approximateSecondsBeforeTimedOut"
    assert job.hints.slack == 60.0
    assert job.hints.version is not None
    command = default_registry().get("iot-command-execution")
    assert command.hints.deadline_after is not None
    assert command.hints.deadline_after.expression == "executionTimeoutSeconds"


def _mutate(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(base))
    node = data
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("service", "no-such-service", "service: expected a service botocore knows"),
        ("operation", "DescribeNothing", "operation: expected an operation of iot"),
        ("identity", ["jobId"], "identity: expected every required parameter"),
        ("identity", ["jobId", "thingName", "colour"], "identity: expected parameters of"),
        ("states.QUEUED", "waiting", "states.QUEUED: expected one of"),
        ("states.PAUSED", "pending", "states.PAUSED: expected a value of the service model's enum"),
        ("states.REMOVED", _DELETE, "states: expected a kind for every modeled state"),
        ("transitions.SUCCEEDED", ["QUEUED"], "transitions.SUCCEEDED: expected no transitions"),
        ("transitions.QUEUED", ["LOST"], "transitions.QUEUED: expected declared states"),
        ("errors.ResourceNotFoundException", "ignore", "errors.ResourceNotFoundException"),
        ("status.path", "execution.thingArn", "status.path: expected a path to an enum"),
        ("status.path", "execution.[", "status.path: expected a valid JMESPath"),
        ("hints.deadline_in.slack", -1, "hints.deadline_in.slack: expected a non-negative"),
        ("name", "Bad Name", "name: expected lowercase"),
        ("colour", "blue", "colour: expected one of"),
        ("batch.page_size", 0, "batch.page_size: expected a positive integer"),
        ("batch.parent", "thingGroup", "batch.parent: expected a parameter of"),
    ],
)
def test_malformed_definitions_name_the_file_and_key(path: str, value: Any, message: str) -> None:
    """A bad definition fails at load with the file, the key and what was expected."""
    data = _mutate(_definition(), path, value)
    with pytest.raises(DefinitionError) as info:
        compile_definition(data, source="defs/job.toml")
    assert str(info.value).startswith("defs/job.toml: ")
    assert message in str(info.value)


def test_user_definitions_load_from_a_file_and_a_directory(tmp_path: Path) -> None:
    """Users load their own TOML or JSON definitions into a registry."""
    data = _definition("snow-execution")
    data["name"] = "my-snow"
    (tmp_path / "a.json").write_text(json.dumps(data))
    data["name"] = "my-snow-2"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text(json.dumps(data))
    registry = MachineRegistry()
    loaded = load_machines(tmp_path / "a.json", tmp_path / "sub", registry=registry)
    assert [m.name for m in loaded] == ["my-snow", "my-snow-2"]
    assert registry.get("my-snow").operation == "DescribeExecution"
    with pytest.raises(DefinitionError, match="already defined"):
        load_machines(tmp_path / "a.json", registry=registry)


def test_unparseable_file_names_the_file(tmp_path: Path) -> None:
    """A file that is not valid TOML fails with its path."""
    bad = tmp_path / "broken.toml"
    bad.write_text("name = \n")
    with pytest.raises(DefinitionError, match=r"broken\.toml: not valid TOML"):
        load_machines(bad, registry=MachineRegistry())


def test_definitions_are_data_only(tmp_path: Path) -> None:
    """Loading a definition never evaluates its strings as code."""
    data = _definition("sitewise-execution")
    data["name"] = "harmless"
    marker = tmp_path / "pwned"
    data["description"] = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    data["status"]["reason"] = "executionDetails"
    (tmp_path / "d.json").write_text(json.dumps(data))
    load_machines(tmp_path / "d.json", registry=MachineRegistry())
    assert not marker.exists()


def test_botocore_waiters_compile_onto_the_engine() -> None:
    """A waiters-2.json waiter (path acceptors) evaluates responses like botocore would."""
    machine = machine_from_botocore_waiter("transfer", "ServerOffline")
    assert machine.evaluate({"Server": {"State": "OFFLINE"}})[1] is StateKind.SUCCEEDED
    assert machine.evaluate({"Server": {"State": "STOP_FAILED"}})[1] is StateKind.FAILED
    assert machine.evaluate({"Server": {"State": "STOPPING"}})[1] is StateKind.RUNNING


def test_every_acceptor_kind_is_expressible() -> None:
    """path, pathAll, pathAny, status and error acceptors all compile and match."""
    definition = {
        "name": "all-kinds",
        "service": "iot",
        "operation": "DescribeJob",
        "identity": ["jobId"],
        "acceptors": [
            {
                "matcher": "path",
                "argument": "job.status",
                "expected": "COMPLETED",
                "state": "success",
            },
            {
                "matcher": "pathAll",
                "argument": "job.targets[]",
                "expected": "done",
                "state": "success",
            },
            {
                "matcher": "pathAny",
                "argument": "job.targets[]",
                "expected": "broken",
                "state": "failure",
            },
            {"matcher": "status", "expected": 202, "state": "retry"},
            {"matcher": "error", "expected": "ResourceNotFoundException", "state": "failure"},
        ],
    }
    machine = compile_definition(definition, source="inline")
    assert machine.evaluate({"job": {"status": "COMPLETED"}})[1] is StateKind.SUCCEEDED
    assert machine.evaluate({"job": {"targets": ["done", "done"]}})[1] is StateKind.SUCCEEDED
    assert machine.evaluate({"job": {"targets": ["done", "broken"]}})[1] is StateKind.FAILED
    assert machine.evaluate({"ResponseMetadata": {"HTTPStatusCode": 202}})[1] is StateKind.RUNNING
    rule = machine.error_rule("ResourceNotFoundException")
    assert rule is not None and rule.kind is StateKind.FAILED
