"""What a wait shows: live progress, JSON lines, and the final summary.

Two audiences. On a terminal: a progress block on stderr redrawn a few
times a second (counts per state for each type, calls, throttles, the
adaptive rate, an estimate), then a summary table on stdout. In a pipeline
(stdout not a terminal, or ``--output json``): one JSON object per line on
stdout, ``start``, then ``transition`` and ``outcome`` events as they
happen, and a final ``summary`` a script can parse.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import anyio

from waiters import Batch, BudgetRegistry, Execution, Outcome, OutcomeKind, Progress, Transition

from ._console import Console, is_terminal
from ._exit import describe

__all__ = ["Rate", "Report", "Summary", "Tally", "render_progress", "render_summary"]

#: Redraws per second of the live display: fast enough to feel live, cheap enough to ignore.
REFRESH_HZ = 4
#: Executions listed one by one in the text summary before it only counts them.
DETAIL_ROWS = 20
_UNSEEN = "unseen"
_KIND_ORDER = [kind.value for kind in OutcomeKind]


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
        new = transition.state or _UNSEEN
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


def _pairs(pairs: Sequence[tuple[str, int]]) -> str:
    return " · ".join(f"{name} {count:,}" for name, count in pairs)


@dataclass(frozen=True)
class Rate:
    """One adaptive budget as the display shows it."""

    operation: str
    rate: float
    cuts: int


def render_progress(tally: Tally, progress: Progress, rates: Sequence[Rate] = ()) -> list[str]:
    """The live block: a headline, a line per type, a line about calls."""
    left = (
        f" · about {_seconds(progress.remaining)} left"
        if progress.remaining is not None and progress.finished < progress.total
        else ""
    )
    lines = [
        f"waiting on {progress.total:,} executions: {progress.waiting:,} to go · "
        f"{_seconds(progress.elapsed)} elapsed{left}"
    ]
    width = max((len(name) for name in tally.totals), default=0)
    for name in sorted(tally.totals):
        waiting = _pairs(tally.waiting_states(name)) or "-"
        done = _pairs(tally.finished_kinds(name))
        line = f"  {name:<{width}}  {tally.totals[name]:>6,}  {waiting}"
        if done:
            line += f"  | {done}"
        lines.append(line)
    calls = (
        f"  calls {progress.calls:,} · throttled {progress.throttles:,} · "
        f"errors {progress.errors:,}"
    )
    lines.append(calls)
    if rates:
        lines.append(
            "  rate  "
            + " · ".join(
                f"{r.operation} {r.rate:.1f}/s" + (f" (cut {r.cuts}x)" if r.cuts else "")
                for r in rates
            )
        )
    return lines


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


def execution_ids(execution: Execution) -> dict[str, Any]:
    return {"type": execution.type, **execution.params}


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    return {
        "type": outcome.execution.type,
        "params": dict(outcome.execution.params),
        "outcome": outcome.kind.value,
        "state": outcome.state,
        "reason": outcome.reason,
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
    return " ".join(f"{k}={_short(v)}" for k, v in execution.params.items())


def _table(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


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


def render_summary(summary: Summary, width: int | None = None) -> str:
    """The table a person reads at the end: counts per type, then what did not succeed.

    With *width* (a terminal's), reasons are cut to fit and remarks wrapped.
    """
    lines: list[str] = []
    by_type: dict[str, Counter[str]] = {}
    for outcome in summary.outcomes:
        by_type.setdefault(outcome.execution.type, Counter())[outcome.kind.value] += 1
    totals = summary.counts()
    kinds = [k for k in _KIND_ORDER if totals[k] or k == "succeeded"]
    if by_type:
        header = ["TYPE", "TOTAL", *(k.upper() for k in kinds)]
        rows = [header]
        for name in sorted(by_type):
            counts = by_type[name]
            rows.append([name, str(sum(counts.values())), *(str(counts[k]) for k in kinds)])
        if len(by_type) > 1:
            rows.append(["total", str(len(summary.outcomes)), *(str(totals[k]) for k in kinds)])
        lines += _table(rows, right=frozenset(range(1, len(header))))
    else:
        lines.append("No execution was waited on.")

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
        rows = [["OUTCOME", "STATE", "TYPE", "EXECUTION"]]
        rows += [
            [o.kind.value, o.state or "-", o.execution.type, _label(o.execution)]
            for o in shown[:DETAIL_ROWS]
        ]
        # What is left of the line once the other columns and the indent are laid out.
        used = sum(max(len(row[i]) for row in rows) + 2 for i in range(4)) + 2
        room = max(24, width - used) if width is not None else 80
        rows[0].append("REASON")
        for row, outcome in zip(rows[1:], shown, strict=False):
            reason = outcome.reason or ""
            row.append(reason if len(reason) <= room else reason[: room - 3] + "...")
        lines += ["", title, *("  " + line for line in _table(rows))]
        if len(shown) > DETAIL_ROWS:
            lines.append(
                f"  ... and {len(shown) - DETAIL_ROWS:,} more (--output json lists every outcome)"
            )

    facts = [
        f"{summary.total:,} execution{'s' if summary.total != 1 else ''}",
        _seconds(summary.elapsed),
        f"{summary.calls:,} calls",
        f"{summary.throttles:,} throttled",
    ]
    if summary.duplicates:
        facts.append(f"{summary.duplicates:,} duplicates waited on once")
    lines += ["", " · ".join(facts)]
    if summary.aborted and not summary.interrupted:
        lines.append("Stopped early: the --fail-fast threshold was reached.")
    if summary.note:
        lines += textwrap.wrap(summary.note, width) if width else [summary.note]
    lines.append(f"exit {summary.exit_code}: {summary.meaning or describe(summary.exit_code)}")
    return "\n".join(lines) + "\n"


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
        self._wall_offset = 0.0
        self._out_open = True
        self._stopped = anyio.Event()

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
                    "state": transition.state,
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
        """Redraw the progress block until :meth:`stop`."""
        if not self.progress:
            return
        while not self._stopped.is_set():
            self.redraw()
            with anyio.move_on_after(1 / REFRESH_HZ):
                await self._stopped.wait()
        self.console.erase()

    def stop(self) -> None:
        self._stopped.set()
        self.console.erase()

    def redraw(self) -> None:
        if self.batch is None:
            return
        self.console.draw(render_progress(self.tally, self.batch.progress(), self._rates()))

    def finish(self, summary: Summary) -> None:
        self.stop()
        if self.json_lines:
            self.emit(summary_record(summary))
        else:
            width = shutil.get_terminal_size().columns - 1 if is_terminal(self.out) else None
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
        # The progress block lives on stderr; when both go to one terminal, stdout
        # text would land inside it.
        self.console.erase()
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): keep waiting for the exit code, write nothing
            # more, and keep the interpreter's final flush from complaining.
            self._out_open = False
            _silence_stdout(self.out)


def _silence_stdout(stream: TextIO) -> None:
    if stream is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
