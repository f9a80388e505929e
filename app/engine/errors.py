"""Typed, user-facing engine errors. Each message says what happened and what to do."""

from __future__ import annotations

from app.errors import AppError


class EngineError(AppError):
    """Base class for expected engine failures (bad file, not enough memory, ...)."""


class ModelFileError(EngineError):
    """The model file is missing, unreadable or not a GGUF llama.cpp can use."""


class InsufficientMemoryError(EngineError):
    """The memory planner refuses: the model does not fit. ``alternatives`` lists what would."""

    def __init__(
        self, message: str, hint: str | None = None, alternatives: list[str] | None = None
    ):
        super().__init__(message, hint)
        self.alternatives = alternatives or []


class ContextOverflowError(EngineError):
    """Even the newest message alone does not fit in the context window."""


class ModelLoadError(EngineError):
    """llama.cpp failed to load a model that looked valid."""


class LoadCancelledError(EngineError):
    """The user cancelled a model load (not a failure)."""


class TemplateError(EngineError):
    """The model's chat template failed to render."""
