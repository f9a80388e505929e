"""Typed, user-facing engine errors. Each message says what happened and what to do."""

from __future__ import annotations

from app.errors import AppError


class EngineError(AppError):
    """Base class for expected engine failures (bad file, not enough memory, ...)."""


class ModelFileError(EngineError):
    """The model file is missing, unreadable or not a GGUF llama.cpp can use."""


class ModelFileChangedError(ModelFileError):
    """The loaded model's file was truncated or rewritten on disk: its memory-mapped weights
    can no longer be trusted (or read at all), so no turn runs on them."""


class InsufficientMemoryError(EngineError):
    """The memory planner refuses: the model does not fit. ``actions`` say what would, as data:
    ``Action("load", "Load with 8K context", {"n_ctx": 8192})`` (``kv_cache_type`` too where a
    quantised KV cache is what fits), or "quantization" / "free-memory" when no setting of
    this file fits."""

    @property
    def alternatives(self) -> list[str]:
        """The actions' labels (for a report; act on ``actions``)."""
        return [action.label for action in self.actions]


class ContextOverflowError(EngineError):
    """Even the newest message alone does not fit in the context window."""


class ModelLoadError(EngineError):
    """llama.cpp failed to load a model that looked valid."""


class LoadCancelledError(EngineError):
    """The user cancelled a model load (not a failure)."""


class TemplateError(EngineError):
    """The model's chat template failed to render."""


class TurnError(EngineError):
    """llama.cpp failed in the middle of a chat turn (``details``: its last log lines)."""


class DraftModelError(EngineError):
    """The draft model cannot draft for this model (another vocabulary)."""
