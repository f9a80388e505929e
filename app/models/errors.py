"""Typed, user-facing errors of the model manager (same shape as the engine's: message + hint)."""

from __future__ import annotations

from app.errors import AppError


class ModelsError(AppError):
    """Base class of expected model-manager failures."""


class ModelNotInstalledError(ModelsError):
    """No installed model has the given name."""


class UnsupportedModelError(ModelsError):
    """The file is a readable GGUF, but this build of llama.cpp cannot load its architecture."""


class ModelFileMissingError(ModelsError):
    """An installed model's file was moved or deleted outside the app."""


class VerificationFailedError(ModelsError):
    """An installed model's sha256 no longer matches the value recorded when it was installed."""
