"""Rate budgets shared per (account, region, service, operation).

Every wait in the process that calls the same operation in the same account
and region draws from one budget. It paces calls evenly (no bursts), cuts its
rate multiplicatively when the service throttles, and grows back with a cubic
curve (as CUBIC and botocore's adaptive mode do) up to a ceiling. Unlike
botocore's adaptive mode it is shared by every client, and once the rate is
back at the ceiling it stops limiting below it.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BudgetConfig",
    "BudgetKey",
    "BudgetRegistry",
    "BudgetStats",
    "RateBudget",
    "budget_key",
    "default_budgets",
]

BudgetKey = tuple[str, str, str, str]
# A hair of extra spacing so float rounding, and event loops that fire timers up to
# their clock resolution early, never pack ceiling+1 calls into one second.
_SPACING = 1.0 + 1e-6


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Calls per second for one budget.

    The default starts at 5 calls/s, is never above 50 and never below 0.2:
    AWS control-plane describe and list calls are typically limited to about
    10 per second per account, and a waiter should be a polite neighbour of
    the deployment that started the work.
    """

    initial_rate: float = 5.0
    max_rate: float = 50.0
    min_rate: float = 0.2
    #: Multiplicative decrease on throttling (CUBIC's beta).
    decrease: float = 0.7
    #: Cubic growth constant, calls/s per s**3.
    growth: float = 0.4
    #: Throttles within this many seconds of a cut belong to the same episode.
    cooldown: float = 1.0

    def __post_init__(self) -> None:
        for name in ("initial_rate", "max_rate", "min_rate", "growth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(
                    f"{name} must be a positive number of calls per second, got {value!r}"
                )
        if not self.min_rate <= self.initial_rate <= self.max_rate:
            raise ValueError(
                f"need min_rate <= initial_rate <= max_rate, got {self.min_rate}, "
                f"{self.initial_rate}, {self.max_rate}"
            )
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, got {self.decrease!r}")
        if self.cooldown < 0:
            raise ValueError(f"cooldown must be at least 0 seconds, got {self.cooldown!r}")

    @classmethod
    def unlimited(cls) -> BudgetConfig:
        """No pacing at all (for tests and in-process transports): calls never wait."""
        return cls(initial_rate=math.inf, max_rate=math.inf)


@dataclass(frozen=True, slots=True)
class BudgetStats:
    """A snapshot of one budget."""

    key: BudgetKey
    rate: float
    calls: int
    throttles: int
    cuts: int


class RateBudget:
    """One shared, adaptive pacing budget."""

    __slots__ = (
        "_interval",
        "_k",
        "_lock",
        "_t_cut",
        "_tat",
        "_w_max",
        "calls",
        "config",
        "cuts",
        "key",
        "rate",
        "throttles",
    )

    def __init__(self, key: BudgetKey, config: BudgetConfig, now: float) -> None:
        self.key = key
        self.config = config
        self.rate = config.initial_rate
        self._interval = _SPACING / self.rate
        self._tat = now
        # Probe upward from the initial rate as if it were the last safe one.
        self._w_max = config.initial_rate
        self._t_cut = now
        self._k = 0.0
        self._lock = threading.Lock()
        self.calls = 0
        self.throttles = 0
        self.cuts = 0

    def reserve(self, now: float) -> float:
        """Take the next call slot; returns when the call may be made (>= now)."""
        with self._lock:
            if self.rate < self.config.max_rate:
                self._grow(now)
            slot = self._tat if self._tat > now else now
            self._tat = slot + self._interval
            self.calls += 1
            return slot

    def backlog(self, now: float) -> float:
        """Seconds until the next free slot (0 when a call may go now)."""
        return self._tat - now if self._tat > now else 0.0

    def on_success(self, now: float) -> None:
        if self.rate < self.config.max_rate:
            self._grow(now)

    def _grow(self, now: float) -> None:
        # The cubic curve is a function of time since the last cut, so a budget
        # left quiet after a storm is back up when calls resume.
        config = self.config
        t = now - self._t_cut - self._k
        target = config.growth * t * t * t + self._w_max
        if target > self.rate:
            self.rate = target if target < config.max_rate else config.max_rate
            self._interval = _SPACING / self.rate

    def on_throttle(self, now: float) -> None:
        with self._lock:
            self.throttles += 1
            config = self.config
            if now - self._t_cut < config.cooldown and self.cuts:
                return
            self.cuts += 1
            self._w_max = self.rate
            self.rate = max(config.min_rate, self.rate * config.decrease)
            self._interval = _SPACING / self.rate
            self._t_cut = now
            self._k = (self._w_max * (1.0 - config.decrease) / config.growth) ** (1.0 / 3.0)
            # Calls already reserved at the old pace are pushed behind the new one.
            if self._tat < now + self._interval:
                self._tat = now + self._interval

    def stats(self, now: float | None = None) -> BudgetStats:
        """A snapshot; with *now*, the rate includes the recovery since the last call."""
        if now is not None and self.rate < self.config.max_rate:
            self._grow(now)
        return BudgetStats(self.key, self.rate, self.calls, self.throttles, self.cuts)

    def __repr__(self) -> str:
        return f"<RateBudget {'/'.join(self.key)} rate={self.rate:.2f}/s calls={self.calls}>"


@dataclass(slots=True)
class BudgetRegistry:
    """The budgets of one process (or one test), created on first use."""

    config: BudgetConfig = field(default_factory=BudgetConfig)
    #: Per-operation configuration, by operation name (``DescribeJobExecution``).
    operations: dict[str, BudgetConfig] = field(default_factory=dict)
    _budgets: dict[BudgetKey, RateBudget] = field(default_factory=dict)

    def get(self, key: BudgetKey, now: float) -> RateBudget:
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets.setdefault(
                key, RateBudget(key, self.operations.get(key[3], self.config), now)
            )
        return budget

    def stats(self, now: float | None = None) -> list[BudgetStats]:
        return [budget.stats(now) for budget in self._budgets.values()]


_DEFAULT = BudgetRegistry()


def default_budgets() -> BudgetRegistry:
    """The registry every wait uses unless given another."""
    return _DEFAULT


def budget_key(client: Any, service: str, operation: str) -> BudgetKey:
    """Identify the account (by access key), region, service and operation of a call."""
    account = "default"
    try:
        credentials = client._request_signer._credentials
        access_key = str(getattr(credentials, "_access_key", None) or credentials.access_key)
        # A digest, so budget keys can be shown and logged without the key id.
        account = "key-" + hashlib.sha256(access_key.encode()).hexdigest()[:12]
    except Exception:  # noqa: BLE001 - any client without readable credentials shares "default"
        account = "default"
    region = str(getattr(getattr(client, "meta", None), "region_name", None) or "default")
    return (account, region, service, operation)
