"""Check a GGUF before it is listed: header readable, architecture loadable by this llama.cpp."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.engine import ModelFacts, read_model_facts
from app.engine.llama_log import capture_llama_log
from quantize.llama_runtime import load_llama_backends

from .errors import UnsupportedModelError

_UNKNOWN_ARCH = re.compile(r"unknown model architecture: '([^']*)'")


def check_gguf(path: str | os.PathLike[str]) -> ModelFacts:
    """Read the header (ModelFileError when broken) and make sure llama.cpp can load the model's
    architecture and vocabulary (UnsupportedModelError otherwise). Tensors are not read."""
    facts = read_model_facts(path)
    problem = _vocab_only_load(Path(path))
    if problem is not None:
        arch = _UNKNOWN_ARCH.search(problem)
        if arch:
            raise UnsupportedModelError(
                f"{Path(path).name} uses the architecture '{arch.group(1)}', which this version "
                "of llama.cpp cannot run",
                "choose a model of a supported family (Qwen, Llama, Mistral, Gemma, ...) or "
                "update QwQ Desktop",
            )
        raise UnsupportedModelError(
            f"llama.cpp cannot load {Path(path).name}: {problem}",
            "the file may be damaged or made for a newer llama.cpp; download it again",
        )
    return facts


def _vocab_only_load(path: Path) -> str | None:
    """Load only the vocabulary with llama.cpp; return its error text, or None when it loads."""
    import llama_cpp

    load_llama_backends()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with capture_llama_log(quiet=True) as lines:
        model = llama_cpp.llama_model_load_from_file(str(path).encode("utf-8"), params)
    if model:
        llama_cpp.llama_model_free(model)
        return None
    errors = [line.strip() for line in lines if "error" in line.lower()]
    return errors[0].split("error loading model:")[-1].strip() if errors else "unknown error"
