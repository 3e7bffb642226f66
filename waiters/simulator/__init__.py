"""An embedded AWS fleet simulator for testing code that waits on executions.

It plays out seeded lifecycles of IoT job and command executions, IoT
SiteWise, Snow Device Management and Transfer Family executions, throttles
like AWS and fails like a network.  Use it like moto.  Transfer executions
also write their workflow's execution log, which CloudWatch Logs
``FilterLogEvents`` reads (``add_transfer_workflow(logging=, log_lag=)``,
``fleet.logs_denied``, ``fleet.denied_log_groups``).  :class:`Quirks` make a
fleet answer like a service that lags (job counts that trail or never move,
a timeout hint that reaches 0 early, list pages without their list), and
``add_iot_job(retries=...)`` gives failed IoT job executions new attempts
with new execution numbers (:class:`Retries`).

Over HTTP, with real boto3/aioboto3 clients::

    from waiters.simulator import Faults, Lifecycle, Simulator, ThrottleConfig

    async with Simulator(seed=1, speed=60.0, throttle=ThrottleConfig(rate=10, burst=10)) as sim:
        sim.fleet.add_iot_job("job-1", things=100, lifecycle=Lifecycle(running=(30, 600)))
        async with aioboto3.Session().client("iot", **sim.client_kwargs()) as iot:
            await iot.describe_job_execution(jobId="job-1", thingName="thing-00001")
        sim.fleet.faults = Faults(throttle=0.9)  # a throttle storm, until set back to None

From sync code, ``with Simulator(...).in_thread() as sim:``; from another
process, ``python -m waiters.simulator`` (first stdout line: the URL) and the
JSON control API under ``/_simulator/`` (``GET stats``, ``GET truth``,
``GET requests``, ``GET health``, ``POST executions``, ``POST faults``
(which also sets quirks), ``GET``/``POST events``, ``POST reset-stats``).

Execution events: ``Simulator(events=EventConfig(...))`` publishes a message
for every status an IoT job or command execution enters to an embedded
SQS-compatible queue at ``sim.events_queue_url``, served on the same port
(``boto3.client("sqs", **sim.client_kwargs())``), with knobs for delay,
duplication, reordering, loss, a failing or silent source, and
``forward_to=ForwardSqs(...)`` to send them to a real SQS server instead;
``fleet.events_log`` and ``fleet.events_stats()`` are their ground truth.

Without HTTP, the same fleet answers boto3-shaped fakes::

    fleet = Fleet(clock=loop.time)
    async with fleet.async_client("transfer") as transfer: ...

Ground truth, to score a waiter: ``fleet.truth(type, **ids)`` and
``fleet.executions()`` give the states entered and when, in ``clock`` time
(``fleet.attempts(type, **ids)`` splits a retried IoT job execution into its
attempts);
``fleet.stats()`` and ``fleet.requests`` show what the service saw.
"""

from ._catalogue import (
    DEFAULT_LIFECYCLES,
    EXECUTION_TYPES,
    GONE,
    ExecutionType,
    Lifecycle,
    Retries,
)
from ._cli import add_arguments, main, run
from ._events import EventConfig, EventRecord, ForwardSqs
from ._faults import Faults, Latency, ThrottleConfig
from ._fleet import Fleet
from ._inprocess import AsyncFakeClient, FakeClient
from ._protocol import IMPLEMENTED, Reply
from ._quirks import Quirks
from ._server import Simulator, SimulatorThread
from ._stats import RequestRecord

__all__ = (
    "DEFAULT_LIFECYCLES",
    "EXECUTION_TYPES",
    "GONE",
    "IMPLEMENTED",
    "AsyncFakeClient",
    "EventConfig",
    "EventRecord",
    "ExecutionType",
    "FakeClient",
    "Faults",
    "Fleet",
    "ForwardSqs",
    "Latency",
    "Lifecycle",
    "Quirks",
    "Reply",
    "RequestRecord",
    "Retries",
    "Simulator",
    "SimulatorThread",
    "ThrottleConfig",
    "add_arguments",
    "main",
    "run",
)
