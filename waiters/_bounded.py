"""A blocking botocore client whose calls end at the socket within the call timeout.

A blocking client's call runs in a worker thread, and a wait that stops
waiting for it (the call timeout, the deadline, a cancelled wait) can only
abandon that thread: it goes on until the client itself gives up, after its
read timeout (60 s by default) on each of its attempts (up to 5 in legacy
retry mode, with sleeps between), and the interpreter waits for it before it
exits. So the poller calls a copy of the client that gives up when the poller
does: connect and read timeouts no longer than the call timeout, and one
attempt (a poll is itself a retry; the poller makes the next one).

The copy shares everything else with the original: model, credentials,
signer, and its event hooks, so a ``Stubber``, moto, or handlers the user
registered see its calls as they would the original's. It has a connection
pool of its own (the timeouts belong to the pool), which :func:`close` closes
without touching the original's.
"""

from __future__ import annotations

from typing import Any

from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.httpsession import URLLib3Session
from urllib3 import PoolManager, Timeout

from ._twin import twin

__all__ = ["bounded_client", "close"]


def bounded_client(client: Any, timeout: float) -> Any | None:
    """A copy of the blocking botocore *client* whose calls end within *timeout*.

    Connecting and each wait for the answer take at most *timeout* seconds
    (or the client's own timeouts, if shorter), and a call is one attempt:
    no retry, no sleep between retries. The copy is closed with :func:`close`.

    :param client: a boto3 or botocore client (not an aiobotocore one).
    :param timeout: seconds, greater than 0.
    :returns: the copy, or ``None`` for an object that is not a botocore
        client on botocore's own HTTP session (a fake, a client with a
        custom session), whose calls cannot be bounded this way.
    """
    endpoint = getattr(client, "_endpoint", None)
    session = getattr(endpoint, "http_session", None)
    if (
        not isinstance(client, BaseClient)
        or not isinstance(endpoint, Endpoint)
        or not isinstance(session, URLLib3Session)
    ):
        return None
    own_session = twin(session)
    # URLLib3Session hands its timeout to the pools it creates, not to each
    # request: a pool manager of the copy's own is the one place to set it.
    own_session._timeout = _tighter(getattr(session, "_timeout", None), timeout)
    own_session._proxy_managers = {}
    manager = PoolManager(**own_session._get_pool_manager_kwargs())
    manager.pool_classes_by_scheme = own_session._pool_classes_by_scheme
    own_session._manager = manager
    own_endpoint = twin(endpoint)
    own_endpoint.http_session = own_session
    # Asked of the retry handlers through the shared event hooks, which would
    # also spend the original's retry quota: never asked at all.
    own_endpoint._needs_retry = _no_retry
    bounded = twin(client)
    bounded._endpoint = own_endpoint
    return bounded


def close(bounded: Any) -> None:
    """Close the connections of a copy made by :func:`bounded_client`, not the original's.

    A call still under way in a worker thread ends within the timeout, and
    its connection is then closed rather than put back in the closed pool.
    """
    bounded._endpoint.http_session.close()


def _no_retry(*args: Any, **kwargs: Any) -> bool:
    return False


def _tighter(current: Any, limit: float) -> Timeout:
    """*limit* as connect, read and total timeout, or the client's own where shorter."""
    if isinstance(current, Timeout):
        connect, read = current.connect_timeout, current.read_timeout
    else:
        connect = read = current
    return Timeout(connect=_shorter(connect, limit), read=_shorter(read, limit), total=limit)


def _shorter(value: Any, limit: float) -> float:
    # None (wait forever) and urllib3's default sentinel are no bound at all.
    if isinstance(value, int | float) and 0 < value < limit:
        return float(value)
    return limit
