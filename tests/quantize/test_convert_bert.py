"""BERT/WordPiece conversion: the real all-MiniLM-L6-v2 becomes an embedding GGUF that
llama.cpp tokenises like Hugging Face and embeds like an independent numpy forward pass."""

from __future__ import annotations

import json
import shutil

import gguf
import numpy as np
import pytest
from llama_cpp import Llama
from tokenizers import Tokenizer

from quantize.convert import convert
from quantize.errors import TokenizerError, UnsupportedArchitectureError
from quantize.llama_runtime import load_llama_backends
from tests.quantize.bert_reference import BertReference
from tests.quantize.minilm import extract_minilm

TEXTS = [
    "The cat sits on the mat.",
    "Hello World! Ünïcödé café résumé, naïve 42 test-case x=3.",
    "Indexing a folder of PDFs must never thrash the disk; retrieval cites the page.",
    "def add(a, b):\n    return a + b  # source code, with SYMBOLS & punctuation!?",
]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    return extract_minilm(tmp_path_factory.mktemp("minilm"))


@pytest.fixture(scope="module")
def minilm_f32(minilm, tmp_path_factory):
    return convert(minilm, tmp_path_factory.mktemp("gguf") / "minilm-f32.gguf", "f32").path


def _llama(path) -> Llama:
    load_llama_backends()
    return Llama(
        str(path), embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2, verbose=False
    )


def test_minilm_gguf_matches_numpy_forward_pass(minilm, minilm_f32):
    reference = BertReference(minilm)
    hf = Tokenizer.from_file(str(minilm / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    llm = _llama(minilm_f32)
    try:
        for text in TEXTS:
            tokens = llm.tokenize(text.encode(), add_bos=True)
            assert tokens == hf.encode(text).ids  # WordPiece as Hugging Face does it
            got = np.array(llm.embed(text, normalize=True))
            want = reference.embed(tokens)
            # ggml's GELU is the tanh approximation and the attention runs partly in f16.
            assert float(got @ want) > 0.9999
            assert np.abs(got - want).max() < 5e-3
    finally:
        llm.close()


def test_minilm_metadata(minilm_f32):
    reader = gguf.GGUFReader(minilm_f32)

    def value(key):
        return reader.fields[key].contents()

    assert value("general.architecture") == "bert"
    assert value("bert.pooling_type") == gguf.PoolingType.MEAN
    assert value("bert.attention.causal") is False
    assert value("tokenizer.ggml.model") == "bert"
    assert value("tokenizer.ggml.normalizer.lowercase") is True
    tokens = value("tokenizer.ggml.tokens")
    assert tokens[101] == "[CLS]" and tokens[1996] == "\u2581the"
    types = {t.name: t.tensor_type for t in reader.tensors}
    assert types["position_embd.weight"] == gguf.GGMLQuantizationType.F32
    assert "embeddings.position_ids" not in types


def test_f16_minilm_ranks_like_the_reference(minilm, tmp_path):
    path = convert(minilm, tmp_path / "minilm-f16.gguf", "f16").path
    llm = _llama(path)
    try:
        vectors = np.array(llm.embed(TEXTS, normalize=True))
    finally:
        llm.close()
    reference = BertReference(minilm)
    hf = Tokenizer.from_file(str(minilm / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    want = np.stack([reference.embed(hf.encode(t).ids) for t in TEXTS])
    assert (np.sum(vectors * want, axis=1) > 0.999).all()


def test_unsupported_bert_variants_are_refused(minilm, tmp_path):
    folder = tmp_path / "variant"
    shutil.copytree(minilm, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(
        json.dumps({**config, "position_embedding_type": "relative_key"})
    )
    with pytest.raises(UnsupportedArchitectureError, match="relative_key"):
        convert(folder, tmp_path / "out.gguf", "f16")
    (folder / "config.json").write_text(json.dumps(config))
    raw = json.loads((folder / "tokenizer.json").read_text())
    raw["pre_tokenizer"] = {"type": "Whitespace"}
    (folder / "tokenizer.json").write_text(json.dumps(raw))
    with pytest.raises(TokenizerError, match="BertPreTokenizer"):
        convert(folder, tmp_path / "out.gguf", "f16")
    assert not (tmp_path / "out.gguf").exists()
