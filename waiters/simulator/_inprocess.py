"""boto3-shaped clients that call a :class:`Fleet` directly, without HTTP.

They take the same keyword parameters and return the same dictionaries as
boto3 and aioboto3 clients (timestamps as timezone-aware ``datetime``, a
``ResponseMetadata``), and fail the same way: ``ParamValidationError`` for bad
parameters, the modeled ``ClientError`` subclasses (``client.exceptions.*``)
for service errors, ``ConnectionClosedError`` for resets.  Error and malformed
responses are rendered to the same bytes the HTTP server would send and run
through botocore's own parser, so their exact shape follows botocore.
Successful calls skip the bytes entirely: that path is the one the core
benchmark drives 100,000 executions through.

The clients need only the :class:`Backend` interface of a fleet, never the
fleet itself, so :meth:`Fleet.client` can build them without an import circle.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, Self, cast

import anyio
import botocore.session
from botocore.config import Config
from botocore.errorfactory import BaseClientExceptions, ClientExceptionsFactory
from botocore.exceptions import ClientError, ConnectionClosedError, ParamValidationError
from botocore.exceptions import ClientError as _ClientError
from botocore.hooks import HierarchicalEmitter
from botocore.model import ServiceModel
from botocore.paginate import Paginator
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

from ._protocol import (
    IMPLEMENTED,
    Backend,
    OperationSpec,
    Reply,
    operation_specs,
    service_model,
)

__all__ = ["AsyncFakeClient", "FakeClient", "FakeClientExceptions", "FakeClientMeta"]

#: What ``client.meta.endpoint_url`` reports for an in-process client.
ENDPOINT_URL: Final = "inprocess://"


class FakeClientMeta:
    """The parts of botocore's ``ClientMeta`` that callers read."""

    __slots__ = (
        "config",
        "endpoint_url",
        "events",
        "method_to_api_mapping",
        "partition",
        "service_model",
    )

    def __init__(self, model: ServiceModel, region: str, mapping: Mapping[str, str]) -> None:
        self.service_model = model
        self.endpoint_url = ENDPOINT_URL
        self.config = Config(region_name=region)
        self.events = HierarchicalEmitter()
        self.method_to_api_mapping = dict(mapping)
        self.partition = "aws"

    @property
    def region_name(self) -> str:
        """The region requests are attributed to (throttle buckets are per region)."""
        return str(cast(Any, self.config).region_name)  # set at run time; the stubs omit it


class FakeClientExceptions:
    """``client.exceptions``: the modeled ``ClientError`` subclasses botocore builds.

    The very classes a real client of the same service raises, so
    ``except client.exceptions.ThrottlingException`` works with either.
    """

    __slots__ = ("_inner",)

    ClientError: Final = ClientError

    def __init__(self, inner: BaseClientExceptions) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> type[_ClientError]:
        return cast(type[_ClientError], getattr(self._inner, name))

    def from_code(self, error_code: str) -> type[_ClientError]:
        """The class for *error_code* (``ClientError`` itself if the model has none)."""
        return cast(type[_ClientError], self._inner.from_code(error_code))


@functools.cache
def _exceptions(service: str) -> FakeClientExceptions:
    factory = ClientExceptionsFactory()
    return FakeClientExceptions(factory.create_client_exceptions(service_model(service)))


@functools.cache
def _paginator_configs(service: str) -> Mapping[str, Any]:
    model = botocore.session.get_session().get_paginator_model(service)
    names = cast(Any, model)._paginator_config  # no public listing
    return {name: model.get_paginator(name) for name in names}


_VALIDATOR: Final = ParamValidator()


def _validate(spec: OperationSpec, params: dict[str, Any]) -> None:
    """Refuse what boto3 would refuse before sending, with botocore's own report.

    The common case (known members of the right type) is checked inline;
    anything unusual goes to botocore's validator, which decides and words
    the error exactly as boto3 would.
    """
    types = spec.input_types
    for name, value in params.items():
        expected = types.get(name)
        if (
            expected is None
            or type(value) is not expected[0]
            or (expected[1] and len(cast(str, value)) < expected[1])
        ):
            break
    else:
        if spec.required <= params.keys():
            return
    shape = spec.model.input_shape
    if shape is None:
        return
    report = _VALIDATOR.validate(params, shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())


def _parse_wire(spec: OperationSpec, reply: Reply, request_id: str) -> dict[str, Any]:
    """What botocore makes of the bytes the HTTP server would send for *reply*."""
    status, headers, payload = reply.render(spec.protocol, request_id)
    response = {
        "status_code": status,
        "headers": {key.lower(): value for key, value in headers.items()}
        | {"content-length": str(len(payload))},
        "body": payload,
        "context": {"operation_name": spec.name},
    }
    parser = create_parser(spec.protocol)
    # botocore parses an operation without an output shape as metadata alone.
    parsed: dict[str, Any] = parser.parse(response, cast(Any, spec.model.output_shape))
    if status >= 300:
        # botocore's endpoint does this second pass to expose modeled error
        # members (e.g. Transfer's Resource/ResourceType) at the top level.
        code = parsed.get("Error", {}).get("Code")
        error_shape = spec.model.service_model.shape_for_error_code(code) if code else None
        if error_shape is not None:
            parsed.update(parser.parse(response, error_shape))
    parsed["ResponseMetadata"]["RequestId"] = request_id
    parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return parsed


class _ClientBase:
    """What the sync and async fake clients share: meta, exceptions, dispatch."""

    _backend: Backend
    _region: str | None

    def __init__(self, backend: Backend, service: str, *, region: str | None = None) -> None:
        model = service_model(service)
        specs = operation_specs(service)
        self._backend = backend
        self._region = region
        self._service = service
        self._specs = {spec.snake_name: spec for spec in specs.values()}
        self._closed = False
        self.meta = FakeClientMeta(
            model, region or backend.region, {s.snake_name: s.name for s in specs.values()}
        )
        self.exceptions = _exceptions(service)
        self._content_type = (
            "application/x-amz-json-1.1"
            if model.metadata["protocol"] == "json"
            else "application/json"
        )
        for name in IMPLEMENTED[service]:
            spec = specs[name]
            # Bound once per client so a call is an instance-dict lookup away.
            setattr(self, spec.snake_name, self._make_method(spec))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._service} region={self.meta.region_name}>"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Only reached for names __init__ did not bind: modeled operations the
        # simulator does not implement answer like the HTTP server would.
        specs = self.__dict__.get("_specs", {})
        spec = specs.get(name)
        if spec is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return self._make_method(spec)

    def _make_method(self, spec: OperationSpec) -> Callable[..., Any]:
        raise NotImplementedError

    def _sending(self, spec: OperationSpec) -> Callable[[], None]:
        """Emit botocore's ``before-send`` as a real client does before each request,
        so handlers registered on the client see this one leave now."""
        emit = self.meta.events.emit
        event = f"before-send.{self.meta.service_model.service_id.hyphenize()}.{spec.name}"

        def sending() -> None:
            emit(event, request=None)

        return sending

    def _finish(self, spec: OperationSpec, reply: Reply) -> dict[str, Any]:
        request_id = self._backend.next_request_id()
        if reply.fault == "reset":
            raise ConnectionClosedError(endpoint_url=ENDPOINT_URL)
        if reply.error is not None:
            parsed = _parse_wire(spec, reply, request_id)
            code = parsed.get("Error", {}).get("Code", "")
            raise self.exceptions.from_code(code)(cast(Any, parsed), spec.name)
        if reply.fault == "malformed":
            return _parse_wire(spec, reply, request_id)
        body = reply.body
        assert body is not None
        convert = spec.to_python
        if convert is not None:
            body = convert(body)
        body["ResponseMetadata"] = {
            "RequestId": request_id,
            "HTTPStatusCode": reply.status,
            "HTTPHeaders": {"x-amzn-requestid": request_id, "content-type": self._content_type},
            "RetryAttempts": 0,
        }
        return body

    def can_paginate(self, operation_name: str) -> bool:
        """Whether botocore has a paginator for *operation_name* (snake_case)."""
        spec = self._specs.get(operation_name)
        return spec is not None and spec.name in _paginator_configs(self._service)

    def _paginator_config(self, operation_name: str) -> tuple[OperationSpec, Any]:
        spec = self._specs.get(operation_name)
        if spec is None or spec.name not in _paginator_configs(self._service):
            from botocore.exceptions import OperationNotPageableError

            raise OperationNotPageableError(operation_name=operation_name)
        return spec, _paginator_configs(self._service)[spec.name]


class FakeClient(_ClientBase):
    """A synchronous in-process client for one service of a :class:`Fleet`.

    Get one from :meth:`Fleet.client`.  Latency faults block with
    ``time.sleep``.

    :param backend: what answers the calls: a :class:`Fleet` (anything with
        its ``region``, ``handle_spec`` and ``next_request_id``).
    :param service: the botocore service name, one the simulator serves
        (``"iot"``, ``"iotsitewise"``, ``"snow-device-management"``,
        ``"transfer"``, ``"logs"``).
    :param region: the region its requests are attributed to (throttle
        buckets and request records are per region); default: the fleet's.
    :raises ValueError: a service the simulator does not serve.
    """

    def _make_method(self, spec: OperationSpec) -> Callable[..., dict[str, Any]]:
        region = self._region
        handle = self._backend.handle_spec
        finish = self._finish
        sending = self._sending(spec)

        def call(*args: Any, **params: Any) -> dict[str, Any]:
            if args:
                raise TypeError(f"{spec.snake_name}() only accepts keyword arguments.")
            _validate(spec, params)
            sending()
            reply = handle(spec, params, region)
            if reply.delay > 0:
                time.sleep(reply.delay)
            return finish(spec, reply)

        call.__name__ = spec.snake_name
        return call

    def get_paginator(self, operation_name: str) -> Paginator[Any]:
        """A botocore ``Paginator`` driving this client's method.

        :param operation_name: the operation's client method
            (``"list_job_executions_for_job"``).
        :raises botocore.exceptions.OperationNotPageableError: botocore has
            no paginator for it.
        """
        spec, config = self._paginator_config(operation_name)
        return Paginator(getattr(self, operation_name), config, spec.model)

    def close(self) -> None:
        """Release nothing (there is no connection), like a closed boto3 client."""
        self._closed = True


class AsyncFakeClient(_ClientBase):
    """An asynchronous in-process client for one service of a :class:`Fleet`.

    Get one from :meth:`Fleet.async_client`; use it as ``async with``.  Every
    call passes through at least one ``anyio`` checkpoint, and latency faults
    are ``anyio.sleep`` so a virtual-time event loop makes them free.

    :param backend: what answers the calls: a :class:`Fleet` (anything with
        its ``region``, ``handle_spec`` and ``next_request_id``).
    :param service: the botocore service name, one the simulator serves
        (``"iot"``, ``"iotsitewise"``, ``"snow-device-management"``,
        ``"transfer"``, ``"logs"``).
    :param region: the region its requests are attributed to (throttle
        buckets and request records are per region); default: the fleet's.
    :raises ValueError: a service the simulator does not serve.
    """

    def _make_method(self, spec: OperationSpec) -> Callable[..., Any]:
        region = self._region
        handle = self._backend.handle_spec
        finish = self._finish
        sleep = anyio.sleep
        sending = self._sending(spec)

        async def call(*args: Any, **params: Any) -> dict[str, Any]:
            if args:
                raise TypeError(f"{spec.snake_name}() only accepts keyword arguments.")
            _validate(spec, params)
            sending()
            reply = handle(spec, params, region)
            await sleep(reply.delay if reply.delay > 0 else 0)
            return finish(spec, reply)

        call.__name__ = spec.snake_name
        return call

    def get_paginator(self, operation_name: str) -> Any:
        """An aiobotocore ``AioPaginator`` driving this client's coroutine method.

        :param operation_name: the operation's client method
            (``"list_job_executions_for_job"``).
        :raises botocore.exceptions.OperationNotPageableError: botocore has
            no paginator for it.
        """
        from aiobotocore.paginate import AioPaginator

        spec, config = self._paginator_config(operation_name)
        return AioPaginator(getattr(self, operation_name), config, spec.model)

    async def close(self) -> None:
        """Release nothing (there is no connection), like a closed aioboto3 client."""
        self._closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
