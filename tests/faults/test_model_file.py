"""The model file deleted or replaced while it is loaded: the chat goes on with the loaded
model (its weights are memory-mapped: the open file stays readable), and a replaced file is
checked afresh at the next load, not trusted from the earlier verdict."""

from __future__ import annotations

import os
import shutil

import pytest

from app.engine import ChatEngine, LoadOptions
from app.engine.errors import ModelFileError
from app.engine.load_guard import DamagedModelError, ModelRefusedError
from tests.gguf_variants import with_duplicate_token

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def loaded(tiny_answer_gguf, tmp_path):
    path = tmp_path / "model.gguf"
    shutil.copy(tiny_answer_gguf, path)
    engine = ChatEngine.load(path, LoadOptions(for_gui=False, n_threads=1))
    assert engine.chat(QUESTION).answer == "Paris"
    yield path, engine
    engine.close()


def test_a_deleted_model_file_keeps_answering(loaded):
    path, engine = loaded
    path.unlink()
    assert engine.chat(QUESTION).answer == "Paris"
    with pytest.raises(ModelFileError) as gone:  # the next load says the file is missing
        ChatEngine.load(path, LoadOptions(for_gui=False, n_threads=1))
    assert gone.value.message == f"Model file not found: {path}"


def test_a_replaced_model_file_is_checked_again_at_the_next_load(loaded, tmp_path):
    """Replaced the way downloads and copies by name are (a new file renamed over it): the
    loaded model answers on; the next load opens the new file and asks llama.cpp again."""
    path, engine = loaded
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(path.read_bytes().replace(b"qwen2", b"qwenX"))  # llama.cpp refuses it
    os.replace(odd, path)
    assert engine.chat(QUESTION).answer == "Paris"
    with pytest.raises(ModelRefusedError) as refused:  # not the cached "ok" of the old file
        ChatEngine.load(path, LoadOptions(for_gui=False, n_threads=1))
    assert "unknown model architecture" in refused.value.message


def test_a_damaged_replacement_is_refused_at_the_next_load(loaded, tmp_path):
    path, engine = loaded
    damaged = with_duplicate_token(path, tmp_path / "dup.gguf")
    os.replace(damaged, path)
    assert engine.chat(QUESTION).answer == "Paris"
    with pytest.raises(DamagedModelError):
        ChatEngine.load(path, LoadOptions(for_gui=False, n_threads=1))
