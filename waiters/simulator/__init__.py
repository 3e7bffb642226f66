"""An embedded AWS fleet simulator for testing code that waits on executions.

It plays out seeded lifecycles of IoT job and command executions, IoT
SiteWise, Snow Device Management and Transfer Family executions; throttles
like AWS and fails like a network.  Use it like moto::

    from waiters.simulator import Fleet, Simulator

    async with Simulator(seed=1, speed=60.0) as sim:
        sim.fleet.add_iot_job("job-1", things=100)
        session = aioboto3.Session()
        async with session.client("iot", **sim.client_kwargs()) as iot:
            await iot.describe_job_execution(jobId="job-1", thingName="thing-00001")

or without HTTP at all, ``Fleet().async_client("iot")``.
"""

from ._cli import add_arguments, main, run
from ._fleet import (
    DEFAULT_LIFECYCLES,
    EXECUTION_TYPES,
    GONE,
    ExecutionType,
    Faults,
    Fleet,
    Latency,
    Lifecycle,
    RequestRecord,
    ThrottleConfig,
)
from ._inprocess import AsyncFakeClient, FakeClient
from ._protocol import IMPLEMENTED, Outcome
from ._server import Simulator, SimulatorThread

__all__ = (
    "DEFAULT_LIFECYCLES",
    "EXECUTION_TYPES",
    "GONE",
    "IMPLEMENTED",
    "AsyncFakeClient",
    "ExecutionType",
    "FakeClient",
    "Faults",
    "Fleet",
    "Latency",
    "Lifecycle",
    "Outcome",
    "RequestRecord",
    "Simulator",
    "SimulatorThread",
    "ThrottleConfig",
    "add_arguments",
    "main",
    "run",
)
