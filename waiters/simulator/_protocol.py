"""What the botocore service models say, compiled once into cheap lookups.

Everything protocol-shaped in the simulator comes from here: the route table
(HTTP method + ``requestUri`` template for rest-json, ``X-Amz-Target`` for
JSON 1.1), where each input member is read from (path, querystring, body), the
status code and wire format of every error, and a converter that turns
epoch-second timestamps into the timezone-aware ``datetime`` objects botocore
would have parsed.  The models are walked at start-up only; the request path
uses the compiled :class:`OperationSpec` and :class:`ServiceRouter` objects.

It also owns what crosses between a transport and the fleet: the
:class:`Reply` to one request, the :class:`ServiceError` the service logic
raises, and :class:`Backend`, all a transport may assume about the fleet.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast
from urllib.parse import unquote

import botocore.session
from botocore import xform_name
from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    ServiceModel,
    Shape,
    StringShape,
    StructureShape,
)
from botocore.utils import get_tzinfo_options

__all__ = [
    "IMPLEMENTED",
    "SERVICES",
    "Backend",
    "ErrorSpec",
    "OperationSpec",
    "Reply",
    "ServiceError",
    "ServiceRouter",
    "error_payload",
    "operation_spec",
    "operation_specs",
    "parse_credential_scope",
    "router",
    "service_model",
]

#: The operations the fleet answers, per service (botocore service names).
IMPLEMENTED: Final[Mapping[str, tuple[str, ...]]] = {
    "iot": (
        "DescribeJobExecution",
        "ListJobExecutionsForJob",
        "DescribeJob",
        "GetCommandExecution",
        "ListCommandExecutions",
    ),
    "iotsitewise": ("DescribeExecution", "ListExecutions"),
    "snow-device-management": ("DescribeExecution", "ListExecutions"),
    "transfer": ("DescribeExecution", "ListExecutions"),
    # Where Transfer workflow executions log how they ended.
    "logs": ("FilterLogEvents",),
}
SERVICES: Final[tuple[str, ...]] = tuple(IMPLEMENTED)

_session_lock = threading.Lock()


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The real botocore :class:`ServiceModel` for *service*, loaded once per process."""
    if service not in IMPLEMENTED:
        raise ValueError(f"service: unknown service {service!r}; expected one of {SERVICES}")
    # botocore sessions are not documented as thread-safe; the simulator thread
    # and the test thread may both get here first.
    with _session_lock:
        return botocore.session.get_session().get_service_model(service)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """A modeled error: its code (the shape name) and HTTP status."""

    code: str
    status: int


def _error_status(shape: Shape) -> int:
    status = shape.metadata.get("error", {}).get("httpStatusCode")
    if isinstance(status, int):
        return status
    # Transfer (JSON 1.1) declares no status codes at all; AWS answers its
    # server-side errors with 500/503 and everything else with 400.
    if "Unavailable" in shape.name:
        return 503
    if shape.name.startswith("Internal"):
        return 500
    return 400


@functools.cache
def _service_errors(service: str) -> Mapping[str, ErrorSpec]:
    model = service_model(service)
    return {
        name: ErrorSpec(name, _error_status(model.shape_for(name)))
        for name in model.shape_names
        if model.shape_for(name).metadata.get("exception")
    }


# The same tzinfo botocore's parse_timestamp uses (tzlocal on POSIX).
_TZLOCAL: Final = get_tzinfo_options()[0]()
_UTC: Final = datetime.UTC
# Where local time is UTC (containers, CI), tzlocal's fromutc is pure
# overhead: building the datetime in UTC and attaching the tzlocal instance
# gives the identical value about ten times faster.
_LOCAL_IS_UTC: Final = time.timezone == 0 and (not time.daylight or time.altzone == 0)
_DATETIMES: dict[float, datetime.datetime] = {}


def _ts_to_datetime(value: Any) -> datetime.datetime:
    """Epoch seconds to what botocore's ``parse_timestamp`` returns for them.

    botocore does ``datetime.fromtimestamp(value, tzlocal())``; the in-process
    clients must return equal values, cheaply.
    """
    if _LOCAL_IS_UTC:
        return datetime.datetime.fromtimestamp(value, _UTC).replace(tzinfo=_TZLOCAL)
    found = _DATETIMES.get(value)
    if found is None:
        if len(_DATETIMES) >= 1 << 18:
            _DATETIMES.clear()  # crude bound; the working set refills it quickly
        found = _DATETIMES[value] = datetime.datetime.fromtimestamp(value, _TZLOCAL)
    return found


_Converter = Callable[[Any], Any]


def _compile_converter(shape: Shape, seen: frozenset[str] = frozenset()) -> _Converter | None:
    """A function turning wire values into botocore's Python values, or None if identity.

    Only timestamps need converting for the shapes the fleet produces (it never
    emits blobs), so subtrees without timestamps compile to None and cost
    nothing at call time.
    """
    kind = shape.type_name
    if kind == "timestamp":
        return _ts_to_datetime
    if shape.name in seen:
        return None
    seen = seen | {shape.name}
    if kind == "structure":
        members = tuple(
            (name, conv)
            for name, member in cast(StructureShape, shape).members.items()
            if (conv := _compile_converter(member, seen)) is not None
        )
        if not members:
            return None

        def convert_structure(value: Any) -> Any:
            for name, conv in members:
                item = value.get(name)
                if item is not None:
                    value[name] = conv(item)
            return value

        return convert_structure
    if kind == "list":
        inner = _compile_converter(cast(ListShape, shape).member, seen)
        if inner is None:
            return None
        list_inner = inner
        return lambda value: [list_inner(item) for item in value]
    if kind == "map":
        inner = _compile_converter(cast(MapShape, shape).value, seen)
        if inner is None:
            return None
        map_inner = inner
        return lambda value: {key: map_inner(item) for key, item in value.items()}
    return None


_PY_TYPES: Final[Mapping[str, type]] = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": bool,
    "structure": dict,
    "list": list,
    "map": dict,
    "double": float,
    "float": float,
}


def _decode_bool(raw: str) -> bool:
    if raw == "true":
        return True
    if raw == "false":
        return False
    raise ValueError(raw)


_QUERY_DECODERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": _decode_bool,
    "double": float,
    "float": float,
}


@dataclass(frozen=True, slots=True)
class InputMember:
    """Where one input member travels on the wire and how to decode it."""

    name: str
    location: str  # "uri", "querystring", "header" or "" for the body
    wire_name: str
    decode: Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation of one service, compiled from the model for the request path."""

    service: str
    name: str
    key: str  # "service:Operation", the name used in stats, throttles and records
    snake_name: str
    protocol: str  # "rest-json" or "json"
    implemented: bool
    method: str
    success_status: int
    input_members: tuple[InputMember, ...]
    has_body: bool
    required: frozenset[str]
    input_types: Mapping[str, tuple[type, int]]  # member -> (python type, min length)
    bounds: Mapping[str, tuple[int | None, int | None]]  # numeric members -> (min, max)
    enums: Mapping[str, frozenset[str]]
    throttle: ErrorSpec
    not_found: ErrorSpec
    invalid: ErrorSpec
    invalid_token: ErrorSpec
    server_errors: tuple[ErrorSpec, ...]
    to_python: _Converter | None
    model: OperationModel

    def error(self, code: str) -> ErrorSpec:
        """The modeled spec for *code* in this service (status 400 if the model lacks it)."""
        spec = _service_errors(self.service).get(code)
        return spec if spec is not None else ErrorSpec(code, 400)


def _pick(errors: Mapping[str, ErrorSpec], *codes: str) -> ErrorSpec:
    for code in codes:
        if code in errors:
            return errors[code]
    return ErrorSpec(codes[-1], 400)


#: The codes a service answers invalid input with, by preference (CloudWatch
#: Logs: InvalidParameterException).
_INVALID: Final = ("ValidationException", "InvalidRequestException", "InvalidParameterException")


def _compile_operation(service: str, op: OperationModel) -> OperationSpec:
    model = service_model(service)
    protocol = str(model.metadata["protocol"])
    errors = _service_errors(service)
    op_errors = {shape.name: errors[shape.name] for shape in op.error_shapes}
    members: list[InputMember] = []
    required: frozenset[str] = frozenset()
    input_types: dict[str, tuple[type, int]] = {}
    bounds: dict[str, tuple[int | None, int | None]] = {}
    enums: dict[str, frozenset[str]] = {}
    has_body = False
    shape = op.input_shape
    if shape is not None:
        required = frozenset(shape.required_members)
        for name, member in shape.members.items():
            location = member.serialization.get("location", "")
            if not location:
                has_body = True
            members.append(
                InputMember(
                    name=name,
                    location=location,
                    wire_name=member.serialization.get("name", name),
                    decode=_QUERY_DECODERS.get(member.type_name, str),
                )
            )
            input_types[name] = (
                _PY_TYPES.get(member.type_name, object),
                int(member.metadata.get("min", 0)) if member.type_name == "string" else 0,
            )
            if member.type_name in ("integer", "long"):
                bounds[name] = (member.metadata.get("min"), member.metadata.get("max"))
            enum = cast(StringShape, member).enum if member.type_name == "string" else None
            if enum:
                enums[name] = frozenset(enum)
    output = op.output_shape
    if output is not None and op.name in IMPLEMENTED[service]:
        for name, member in output.members.items():
            # The fleet writes output members as plain JSON keys; a model that
            # moved one into a header or renamed it on the wire needs code here.
            if (
                member.serialization.get("location")
                or member.serialization.get("name", name) != name
            ):
                raise RuntimeError(f"{service}:{op.name}: output member {name} is not a body key")
    server_errors = tuple(spec for spec in op_errors.values() if spec.status >= 500)
    if not server_errors:
        server_errors = tuple(spec for spec in errors.values() if spec.status >= 500) or (
            ErrorSpec("InternalFailure", 500),
        )
    return OperationSpec(
        service=service,
        name=op.name,
        key=f"{service}:{op.name}",
        snake_name=xform_name(op.name),
        protocol=protocol,
        implemented=op.name in IMPLEMENTED[service],
        method=str(op.http.get("method", "POST")),
        success_status=int(op.http.get("responseCode", 200)),
        input_members=tuple(members),
        has_body=has_body,
        required=required,
        input_types=input_types,
        bounds=bounds,
        enums=enums,
        throttle=_pick(errors, "ThrottlingException"),
        not_found=_pick(op_errors, "ResourceNotFoundException")
        if "ResourceNotFoundException" in op_errors
        else _pick(errors, "ResourceNotFoundException"),
        invalid=_pick(op_errors, *_INVALID)
        if op_errors.keys() & set(_INVALID)
        else _pick(errors, "ValidationException", "InvalidRequestException"),
        # CloudWatch Logs refuses a bad token with InvalidParameterException.
        invalid_token=_pick(
            op_errors,
            "InvalidNextTokenException",
            "InvalidParameterException",
            "ValidationException",
            "InvalidRequestException",
        ),
        server_errors=server_errors,
        to_python=_compile_converter(output) if output is not None else None,
        model=op,
    )


@functools.cache
def operation_specs(service: str) -> Mapping[str, OperationSpec]:
    """Every modeled operation of *service*, compiled; keyed by operation name."""
    model = service_model(service)
    return {
        name: _compile_operation(service, model.operation_model(name))
        for name in model.operation_names
    }


def operation_spec(service: str, operation: str) -> OperationSpec:
    """The compiled spec of one operation; KeyError if the model has no such operation."""
    return operation_specs(service)[operation]


_TEMPLATE_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    static_query: tuple[tuple[str, str], ...]
    spec: OperationSpec
    literal_score: int


def _compile_route(spec: OperationSpec) -> _Route:
    uri = str(spec.model.http.get("requestUri", "/"))
    path, _, query = uri.partition("?")
    names: list[str] = []
    regex = ["^"]
    pos = 0
    for match in _TEMPLATE_PARAM.finditer(path):
        regex.append(re.escape(path[pos : match.start()]))
        name = match.group(1)
        greedy = name.endswith("+")
        names.append(name.rstrip("+"))
        regex.append("(.+)" if greedy else "([^/]+)")
        pos = match.end()
    regex.append(re.escape(path[pos:]))
    regex.append("$")
    static_query = tuple(
        (key, value) for key, _, value in (part.partition("=") for part in query.split("&") if part)
    )
    literal = len(_TEMPLATE_PARAM.sub("", path)) + 10 * len(static_query)
    return _Route(re.compile("".join(regex)), tuple(names), static_query, spec, literal)


class ServiceRouter:
    """Finds the operation a request is for, the way the service front end would."""

    __slots__ = ("_by_prefix", "_by_target", "_wild", "protocol", "service", "target_prefix")

    def __init__(self, service: str) -> None:
        model = service_model(service)
        self.service = service
        self.protocol = str(model.metadata["protocol"])
        self.target_prefix = str(model.metadata.get("targetPrefix", ""))
        specs = operation_specs(service)
        self._by_target = {f"{self.target_prefix}.{name}": spec for name, spec in specs.items()}
        # Routes are bucketed by method and first path segment ("things",
        # "jobs", ...): IoT alone has over a hundred GET templates, and trying
        # them all costs more than the rest of a Describe call.
        by_prefix: dict[tuple[str, str], list[_Route]] = {}
        wild: dict[str, list[_Route]] = {}
        for spec in specs.values():
            route = _compile_route(spec)
            first = (
                str(spec.model.http.get("requestUri", "/"))
                .partition("?")[0]
                .lstrip("/")
                .split("/", 1)[0]
            )
            if "{" in first:
                wild.setdefault(spec.method, []).append(route)
            else:
                by_prefix.setdefault((spec.method, first), []).append(route)

        # A template with more literal text is the more specific route:
        # "/jobs/{jobId}/things" must win over a hypothetical "/jobs/{rest+}".
        def ordered(routes: list[_Route]) -> tuple[_Route, ...]:
            return tuple(sorted(routes, key=lambda route: -route.literal_score))

        self._by_prefix = {key: ordered(routes) for key, routes in by_prefix.items()}
        self._wild = {method: ordered(routes) for method, routes in wild.items()}

    def match_target(self, target: str) -> OperationSpec | None:
        """JSON 1.1: the operation named by ``X-Amz-Target``."""
        return self._by_target.get(target)

    def match_path(
        self, method: str, raw_path: str, query: Mapping[str, str]
    ) -> tuple[OperationSpec, dict[str, str]] | None:
        """rest-json: the operation and decoded path parameters for a request line."""
        first = raw_path[1:].partition("/")[0]
        for routes in (self._by_prefix.get((method, first), ()), self._wild.get(method, ())):
            for route in routes:
                found = route.pattern.match(raw_path)
                if found is None:
                    continue
                if route.static_query and any(query.get(k) != v for k, v in route.static_query):
                    continue
                return route.spec, {
                    name: unquote(value)
                    for name, value in zip(route.names, found.groups(), strict=True)
                }
        return None


@functools.cache
def router(service: str) -> ServiceRouter:
    """The compiled router of *service* (built on first use, then shared)."""
    return ServiceRouter(service)


def parse_credential_scope(authorization: str) -> tuple[str, str] | None:
    """``(region, service)`` from a SigV4 ``Authorization`` header, or None.

    The scope is ``Credential=AKID/date/region/service/aws4_request``.  The
    signature itself is never checked (or logged).
    """
    start = authorization.find("Credential=")
    if start < 0:
        return None
    end = authorization.find(",", start)
    scope = authorization[start + 11 : end if end >= 0 else None].split("/")
    if len(scope) < 5:
        return None
    return scope[2], scope[3]


def error_payload(
    protocol: str, code: str, message: str, extra: Mapping[str, Any] | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of an error in *protocol*'s wire format.

    rest-json carries the code in ``x-amzn-ErrorType`` and the message in
    ``{"message": ...}``; JSON 1.1 carries both in the body as ``__type`` and
    ``Message``; ``"any"`` (for requests whose service is unknown) does both.
    """
    if protocol == "json":
        body: dict[str, Any] = {"__type": code, "Message": message}
        headers = {"Content-Type": "application/x-amz-json-1.1"}
    elif protocol == "any":
        # The service is unknown, so is its protocol: say it both ways, which
        # JSON 1.0/1.1 and rest-json parsers all read.
        body = {"__type": code, "message": message}
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    else:
        body = {"message": message}
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    if extra:
        body.update(extra)
    return json.dumps(body, separators=(",", ":")).encode(), headers


_SUCCESS_TYPES: Final[Mapping[str, str]] = {
    "json": "application/x-amz-json-1.1",
    "rest-json": "application/json",
}


def truncate(payload: bytes) -> bytes:
    """A JSON body cut short, as a broken proxy or a dropped chunk would leave it."""
    return payload[: max(1, len(payload) // 2)]


@dataclass(slots=True)
class Reply:
    """The fleet's answer to one request, before a transport encodes it.

    :meth:`Fleet.handle` and :meth:`Fleet.handle_spec` return one; the HTTP
    server and the in-process clients turn it into bytes or a client result.

    :param status: the HTTP status: the operation's success status, the
        error's status, or 0 for a reset (nothing is sent).
    :param body: the modeled output as JSON-ready data, with timestamps as
        epoch seconds in service time; ``None`` for an error or a reset.
    :param error: the modeled error (its code and status) of an error
        answer, or ``None``.
    :param message: the error's message (empty for a success).
    :param extra: modeled error members sent beside the message, such as
        Transfer's ``Resource`` and ``ResourceType``, or ``RetryAfterSeconds``
        on a JSON 1.1 throttle; ``None`` for none.
    :param fault: ``"reset"`` (send nothing, close the connection) or
        ``"malformed"`` (send ``body`` truncated), otherwise ``None``.
    :param delay: latency to add before answering, in seconds (default 0).
    """

    status: int
    body: dict[str, Any] | None = None
    error: ErrorSpec | None = None
    message: str = ""
    extra: dict[str, Any] | None = None
    fault: str | None = None
    delay: float = 0.0

    def render(self, protocol: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body bytes of this answer in *protocol*'s wire format.

        Called by a transport: the HTTP server for every answer but a reset
        (which it answers by closing the connection), the in-process clients
        for errors and malformed answers, which they parse with botocore.

        :param protocol: the service's botocore protocol, ``"rest-json"`` or
            ``"json"`` (JSON 1.1); ``"any"`` writes an error both ways, for a
            request whose service is unknown.
        :param request_id: the request id to send as ``x-amzn-RequestId``.
        """
        if self.error is not None:
            payload, headers = error_payload(protocol, self.error.code, self.message, self.extra)
        else:
            payload = json.dumps(self.body, separators=(",", ":")).encode()
            headers = {"Content-Type": _SUCCESS_TYPES.get(protocol, "application/json")}
            if self.fault == "malformed":
                payload = truncate(payload)
        headers["x-amzn-RequestId"] = request_id
        return self.status, headers, payload


class ServiceError(Exception):
    """A modeled error the service logic answers with (ResourceNotFoundException, ...).

    ``extra`` holds modeled error members sent beside the message, such as
    Transfer's ``Resource`` and ``ResourceType``.
    """

    def __init__(self, error: ErrorSpec, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.extra = extra

    def reply(self, delay: float = 0.0) -> Reply:
        """This error as the answer to a request."""
        return Reply(
            self.error.status, error=self.error, message=self.message, extra=self.extra, delay=delay
        )


class Backend(Protocol):
    """What a transport needs from whatever answers its requests (a :class:`Fleet`)."""

    @property
    def region(self) -> str:
        """The region requests are attributed to when they name none."""
        ...

    def handle_spec(
        self, spec: OperationSpec, params: Mapping[str, Any], region: str | None
    ) -> Reply:
        """The answer to one request for *spec* with decoded *params*."""
        ...

    def next_request_id(self) -> str:
        """A fresh request id for the next answer."""
        ...


def decode_rest_params(
    spec: OperationSpec,
    path_params: Mapping[str, str],
    query: Mapping[str, str],
    body: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Input parameters of a rest-json request, read from where the model puts them.

    Raises ValueError with an AWS-style message when a value does not decode.
    """
    params: dict[str, Any] = {}
    for member in spec.input_members:
        location = member.location
        if location == "uri":
            raw = path_params.get(member.wire_name)
        elif location == "querystring":
            raw = query.get(member.wire_name)
        elif not location:
            if body is not None and member.wire_name in body:
                params[member.name] = body[member.wire_name]
            continue
        else:
            continue  # headers carry nothing the implemented operations need
        if raw is None:
            continue
        try:
            params[member.name] = member.decode(raw)
        except ValueError:
            raise ValueError(
                f"1 validation error detected: Value '{raw}' at '{member.name}' failed to "
                "satisfy constraint: Member must be of the modeled type"
            ) from None
    return params
