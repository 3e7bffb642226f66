"""Wait on long-running AWS executions.

Declarative state machines for each execution type, one wait or many under a
shared adaptive rate budget, and an embedded simulator to try it all without
an AWS account.
"""

from ._backoff import Backoff
from ._batch import Batch
from ._budget import BudgetConfig, BudgetRegistry, BudgetStats
from ._calls import POLL_RETRY_CONFIG
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
from ._wait import wait_for, wait_for_sync

__all__ = (
    "DEFAULT_CALL_TIMEOUT",
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
