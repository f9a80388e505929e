"""Rotary position embedding as the Hugging Face models compute it (rotate-half), with the
frequency scalings their config.json can ask for: linear, dynamic (inactive within the trained
length), Llama 3.1's and YaRN."""

from __future__ import annotations

import math

import numpy as np

from .hf_source import SourceConfig


def inv_freq(config: SourceConfig, theta: float | None = None) -> tuple[np.ndarray, float]:
    """(inverse frequency per rotated pair, factor on cos and sin) for ``config``; ``theta``
    replaces config.json's rope_theta (to test what a GGUF with another base computes)."""
    base = config.rope_theta if theta is None else theta
    dim = config.head_dim
    inv = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    scaling = config.rope_scaling or {}
    kind = config.rope_type
    if kind == "linear":
        return inv / float(scaling["factor"]), 1.0
    if kind == "llama3":
        return _llama3(inv, scaling), 1.0
    if kind == "yarn":
        return _yarn(inv, base, dim, scaling, config.max_positions)
    return inv, 1.0  # default, and dynamic NTK (which only acts beyond the trained length)


def _llama3(inv: np.ndarray, scaling: dict) -> np.ndarray:
    factor = float(scaling["factor"])
    low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
    old = float(scaling["original_max_position_embeddings"])
    wavelen = 2 * math.pi / inv
    smooth = (old / wavelen - low) / (high - low)
    scaled = np.where(wavelen > old / low, inv / factor, inv)
    mid = (wavelen >= old / high) & (wavelen <= old / low)
    return np.where(mid, (1 - smooth) * inv / factor + smooth * inv, scaled)


def _yarn(
    inv: np.ndarray, base: float, dim: int, scaling: dict, max_positions: int
) -> tuple[np.ndarray, float]:
    factor = float(scaling["factor"])
    old = float(scaling.get("original_max_position_embeddings") or max_positions)
    fast, slow = float(scaling.get("beta_fast") or 32), float(scaling.get("beta_slow") or 1)

    def correction_dim(rotations: float) -> float:
        return dim * math.log(old / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(correction_dim(fast)), 0)
    high = min(math.ceil(correction_dim(slow)), dim - 1)
    ramp = np.clip((np.arange(dim // 2) - low) / max(high - low, 1e-3), 0, 1)
    extrapolate = 1 - ramp
    mixed = inv / factor * (1 - extrapolate) + inv * extrapolate
    attention = scaling.get("attention_factor")
    if attention is None:
        attention = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    return mixed, float(attention)


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate (T, heads, dim) by per-position tables (T, dim/2): the first half of each head
    pairs with the second (Hugging Face's rotate_half)."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    c, s = cos[:, None, :], sin[:, None, :]
    return np.concatenate([a * c - b * s, b * c + a * s], axis=-1)


def tables(freqs: np.ndarray, factor: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin (n, dim/2) in float32 for positions 0..n-1."""
    angles = np.arange(n, dtype=np.float64)[:, None] * freqs[None, :]
    return (np.cos(angles) * factor).astype(np.float32), (np.sin(angles) * factor).astype(
        np.float32
    )
