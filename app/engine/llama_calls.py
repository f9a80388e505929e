"""The engine's calls into llama.cpp, through llama-cpp-python's public bindings.

Private parts of llama-cpp-python are used only where it has no public equivalent (tested on
the pinned version): ``Llama._init_sampler`` and the ``Llama._ctx`` wrapper its sampler samples
from (engine.py: a sampler chain that lives for the whole turn, where ``Llama.sample`` would
build a new, re-seeded one per token), and the model parameters' progress callback
(load_progress.py: ``Llama`` offers no hook for it).
"""

from __future__ import annotations

import gguf


def make_abort_callback(watched: list):
    """A ggml abort callback: true once ``watched[0]`` (an object with ``is_set()``, or None)
    is set. Keep a reference to it while llama.cpp may call it."""
    import llama_cpp

    @llama_cpp.ggml_abort_callback
    def abort(_data) -> bool:
        cancel = watched[0]
        return cancel is not None and cancel.is_set()

    return abort


def set_abort_callback(llama, callback) -> None:
    """Install ``callback`` as the abort callback of ``llama``'s context (None removes it)."""
    import llama_cpp

    llama_cpp.llama_set_abort_callback(llama.ctx, callback or llama_cpp.ggml_abort_callback(), None)


def model_vocab(llama):
    """The llama.cpp vocabulary of ``llama``'s model (for token pieces and end-of-generation)."""
    import llama_cpp

    return llama_cpp.llama_model_get_vocab(llama.model)


def clear_kv_memory(llama) -> None:
    """Empty the KV cache of ``llama``'s context."""
    import llama_cpp

    memory = llama_cpp.llama_get_memory(llama.ctx)
    if memory is not None:
        llama_cpp.llama_memory_clear(memory, True)


def kv_cache_ggml_type(name: str) -> int:
    """llama.cpp's type number for a KV cache type name ("f16", "q8_0", ...), from gguf."""
    return int(gguf.GGMLQuantizationType[name.upper()])
