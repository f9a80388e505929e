"""An independent numpy forward pass of a Hugging Face BERT sentence encoder.

Written from the equations of Hugging Face's BertModel (post-norm layers, exact erf GELU) and
sentence-transformers' mean pooling, in float64, on the safetensors weights. It shares no code
with the converter or llama.cpp.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

_erf = np.vectorize(math.erf)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


class BertReference:
    """Weights of one folder; ``embed(tokens)`` gives the normalised mean-pooled embedding."""

    def __init__(self, folder: Path) -> None:
        self.config = json.loads((folder / "config.json").read_text())
        raw = load_file(str(folder / "model.safetensors"))
        self.w = {k: v.astype(np.float64) for k, v in raw.items() if v.dtype.kind == "f"}

    def embed(self, tokens: list[int]) -> np.ndarray:
        cfg, w = self.config, self.w
        eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
        t = len(tokens)
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][:t]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def dense(h, name, p=p):
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            dim = x.shape[1] // heads
            q, k, v = (
                dense(x, f"attention.self.{n}").reshape(t, heads, dim)
                for n in ("query", "key", "value")
            )
            scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(dim)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = np.einsum("hqk,khd->qhd", scores, v).reshape(t, heads * dim)
            x = _layer_norm(
                x + dense(attn, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            h = dense(_gelu(dense(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(
                x + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps
            )
        pooled = x.mean(axis=0)
        return pooled / np.linalg.norm(pooled)
