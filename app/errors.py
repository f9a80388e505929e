"""The base of the app's expected errors: a sentence for the user and what to try.

Engine, store and model-manager errors derive from it, so the GUI and the command line report
all of them the same way (never as a traceback).
"""

from __future__ import annotations


class AppError(Exception):
    """An expected failure. ``str(error)`` is a complete sentence; ``hint`` says what to try."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message
