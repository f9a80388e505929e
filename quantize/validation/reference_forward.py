"""A forward pass of the original Hugging Face checkpoint in numpy, without torch.

Written from the Hugging Face modelling code's equations (RMSNorm, rotate-half RoPE, grouped
query attention, SwiGLU; q/k/v biases and q/k norms where the checkpoint has them), on the
safetensors as hf_source reads them. It shares no code with the converter, so the converter's
name map, row permutations and hyper-parameters are tested, not assumed.

Memory: each weight matrix is read a block of rows at a time (``block_bytes`` of float32),
multiplied and dropped, so the pass holds one block plus the activations of the evaluated tokens
(the logits, tokens x vocabulary, are the largest), whatever the model's size.

Given a ``Teacher`` (llama.cpp's own residual stream on the first positions), every block also
runs on llama.cpp's input to that block, and the relative difference of the two outputs is kept
per block: the first block that differs much more than quantisation can explain is where a
conversion went wrong. The blocks run on the same weight blocks as the main stream (stacked
rows), so this costs no extra reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import rope
from .hf_source import HFSource, Scratch, StoredTensor

DEFAULT_BLOCK_BYTES = 64 * 2**20
ProgressFn = Callable[[int, int, str], None]  # (bytes read, bytes to read, where)


@dataclass(frozen=True)
class Variant:
    """A deliberate change of the computation, to test what a broken GGUF computes instead:
    another RoPE base, q/k rows of each head in llama.cpp's interleaved order, tensors used in
    each other's place (Hugging Face names without the layer prefix)."""

    rope_theta: float | None = None
    qk_order: str | None = None  # "interleaved" or "deinterleaved" (see reorder_heads)
    swap: tuple[tuple[str, str], ...] = ()

    def name(self, full: str) -> str:
        prefix, _, short = full.rpartition("layers.")
        layer, _, short = short.partition(".")
        for a, b in self.swap:
            if short == a:
                return f"{prefix}layers.{layer}.{b}"
            if short == b:
                return f"{prefix}layers.{layer}.{a}"
        return full


PLAIN = Variant()


@dataclass
class Teacher:
    """llama.cpp's residual stream on the first positions (each (positions, hidden)): the
    token embeddings, after each layer's attention (``ffn_inp``) and after each layer
    (``l_out``), and its logits there."""

    embedding: np.ndarray | None
    after_attention: list[np.ndarray]
    after_layer: list[np.ndarray]
    logits: np.ndarray

    @property
    def n_positions(self) -> int:
        return self.logits.shape[0]

    def block_input(self, stage: str, layer: int) -> np.ndarray | None:
        """llama.cpp's input to a block (None for layer 0 without a captured embedding)."""
        if stage == "feed-forward":
            return self.after_attention[layer]
        if layer > 0:
            return self.after_layer[layer - 1]
        return self.embedding

    def block_after(self, stage: str, layer: int) -> np.ndarray:
        """llama.cpp's residual stream after a block."""
        return (self.after_layer if stage == "feed-forward" else self.after_attention)[layer]


@dataclass(frozen=True)
class BlockDeviation:
    """Relative RMS difference of one block's output from the reference's, given the same
    input; ``layer`` is None for the embedding and the output head."""

    stage: str  # "embedding", "attention", "feed-forward", "output"
    layer: int | None
    error: float

    @property
    def where(self) -> str:
        if self.layer is None:
            return {"embedding": "the token embedding", "output": "the output head"}[self.stage]
        return f"blk.{self.layer} {self.stage}"


@dataclass
class ForwardResult:
    logits: np.ndarray  # (tokens, vocabulary), float32
    deviations: list[BlockDeviation] = field(default_factory=list)
    layer_seconds: list[float] = field(default_factory=list)
    head_seconds: float = 0.0
    bytes_read: int = 0
    read_seconds: float = 0.0  # of the seconds above, reading weights and widening them


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    scale = float(np.sqrt(np.mean(np.square(want, dtype=np.float64))))
    diff = float(np.sqrt(np.mean(np.square(got - want, dtype=np.float64))))
    return diff / scale if scale else (0.0 if diff == 0 else float("inf"))


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + eps) * weight


class ReferenceModel:
    """Runs the checkpoint of ``source`` block by block (see the module's docstring)."""

    def __init__(
        self,
        source: HFSource,
        *,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        progress: ProgressFn | None = None,
    ) -> None:
        self.source = source
        self.config = source.config
        self.block_bytes = block_bytes
        self.progress = progress
        self.scratch = Scratch(block_bytes)
        self.bytes_read = 0
        self.read_seconds = 0.0  # reading and widening to float32, of the whole pass
        head = "model.embed_tokens" if self.config.tie_embeddings else "lm_head"
        self.head_name = head + ".weight"
        self.bytes_total = sum(
            t.nbytes for n, t in source.tensors.items() if n != "model.embed_tokens.weight"
        ) + (source.tensor(self.head_name).nbytes if self.config.tie_embeddings else 0)

    # --- weights ---------------------------------------------------------------------------

    def _read(self, tensor: StoredTensor, start: int, stop: int, where: str) -> np.ndarray:
        """Rows of ``tensor`` as float32, in the scratch buffers (used before the next read)."""
        started = time.perf_counter()
        rows = tensor.rows(start, stop, self.scratch)
        self.read_seconds += time.perf_counter() - started
        self.bytes_read += (stop - start) * tensor.nbytes // tensor.n_rows
        if self.progress is not None:
            self.progress(min(self.bytes_read, self.bytes_total), self.bytes_total, where)
        return rows

    def _vector(self, name: str, where: str) -> np.ndarray:
        return self._read(self.source.tensor(name), 0, 1, where).reshape(-1).copy()

    def _linear(self, name: str, x: np.ndarray, where: str) -> np.ndarray:
        """x @ W.T (+ bias) for the weight ``name`` (without ".weight"), a block at a time."""
        weight = self.source.tensor(name + ".weight")
        out = np.empty((x.shape[0], weight.n_rows), np.float32)
        for start, stop in weight.blocks(self.block_bytes):
            out[:, start:stop] = x @ self._read(weight, start, stop, where).T
        if name + ".bias" in self.source:
            out += self._vector(name + ".bias", where)
        return out

    # --- blocks ----------------------------------------------------------------------------

    def embed(self, tokens: list[int]) -> np.ndarray:
        return self.source.tensor("model.embed_tokens.weight").take(tokens)

    def attention(
        self, layer: int, xs: list[np.ndarray], variant: Variant = PLAIN
    ) -> list[np.ndarray]:
        """What the attention block of ``layer`` adds to each residual stream in ``xs`` (each
        a run of positions from 0)."""
        c, p, where = self.config, f"model.layers.{layer}.", f"blk.{layer}"
        norm = self._vector(variant.name(p + "input_layernorm.weight"), where)
        h = np.concatenate([rms_norm(x, norm, c.rms_eps) for x in xs])
        q, k, v = (self._linear(variant.name(p + f"self_attn.{n}_proj"), h, where) for n in "qkv")
        if variant.qk_order:
            q, k = (reorder_heads(t, c.head_dim, variant.qk_order) for t in (q, k))
        q = q.reshape(-1, c.n_head, c.head_dim)
        k = k.reshape(-1, c.n_kv_head, c.head_dim)
        if p + "self_attn.q_norm.weight" in self.source:  # Qwen3: per-head norms before RoPE
            q = rms_norm(q, self._vector(p + "self_attn.q_norm.weight", where), c.rms_eps)
            k = rms_norm(k, self._vector(p + "self_attn.k_norm.weight", where), c.rms_eps)
        freqs, factor = rope.inv_freq(c, variant.rope_theta)
        cos, sin = rope.tables(freqs, factor, max(x.shape[0] for x in xs))
        outs, start = [], 0
        for x in xs:
            n, stop = x.shape[0], start + x.shape[0]
            qs = rope.rotate(q[start:stop], cos[:n], sin[:n])
            ks = rope.rotate(k[start:stop], cos[:n], sin[:n])
            outs.append(self._attend(qs, ks, v[start:stop].reshape(n, -1, c.head_dim)))
            start = stop
        o = self._linear(variant.name(p + "self_attn.o_proj"), np.concatenate(outs), where)
        return _split(o, xs)

    def _attend(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Causal grouped-query attention; q (T, heads, dim), k and v (T, kv heads, dim)."""
        c = self.config
        n, group = q.shape[0], c.n_head // c.n_kv_head
        future = np.triu(np.ones((n, n), dtype=bool), k=1)
        out = np.empty((n, c.n_head, c.head_dim), np.float32)
        for g in range(c.n_kv_head):  # one key/value head (and its query heads) at a time
            heads = slice(g * group, (g + 1) * group)
            scores = np.matmul(q[:, heads].transpose(1, 0, 2), k[:, g].T) / np.sqrt(c.head_dim)
            scores[:, future] = -np.inf
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            out[:, heads] = np.matmul(scores, v[:, g]).transpose(1, 0, 2)
        return out.reshape(n, -1)

    def feed_forward(
        self, layer: int, xs: list[np.ndarray], variant: Variant = PLAIN
    ) -> list[np.ndarray]:
        """What the SwiGLU block of ``layer`` adds to each residual stream in ``xs``."""
        c, p, where = self.config, f"model.layers.{layer}.", f"blk.{layer}"
        norm = self._vector(variant.name(p + "post_attention_layernorm.weight"), where)
        h = np.concatenate([rms_norm(x, norm, c.rms_eps) for x in xs])
        gate = self._linear(variant.name(p + "mlp.gate_proj"), h, where)
        gate *= 1.0 / (1.0 + np.exp(-gate))  # SiLU
        gate *= self._linear(variant.name(p + "mlp.up_proj"), h, where)
        return _split(self._linear(variant.name(p + "mlp.down_proj"), gate, where), xs)

    def head(self, xs: list[np.ndarray], weight: str | None = None) -> list[np.ndarray]:
        """Logits of each stream: final norm, then the output matrix (``weight``, by default
        the checkpoint's own) a block at a time."""
        norm = self._vector("model.norm.weight", "output")
        h = np.concatenate([rms_norm(x, norm, self.config.rms_eps) for x in xs])
        name = (weight or self.head_name).removesuffix(".weight")
        return _split(self._linear(name, h, "output"), xs)

    # --- the whole pass --------------------------------------------------------------------

    def forward(self, tokens: list[int], teacher: Teacher | None = None) -> ForwardResult:
        """Logits for ``tokens`` (and, with a teacher, each block's deviation from it)."""
        result = ForwardResult(logits=np.empty((0, 0), np.float32))
        x = self.embed(tokens)
        if teacher is not None and teacher.embedding is not None:
            error = relative_error(teacher.embedding, x[: teacher.n_positions])
            result.deviations.append(BlockDeviation("embedding", None, error))
        blocks = (("attention", self.attention), ("feed-forward", self.feed_forward))
        for layer in range(self.config.n_layer):
            started = time.perf_counter()
            for stage, block in blocks:
                if teacher is None:
                    x = x + block(layer, [x])[0]
                    continue
                given = teacher.block_input(stage, layer)
                given = x[: teacher.n_positions] if given is None else given
                delta, given_delta = block(layer, [x, given])
                x = x + delta
                llama_delta = teacher.block_after(stage, layer) - given
                error = relative_error(llama_delta, given_delta)
                result.deviations.append(BlockDeviation(stage, layer, error))
            result.layer_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        if teacher is None:
            (result.logits,) = self.head([x])
        else:
            result.logits, given_logits = self.head([x, teacher.after_layer[-1]])
            error = relative_error(teacher.logits, given_logits)
            result.deviations.append(BlockDeviation("output", None, error))
        result.head_seconds = time.perf_counter() - started
        result.bytes_read, result.read_seconds = self.bytes_read, self.read_seconds
        return result


def _split(stacked: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """Undo np.concatenate(like) on the rows of ``stacked``."""
    bounds = np.cumsum([x.shape[0] for x in like])[:-1]
    return np.split(stacked, bounds)


def reorder_heads(x: np.ndarray, head_dim: int, order: str) -> np.ndarray:
    """Reorder the columns of each head of q or k. "interleaved": from halves (0..d/2-1,
    d/2..d-1) to adjacent pairs (0, d/2, 1, d/2+1, ...), the rows llama.cpp's Llama graph wants,
    so rotate-half RoPE on the result is what llama.cpp computes when a converter permutes rows
    it should not; "deinterleaved" the reverse (pairs rotated as adjacent when they should not
    be). Attention scores do not depend on a common order of q and k, only on RoPE's pairing."""
    half = head_dim // 2
    pairs = np.arange(head_dim).reshape(2, half).T.reshape(-1)  # 0, h, 1, h+1, ...
    within = pairs if order == "interleaved" else np.argsort(pairs)
    heads = x.shape[1] // head_dim
    return x[:, (np.arange(heads)[:, None] * head_dim + within).reshape(-1)]
