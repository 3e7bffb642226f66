"""``waiters machines``: the execution types, and one type's lifecycle in readable form."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from waiters import (
    DefinitionError,
    InvalidExecution,
    StateKind,
    StateMachine,
    botocore_waiter_names,
    default_registry,
)

__all__ = ["render_botocore_waiters", "render_machine", "render_machines", "run_machines"]

_ACTIONS = {
    "retry": "retry (keep waiting)",
    "fail_fast": "end the wait at once (error, exit 4)",
    "not_found": "not found (vanished once seen)",
    "terminal": "ends the execution",
}
_BATCH_PARENT_NAMES = {
    "jobId": "JOB_ID",
    "commandArn": "COMMAND_ARN",
    "targetResourceId": "ASSET_ID",
    "taskId": "TASK_ID",
    "WorkflowId": "WORKFLOW_ID",
}


def _params(machine: StateMachine) -> str:
    text = ", ".join(spec.name for spec in machine.identity)
    if machine.optional:
        text += "".join(f"[, {spec.name}]" for spec in machine.optional)
    return text


def _all_of(machine: StateMachine) -> str:
    if machine.batch is None:
        return "-"
    return f"--all-of {_BATCH_PARENT_NAMES.get(machine.batch.parent, machine.batch.parent)}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def render_machines(machines: Iterable[StateMachine]) -> str:
    rows = [["TYPE", "SERVICE", "OPERATION", "IDENTIFIED BY", "BATCH"]]
    rows += [
        [machine.name, machine.service, machine.operation, _params(machine), _all_of(machine)]
        for machine in machines
    ]
    lines = _table(rows)
    lines += ["", "Details: waiters machines TYPE; a service's botocore waiters: SERVICE:"]
    return "\n".join(lines) + "\n"


def render_machine(machine: StateMachine) -> str:
    lines = [f"{machine.name}: {machine.description}", ""]
    lines.append(f"  call      {machine.service} {machine.operation}({_params(machine)})")
    if machine.status is not None:
        status = machine.status.expression
        if machine.reason is not None:
            status += f"  (reason: {machine.reason.expression})"
        lines.append(f"  status    {status}")
    lines.append(f"  source    {machine.source}")

    if machine.states:
        lines += ["", "States"]
        for kind in StateKind:
            names = machine.states_of(kind)
            if names:
                terminal = "  (terminal)" if kind.terminal else ""
                lines.append(f"  {kind.value:<10} {', '.join(names)}{terminal}")

    if machine.transitions:
        lines += ["", "Transitions"]
        width = max(len(state) for state in machine.transitions)
        for state, targets in machine.transitions.items():
            # In declaration order, which follows the lifecycle, not alphabetical.
            ordered = [s for s in machine.states if s in targets]
            lines.append(f"  {state:<{width}} -> {', '.join(ordered)}")

    if machine.acceptors:
        lines += ["", "Acceptors (botocore waiter)"]
        for acceptor in machine.acceptors:
            where = f" {acceptor.argument.expression}" if acceptor.argument is not None else ""
            lines.append(
                f"  {acceptor.matcher}{where} == {acceptor.expected!r} -> {acceptor.state}"
            )

    lines += ["", "Errors"]
    if machine.errors:
        width = max(len(code) for code in machine.errors)
        for code, rule in machine.errors.items():
            action = _ACTIONS.get(rule.action.value, rule.action.value)
            if rule.kind is not None:
                action += f" as {rule.kind.value}"
            lines.append(f"  {code:<{width}}  {action}")
    lines.append("  throttling codes always retry, and slow the shared rate budget")
    lines.append("  credential and access errors end the wait (exit 4)")

    hints = machine.hints
    hint_lines = []
    if hints.version is not None:
        hint_lines.append(f"  version       {hints.version.expression} (older answers are ignored)")
    if hints.deadline_in is not None:
        hint_lines.append(
            f"  deadline in   {hints.deadline_in.expression} seconds (slack {hints.slack:g}s): "
            "poll just after it"
        )
    if hints.deadline_after is not None and hints.deadline_since is not None:
        hint_lines.append(
            f"  deadline      {hints.deadline_after.expression} seconds after "
            f"{hints.deadline_since.expression} (slack {hints.slack:g}s): poll just after it"
        )
    if hint_lines:
        lines += ["", "Hints", *hint_lines]

    batch = machine.batch
    if batch is not None:
        lines += ["", f"Batch ({_all_of(machine)})"]
        lines.append(f"  list      {batch.operation}({batch.parent}), {batch.page_size} per page")
        if batch.lists_only == "in_progress":
            lines.append("  lists only executions in progress; Describe confirms the rest")
        if batch.progress_operation:
            lines.append(f"  counts    {batch.progress_operation}")
    return "\n".join(lines) + "\n"


def _record(machine: StateMachine) -> dict[str, Any]:
    return {
        "name": machine.name,
        "description": machine.description,
        "service": machine.service,
        "operation": machine.operation,
        "identity": [spec.name for spec in machine.identity],
        "optional": [spec.name for spec in machine.optional],
        "states": {name: kind.value for name, kind in machine.states.items()},
        "transitions": {state: sorted(targets) for state, targets in machine.transitions.items()},
        "batch": None
        if machine.batch is None
        else {"operation": machine.batch.operation, "parent": machine.batch.parent},
        "source": machine.source,
    }


def render_botocore_waiters(service: str, machines: Iterable[StateMachine]) -> str:
    rows = [["TYPE", "OPERATION", "IDENTIFIED BY"]]
    rows += [[m.name, m.operation, ", ".join(s.name for s in m.identity)] for m in machines]
    if len(rows) == 1:
        return f"botocore has no waiters for {service}\n"
    lines = _table(rows)
    lines += ["", f"Details: waiters machines {service}:WaiterName"]
    return "\n".join(lines) + "\n"


def run_machines(type_name: str | None, output: str) -> str:
    """The text to print; raises :class:`~waiters.InvalidExecution` for an unknown type.

    ``SERVICE:`` lists the service's botocore waiters; ``SERVICE:WaiterName`` shows one.
    """
    registry = default_registry()
    if type_name is not None and type_name.endswith(":"):
        service = type_name[:-1]
        try:
            names = botocore_waiter_names(service)
        except DefinitionError as exc:
            raise InvalidExecution(str(exc)) from None
        machines = [registry.get(f"{service}:{name}") for name in names]
        if output == "json":
            return json.dumps([_record(m) for m in machines], indent=2) + "\n"
        return render_botocore_waiters(service, machines)
    if type_name is None:
        machines = list(registry)
        if output == "json":
            return json.dumps([_record(m) for m in machines], indent=2) + "\n"
        return render_machines(machines)
    machine = registry.get(type_name)
    if output == "json":
        return json.dumps(_record(machine), indent=2) + "\n"
    return render_machine(machine)
