"""The service logic: one handler per implemented operation, in :data:`HANDLERS`.

A handler takes the store, the request's decoded parameters, the service
time and the compiled operation, and returns the modeled output with
timestamps as epoch seconds; it raises :class:`ServiceError` for a modeled
error.  Handlers read the store and never change what it holds (reading a
log may fill the store's cache of derived log entries).  They may assume
:func:`invalid_params` passed: required members are present and enums valid.
The store's :class:`Quirks` say where an answer departs from the model.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._catalogue import ExecutionRecord
from ._ids import thing_arn, transfer_user_details
from ._logs import (
    ON_EXCEPTION_STEP,
    STEP_ERROR,
    LogEntry,
    compile_filter,
    log_group_of_identifier,
    matches,
)
from ._protocol import OperationSpec, ServiceError
from ._store import Keep, Store, decode_token, encode_token, page_limit

__all__ = ["HANDLERS", "Handler", "command_reason", "invalid_params", "job_details"]

#: ``handler(store, params, now, spec) -> output``.
Handler = Callable[[Store, Mapping[str, Any], float, OperationSpec], dict[str, Any]]


def _state_is(state: str) -> Keep:
    return lambda execution, index: execution.states[index] == state


def _listed(store: Store, result: dict[str, Any], items: str) -> dict[str, Any]:
    """*result*, without its *items* list if that is empty and the quirk says to omit it."""
    if store.quirks.omit_empty_lists and not result[items]:
        del result[items]
    return result


def invalid_params(spec: OperationSpec, params: Mapping[str, Any]) -> str | None:
    """What a service front end would refuse, worded like AWS; None if acceptable.

    boto3 only checks presence and types before sending; a raw HTTP caller
    checks nothing, and enum values are never checked client-side.
    """
    missing = spec.required - params.keys()
    if missing:
        return (
            f"1 validation error detected: Value null at '{min(missing)}' failed to satisfy "
            "constraint: Member must not be null"
        )
    for name, allowed in spec.enums.items():
        value = params.get(name)
        if value is not None and value not in allowed:
            return (
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(sorted(allowed))}]"
            )
    return None


# -- IoT jobs ----------------------------------------------------------------------------


def job_details(state: str | None, terminal: bool) -> dict[str, str] | None:
    """DescribeJobExecution's ``statusDetails.detailsMap`` in *state*; None if it has none.

    The execution events (``_events``) carry the same map as ``statusDetails``.
    """
    if state == "IN_PROGRESS":
        return {"step": "downloading"}
    if terminal:
        return {"result": str(state).lower()}
    return None


def command_reason(state: str | None, terminal: bool) -> dict[str, str] | None:
    """GetCommandExecution's ``statusReason`` in *state*; None if it has none."""
    if not terminal or state == "SUCCEEDED":
        return None
    return {
        "reasonCode": f"DEVICE_{state}",
        "reasonDescription": f"The device reported {str(state).lower()}",
    }


def describe_job_execution(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    execution, index = store.find(
        "iot-job-execution", (params["jobId"], params["thingName"]), now, spec
    )
    number = params.get("executionNumber")
    if number is not None and number != execution.number:
        # Without a number the newest attempt answers; with one, that attempt
        # if it has been created by now.
        attempt = execution.attempt(number)
        index = bisect_right(attempt.times, now) - 1 if attempt is not None else -1
        if attempt is None or index < 0:
            raise ServiceError(
                spec.not_found, f"No execution number {number} for thing {params['thingName']}"
            )
        execution = attempt
    states, times = execution.states, execution.times
    state = states[index]
    body: dict[str, Any] = {
        "jobId": execution.ids["jobId"],
        "thingArn": thing_arn(store.region, store.account, execution.ids["thingName"]),
        "queuedAt": times[0],
        "lastUpdatedAt": times[index],
        "executionNumber": execution.number,
        "versionNumber": index + 1,
    }
    if state is not None:
        body["status"] = state
    started = execution.entered(index, "IN_PROGRESS")
    if started is not None:
        body["startedAt"] = started
    details = job_details(state, state in execution.type.terminal)
    if details is not None:
        body["statusDetails"] = {"detailsMap": details}
    if state == "IN_PROGRESS":
        if execution.timeout_s is not None and started is not None:
            # A lagging hint reaches 0 early and stays there until the timeout.
            body["approximateSecondsBeforeTimedOut"] = max(
                0, math.ceil(started + execution.timeout_s - store.quirks.hint_lag - now)
            )
    elif state == "CANCELED":
        body["forceCanceled"] = False
    return {"execution": body}


def list_job_executions(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    job_id = params["jobId"]
    group = store.group("iot-job-execution", job_id, spec, "job")
    status = params.get("status")
    keep = None if status is None else _state_is(status)
    page, token = store.page(spec, group.members, params, now, f"jobs/{job_id}/{status}", keep)
    summaries = []
    for execution, index in page:
        times = execution.times
        summary: dict[str, Any] = {
            "queuedAt": times[0],
            "lastUpdatedAt": times[index],
            "executionNumber": execution.number,
            # "how many retry attempts have been completed for this job on
            # this device" (botocore's iot model, JobExecutionSummary).
            "retryAttempt": execution.number - 1,
        }
        state = execution.states[index]
        if state is not None:
            summary["status"] = state
        started = execution.entered(index, "IN_PROGRESS")
        if started is not None:
            summary["startedAt"] = started
        summaries.append(
            {
                "thingArn": thing_arn(store.region, store.account, execution.ids["thingName"]),
                "jobExecutionSummary": summary,
            }
        )
    result = _listed(store, {"executionSummaries": summaries}, "executionSummaries")
    if token is not None:
        result["nextToken"] = token
    return result


def describe_job(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    job_id = params["jobId"]
    group = store.group("iot-job-execution", job_id, spec, "job")
    quirks = store.quirks
    if quirks.counts_frozen:
        counts = group.frozen_counts(now)
    else:
        counts = group.counts(now - quirks.counts_lag)
    done = now >= group.settled
    job: dict[str, Any] = {
        "jobArn": f"arn:aws:iot:{store.region}:{store.account}:job/{job_id}",
        "jobId": job_id,
        "targetSelection": "SNAPSHOT",
        "status": "COMPLETED" if done else "IN_PROGRESS",
        "targets": [f"arn:aws:iot:{store.region}:{store.account}:thinggroup/{job_id}-targets"],
        "description": f"Simulated job rolled out to {len(group.members)} things",
        "createdAt": group.created,
        "lastUpdatedAt": group.last_event(now),
        "jobProcessDetails": counts,
        "isConcurrent": False,
    }
    if done:
        job["completedAt"] = group.settled
    if group.timeout_s is not None:
        job["timeoutConfig"] = {"inProgressTimeoutInMinutes": math.ceil(group.timeout_s / 60)}
    if group.retries is not None:
        job["jobExecutionsRetryConfig"] = group.retries.as_config()
    return {"job": job}


# -- IoT commands ------------------------------------------------------------------------


def get_command_execution(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    execution, index = store.find("iot-command-execution", (params["executionId"],), now, spec)
    if execution.ids["targetArn"] != params["targetArn"]:
        raise ServiceError(
            spec.not_found,
            f"No command execution {params['executionId']} for target {params['targetArn']}",
        )
    states, times = execution.states, execution.times
    state = states[index]
    created = times[0]
    secret = (execution.seq * 0x9E3779B97F4A7C15 + store.seed) & 0xFFFFFFFFFFFF
    body: dict[str, Any] = {
        "executionId": execution.ids["executionId"],
        "commandArn": execution.parent,
        "targetArn": execution.ids["targetArn"],
        "createdAt": created,
        "lastUpdatedAt": times[index],
        "executionTimeoutSeconds": math.ceil(execution.timeout_s) if execution.timeout_s else 600,
        "timeToLive": created + 90 * 86400,
        "parameters": {"token": {"S": f"secret-{secret:012x}"}, "retries": {"I": 3}},
    }
    if state is not None:
        body["status"] = state
    started = execution.entered(index, "IN_PROGRESS")
    if started is not None:
        body["startedAt"] = started
    if state in execution.type.terminal:
        body["completedAt"] = times[index]
        if params.get("includeResult", True):
            body["result"] = {
                "exitCode": {"S": "0" if state == "SUCCEEDED" else "1"},
                "ok": {"B": state == "SUCCEEDED"},
            }
        reason = command_reason(state, terminal=True)
        if reason is not None:
            body["statusReason"] = reason
    return body


def list_command_executions(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    for unsupported in ("startedTimeFilter", "completedTimeFilter"):
        if unsupported in params:
            raise ServiceError(spec.invalid, f"{unsupported} is not supported by the simulator")
    command_arn = params.get("commandArn")
    target_arn = params.get("targetArn")
    members: Sequence[ExecutionRecord]
    if command_arn is not None:
        members = store.members("iot-command-execution", command_arn)
    elif target_arn is not None:
        members = store.targeting(target_arn)
    else:
        raise ServiceError(spec.invalid, "Either commandArn or targetArn must be provided")
    if params.get("namespace", "AWS-IoT") != "AWS-IoT":
        members = ()
    status = params.get("status")

    def keep(execution: ExecutionRecord, index: int) -> bool:
        if status is not None and execution.states[index] != status:
            return False
        return target_arn is None or execution.ids["targetArn"] == target_arn

    descending = params.get("sortOrder") == "DESCENDING"
    scope = f"commands/{command_arn}/{target_arn}/{status}/{descending}"
    page, token = store.page(spec, members, params, now, scope, keep, descending=descending)
    summaries = []
    for execution, index in page:
        state = execution.states[index]
        summary: dict[str, Any] = {
            "commandArn": execution.parent,
            "executionId": execution.ids["executionId"],
            "targetArn": execution.ids["targetArn"],
            "createdAt": execution.times[0],
        }
        if state is not None:
            summary["status"] = state
        started = execution.entered(index, "IN_PROGRESS")
        if started is not None:
            summary["startedAt"] = started
        if state in execution.type.terminal:
            summary["completedAt"] = execution.times[index]
        summaries.append(summary)
    result = _listed(store, {"commandExecutions": summaries}, "commandExecutions")
    if token is not None:
        result["nextToken"] = token
    return result


# -- IoT SiteWise ------------------------------------------------------------------------


def _sitewise_summary(execution: ExecutionRecord, index: int) -> dict[str, Any]:
    state = execution.states[index]
    body: dict[str, Any] = {
        "executionId": execution.ids["executionId"],
        "actionType": "AWS/ANOMALY_DETECTION_TRAINING",
        "targetResource": {"assetId": execution.parent},
        "targetResourceVersion": "1",
        "executionStartTime": execution.times[0],
        "executionStatus": {} if state is None else {"state": state},
        "executionEntityVersion": "1",
    }
    if state in execution.type.terminal:
        body["executionEndTime"] = execution.times[index]
    return body


def describe_sitewise(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    execution, index = store.find("sitewise-execution", (params["executionId"],), now, spec)
    body = _sitewise_summary(execution, index)
    state = execution.states[index]
    if state == "FAILED":
        body["executionDetails"] = {
            "stage": "TRAINING",
            "errorMessage": "Training data was insufficient",
        }
    elif state == "COMPLETED":
        body["executionDetails"] = {"stage": "DONE"}
        body["executionResult"] = {"modelVersion": "1"}
    else:
        body["executionDetails"] = {"stage": "TRAINING"}
    return body


def list_sitewise(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    target_type = params["targetResourceType"]
    target_id = params["targetResourceId"]
    group = (
        store.group("sitewise-execution", target_id, spec, "asset")
        if target_type == "ASSET"
        else None
    )
    members: Sequence[ExecutionRecord] = group.members if group is not None else ()
    if params.get("resolveToResourceId") is not None:
        members = ()  # simulated executions never resolve to another asset
    action = params.get("actionType")
    keep = None if action in (None, "AWS/ANOMALY_DETECTION_TRAINING") else (lambda _e, _i: False)
    scope = f"sitewise/{target_type}/{target_id}/{action}"
    page, token = store.page(spec, members, params, now, scope, keep)
    result = _listed(
        store,
        {"executionSummaries": [_sitewise_summary(e, i) for e, i in page]},
        "executionSummaries",
    )
    if token is not None:
        result["nextToken"] = token
    return result


# -- Snow Device Management --------------------------------------------------------------


def _snow_summary(execution: ExecutionRecord, index: int) -> dict[str, Any]:
    body = {
        "executionId": str(execution.seq),
        "managedDeviceId": execution.ids["managedDeviceId"],
        "taskId": execution.parent,
    }
    state = execution.states[index]
    if state is not None:
        body["state"] = state
    return body


def describe_snow(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    execution, index = store.find(
        "snow-execution", (params["taskId"], params["managedDeviceId"]), now, spec
    )
    body: dict[str, Any] = _snow_summary(execution, index)
    body["lastUpdatedAt"] = execution.times[index]
    started = execution.entered(index, "IN_PROGRESS")
    if started is not None:
        body["startedAt"] = started
    return body


def list_snow(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    task_id = params["taskId"]
    group = store.group("snow-execution", task_id, spec, "task")
    state = params.get("state")
    keep = None if state is None else _state_is(state)
    page, token = store.page(spec, group.members, params, now, f"snow/{task_id}/{state}", keep)
    result = _listed(store, {"executions": [_snow_summary(e, i) for e, i in page]}, "executions")
    if token is not None:
        result["nextToken"] = token
    return result


# -- Transfer Family ---------------------------------------------------------------------


def _transfer_summary(store: Store, execution: ExecutionRecord, index: int) -> dict[str, Any]:
    seq = execution.seq
    server, username, session = transfer_user_details(store.seed, seq)
    body: dict[str, Any] = {
        "ExecutionId": execution.ids["ExecutionId"],
        "InitialFileLocation": {
            "S3FileLocation": {"Bucket": "inbound-files", "Key": f"uploads/file-{seq}.csv"}
        },
        "ServiceMetadata": {
            "UserDetails": {
                "UserName": username,
                "ServerId": server,
                "SessionId": session,
            }
        },
    }
    state = execution.states[index]
    if state is not None:
        body["Status"] = state
    return body


def describe_transfer(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    execution, index = store.find(
        "transfer-execution", (params["WorkflowId"], params["ExecutionId"]), now, spec
    )
    body = _transfer_summary(store, execution, index)
    body["ExecutionRole"] = f"arn:aws:iam::{store.account}:role/transfer-workflow"
    log_group = store.log_group_of(execution)
    if log_group is not None:
        body["LoggingConfiguration"] = {
            "LoggingRole": f"arn:aws:iam::{store.account}:role/transfer-logging",
            "LogGroupName": log_group,
        }
    steps: list[dict[str, Any]] = [{"StepType": "COPY", "Outputs": '{"bucket":"archive"}'}]
    results: dict[str, Any] = {"Steps": steps}
    if execution.states[index] == "HANDLING_EXCEPTION":
        steps.append(
            {"StepType": "CUSTOM", "Error": {"Type": STEP_ERROR[0], "Message": STEP_ERROR[1]}}
        )
        results["OnExceptionSteps"] = [{"StepType": ON_EXCEPTION_STEP[0], "Outputs": "{}"}]
    body["Results"] = results
    return {"WorkflowId": execution.parent, "Execution": body}


def list_transfer(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    workflow_id = params["WorkflowId"]
    group = store.group("transfer-execution", workflow_id, spec, "workflow")
    page, token = store.page(
        spec,
        group.members,
        params,
        now,
        f"transfer/{workflow_id}",
        None,
        max_name="MaxResults",
        token_name="NextToken",  # noqa: S106 - a parameter name, not a secret
    )
    result = _listed(
        store,
        {
            "WorkflowId": workflow_id,
            "Executions": [_transfer_summary(store, e, i) for e, i in page],
        },
        "Executions",
    )
    if token is not None:
        result["NextToken"] = token
    return result


# -- CloudWatch Logs ---------------------------------------------------------------------


def filter_log_events(
    store: Store, params: Mapping[str, Any], now: float, spec: OperationSpec
) -> dict[str, Any]:
    name = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier")
    if (name is None) == (identifier is None):
        raise ServiceError(
            spec.invalid, "Exactly one of logGroupName or logGroupIdentifier must be given"
        )
    if name is None:
        try:
            name = log_group_of_identifier(str(identifier))
        except ValueError as exc:
            raise ServiceError(spec.invalid, str(exc)) from None
    if store.logs_denied or name in store.denied_log_groups:
        raise ServiceError(
            spec.error("AccessDeniedException"),
            f"User: arn:aws:sts::{store.account}:assumed-role/waiter/session is not authorized "
            f"to perform: logs:FilterLogEvents on resource: "
            f"arn:aws:logs:{store.region}:{store.account}:log-group:{name}:log-stream: "
            "because no identity-based policy allows the logs:FilterLogEvents action",
        )
    streams = params.get("logStreamNames")
    prefix = params.get("logStreamNamePrefix")
    if streams is not None and prefix is not None:
        raise ServiceError(
            spec.invalid, "logStreamNames and logStreamNamePrefix are mutually exclusive"
        )
    pattern = params.get("filterPattern")
    try:
        terms = compile_filter(pattern)
    except ValueError:
        raise ServiceError(spec.invalid, "Invalid filter pattern") from None
    start, end = params.get("startTime"), params.get("endTime")
    if start is not None and end is not None and end < start:
        raise ServiceError(spec.invalid, "endTime must not be before startTime")
    members = store.log_group(name, spec)
    limit = page_limit(spec, params, "limit")
    entries: list[LogEntry] = []
    for execution in members:
        entries.extend(store.log_entries(execution))
    if len(members) > 1:
        entries.sort(key=lambda entry: (entry.timestamp, entry.event_id))
    wanted = frozenset(streams) if streams is not None else None
    now_ms = now * 1000

    def keep(entry: LogEntry) -> bool:
        return (
            entry.ingestion <= now_ms
            and (start is None or entry.timestamp >= start)
            and (end is None or entry.timestamp <= end)
            and (wanted is None or entry.stream in wanted)
            and (prefix is None or entry.stream.startswith(prefix))
            and matches(terms, entry.fields)
        )

    scope = f"logs/{name}/{pattern}/{start}/{end}/{sorted(wanted or ())}/{prefix}"
    token = params.get("nextToken")
    position = decode_token(spec, token, scope) if token is not None else 0
    events: list[dict[str, Any]] = []
    total = len(entries)
    while position < total and len(events) < limit:
        entry = entries[position]
        position += 1
        if keep(entry):
            events.append(entry.as_event())
    result: dict[str, Any] = {"events": events, "searchedLogStreams": []}
    # A token only while a visible entry remains; one written later is found
    # by asking again, as with the real service once a search is complete.
    if any(keep(entry) for entry in entries[position:]):
        result["nextToken"] = encode_token(scope, position)
    return result


HANDLERS: Final[Mapping[str, Handler]] = {
    "iot:DescribeJobExecution": describe_job_execution,
    "iot:ListJobExecutionsForJob": list_job_executions,
    "iot:DescribeJob": describe_job,
    "iot:GetCommandExecution": get_command_execution,
    "iot:ListCommandExecutions": list_command_executions,
    "iotsitewise:DescribeExecution": describe_sitewise,
    "iotsitewise:ListExecutions": list_sitewise,
    "snow-device-management:DescribeExecution": describe_snow,
    "snow-device-management:ListExecutions": list_snow,
    "transfer:DescribeExecution": describe_transfer,
    "transfer:ListExecutions": list_transfer,
    "logs:FilterLogEvents": filter_log_events,
}
