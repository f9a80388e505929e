"""Tests of the remote engine's pieces the GUI uses: the saved choice, keys, context."""
