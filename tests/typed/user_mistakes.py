"""Mistakes mypy must catch in a user's script: the public surface is typed, not Any."""

from __future__ import annotations

from waiters import BatchResult, Outcome, OutcomeKind, Poller


def mistakes(outcome: Outcome, result: BatchResult) -> None:
    attempts: str = outcome.attempts  # MISTAKE int, not str
    kind: int = outcome.kind  # MISTAKE an OutcomeKind
    first: OutcomeKind = next(iter(result))  # MISTAKE iterating yields Outcomes
    Poller(concurrency="ten")  # MISTAKE concurrency is an int
    print(attempts, kind, first)
