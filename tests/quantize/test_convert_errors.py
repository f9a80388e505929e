"""Bad inputs: a clear typed error, and no output file (an existing one stays untouched)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from quantize.checkpoint import INDEX_NAME
from quantize.convert import convert
from quantize.errors import (
    ModelRepoError,
    QuantizeToolError,
    TokenizerError,
    UnsupportedArchitectureError,
)
from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo


@pytest.fixture
def repo(tmp_path):
    return write_hf_repo(tmp_path / "repo", HFRepoSpec()).path


def edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def convert_fails(repo, tmp_path, error, match):
    out = tmp_path / "out" / "model.gguf"
    with pytest.raises(error, match=match) as info:
        convert(repo, out)
    assert info.value.hint, "every error tells the user what to do"
    leftovers = list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_index_naming_the_wrong_shard(repo, tmp_path):
    def move(index):
        name = next(iter(index["weight_map"]))
        shards = sorted(set(index["weight_map"].values()))
        other = [s for s in shards if s != index["weight_map"][name]][0]
        index["weight_map"][name] = other

    edit_json(repo / INDEX_NAME, move)
    convert_fails(repo, tmp_path, ModelRepoError, "does not hold it")


def test_index_missing_a_tensor_the_shard_holds(repo, tmp_path):
    edit_json(repo / INDEX_NAME, lambda index: index["weight_map"].pop("model.norm.weight"))
    convert_fails(repo, tmp_path, ModelRepoError, "does not list: model.norm.weight")


def test_index_total_size_disagrees(repo, tmp_path):
    edit_json(repo / INDEX_NAME, lambda index: index["metadata"].update(total_size=12345))
    convert_fails(repo, tmp_path, ModelRepoError, "total_size 12345")


def test_missing_shard(repo, tmp_path):
    next(repo.glob("model-00002-*.safetensors")).unlink()
    convert_fails(repo, tmp_path, ModelRepoError, "missing")


def test_truncated_shard(repo, tmp_path):
    shard = next(repo.glob("model-00002-*.safetensors"))
    os.truncate(shard, shard.stat().st_size - 100)
    convert_fails(repo, tmp_path, ModelRepoError, "truncated")


def test_no_weights_at_all(repo, tmp_path):
    for f in repo.glob("*.safetensors"):
        f.unlink()
    (repo / INDEX_NAME).unlink()
    convert_fails(repo, tmp_path, ModelRepoError, "no .safetensors")


def test_missing_tokenizer(repo, tmp_path):
    (repo / "tokenizer.json").unlink()
    convert_fails(repo, tmp_path, TokenizerError, "no tokenizer.json")


def test_missing_tokenizer_config(repo, tmp_path):
    (repo / "tokenizer_config.json").unlink()
    convert_fails(repo, tmp_path, TokenizerError, "no tokenizer_config.json")


def test_unknown_pre_tokenizer_pattern(repo, tmp_path):
    def change(tok):
        tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\w+|\s+"

    edit_json(repo / "tokenizer.json", change)
    convert_fails(repo, tmp_path, TokenizerError, "pattern llama.cpp does not implement")


def test_unsupported_architecture(repo, tmp_path):
    edit_json(repo / "config.json", lambda c: c.update(architectures=["GPT2LMHeadModel"]))
    convert_fails(repo, tmp_path, UnsupportedArchitectureError, "GPT2LMHeadModel")


def test_config_disagrees_with_weights(repo, tmp_path):
    edit_json(repo / "config.json", lambda c: c.update(intermediate_size=96))
    convert_fails(repo, tmp_path, ModelRepoError, "config.json implies")


def test_missing_config(repo, tmp_path):
    (repo / "config.json").unlink()
    convert_fails(repo, tmp_path, ModelRepoError, "no config.json")


def test_failed_conversion_keeps_the_previous_output(repo, tmp_path):
    out = tmp_path / "model.gguf"
    out.write_bytes(b"previous good file")
    shutil.copy(repo / "tokenizer.json", tmp_path / "tok.json")
    (repo / "tokenizer.json").unlink()
    with pytest.raises(QuantizeToolError):
        convert(repo, out)
    assert out.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf", "repo", "tok.json"]


def test_interrupted_conversion_leaves_no_file(repo, tmp_path):
    out = tmp_path / "model.gguf"

    def interrupt(done, total, name):
        if done > total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(repo, out, "f32", chunk_bytes=4096, progress=interrupt)
    assert list(tmp_path.glob("*.gguf*")) == [] and list(tmp_path.glob(".*")) == []
