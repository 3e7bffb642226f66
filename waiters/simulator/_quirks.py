"""Quirks: answers that trail what happened, or leave out what the model lists.

:class:`Quirks` turns such behaviours on, one field each, so a waiter can be
tested against every one of them, reproducibly.  The fleet's handlers and
store read the quirks in force; they change answers, never what happens to
an execution (its schedule, the ground truth, stays as drawn).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import check_number

__all__ = ["NO_QUIRKS", "Quirks"]


@dataclass(frozen=True, slots=True)
class Quirks:
    """Behaviours of a service that lags, each off by default.

    Set them with ``Fleet(quirks=Quirks(...))``, or assign ``fleet.quirks``
    at any time; they apply to every request answered from then on, through
    the HTTP server and the in-process clients alike.  Durations are service
    seconds (scaled by ``Fleet(speed=...)`` like every lifecycle duration).

    :param counts_lag: IoT ``DescribeJob`` reports ``jobProcessDetails``
        counts as they were this many service seconds ago: each execution is
        counted in the state it was in at ``now - counts_lag`` (an execution
        created since is not counted). The job's ``status`` and
        ``lastUpdatedAt`` do not lag. A finite number >= 0 (default 0: no
        lag). Nothing in botocore's iot model (``JobProcessDetails``) says
        how fresh the counts are.
    :param counts_frozen: IoT ``DescribeJob`` counts never move: every
        execution the job has at the time of the call is counted in
        ``numberOfQueuedThings`` (the state job executions are created in),
        whatever it has done since, and every other count is 0. A bool
        (default ``False``); not with *counts_lag*.
    :param hint_lag: IoT ``DescribeJobExecution``'s
        ``approximateSecondsBeforeTimedOut`` reaches 0 this many service
        seconds before the execution actually times out, and stays 0 until
        it does ("The actual job execution timeout can occur up to 60 seconds
        later than the estimated duration", botocore's iot model,
        ``JobExecution``). A finite number >= 0 (default 0: the hint is exact).
    :param omit_empty_lists: the five list operations (IoT
        ``ListJobExecutionsForJob`` and ``ListCommandExecutions``, and the
        ``ListExecutions`` of IoT SiteWise, Snow Device Management and
        Transfer) leave the list member out of a page with no items, keeping
        its next token if it has one. SiteWise and Transfer model the member
        as required (botocore's ``ListExecutionsResponse`` of each), so their
        pages then depart from the model. A bool (default ``False``).
    :param sparse_pages: the list operations read ``maxResults`` executions
        per page and apply their filters (status, state, target, action
        type) afterwards, so a page may hold fewer items than asked, or none,
        and still carry a next token; without it a page is filled before
        the token is given. A bool (default ``False``).
    :raises TypeError: a lag that is not a number, or a flag that is not a
        bool, naming the field.
    :raises ValueError: a negative or infinite lag, or *counts_frozen* with
        a *counts_lag*, naming the field and the value.
    """

    counts_lag: float = 0.0
    counts_frozen: bool = False
    hint_lag: float = 0.0
    omit_empty_lists: bool = False
    sparse_pages: bool = False

    def __post_init__(self) -> None:
        for name in ("counts_lag", "hint_lag"):
            object.__setattr__(self, name, check_number("Quirks", name, getattr(self, name)))
        for name in ("counts_frozen", "omit_empty_lists", "sparse_pages"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise TypeError(f"Quirks.{name} must be a bool, got {value!r}")
        if self.counts_frozen and self.counts_lag:
            raise ValueError(
                f"Quirks: counts_frozen and counts_lag={self.counts_lag!r} are exclusive: "
                "frozen counts do not lag, they never move"
            )


#: No quirk in force: the service answers as the model promises.
NO_QUIRKS = Quirks()
