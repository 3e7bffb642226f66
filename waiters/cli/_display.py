"""What a wait shows: live progress, JSON lines, and the final summary.

Two audiences. On a terminal: a progress block on stderr redrawn a few
times a second by rich's ``Live`` (counts per state for each type, calls,
throttles, the adaptive rate, an estimate once one means something), then a
summary table on stdout laid out by rich to the terminal's width. In a
pipeline (stdout not a terminal, or ``--output json``): one JSON object per
line on stdout, ``start``, then ``transition`` and ``outcome`` events as they
happen, and a final ``summary`` a script can parse.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import anyio
from rich.cells import cell_len
from rich.console import Console as RichConsole
from rich.console import ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from waiters import Batch, BudgetRegistry, Execution, Outcome, OutcomeKind, Progress, Transition

from ._console import Console, is_terminal
from ._errors import OutputError, clip
from ._exit import describe

__all__ = [
    "Heard",
    "Items",
    "Rate",
    "Report",
    "Summary",
    "SummaryView",
    "Tally",
    "TimeLeft",
    "render_progress",
    "render_summary",
]

#: Redraws per second of the live display: fast enough to feel live, cheap enough to ignore.
REFRESH_HZ = 4
#: Executions listed one by one in the text summary before it only counts them.
DETAIL_ROWS = 20
_UNSEEN = "unseen"
_KIND_ORDER = [kind.value for kind in OutcomeKind]
_SEP = " · "
#: The summary's width when it goes to a file or a pipe: as wide as its lines are.
_UNBOUNDED = 10_000
#: Columns the execution and its reason each get, at least, before the detail table
#: gives up one line per execution and stacks each row's cells instead.
_MIN_SHARE = 24
_INDENT = (0, 0, 0, 2)


class Tally:
    """Waiting executions by type and current state; finished ones by type and outcome."""

    def __init__(self, executions: Iterable[Execution]) -> None:
        self.state: dict[Execution, str] = {}
        self.waiting: dict[str, Counter[str]] = {}
        self.finished: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()
        self.order: dict[str, list[str]] = {}
        for execution in executions:
            if execution in self.state:
                continue
            name = execution.type
            self.state[execution] = _UNSEEN
            self.totals[name] += 1
            self.waiting.setdefault(name, Counter())[_UNSEEN] += 1
            self.finished.setdefault(name, Counter())
            # Lifecycle order (pending, running, ...) reads better than alphabetical.
            self.order.setdefault(name, [_UNSEEN, *execution.machine.states])

    def on_transition(self, execution: Execution, transition: Transition) -> None:
        old = self.state.get(execution)
        if old is None:  # already finished, or not ours
            return
        new = echoed(transition.state) or _UNSEEN
        counts = self.waiting[execution.type]
        counts[old] -= 1
        counts[new] += 1
        self.state[execution] = new

    def on_outcome(self, outcome: Outcome) -> None:
        execution = outcome.execution
        old = self.state.pop(execution, None)
        if old is None:
            return
        self.waiting[execution.type][old] -= 1
        self.finished[execution.type][outcome.kind.value] += 1

    def waiting_states(self, name: str) -> list[tuple[str, int]]:
        counts = self.waiting[name]
        known = self.order.get(name, [])
        ordered = [s for s in known if counts.get(s, 0) > 0]
        ordered += sorted(s for s, n in counts.items() if n > 0 and s not in known)
        return [(state, counts[state]) for state in ordered]

    def finished_kinds(self, name: str) -> list[tuple[str, int]]:
        counts = self.finished[name]
        return [(kind, counts[kind]) for kind in _KIND_ORDER if counts.get(kind, 0) > 0]


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _about(value: float) -> str:
    """An estimate, without the tenths of a second it cannot claim."""
    return f"{math.ceil(value)}s" if value < 60 else _seconds(value)


class Items:
    """Short items on a line, joined by `` · ``; wrapped between items, never inside one.

    A count such as ``cancelled 1`` is one item: cut at the terminal's edge it
    would read as something else. *lead* (``rate  ``, ``| ``) starts the first
    line; the lines after it are indented to match.
    """

    def __init__(self, items: Iterable[str], lead: str = "") -> None:
        self.items = list(items)
        self.lead = lead

    def lines(self, width: int) -> list[str]:
        indent = cell_len(self.lead)
        room = max(1, width - indent)
        lines: list[str] = []
        line = ""
        for item in self.items:
            joined = f"{line}{_SEP}{item}" if line else item
            if line and cell_len(joined) > room:
                lines.append(line)
                line = item
            else:
                line = joined
        lines.append(line)
        return [(self.lead if n == 0 else " " * indent) + text for n, text in enumerate(lines)]

    def __rich_console__(self, console: RichConsole, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            # Only an item wider than the whole line (a very narrow terminal) breaks,
            # and then inside the line, not past its edge.
            yield Text(line, overflow="fold")

    def __rich_measure__(self, console: RichConsole, options: ConsoleOptions) -> Measurement:
        indent = cell_len(self.lead)
        widest = max((cell_len(item) for item in self.items), default=0)
        return Measurement(indent + widest, indent + cell_len(_SEP.join(self.items)))


def _pairs(pairs: Sequence[tuple[str, int]]) -> list[str]:
    return [f"{name} {count:,}" for name, count in pairs]


@dataclass(frozen=True)
class Rate:
    """One adaptive budget as the display shows it."""

    operation: str
    rate: float
    cuts: int


# The estimate of the time left is withheld until it means something. The first
# executions to finish are the quick ones (and the ones that were over before the
# wait began), and they arrive in bursts, one per sweep of a list call: a rate
# taken from a handful of them, a second or two in, promised minutes that turned
# into seconds, then grew while a sweep was pending. So it is shown only once
# LEFT_MIN_FRACTION of the executions, and at least LEFT_MIN_FINISHED, have
# finished and LEFT_MIN_ELAPSED seconds have passed; it is the time the waiting
# ones take at the average finishing rate since the start (waiting * elapsed /
# finished), which a single burst or pause moves little; and it is never shown
# climbing: once shown, it counts down, taking a lower estimate when one comes
# and ignoring higher ones; when the countdown runs out with executions still
# waiting it is withheld (the estimate was wrong), and the next is a new start.
LEFT_MIN_FRACTION = 0.1
LEFT_MIN_FINISHED = 5
LEFT_MIN_ELAPSED = 10.0


class TimeLeft:
    """The time-left estimate the live block shows, or None while it would mislead."""

    def __init__(self) -> None:
        #: The value last shown, and the elapsed time it was shown at.
        self._shown: tuple[float, float] | None = None

    def __call__(self, progress: Progress) -> float | None:
        finished, total = progress.finished, progress.total
        if finished >= total:
            return None
        needed = max(LEFT_MIN_FINISHED, math.ceil(total * LEFT_MIN_FRACTION))
        if finished < needed or progress.elapsed < LEFT_MIN_ELAPSED:
            return None
        now = progress.elapsed
        estimate = (total - finished) * now / finished
        if self._shown is not None:
            value, at = self._shown
            countdown = value - (now - at)
            if countdown <= 0:
                self._shown = None
                return None
            estimate = min(estimate, countdown)
        self._shown = (estimate, now)
        return estimate


class _Types:
    """The progress block's line per type: name, total, what is waiting, what finished.

    Columns while the widest of each fits the width; on a narrower terminal
    each type's counts go on lines of their own below its name, rather than
    squeezing the name or a count into a sliver of a column.
    """

    def __init__(self, rows: Sequence[tuple[str, str, list[str], list[str]]]) -> None:
        self.rows = rows

    def __rich_console__(self, console: RichConsole, options: ConsoleOptions) -> RenderResult:
        def widest(texts: Iterable[str]) -> int:
            return max((cell_len(text) for text in texts), default=0)

        done = widest(item for row in self.rows for item in row[3])
        needed = (
            widest(row[0] for row in self.rows)
            + max(6, widest(row[1] for row in self.rows))
            + widest(item for row in self.rows for item in row[2])
            + (done + 2 if done else 0)
            + 3 * 2
        )
        if needed <= options.max_width:
            grid = Table.grid(padding=(0, 1), collapse_padding=False)
            grid.add_column(no_wrap=True)
            grid.add_column(justify="right", no_wrap=True, min_width=6)
            grid.add_column()
            grid.add_column()
            for name, total, waiting, finished in self.rows:
                grid.add_row(
                    name, total, Items(waiting), Items(finished, lead="| ") if finished else ""
                )
            yield grid
            return
        for name, total, waiting, finished in self.rows:
            yield Text(f"{name}  {total}", overflow="fold")
            yield Padding(Items(waiting), _INDENT, expand=False)
            if finished:
                yield Padding(Items(finished, lead="| "), _INDENT, expand=False)


def render_progress(
    tally: Tally, progress: Progress, rates: Sequence[Rate] = (), left: float | None = None
) -> RenderableType:
    """The live block: a headline, a line per type, a line about calls.

    *left* is the estimate to show (see :class:`TimeLeft`), if any.
    """
    headline = [
        f"waiting on {progress.total:,} executions: {progress.waiting:,} to go",
        f"{_seconds(progress.elapsed)} elapsed",
    ]
    if left is not None and progress.finished < progress.total:
        headline.append(f"about {_about(left)} left")
    types = _Types(
        [
            (
                name,
                f"{tally.totals[name]:,}",
                _pairs(tally.waiting_states(name)) or ["-"],
                _pairs(tally.finished_kinds(name)),
            )
            for name in sorted(tally.totals)
        ]
    )
    body: list[RenderableType] = [
        types,
        Items(
            [
                f"calls {progress.calls:,}",
                f"throttled {progress.throttles:,}",
                f"errors {progress.errors:,}",
            ]
        ),
    ]
    if rates:
        body.append(
            Items(
                (
                    f"{r.operation} {r.rate:.1f}/s" + (f" (cut {r.cuts}x)" if r.cuts else "")
                    for r in rates
                ),
                lead="rate  ",
            )
        )
    return Group(Items(headline), Padding(Group(*body), _INDENT, expand=False))


@dataclass(frozen=True, slots=True)
class Heard:
    """What an event queue (``--events-queue``) did over a wait, for the summary."""

    #: The queue's URL.
    queue: str
    #: Messages received (one that came back after its visibility timeout counts again).
    received: int
    #: Of those, the ones with an event about an execution waited on here.
    taken: int
    #: Whether the queue was heard when the wait ended (polling only the safety net).
    healthy: bool
    #: The queue's calls (receives, deletes, releases), and how many failed.
    calls: int
    errors: int

    def record(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "received": self.received,
            "taken": self.taken,
            "healthy": self.healthy,
            "calls": self.calls,
            "errors": self.errors,
        }

    def items(self) -> list[str]:
        return [
            f"{self.received:,} heard",
            f"{self.taken:,} about these executions",
            "queue heard at the end"
            if self.healthy
            else "queue not heard at the end (polling had taken over)",
        ]


@dataclass
class Summary:
    """How a wait ended, whatever ended it."""

    outcomes: Sequence[Outcome]
    total: int
    exit_code: int
    elapsed: float
    calls: int = 0
    throttles: int = 0
    errors: int = 0
    duplicates: int = 0
    #: The signal that stopped the wait ("SIGTERM"), if one did.
    interrupted: str | None = None
    #: Fail-fast stopped the batch.
    aborted: bool = False
    #: A closing remark for people (the demo explains its failures).
    note: str | None = None
    #: What the exit code means, when the standard wording does not fit (the demo).
    meaning: str | None = None
    #: What the event queue did, when there was one.
    events: Heard | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(_KIND_ORDER, 0)
        for outcome in self.outcomes:
            counts[outcome.kind.value] += 1
        return counts

    @property
    def waiting(self) -> list[Outcome]:
        """Executions still waiting when the wait was interrupted."""
        if self.interrupted is None:
            return []
        return [o for o in self.outcomes if o.kind is OutcomeKind.ABANDONED]


def echoed(value: Any) -> Any:
    """A value the service sent (a state, an id, a reason), bounded for echoing.

    A 10 MB status string must not become a 10 MB line, five times over.
    """
    return clip(value) if isinstance(value, str) else value


def _params(execution: Execution) -> dict[str, Any]:
    # Listed executions carry identifiers the service chose.
    return {name: echoed(value) for name, value in execution.params.items()}


def execution_ids(execution: Execution) -> dict[str, Any]:
    return {"type": execution.type, **_params(execution)}


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    return {
        "type": outcome.execution.type,
        "params": _params(outcome.execution),
        "outcome": outcome.kind.value,
        "state": echoed(outcome.state),
        "reason": echoed(outcome.reason),
        "attempts": outcome.attempts,
        "elapsed": round(outcome.elapsed, 3),
    }


def summary_record(summary: Summary) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event": "summary",
        "exit_code": summary.exit_code,
        "result": summary.meaning or describe(summary.exit_code),
        "total": summary.total,
        "counts": summary.counts(),
        "elapsed": round(summary.elapsed, 3),
        "calls": summary.calls,
        "throttles": summary.throttles,
        "errors": summary.errors,
        "duplicates": summary.duplicates,
        "aborted": summary.aborted,
        "interrupted": summary.interrupted,
        "waiting": len(summary.waiting),
    }
    if summary.note:
        record["note"] = summary.note
    if summary.events is not None:
        record["events"] = summary.events.record()
    record.update(summary.extra)
    record["outcomes"] = [outcome_record(o) for o in summary.outcomes]
    return record


def _short(value: Any) -> str:
    text = str(value)
    # An ARN's account and region repeat on every row; its resource part is what differs.
    if text.startswith("arn:") and text.count(":") >= 5:
        return "…:" + text.split(":", 5)[5]
    return text


def _label(execution: Execution) -> str:
    return " ".join(f"{k}={_short(v)}" for k, v in _params(execution).items())


def _round_robin(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Interleave types, so the first rows shown sample every type, not just the largest."""
    by_type: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_type.setdefault(outcome.execution.type, []).append(outcome)
    queues = [by_type[name] for name in sorted(by_type)]
    mixed: list[Outcome] = []
    for index in range(max((len(q) for q in queues), default=0)):
        mixed += [queue[index] for queue in queues if index < len(queue)]
    return mixed


def _plain_table() -> Table:
    # Columns two spaces apart, no borders: the layout the summary always had.
    return Table(box=None, pad_edge=False, show_edge=False, header_style="")


def _counts_table(summary: Summary) -> RenderableType:
    by_type: dict[str, Counter[str]] = {}
    for outcome in summary.outcomes:
        by_type.setdefault(outcome.execution.type, Counter())[outcome.kind.value] += 1
    if not by_type:
        return Text("No execution was waited on.")
    totals = summary.counts()
    kinds = [k for k in _KIND_ORDER if totals[k] or k == "succeeded"]
    table = _plain_table()
    table.add_column("TYPE", overflow="fold")
    # "WAIT TIMEOUT", not "WAIT_TIMEOUT": a header may wrap at a space when every
    # kind happened and the terminal is narrow.
    for header in ["TOTAL", *kinds]:
        table.add_column(header.upper().replace("_", " "), justify="right", overflow="fold")
    for name in sorted(by_type):
        counts = by_type[name]
        table.add_row(name, str(sum(counts.values())), *(str(counts[k]) for k in kinds))
    if len(by_type) > 1:
        table.add_row("total", str(len(summary.outcomes)), *(str(totals[k]) for k in kinds))
    return table


def _details_table(outcomes: Sequence[Outcome], width: int) -> Table:
    """One row per execution that did not succeed, with its reason, in *width* columns.

    Five columns while the execution and its reason each keep a readable share
    of the line; on a narrower terminal each row stacks its outcome over its
    state and its type over its parameters, which leaves the reason room to
    be read rather than a sliver beside a column of identifiers.
    """
    rows = [
        (
            o.kind.value,
            echoed(o.state) or "-",
            o.execution.type,
            _label(o.execution),
            echoed(o.reason) or "",
        )
        for o in outcomes
    ]
    headers = ("OUTCOME", "STATE", "TYPE", "EXECUTION", "REASON")
    natural = [max(cell_len(h), *(cell_len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    gaps = 2 * (len(headers) - 1)
    fixed = sum(natural[:3]) + gaps
    if fixed + natural[3] + natural[4] <= width or fixed + 2 * _MIN_SHARE <= width:
        table = _plain_table()
        for header in headers[:3]:
            table.add_column(header, no_wrap=True)
        # Identifiers fold (a break inside an id still shows all of it); reasons wrap
        # between words. Too wide, rich narrows the widest of the two first, so the
        # reason keeps at least the share the execution gets.
        table.add_column("EXECUTION", overflow="fold")
        table.add_column("REASON", overflow="fold")
        for row in rows:
            table.add_row(*row)
        return table
    table = _plain_table()
    table.add_column("OUTCOME\nSTATE", overflow="fold")
    table.add_column("TYPE\nEXECUTION", overflow="fold")
    table.add_column("REASON", overflow="fold")
    for index, (kind, state, name, label, reason) in enumerate(rows):
        if index:
            # Rows several lines tall run together without a gap between them.
            table.add_row()
        table.add_row(f"{kind}\n{state}", f"{name}\n{label}", reason)
    return table


class SummaryView:
    """The summary a person reads at the end, laid out to the console's width.

    Counts per type, then what did not succeed (or, interrupted, what was still
    waiting), then the facts of the wait and what the exit code means. No line
    is wider than the console: long identifiers fold, reasons and remarks wrap.
    """

    def __init__(self, summary: Summary) -> None:
        self.summary = summary

    def __rich_console__(self, console: RichConsole, options: ConsoleOptions) -> RenderResult:
        summary = self.summary
        yield _counts_table(summary)

        waiting = summary.waiting
        shown: list[Outcome]
        if waiting:
            title = f"Still waiting when {summary.interrupted} arrived ({len(waiting):,}):"
            shown = _round_robin(waiting)
        elif len(summary.outcomes) <= DETAIL_ROWS:
            title = "Executions:"
            shown = list(summary.outcomes)
        else:
            shown = _round_robin([o for o in summary.outcomes if not o.ok])
            title = f"Not succeeded ({len(shown):,}):"
        if shown:
            inner = options.max_width - _INDENT[3]
            yield Text()
            yield Text(title)
            yield Padding(_details_table(shown[:DETAIL_ROWS], inner), _INDENT, expand=False)
            if len(shown) > DETAIL_ROWS:
                more = len(shown) - DETAIL_ROWS
                yield Padding(
                    Text(f"... and {more:,} more (--output json lists every outcome)"),
                    _INDENT,
                    expand=False,
                )

        facts = [
            f"{summary.total:,} execution{'s' if summary.total != 1 else ''}",
            _seconds(summary.elapsed),
            f"{summary.calls:,} calls",
            f"{summary.throttles:,} throttled",
        ]
        if summary.duplicates:
            facts.append(f"{summary.duplicates:,} duplicates waited on once")
        yield Text()
        yield Items(facts)
        if summary.events is not None:
            yield Items(summary.events.items(), lead="events: ")
        if summary.aborted and not summary.interrupted:
            yield Text("Stopped early: the --fail-fast threshold was reached.")
        if summary.note:
            yield Text(summary.note)
        yield Text(f"exit {summary.exit_code}: {summary.meaning or describe(summary.exit_code)}")


def render_summary(summary: Summary, width: int | None = None) -> str:
    """The summary as text *width* columns wide (a terminal's), or as wide as it needs."""
    buffer = io.StringIO()
    console = RichConsole(
        file=buffer,
        width=width or _UNBOUNDED,
        # Both set: the size then comes from here, not from whatever terminal is around.
        height=25,
        force_terminal=False,
        color_system=None,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(SummaryView(summary))
    # Table cells are padded to their column's width; the line's end needs no padding.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


class Report:
    """Everything the user sees of one wait, in text or JSON."""

    def __init__(self, *, json_lines: bool, out: TextIO, console: Console, progress: bool) -> None:
        self.json_lines = json_lines
        self.out = out
        self.console = console
        self.progress = progress and console.live
        self.tally = Tally(())
        self.batch: Batch | None = None
        self.budgets: BudgetRegistry | None = None
        self._time_left = TimeLeft()
        self._wall_offset = 0.0
        self._out_open = True
        self._stopped = anyio.Event()
        #: Why stdout could not be written (a full disk, a closed descriptor), if it could not.
        self.output_error: OSError | None = None
        #: Called once when stdout fails: the wait has no one left to tell.
        self.on_output_error: Callable[[], None] | None = None
        #: The summary written, once it is.
        self.summary: Summary | None = None

    # --- lifecycle -------------------------------------------------------------------

    def begin(self, executions: Sequence[Execution], **extra: Any) -> None:
        """Before the first call: what is about to be waited on."""
        self.tally = Tally(executions)
        # Transition times are on the event loop's monotonic clock; JSON wants wall time.
        self._wall_offset = time.time() - anyio.current_time()
        if self.json_lines:
            self.emit(
                {
                    "event": "start",
                    "total": sum(self.tally.totals.values()),
                    "types": dict(self.tally.totals),
                    **extra,
                }
            )

    def attach(self, batch: Batch, budgets: BudgetRegistry) -> None:
        self.batch = batch
        self.budgets = budgets

    def on_transition(self, execution: Execution, transition: Transition) -> None:
        self.tally.on_transition(execution, transition)
        if self.json_lines:
            self.emit(
                {
                    "event": "transition",
                    "execution": execution_ids(execution),
                    "state": echoed(transition.state),
                    "kind": transition.kind.value if transition.kind is not None else None,
                    "at": self._wall(transition.at),
                    "attempt": transition.attempt,
                }
            )

    def on_outcome(self, outcome: Outcome) -> None:
        self.tally.on_outcome(outcome)
        if self.json_lines:
            record = outcome_record(outcome)
            record.pop("type")
            params = record.pop("params")
            self.emit(
                {"event": "outcome", "execution": {"type": outcome.execution.type, **params}}
                | record
            )

    async def live(self) -> None:
        """Show the progress block, redrawn until :meth:`stop`."""
        if not self.progress:
            return
        self.console.show(self._render)
        try:
            while not self._stopped.is_set():
                self.redraw()
                with anyio.move_on_after(1 / REFRESH_HZ):
                    await self._stopped.wait()
        finally:
            self.console.hide()

    def stop(self) -> None:
        self._stopped.set()
        self.console.hide()

    def redraw(self) -> None:
        self.console.refresh()

    def _render(self) -> RenderableType:
        if self.batch is None:
            return Text()
        progress = self.batch.progress()
        return render_progress(self.tally, progress, self._rates(), self._time_left(progress))

    def finish(self, summary: Summary) -> None:
        """Write the summary: once, whatever else tries to finish the wait after it."""
        if self.summary is not None:
            return
        self.summary = summary
        self.stop()
        if self.json_lines:
            self.emit(summary_record(summary))
        else:
            width = shutil.get_terminal_size().columns if is_terminal(self.out) else None
            self.write(render_summary(summary, width))

    # --- output ----------------------------------------------------------------------

    def _rates(self) -> list[Rate]:
        if self.budgets is None:
            return []
        rates = [
            Rate(f"{stats.key[2]}:{stats.key[3]}", stats.rate, stats.cuts)
            for stats in self.budgets.stats()
            if stats.calls
        ]
        # The budgets throttling pushed down are the interesting ones: first.
        return sorted(rates, key=lambda r: (-r.cuts, r.operation))

    def _wall(self, at: float) -> str:
        moment = datetime.fromtimestamp(at + self._wall_offset, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def emit(self, record: Mapping[str, Any]) -> None:
        self.write(json.dumps(record, default=str, separators=(", ", ": ")) + "\n")

    def write(self, text: str) -> None:
        if not self._out_open:
            return
        try:
            if self.console.shares_screen(self.out):
                # The progress block is on this terminal too: written straight to stdout,
                # the text would land inside the block; through the console, above it.
                self.console.print_above(text)
                return
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): keep waiting for the exit code, write nothing
            # more, and keep the interpreter's final flush from complaining.
            self._out_open = False
            _silence_stdout(self.out)
        except (OSError, AttributeError) as exc:
            # A full disk, or no stdout at all: the result can never be read, so the
            # wait is cut short and the command exits 2 (see raise_for_output).
            self._out_open = False
            self.output_error = exc if isinstance(exc, OSError) else OSError("closed")
            _silence_stdout(self.out)
            if self.on_output_error is not None:
                self.on_output_error()

    def raise_for_output(self) -> None:
        """Raise :class:`OutputError` if stdout could not be written."""
        error = self.output_error
        if error is not None:
            raise OutputError(f"cannot be written ({error.strerror or error})")


def _silence_stdout(stream: TextIO) -> None:
    if stream is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
