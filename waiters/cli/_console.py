"""stderr, shared by log lines and the live progress display.

The progress display is a block of lines that rich's ``Live`` redraws in
place at the bottom of the terminal. A log line written straight to the
stream while the block is on screen would land inside it, so every write to
stderr goes through :class:`Console`: while the block is shown, whole lines
are printed through the rich console, which puts them above the block and
draws the block again below them; otherwise text goes to the stream as
written, so log lines on a pipe stay one JSON object per line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TextIO

from rich.ansi import AnsiDecoder
from rich.console import Console as RichConsole
from rich.console import RenderableType
from rich.live import Live
from rich.text import Text

__all__ = ["Console", "is_terminal"]


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


def _same_file(a: TextIO, b: TextIO) -> bool:
    try:
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (AttributeError, OSError, ValueError):  # no descriptor (a StringIO), or closed
        return False


class Console:
    """A text stream (stderr) that can hold a live block of lines at its bottom."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # Decided by the stream itself, not by FORCE_COLOR or TTY_COMPATIBLE: a CI log
        # that asks for colours still cannot take a block redrawn with cursor movement.
        self.terminal = is_terminal(stream)
        no_color = "NO_COLOR" in os.environ
        self.rich = RichConsole(
            file=stream,
            force_terminal=self.terminal,
            no_color=no_color,
            highlight=False,
            markup=False,
            emoji=False,
        )
        #: Cursor movement works here (a terminal that is not TERM=dumb).
        self.live = self.terminal and not self.rich.is_dumb_terminal
        self.colors = self.terminal and not no_color and self.rich.color_system is not None
        self._live: Live | None = None
        self._closing = False
        self._partial = ""
        self._decoder = AnsiDecoder()

    # The file-like surface structlog's PrintLogger writes to.

    def write(self, text: str) -> int:
        if self._live is None:
            return self._raw(text)
        # print() writes a message and its newline in two calls: only whole lines can
        # go above the block.
        *lines, self._partial = (self._partial + text).split("\n")
        if lines:
            self._above(Text("\n").join(self._decoder.decode_line(line) for line in lines))
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.stream.flush()

    # The live block.

    @property
    def shown(self) -> bool:
        return self._live is not None

    def show(self, render: Callable[[], RenderableType]) -> None:
        """Put the block *render* draws at the bottom of the terminal (if it has one)."""
        if not self.live or self._live is not None:
            return
        self._live = Live(
            console=self.rich,
            get_renderable=lambda: Text() if self._closing else render(),
            # Redrawn by the caller's own loop, on the thread that owns what *render*
            # reads: rich's refresh thread would read it while the event loop changes it.
            auto_refresh=False,
            # Erased when the wait ends: the summary replaces it.
            transient=True,
            # Stray writes to sys.stderr (warnings) land above the block too. stdout is
            # left alone: the report writes it through a stream it holds.
            redirect_stderr=True,
            redirect_stdout=False,
        )
        try:
            self._live.start()
        except (BrokenPipeError, ValueError):
            self._live = None

    def refresh(self) -> None:
        if self._live is None:
            return
        try:
            self._live.refresh()
        except (BrokenPipeError, ValueError):  # stderr closed under us: nothing to show
            self._drop()

    def hide(self) -> None:
        """Erase the block; the cursor ends where the block started."""
        if self._live is None:
            return
        # Stopping draws the block one last time, whole even when it is taller than
        # the terminal (and then cannot all be erased); it is erased at once anyway.
        self._closing = True
        with contextlib.suppress(BrokenPipeError, ValueError):
            self._live.stop()
        self._closing = False
        self._drop()

    def shares_screen(self, stream: TextIO) -> bool:
        """Whether text written to *stream* would appear on the block's terminal."""
        return self._live is not None and is_terminal(stream) and _same_file(stream, self.stream)

    def print_above(self, text: str) -> None:
        """Show *text* (of another stream on the same terminal) above the block."""
        self._above(Text(text), end="")

    def _above(self, text: Text, end: str = "\n") -> None:
        try:
            # Soft wrap: the terminal wraps a long line; rich must not cut it into lines,
            # which would change what a log line or a JSON line says.
            self.rich.print(text, end=end, soft_wrap=True)
        except (BrokenPipeError, ValueError):
            self._drop()

    def _drop(self) -> None:
        self._live = None
        if self._partial:
            partial, self._partial = self._partial, ""
            self._raw(partial)

    def _raw(self, text: str) -> int:
        try:
            written = self.stream.write(text)
            self.stream.flush()
            return written
        except (BrokenPipeError, ValueError):  # stderr closed under us: nothing to tell
            return 0
