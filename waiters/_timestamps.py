"""Timestamps in answers, parsed as botocore parses them at a twentieth of the cost.

botocore turns each epoch timestamp of a JSON answer into a ``datetime`` in
the local zone through ``dateutil.tz.tzlocal``, whose conversion runs in
Python: about 20 us per value. A list page of 250 IoT job execution
summaries carries 750 of them (``queuedAt``, ``startedAt``,
``lastUpdatedAt``), and a sweep that lists a rollout every few seconds spends
most of its CPU there.

Where the local zone keeps one offset all year (UTC, as on most servers and
CI machines), ``tzlocal``'s conversion is the UTC time plus that offset, so
:func:`parse_timestamp` computes exactly that in C and labels it with a
``tzlocal`` as botocore does: equal value, offset, ``fold`` and ``repr``.
Anywhere else (a zone with daylight saving time, a string timestamp, a value
out of range) it hands the value to botocore's own parser.

:func:`fast_timestamps` gives a copy of a client whose answers are parsed
so; the user's client itself is left as it was.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from botocore.endpoint import Endpoint
from botocore.parsers import ResponseParserFactory
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from dateutil.tz import tzlocal

from ._twin import twin

__all__ = ["fast_timestamps", "parse_timestamp"]

_UTC = datetime.UTC


class _Zone:
    """The local zone as ``tzlocal`` reads it, re-read when ``time.tzset`` changes it."""

    __slots__ = ("fixed", "key", "offset", "tz")

    def __init__(self) -> None:
        self.key: tuple[int, int, int] | None = None
        self.fixed = False
        self.offset = datetime.timedelta(0)
        self.tz = tzlocal()

    def current(self) -> _Zone:
        key = (time.timezone, time.altzone, time.daylight)
        if key != self.key:
            # dateutil's own reading (tzlocal.__init__): a DST offset only
            # where time.daylight says the zone has one.
            std = -time.timezone
            dst = -time.altzone if time.daylight else std
            self.tz = tzlocal()
            self.offset = datetime.timedelta(seconds=std)
            self.fixed = dst == std
            self.key = key
        return self


_zone = _Zone()


def parse_timestamp(value: Any) -> Any:
    """*value* as botocore's ``parse_timestamp`` gives it: a ``datetime`` in the local zone.

    :param value: an epoch number (seconds) or a timestamp string, as an
        answer carries it.
    :returns: a timezone-aware ``datetime`` equal to botocore's, with a
        ``dateutil.tz.tzlocal`` zone.
    :raises ValueError: *value* is no timestamp (raised by botocore's parser).
    """
    kind = type(value)
    if kind is float or kind is int:
        zone = _zone.current()
        if zone.fixed:
            try:
                moment = datetime.datetime.fromtimestamp(value, _UTC) + zone.offset
            except (OverflowError, OSError, ValueError):
                pass  # out of datetime's range: botocore's fallbacks decide
            else:
                return moment.replace(tzinfo=zone.tz)
    return botocore_parse_timestamp(value)


def fast_timestamps(client: Any) -> Any:
    """A copy of the botocore or aiobotocore *client* whose answers use :func:`parse_timestamp`.

    The copy shares everything else with *client* (connections, credentials,
    event hooks), so closing *client* closes it too, and it needs no closing
    of its own. *client* itself, unchanged, when it is not a botocore client
    with botocore's response parsers, or when its session already sets a
    timestamp parser of its own (the AWS CLI's, for one): that choice is kept.

    :param client: any object; only botocore and aiobotocore clients are copied.
    """
    endpoint = getattr(client, "_endpoint", None)
    factory = getattr(endpoint, "_response_parser_factory", None)
    defaults = getattr(factory, "_defaults", None)
    if (
        not isinstance(endpoint, Endpoint)
        or not isinstance(factory, ResponseParserFactory)
        or not isinstance(defaults, dict)
        or "timestamp_parser" in defaults
        or not hasattr(client, "_make_api_call")
    ):
        return client
    own_factory = twin(factory)
    own_factory._defaults = {**defaults, "timestamp_parser": parse_timestamp}
    own_endpoint = twin(endpoint)
    own_endpoint._response_parser_factory = own_factory
    copy = twin(client)
    copy._endpoint = own_endpoint
    return copy
