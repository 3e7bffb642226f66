"""What a person sees on a terminal: the live block and the summary fit its width.

The demo runs for real (embedded simulator, no AWS account) inside a
pseudo-terminal 80 and 120 columns wide, and everything it writes is read
back as a terminal would show it, redraws included. The summary and the
progress block are also rendered in process at fixed widths, with
identifiers and reasons long enough to have to wrap, and the time-left
estimate's rule is checked on its own.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console as RichConsole
from rich.console import RenderableType

from waiters import Execution, Outcome, OutcomeKind, Progress, default_registry
from waiters.cli._display import (
    Items,
    Rate,
    Summary,
    SummaryView,
    Tally,
    TimeLeft,
    render_progress,
    render_summary,
)

REPO = Path(__file__).resolve().parent.parent
# A few hundred executions at 60x: a few seconds of wall time. The seed's fleet has
# failures of every type and a cancelled Snow execution.
DEMO = ("demo", "--things", "250", "--speed", "60", "--seed", "11")
_CSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_LOG = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z \[(debug|info|warning|error)\s*\] waiters\.")


def _environment(columns: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(TERM="xterm", COLUMNS=str(columns), LINES="40", PYTHONUNBUFFERED="1")
    env.pop("NO_COLOR", None)
    return env


def run_in_terminal(args: Sequence[str], columns: int, timeout: float = 90) -> tuple[int, str]:
    """Run the command line on a pseudo-terminal *columns* wide; return (status, output)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "waiters", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_environment(columns),
        cwd=REPO,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        status = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


def screen_lines(output: str) -> list[str]:
    """Every line as drawn: escape sequences removed, each redraw (after a CR) a line of its own."""
    text = _OSC.sub("", _CSI.sub("", output))
    return [line.rstrip() for line in re.split(r"\r\n|\r|\n", text)]


def _counts(summary: list[str]) -> dict[str, dict[str, int]]:
    """The summary's counts table: {type: {column: count}} (headers lowered, spaces as _)."""
    header = next(line for line in summary if line.startswith("TYPE "))
    columns = [word.lower() for word in re.split(r" {2,}", header.strip())]
    rows: dict[str, dict[str, int]] = {}
    for line in summary[summary.index(header) + 1 :]:
        if not line.strip():
            break
        name, *numbers = line.split()
        rows[name] = dict(zip(columns[1:], map(int, numbers), strict=True))
    return {n: {k.replace(" ", "_"): v for k, v in row.items()} for n, row in rows.items()}


# --- the demo on a terminal -------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 120])
def test_the_demo_fits_the_terminal(columns: int) -> None:
    """At 80 and 120 columns no line is wider than the terminal, counts and reasons whole."""
    status, output = run_in_terminal(DEMO, columns)
    assert status == 0, output
    lines = screen_lines(output)
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, "\n".join(too_wide)

    # The live block was drawn (and redrawn), then erased before the summary.
    frames = [line for line in lines if line.startswith("waiting on ")]
    assert len(frames) >= 2, output
    assert "\r\x1b[2K" in output and "\x1b[1A\x1b[2K" in output
    start = max(n for n, line in enumerate(lines) if line.startswith("TYPE "))
    assert start > max(n for n, line in enumerate(lines) if line.startswith("waiting on "))
    summary = lines[start:]

    counts = _counts(summary)
    total = counts.pop("total")
    assert set(counts) == {
        "iot-job-execution",
        "iot-command-execution",
        "sitewise-execution",
        "snow-execution",
        "transfer-execution",
    }
    assert total["total"] == 277
    kinds = [column for column in total if column != "total"]
    assert set(kinds) <= {kind.value for kind in OutcomeKind}
    for name, row in counts.items():
        assert row["total"] == sum(row[k] for k in kinds), name
    for column, count in total.items():
        assert count == sum(row[column] for row in counts.values()), column
    assert total["succeeded"] > 0 and total["failed"] > 0

    # Counts in the live block read whole ("cancelled 1", never "can"): a row too long for
    # the terminal wraps between counts. (The Snow cancellation ends well before the last
    # frame.)
    block = lines[:start]
    names = {kind.value for kind in OutcomeKind}
    for line in block:
        for word in line.split():
            if re.fullmatch(r"[a-z_]+", word) and word not in names:
                assert not any(name.startswith(word) for name in names), line
        for match in re.finditer(rf"\b({'|'.join(names)})\b", line):
            assert re.match(r" \d", line[match.end() :]), line
    assert re.search(r"(?<!\S)cancelled 1(?!\S)", "\n".join(block))

    # What did not succeed is listed with its reason, wrapped inside its cell if need be.
    bad = total["total"] - total["succeeded"]
    assert f"Not succeeded ({bad}):" in summary
    words = " ".join(summary).split()
    assert "result=failed" in words
    reason = ["ended", "CANCELED;", "DescribeExecution", "gives", "no", "reason"]
    assert all(word in words for word in reason), summary
    assert "exit 0: demo complete (its failures are part of the demo)" in summary


def test_log_lines_land_above_the_live_block() -> None:
    """-v logs while the block is redrawn: each log line is whole, never mixed with the block."""
    status, output = run_in_terminal(
        ("demo", "--things", "60", "--speed", "60", "--seed", "11", "-v"), 100
    )
    assert status == 0, output
    lines = screen_lines(output)
    logs = [line for line in lines if "waiters." in line and "[info" in line]
    assert any("waiters.finished" in line for line in logs), output[-3000:]
    for line in logs:
        assert _LOG.match(line), line
        assert "waiting on" not in line and "calls " not in line, line
    assert any(line.startswith("waiting on ") for line in lines)


# --- the summary, rendered in process ---------------------------------------------------------

_LONG_REASON = (
    "the device reported an installation failure after verifying the signature of "
    "firmware image bundle seven: checksum mismatch on partition B, rolled back to the "
    "previous image and rebooted twice before giving up"
)


def _outcome(kind: OutcomeKind, thing: str, reason: str | None, state: str | None) -> Outcome:
    machine = default_registry().get("iot-job-execution")
    execution = Execution(
        machine,
        {"jobId": "firmware-2-4-1-rollout-for-the-whole-north-region-fleet", "thingName": thing},
    )
    return Outcome(execution, kind, state, reason, None, 3, 12.5, ())


def _summary(count: int, bad_every: int = 3) -> Summary:
    outcomes = []
    for n in range(count):
        thing = f"pump-station-{n:04d}-north-river-district-building-seventeen-floor-two"
        if n % bad_every:
            outcomes.append(_outcome(OutcomeKind.SUCCEEDED, thing, None, "SUCCEEDED"))
        elif n % (2 * bad_every):
            outcomes.append(
                _outcome(OutcomeKind.CANCELLED, thing, "operator cancelled", "CANCELED")
            )
        else:
            outcomes.append(_outcome(OutcomeKind.FAILED, thing, _LONG_REASON, "FAILED"))
    return Summary(outcomes=outcomes, total=count, exit_code=1, elapsed=93.2, calls=120)


def _rendered(renderable: RenderableType, width: int) -> list[str]:
    buffer = io.StringIO()
    console = RichConsole(
        file=buffer, width=width, height=40, color_system=None, legacy_windows=False
    )
    console.print(renderable)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("count", [9, 60])
def test_summary_fits_the_width_with_reasons_whole(width: int, count: int) -> None:
    """Long ids and long reasons: no line wider than the console, every reason word shown."""
    summary = _summary(count)
    for lines in (
        _rendered(SummaryView(summary), width),
        render_summary(summary, width).split("\n"),
    ):
        assert max(len(line) for line in lines) <= width, "\n".join(lines)
        words = " ".join(lines).split()
        for word in _LONG_REASON.split():
            assert word in words, (word, "\n".join(lines))
        assert "operator" in words and "cancelled" in words
        # The reason's column starts early enough to leave it a fair share of the line.
        header = next(line for line in lines if "REASON" in line)
        assert header.index("REASON") <= width - 30, "\n".join(lines)
        # The counts read whole.
        table = next(line for line in lines if line.startswith("TYPE "))
        assert table.split()[1:] == ["TOTAL", "SUCCEEDED", "FAILED", "CANCELLED"]
        assert "exit 1: at least one execution ended badly" in lines
    if count > 20:
        assert f"Not succeeded ({count // 3}):" in lines


def test_summary_off_a_terminal_is_as_wide_as_it_needs() -> None:
    """To a file or a pipe, nothing is wrapped: one line per execution, the note on one line."""
    summary = _summary(9)
    summary.note = "A closing remark. " * 10
    lines = render_summary(summary).splitlines()
    assert summary.note.strip() in lines
    rows = [line for line in lines if "pump-station-" in line]
    assert len(rows) == 9 and all(_LONG_REASON in row for row in rows if "failed" in row)
    assert all(line == line.rstrip() for line in lines)


# --- the progress block -----------------------------------------------------------------------


def _progress(total: int, finished: int, elapsed: float) -> Progress:
    return Progress(
        total=total,
        finished=finished,
        states={},
        kinds={},
        outcomes={},
        calls=0,
        throttles=0,
        errors=0,
        elapsed=elapsed,
        remaining=None,
    )


@pytest.mark.parametrize("width", [30, 50, 80, 120])
def test_progress_counts_wrap_between_items(width: int) -> None:
    """Each "kind count" stays on one line; a long row wraps between items, within the width."""
    registry = default_registry()
    job = registry.get("iot-job-execution")
    snow = registry.get("snow-execution")
    executions = [Execution(job, {"jobId": "j", "thingName": f"t{n}"}) for n in range(12)]
    executions += [
        Execution(snow, {"taskId": "task-1", "managedDeviceId": f"smd-{n:016x}"}) for n in range(4)
    ]
    tally = Tally(executions)
    endings = [
        (OutcomeKind.SUCCEEDED, "SUCCEEDED"),
        (OutcomeKind.FAILED, "FAILED"),
        (OutcomeKind.CANCELLED, "CANCELED"),
        (OutcomeKind.WAIT_TIMEOUT, "IN_PROGRESS"),
        (OutcomeKind.NOT_FOUND, None),
        (OutcomeKind.VANISHED, "IN_PROGRESS"),
    ]
    # The job's first six end every way but succeeded-twice; one Snow execution succeeds.
    for execution, (kind, state) in zip(executions[:6], endings, strict=True):
        tally.on_outcome(Outcome(execution, kind, state, None, None, 1, 1.0, ()))
    tally.on_outcome(
        Outcome(executions[12], OutcomeKind.SUCCEEDED, "SUCCEEDED", None, None, 1, 1.0, ())
    )
    rates = [
        Rate("iot:DescribeJobExecution", 9.5, 2),
        Rate("snow-device-management:DescribeExecution", 4.0, 0),
    ]
    lines = _rendered(render_progress(tally, _progress(16, 7, 30.0), rates, 42.0), width)
    assert max(len(line) for line in lines) <= width, "\n".join(lines)
    text = "\n".join(lines)
    items = [
        "succeeded 1",
        "failed 1",
        "cancelled 1",
        "wait_timeout 1",
        "not_found 1",
        "vanished 1",
        "unseen 6",
        "unseen 3",
        "calls 0",
        "throttled 0",
        "errors 0",
    ]
    if width >= 50:  # narrower, the item itself is wider than what is left of the line
        items.append("iot:DescribeJobExecution 9.5/s (cut 2x)")
    for item in items:
        assert re.search(rf"(?<!\S){re.escape(item)}(?!\S)", text), (item, text)
    assert "about 42s left" in " ".join(text.split())


def test_items_wrap_between_items_and_indent_after_the_lead() -> None:
    items = Items(["succeeded 925", "failed 73", "cancelled 1"], lead="| ")
    assert items.lines(80) == ["| succeeded 925 · failed 73 · cancelled 1"]
    assert items.lines(30) == ["| succeeded 925 · failed 73", "  cancelled 1"]
    assert items.lines(12) == ["| succeeded 925", "  failed 73", "  cancelled 1"]


# --- the time-left estimate -------------------------------------------------------------------


def test_time_left_is_withheld_until_it_means_something() -> None:
    """Shown once 10% (and 5) finished and 10 s passed; never shown climbing."""
    left = TimeLeft()
    # 1.8 s into the wait, a few quick ones done: no estimate, however confident the rate.
    assert left(_progress(1000, 12, 1.8)) is None
    # 10% finished, but too soon.
    assert left(_progress(1000, 150, 6.0)) is None
    # Long enough, but too few finished.
    assert left(_progress(1000, 60, 30.0)) is None
    # A small batch needs 5, not 10% of it.
    assert TimeLeft()(_progress(20, 4, 30.0)) is None
    assert TimeLeft()(_progress(20, 5, 30.0)) == pytest.approx(90.0)
    # Both: the waiting ones at the average rate so far.
    assert left(_progress(1000, 200, 12.0)) == pytest.approx(48.0)
    assert left(_progress(1000, 400, 20.0)) == pytest.approx(30.0)
    # A sweep pending, nothing finishing: the average-rate estimate climbs (39 s); the
    # display counts down from what it showed instead.
    assert left(_progress(1000, 400, 26.0)) == pytest.approx(24.0)
    # Once finishings catch up, a lower estimate is taken.
    assert left(_progress(1000, 800, 30.0)) == pytest.approx(7.5)
    # The countdown runs out with executions still waiting: withheld, then a new start.
    assert left(_progress(1000, 900, 40.0)) is None
    assert left(_progress(1000, 900, 41.0)) == pytest.approx(100 * 41.0 / 900)
    # Everything finished: nothing left to estimate.
    assert left(_progress(1000, 1000, 45.0)) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 30.0), st.integers(0, 50)), min_size=1, max_size=40))
def test_time_left_is_never_shown_rising(steps: list[tuple[float, int]]) -> None:
    """Whatever the finishing pattern, consecutive shown values fall at least as fast as
    time passes: the estimate is never shown climbing."""
    left = TimeLeft()
    elapsed, finished, total = 0.0, 0, 1000
    shown: tuple[float, float] | None = None
    for wait, done in steps:
        elapsed += wait
        finished = min(total, finished + done)
        value = left(_progress(total, finished, elapsed))
        if value is None:
            shown = None
            continue
        if shown is not None:
            before, at = shown
            assert value <= before - (elapsed - at) + 1e-9
        shown = (value, elapsed)


def test_the_block_shows_the_estimate_only_when_given() -> None:
    tally = Tally(())
    withheld = " ".join(_rendered(render_progress(tally, _progress(10, 5, 12.0)), 80))
    shown = " ".join(_rendered(render_progress(tally, _progress(10, 5, 12.0), (), 75.0), 80))
    assert "left" not in withheld
    assert "about 1m15s left" in shown
