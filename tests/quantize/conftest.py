"""Fixtures of the quantisation tool's tests: tiny Hugging Face repos and their GGUFs.

Session-scoped so each model is generated, converted and quantised once per test run.
"""

from __future__ import annotations

import pytest

from quantize.convert import convert
from quantize.quantizer import quantize
from quantize.validation.texts import EVALUATION_TEXT
from tests.fixtures.hf_repo import HFRepo, HFRepoSpec, write_hf_repo

# Rows of 256 let llama.cpp's k-quants (256-wide blocks) apply instead of their fallbacks.
QUANT_SPEC = HFRepoSpec(hidden=256, n_ff=512, n_head=4, n_kv_head=2, learned_text=EVALUATION_TEXT)


@pytest.fixture(scope="session")
def qwen2_repo(tmp_path_factory) -> HFRepo:
    """A tiny Qwen2 repository (two bf16 shards with an index)."""
    return write_hf_repo(tmp_path_factory.mktemp("hf") / "tiny-qwen2", HFRepoSpec())


@pytest.fixture(scope="session")
def quant_repo(tmp_path_factory) -> HFRepo:
    """A Qwen2 repository wide enough for k-quants, which predicts the evaluation text."""
    return write_hf_repo(tmp_path_factory.mktemp("hf") / "QwQ-tiny", QUANT_SPEC)


@pytest.fixture(scope="session")
def quant_bf16(quant_repo, tmp_path_factory):
    return convert(quant_repo.path, tmp_path_factory.mktemp("gguf") / "tiny-bf16.gguf").path


@pytest.fixture(scope="session")
def quant_q4(quant_bf16, tmp_path_factory):
    out = tmp_path_factory.mktemp("gguf") / "tiny-q4_k_m.gguf"
    return quantize(quant_bf16, out, "Q4_K_M").path
