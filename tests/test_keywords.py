"""A misspelt option is named with what was meant, at every entry point."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import waiters
from tests.scripted import ScriptedClient, status_response
from waiters import Execution, FailFast, Poller, default_registry
from waiters._execution import WAIT_OPTIONS
from waiters._keywords import keyword_names

JOB = default_registry().get("iot-job-execution")
IDS: dict[str, Any] = {"jobId": "j", "thingName": "t"}


def _client() -> ScriptedClient:
    return ScriptedClient("iot", JOB.method, [status_response(JOB, "SUCCEEDED")])


def _run(call: Callable[[], Any]) -> None:
    """Call it; if it gave an awaitable (an async entry point), await it."""
    result = call()
    if inspect.isawaitable(result):

        async def main() -> None:
            await result

        anyio.run(main)


def _raised(call: Callable[[], Any]) -> str:
    """The message of the TypeError (or InvalidExecution) *call* raises, sync or async."""
    with pytest.raises((TypeError, waiters.InvalidExecution)) as caught:
        _run(call)
    return str(caught.value)


async def _in_poller(**options: Any) -> None:
    async with Poller() as poller:
        await poller.submit([Execution(JOB, IDS, _client())], **options)


def _one(name: str) -> dict[str, Any]:
    return {name: 1}


# Each entry point, and how to call it with one extra keyword.
ENTRY_POINTS: dict[str, tuple[frozenset[str], Callable[[str], Callable[[], Any]]]] = {
    "Poller": (keyword_names(Poller), lambda k: lambda: Poller(**_one(k))),
    "Poller.submit": (
        keyword_names(Poller.submit),
        lambda k: lambda: anyio.run(lambda: _in_poller(**_one(k))),
    ),
    "wait_all": (
        keyword_names(waiters.wait_all) | keyword_names(Poller),
        lambda k: lambda: waiters.wait_all([], **_one(k)),
    ),
    "wait_all_sync": (
        keyword_names(waiters.wait_all) | keyword_names(Poller),
        lambda k: lambda: waiters.wait_all_sync([], **_one(k)),
    ),
    "wait_for": (
        frozenset(WAIT_OPTIONS),
        lambda k: lambda: waiters.wait_for(_client(), JOB.method, **IDS, **_one(k)),
    ),
}


def _misspell(data: st.DataObject, name: str) -> str:
    """One deleted, doubled or swapped letter."""
    i = data.draw(st.integers(0, len(name) - 2))
    how = data.draw(st.sampled_from(["drop", "double", "swap"]))
    if how == "drop":
        return name[:i] + name[i + 1 :]
    if how == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_near_miss_of_any_option_names_an_option(data: st.DataObject) -> None:
    """For every entry point and any of its options misspelt by one letter, the error
    says "did you mean" and names one of the entry point's own options."""
    entry = data.draw(st.sampled_from(sorted(ENTRY_POINTS)))
    known, call = ENTRY_POINTS[entry]
    name = data.draw(st.sampled_from(sorted(n for n in known if len(n) >= 6)))
    typo = _misspell(data, name)
    if typo in known:
        return
    message = _raised(call(typo))
    found = re.search(r"did you mean (?:the option |the parameter )?'(\w+)'", message)
    assert found is not None, message
    assert found.group(1) in known | {s.name for s in JOB.identity}, message


@pytest.mark.parametrize(
    ("entry", "typo", "meant"),
    [
        ("Poller", "timout", "timeout"),
        ("Poller", "concurency", "concurrency"),
        ("Poller", "sweep_intervall", "sweep_interval"),
        ("Poller.submit", "fail_fst", "fail_fast"),
        ("Poller.submit", "on_outcom", "on_outcome"),
        ("wait_all", "timout", "timeout"),
        ("wait_for", "timout", "timeout"),
        ("wait_for", "endpoint_uri", "endpoint_url"),
    ],
)
def test_the_reported_misspellings(entry: str, typo: str, meant: str) -> None:
    _, call = ENTRY_POINTS[entry]
    message = _raised(call(typo))
    assert f"'{meant}'" in message and typo in message


def test_wait_fors_options_are_all_known_as_options() -> None:
    """The list of options a parameter is checked against is wait_for's own keyword list."""
    options = {
        name
        for name, p in inspect.signature(waiters.wait_for).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }
    assert set(WAIT_OPTIONS) == options


def test_a_fail_fast_rule_on_a_state_no_type_has_is_refused() -> None:
    """FailFast(states={"FAILD"}) would never trip: refused, naming what was meant."""

    async def main() -> None:
        async with Poller() as poller:
            rule = FailFast(count=1, states=frozenset({"FAILD"}))
            await poller.submit([Execution(JOB, IDS, _client())], fail_fast=rule)

    with pytest.raises(ValueError, match=r"'FAILD' is not a state of iot-job-execution.*'FAILED'"):
        anyio.run(main)
