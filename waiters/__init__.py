"""Wait on long-running AWS executions.

Declarative state machines for each execution type, one wait or many under a
shared adaptive rate budget, and an embedded simulator to try it all without
an AWS account.
"""

from ._backoff import Backoff
from ._budget import BudgetConfig, BudgetRegistry, BudgetStats
from ._clock import Clock, LoopClock
from ._errors import (
    DefinitionError,
    ExecutionFailed,
    ExecutionNotFound,
    ExecutionVanished,
    InvalidExecution,
    ServiceError,
    WaiterError,
    WaitTimeout,
)
from ._execution import Execution, execution
from ._machine import StateKind, StateMachine
from ._outcome import Outcome, OutcomeKind, Transition
from ._poller import Batch, Poller, wait_all, wait_all_sync
from ._progress import BatchResult, FailFast, Progress
from ._registry import (
    MachineRegistry,
    default_registry,
    load_machines,
    machine_from_botocore_waiter,
)
from ._wait import DEFAULT_TIMEOUT, wait_for, wait_for_sync

__all__ = (
    "DEFAULT_TIMEOUT",
    "Backoff",
    "Batch",
    "BatchResult",
    "BudgetConfig",
    "BudgetRegistry",
    "BudgetStats",
    "Clock",
    "DefinitionError",
    "Execution",
    "ExecutionFailed",
    "ExecutionNotFound",
    "ExecutionVanished",
    "FailFast",
    "InvalidExecution",
    "LoopClock",
    "MachineRegistry",
    "Outcome",
    "OutcomeKind",
    "Poller",
    "Progress",
    "ServiceError",
    "StateKind",
    "StateMachine",
    "Transition",
    "WaitTimeout",
    "WaiterError",
    "default_registry",
    "execution",
    "load_machines",
    "machine_from_botocore_waiter",
    "wait_all",
    "wait_all_sync",
    "wait_for",
    "wait_for_sync",
)
