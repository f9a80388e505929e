"""Run a GGUF through llama.cpp on given token ids and keep, besides the logits of every
position, its residual stream on the first positions: the token embeddings, the stream after
each layer's attention (``ffn_inp-N``) and after each layer (``l_out-N``). They are taken with
llama.cpp's graph evaluation callback, through the public low-level bindings, as the graph
computes them: the reference pass then runs each of its blocks on llama.cpp's own input.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import QuantizeToolError
from ..llama_log import captured_llama_log, error_lines
from ..llama_runtime import load_llama_backends

# Graph tensors of the residual stream in llama.cpp's qwen2, qwen3 and llama graphs.
_WANTED = re.compile(r"^(embd|inp_embd|ffn_inp-\d+|l_out-\d+)$")
_GGML_TYPE_F32 = 0


class _TensorHead(ctypes.Structure):
    """The leading fields of ggml's ``struct ggml_tensor`` (stable across ggml versions)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),
    ]


@dataclass
class LlamaTrace:
    logits: np.ndarray  # (tokens, vocabulary)
    states: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (positions, hidden)
    n_embd: int = 0

    @property
    def embedding(self) -> np.ndarray | None:
        """The token embeddings, when the graph names them as expected."""
        found = self.states.get("inp_embd", self.states.get("embd"))
        return found if found is not None and found.shape[1] == self.n_embd else None

    def residuals(self, n_layer: int) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
        """(after attention, after layer) per layer, or None when the graph did not name them
        so (another architecture's graph)."""
        names = [(f"ffn_inp-{i}", f"l_out-{i}") for i in range(n_layer)]
        if not all(a in self.states and b in self.states for a, b in names):
            return None
        return [self.states[a] for a, _ in names], [self.states[b] for _, b in names]


def _ggml():
    from llama_cpp import _ggml

    lib = _ggml.libggml
    lib.ggml_get_name.restype = ctypes.c_char_p
    lib.ggml_get_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_tensor_get.restype = None
    lib.ggml_backend_tensor_get.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_size_t,
    ]
    return lib


def run_traced(
    path: Path, tokens: list[int], *, positions: int, threads: int | None = None
) -> LlamaTrace:
    """Evaluate ``tokens`` with the GGUF at ``path`` (CPU, one sequence from position 0);
    keep the residual stream of the first ``positions`` tokens. RuntimeError when llama.cpp
    cannot load or run the model."""
    import llama_cpp

    load_llama_backends()
    lib = _ggml()
    n = len(tokens)
    states: dict[str, np.ndarray] = {}
    caught: list[BaseException] = []

    @llama_cpp.ggml_backend_sched_eval_callback
    def observe(tensor, ask, _user_data):
        try:
            name = lib.ggml_get_name(tensor).decode()
            wanted = bool(_WANTED.match(name)) and name not in states
            if ask or not wanted:
                return wanted if ask else True
            head = _TensorHead.from_address(tensor)
            width, rows = head.ne[0], min(positions, head.ne[1])
            if head.type == _GGML_TYPE_F32 and head.nb[1] == 4 * width:
                out = np.empty((rows, width), np.float32)
                lib.ggml_backend_tensor_get(tensor, out.ctypes.data, 0, out.nbytes)
                states[name] = out
        except BaseException as exc:  # ctypes would swallow it: keep it for after the run
            caught.append(exc)
            return False  # stop computing the graph (a stop request lands here too)
        return True

    model_params = llama_cpp.llama_model_default_params()
    model_params.n_gpu_layers = 0
    with captured_llama_log() as log:
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), model_params)
        if not model:
            raise RuntimeError(f"cannot load {path.name}: {error_lines(log)}")
        try:
            params = llama_cpp.llama_context_default_params()
            params.n_ctx = params.n_batch = n
            params.n_ubatch = min(n, 512)
            params.cb_eval = observe
            if threads:
                params.n_threads = params.n_threads_batch = threads
            ctx = llama_cpp.llama_init_from_model(model, params)
            if not ctx:
                raise RuntimeError(f"cannot create a context for {path.name}: {error_lines(log)}")
            try:
                logits = _decode(llama_cpp, ctx, model, tokens, log, caught)
                n_embd = llama_cpp.llama_model_n_embd(model)
            finally:
                llama_cpp.llama_free(ctx)
        finally:
            llama_cpp.llama_model_free(model)
    return LlamaTrace(logits, states, n_embd)


def _decode(
    llama_cpp, ctx, model, tokens: list[int], log: list[str], caught: list[BaseException]
) -> np.ndarray:
    """Decode ``tokens`` in one batch; re-raise what the graph callback caught (a stop request
    as it is, anything else as RuntimeError)."""
    n = len(tokens)
    batch = llama_cpp.llama_batch_init(n, 0, 1)
    try:
        batch.n_tokens = n
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, i, 1
            batch.seq_id[i][0], batch.logits[i] = 0, True
        status = llama_cpp.llama_decode(ctx, batch)
        if caught and isinstance(caught[0], KeyboardInterrupt | QuantizeToolError):
            raise caught[0]
        if caught:
            raise RuntimeError(f"reading llama.cpp's graph failed: {caught[0]!r}")
        if status != 0:
            raise RuntimeError(f"llama_decode failed: {error_lines(log)}")
        n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        data = llama_cpp.llama_get_logits(ctx)
        return np.ctypeslib.as_array(data, shape=(n, n_vocab)).copy()
    finally:
        llama_cpp.llama_batch_free(batch)
