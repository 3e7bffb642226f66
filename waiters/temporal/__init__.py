"""Durable, sharded waits on Temporal (``pip install 'waiters[temporal]'``).

In a worker::

    from temporalio.worker import Worker
    from waiters.temporal import RolloutWorkflow, activities

    worker = Worker(
        client, task_queue="waiters", workflows=[RolloutWorkflow], activities=activities
    )

(or ``python -m waiters.temporal --address HOST:PORT``), and where the rollout starts::

    client = await Client.connect(address, data_converter=DATA_CONVERTER)
    result = await client.execute_workflow(
        RolloutWorkflow.run, rollout, id="rollout-7", task_queue="waiters"
    )

where ``client`` in the worker is connected with the same
:data:`DATA_CONVERTER` (it compresses payloads over 16 kB).
A :class:`RolloutInput` names :class:`Target` executions (or
:class:`TargetGroup` s of them, a job's things in one entry) across
:class:`Account` s and regions, an absolute deadline and a
:class:`FailFastRule`; the :class:`RolloutResult` holds every outcome once,
packed (:attr:`RolloutResult.outcomes` reads them).
The core package never imports this one, nor ``temporalio``.
"""

from temporalio import workflow

# Temporal's sandbox runs each workflow in a fresh import of its module, and so
# of this package: what the workflow does not run (the activity, the worker,
# the engine under them) is imported once, outside it.
with workflow.unsafe.imports_passed_through():
    from ._activity import wait_shard
    from ._codec import DATA_CONVERTER, ZlibCodec
    from ._model import (
        Account,
        FailFastRule,
        OutcomeRecord,
        Polling,
        RolloutInput,
        RolloutProgress,
        RolloutResult,
        ShardProgress,
        ShardReport,
        Target,
        TargetGroup,
    )
    from ._worker import DEFAULT_TASK_QUEUE, worker

from ._workflow import RolloutWorkflow

#: The activities a worker registers with :class:`RolloutWorkflow`.
activities = [wait_shard]

__all__ = (
    "DATA_CONVERTER",
    "DEFAULT_TASK_QUEUE",
    "Account",
    "FailFastRule",
    "OutcomeRecord",
    "Polling",
    "RolloutInput",
    "RolloutProgress",
    "RolloutResult",
    "RolloutWorkflow",
    "ShardProgress",
    "ShardReport",
    "Target",
    "TargetGroup",
    "ZlibCodec",
    "activities",
    "wait_shard",
    "worker",
)
