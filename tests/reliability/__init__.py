"""Crash-safety (SIGKILL at random moments) and soak checks of issue 12 (docs/reliability.md)."""
