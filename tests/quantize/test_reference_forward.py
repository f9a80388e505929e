"""The product's reference forward pass (quantize/validation/reference_forward.py): right for
every supported architecture, bounded in memory, and compared block by block with llama.cpp."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from quantize.convert import convert
from quantize.validation import validate
from quantize.validation.hf_source import HFSource, SourceError
from quantize.validation.llama_trace import run_traced
from quantize.validation.logits import logit_stats
from quantize.validation.reference_forward import ReferenceModel, Teacher
from quantize.validation.thresholds import MIN_CONFIDENT_POSITIONS, Thresholds
from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo, write_large_hf_repo
from tests.quantize.reference_forward import reference_logits
from tests.quantize.test_convert import ARCH_SPECS

TOKENS = list(range(5, 90))


def check(report, name: str = "reference forward"):
    return next(c for c in report.checks if c.name == name)


@pytest.mark.parametrize("name", list(ARCH_SPECS))
def test_matches_the_float64_test_pass(tmp_path, name):
    """Same logits as the tests' own float64 pass, reading weights in many small blocks."""
    repo = write_hf_repo(tmp_path / name, ARCH_SPECS[name])
    got = ReferenceModel(HFSource(repo.path), block_bytes=4096).forward(TOKENS).logits
    want = reference_logits(repo, TOKENS)
    assert float(np.abs(got - want).max() / np.abs(want).max()) < 1e-5


@pytest.mark.parametrize(
    "scaling",
    [
        {"rope_type": "linear", "factor": 2.0},
        {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32},
    ],
    ids=["linear", "yarn"],
)
def test_rope_scalings_agree_with_llama_cpp(tmp_path, scaling):
    repo = write_hf_repo(tmp_path / "m", HFRepoSpec(rope_scaling=scaling, rope_theta=1e4, seed=5))
    model = convert(repo.path, tmp_path / "m.gguf", "f32").path
    result = check(validate(model, repo.path, reference_tokens=128))
    assert result.passed, result.detail
    assert result.metrics["mean_kl"] < 1e-6
    assert result.metrics["worst_block_error"]["attention"]["error"] < 1e-3


def test_blocks_match_llama_cpp_given_the_same_input(tmp_path, qwen2_repo):
    """Teacher forcing: each block of an f32 conversion matches llama.cpp's to float precision,
    and the progress callback sees every byte the pass reads."""
    model = convert(qwen2_repo.path, tmp_path / "m.gguf", "f32").path
    trace = run_traced(model, TOKENS, positions=16)
    after_attention, after_layer = trace.residuals(2)
    teacher = Teacher(trace.embedding, after_attention, after_layer, trace.logits[:16])
    seen = []
    reference = ReferenceModel(HFSource(qwen2_repo.path), progress=lambda *a: seen.append(a))
    result = reference.forward(TOKENS, teacher)
    assert [d.where for d in result.deviations] == [
        "the token embedding",
        "blk.0 attention",
        "blk.0 feed-forward",
        "blk.1 attention",
        "blk.1 feed-forward",
        "the output head",
    ]
    assert max(d.error for d in result.deviations) < 2e-3  # llama.cpp's f16 KV cache
    assert seen[-1][0] == seen[-1][1] == reference.bytes_total == result.bytes_read
    assert logit_stats(result.logits, trace.logits, TOKENS).mean_kl < 1e-6


def test_peak_memory_is_one_block_plus_activations(tmp_path):
    """64 MB of bf16 weights (8 layers of 8.4 MB, 16.8 MB each in float32): the pass never
    holds more than a weight block and the activations, far less than one layer."""
    folder = write_large_hf_repo(tmp_path / "big", 64 * 10**6, n_shards=2, hidden=512, n_ff=2048)
    source = HFSource(folder)
    config = source.config
    layer_f32 = 2 * sum(t.nbytes for n, t in source.tensors.items() if ".layers.0." in n)
    assert config.n_layer == 8 and source.total_bytes > 7 * layer_f32 / 2
    tokens = list(range(64))
    block = 2**20
    activations = 4 * len(tokens) * (8 * max(config.n_ff, config.vocab_size) + 8 * config.hidden)
    tracemalloc.start()
    try:
        ReferenceModel(source, block_bytes=block).forward(tokens)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * block + activations, f"peak {peak / 2**20:.1f} MiB"
    assert peak < layer_f32 / 2


def test_confident_positions_only_judge_top_1():
    """Flat reference distributions: top-1 flips are counted but not judged; KL still is."""
    rng = np.random.default_rng(0)
    reference = rng.standard_normal((64, 50)).astype(np.float32) * 0.01
    model = reference + rng.standard_normal(reference.shape).astype(np.float32) * 0.01
    stats = logit_stats(reference, model, [i % 50 for i in range(64)])
    assert stats.top1_agreement < 0.9 and stats.n_confident == 0 and stats.top1_confident is None
    limits = Thresholds(max_mean_kl=0.01, min_top1=0.97, max_ppl_ratio=1.1)
    assert stats.problems(limits) == []
    assert "top-1 not judged: no confident position" in stats.summary()
    peaked = reference.copy()
    peaked[np.arange(64), np.arange(64) % 50] += 5.0  # confident everywhere
    flipped = peaked.copy()
    flipped[:32, 0] += 20.0  # half the positions now pick token 0
    stats = logit_stats(peaked, flipped, [i % 50 for i in range(64)])
    assert stats.n_confident == 64 >= MIN_CONFIDENT_POSITIONS
    assert any("top-1 agreement" in p for p in stats.problems(Thresholds(10.0, 0.97, 10.0)))


def test_unusable_sources_skip_the_check(tmp_path, qwen2_repo):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_bytes((qwen2_repo.path / name).read_bytes())
    with pytest.raises(SourceError, match="holds no safetensors"):
        HFSource(folder)
    model = convert(qwen2_repo.path, tmp_path / "m.gguf", "f16").path
    from quantize.validation.reference_check import check_reference_forward

    result = check_reference_forward(model, folder, Thresholds(1, 1, 1), "text " * 50)
    assert result.passed is None and "holds no safetensors" in result.detail
