"""Where execution types are found: the shipped definitions and the user's own."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from ._errors import DefinitionError, InvalidExecution
from ._machine import (
    StateMachine,
    botocore_session,
    compile_definition,
    load_paths,
    method_name,
    service_model,
)
from ._validate import flag, instance

__all__ = [
    "MachineRegistry",
    "botocore_waiter_names",
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
    """Execution types by name and by the describe operation they wait on.

    :func:`default_registry` holds the shipped types; make one of your own to
    keep types apart (``Execution(registry.get(name), params)`` names their
    executions). Iterating lists the registered types by name; ``len()`` and
    ``in`` (by name) count them. botocore waiters named ``service:WaiterName``
    are compiled on first :meth:`get` and are not listed.

    :param machines: the types to register at once, as :meth:`add` would,
        in order (default: none).
    :raises DefinitionError: two of *machines* have the same name.
    """

    def __init__(self, machines: list[StateMachine] | None = None) -> None:
        self._by_name: dict[str, StateMachine] = {}
        self._by_operation: dict[tuple[str, str], StateMachine] = {}
        #: botocore waiters compiled on first use by name; not listed as registered types.
        self._waiters: dict[str, StateMachine] = {}
        for machine in machines or ():
            self.add(machine)

    def add(self, machine: StateMachine, *, replace: bool = False) -> None:
        """Register *machine* under its name and its ``(service, operation)``.

        :param machine: the compiled type (from :func:`load_machines`,
            :func:`machine_from_botocore_waiter` or a definition).
        :param replace: replace a registered type of the same name, and
            become the type :meth:`for_operation` finds for *machine*'s
            operation (default ``False``). Without it, the first type
            registered for an operation keeps it, and a second type of the
            same name is an error.
        :raises DefinitionError: a type of that name is registered and
            *replace* is false, naming both sources.
        """
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
        """The type named *name*; ``service:WaiterName`` names a botocore waiter.

        :param name: a registered type's name (``"iot-job-execution"``), or
            ``"service:WaiterName"`` (``"transfer:ServerOffline"``) for one of
            botocore's own ``waiters-2.json`` waiters, compiled on first use
            and kept.
        :raises InvalidExecution: no such type (listing the known ones), or no
            such botocore service or waiter.
        :raises InvalidOption: *name* is not a string.
        """
        instance("name", name, str, "an execution type name (a string)")
        machine = self._by_name.get(name) or self._waiters.get(name)
        if machine is not None:
            return machine
        if ":" in name:
            return self._botocore(name)
        raise InvalidExecution(
            f"unknown execution type {name!r}; known types: {', '.join(sorted(self._by_name))} "
            "(or a botocore waiter as service:WaiterName)"
        )

    def _botocore(self, name: str) -> StateMachine:
        """Compile a botocore waiter on first use, and keep it under *name*."""
        service, _, waiter = name.partition(":")
        try:
            machine = machine_from_botocore_waiter(service, waiter, name=name)
        except DefinitionError as exc:
            raise InvalidExecution(str(exc)) from None
        # Kept apart from the registered types, which iterating lists, and not by
        # operation: several waiters share one (ServerOnline, ServerOffline).
        return self._waiters.setdefault(name, machine)

    def for_operation(self, service: str, operation: str) -> StateMachine:
        """The type that waits with *operation*.

        Either spelling works: ``describe_job_execution`` or ``DescribeJobExecution``.

        :param service: the botocore service name (``"iot"``), as a client's
            ``meta.service_model.service_name`` gives it.
        :param operation: the describe operation, as the client method
            (snake_case) or the operation name (PascalCase).
        :raises InvalidExecution: no registered type waits with it (naming the
            service's operations that have one).
        :raises botocore.exceptions.UnknownServiceError: a snake_case
            *operation* of a service botocore does not know.
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
    Every file is compiled (against the botocore service model) before any
    is registered; the compiled types are returned in load order.

    :param paths: definition files (``.toml`` or ``.json``) or directories,
        whose ``.toml`` and ``.json`` files are read in name order.
    :param registry: where to register them (default: the process-wide
        :func:`default_registry`).
    :param replace: replace registered types of the same names (default
        ``False``; see :meth:`MachineRegistry.add`).
    :raises DefinitionError: a file that is not a regular file (a FIFO, a
        directory, a device), cannot be read, is larger than 1 MiB, is not
        TOML or JSON (or nests too deeply), or does not compile (naming the
        file, the key, what was expected and the value: any key of the wrong
        type or range, or unknown), or a name already registered without
        *replace*; types registered before that name stay registered.
    :raises InvalidOption: a path that is not a string or a path, a
        *registry* that is not a :class:`MachineRegistry`, or a *replace*
        that is not a bool.
    """
    for index, path in enumerate(paths):
        instance(f"paths[{index}]", path, (str, os.PathLike), "a file or directory path")
    if registry is not None:
        instance("registry", registry, MachineRegistry, "a MachineRegistry")
    flag("replace", replace)
    machines = load_paths(FsPath(p) for p in paths)
    target = registry if registry is not None else default_registry()
    for machine in machines:
        target.add(machine, replace=replace)
    return machines


@cache
def _waiter_config(service: str, api_version: str | None = None) -> dict[str, Any]:
    """A service's ``waiters-2.json`` waiters (empty for a service with none)."""
    import botocore.exceptions

    model = service_model(service, api_version)
    loader = botocore_session().get_component("data_loader")
    try:
        config: Any = loader.load_service_model(service, "waiters-2", model.api_version)
    except (botocore.exceptions.UnknownServiceError, botocore.exceptions.DataNotFoundError):
        return {}
    waiters: dict[str, Any] = config.get("waiters", {})
    return waiters


def botocore_waiter_names(service: str, api_version: str | None = None) -> list[str]:
    """The names of *service*'s botocore waiters, sorted (empty when it has none).

    :param service: the botocore service name.
    :param api_version: an API version botocore has for it (default: the latest).
    :raises DefinitionError: botocore knows no such service, or no such API version.
    """
    import botocore.exceptions

    try:
        return sorted(_waiter_config(service, api_version))
    except botocore.exceptions.UnknownServiceError:
        raise DefinitionError(f"botocore {service}: no such service in botocore") from None
    except botocore.exceptions.DataNotFoundError:
        raise DefinitionError(f"botocore {service}: no API version {api_version!r}") from None


def machine_from_botocore_waiter(
    service: str,
    waiter_name: str,
    *,
    name: str | None = None,
    strict: bool = False,
    api_version: str | None = None,
) -> StateMachine:
    """Compile one of botocore's own ``waiters-2.json`` waiters onto this engine.

    Its acceptors run as botocore runs them; every input member of the
    operation is a parameter (the required ones identify the execution).

    :param service: the botocore service name (``"transfer"``).
    :param waiter_name: the waiter's name as botocore spells it (``"ServerOffline"``).
    :param name: the execution type's name (default ``"transfer:ServerOffline"``).
    :param api_version: the API version whose waiters and model to use, as a
        client made with ``api_version=`` has them (default: the latest).
    :param strict: an acceptor whose ``expected`` value the model's enum for
        its path does not list is an error naming the waiter, the acceptor and
        the value. By default it is logged (``waiters.unreachable_acceptor``)
        and kept: a few of botocore's own waiters have one (appconfig
        ``EnvironmentReadyForDeployment``, omics ``VariantStoreDeleted``), and
        botocore runs them as they are.
    :raises DefinitionError: no such service, a service with no waiters, no
        such waiter (naming those that exist), or, with *strict*, an
        unreachable ``expected`` value.
    """
    names = botocore_waiter_names(service, api_version)
    if waiter_name not in names:
        known = f"it has {', '.join(names)}" if names else "it has no waiters"
        raise DefinitionError(f"botocore {service}: no waiter named {waiter_name!r}; {known}")
    spec = _waiter_config(service, api_version)[waiter_name]
    model = service_model(service, api_version)
    input_shape = model.operation_model(spec["operation"]).input_shape
    members = list(input_shape.members) if input_shape is not None else []
    required = set(input_shape.required_members) if input_shape is not None else set()
    definition = {
        "name": f"{service}.{waiter_name}".lower(),
        "description": spec.get("description") or f"botocore waiter {service} {waiter_name}",
        "service": service,
        "operation": spec["operation"],
        "identity": [member for member in members if member in required],
        "optional": [member for member in members if member not in required],
        "acceptors": spec["acceptors"],
        "api_version": model.api_version,
    }
    machine = compile_definition(
        definition, source=f"botocore {service} waiters-2.json {waiter_name}", strict=strict
    )
    # The spelling the command line and the registry take; definition files
    # keep to lowercase names, which botocore's waiter names are not.
    return dataclasses.replace(machine, name=name or f"{service}:{waiter_name}")
