"""State machine definitions: the shipped ones, validation, user files, botocore waiters."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from waiters import (
    DefinitionError,
    InvalidExecution,
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
    acceptor = machine.accept_error("ResourceNotFoundException", 404)
    assert acceptor is not None and acceptor.kind is StateKind.FAILED
    assert machine.accept_error("ValidationException", 400) is None


# --- botocore's own waiters ---------------------------------------------------------------


def test_error_acceptors_may_expect_any_error_or_none() -> None:
    """``expected: false`` (any answer not an error) and ``true`` (any error) load and match."""
    machine = machine_from_botocore_waiter("lambda", "FunctionExists")
    assert machine.evaluate({"Configuration": {}})[1] is StateKind.SUCCEEDED
    retry = machine.accept_error("ResourceNotFoundException", 404)
    assert retry is not None and retry.kind is StateKind.RUNNING
    assert machine.accept_error("ValidationException", 400) is None
    for name in ("CertificateIssued", "CertificateAuthorityCSRCreated"):
        assert machine_from_botocore_waiter("acm-pca", name).acceptors[0].expected is False
    anything = compile_definition(
        {
            "name": "any-error",
            "service": "lambda",
            "operation": "GetFunction",
            "identity": ["FunctionName"],
            "acceptors": [{"matcher": "error", "expected": True, "state": "success"}],
        }
    )
    assert anything.accept_error("Whatever", 400) is not None
    assert anything.evaluate({"Configuration": {}}) == (None, StateKind.RUNNING)


def test_status_acceptors_match_error_answers_too() -> None:
    """s3's 404 ends BucketNotExists, keeps ObjectExists waiting, and 403 is BucketExists'."""
    assert machine_from_botocore_waiter("s3", "BucketNotExists").accept_error("404", 404)
    exists = machine_from_botocore_waiter("s3", "ObjectExists").accept_error("404", 404)
    assert exists is not None and exists.kind is StateKind.RUNNING
    bucket = machine_from_botocore_waiter("s3", "BucketExists").accept_error("403", 403)
    assert bucket is not None and bucket.kind is StateKind.SUCCEEDED


def test_empty_lists_never_match_path_all_or_any() -> None:
    """botocore's rule: pathAll and pathAny need at least one element."""
    machine = machine_from_botocore_waiter("ec2", "InstanceRunning")
    assert machine.evaluate({"Reservations": []}) == (None, StateKind.RUNNING)
    running = {"Reservations": [{"Instances": [{"State": {"Name": "running"}}]}]}
    assert machine.evaluate(running)[1] is StateKind.SUCCEEDED


def test_every_input_member_is_a_parameter() -> None:
    """Required members identify the execution; the others are optional parameters."""
    machine = machine_from_botocore_waiter("ec2", "InstanceExists")
    assert machine.name == "ec2:InstanceExists"
    assert not machine.identity
    assert {"InstanceIds", "Filters", "MaxResults"} <= {p.name for p in machine.optional}
    ecs = machine_from_botocore_waiter("ecs", "ServicesStable")
    assert [p.name for p in ecs.identity] == ["services"]


def test_an_expected_value_the_enum_cannot_produce_fails_at_load() -> None:
    """A typo in an acceptor's expected fails at load naming the source, acceptor and value."""
    definition = {
        "name": "job-done",
        "service": "iot",
        "operation": "DescribeJob",
        "identity": ["jobId"],
        "acceptors": [
            {
                "matcher": "path",
                "argument": "job.status",
                "expected": "COMPLETE",
                "state": "success",
            }
        ],
    }
    with pytest.raises(DefinitionError) as info:
        compile_definition(definition, source="defs/job.toml")
    assert str(info.value).startswith("defs/job.toml: acceptors[0].expected: expected a value")
    assert "job.status can take (" in str(info.value) and "got 'COMPLETE'" in str(info.value)
    # Through projections and flattening too.
    with pytest.raises(DefinitionError, match=r"acceptors\[0\].expected: .* got 'runing'"):
        compile_definition(
            {
                "name": "ec2-running",
                "service": "ec2",
                "operation": "DescribeInstances",
                "acceptors": [
                    {
                        "matcher": "pathAll",
                        "argument": "Reservations[].Instances[].State.Name",
                        "expected": "runing",
                        "state": "success",
                    }
                ],
            }
        )


def test_botocores_own_unreachable_values_load_with_a_warning_or_fail_when_strict() -> None:
    """A few of botocore's waiters expect values their model lacks: kept as botocore keeps them."""
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        machine = machine_from_botocore_waiter("omics", "VariantStoreDeleted")
    assert machine.acceptors[0].expected == "DELETED"
    assert [log["event"] for log in logs] == ["waiters.unreachable_acceptor"]
    assert "got 'DELETED'" in logs[0]["message"]
    with pytest.raises(DefinitionError) as info:
        machine_from_botocore_waiter("omics", "VariantStoreDeleted", strict=True)
    assert str(info.value).startswith(
        "botocore omics waiters-2.json VariantStoreDeleted: acceptors[0].expected: "
    )


@pytest.mark.parametrize(
    ("service", "waiter", "message"),
    [
        ("iot", "JobDone", "botocore iot: no waiter named 'JobDone'; it has no waiters"),
        ("transfer", "Offline", "it has ServerOffline, ServerOnline"),
        ("no-such-service", "X", "botocore no-such-service: no such service in botocore"),
    ],
)
def test_unknown_waiters_say_so_in_one_line(service: str, waiter: str, message: str) -> None:
    """No such waiter, or no waiters at all: one line listing what the service has."""
    with pytest.raises(DefinitionError) as info:
        machine_from_botocore_waiter(service, waiter)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_registry_resolves_service_colon_waiter() -> None:
    """``service:WaiterName`` names a botocore waiter wherever a type name is taken."""
    registry = MachineRegistry()
    machine = registry.get("transfer:ServerOnline")
    assert (
        machine.operation == "DescribeServer" and registry.get("transfer:ServerOnline") is machine
    )
    with pytest.raises(InvalidExecution, match="it has ServerOffline, ServerOnline"):
        registry.get("transfer:Online")
