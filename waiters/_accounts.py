"""Which AWS account a client's calls count against.

AWS API quotas are per account and region ("Service Quotas": each quota is
"per account per Region"), so two roles, or a role and a user, of one
account draw on one quota and must share one rate budget. The account is
learned once per credentials and endpoint, and remembered by the budget
registry (``BudgetRegistry.known_accounts``):

1. from the credentials themselves, when botocore knows the account
   (``ReadOnlyCredentials.account_id``: SSO, assumed roles, ``AWS_ACCOUNT_ID``);
2. else from STS ``GetCallerIdentity`` ("Returns details about the IAM user or
   role whose credentials are used to call the operation"; it needs no
   permission: "No permissions are required to perform this operation"),
   called once with the same credentials, region and, for a client pointed
   at a non-AWS endpoint such as a simulator, the same endpoint;
3. else (STS unreachable or refused, or a client without botocore
   credentials) a digest of the access key id: the budget is then shared by
   every client with those credentials, as before an account was known.
   The first such fallback is logged as ``waiters.account_unknown``.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from ._events import Events

__all__ = ["IDENTITY_TIMEOUT", "PENDING_ACCOUNT", "UNKNOWN_ACCOUNT", "Accounts"]

#: The account of calls whose credentials cannot be read (fakes, unsigned clients).
UNKNOWN_ACCOUNT: Final = "default"
#: The account of every client whose account is being learned: they share one
#: budget (per region and operation) until it is known, since two access keys
#: of one account must not each spend the account's whole rate meanwhile.
PENDING_ACCOUNT: Final = "pending"
#: Seconds an identity call may take before the fallback is used: it runs
#: once, before a lane's first call, and must not hold that call up for long.
IDENTITY_TIMEOUT: Final = 5.0
_AWS_HOSTS: Final = (
    ".amazonaws.com",
    ".amazonaws.com.cn",
    ".api.aws",
    ".c2s.ic.gov",
    ".sc2s.sgov.gov",
)


def _digest(access_key: str) -> str:
    # A digest, so budget keys can be shown and logged without the key id.
    return "key-" + hashlib.sha256(access_key.encode()).hexdigest()[:12]


def _custom_endpoint(client: Any) -> str | None:
    """The client's endpoint when it is not AWS's own (a simulator, a test server)."""
    url = getattr(getattr(client, "meta", None), "endpoint_url", None)
    if not isinstance(url, str):
        return None
    host = urlsplit(url).hostname or ""
    return None if host.endswith(_AWS_HOSTS) else url


class Accounts:
    """The account of each client a poller calls through, learned once per client."""

    def __init__(
        self,
        events: Events,
        known: dict[tuple[str, str | None], str],
        lookups: dict[tuple[str, str | None], anyio.Event],
        *,
        timeout: float = IDENTITY_TIMEOUT,
    ) -> None:
        self._events = events
        # Shared with every Accounts on the same budgets: an access key's
        # account never changes, so one answer (and one call) serves them all.
        self._known = known
        self._lookups = lookups
        self._timeout = timeout
        self._by_client: dict[int, str] = {}

    def provisional(self, client: Any) -> tuple[str, bool]:
        """The account to use now, without waiting, and whether it is final.

        Final when this client's account was learned, or its credentials'
        was by anyone on the same budgets. Otherwise :data:`PENDING_ACCOUNT`,
        shared by every client whose account is being learned (it may be one
        account under several keys) while :meth:`of` learns it; should that
        fail, :meth:`fallback` says where the budget goes.
        """
        found = self._by_client.get(id(client))
        if found is not None:
            return found, True
        credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
        if credentials is None:
            return UNKNOWN_ACCOUNT, True
        # Read the stored values, never through the properties: a refreshable
        # credential's refresh is a call (a coroutine, in aiobotocore). Static
        # credentials store access_key, refreshable ones _access_key (None
        # before their first refresh: then the lookup says).
        stored = getattr(credentials, "__dict__", {})
        access_key = stored.get("_access_key") or stored.get("access_key")
        if not isinstance(access_key, str) or not access_key:
            return UNKNOWN_ACCOUNT, False
        account_id = stored.get("_account_id") or stored.get("account_id")
        if isinstance(account_id, str) and account_id:
            return account_id, True
        cached = self._known.get((access_key, _custom_endpoint(client)))
        if cached is not None:
            self._by_client[id(client)] = cached
            return cached, True
        return PENDING_ACCOUNT, False

    def fallback(self, client: Any) -> str:
        """The account to key *client*'s budget by when its account cannot be
        learned: a digest of its access key, so every client with those
        credentials shares one budget (:data:`UNKNOWN_ACCOUNT` without a key)."""
        credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
        stored = getattr(credentials, "__dict__", {})
        access_key = stored.get("_access_key") or stored.get("access_key")
        if not isinstance(access_key, str) or not access_key:
            return UNKNOWN_ACCOUNT
        return _digest(access_key)

    async def of(self, client: Any) -> str:
        """The account *client*'s calls count against (see the module's steps)."""
        found = self._by_client.get(id(client))
        if found is not None:
            return found
        # Concurrent askers share one call: _look_up waits on a lookup under way
        # for the same credentials (on these budgets), whoever started it.
        account = self._by_client[id(client)] = await self._look_up(client)
        return account

    async def _look_up(self, client: Any) -> str:
        signer = getattr(client, "_request_signer", None)
        credentials = getattr(signer, "_credentials", None)
        if credentials is None or not hasattr(credentials, "get_frozen_credentials"):
            return UNKNOWN_ACCOUNT
        frozen = credentials.get_frozen_credentials()
        if inspect.isawaitable(frozen):  # aiobotocore's credentials refresh asynchronously
            frozen = await frozen
        access_key = str(getattr(frozen, "access_key", "") or "")
        if not access_key:
            return UNKNOWN_ACCOUNT
        account_id = getattr(frozen, "account_id", None)
        if isinstance(account_id, str) and account_id:
            return account_id
        endpoint = _custom_endpoint(client)
        key = (access_key, endpoint)
        cached = self._known.get(key)
        if cached is not None:
            return cached
        pending = self._lookups.get(key)
        if pending is not None:
            # Another poller on these budgets is asking already.
            await pending.wait()
            return self._known.get(key) or _digest(access_key)
        done = self._lookups[key] = anyio.Event()
        try:
            region = getattr(getattr(client, "meta", None), "region_name", None)
            try:
                with anyio.fail_after(self._timeout):
                    account = await self._caller_identity(client, frozen, region, endpoint)
            except Exception as exc:  # noqa: BLE001 - any failure means: fall back, and say so
                account = _digest(access_key)
                self._events.log.warning(
                    "waiters.account_unknown",
                    budget_account=account,
                    region=region,
                    error=f"{type(exc).__name__}: {exc}",
                )
            self._known[key] = account
        finally:
            del self._lookups[key]
            done.set()
        return account

    async def _caller_identity(
        self, client: Any, frozen: Any, region: str | None, endpoint: str | None
    ) -> str:
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint,
            "aws_access_key_id": frozen.access_key,
            "aws_secret_access_key": frozen.secret_key,
            "aws_session_token": frozen.token,
            "config": Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=self._timeout,
                read_timeout=self._timeout,
            ),
        }
        import botocore.session

        def call() -> Any:
            sts: Any = botocore.session.get_session().create_client("sts", **kwargs)
            try:
                return sts.get_caller_identity()
            finally:
                sts.close()

        # In a worker thread whatever the client: making a client loads its model,
        # a third of a second of work that would stall the event loop's own calls.
        answer = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        account = answer.get("Account")
        if not isinstance(account, str) or not account:
            raise ValueError(f"GetCallerIdentity answered no Account: {answer!r}")
        return account
