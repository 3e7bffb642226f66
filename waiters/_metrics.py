"""Metrics through OpenTelemetry's API, when it is installed (``pip install 'waiters[metrics]'``).

OpenTelemetry's API records nothing until the application configures an SDK
(a ``MeterProvider`` with a reader and an exporter), so a service that does
not collect metrics pays a no-op per event; without the package installed,
nothing is recorded at all. Instruments, on the meter ``waiters``:

``waiters.calls`` (counter, ``{call}``)
    every call made; attributes ``service``, ``operation``, ``region`` and
    ``result``: ``ok``, ``throttled``, ``transient`` (5xx, resets, timeouts,
    malformed answers) or ``refused`` (any other error).
``waiters.throttles`` (counter, ``{call}``)
    the calls the service throttled; ``service``, ``operation``, ``region``.
``waiters.outcomes`` (counter, ``{execution}``)
    outcomes by ``kind``, with ``type`` (the definition), ``service`` and ``region``.
``waiters.budget.rate`` (observable gauge, ``{call}/s``)
    each live rate budget's current rate; ``service``, ``operation``, ``region``.
``waiters.detection_latency`` (histogram, ``s``)
    from the time the service says an execution reached its last state (the
    definition's ``hints.ended_at``, or ``batch.item_ended_at`` for an outcome
    seen in a list), or the start of the wait if that is later, to the
    outcome; ``type``, ``kind``, ``service``, ``region``. Outcomes without such
    a time (Transfer's, vanished ones), or dated more than 5 s ahead of the
    poller's wall clock (a simulator's sped-up clock), are not recorded.
"""

from __future__ import annotations

import datetime
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._attempt import Answer
from ._budget import BudgetKey, BudgetRegistry
from ._calls import FailureKind
from ._outcome import Outcome, OutcomeKind

__all__ = ["Metrics", "metrics_for"]

_RESULTS: Mapping[FailureKind | None, str] = {
    None: "ok",
    FailureKind.THROTTLED: "throttled",
    FailureKind.TRANSIENT: "transient",
}
# Seconds a service's clock may run ahead of ours and still date an ending.
_SKEW = 5.0
# The kinds whose response carries the service's own end of the execution.
_ENDED = frozenset({OutcomeKind.SUCCEEDED, OutcomeKind.FAILED, OutcomeKind.CANCELLED})
# Buckets for seconds of detection latency: a poll's backoff runs from about
# one second to a few minutes, a sweep's interval is seconds.
_LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


def _region(client: Any) -> str:
    return str(getattr(getattr(client, "meta", None), "region_name", None) or "default")


class Metrics:
    """The instruments of one meter provider; see the module for what each measures.

    :param meter_provider: an OpenTelemetry ``MeterProvider``.
    """

    def __init__(self, meter_provider: Any) -> None:
        from opentelemetry.metrics import CallbackOptions, Observation

        self._observation = Observation
        meter = meter_provider.get_meter("waiters")
        self._calls = meter.create_counter(
            "waiters.calls", unit="{call}", description="Calls made, by result."
        )
        self._throttles = meter.create_counter(
            "waiters.throttles", unit="{call}", description="Calls the service throttled."
        )
        self._outcomes = meter.create_counter(
            "waiters.outcomes", unit="{execution}", description="Outcomes, by kind."
        )
        self._latency = meter.create_histogram(
            "waiters.detection_latency",
            unit="s",
            description="From the service's end time of an execution to its outcome.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self._registries: weakref.WeakSet[BudgetRegistry] = weakref.WeakSet()

        def rates(options: CallbackOptions) -> Iterable[Observation]:
            return self._rates()

        meter.create_observable_gauge(
            "waiters.budget.rate",
            callbacks=[rates],
            unit="{call}/s",
            description="Each rate budget's current rate.",
        )

    def watch(self, registry: BudgetRegistry) -> None:
        """Report *registry*'s budgets on ``waiters.budget.rate`` while it lives."""
        self._registries.add(registry)

    def _rates(self) -> list[Any]:
        observations = []
        for registry in list(self._registries):
            for stats in registry.stats():
                _, region, service, operation = stats.key
                observations.append(
                    self._observation(
                        stats.rate,
                        {"service": service, "operation": operation, "region": region},
                    )
                )
        return observations

    def call_recorder(self, key: BudgetKey) -> Callable[[Answer], None]:
        """Where an endpoint reports each call it made (its budget's *key* names it)."""
        _, region, service, operation = key
        base = {"service": service, "operation": operation, "region": region}
        by_result = {
            result: {**base, "result": result} for result in (*_RESULTS.values(), "refused")
        }
        calls, throttles = self._calls, self._throttles

        def record(answer: Answer) -> None:
            failure = answer.failure
            kind = None if failure is None else failure.kind
            result = _RESULTS.get(kind, "refused")
            calls.add(1, by_result[result])
            if kind is FailureKind.THROTTLED:
                throttles.add(1, base)

        return record

    def outcome(self, outcome: Outcome, *, wall: float) -> None:
        """Count *outcome*, and its detection latency when the service dated its end.

        :param wall: seconds since the epoch when it was detected, as the
            poller's clock sees it.
        """
        execution = outcome.execution
        machine = execution.machine
        attributes = {
            "type": machine.name,
            "kind": outcome.kind.value,
            "service": machine.service,
            "region": _region(execution.client),
        }
        self._outcomes.add(1, attributes)
        ended = _ended_at(outcome)
        if ended is None or ended > wall + _SKEW:
            # Undated, or dated by a clock that is not the wall's (a simulator's
            # sped-up or virtual time): no latency to speak of.
            return
        # Counted from the end, or from the start of the wait if it ended
        # before: the poller cannot detect what happened before it looked.
        since = max(ended, wall - outcome.elapsed)
        self._latency.record(max(0.0, wall - since), attributes)


def _ended_at(outcome: Outcome) -> float | None:
    """Seconds since the epoch at which the service says the execution ended."""
    response = outcome.response
    if response is None or outcome.kind not in _ENDED:
        return None
    machine = outcome.execution.machine
    paths = [machine.hints.ended_at]
    if machine.batch is not None:
        paths.append(machine.batch.item_ended_at)
    for path in paths:
        if path is None:
            continue
        value = path.search(response)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


# One set of instruments per meter provider: a second set would register a
# second budget-rate callback and report every budget twice.
_BY_PROVIDER: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()
# The global provider's, made once: before the application sets an SDK the
# global provider is a proxy whose instruments forward to the SDK once set,
# so instruments made from it then or after serve for the whole process.
_GLOBAL: list[Metrics] = []


def metrics_for(meter_provider: Any = None) -> Metrics | None:
    """The instruments of *meter_provider* (default: the global one).

    ``None`` when OpenTelemetry's API is not installed: nothing is recorded.
    """
    try:
        from opentelemetry import metrics
    except ImportError:
        return None
    if meter_provider is None:
        if not _GLOBAL:
            _GLOBAL.append(Metrics(metrics.get_meter_provider()))
        return _GLOBAL[0]
    found = _BY_PROVIDER.get(meter_provider)
    if found is None:
        found = _BY_PROVIDER[meter_provider] = Metrics(meter_provider)
    return found
