"""Check a GGUF before it is listed: header, metadata and vocabulary sound, and llama.cpp able
to open it (in a child process, so a file that crashes llama.cpp cannot take the app down)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from app.engine import ModelFacts
from app.engine.load_guard import ModelRefusedError, guard_model_file

from .errors import UnsupportedModelError

_UNKNOWN_ARCH = re.compile(r"unknown model architecture: '([^']*)'")


def check_gguf(
    path: str | os.PathLike[str], *, should_stop: Callable[[], bool] | None = None
) -> ModelFacts:
    """The model's facts once the file passed app.engine.load_guard: ModelFileError (or its
    DamagedModelError) for a broken or damaged file, ModelCrashError when llama.cpp crashed or
    hung on it, UnsupportedModelError when llama.cpp refuses it (an unknown architecture, a
    newer format). Tensor data is not read."""
    try:
        return guard_model_file(path, should_stop=should_stop).facts
    except ModelRefusedError as exc:
        name = Path(path).name
        arch = _UNKNOWN_ARCH.search(exc.llama_error)
        if arch:
            raise UnsupportedModelError(
                f"{name} uses the architecture '{arch.group(1)}', which this version "
                "of llama.cpp cannot run",
                "choose a model of a supported family (Qwen, Llama, Mistral, Gemma, ...) or "
                "update QwQ Desktop",
                details=exc.details,
            ) from exc
        raise UnsupportedModelError(
            f"llama.cpp cannot load {name}: {exc.llama_error or 'no reason given'}",
            "the file may be damaged or made for a newer llama.cpp; download it again",
            details=exc.details,
        ) from exc
