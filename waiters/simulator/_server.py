"""The HTTP face of the simulator: real boto3/aioboto3 clients talk to it.

One port serves every service.  A request is routed by the service in its
SigV4 credential scope (``Credential=AKID/date/REGION/SERVICE/aws4_request``),
then by operation exactly as the botocore model defines it: HTTP method and
``requestUri`` template for rest-json, ``X-Amz-Target`` for JSON 1.1.
Signatures are never verified, and the ``Authorization`` header is never
logged.

The server is aiohttp's low-level ``web.Server`` (no router, no middleware):
the request path is a header split, one precompiled regex match, a bisect in
the fleet and a ``json.dumps``.

A JSON control API lives under ``/_simulator/`` for processes that cannot
reach the :class:`Fleet` object, such as the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import web
from botocore.config import Config

from ._catalogue import Lifecycle, Retries
from ._events import EventConfig, ForwardSqs
from ._faults import Faults, Latency, ThrottleConfig
from ._fleet import Fleet
from ._protocol import (
    SERVICES,
    OperationSpec,
    ServiceRouter,
    decode_rest_params,
    error_payload,
    router,
)
from ._quirks import Quirks
from ._sqs import SQS_OPERATIONS, SqsAnswer, SqsError
from ._sts import caller_identity

__all__ = ["Simulator", "SimulatorThread"]

#: HTTP status per refused-credentials code (AWS answers these with 403 or 400).
_AUTH_STATUS: Final = {
    "ExpiredTokenException": 403,
    "UnrecognizedClientException": 403,
    "AccessDeniedException": 403,
    "InvalidSignatureException": 403,
}
#: Dummy credentials: botocore insists on signing, the simulator never checks.
ACCESS_KEY_ID: Final = "AKIASIMULATOR0000000"
SECRET_ACCESS_KEY: Final = "simulator-secret-access-key-not-checked"  # noqa: S105 - a dummy

_JSON: Final = "application/json"
_log = logging.getLogger(__name__)


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, content_type=_JSON)


def _aws_error(
    protocol: str, status: int, code: str, message: str, request_id: str
) -> web.Response:
    payload, headers = error_payload(protocol, code, message)
    headers["x-amzn-RequestId"] = request_id
    return web.Response(body=payload, status=status, headers=headers)


def _reset(request: web.BaseRequest) -> None:
    """Drop the connection without a response.

    An orderly close rather than an RST: every client path then reports the
    same botocore ``ConnectionClosedError`` (urllib3 sees RemoteDisconnected,
    aiohttp ServerDisconnectedError), which is also what the in-process
    clients raise.  An RST would surface from aiobotocore as a misleading
    ``EndpointConnectionError`` ("could not connect").
    """
    transport = request.transport
    if transport is not None:
        transport.close()


class Simulator:
    """The simulator served over HTTP on ``host:port`` (port 0 picks a free one).

    Use it as ``async with Simulator(...) as sim:`` in async code, or
    ``with Simulator(...).in_thread() as sim:`` from sync code.  Either way
    ``sim.endpoint_url`` is the URL to give clients and ``sim.fleet`` the
    :class:`Fleet` behind it; :meth:`client_kwargs` has everything a boto3
    or aioboto3 client needs.

    :param fleet: the fleet to serve; a new ``Fleet(**fleet_kwargs)`` if
        ``None`` (the default).
    :param host: the address to listen on (default ``"127.0.0.1"``).
    :param port: the port to listen on, 0 to 65535; 0 (the default) picks a
        free one, which :attr:`port` and :attr:`endpoint_url` report once
        started.
    :param fleet_kwargs: the keyword arguments of :class:`Fleet` (``seed``,
        ``speed``, ``throttle``, ...), when *fleet* is ``None``.
    :raises TypeError: both a *fleet* and fleet arguments.
    :raises ValueError: a *port* outside [0, 65535].

    A new fleet raises what :class:`Fleet` raises for its arguments.
    """

    def __init__(
        self,
        fleet: Fleet | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **fleet_kwargs: Any,
    ) -> None:
        if fleet is not None and fleet_kwargs:
            raise TypeError(
                f"Simulator: pass a fleet or fleet arguments, not both (got {sorted(fleet_kwargs)})"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"Simulator.port must be an int in [0, 65535], got {port!r}")
        self.fleet = fleet if fleet is not None else Fleet(**fleet_kwargs)
        self.host = host
        self.port = port
        self._runner: web.ServerRunner | None = None
        #: The long polls waiting now: stopping ends them at once, empty, as a
        #: queue being shut down would, rather than each at its own deadline.
        self._polls: set[asyncio.Event] = set()
        self._stopping = False
        self._routers: dict[str, ServiceRouter] = {service: router(service) for service in SERVICES}
        self._url: str | None = None

    def __repr__(self) -> str:
        return f"<Simulator {self._url or 'stopped'} {self.fleet!r}>"

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` once started."""
        if self._url is None:
            raise RuntimeError(
                "the simulator is not running: use 'async with Simulator()' or start()"
            )
        return self._url

    def client_kwargs(self, region: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client(service, **kwargs)`` (and aioboto3).

        ``inject_host_prefix=False`` matters: iotsitewise operations carry the
        endpoint host prefix ``api.``, which would send requests to
        ``api.127.0.0.1``.  ``retries`` defaults to a single attempt
        (``total_max_attempts=1``; botocore's ``max_attempts`` counts *retries*,
        so ``max_attempts=1`` would mean two attempts) so callers see every
        throttle and fault; override it freely.

        The credentials are dummies: the simulator never checks signatures.

        :param region: the region the client signs for, which the simulator
            attributes its requests to (default: the fleet's).
        :raises RuntimeError: the simulator is not running.
        """
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": region or self.fleet.region,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
            "config": Config(
                inject_host_prefix=False, retries={"total_max_attempts": 1, "mode": "standard"}
            ),
        }

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = port
        self._url = f"http://{host}:{port}"
        self.fleet.sqs.base_url = self._url

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        runner, self._runner = self._runner, None
        self._url = None
        self._stopping = True
        for woken in self._polls:
            woken.set()
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            self._stopping = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def events_queue_url(self) -> str:
        """The URL of the queue the fleet's events go to (``Fleet.events_queue_url``).

        :raises RuntimeError: the simulator is not running, or events are off.
        """
        self.endpoint_url  # noqa: B018 - raises when not running
        return self.fleet.events_queue_url

    def in_thread(self) -> SimulatorThread:
        """This simulator served from a background thread: ``with sim.in_thread() as sim:``."""
        return SimulatorThread(self)

    # -- request path ------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.raw_path.startswith("/_simulator/"):
            return await self._control(request)
        request_id = self.fleet.next_request_id()
        try:
            return await self._serve_aws(request, request_id)
        except Exception:  # noqa: BLE001 - the last line of defence, logged below
            # A bug in the simulator must still look like AWS to the client
            # (aiohttp's default is a text/plain 500), and must be visible here.
            _log.exception("simulator failed on %s %s", request.method, request.path)
            return _aws_error("any", 500, "InternalFailure", "The simulator failed", request_id)

    async def _serve_aws(self, request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        raw_path = request.raw_path
        fleet = self.fleet
        authorization = request.headers.get("Authorization", "")
        start = authorization.find("Credential=")
        scope = (
            authorization[start + 11 : authorization.find(",", start)].split("/")
            if start >= 0
            else ()
        )
        if len(scope) < 5:
            return _aws_error(
                "any",
                403,
                "MissingAuthenticationTokenException",
                "Missing SigV4 credential scope",
                request_id,
            )
        refused = fleet.refused_keys.get(scope[0])
        if refused is not None:
            # Credentials the test marked bad: refused before any operation,
            # as IAM does, with the error a real account would answer.
            known = self._routers.get(scope[3])
            return _aws_error(
                known.protocol if known is not None else "rest-json",
                _AUTH_STATUS.get(refused, 403),
                refused,
                f"{refused}: the security token included in the request is not valid",
                request_id,
            )
        if scope[3] == "sqs":
            return await self._serve_sqs(request, request_id, scope[0])
        if scope[3] == "sts":
            status, payload = caller_identity(
                await request.read(), scope[0], fleet.account_of(scope[0]), request_id
            )
            return web.Response(body=payload, status=status, headers={"Content-Type": "text/xml"})
        region = scope[2]
        service_router = self._routers.get(scope[3])
        if service_router is None:
            return _aws_error(
                "any",
                400,
                "UnknownOperationException",
                f"Unknown service {scope[3]!r}",
                request_id,
            )
        protocol = service_router.protocol
        spec: OperationSpec | None
        if protocol == "json":
            spec = service_router.match_target(request.headers.get("X-Amz-Target", ""))
            if spec is None:
                return _aws_error(
                    protocol, 400, "UnknownOperationException", "Unknown X-Amz-Target", request_id
                )
            body = await _read_object(request)
            if body is None:
                return _aws_error(
                    protocol, 400, "SerializationException", _NOT_AN_OBJECT, request_id
                )
            params = body
        else:
            path = raw_path.partition("?")[0]
            query = request.query
            found = service_router.match_path(request.method, path, query)
            if found is None:
                return _aws_error(
                    protocol,
                    404,
                    "UnknownOperationException",
                    f"No {scope[3]} operation at {request.method} {path}",
                    request_id,
                )
            spec, path_params = found
            body = None
            if spec.has_body and request.body_exists:
                body = await _read_object(request)
                if body is None:
                    return _aws_error(
                        protocol, 400, "SerializationException", _NOT_AN_OBJECT, request_id
                    )
            try:
                params = decode_rest_params(spec, path_params, query, body)
            except ValueError as exc:
                return _aws_error(
                    protocol, spec.invalid.status, spec.invalid.code, str(exc), request_id
                )
        reply = fleet.handle_spec(spec, params, region, scope[0])
        if reply.delay > 0:
            await asyncio.sleep(reply.delay)
        if reply.fault == "reset":
            _reset(request)
            # Nothing can be sent; aiohttp notices the closed transport and
            # drops the (empty) response quietly.
            return web.Response(status=500)
        status, headers, payload = reply.render(protocol, request_id)
        return web.Response(body=payload, status=status, headers=headers)

    async def _serve_sqs(
        self, request: web.BaseRequest, request_id: str, access_key: str
    ) -> web.StreamResponse:
        """SQS over JSON 1.0; a ReceiveMessage that waits sleeps until woken or due."""
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        if prefix != "AmazonSQS" or operation not in SQS_OPERATIONS:
            answer = SqsAnswer(
                error=SqsError("UnsupportedOperation", f"Unsupported X-Amz-Target {target!r}")
            )
            return _sqs_response(answer, request_id)
        params = await _read_object(request)
        if params is None:
            answer = SqsAnswer(error=SqsError("InvalidParameterValue", _NOT_AN_OBJECT))
            return _sqs_response(answer, request_id)
        fleet = self.fleet
        answer = fleet.sqs_request(operation, params, access_key)
        poll = answer.poll
        if poll is None:
            return _sqs_response(answer, request_id)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            # Called under the fleet's lock, from whichever thread added a message.
            loop.call_soon_threadsafe(woken.set)

        self._polls.add(woken)
        try:
            while True:
                if self._stopping:
                    return _sqs_response(SqsAnswer(body={}), request_id)
                final, wake_at = fleet.sqs_poll(poll, wake)
                if final is not None:
                    return _sqs_response(final, request_id)
                delay = wake_at - fleet.clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), delay)
                woken.clear()
        finally:
            self._polls.discard(woken)
            fleet.sqs_poll_done(poll, wake)

    # -- control API -------------------------------------------------------------

    async def _control(self, request: web.BaseRequest) -> web.StreamResponse:
        """``/_simulator/*``: inspect and steer the fleet from another process."""
        path = request.path
        method = request.method
        fleet = self.fleet
        try:
            if method == "GET" and path == "/_simulator/health":
                return _json_response(
                    {"ok": True, "service_time": fleet.now(), "executions": len(fleet)}
                )
            if method == "GET" and path == "/_simulator/stats":
                return _json_response(fleet.stats())
            if method == "GET" and path == "/_simulator/truth":
                wanted = request.query.get("type")
                return _json_response(
                    {
                        "executions": [
                            {"type": kind, "ids": ids, "truth": truth}
                            for kind, ids, truth in fleet.executions()
                            if wanted is None or kind == wanted
                        ]
                    }
                )
            if method == "GET" and path == "/_simulator/requests":
                return _json_response({"requests": [list(record) for record in fleet.requests]})
            if method == "POST" and path == "/_simulator/executions":
                spec = await _json_object(request)
                return _json_response({"executions": _add_from_json(fleet, spec)})
            if method == "POST" and path == "/_simulator/faults":
                spec = await _json_object(request)
                _configure_from_json(fleet, spec)
                return _json_response(
                    {
                        "faults": repr(fleet.faults),
                        "throttle": repr(fleet.throttle),
                        "quirks": repr(fleet.quirks),
                    }
                )
            if path == "/_simulator/events" and method in ("GET", "POST"):
                if method == "POST":
                    fleet.events = _events_from_json(await _json_object(request))
                return _json_response(_events_state(fleet, request.query.get("log") == "1"))
            if method == "POST" and path == "/_simulator/reset-stats":
                fleet.reset_stats()
                return _json_response({"ok": True})
        except (ValueError, TypeError, KeyError, RuntimeError) as exc:
            return _json_response({"error": type(exc).__name__, "message": str(exc)}, status=400)
        return _json_response(
            {"error": "NotFound", "message": f"no control route {method} {path}"}, status=404
        )


_NOT_AN_OBJECT: Final = "The request body is not a JSON object"


def _sqs_response(answer: SqsAnswer, request_id: str) -> web.Response:
    status, headers, payload = answer.render(request_id)
    return web.Response(body=payload, status=status, headers=headers)


async def _read_object(request: web.BaseRequest) -> dict[str, Any] | None:
    """The request's JSON object body ({} when empty), or None if it is not one."""
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _json_object(request: web.BaseRequest) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TypeError(f"request body must be a JSON object, got {type(data).__name__}")
    return data


def _lifecycle_from_json(data: Mapping[str, Any]) -> Lifecycle:
    unknown = set(data) - {"pending", "running", "mix", "timeout_s"}
    if unknown:
        raise ValueError(f"lifecycle: unknown fields {sorted(unknown)}")
    kwargs: dict[str, Any] = dict(data)
    for name in ("pending", "running"):
        if name in kwargs and isinstance(kwargs[name], list):
            kwargs[name] = tuple(kwargs[name])
    return Lifecycle(**kwargs)


def _retries_from_json(data: Any) -> Retries | None:
    """``"retries"``: ``{"criteria": {...}, "delay": [min, max], "lifecycle": {...}}``.

    A plain ``{"FAILED": 2}`` is taken as the criteria alone; null as none.
    """
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise TypeError(f"retries must be a JSON object, got {data!r}")
    if "criteria" not in data:
        return Retries(criteria=data)
    unknown = set(data) - {"criteria", "delay", "lifecycle"}
    if unknown:
        raise ValueError(f"retries: unknown fields {sorted(unknown)}")
    kwargs: dict[str, Any] = {"criteria": data["criteria"]}
    if "delay" in data:
        delay = data["delay"]
        kwargs["delay"] = tuple(delay) if isinstance(delay, list) else delay
    if data.get("lifecycle") is not None:
        kwargs["lifecycle"] = _lifecycle_from_json(data["lifecycle"])
    return Retries(**kwargs)


def _add_from_json(fleet: Fleet, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """``POST /_simulator/executions``: the arguments of :meth:`Fleet.add` as JSON.

    ``{"type", "count", "parent", "lifecycle", "schedule", "start_at"}``, or
    ``"members"`` (thing names, targets, device ids) with a ``"parent"``;
    Transfer executions also take ``"logging"`` and ``"log_lag"``, IoT job
    executions ``"retries"`` (see :func:`_retries_from_json`).
    """
    unknown = set(data) - {
        "type",
        "count",
        "parent",
        "lifecycle",
        "schedule",
        "start_at",
        "members",
        "logging",
        "log_lag",
        "retries",
    }
    if unknown:
        raise ValueError(f"executions: unknown fields {sorted(unknown)}")
    lifecycle = data.get("lifecycle")
    schedule = data.get("schedule")
    retries = _retries_from_json(data.get("retries"))
    members = data.get("members")
    if members is not None:
        if data.get("parent") is None:
            raise ValueError("executions: 'members' needs a 'parent'")
        kind = data.get("type")
        kinds = ("iot-command-execution", "iot-job-execution", "snow-execution")
        if kind not in kinds:
            raise ValueError(f"executions: 'members' is only for {list(kinds)}, not {kind!r}")
        if data.keys() & {"logging", "log_lag"}:
            raise ValueError("executions: 'logging' and 'log_lag' are for Transfer executions")
        life = _lifecycle_from_json(lifecycle) if lifecycle else None
        if kind == "iot-job-execution":
            return fleet.add_iot_job(data["parent"], list(members), lifecycle=life, retries=retries)
        if retries is not None:
            raise ValueError(f"executions: 'retries' are for iot-job-execution, not {kind!r}")
        adder = fleet.add_command if kind == "iot-command-execution" else fleet.add_snow_task
        return adder(data["parent"], list(members), lifecycle=life)
    return fleet.add(
        data.get("type", ""),
        data.get("count", 1),
        parent=data.get("parent"),
        lifecycle=_lifecycle_from_json(lifecycle) if lifecycle is not None else None,
        schedule=[(state, offset) for state, offset in schedule] if schedule is not None else None,
        start_at=data.get("start_at"),
        logging=data.get("logging", True),
        log_lag=data.get("log_lag", 0.0),
        retries=retries,
    )


def _configure_from_json(fleet: Fleet, data: Mapping[str, Any]) -> None:
    """``POST /_simulator/faults``: ``{"faults": {...} | null, "throttle": {...} | null}``.

    A key that is absent leaves that setting alone; null switches it off.
    ``"logs_denied"`` (a bool) and ``"denied_log_groups"`` (names) set the
    fleet's attributes of those names; ``"quirks"`` (the fields of
    :class:`Quirks`, or null for none) sets :attr:`Fleet.quirks`.
    """
    unknown = set(data) - {"faults", "throttle", "logs_denied", "denied_log_groups", "quirks"}
    if unknown:
        raise ValueError(f"faults: unknown fields {sorted(unknown)}")
    if "faults" in data:
        raw = data["faults"]
        if raw is None:
            fleet.faults = None
        else:
            kwargs: dict[str, Any] = dict(raw)
            latency = kwargs.get("latency")
            if latency is not None:
                kwargs["latency"] = Latency(**latency)
            fleet.faults = Faults(**kwargs)
    if "throttle" in data:
        raw = data["throttle"]
        if raw is None:
            fleet.throttle = None
        else:
            kwargs = dict(raw)
            per_operation = kwargs.get("per_operation")
            if per_operation is not None:
                kwargs["per_operation"] = {
                    key: tuple(value) for key, value in per_operation.items()
                }
            fleet.throttle = ThrottleConfig(**kwargs)
    if "logs_denied" in data:
        fleet.logs_denied = data["logs_denied"]
    if "denied_log_groups" in data:
        fleet.denied_log_groups = data["denied_log_groups"] or ()
    if "quirks" in data:
        raw = data["quirks"]
        fleet.quirks = Quirks(**raw) if raw is not None else None


def _events_from_json(data: Mapping[str, Any]) -> EventConfig | None:
    """``POST /_simulator/events``: the fields of :class:`EventConfig` as JSON.

    ``{"enabled": false}`` turns events off; ``"forward_to"`` is an object
    with the fields of :class:`ForwardSqs`. Fields left out take their
    defaults (not the values in force).
    """
    kwargs: dict[str, Any] = dict(data)
    if kwargs.pop("enabled", True) is False:
        if kwargs:
            raise ValueError(
                f"events: 'enabled': false takes no other fields, got {sorted(kwargs)}"
            )
        return None
    forward = kwargs.get("forward_to")
    if forward is not None:
        if not isinstance(forward, Mapping):
            raise TypeError(f"events: forward_to must be a JSON object, got {forward!r}")
        kwargs["forward_to"] = ForwardSqs(**forward)
    return EventConfig(**kwargs)


def _events_state(fleet: Fleet, log: bool) -> dict[str, Any]:
    """What ``GET /_simulator/events`` answers: the config, the queue, the counts (and the log)."""
    config = fleet.events
    fleet.pump_events()
    state: dict[str, Any] = {
        "config": None if config is None else repr(config),
        "queue_url": None if config is None or config.forward_to else fleet.events_queue_url,
        "stats": fleet.events_stats(),
    }
    if log:
        state["log"] = [record._asdict() for record in fleet.events_log]
    return state


class SimulatorThread:
    """Serve a :class:`Simulator` from a background thread with its own event loop.

    ``with SimulatorThread(sim) as sim:`` (or ``sim.in_thread()``) returns the
    running simulator; leaving the block stops the server and joins the thread.

    :param simulator: the (not yet started) simulator to serve.
    :param startup_timeout: seconds :meth:`start` waits for the server to
        accept connections (default 10).
    """

    def __init__(self, simulator: Simulator, *, startup_timeout: float = 10.0) -> None:
        self.simulator = simulator
        self.startup_timeout = startup_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def thread(self) -> threading.Thread | None:
        """The serving thread while it runs."""
        return self._thread

    def start(self) -> Simulator:
        """Start the thread and wait until the server accepts connections.

        :raises RuntimeError: already started, or the server failed to start
            (binding the port, say; the cause is chained).
        :raises TimeoutError: the server did not start within *startup_timeout*.
        """
        if self._thread is not None:
            raise RuntimeError("SimulatorThread already started")
        self._ready.clear()
        self._error = None
        thread = threading.Thread(target=self._run, name="waiters-simulator", daemon=True)
        self._thread = thread
        thread.start()
        if not self._ready.wait(self.startup_timeout):
            self.stop()
            raise TimeoutError(f"the simulator did not start within {self.startup_timeout:g} s")
        if self._error is not None:
            thread.join()
            self._thread = None
            raise RuntimeError("the simulator failed to start") from self._error
        return self.simulator

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread; nothing happens if it is not running.

        :param timeout: seconds to wait for the thread to finish (default 10).
        :raises TimeoutError: the thread was still running after *timeout*.
        """
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the simulator thread did not stop within {timeout:g} s")
        self._thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.simulator.start()
        except Exception as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._ready.set()
            return
        try:
            self._ready.set()
            await self._stop.wait()
        finally:
            await self.simulator.stop()
            self._loop = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
