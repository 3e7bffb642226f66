"""``python -m waiters``: the same as the ``waiters`` command."""

from waiters.cli import main

raise SystemExit(main())
