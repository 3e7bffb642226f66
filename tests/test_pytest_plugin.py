"""The README's testing example runs as a user's test suite, with only the plugin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"


def _testing_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Testing code that waits") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_testing_example_passes_with_the_plugin(pytester: pytest.Pytester) -> None:
    """A fresh test suite: the README's tests, no conftest, the installed plugin only."""
    pytester.makepyfile(test_rollout=_testing_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)
