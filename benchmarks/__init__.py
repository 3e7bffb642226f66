"""The benchmark suite of ``waiters``: the polling loop against the tools users would pick.

Run it with ``python -m benchmarks.suite`` (``--quick`` for the CI smoke run);
see ``benchmarks/README.md`` for the method.  ``bench_simulator.py`` beside
this package measures the simulator itself.
"""
