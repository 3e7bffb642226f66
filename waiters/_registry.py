"""Where execution types are found: the shipped definitions and the user's own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from ._errors import DefinitionError, InvalidExecution
from ._machine import StateMachine, compile_definition, load_paths, method_name, service_model

__all__ = [
    "MachineRegistry",
    "builtin_directory",
    "default_registry",
    "load_machines",
    "machine_from_botocore_waiter",
]


def builtin_directory() -> FsPath:
    """The shipped definitions: inside the wheel, or at the top of a source checkout."""
    packaged = resources.files("waiters").joinpath("state_machines")
    if packaged.is_dir():
        return FsPath(str(packaged))
    return FsPath(__file__).resolve().parent.parent / "state_machines"


class MachineRegistry:
    """Execution types by name and by the describe operation they wait on."""

    def __init__(self, machines: list[StateMachine] | None = None) -> None:
        self._by_name: dict[str, StateMachine] = {}
        self._by_operation: dict[tuple[str, str], StateMachine] = {}
        for machine in machines or ():
            self.add(machine)

    def add(self, machine: StateMachine, *, replace: bool = False) -> None:
        existing = self._by_name.get(machine.name)
        if existing is not None and not replace:
            raise DefinitionError(
                f"{machine.source}: name: {machine.name!r} is already defined by {existing.source}"
            )
        self._by_name[machine.name] = machine
        key = (machine.service, machine.operation)
        if replace or key not in self._by_operation:
            self._by_operation[key] = machine

    def get(self, name: str) -> StateMachine:
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidExecution(
                f"unknown execution type {name!r}; known types: {', '.join(sorted(self._by_name))}"
            ) from None

    def for_operation(self, service: str, operation: str) -> StateMachine:
        """The type that waits with *operation*.

        Either spelling works: ``describe_job_execution`` or ``DescribeJobExecution``.
        """
        pascal = operation
        if "_" in operation or operation[:1].islower():
            pascal = _operation_names(service).get(operation, operation)
        machine = self._by_operation.get((service, pascal))
        if machine is None:
            known = sorted(f"{s}.{o}" for s, o in self._by_operation if s == service)
            hint = f"; {service} has: {', '.join(known)}" if known else ""
            raise InvalidExecution(
                f"no execution type waits with {service} operation {operation!r}{hint}"
            )
        return machine

    def __iter__(self) -> Iterator[StateMachine]:
        return iter(sorted(self._by_name.values(), key=lambda m: m.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


@cache
def _operation_names(service: str) -> dict[str, str]:
    """snake_case to PascalCase operation names of a service (built once: IoT has hundreds)."""
    return {method_name(name): name for name in service_model(service).operation_names}


_lock = threading.Lock()
_default: MachineRegistry | None = None


def default_registry() -> MachineRegistry:
    """The process-wide registry, holding the shipped types (loaded once, on first use)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = MachineRegistry(load_paths([builtin_directory()]))
    return _default


def load_machines(
    *paths: str | FsPath, registry: MachineRegistry | None = None, replace: bool = False
) -> list[StateMachine]:
    """Load user definitions from files or directories and register them.

    Definitions are data (TOML or JSON); loading one never executes code.
    """
    machines = load_paths(FsPath(p) for p in paths)
    target = registry if registry is not None else default_registry()
    for machine in machines:
        target.add(machine, replace=replace)
    return machines


def machine_from_botocore_waiter(
    service: str, waiter_name: str, *, name: str | None = None
) -> StateMachine:
    """Compile one of botocore's own ``waiters-2.json`` waiters onto this engine."""
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    model = service_model(service)
    config: Any = loader.load_service_model(service, "waiters-2", model.api_version)
    waiters = config.get("waiters", {})
    if waiter_name not in waiters:
        raise DefinitionError(
            f"botocore {service} waiters-2.json: waiters.{waiter_name}: expected one of "
            f"{sorted(waiters)}"
        )
    spec = waiters[waiter_name]
    operation_model = model.operation_model(spec["operation"])
    required = (
        list(operation_model.input_shape.required_members)
        if operation_model.input_shape is not None
        else []
    )
    definition = {
        "name": name or f"{service}.{waiter_name}".lower(),
        "description": f"botocore waiter {service} {waiter_name}",
        "service": service,
        "operation": spec["operation"],
        "identity": required,
        "acceptors": spec["acceptors"],
    }
    return compile_definition(definition, source=f"botocore {service} waiters-2.json {waiter_name}")
