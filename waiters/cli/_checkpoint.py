"""``--checkpoint FILE``: a wait that a killed command resumes where it stopped.

The file holds a :class:`~waiters.Checkpoint` of the batch, replaced
atomically (a temporary file beside it, then ``os.replace``): a kill at any
moment leaves the previous checkpoint or the next, never half of one.

An outcome is shown (its JSON line, its count) only once a checkpoint that
holds it is on disk, so a command killed and run again never shows one
twice: what the killed command showed, the rerun restores without showing;
what it had not saved yet, the rerun waits on and shows. Saves follow
outcomes and state changes, at most once a second, and once more on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import structlog

from waiters import (
    Batch,
    Checkpoint,
    Execution,
    InvalidExecution,
    InvalidOption,
    Outcome,
    StateMachine,
    Transition,
)

from ._errors import UsageError

__all__ = ["CheckpointFile", "Saver", "executions_of", "restore_tally"]

_log = structlog.get_logger("waiters.cli")
#: Seconds between two saves, at least: a save writes the whole checkpoint.
SAVE_INTERVAL = 1.0
#: What a --checkpoint path that is not a regular file is, by its file type.
_NOT_REGULAR = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class CheckpointFile:
    """Where a command keeps its checkpoint (``--checkpoint FILE``)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> Checkpoint | None:
        """The checkpoint in the file, or ``None`` if there is no file yet (or it is empty).

        :raises UsageError: the file cannot be read, or is not a checkpoint
            (naming the file and what is wrong).
        """
        try:
            # Without blocking, and checked on the descriptor: a FIFO would wait for
            # a writer forever, and the file is replaced by each save anyway.
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(
                f"--checkpoint: cannot read {str(self.path)!r}: {exc.strerror}"
            ) from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise UsageError(
                f"--checkpoint: {str(self.path)!r} must be a regular file (or none yet), "
                f"got {_NOT_REGULAR.get(stat.S_IFMT(mode), 'another kind of file')}"
            )
        with os.fdopen(fd, "rb") as handle:
            try:
                data = handle.read()
            except OSError as exc:
                raise UsageError(
                    f"--checkpoint: cannot read {str(self.path)!r}: {exc.strerror}"
                ) from None
        if not data:
            # Made empty for the command (`CK=$(mktemp)`): no saves are made empty, as
            # each replaces the file whole, so there is nothing to resume yet.
            return None
        try:
            return Checkpoint.from_json(data)
        except InvalidOption as exc:
            raise UsageError(f"--checkpoint {self.path}: {exc}") from None

    def check_writable(self) -> None:
        """Fail now, not at the first save, when the file's folder cannot take it.

        :raises UsageError: naming the file.
        """
        folder = self.path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(
                f"--checkpoint: cannot write {str(self.path)!r}: its folder is missing "
                "or not writable"
            )

    def write(self, checkpoint: Checkpoint) -> None:
        """Replace the file with *checkpoint*, atomically and durably."""
        text = checkpoint.to_json()
        fd, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def executions_of(
    file: CheckpointFile, checkpoint: Checkpoint, machine: StateMachine
) -> list[Execution]:
    """The executions the checkpointed run waited on, in its order, from their keys.

    A rerun of ``--all-of`` resumes these rather than listing the parent
    again: the listing may differ by now (Transfer lists only executions in
    progress), and the wait is the one the first run started.

    :raises UsageError: a key is not an execution of *machine* (naming the file).
    """
    executions = []
    for key in checkpoint.executions:
        kind, _, text = key.partition(" ")
        try:
            params = json.loads(text)
        except ValueError:
            params = None
        if kind != machine.name or not isinstance(params, dict):
            raise UsageError(
                f"--checkpoint {file.path}: not this command's wait: it holds {key[:200]!r}, "
                f"not a {machine.name}"
            )
        try:
            executions.append(Execution(machine, params))
        except InvalidExecution as exc:
            raise UsageError(f"--checkpoint {file.path}: {exc}") from None
    return executions


class Saver:
    """Saves a batch's checkpoint as it goes, and shows each outcome once it is saved.

    :param file: where to save.
    :param show: what shows an outcome (the report's ``on_outcome``).
    """

    def __init__(self, file: CheckpointFile, show: Callable[[Outcome], None]) -> None:
        self.file = file
        self.show = show
        self.batch: Batch | None = None
        self._pending: list[Outcome] = []
        # The first save comes at once: until a file exists, a killed command's rerun
        # starts a deadline of its own.
        self._changed = True
        self._wake = anyio.Event()
        self._saved_at = -SAVE_INTERVAL

    # --- the batch's callbacks -----------------------------------------------------------

    def on_outcome(self, outcome: Outcome) -> None:
        self._pending.append(outcome)
        self._changed = True
        self._wake.set()

    def on_transition(self, execution: Execution, transition: Transition) -> None:
        self._changed = True

    # --- saving --------------------------------------------------------------------------

    async def run(self) -> None:
        """Save after each change, at most once every :data:`SAVE_INTERVAL` seconds."""
        while True:
            await anyio.sleep_until(self._saved_at + SAVE_INTERVAL)
            if not self._changed:
                self._wake = anyio.Event()
                with anyio.move_on_after(SAVE_INTERVAL):
                    await self._wake.wait()
                if not self._changed:
                    continue
            await self.save(in_thread=True)

    async def save(self, *, in_thread: bool = False) -> None:
        """Write a checkpoint now, then show the outcomes it holds that were not shown."""
        batch = self.batch
        if batch is None:
            return
        self._changed = False
        # Taken off the list only once shown: a save cancelled while it writes (the
        # batch ended meanwhile) leaves them to final(), which shows them.
        saving = len(self._pending)
        checkpoint = batch.checkpoint()
        try:
            if in_thread:
                await anyio.to_thread.run_sync(self.file.write, checkpoint)
            else:
                self.file.write(checkpoint)
        except OSError as exc:
            # The wait goes on; a rerun resumes from the last checkpoint that was saved.
            _log.error("waiters.cli.checkpoint_failed", path=str(self.file.path), error=repr(exc))
        self._saved_at = anyio.current_time()
        pending, self._pending = self._pending[:saving], self._pending[saving:]
        for outcome in pending:
            self.show(outcome)

    def final(self) -> None:
        """The last save, when the batch is over (or was stopped): nothing is left unshown."""
        if self.batch is None:
            return
        self._changed = False
        pending, self._pending = self._pending, []
        try:
            self.file.write(self.batch.checkpoint())
        except OSError as exc:
            _log.error("waiters.cli.checkpoint_failed", path=str(self.file.path), error=repr(exc))
        for outcome in pending:
            self.show(outcome)


def restore_tally(report: Any, batch: Batch) -> None:
    """Count what a checkpoint restored in the report's tally, without showing it again."""
    now = anyio.current_time()
    for outcome in batch.outcomes.values():
        report.tally.on_outcome(outcome)
    for execution, tracker in batch.trackers.items():
        if tracker.state is not None and tracker.outcome is None:
            report.tally.on_transition(
                execution, Transition(tracker.state, tracker.kind, now, tracker.attempts)
            )
