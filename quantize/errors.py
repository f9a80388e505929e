"""The project's one error type, at the bottom of every layer, and the quantisation tool's errors.

``UserFacingError`` is what a person reads: ``message`` (what went wrong), ``hint`` (what to
try), ``expected`` (False: a bug, whose ``details`` hold the traceback) and ``actions``: what
the user can do about it as data (``Action("load", "Load with 8K context", {"n_ctx": 8192})``),
never sentences to be parsed back. The quantisation tool's errors derive from it here; the
app's (``app.errors.AppError``: engine, store, model manager) derive from it too, so a GUI, a
terminal or a log renders every error from the same fields. The object itself travels between
threads (a signal carries the exception), never its text.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass(frozen=True)
class Action:
    """Something the user can do about an error: ``kind`` says what (the code that offers it
    decides whether it can), ``label`` how a button or a line names it, ``params`` with what.

    Kinds in use: "load" (``n_ctx``, optionally ``kv_cache_type``: load the same model so),
    "quantization" (``quant``: a smaller file), "free-memory"; the GUI adds its own
    ("open-models", "choose-file", "reload-model")."""

    kind: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


class UserFacingError(Exception):
    """An error for a person: ``str(error)`` is the message and the hint; render the fields."""

    expected: bool = True  # class default; False marks a bug

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        actions: Iterable[Action] = (),
        expected: bool | None = None,
        details: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or None
        self.actions: tuple[Action, ...] = tuple(actions)
        if expected is not None:
            self.expected = expected
        self.details = details

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message

    def text(self) -> str:
        """Message and hint as sentences: "The file is damaged. Download it again."."""
        parts = [_sentence(self.message)]
        if self.hint:
            parts.append(_sentence(self.hint[:1].upper() + self.hint[1:]))
        return " ".join(parts)


class InternalError(UserFacingError):
    """A bug (an exception nobody expected), told as a sentence; ``details`` holds the
    traceback for a "details" section, never shown bare."""

    expected = False


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def format_error(error: UserFacingError, hint_label: str = "hint") -> str:
    """How a terminal shows an error: ``error: MESSAGE`` and ``  hint: HINT`` below it."""
    lines = [f"error: {error.message}"]
    hint = error.hint
    if hint and hint.lower().startswith(hint_label.lower() + " "):
        hint = hint[len(hint_label) + 1 :]  # "try: try a smaller…" reads as a stammer
    if hint:
        lines.append(f"  {hint_label}: {hint}")
    return "\n".join(lines)


def print_error(error: UserFacingError, file: TextIO | None = None, hint_label: str = "hint"):
    """Print ``format_error(error)`` to ``file`` (standard error by default)."""
    print(format_error(error, hint_label), file=file or sys.stderr)


class QuantizeToolError(UserFacingError):
    """Base class of the quantisation tool's errors: ``message`` says what is wrong, ``hint``
    what the user can do."""


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
