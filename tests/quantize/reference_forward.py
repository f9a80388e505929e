"""An independent numpy forward pass of a Hugging Face Qwen2 / Qwen3 / Llama checkpoint.

Written from the Hugging Face modelling code's equations (RMSNorm, rotate-half RoPE, grouped
query attention, SwiGLU), in float64, on the exact values the fixture stored. It shares no code
with the converter, so agreement with llama.cpp running the converted GGUF shows the conversion
(names, layouts, permutations, metadata) is right.
"""

from __future__ import annotations

import numpy as np

from tests.fixtures.hf_repo import HFRepo


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def _rope(x: np.ndarray, inv_freq: np.ndarray) -> np.ndarray:
    """x: (T, heads, dim); rotate the two halves of each head (HF's rotate_half)."""
    pos = np.arange(x.shape[0], dtype=np.float64)
    angles = pos[:, None] * inv_freq[None, :]
    cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :]
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def _inv_freq(repo: HFRepo) -> np.ndarray:
    spec = repo.spec
    dim = spec.dim
    inv = 1.0 / spec.rope_theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    scaling = spec.rope_scaling or {}
    if scaling.get("rope_type") == "llama3":  # Llama 3.1: stretch the low frequencies
        factor, low, high = (
            scaling["factor"],
            scaling["low_freq_factor"],
            scaling["high_freq_factor"],
        )
        old = scaling["original_max_position_embeddings"]
        wavelen = 2 * np.pi / inv
        smooth = (old / wavelen - low) / (high - low)
        scaled = np.where(wavelen > old / low, inv / factor, inv)
        mid = (wavelen >= old / high) & (wavelen <= old / low)
        inv = np.where(mid, (1 - smooth) * inv / factor + smooth * inv, scaled)
    return inv


def reference_logits(repo: HFRepo, tokens: list[int]) -> np.ndarray:
    """Logits (T, vocab) for ``tokens`` computed from the Hugging Face weights."""
    spec, w = repo.spec, {k: v.astype(np.float64) for k, v in repo.weights.items()}
    eps, dim, t = spec.rms_eps, spec.dim, len(tokens)
    inv_freq = _inv_freq(repo)
    group = spec.n_head // spec.n_kv_head
    mask = np.triu(np.full((t, t), -np.inf), k=1)
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(spec.n_layer):
        p = f"model.layers.{i}."
        h = _rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = h @ w[p + "self_attn.q_proj.weight"].T
        k = h @ w[p + "self_attn.k_proj.weight"].T
        v = h @ w[p + "self_attn.v_proj.weight"].T
        if spec.qkv_bias:
            q = q + w[p + "self_attn.q_proj.bias"]
            k = k + w[p + "self_attn.k_proj.bias"]
            v = v + w[p + "self_attn.v_proj.bias"]
        q = q.reshape(t, spec.n_head, dim)
        k = k.reshape(t, spec.n_kv_head, dim)
        v = v.reshape(t, spec.n_kv_head, dim)
        if spec.qk_norm:
            q = _rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = _rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = _rope(q, inv_freq), _rope(k, inv_freq)
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(dim) + mask
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attn = np.einsum("hqk,khd->qhd", scores, v).reshape(t, spec.n_head * dim)
        x = x + attn @ w[p + "self_attn.o_proj.weight"].T
        h = _rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    x = _rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if spec.tie_embeddings else w["lm_head.weight"]
    return x @ head.T
