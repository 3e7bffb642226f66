"""Answers parsed through the poller's copy of a client equal the client's own.

The copy (``fast_timestamps``) parses epoch timestamps in C where the local
zone has one offset all year, and leaves everything else to botocore. Each
test compares with botocore's ``parse_timestamp`` itself, in zones given as
POSIX TZ strings so that no zone database is needed.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, cast

import aioboto3
import anyio
import boto3
import botocore.session
import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from waiters import _timestamps
from waiters._calls import make_caller
from waiters._timestamps import fast_timestamps, parse_timestamp
from waiters.simulator import Lifecycle, Simulator

#: UTC; India (one offset, half an hour off); Central Europe (daylight saving
#: time, so botocore's own parser is used); Brazil's 2018 rules in reverse
#: (DST in the southern summer).
ZONES = ("UTC0", "IST-5:30", "CET-1CEST,M3.5.0,M10.5.0/3", "<-03>3<-02>,M11.1.0/0,M2.3.0/0")

#: Epoch seconds from 1900 to 2200, whole and fractional, as JSON answers carry them.
EPOCHS = st.one_of(
    st.integers(min_value=-2_208_988_800, max_value=7_258_118_400),
    st.floats(min_value=-2_208_988_800, max_value=7_258_118_400, allow_nan=False),
)


@contextmanager
def local_zone(tz: str) -> Iterator[None]:
    """The process's local zone is *tz* (``time.tzset``), then its own again."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def zone() -> Iterator[Any]:
    """Sets the local zone for the rest of the test."""
    with ExitStack() as stack:
        yield lambda tz: stack.enter_context(local_zone(tz))


def _same(value: Any) -> None:
    ours, botocores = parse_timestamp(value), botocore_parse_timestamp(cast(Any, value))
    # Not ==: two tzlocal instances make it an inter-zone comparison, which
    # PEP 495 makes unequal for a time the clocks repeat, even for botocore's
    # own two answers.
    assert ours.timestamp() == botocores.timestamp()
    assert ours.replace(tzinfo=None) == botocores.replace(tzinfo=None)
    assert ours.fold == botocores.fold
    assert ours.utcoffset() == botocores.utcoffset()
    assert ours.tzinfo == botocores.tzinfo
    assert repr(ours) == repr(botocores)


@pytest.mark.parametrize("tz", ZONES)
@settings(max_examples=300, deadline=None)
@given(value=EPOCHS)
def test_epochs_parse_as_botocore_parses_them(tz: str, value: float) -> None:
    with local_zone(tz):
        _same(value)


@pytest.mark.parametrize("tz", ZONES)
def test_the_edges_of_each_zone_parse_as_botocore_parses_them(zone: Any, tz: str) -> None:
    zone(tz)
    # 2024's European and Brazilian clock changes, the epoch, a leap day, and
    # sub-microsecond fractions that round.
    for value in (
        1711846799,
        1711846800,
        1729990799,
        1729990800,
        1729994400,
        0,
        -1,
        951782400,
        1700000000.0000005,
        1700000000.9999996,
        1.5,
    ):
        _same(value)


def test_the_zone_is_read_again_when_the_process_changes_it(zone: Any) -> None:
    zone("UTC0")
    _same(1700000000.25)
    zone("IST-5:30")
    _same(1700000000.25)
    assert parse_timestamp(1700000000.25).utcoffset().total_seconds() == 5.5 * 3600


@pytest.mark.parametrize(
    "value", ["2024-03-31T01:00:00Z", "Sun, 31 Mar 2024 01:00:00 GMT", "1700000000.5", True]
)
def test_other_timestamps_go_to_botocore(zone: Any, value: Any) -> None:
    zone("UTC0")
    assert parse_timestamp(value) == botocore_parse_timestamp(value)  # no repeated times here


def test_out_of_range_values_go_to_botocore(zone: Any) -> None:
    zone("UTC0")
    values: list[Any] = [1e20, -1e20, 253402300800]
    for value in values:
        try:
            expected: Any = botocore_parse_timestamp(value)
        except Exception as exc:  # whatever botocore raises, ours raises too
            with pytest.raises(type(exc)):
                parse_timestamp(value)
        else:
            _same(value)
            assert expected is not None


def test_the_copy_leaves_the_users_client_as_it_was() -> None:
    client: Any = boto3.client(
        "iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    factory = client._endpoint._response_parser_factory
    copy = fast_timestamps(client)
    assert copy is not client and copy._endpoint is not client._endpoint
    assert client._endpoint._response_parser_factory is factory
    assert "timestamp_parser" not in factory._defaults
    assert copy.meta is client.meta  # hooks, Stubbers and handlers see its calls
    assert copy._endpoint.http_session is client._endpoint.http_session


def test_a_sessions_own_timestamp_parser_is_kept() -> None:
    # The AWS CLI keeps timestamps as the service sent them this way.
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=lambda value: value
    )
    client = session.create_client(
        "iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    assert fast_timestamps(client) is client


@pytest.mark.parametrize("thing", [object(), None, "iot"])
def test_anything_else_is_called_as_it_is(thing: Any) -> None:
    assert fast_timestamps(thing) is thing


@pytest.mark.parametrize("blocking", [False, True], ids=["aioboto3", "boto3"])
def test_answers_through_the_copy_equal_the_clients_own(
    monkeypatch: pytest.MonkeyPatch, blocking: bool
) -> None:
    """Describes and list pages from the simulator, over loopback, both ways."""
    parsed: list[Any] = []

    def counting(value: Any) -> Any:
        parsed.append(value)
        return parse_timestamp(value)

    monkeypatch.setattr(_timestamps, "parse_timestamp", counting)

    async def main() -> None:
        async with Simulator(seed=3, speed=50) as sim:
            ids = sim.fleet.add(
                "iot-job-execution", 20, lifecycle=Lifecycle(pending=(0, 0), running=(0, 0))
            )
            await anyio.sleep(0.2)
            if blocking:
                client: Any = boto3.client("iot", **sim.client_kwargs())
                await _compare(client, ids)
                client.close()
            else:
                async with aioboto3.Session().client("iot", **sim.client_kwargs()) as client:
                    await _compare(client, ids)

    anyio.run(main)
    assert parsed, "the copy's answers were not parsed by parse_timestamp"


async def _compare(client: Any, ids: list[dict[str, Any]]) -> None:
    describe = make_caller(client, "describe_job_execution", timeout=5.0)
    listing = make_caller(client, "list_job_executions_for_job", timeout=5.0)
    try:
        for one in ids[:5]:
            ours = await describe(one)
            theirs = await _direct(client, "describe_job_execution", one)
            assert _without_metadata(ours) == _without_metadata(theirs)
        page = {"jobId": ids[0]["jobId"], "maxResults": 250}
        assert _without_metadata(await listing(page)) == _without_metadata(
            await _direct(client, "list_job_executions_for_job", page)
        )
    finally:
        describe.close()
        listing.close()


async def _direct(client: Any, method: str, params: dict[str, Any]) -> Any:
    call = getattr(client, method)
    if inspect.iscoroutinefunction(client._make_api_call):
        return await call(**params)
    return await anyio.to_thread.run_sync(lambda: call(**params))


def _without_metadata(answer: Any) -> Any:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}
