"""Conversion: safetensors -> GGUF checked against an independent numpy forward pass."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
from llama_cpp import Llama

import quantize.convert as convert_module
from quantize.convert import convert
from quantize.llama_runtime import load_llama_backends
from tests.fixtures.hf_repo import HFRepoSpec, from_bf16_bits, write_hf_repo
from tests.quantize.gguf_edit import copy_gguf
from tests.quantize.reference_forward import reference_logits

PROMPT = (
    "The capital of France is Paris. def add(a, b):\n    return a + b\n"
    "Bonjour le monde, ça va très bien. Numbers: 1 2 3 42 2024. "
) * 2
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}
ARCH_SPECS = {
    "qwen2": HFRepoSpec(),
    "qwen2-tied-one-file": HFRepoSpec(tie_embeddings=True, n_shards=1, seed=3),
    "qwen3": HFRepoSpec(architecture="Qwen3ForCausalLM", head_dim=32, seed=1),
    "llama3": HFRepoSpec(
        architecture="LlamaForCausalLM", rope_theta=500000.0, rope_scaling=LLAMA3_ROPE, seed=2
    ),
    "mistral": HFRepoSpec(architecture="MistralForCausalLM", n_kv_head=4, seed=4),
}


def llama_logits(path, text: str = PROMPT) -> tuple[list[int], np.ndarray]:
    load_llama_backends()  # raw llama-cpp-python, as the app's engine does it
    llm = Llama(str(path), n_ctx=256, n_batch=256, logits_all=True, verbose=False, n_threads=2)
    try:
        tokens = llm.tokenize(text.encode(), add_bos=False)
        llm.eval(tokens)
        return tokens, np.array(llm.scores[: len(tokens)])
    finally:
        llm.close()


def max_error(got: np.ndarray, want: np.ndarray) -> float:
    """Largest logit difference relative to the largest logit."""
    return float(np.abs(got - want).max() / np.abs(want).max())


TOLERANCE = 2e-3  # llama.cpp keeps the KV cache in f16; everything else is float32


@pytest.mark.parametrize("name", list(ARCH_SPECS))
def test_f32_gguf_matches_numpy_forward_pass(tmp_path, name):
    repo = write_hf_repo(tmp_path / name, ARCH_SPECS[name])
    result = convert(repo.path, tmp_path / "model.gguf", "f32")
    tokens, got = llama_logits(result.path)
    assert len(tokens) > 60  # long enough for RoPE to matter
    want = reference_logits(repo, tokens)
    assert max_error(got, want) < TOLERANCE
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_forward_check_detects_a_wrong_rope_base(tmp_path, qwen2_repo):
    """The comparison above has teeth: a GGUF differing only in rope theta fails it."""
    good = convert(qwen2_repo.path, tmp_path / "good.gguf", "f32").path
    bad = copy_gguf(good, tmp_path / "bad.gguf", set_values={"qwen2.rope.freq_base": 10000.0})
    tokens, got = llama_logits(bad)
    assert max_error(got, reference_logits(qwen2_repo, tokens)) > 10 * TOLERANCE


def test_llama_needs_the_qk_permutation(tmp_path, monkeypatch):
    repo = write_hf_repo(tmp_path / "llama", ARCH_SPECS["llama3"])
    monkeypatch.setattr(convert_module, "qk_row_order", lambda hp, name: None)
    convert(repo.path, tmp_path / "unpermuted.gguf", "f32")
    tokens, got = llama_logits(tmp_path / "unpermuted.gguf")
    assert max_error(got, reference_logits(repo, tokens)) > 10 * TOLERANCE


def test_bf16_output_keeps_the_exact_bits(tmp_path, qwen2_repo):
    path = convert(qwen2_repo.path, tmp_path / "m.gguf", "bf16").path
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    emb = tensors["token_embd.weight"]
    assert emb.tensor_type == gguf.GGMLQuantizationType.BF16
    values = from_bf16_bits(np.asarray(emb.data).view(np.uint16).reshape(-1))
    want = qwen2_repo.weights["model.embed_tokens.weight"].reshape(-1)
    assert np.array_equal(values, want)
    norm = tensors["blk.0.attn_norm.weight"]  # 1-D tensors stay F32
    assert norm.tensor_type == gguf.GGMLQuantizationType.F32
    assert np.array_equal(
        np.asarray(norm.data), qwen2_repo.weights["model.layers.0.input_layernorm.weight"]
    )


def test_f16_output_and_file_type(tmp_path, qwen2_repo):
    path = convert(qwen2_repo.path, tmp_path / "m.gguf", "f16").path
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_F16
    q = next(t for t in reader.tensors if t.name == "blk.1.attn_q.weight")
    assert q.tensor_type == gguf.GGMLQuantizationType.F16
    want = qwen2_repo.weights["model.layers.1.self_attn.q_proj.weight"]
    np.testing.assert_allclose(np.asarray(q.data).reshape(want.shape), want, rtol=1e-3, atol=1e-4)


def test_block_size_does_not_change_the_output(tmp_path, qwen2_repo):
    """Streaming in tiny blocks (many per tensor) writes the same bytes as large blocks."""
    small = convert(qwen2_repo.path, tmp_path / "small.gguf", "f32", chunk_bytes=1000).path
    large = convert(qwen2_repo.path, tmp_path / "large.gguf", "f32", chunk_bytes=1 << 30).path
    assert small.read_bytes() == large.read_bytes()


def test_metadata_tokenizer_and_template(tmp_path, qwen2_repo):
    path = convert(qwen2_repo.path, tmp_path / "m.gguf").path
    reader = gguf.GGUFReader(path)

    def value(key):
        return reader.fields[key].contents()

    cfg = qwen2_repo.config
    assert value("general.architecture") == "qwen2"
    assert value("general.name")
    assert value("qwen2.context_length") == cfg["max_position_embeddings"]
    assert value("qwen2.rope.freq_base") == pytest.approx(cfg["rope_theta"])
    assert value("qwen2.attention.head_count_kv") == cfg["num_key_value_heads"]
    assert value("tokenizer.ggml.model") == "gpt2"
    assert value("tokenizer.ggml.pre") == "qwen2"
    assert len(value("tokenizer.ggml.tokens")) == cfg["vocab_size"]
    assert value("tokenizer.ggml.eos_token_id") == cfg["eos_token_id"]
    assert value("tokenizer.ggml.add_bos_token") is False
    types = value("tokenizer.ggml.token_type")
    tokens = value("tokenizer.ggml.tokens")
    assert types[tokens.index("<|im_end|>")] == gguf.TokenType.CONTROL
    assert types[tokens.index("<think>")] == gguf.TokenType.USER_DEFINED
    assert types[-1] == gguf.TokenType.UNUSED  # padding up to config.json's vocab_size
    assert value("tokenizer.chat_template") == qwen2_repo.spec.chat_template
    assert value("general.sampling.temp") == pytest.approx(0.6)  # from generation_config.json


def test_source_folder_is_recorded_relative_to_the_output(tmp_path, qwen2_repo):
    """validate finds tokenizer.json through this record when it is given no --source."""
    from quantize.convert import SOURCE_DIR_KEY
    from quantize.gguf_reader import GGUFHeader

    path = convert(qwen2_repo.path, tmp_path / "out" / "m.gguf", "f16").path
    recorded = GGUFHeader(path).value(SOURCE_DIR_KEY)
    assert not Path(recorded).is_absolute()
    assert (path.parent / recorded).resolve() == qwen2_repo.path.resolve()
