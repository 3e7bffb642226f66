"""Wait on long-running AWS executions."""
