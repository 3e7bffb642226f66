"""Tests of the embedded fleet simulator (waiters.simulator)."""
