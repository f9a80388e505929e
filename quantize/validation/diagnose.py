"""Name what a broken GGUF got wrong.

The reference pass gives, per block, how far llama.cpp's output is from the original weights'
given the same input; the first block beyond the limit is where the conversion went wrong. That
block is then recomputed with the mistakes a converter makes (tensors of the same shape in each
other's place, q/k rows in the wrong rotary order, the GGUF's own RoPE base): a variant that
reproduces llama.cpp's output names the mistake.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import combinations

import numpy as np

from .gguf_file import GGUFFile
from .reference_forward import BlockDeviation, ReferenceModel, Teacher, Variant, relative_error

# Hugging Face projection -> llama.cpp's name for it (for messages only).
GGUF_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
BLOCK_TENSORS = {
    "attention": ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"),
    "feed-forward": ("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"),
}


def first_divergence(deviations: list[BlockDeviation], limit: float) -> BlockDeviation | None:
    return next((d for d in deviations if not d.error <= limit), None)


def describe(deviation: BlockDeviation, limit: float) -> str:
    return (
        f"{deviation.where} differs from the original weights by {deviation.error:.0%} given "
        f"the same input (limit {limit:.0%})"
    )


def explain(
    model: ReferenceModel,
    teacher: Teacher,
    tokens: list[int],
    deviation: BlockDeviation,
    gguf: GGUFFile,
    limit: float,
) -> str | None:
    """The mistake whose variant reproduces llama.cpp's output of the diverging block best
    (within ``limit``, or at least three times closer than the plain block), else None."""
    best: tuple[float, str] | None = None
    for error, why in _trials(model, teacher, tokens, deviation, gguf):
        if (error <= limit or error < deviation.error / 3) and (best is None or error < best[0]):
            best = (error, why)
    return best[1] if best else None


def _trials(
    model: ReferenceModel,
    teacher: Teacher,
    tokens: list[int],
    deviation: BlockDeviation,
    gguf: GGUFFile,
) -> Iterator[tuple[float, str]]:
    n, source = teacher.n_positions, model.source
    if deviation.stage == "embedding" and "lm_head.weight" in source:
        wrong = source.tensor("lm_head.weight").take(tokens[:n])
        why = "the GGUF's token_embd holds lm_head (swapped tensors: a wrong name map?)"
        yield relative_error(teacher.embedding, wrong), why
        return
    if deviation.stage == "output":
        if "lm_head.weight" in source and not model.config.tie_embeddings:
            (wrong,) = model.head([teacher.after_layer[-1]], weight="model.embed_tokens.weight")
            why = "the GGUF's output holds embed_tokens (swapped tensors: a wrong name map?)"
            yield relative_error(teacher.logits, wrong), why
        return
    layer, stage = deviation.layer, deviation.stage
    given = teacher.block_input(stage, layer)
    given = model.embed(tokens[:n]) if given is None else given
    want = teacher.block_after(stage, layer) - given
    block = model.attention if stage == "attention" else model.feed_forward
    for variant, why in _variants(model, layer, stage, gguf):
        yield relative_error(want, block(layer, [given], variant)[0]), why


def _variants(
    model: ReferenceModel, layer: int, stage: str, gguf: GGUFFile
) -> Iterator[tuple[Variant, str]]:
    config, arch = model.config, gguf.architecture
    if stage == "attention":
        theta = gguf.arch_value("rope.freq_base")
        if isinstance(theta, int | float) and not math.isclose(theta, config.rope_theta):
            yield (
                Variant(rope_theta=float(theta)),
                f"wrong RoPE base: the GGUF's {arch}.rope.freq_base is {theta:g}, config.json's "
                f"rope_theta {config.rope_theta:g}",
            )
        yield (
            Variant(qk_order="interleaved"),
            f"wrong Q/K row order: attn_q/attn_k rows of each head are permuted into adjacent "
            f"rotary pairs, which llama.cpp's {arch} graph does not expect",
        )
        yield (
            Variant(qk_order="deinterleaved"),
            f"wrong Q/K row order: llama.cpp's {arch} graph rotates adjacent rows of attn_q/"
            f"attn_k, but they were left in Hugging Face's order (halves rotated together)",
        )
    prefix = f"model.layers.{layer}."
    for a, b in combinations(BLOCK_TENSORS[stage], 2):
        if source_shape(model, prefix + a) == source_shape(model, prefix + b):
            yield (
                Variant(swap=((a, b),)),
                f"swapped tensors: the GGUF's blk.{layer}.{GGUF_NAMES[a]} holds {b} and "
                f"{GGUF_NAMES[b]} holds {a} (a wrong name map?)",
            )


def source_shape(model: ReferenceModel, name: str) -> tuple[int, ...]:
    return model.source.tensor(name + ".weight").shape


def worst(deviations: list[BlockDeviation]) -> dict:
    """The largest deviation per stage, for the report's metrics."""
    out: dict[str, dict] = {}
    for d in deviations:
        if d.stage not in out or d.error > out[d.stage]["error"]:
            out[d.stage] = {"where": d.where, "error": float(np.round(d.error, 6))}
    return out
