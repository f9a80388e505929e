"""What each supported Hugging Face architecture means in GGUF terms.

One table drives both directions: the converter uses it to name, reshape and permute tensors and
to write hyper-parameters; the validator uses the same expectations to check a GGUF against
config.json. Qwen2 (QwQ-32B, Qwen2.5), Qwen3 and the Llama family share almost everything;
BERT (sentence-embedding encoders such as all-MiniLM-L6-v2) has its own tensor set and keys.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from .errors import ModelRepoError, UnsupportedArchitectureError


@dataclass(frozen=True)
class ArchSpec:
    """How one Hugging Face architecture maps onto a llama.cpp architecture."""

    gguf_arch: gguf.MODEL_ARCH
    qkv_bias: bool  # q/k/v projections carry biases (Qwen2)
    qk_norm: bool  # per-head RMS norm of q and k before RoPE (Qwen3)
    permute_qk: bool  # llama.cpp's llama graph rotates interleaved pairs, HF rotates halves
    encoder: bool = False  # a bidirectional text encoder for embeddings (BERT), not a chat model

    @property
    def name(self) -> str:
        return gguf.MODEL_ARCH_NAMES[self.gguf_arch]


QWEN2 = ArchSpec(gguf.MODEL_ARCH.QWEN2, qkv_bias=True, qk_norm=False, permute_qk=False)
QWEN3 = ArchSpec(gguf.MODEL_ARCH.QWEN3, qkv_bias=False, qk_norm=True, permute_qk=False)
LLAMA = ArchSpec(gguf.MODEL_ARCH.LLAMA, qkv_bias=False, qk_norm=False, permute_qk=True)
BERT = ArchSpec(gguf.MODEL_ARCH.BERT, qkv_bias=True, qk_norm=False, permute_qk=False, encoder=True)

ARCHITECTURES: dict[str, ArchSpec] = {
    "Qwen2ForCausalLM": QWEN2,
    "Qwen3ForCausalLM": QWEN3,
    "LlamaForCausalLM": LLAMA,
    "MistralForCausalLM": LLAMA,
    "BertModel": BERT,
}
# Tensors some checkpoints carry that llama.cpp recomputes itself or does not use (BERT's
# position ids buffer and the pooler of next-sentence prediction: embeddings pool by mean/CLS).
IGNORED_SUFFIXES = (
    "rotary_emb.inv_freq",
    "embeddings.position_ids",
    "pooler.dense.weight",
    "pooler.dense.bias",
)
# Tensors llama.cpp reads only in F32 whatever the output type (looked up, never matmul'd).
F32_TENSORS = ("position_embd.weight", "token_types.weight")


@dataclass(frozen=True)
class HParams:
    """The hyper-parameters of config.json that shape the GGUF."""

    hf_arch: str
    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_kv_head: int
    head_dim: int
    vocab_size: int
    context_length: int
    rope_theta: float
    rms_eps: float
    tie_embeddings: bool
    rope_scaling: dict | None
    type_vocab_size: int = 0  # BERT's segment (token type) embeddings

    @property
    def spec(self) -> ArchSpec:
        return ARCHITECTURES[self.hf_arch]


def load_config(folder: str | Path) -> dict:
    """config.json of a model folder, with a clear error when absent or malformed."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise ModelRepoError(
            f"{folder} has no config.json", "Point the command at a Hugging Face model folder."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelRepoError(f"config.json is unreadable: {exc}", "Download it again.") from exc


def hparams_from_config(config: dict) -> HParams:
    """Parse and check config.json; raise UnsupportedArchitectureError for unknown models."""
    names = config.get("architectures") or []
    hf_arch = next((n for n in names if n in ARCHITECTURES), None)
    if hf_arch is None:
        raise UnsupportedArchitectureError(
            f"architecture {', '.join(names) or '(none given)'} is not supported",
            f"Supported: {', '.join(ARCHITECTURES)}.",
        )
    if ARCHITECTURES[hf_arch].encoder:
        return _encoder_hparams(hf_arch, config)
    if config.get("attention_bias") or config.get("mlp_bias"):
        raise UnsupportedArchitectureError(
            f"{hf_arch} with attention_bias/mlp_bias is not supported",
            "Only the standard bias-free Llama layout is converted.",
        )
    try:
        n_head = int(config["num_attention_heads"])
        n_embd = int(config["hidden_size"])
        params = HParams(
            hf_arch=hf_arch,
            n_layer=int(config["num_hidden_layers"]),
            n_embd=n_embd,
            n_ff=int(config["intermediate_size"]),
            n_head=n_head,
            n_kv_head=int(config.get("num_key_value_heads") or n_head),
            head_dim=int(config.get("head_dim") or n_embd // n_head),
            vocab_size=int(config["vocab_size"]),
            context_length=int(config["max_position_embeddings"]),
            rope_theta=float(config.get("rope_theta", 10000.0)),
            rms_eps=float(config["rms_norm_eps"]),
            tie_embeddings=bool(config.get("tie_word_embeddings", False)),
            rope_scaling=config.get("rope_scaling") or None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelRepoError(
            f"config.json lacks or mangles a required field: {exc}", "Download it again."
        ) from exc
    rope_type = rope_scaling_type(params)
    if rope_type not in (None, "linear", "yarn", "llama3"):
        raise UnsupportedArchitectureError(
            f"rope_scaling type {rope_type!r} is not supported",
            "Supported: none, linear, yarn, llama3.",
        )
    if rope_type == "llama3" and not params.spec.permute_qk:
        raise UnsupportedArchitectureError("llama3 rope scaling is only valid for Llama models")
    return params


def _encoder_hparams(hf_arch: str, config: dict) -> HParams:
    """config.json of a BERT encoder (absolute positions, GELU, layer norms with biases)."""
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedArchitectureError(
            f"BERT with {config['position_embedding_type']} position embeddings is not supported",
            "Only BERT with absolute position embeddings is converted.",
        )
    if config.get("hidden_act", "gelu") != "gelu" or config.get("is_decoder"):
        raise UnsupportedArchitectureError(
            f"BERT with hidden_act {config.get('hidden_act')!r} or as a decoder is not supported",
            "Only the standard BERT encoder (GELU) is converted.",
        )
    try:
        n_head, n_embd = int(config["num_attention_heads"]), int(config["hidden_size"])
        return HParams(
            hf_arch=hf_arch,
            n_layer=int(config["num_hidden_layers"]),
            n_embd=n_embd,
            n_ff=int(config["intermediate_size"]),
            n_head=n_head,
            n_kv_head=n_head,
            head_dim=n_embd // n_head,
            vocab_size=int(config["vocab_size"]),
            context_length=int(config["max_position_embeddings"]),
            rope_theta=0.0,
            rms_eps=float(config.get("layer_norm_eps", 1e-12)),  # a layer norm's epsilon here
            tie_embeddings=False,
            rope_scaling=None,
            type_vocab_size=int(config.get("type_vocab_size", 2)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelRepoError(
            f"config.json lacks or mangles a required field: {exc}", "Download it again."
        ) from exc


def encoder_pooling(folder: str | Path) -> gguf.PoolingType:
    """How a sentence-transformers folder pools token states (modules.json, 1_Pooling): mean
    unless its pooling config says CLS; llama.cpp applies it when embedding."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        path = next(m["path"] for m in modules if str(m.get("type", "")).endswith("Pooling"))
        pooling = json.loads((folder / path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, StopIteration, KeyError, TypeError):
        return gguf.PoolingType.MEAN  # plain BERT folders: mean pooling is the common choice
    if pooling.get("pooling_mode_cls_token") and not pooling.get("pooling_mode_mean_tokens"):
        return gguf.PoolingType.CLS
    return gguf.PoolingType.MEAN


def rope_scaling_type(hp: HParams) -> str | None:
    if not hp.rope_scaling:
        return None
    kind = hp.rope_scaling.get("rope_type") or hp.rope_scaling.get("type")
    return None if kind == "default" else kind


def expected_tensors(hp: HParams) -> dict[str, tuple[int, ...]]:
    """Every GGUF tensor the config implies, with its shape in row-major (numpy) order."""
    spec = hp.spec
    if spec.encoder:
        return _encoder_tensors(hp)
    q_dim, kv_dim = hp.n_head * hp.head_dim, hp.n_kv_head * hp.head_dim
    shapes: dict[str, tuple[int, ...]] = {
        "token_embd.weight": (hp.vocab_size, hp.n_embd),
        "output_norm.weight": (hp.n_embd,),
    }
    if not hp.tie_embeddings:
        shapes["output.weight"] = (hp.vocab_size, hp.n_embd)
    if rope_scaling_type(hp) == "llama3":
        shapes["rope_freqs.weight"] = (hp.head_dim // 2,)
    for i in range(hp.n_layer):
        b = f"blk.{i}."
        shapes.update(
            {
                b + "attn_norm.weight": (hp.n_embd,),
                b + "attn_q.weight": (q_dim, hp.n_embd),
                b + "attn_k.weight": (kv_dim, hp.n_embd),
                b + "attn_v.weight": (kv_dim, hp.n_embd),
                b + "attn_output.weight": (hp.n_embd, q_dim),
                b + "ffn_norm.weight": (hp.n_embd,),
                b + "ffn_gate.weight": (hp.n_ff, hp.n_embd),
                b + "ffn_up.weight": (hp.n_ff, hp.n_embd),
                b + "ffn_down.weight": (hp.n_embd, hp.n_ff),
            }
        )
        if spec.qkv_bias:
            shapes.update(
                {
                    b + "attn_q.bias": (q_dim,),
                    b + "attn_k.bias": (kv_dim,),
                    b + "attn_v.bias": (kv_dim,),
                }
            )
        if spec.qk_norm:
            shapes.update(
                {b + "attn_q_norm.weight": (hp.head_dim,), b + "attn_k_norm.weight": (hp.head_dim,)}
            )
    return shapes


def _encoder_tensors(hp: HParams) -> dict[str, tuple[int, ...]]:
    """BERT's tensors: embeddings (token, type, position) with a norm, then post-norm layers."""
    d, ff = hp.n_embd, hp.n_ff
    shapes: dict[str, tuple[int, ...]] = {
        "token_embd.weight": (hp.vocab_size, d),
        "token_types.weight": (hp.type_vocab_size, d),
        "position_embd.weight": (hp.context_length, d),
        "token_embd_norm.weight": (d,),
        "token_embd_norm.bias": (d,),
    }
    for i in range(hp.n_layer):
        b = f"blk.{i}."
        for name, shape in (
            ("attn_q", (d, d)),
            ("attn_k", (d, d)),
            ("attn_v", (d, d)),
            ("attn_output", (d, d)),
            ("ffn_up", (ff, d)),
            ("ffn_down", (d, ff)),
        ):
            shapes[b + name + ".weight"] = shape
            shapes[b + name + ".bias"] = (shape[0],)
        for norm in ("attn_output_norm", "layer_output_norm"):
            shapes[b + norm + ".weight"] = (d,)
            shapes[b + norm + ".bias"] = (d,)
    return shapes


def gguf_name_map(hp: HParams) -> gguf.TensorNameMap:
    return gguf.get_tensor_name_map(hp.spec.gguf_arch, hp.n_layer)


def gguf_name(name_map: gguf.TensorNameMap, hf_name: str) -> str | None:
    """GGUF name of a Hugging Face tensor, or None when gguf's maps do not know it."""
    return name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))


def qk_row_order(hp: HParams, gguf_tensor: str) -> np.ndarray | None:
    """Row permutation llama.cpp's Llama graph needs for q/k (None when rows stay in place).

    HF rotates the two halves of each head; llama.cpp's llama graph rotates adjacent pairs, so
    output row 2j of a head takes input row j and row 2j+1 takes row j + head_dim/2.
    """
    if not hp.spec.permute_qk:
        return None
    if gguf_tensor.endswith(("attn_q.weight", "attn_q.bias")):
        heads = hp.n_head
    elif gguf_tensor.endswith(("attn_k.weight", "attn_k.bias")):
        heads = hp.n_kv_head
    else:
        return None
    half = hp.head_dim // 2
    within = np.arange(hp.head_dim).reshape(2, half).T.reshape(-1)  # 0, h, 1, h+1, ...
    return (np.arange(heads)[:, None] * hp.head_dim + within[None, :]).reshape(-1)


def llama3_rope_factors(hp: HParams) -> np.ndarray:
    """Per-frequency divisors of Llama 3.1's rope scaling (llama.cpp's rope_freqs tensor)."""
    cfg = hp.rope_scaling or {}
    factor = float(cfg.get("factor", 8.0))
    low, high = float(cfg.get("low_freq_factor", 1.0)), float(cfg.get("high_freq_factor", 4.0))
    old_ctx = float(cfg.get("original_max_position_embeddings", 8192))
    freqs = 1.0 / hp.rope_theta ** (np.arange(0, hp.head_dim, 2, dtype=np.float64) / hp.head_dim)
    wavelen = 2 * math.pi / freqs
    smooth = (old_ctx / wavelen - low) / (high - low)
    factors = 1.0 / ((1 - smooth) / factor + smooth)
    factors = np.where(wavelen < old_ctx / high, 1.0, factors)
    factors = np.where(wavelen > old_ctx / low, factor, factors)
    return factors.astype(np.float32)


def add_hparams(writer: gguf.GGUFWriter, hp: HParams) -> None:
    """Write the architecture's hyper-parameters (llm.* keys) to a GGUF writer."""
    writer.add_context_length(hp.context_length)
    writer.add_embedding_length(hp.n_embd)
    writer.add_block_count(hp.n_layer)
    writer.add_feed_forward_length(hp.n_ff)
    writer.add_head_count(hp.n_head)
    if hp.spec.encoder:  # BERT: layer norms, attention in both directions, no RoPE
        writer.add_layer_norm_eps(hp.rms_eps)
        writer.add_causal_attention(False)
        writer.add_vocab_size(hp.vocab_size)
        return
    writer.add_head_count_kv(hp.n_kv_head)
    writer.add_rope_freq_base(hp.rope_theta)
    writer.add_layer_norm_rms_eps(hp.rms_eps)
    writer.add_vocab_size(hp.vocab_size)
    if hp.head_dim != hp.n_embd // hp.n_head or hp.spec.qk_norm:
        writer.add_key_length(hp.head_dim)
        writer.add_value_length(hp.head_dim)
    if hp.spec.permute_qk:
        writer.add_rope_dimension_count(hp.head_dim)
    kind = rope_scaling_type(hp)
    cfg = hp.rope_scaling or {}
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(cfg["factor"]))
    elif kind == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(cfg["factor"]))
        writer.add_rope_scaling_orig_ctx_len(int(cfg["original_max_position_embeddings"]))
