"""A user's typed script passes mypy --strict against the client stubs; typed mistakes do not.

mypy runs from an empty directory, so it finds ``waiters`` the way a user's
check does: installed, with its ``py.typed`` marker.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "typed"


def _mypy(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    shutil.copy(script, cwd / script.name)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", script.name],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_typed_user_script_passes_mypy_strict(tmp_path: Path) -> None:
    done = _mypy(HERE / "user_script.py", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout


@pytest.mark.slow
def test_typed_mistakes_are_caught(tmp_path: Path) -> None:
    """Each line marked MISTAKE is an error, and nothing else is."""
    script = HERE / "user_mistakes.py"
    marked = {
        number
        for number, line in enumerate(script.read_text().splitlines(), start=1)
        if "# MISTAKE" in line
    }
    done = _mypy(script, tmp_path)
    flagged = {int(n) for n in re.findall(rf"^{script.name}:(\d+): error", done.stdout, re.M)}
    assert flagged == marked, done.stdout
