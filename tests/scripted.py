"""A scripted client: answers a describe call from a list of responses and errors.

Unlike the simulator it knows nothing about lifecycles, so tests can feed any
sequence (illegal ones included) and check what the waiter makes of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import anyio
from botocore.exceptions import ClientError

from waiters._machine import StateMachine, service_model

Answer = Mapping[str, Any] | BaseException


def status_response(machine: StateMachine, state: str | None, **extra: Any) -> dict[str, Any]:
    """A describe response with *state* at the machine's status path."""
    response: dict[str, Any] = {}
    if state is not None:
        assert machine.status is not None and machine.status.keys is not None
        node = response
        *parents, leaf = machine.status.keys
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = state
    response.update(extra)
    response["ResponseMetadata"] = {"HTTPStatusCode": 200, "HTTPHeaders": {}}
    return response


def client_error(code: str, status: int, operation: str = "Describe") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} message"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


class ScriptedClient:
    """Answers each call with the next item; the last one repeats forever."""

    def __init__(
        self,
        service: str,
        method: str,
        answers: Sequence[Answer],
        *,
        asynchronous: bool = True,
        region: str = "us-east-1",
    ) -> None:
        self.meta = SimpleNamespace(service_model=service_model(service), region_name=region)
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
