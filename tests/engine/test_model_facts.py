"""Model facts from the GGUF header, and clear errors for files that are not usable models."""

import pytest

from app.engine import ModelFileError, read_model_facts


def test_tiny_qwen_facts(tiny_answer_gguf):
    f = read_model_facts(tiny_answer_gguf)
    assert f.architecture == "qwen2"
    assert (f.n_layer, f.n_head, f.n_kv_head, f.head_dim) == (2, 4, 2, 32)
    assert f.context_length == 4096
    assert f.quant_type == "F32"
    assert f.is_reasoning
    assert "<|im_start|>" in f.chat_template
    assert f.special_tokens["<|im_end|>"] == f.eos_token_id
    assert f.eos_text == "<|im_end|>"
    assert f.tensor_bytes > 0 and f.parameters > 0


def test_gemma_facts(gemma_gguf):
    f = read_model_facts(gemma_gguf)
    assert f.architecture == "gemma3"
    assert f.quant_type == "Q4_K_M"
    assert (f.n_layer, f.n_kv_head, f.head_dim) == (18, 1, 256)
    assert f.chat_template is None and not f.is_reasoning
    assert 260e6 < f.parameters < 280e6
    assert f.add_bos and f.bos_text == "<bos>"


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        read_model_facts(tmp_path / "nope.gguf")


def test_folder_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="Not a file"):
        read_model_facts(tmp_path)


def test_non_gguf_file(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelFileError, match="not a GGUF") as info:
        read_model_facts(bad)
    assert "qwq-quantize" in str(info.value)


def test_truncated_gguf(tmp_path, tiny_answer_gguf):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_answer_gguf.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="damaged or truncated"):
        read_model_facts(cut)
