"""stderr, shared by log lines and the live progress display.

The progress display is a block of lines redrawn in place. A log line
written while it is on screen would be overwritten (or would break the
cursor arithmetic), so every write goes through :class:`Console`, which
erases the block first; the next refresh draws it again below the log line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from typing import TextIO

__all__ = ["Console", "is_terminal"]

#: Erase from the cursor to the end of the screen.
_ERASE_DOWN = "\x1b[J"


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


class Console:
    """A text stream (stderr) that can hold a live block of lines at its bottom."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.terminal = is_terminal(stream)
        #: Cursor movement works here (a terminal that is not TERM=dumb).
        self.live = self.terminal and os.environ.get("TERM", "") != "dumb"
        self.colors = self.terminal and "NO_COLOR" not in os.environ
        self._drawn = 0

    # The file-like surface structlog's PrintLogger writes to.

    def write(self, text: str) -> int:
        self.erase()
        try:
            return self.stream.write(text)
        except (BrokenPipeError, ValueError):  # stderr closed under us: nothing to tell
            return 0

    def flush(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.stream.flush()

    # The live block.

    def draw(self, lines: Sequence[str]) -> None:
        """Replace the live block with *lines* (each cut to the terminal's width)."""
        if not self.live:
            return
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        # Cut, never wrap: a wrapped line would throw the cursor count off.
        body = "\n".join(line[:width] for line in lines)
        self._raw(self._home() + _ERASE_DOWN + body)
        self._drawn = len(lines)

    def erase(self) -> None:
        """Remove the live block; the cursor ends where the block started."""
        if self._drawn:
            self._raw(self._home() + _ERASE_DOWN)
            self._drawn = 0

    def _home(self) -> str:
        # The cursor rests at the end of the block's last line: back to column 0,
        # then up to the block's first line.
        up = self._drawn - 1
        return "\r" + (f"\x1b[{up}A" if up > 0 else "")

    def _raw(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            self.live = False
