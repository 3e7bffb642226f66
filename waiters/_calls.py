"""What a call's errors mean, and how an awaitable call is made of any client."""

from __future__ import annotations

import enum
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import anyio.to_thread
import botocore.exceptions as bce
from botocore.parsers import ResponseParserError

from ._bounded import bounded_client
from ._bounded import close as close_bounded
from ._machine import Acceptor, ErrorAction, ErrorRule, StateMachine
from ._timestamps import fast_timestamps
from ._validate import instance, invalid

__all__ = [
    "POLL_RETRY_CONFIG",
    "Caller",
    "Failure",
    "FailureKind",
    "check_endpoint_url",
    "classify",
    "client_config",
    "make_caller",
    "open_client",
]

# botocore's own throttling codes (botocore.retries.standard) and the AWS CLI's.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)
# Who the caller is cannot be established: expired or unknown credentials, a
# bad signature, a clock too far off to sign with. Every call of the client
# fails the same way, whatever it asks for.
IDENTITY_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "AuthFailure",
        "InvalidAccessKeyId",
        "InvalidToken",
        "RequestExpired",
        "RequestTimeTooSkewed",
        "RequestInTheFuture",
    }
)
# The caller is known and not allowed this call. IAM decides per resource (a
# policy may deny only jobs named private-*), so a denial answers for the
# execution it was asked about, not for the others on the same client.
AUTHORIZATION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "NotAuthorized",
        "NotAuthorizedException",
        "Forbidden",
        "ForbiddenException",
    }
)
_TRANSIENT_EXCEPTIONS = (
    bce.ConnectionError,
    bce.HTTPClientError,
    ResponseParserError,
    bce.ReadTimeoutError,
    bce.ConnectTimeoutError,
    ConnectionError,
    TimeoutError,
)
# Where botocore and aiobotocore read an answer's body and parse it against the
# model. They do not wrap what goes wrong there: a 200 body that does not fit
# the model escapes as whatever the parser tripped on (AttributeError for a
# string where a structure belongs, ValueError for "abc" as an integer,
# RecursionError for JSON nested 100,000 deep, UnicodeDecodeError). Such an
# answer is malformed, like a truncated one, whatever the exception.
_READING_MODULES = frozenset(
    {"botocore.parsers", "aiobotocore.parsers", "botocore.response", "aiobotocore.response"}
)
_READING_FUNCTIONS = frozenset({"convert_to_response_dict"})
_UNREACHABLE_EXCEPTIONS = (bce.EndpointConnectionError, bce.ConnectTimeoutError)
# The client cannot make any call: no credentials, no region, no endpoint.
_SETUP_EXCEPTIONS = (
    bce.NoCredentialsError,
    bce.PartialCredentialsError,
    bce.NoRegionError,
    bce.UnknownEndpointError,
    bce.ProfileNotFound,
    bce.TokenRetrievalError,
    bce.SSOError,
)

#: botocore retry settings for clients this package creates. A poll is itself a
#: retry: botocore's own retries would hide throttling from the shared budget,
#: and in standard mode its per-client quota (500 tokens) makes calls fail fast
#: under a throttling storm. One attempt per poll; the poller does the rest.
POLL_RETRY_CONFIG: Mapping[str, Any] = {"total_max_attempts": 1, "mode": "standard"}


class FailureKind(enum.Enum):
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    FATAL = "fatal"
    NOT_FOUND = "not_found"
    TERMINAL = "terminal"
    #: An acceptor says the execution is still on its way (botocore's ``retry``
    #: on an error answer, such as s3 ObjectExists's 404): an answer, not a fault.
    WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed call, classified."""

    kind: FailureKind
    code: str
    message: str
    status: int | None
    rule: ErrorRule | None
    #: About the client, not the execution: its identity was refused (expired
    #: or unknown credentials, a bad signature) or it cannot call at all (no
    #: credentials, region or endpoint). Every call of the client would fail
    #: alike. A denial (AccessDenied) is not: IAM decides per resource.
    about_caller: bool = False
    #: No connection to the endpoint at all (a blip, or a wrong endpoint or region).
    unreachable: bool = False

    @property
    def reason(self) -> str:
        """``Code: message``, as outcomes and errors report it."""
        return f"{self.code}: {self.message}" if self.message else self.code


def classify(exc: BaseException, machine: StateMachine | None) -> Failure | None:
    """What a call's exception means; None for an exception that is not the service's.

    A service error is, in this order: throttling (always: it never ends a
    wait); what the definition's acceptors say of it, the first that matches
    its code or HTTP status, as botocore checks them; an identity error
    (``about_caller``: it ends every wait on the client) or a denial (it ends
    this wait only); what the definition's ``errors`` table says; a 5xx
    (transient); anything else ends the wait.
    """
    if isinstance(exc, bce.ClientError):
        # Read as plain mappings: a hostile or broken server may leave out any
        # member the stubs call required.
        response: Mapping[str, Any] = exc.response
        error: Mapping[str, Any] = response.get("Error") or {}
        code = str(error.get("Code") or "")
        message = str(error.get("Message") or "")
        metadata: Mapping[str, Any] = response.get("ResponseMetadata") or {}
        status = metadata.get("HTTPStatusCode")
        if code in THROTTLING_CODES or status == 429:
            return Failure(FailureKind.THROTTLED, code, message, status, None)
        acceptor = (
            machine.accept_error(code, status)
            if machine is not None and machine.acceptors
            else None
        )
        if acceptor is not None:
            return _accepted(acceptor, code or str(status), message, status)
        if code in IDENTITY_CODES or code in AUTHORIZATION_CODES:
            # Waiting cannot fix either, whatever the definition says of the code.
            return Failure(
                FailureKind.FATAL,
                code,
                message,
                status,
                machine.error_rule(code) if machine is not None else None,
                about_caller=code in IDENTITY_CODES,
            )
        rule = machine.error_rule(code) if machine is not None else None
        if rule is not None:
            kind = {
                ErrorAction.RETRY: FailureKind.TRANSIENT,
                ErrorAction.FAIL_FAST: FailureKind.FATAL,
                ErrorAction.NOT_FOUND: FailureKind.NOT_FOUND,
                ErrorAction.TERMINAL: FailureKind.TERMINAL,
            }[rule.action]
            return Failure(kind, code, message, status, rule)
        if status in (401, 403):
            # A code not known to be about identity: it ends this wait, and the
            # others on the client each learn their own answer.
            return Failure(FailureKind.FATAL, code, message, status, None)
        if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
            return Failure(FailureKind.TRANSIENT, code, message, status, None)
        return Failure(FailureKind.FATAL, code, message, status, None)
    if isinstance(exc, _TRANSIENT_EXCEPTIONS):
        return Failure(
            FailureKind.TRANSIENT,
            type(exc).__name__,
            str(exc),
            None,
            None,
            unreachable=isinstance(exc, _UNREACHABLE_EXCEPTIONS),
        )
    if isinstance(exc, bce.ParamValidationError):
        # The client rejected this execution's parameters, not every call.
        return Failure(FailureKind.FATAL, type(exc).__name__, str(exc), None, None)
    if isinstance(exc, _SETUP_EXCEPTIONS):
        return Failure(
            FailureKind.FATAL, type(exc).__name__, str(exc), None, None, about_caller=True
        )
    if raised_reading_answer(exc):
        return Failure(
            FailureKind.TRANSIENT,
            "MalformedResponse",
            f"the answer does not fit the model ({type(exc).__name__}: {exc})",
            None,
            None,
        )
    return None


def raised_reading_answer(exc: BaseException) -> bool:
    """Whether *exc* was raised while the client read or parsed an answer's body.

    Told by where it was raised, since the parsers raise any exception at all:
    a frame of botocore's or aiobotocore's parsers or response readers.
    """
    trace = exc.__traceback__
    while trace is not None:
        frame = trace.tb_frame
        if (
            frame.f_globals.get("__name__") in _READING_MODULES
            or frame.f_code.co_name in _READING_FUNCTIONS
        ):
            return True
        trace = trace.tb_next
    return False


def _accepted(acceptor: Acceptor, code: str, message: str, status: int | None) -> Failure:
    """An error answer an acceptor matched: the end it names, or (retry) not yet."""
    kind = acceptor.kind
    if not kind.terminal:
        return Failure(FailureKind.WAITING, code, message, status, _ACCEPTED_RETRY)
    # The reason botocore gives (which acceptor matched), then the service's own word.
    detail = f"{acceptor.explanation}: {message}" if message else acceptor.explanation
    return Failure(
        FailureKind.TERMINAL, code, detail, status, ErrorRule(ErrorAction.TERMINAL, kind)
    )


_ACCEPTED_RETRY = ErrorRule(ErrorAction.RETRY)


class Caller(Protocol):
    """An awaitable call of one client method, and the connections it owns."""

    def __call__(self, params: Mapping[str, Any], /) -> Awaitable[Mapping[str, Any]]: ...

    def close(self) -> None:
        """Close what the caller opened for itself (never the client's own connections)."""


def is_async_client(client: Any) -> bool:
    make = getattr(client, "_make_api_call", None)
    return inspect.iscoroutinefunction(make) or inspect.iscoroutinefunction(
        getattr(type(client), "_make_api_call", None)
    )


def check_event_loop(client: Any) -> None:
    """Refuse an aioboto3 (aiobotocore) client or session outside asyncio, before any call.

    Its HTTP client, aiohttp, runs on asyncio only (uvloop included): on trio
    every call would fail as a connection error, retried to the deadline, and
    a session without static credentials fails while it looks for them.

    :param client: a client, or the session clients are opened from.
    :raises InvalidExecution: naming the client and what to use instead.
    """
    trio = sys.modules.get("trio")
    if trio is None or not _aio(client):
        return
    try:
        trio.lowlevel.current_task()
    except RuntimeError:  # not in trio's event loop
        return
    from ._errors import InvalidExecution

    raise InvalidExecution(
        f"{client!r} is of aioboto3, which runs on asyncio only (aiohttp): on trio, use "
        "a boto3 client or session (its calls run in worker threads)"
    )


def _aio(client: Any) -> bool:
    """Whether *client* is an aiobotocore client, or an aioboto3 or aiobotocore session."""
    module = type(client).__module__
    return module.startswith(("aiobotocore.", "aioboto3.")) and (
        hasattr(client, "_make_api_call") or hasattr(client, "client")
    )


def make_caller(
    client: Any,
    method_name: str,
    *,
    timeout: float | None = None,
    limiter: anyio.CapacityLimiter | None = None,
) -> Caller:
    """An awaitable call of *method_name*, whether the client is async or not.

    Blocking boto3 clients run in worker threads, never on the event loop.
    With a *timeout* (seconds, the call timeout), a botocore client's calls
    are made through a copy of it that gives up at the socket within
    *timeout*, in one attempt (see :func:`bounded_client`): a call the wait
    stops waiting for does not leave its thread running for minutes. Close
    the caller to close that copy's connections.

    Calls of botocore and aiobotocore clients go through a copy whose
    answers parse epoch timestamps in C where the local zone allows it
    (:func:`fast_timestamps`); the answers are equal to the client's own.
    """
    if inspect.iscoroutinefunction(getattr(client, method_name)) or is_async_client(client):
        return _AsyncCall(fast_timestamps(client), method_name)
    bounded = None if timeout is None else bounded_client(client, timeout)
    calling = fast_timestamps(client if bounded is None else bounded)
    return _ThreadCall(calling, method_name, bounded, limiter)


class _AsyncCall:
    __slots__ = ("_method",)

    def __init__(self, client: Any, method_name: str) -> None:
        self._method = getattr(client, method_name)

    async def __call__(self, params: Mapping[str, Any], /) -> Mapping[str, Any]:
        # Cancelling the await cancels the request, and aiohttp drops its connection.
        result: Mapping[str, Any] = await self._method(**params)
        return result

    def close(self) -> None:
        pass


class _ThreadCall:
    __slots__ = ("_bounded", "_limiter", "_method")

    def __init__(
        self,
        client: Any,
        method_name: str,
        bounded: Any,
        limiter: anyio.CapacityLimiter | None,
    ) -> None:
        self._method = getattr(client, method_name)
        self._bounded = bounded
        self._limiter = limiter

    async def __call__(self, params: Mapping[str, Any], /) -> Mapping[str, Any]:
        # Abandoned on cancel: a thread cannot be stopped, only bounded (above).
        result: Mapping[str, Any] = await anyio.to_thread.run_sync(
            partial(self._method, **params), abandon_on_cancel=True, limiter=self._limiter
        )
        return result

    def close(self) -> None:
        bounded, self._bounded = self._bounded, None
        if bounded is not None:
            close_bounded(bounded)


def client_config(
    config: Any = None, *, endpoint_url: str | None = None, call_timeout: float | None = None
) -> Any:
    """The botocore ``Config`` of a client this package opens.

    One attempt per call (``POLL_RETRY_CONFIG``) and, with a *call_timeout*
    (seconds), connect and read timeouts of that many seconds: an answer later
    than that is of no use, and the connection waiting for it should not
    outlive the call. All merged under the caller's *config*, whose settings
    win (a ``retries`` given there replaces ours).
    With an explicit *endpoint_url*, endpoint host prefixes are not injected
    unless *config* says so: iotsitewise's ``api.`` prefix would turn
    ``127.0.0.1`` into ``api.127.0.0.1``.

    :raises InvalidOption: *config* is not a ``botocore.config.Config``.
    """
    from botocore.config import Config

    if config is not None:
        instance("client_config", config, Config, "a botocore.config.Config")
    base = Config(retries=cast(Any, dict(POLL_RETRY_CONFIG)))
    if call_timeout is not None:
        base = base.merge(Config(connect_timeout=call_timeout, read_timeout=call_timeout))
    if endpoint_url is not None:
        base = base.merge(Config(inject_host_prefix=False))
    return base if config is None else base.merge(config)


def check_endpoint_url(endpoint_url: Any) -> str | None:
    """*endpoint_url* if it is None or an http(s) URL with a host.

    :raises InvalidOption: not a string, or not an http or https URL with a host.
    """
    if endpoint_url is None:
        return None
    url: str = instance("endpoint_url", endpoint_url, str, "a string")
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018  # raises for a port out of range
    except ValueError:  # a malformed IPv6 literal or port
        usable = False
    if not usable:
        raise invalid(
            "endpoint_url", "an http(s) URL such as 'http://127.0.0.1:4566'", endpoint_url
        )
    return url


@asynccontextmanager
async def open_client(
    session: Any,
    service: str,
    region_name: str | None,
    *,
    endpoint_url: str | None = None,
    config: Any = None,
) -> AsyncIterator[Any]:
    """A client from a boto3 or aioboto3 session, configured by :func:`client_config`."""
    created = session.client(
        service,
        region_name=region_name,
        endpoint_url=endpoint_url,
        config=client_config(config, endpoint_url=endpoint_url),
    )
    if hasattr(created, "__aenter__"):
        async with created as client:
            yield client
    else:
        try:
            yield created
        finally:
            created.close()
