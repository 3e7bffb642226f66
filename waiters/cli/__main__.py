"""``python -m waiters.cli``: the same as the ``waiters`` command."""

from waiters.cli import main

raise SystemExit(main())
