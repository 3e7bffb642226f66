"""``python -m waiters.simulator``: see :mod:`waiters.simulator._cli`."""

from ._cli import main

raise SystemExit(main())
