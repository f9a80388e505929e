"""Typed errors of the quantisation tool: each says what went wrong and what to do about it."""

from __future__ import annotations


class QuantizeToolError(Exception):
    """Base class: ``message`` says what is wrong, ``hint`` what the user can do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ModelRepoError(QuantizeToolError):
    """The Hugging Face model folder is incomplete or inconsistent (config, index, shards)."""


class TokenizerError(QuantizeToolError):
    """The tokenizer files are missing or of a kind the converter cannot carry over faithfully."""


class UnsupportedArchitectureError(QuantizeToolError):
    """config.json names an architecture the converter does not know."""


class InsufficientDiskError(QuantizeToolError):
    """Not enough free disk space for the file about to be written."""


class QuantizationError(QuantizeToolError):
    """llama.cpp refused or failed to quantise the model."""


class GGUFInputError(QuantizeToolError):
    """A GGUF file given to the tool cannot be read or is not what the command needs."""
