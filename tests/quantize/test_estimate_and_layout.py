"""Pure computations: QwQ-32B's sizes, the Llama q/k permutation, bf16 rounding."""

from __future__ import annotations

import numpy as np
import pytest

from quantize.architectures import hparams_from_config, qk_row_order
from quantize.convert import float32_to_bf16_bits
from quantize.estimate import estimate

# QwQ-32B's config.json (the fields that matter).
QWQ_32B = {
    "architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 5120,
    "intermediate_size": 27648,
    "num_hidden_layers": 64,
    "num_attention_heads": 40,
    "num_key_value_heads": 8,
    "max_position_embeddings": 40960,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-05,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
}


def test_qwq_32b_estimate_matches_the_published_sizes():
    est = estimate(
        hparams_from_config(QWQ_32B),
        "Q4_K_M",
        "bf16",
        shard_bytes=65_527_752_704,
        download_bytes=65_527_752_704,
        free_bytes=10**12,
        threads=8,
    )
    assert est.n_params == pytest.approx(32.76e9, rel=0.005)
    assert est.converted_bytes == pytest.approx(65.5e9, rel=0.005)  # the bf16 GGUF
    assert est.quantized_bytes == pytest.approx(19.85e9, rel=0.03)  # Qwen's official Q4_K_M
    assert est.largest_tensor == 152064 * 5120
    text = est.render("Q4_K_M", "bf16", done=set())
    assert "65.5 GB to download" in text and "19." in text


def test_qk_permutation_is_llama_cpp_s_pair_layout():
    """Same as reshape(heads, 2, dim/2, ...).swapaxes(1, 2), the layout llama.cpp expects."""
    config = {
        **QWQ_32B,
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    }
    hp = hparams_from_config(config)
    w = np.arange(64 * 3).reshape(64, 3)
    expected = w.reshape(4, 2, 8, 3).swapaxes(1, 2).reshape(64, 3)
    assert np.array_equal(w[qk_row_order(hp, "blk.0.attn_q.weight")], expected)
    k = w[:32]
    expected_k = k.reshape(2, 2, 8, 3).swapaxes(1, 2).reshape(32, 3)
    assert np.array_equal(k[qk_row_order(hp, "blk.3.attn_k.weight")], expected_k)
    assert qk_row_order(hp, "blk.0.attn_v.weight") is None
    assert qk_row_order(hparams_from_config(QWQ_32B), "blk.0.attn_q.weight") is None


def test_bf16_rounding_is_nearest_even():
    values = np.array(
        [1.0, 1.00390625, 1.005859375, 1.0078125, -2.5e-3, np.inf, np.nan], np.float32
    )
    bits = float32_to_bf16_bits(values)
    back = (bits.astype(np.uint32) << 16).view(np.float32)
    assert back[0] == 1.0
    assert back[1] == 1.0  # exactly halfway: ties to the even mantissa
    assert back[2] == np.float32(1.0078125)  # above halfway rounds up
    assert back[3] == np.float32(1.0078125)
    assert abs(back[4] + 2.5e-3) < 1e-5 and np.isinf(back[5]) and np.isnan(back[6])
