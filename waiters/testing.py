"""Helpers for testing code that waits: a mock clock plugged into the event loop.

:class:`MockClock` works like ``trio.testing.MockClock``, on asyncio and on
trio: time moves only when the clock is told to (:meth:`MockClock.jump`) or,
with ``autojump`` (the default), straight to the next timer whenever every
task is waiting. A wait of hours finishes in milliseconds, deterministically::

    from waiters.testing import MockClock

    clock = MockClock()
    outcome = clock.run(wait_for, execution, timeout=3600)            # asyncio
    outcome = clock.run(wait_for, execution, timeout=3600, backend="trio")

or, with anyio's pytest plugin::

    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(request):
        return request.param, MockClock().backend_options(request.param)

Everything that reads the loop's clock (``anyio.sleep``, timeouts, the
default :class:`~waiters.LoopClock`) sees mock time. Real I/O still works:
time only jumps when nothing is ready. A blocking call running in a worker
thread does not hold mock time back, so keep those for real-clock tests.

The in-process simulator clients (:meth:`waiters.simulator.Fleet.async_client`)
are the natural partner: give the fleet ``clock=anyio.current_time``.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

import anyio
from botocore.exceptions import ClientError

from . import _machine

__all__ = [
    "Answer",
    "MockClock",
    "ScriptedClient",
    "VirtualTimeLoop",
    "client_error",
    "run_virtual",
    "status_response",
]

_T = TypeVar("_T")


class _JumpingSelector(selectors.BaseSelector):
    """A selector that, when nothing is ready, moves the mock clock instead of waiting.

    asyncio takes a selector as a constructor argument, so mock time plugs
    into the loop through its public interface: the loop asks the selector to
    wait until its next timer, and this one jumps the clock there.
    """

    def __init__(self, clock: MockClock) -> None:
        self._clock = clock
        self._inner = selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None or not self._clock.autojump:
            # Nothing is scheduled (or time moves only by jump()): only real I/O,
            # a thread or another task's jump can wake the loop.
            return self._inner.select(None)
        self._clock.jump(timeout)
        return []

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose time is a :class:`MockClock`'s.

    Its selector jumps the clock to the next timer whenever nothing is ready
    (with ``autojump``), so sleeps cost no real time; real I/O still works.
    :meth:`MockClock.backend_options` makes one per run; make one yourself
    for ``asyncio.Runner(loop_factory=...)`` and the like.

    :param clock: the mock clock it reads and moves (default: a new
        ``MockClock()``, starting at 0 with ``autojump``); the clock is
        also its ``mock_clock`` attribute.
    """

    def __init__(self, clock: MockClock | None = None) -> None:
        self.mock_clock = clock if clock is not None else MockClock()
        super().__init__(_JumpingSelector(self.mock_clock))

    def time(self) -> float:
        # Read on every turn of the loop: the attribute, not the method.
        return self.mock_clock._now


class MockClock:
    """A clock for tests: time moves by :meth:`jump`, or by itself when every task waits.

    :param start: the time at which the clock starts, in seconds, finite and
        at least 0 (default 0).
    :param autojump: jump to the next timer whenever no task can run
        (default ``True``), as ``trio.testing.MockClock(autojump_threshold=0)``.
    :raises ValueError: a negative, infinite or non-numeric *start*.

    One clock serves one event loop run; it also satisfies the
    :class:`~waiters.Clock` protocol, so it can be passed as ``clock=``.
    """

    def __init__(self, start: float = 0.0, *, autojump: bool = True) -> None:
        if (
            isinstance(start, bool)
            or not isinstance(start, int | float)
            or not 0 <= start < math.inf
        ):
            raise ValueError(f"start must be a finite number of seconds >= 0, got {start!r}")
        self._now = float(start)
        self.autojump = autojump
        self._trio: Any = None

    def current_time(self) -> float:
        """The mock time, in seconds."""
        if self._trio is not None:
            return float(self._trio.current_time())
        return self._now

    def now(self) -> float:
        """The mock time, in seconds (the :class:`~waiters.Clock` protocol)."""
        return self.current_time()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the mock time reaches *deadline* (the :class:`~waiters.Clock` protocol).

        :param deadline: an absolute mock time in seconds, as :meth:`now`
            reads it; one already past returns after a checkpoint.
        """
        await anyio.sleep_until(deadline)

    def jump(self, seconds: float) -> None:
        """Move time forward by *seconds* (>= 0); timers that come due fire.

        :param seconds: how far, in seconds (0 moves nothing).
        :raises ValueError: a negative (or NaN) *seconds*.
        """
        if not seconds >= 0:
            raise ValueError(f"time cannot go backwards: jump({seconds!r})")
        if self._trio is not None:
            self._trio.jump(seconds)
        elif seconds > 0:
            # One unit in the last place past the target: far from zero a step can
            # round to nothing, and asyncio fires a timer only once the clock is
            # past it by its resolution, which there rounds to nothing too.
            self._now = math.nextafter(self._now + seconds, math.inf)

    def backend_options(self, backend: str) -> dict[str, Any]:
        """Options for ``anyio.run(..., backend=backend, backend_options=...)``.

        :param backend: ``"asyncio"`` or ``"trio"``.
        :raises ValueError: any other backend.
        """
        if backend == "asyncio":
            return {"loop_factory": lambda: VirtualTimeLoop(self)}
        if backend == "trio":
            import trio.testing

            self._trio = trio.testing.MockClock(autojump_threshold=0 if self.autojump else math.inf)
            self._trio.jump(self._now)
            return {"clock": self._trio}
        raise ValueError(f"backend must be 'asyncio' or 'trio', got {backend!r}")

    def run(
        self,
        func: Callable[..., Awaitable[_T]],
        *args: Any,
        backend: str = "asyncio",
        **kwargs: Any,
    ) -> _T:
        """Run ``func(*args, **kwargs)`` to completion on an event loop with this clock.

        Returns what *func* returns; what it raises propagates.

        :param func: an async function.
        :param args: its positional arguments.
        :param backend: ``"asyncio"`` (default: a :class:`VirtualTimeLoop`) or
            ``"trio"`` (a ``trio.testing.MockClock`` this clock drives).
        :param kwargs: its keyword arguments.
        :raises ValueError: any other backend.
        """

        async def main() -> _T:
            return await func(*args, **kwargs)

        return anyio.run(main, backend=backend, backend_options=self.backend_options(backend))

    def __repr__(self) -> str:
        return f"MockClock(now={self.current_time():.3f}, autojump={self.autojump})"


def run_virtual(
    func: Callable[..., Awaitable[_T]], *args: Any, start: float = 0.0, **kwargs: Any
) -> _T:
    """Run ``func(*args, **kwargs)`` on a fresh asyncio loop with a :class:`MockClock`.

    ``MockClock(start).run(func, *args, **kwargs)``, with ``autojump``.

    :param func: an async function.
    :param args: its positional arguments.
    :param start: the mock time at which the loop starts, in seconds,
        finite and at least 0 (default 0).
    :param kwargs: its keyword arguments (``backend="trio"`` runs it on trio).
    :raises ValueError: a negative, infinite or non-numeric *start*.
    """
    return MockClock(start).run(func, *args, **kwargs)


# --- a scripted client -------------------------------------------------------------------
# Unlike the simulator it knows nothing about lifecycles, so a test can feed
# any sequence (illegal ones included) and check what the waiter makes of it.

Answer = Mapping[str, Any] | BaseException


def status_response(
    machine: _machine.StateMachine, state: str | None, **extra: Any
) -> dict[str, Any]:
    """A describe response with *state* at *machine*'s status path (and *extra* members).

    With a ``ResponseMetadata`` of HTTP status 200, as a client returns it.

    :param machine: the execution type whose response to build (its
        ``status`` path says where the state goes).
    :param state: the state to report (``"IN_PROGRESS"``), or ``None`` for a
        response without one.
    :param extra: top-level members to add as they are; one named like the
        first key of the status path replaces the member holding the state,
        and ``ResponseMetadata`` is always the one described above.
    :raises ValueError: the machine's status path is not a plain dotted path.
    """
    response: dict[str, Any] = {}
    if state is not None:
        if machine.status is None or machine.status.keys is None:
            raise ValueError(f"{machine.name}: no dotted status path to put a state at")
        node = response
        *parents, leaf = machine.status.keys
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = state
    response.update(extra)
    response["ResponseMetadata"] = {"HTTPStatusCode": 200, "HTTPHeaders": {}}
    return response


def client_error(code: str, status: int, operation: str = "Describe") -> ClientError:
    """botocore's ``ClientError`` for error *code* with HTTP *status*, as a client raises it.

    Its message is ``"<code> message"``. It is the plain ``ClientError``, not
    the modeled subclass (``client.exceptions.ThrottlingException``), which
    is how the waiter reads errors anyway: by code and status.

    :param code: the error code (``"ThrottlingException"``).
    :param status: the HTTP status of the answer (``400``).
    :param operation: the operation name the error reports (default
        ``"Describe"``).
    """
    # The stubs require metadata members a client fills in; a scripted error needs only these.
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} message"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class ScriptedClient:
    """A fake client whose *method* answers each call with the next item of *answers*.

    An item is a response (a dict, see :func:`status_response`) or an exception
    to raise (see :func:`client_error`); the last one repeats forever.

    :param service: the botocore service name (``"iot"``).
    :param method: the client method (``"describe_job_execution"``).
    :param answers: the responses and exceptions, in order.
    :param asynchronous: an async method, like aioboto3's (default), or a plain one.
    :param region: the region it reports (default ``"us-east-1"``).
    """

    def __init__(
        self,
        service: str,
        method: str,
        answers: Sequence[Answer],
        *,
        asynchronous: bool = True,
        region: str = "us-east-1",
    ) -> None:
        self.meta = SimpleNamespace(
            service_model=_machine.service_model(service), region_name=region
        )
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        #: The event loop's (possibly virtual) time of each call.
        self.times: list[float] = []
        self._method = method
        self._async = asynchronous

    def _next(self, params: dict[str, Any]) -> Mapping[str, Any]:
        self.calls.append(params)
        try:
            self.times.append(anyio.current_time())
        except RuntimeError:  # a worker thread: no loop to read
            self.times.append(float("nan"))
        index = min(len(self.calls) - 1, len(self.answers) - 1)
        answer = self.answers[index]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def __getattr__(self, name: str) -> Any:
        if name != self._method:
            raise AttributeError(name)
        if self._async:

            async def call_async(**params: Any) -> Mapping[str, Any]:
                return self._next(params)

            return call_async

        def call(**params: Any) -> Mapping[str, Any]:
            return self._next(params)

        return call
