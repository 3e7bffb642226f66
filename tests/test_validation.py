"""Every public option is checked where it is given: a wrong type or value fails at once.

For each entry point and each of its options, values of the wrong type
(a bool for a number, a string, a tuple, an arbitrary object) and out of
range (NaN, the infinities, negatives, zero where it must be positive) raise
:class:`InvalidOption` before any call, naming the option and the value.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scripted import ScriptedClient, status_response
from waiters import (
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    FailFast,
    InvalidExecution,
    InvalidOption,
    MachineRegistry,
    Poller,
    PollerOptions,
    WaiterError,
    WaitOptions,
    default_registry,
    execution,
    load_machines,
    wait_all,
    wait_all_sync,
    wait_for,
    wait_for_sync,
)
from waiters._backoff import MIN_DELAY
from waiters._execution import WAIT_OPTIONS as WAIT_FOR_NAMES
from waiters.testing import MockClock

JOB = default_registry().get("iot-job-execution")
IDS: dict[str, Any] = {"jobId": "j", "thingName": "t"}
NAN, INF = math.nan, math.inf

# --- wrong values, by what the option is declared as -------------------------------------

_ODD = st.one_of(
    st.text(max_size=4),
    st.binary(max_size=2),
    st.tuples(st.integers(), st.integers()),
    st.lists(st.integers(), max_size=2),
    st.builds(object),
)
_NOT_NUMBER = st.one_of(_ODD, st.booleans(), st.none())
_NON_FINITE = st.sampled_from([NAN, INF, -INF])
_NEGATIVE = st.one_of(
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
    st.integers(max_value=-1),
    st.builds(timedelta, seconds=st.integers(min_value=-(10**6), max_value=-1)),
)
_ZERO = st.sampled_from([0, 0.0, timedelta(0)])


def duration(*, zero: bool = True, none: bool = False, at_least: float = 0.0) -> Any:
    """Not a duration: not seconds nor a timedelta, or non-finite, or below its bound."""
    bad = [_ODD, st.booleans(), _NON_FINITE, _NEGATIVE]
    if not none:
        bad.append(st.none())
    if not zero:
        bad.append(_ZERO)
    if at_least > 0:
        bad.append(st.floats(min_value=0.0, max_value=at_least, exclude_max=True))
    return st.one_of(*bad)


def integer(minimum: int) -> Any:
    """Not an int of at least *minimum*: floats (even whole ones), bools, anything else."""
    return st.one_of(
        _NOT_NUMBER,
        st.floats(allow_nan=True),
        st.integers(max_value=minimum - 1),
    )


def number(
    *, above: float, below: float | None = None, finite: bool = True, none: bool = False
) -> Any:
    """Not a real number in its range: bools, strings, NaN, out of range."""
    bad = [_ODD, st.booleans(), st.just(NAN), st.floats(max_value=above, allow_nan=False)]
    if not none:
        bad.append(st.none())
    if finite:
        bad.append(st.sampled_from([INF, -INF]))
    if below is not None:
        bad.append(st.floats(min_value=below, allow_nan=False))
    return st.one_of(*bad)


FLAG = st.one_of(_ODD, st.integers(), st.floats(), st.none())
OPTIONAL_FLAG = st.one_of(_ODD, st.integers(), st.floats())
OBJECT = st.one_of(_ODD, st.integers(), st.floats(), st.booleans())

# Each option's wrong values, as the entry points declare it.
WAIT_OPTIONS: dict[str, Any] = {
    "timeout": duration(none=True),
    "backoff": OBJECT,
    "not_found_grace": duration(),
}
POLLER_OPTIONS: dict[str, Any] = {
    **WAIT_OPTIONS,
    "concurrency": integer(1),
    "batch": FLAG,
    "sweep_interval": duration(zero=False, none=True),
    "latency": duration(zero=False, none=True, at_least=0.001),
    "batch_min": integer(0),
    "straggler_limit": integer(0),
    "call_timeout": duration(zero=False),
    "follow_retries": FLAG,
    "failure_reasons": FLAG,
    "keep_responses": FLAG,
    "log_responses": FLAG,
    "log_sensitive": FLAG,
    "region_name": st.one_of(st.integers(), st.floats(), st.booleans(), st.just("")),
    "endpoint_url": st.one_of(OBJECT, st.sampled_from(["", "ftp://x", "localhost:80", "http://"])),
    "session": OBJECT,
    "client_config": OBJECT,
    "budgets": OBJECT,
    "clock": OBJECT,
    "rng": OBJECT,
    "logger": OBJECT,
    "clients": st.one_of(
        st.integers(),
        st.text(max_size=3),
        st.dictionaries(st.integers(), st.none(), min_size=1, max_size=1),
        st.dictionaries(st.just("logs"), OBJECT, min_size=1, max_size=1),
    ),
    "meter_provider": OBJECT,
}
SUBMIT_OPTIONS: dict[str, Any] = {
    **WAIT_OPTIONS,
    "not_found_grace": duration(none=True),
    "fail_fast": OBJECT,
    "on_transition": st.one_of(st.integers(), st.text(max_size=3), st.floats()),
    "on_outcome": st.one_of(st.integers(), st.text(max_size=3), st.floats()),
    "immediate": FLAG,
    "keep_responses": OPTIONAL_FLAG,
    "follow_retries": OPTIONAL_FLAG,
}
WAIT_FOR_OPTIONS: dict[str, Any] = {
    **{k: v for k, v in POLLER_OPTIONS.items() if k in WAIT_FOR_NAMES},
    "raise_on_failure": FLAG,
    "follow_retries": OPTIONAL_FLAG,
    "log_responses": OPTIONAL_FLAG,
    "log_sensitive": OPTIONAL_FLAG,
    "not_found_grace": duration(none=True),
    "backoff": st.one_of(_ODD, st.integers(), st.floats(), st.booleans()),
    "call_timeout": duration(zero=False, none=True),
    "client": OBJECT,
    "poller": OBJECT,
}

# --- the entry points ---------------------------------------------------------------------


def _client() -> ScriptedClient:
    return ScriptedClient("iot", JOB.method, [status_response(JOB, "SUCCEEDED")])


def _run(call: Callable[[], Any]) -> None:
    """Call it; await what it gives if that is awaitable, on a mock clock."""
    result = call()
    if inspect.isawaitable(result):

        async def main() -> None:
            await result

        MockClock().run(main)


async def _submit(client: ScriptedClient, **option: Any) -> None:
    async with Poller() as poller:
        await poller.submit([Execution(JOB, IDS, client)], **option)


async def _poller_wait(client: ScriptedClient, **option: Any) -> None:
    async with Poller() as poller:
        await poller.wait(Execution(JOB, IDS, client), **option)


# name: (each option's wrong values, how to call it with one of them and a client)
ENTRY_POINTS: dict[str, tuple[dict[str, Any], Callable[..., Any]]] = {
    "Backoff": (
        {"min_delay": duration(at_least=MIN_DELAY), "max_delay": duration(at_least=MIN_DELAY)},
        lambda c, **o: Backoff(**o),
    ),
    "WaitOptions": (
        {**WAIT_OPTIONS, "keep_responses": FLAG, "follow_retries": FLAG},
        lambda c, **o: WaitOptions(**o),
    ),
    "PollerOptions": (
        {k: POLLER_OPTIONS[k] for k in PollerOptions.__dataclass_fields__},
        lambda c, **o: PollerOptions(**o),
    ),
    "FailFast": (
        {
            "count": integer(1),
            "fraction": number(above=0.0, below=1.0 + 1e-9, none=True),
            "min_finished": integer(1),
            "kinds": st.one_of(
                st.integers(),
                st.text(max_size=3),
                st.frozensets(st.sampled_from(["FAILED", "faild", 1, None]), min_size=1),
                st.just(frozenset()),
            ),
            "states": st.one_of(
                st.integers(),
                st.text(max_size=3),
                st.frozensets(st.integers(), min_size=1),
                st.just(frozenset()),
            ),
        },
        lambda c, **o: FailFast(**({"count": 1} | o)),
    ),
    "BudgetConfig": (
        {
            "initial_rate": number(above=0.0, finite=False),
            "max_rate": number(above=0.0, finite=False),
            "min_rate": number(above=0.0),
            "decrease": number(above=0.0, below=1.0),
            "growth": number(above=0.0),
            "cooldown": duration(),
        },
        lambda c, **o: BudgetConfig(**o),
    ),
    "BudgetRegistry": (
        {
            "config": OBJECT,
            "operations": st.one_of(
                st.integers(),
                st.lists(st.integers(), min_size=1, max_size=2),
                st.dictionaries(st.just("DescribeJob"), OBJECT, min_size=1),
                st.dictionaries(st.integers(), st.just(BudgetConfig()), min_size=1),
            ),
        },
        lambda c, **o: BudgetRegistry(**o),
    ),
    "Poller": (POLLER_OPTIONS, lambda c, **o: Poller(**o)),
    "Poller.submit": (SUBMIT_OPTIONS, lambda c, **o: _submit(c, **o)),
    "Poller.wait": (
        {**WAIT_OPTIONS, "not_found_grace": duration(none=True), "follow_retries": OPTIONAL_FLAG},
        lambda c, **o: _poller_wait(c, **o),
    ),
    "wait_for": (WAIT_FOR_OPTIONS, lambda c, **o: wait_for(c, JOB.method, **IDS, **o)),
    "wait_for_sync": (
        {k: WAIT_FOR_OPTIONS[k] for k in ("timeout", "backoff", "rng", "budgets", "clients")},
        lambda c, **o: wait_for_sync(c, JOB.method, **IDS, **o),
    ),
    "wait_all": (
        {
            **POLLER_OPTIONS,
            "fail_fast": OBJECT,
            "raise_on_failure": FLAG,
            "executions": st.one_of(st.integers(), st.text(max_size=3), st.builds(object)),
        },
        lambda c, **o: wait_all(**({"executions": [Execution(JOB, IDS, c)]} | o)),
    ),
    "wait_all_sync": (
        {k: POLLER_OPTIONS[k] for k in ("timeout", "concurrency", "backoff", "session")},
        lambda c, **o: wait_all_sync([Execution(JOB, IDS, c)], **o),
    ),
    "execution": (
        {
            "target": st.one_of(st.integers(), st.floats(), st.builds(object), st.none()),
            "operation": st.one_of(st.integers(), st.floats(), st.tuples(st.text())),
        },
        lambda c, **o: execution(o.get("target", c), o.get("operation", JOB.method), **IDS),
    ),
    "Execution": (
        {
            "machine": OBJECT,
            "params": st.one_of(
                st.integers(),
                st.lists(st.integers(), min_size=1),
                st.dictionaries(st.integers(), st.text(), min_size=1),
            ),
            "client": OBJECT,
        },
        lambda c, **o: Execution(**({"machine": JOB, "params": IDS, "client": c} | o)),
    ),
    "load_machines": (
        {
            "paths": st.one_of(st.integers(), st.floats(), st.booleans(), st.builds(object)),
            "registry": OBJECT,
            "replace": FLAG,
        },
        lambda c, **o: load_machines(
            o.pop("paths", Path("/nonexistent")),
            **o,
        ),
    ),
    "MachineRegistry.get": (
        {"name": st.one_of(st.integers(), st.floats(), st.none(), st.builds(object))},
        lambda c, **o: MachineRegistry().get(o["name"]),
    ),
}


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_wrong_option_fails_where_it_is_given(entry_point: str, data: st.DataObject) -> None:
    """Any option of any entry point given a wrong value raises InvalidOption at once,
    naming the option and the value, with no call to the service."""
    options, call = ENTRY_POINTS[entry_point]
    name = data.draw(st.sampled_from(sorted(options)), label="option")
    value = data.draw(options[name], label="value")
    client = _client()
    with pytest.raises(InvalidOption) as caught:
        _run(lambda: call(client, **{name: value}))
    error = caught.value
    assert name in error.option, (error.option, str(error))
    # Named in full, or (a value too long to echo) by its first thousand characters:
    # messages are cut at 2,048.
    assert name in str(error) and repr(error.value)[:1000] in str(error)
    assert isinstance(error, WaiterError) and isinstance(error, TypeError | ValueError)
    assert client.calls == []


# The inputs the issue reported, each of which once failed only later, or not at all.
REPORTED: list[tuple[str, Callable[[ScriptedClient], Any], str]] = [
    ("backoff", lambda c: wait_for(c, JOB.method, **IDS, backoff=(1, 30)), "backoff"),  # type: ignore[arg-type]
    ("backoff", lambda c: wait_for(c, JOB.method, **IDS, backoff=5), "backoff"),  # type: ignore[arg-type]
    ("rng", lambda c: wait_for(c, JOB.method, **IDS, rng=42), "rng"),  # type: ignore[arg-type]
    ("budgets", lambda c: wait_for(c, JOB.method, **IDS, budgets="x"), "budgets"),  # type: ignore[arg-type]
    ("Poller(backoff)", lambda c: Poller(backoff=(1, 2)), "backoff"),  # type: ignore[arg-type]
    ("execution", lambda c: execution(c, 123, **IDS), "operation"),  # type: ignore[arg-type]
    ("FailFast.count", lambda c: FailFast(count=1.5), "count"),  # type: ignore[arg-type]
    ("BudgetConfig.cooldown", lambda c: BudgetConfig(cooldown=NAN), "cooldown"),
    ("BudgetConfig.decrease", lambda c: BudgetConfig(decrease="0.5"), "decrease"),  # type: ignore[arg-type]
    ("submit", lambda c: _submit(c, fail_fast="x"), "fail_fast"),
    ("FailFast.kinds", lambda c: FailFast(count=1, kinds={"FAILED"}), "kinds"),  # type: ignore[arg-type]
    ("Backoff(0, 0)", lambda c: Backoff(0, 0), "min_delay"),
    ("wait_for(logger)", lambda c: wait_for(c, JOB.method, **IDS, logger=5), "logger"),
    ("wait_for(client)", lambda c: wait_for(Execution(JOB, IDS), client=5), "client"),
]


@pytest.mark.parametrize(("label", "call", "option"), REPORTED, ids=[r[0] for r in REPORTED])
def test_the_reported_inputs_fail_where_given(
    label: str, call: Callable[[ScriptedClient], Any], option: str
) -> None:
    """Each reported input raises InvalidOption naming the option, before any call."""
    client = _client()
    with pytest.raises(InvalidOption) as caught:
        _run(lambda: call(client))
    assert option in caught.value.option
    assert client.calls == []


def test_invalid_option_is_the_bad_input_error() -> None:
    """InvalidOption is an InvalidExecution (exit 2 on the command line), and both a
    TypeError and a ValueError, as code written against Python's own checks expects."""
    error = InvalidOption("timeout must be ..., got 'x'", option="timeout", value="x")
    assert isinstance(error, InvalidExecution)
    assert isinstance(error, TypeError) and isinstance(error, ValueError)
    assert (error.option, error.value, error.reason) == ("timeout", "x", str(error))


@settings(max_examples=50, deadline=None)
@given(
    low=st.one_of(
        st.floats(min_value=MIN_DELAY, max_value=5.0),
        st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(seconds=5)),
    ),
    extra=st.floats(min_value=0.0, max_value=5.0),
)
def test_every_backoff_lets_time_pass(low: float | timedelta, extra: float) -> None:
    """Whatever Backoff is accepted, a wait that never ends polls at most once per
    MIN_DELAY, even with no budget at all: time passes and the deadline ends it."""
    seconds = low.total_seconds() if isinstance(low, timedelta) else low
    backoff = Backoff(low, seconds + extra)
    client = ScriptedClient("iot", JOB.method, [status_response(JOB, "IN_PROGRESS")])
    unlimited = BudgetRegistry(BudgetConfig.unlimited())

    async def main() -> Any:
        return await wait_for(
            client,
            JOB.method,
            **IDS,
            backoff=backoff,
            timeout=1.0,
            budgets=unlimited,
            raise_on_failure=False,
        )

    outcome = MockClock().run(main)
    assert outcome.kind == "wait_timeout"
    assert len(client.calls) <= 1.0 / seconds + 2


@settings(max_examples=300, deadline=None)
@given(
    region=st.one_of(
        st.text(min_size=1, max_size=70),
        st.from_regex(r"[a-z]{2}-[a-z]+-[0-9]", fullmatch=True),
        st.sampled_from(
            ["not a region!", "123", "-eu", "eu-", "eu_west_1", "x" * 64, "\n", "eu-west-1\n"]
        ),
    )
)
def test_a_region_botocore_would_refuse_is_refused_when_given(region: str) -> None:
    """A region that is not a DNS host label fails where it is given, naming it, not at
    the first call (a tester's Temporal rollout with region "not a region!" hung:
    every retry failed opening its client). The rule is botocore's own."""
    from botocore.exceptions import InvalidRegionError
    from botocore.utils import validate_region_name

    try:
        validate_region_name(region)
        botocore_refuses = False
    except InvalidRegionError:
        botocore_refuses = True
    # botocore's pattern ends in "$", which also lets a trailing newline through
    # ("eu-west-1\n", "\n"): no region either, so those are refused here too.
    refused = botocore_refuses or region.endswith("\n")
    if refused:
        with pytest.raises(InvalidOption, match="region_name"):
            Poller(region_name=region)
    else:
        Poller(region_name=region)
