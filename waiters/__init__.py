"""Wait on long-running AWS executions.

Declarative state machines for each execution type, one wait or many under a
shared adaptive rate budget, and an embedded simulator to try it all without
an AWS account.
"""

# The command line's signal handlers must be in place within moments of the
# interpreter starting (`python -m waiters.cli` imports this package first), and
# the engine below takes a second to import: each name is imported on first use.
# Not even `typing` (14 ms, with `re`): type checkers read this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._backoff import Backoff
    from ._batch import Batch
    from ._budget import BudgetConfig, BudgetRegistry, BudgetStats
    from ._calls import POLL_RETRY_CONFIG
    from ._checkpoint import Checkpoint
    from ._clock import Clock, LoopClock
    from ._errors import (
        CallbackError,
        DefinitionError,
        ExecutionFailed,
        ExecutionNotFound,
        ExecutionVanished,
        InvalidExecution,
        InvalidOption,
        ServiceError,
        WaiterError,
        WaitTimeout,
    )
    from ._execution import Execution, execution
    from ._machine import StateKind, StateMachine
    from ._options import (
        DEFAULT_CALL_TIMEOUT,
        DEFAULT_NOT_FOUND_GRACE,
        DEFAULT_TIMEOUT,
        PollerOptions,
        WaitOptions,
    )
    from ._outcome import Outcome, OutcomeKind, Transition
    from ._poller import Poller, wait_all, wait_all_sync
    from ._progress import DEFAULT_MIN_FINISHED, BatchResult, FailFast, Progress
    from ._registry import (
        MachineRegistry,
        botocore_waiter_names,
        default_registry,
        load_machines,
        machine_from_botocore_waiter,
    )
    from ._sqs import DEFAULT_EVENT_STALENESS, SqsEvents
    from ._wait import wait_for, wait_for_sync

_LAZY = {
    "Backoff": "._backoff",
    "Batch": "._batch",
    "BudgetConfig": "._budget",
    "BudgetRegistry": "._budget",
    "BudgetStats": "._budget",
    "POLL_RETRY_CONFIG": "._calls",
    "Checkpoint": "._checkpoint",
    "Clock": "._clock",
    "LoopClock": "._clock",
    "CallbackError": "._errors",
    "DefinitionError": "._errors",
    "ExecutionFailed": "._errors",
    "ExecutionNotFound": "._errors",
    "ExecutionVanished": "._errors",
    "InvalidExecution": "._errors",
    "InvalidOption": "._errors",
    "ServiceError": "._errors",
    "WaiterError": "._errors",
    "WaitTimeout": "._errors",
    "Execution": "._execution",
    "execution": "._execution",
    "StateKind": "._machine",
    "StateMachine": "._machine",
    "DEFAULT_CALL_TIMEOUT": "._options",
    "DEFAULT_NOT_FOUND_GRACE": "._options",
    "DEFAULT_TIMEOUT": "._options",
    "PollerOptions": "._options",
    "WaitOptions": "._options",
    "Outcome": "._outcome",
    "OutcomeKind": "._outcome",
    "Transition": "._outcome",
    "Poller": "._poller",
    "wait_all": "._poller",
    "wait_all_sync": "._poller",
    "DEFAULT_MIN_FINISHED": "._progress",
    "BatchResult": "._progress",
    "FailFast": "._progress",
    "Progress": "._progress",
    "MachineRegistry": "._registry",
    "botocore_waiter_names": "._registry",
    "default_registry": "._registry",
    "load_machines": "._registry",
    "machine_from_botocore_waiter": "._registry",
    "DEFAULT_EVENT_STALENESS": "._sqs",
    "SqsEvents": "._sqs",
    "wait_for": "._wait",
    "wait_for_sync": "._wait",
}

__all__ = (
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_EVENT_STALENESS",
    "DEFAULT_MIN_FINISHED",
    "DEFAULT_NOT_FOUND_GRACE",
    "DEFAULT_TIMEOUT",
    "POLL_RETRY_CONFIG",
    "Backoff",
    "Batch",
    "BatchResult",
    "BudgetConfig",
    "BudgetRegistry",
    "BudgetStats",
    "CallbackError",
    "Checkpoint",
    "Clock",
    "DefinitionError",
    "Execution",
    "ExecutionFailed",
    "ExecutionNotFound",
    "ExecutionVanished",
    "FailFast",
    "InvalidExecution",
    "InvalidOption",
    "LoopClock",
    "MachineRegistry",
    "Outcome",
    "OutcomeKind",
    "Poller",
    "PollerOptions",
    "Progress",
    "ServiceError",
    "SqsEvents",
    "StateKind",
    "StateMachine",
    "Transition",
    "WaitOptions",
    "WaitTimeout",
    "WaiterError",
    "botocore_waiter_names",
    "default_registry",
    "execution",
    "load_machines",
    "machine_from_botocore_waiter",
    "wait_all",
    "wait_all_sync",
    "wait_for",
    "wait_for_sync",
)


# Not seen by type checkers: a module-level __getattr__ would make any name type-check.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'waiters' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(module, __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


del TYPE_CHECKING
