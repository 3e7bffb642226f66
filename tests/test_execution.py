"""Executions as values, and bad input rejected before any call."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scripted import ScriptedClient, status_response
from waiters import Execution, InvalidExecution, default_registry, execution, wait_for
from waiters.testing import run_virtual


def _iot() -> ScriptedClient:
    machine = default_registry().get("iot-job-execution")
    return ScriptedClient("iot", "describe_job_execution", [status_response(machine, "SUCCEEDED")])


def test_execution_from_client_and_operation() -> None:
    """A client plus the boto3 method name resolves the execution type."""
    client = _iot()
    job = execution(client, "describe_job_execution", jobId="job-42", thingName="pump-7")
    assert job.type == "iot-job-execution"
    assert dict(job.params) == {"jobId": "job-42", "thingName": "pump-7"}
    assert job.client is client
    assert repr(job) == "<Execution iot-job-execution(jobId='job-42', thingName='pump-7')>"


def test_execution_by_type_name_is_unbound_and_bindable() -> None:
    """A type name alone gives an unbound execution; bind() attaches a client."""
    job = execution("iot-job-execution", jobId="j", thingName="t")
    assert job.client is None
    client = _iot()
    assert job.bind(client).client is client


def test_equal_executions_are_one_value() -> None:
    """Same type, parameters and client compare and hash equal; another client does not."""
    client = _iot()
    a = execution(client, "DescribeJobExecution", jobId="j", thingName="t")
    b = execution(client, "describe_job_execution", thingName="t", jobId="j")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != a.bind(_iot())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda c: execution(c, "describe_job", jobId="j"),
            "no execution type waits with iot operation 'describe_job'",
        ),
        (
            lambda c: execution(c, "describe_job_execution", jobId="j"),
            "iot-job-execution: missing parameter 'thingName'",
        ),
        (
            lambda c: execution(
                c, "describe_job_execution", jobId="j", thingName="t", colour="red"
            ),
            "iot-job-execution: unknown parameter 'colour'",
        ),
        (
            lambda c: execution(c, "describe_job_execution", jobId=42, thingName="t"),
            "iot-job-execution: parameter jobId: expected a string, got 42",
        ),
        (
            lambda c: execution(
                c, "describe_job_execution", jobId="j", thingName="t", executionNumber="3"
            ),
            "parameter executionNumber: expected a long, got '3'",
        ),
        (
            lambda c: execution(c, "describe_job_execution", jobId="job 42!", thingName="t"),
            "parameter jobId: expected a value matching [a-zA-Z0-9_-]+, got 'job 42!'",
        ),
        (
            lambda c: execution(c, "describe_job_execution", jobId="j" * 65, thingName="t"),
            "parameter jobId: expected at most 64 characters, got 65",
        ),
        (lambda c: execution("no-such-type", jobId="j"), "unknown execution type 'no-such-type'"),
        (
            lambda c: execution(object(), "describe_job_execution"),
            "target must be a boto3 or aioboto3 client, or an execution type name",
        ),
    ],
)
def test_bad_input_is_rejected_naming_it(call: object, message: str) -> None:
    """Unknown operations, missing or mistyped parameters fail with a message naming them."""
    client = _iot()
    with pytest.raises(InvalidExecution) as info:
        call(client)  # type: ignore[operator]
    assert message in str(info.value)
    assert client.calls == []


def test_wait_for_rejects_bad_input_before_any_call() -> None:
    """wait_for validates the same way and never reaches the service."""
    client = _iot()
    with pytest.raises(InvalidExecution, match="missing parameter 'thingName'"):
        run_virtual(wait_for, client, "describe_job_execution", jobId="j")
    job = execution(client, "describe_job_execution", jobId="j", thingName="t")
    with pytest.raises(InvalidExecution, match="an Execution already carries its parameters"):
        run_virtual(wait_for, job, jobId="other")
    with pytest.raises(InvalidExecution, match="not bound to a client"):
        run_virtual(wait_for, execution("iot-job-execution", jobId="j", thingName="t"))
    assert client.calls == []


def test_sitewise_ids_are_checked_against_the_model_pattern() -> None:
    """The model's UUID pattern for SiteWise execution ids is enforced."""
    machine = default_registry().get("sitewise-execution")
    Execution(machine, {"executionId": "0f8e5a1c-1111-4a2b-9c3d-123456789abc"})
    with pytest.raises(InvalidExecution, match="expected at least 36 characters"):
        Execution(machine, {"executionId": "short"})


# --- any parameter of the operation: lists and structures ------------------------------------


def test_optional_list_parameters_are_accepted_and_given_back_as_passed() -> None:
    """ec2:InstanceExists takes InstanceIds (optional, a list); the call gets that list's
    value (a copy made with the execution, so the identity never goes stale)."""
    ids = ["i-1"]
    instance = execution("ec2:InstanceExists", InstanceIds=ids)
    assert instance.call_params()["InstanceIds"] == ids
    assert dict(instance.params) == {"InstanceIds": ["i-1"]}
    assert repr(instance) == "<Execution ec2:InstanceExists(InstanceIds=['i-1'])>"
    for name, params in (
        ("rds:DBInstanceAvailable", {"DBInstanceIdentifier": "db-1"}),
        ("cloudwatch:AlarmExists", {"AlarmNames": ["cpu-high"]}),
        ("ecs:TasksRunning", {"cluster": "prod", "tasks": ["t-1"]}),
    ):
        assert dict(execution(name, **params).params) == params


def test_unhashable_parameters_have_a_well_defined_identity() -> None:
    """Lists and structures compare by value: a batch given one twice polls it once."""
    a = execution("ecs:ServicesStable", cluster="prod", services=["web"])
    b = execution("ecs:ServicesStable", cluster="prod", services=("web",))
    c = execution("ecs:ServicesStable", cluster="prod", services=["api"])
    assert a == b and hash(a) == hash(b) and len({a, b, c}) == 2
    filters = [{"Name": "instance-state-name", "Values": ["running"]}]
    d = execution("ec2:InstanceRunning", Filters=filters)
    e = execution(
        "ec2:InstanceRunning", Filters=[{"Values": ["running"], "Name": "instance-state-name"}]
    )
    assert d == e and d.call_params()["Filters"] == filters


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"InstanceIds": "i-1"}, "parameter InstanceIds: expected a list, got 'i-1'"),
        ({"InstanceIds": [1]}, "parameter InstanceIds[0]: expected a string, got 1"),
        (
            {"Filters": [{"Nam": "x"}]},
            "parameter Filters[0]: unknown member 'Nam'; expected one of",
        ),
        ({"Filters": [{"Values": "x"}]}, "parameter Filters[0].Values: expected a list"),
        ({"MaxResults": "5"}, "parameter MaxResults: expected an integer, got '5'"),
    ],
)
def test_nested_parameters_are_checked_against_the_model(
    params: dict[str, object], message: str
) -> None:
    """Members of lists and structures are checked before any call, naming where they sit."""
    with pytest.raises(InvalidExecution) as info:
        execution("ec2:InstanceRunning", **params)
    assert message in str(info.value)


def test_a_list_parameter_is_copied_when_the_execution_is_made() -> None:
    """Changing the caller's list afterwards changes neither the identity nor the call."""
    from waiters import execution as make

    ids = ["i-1", "i-2"]
    first = make("ec2:InstanceRunning", InstanceIds=ids)
    ids.append("i-3")
    assert first.call_params()["InstanceIds"] == ["i-1", "i-2"]
    assert first == make("ec2:InstanceRunning", InstanceIds=["i-1", "i-2"])
    assert first != make("ec2:InstanceRunning", InstanceIds=["i-1", "i-2", "i-3"])


def test_a_misspelt_option_gets_a_did_you_mean() -> None:
    """timout=5 reads as a parameter of the operation; the error points at timeout."""
    with pytest.raises(InvalidExecution, match="did you mean the option 'timeout'"):
        execution("iot-job-execution", jobId="j", thingName="t", timout=5)


def test_what_params_hands_out_cannot_change_the_execution() -> None:
    """A list or structure taken from ``params`` or ``call_params()`` and changed
    changes neither the calls made nor the identity fixed when the execution was made."""
    from waiters import execution

    values = ["i-1"]
    made: dict[str, Any] = {"Filters": [{"Name": "instance-id", "Values": values}]}
    one = execution("ec2:InstanceRunning", **made)
    other = execution("ec2:InstanceRunning", Filters=[{"Name": "instance-id", "Values": ["i-1"]}])
    one.params["Filters"][0]["Name"] = "changed"
    one.call_params()["Filters"][0]["Values"].append("i-2")
    values.append("i-3")
    assert one.call_params() == {"Filters": [{"Name": "instance-id", "Values": ["i-1"]}]}
    assert one == other and hash(one) == hash(other)
