"""The model file deleted or replaced while it is loaded: the chat goes on with the loaded
model (its weights are memory-mapped: the open file stays readable), and a replaced file is
checked afresh at the next load, not trusted from the earlier verdict. The file truncated or
rewritten in place: the next turn is refused with a message, llama.cpp's map is not read."""

from __future__ import annotations

import os
import shutil

import pytest

from app.engine import ChatEngine, LoadOptions, TextDelta
from app.engine.errors import ModelFileChangedError, ModelFileError
from app.engine.load_guard import DamagedModelError, ModelRefusedError
from app.sizes import format_bytes
from tests.faults.model_file_changes import run_once
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


def test_a_model_file_rewritten_in_place_refuses_the_turn(loaded, tiny_loop_gguf):
    """Same size, new content (``cp other model.gguf``): the mapped weights changed under the
    model, so no turn and no token count runs on them; a new load works."""
    path, engine = loaded
    with open(path, "r+b") as handle:
        handle.write(tiny_loop_gguf.read_bytes())
    for use in (lambda: engine.chat(QUESTION), lambda: engine.count_prompt_tokens(QUESTION)):
        with pytest.raises(ModelFileChangedError) as changed:
            use()
        assert changed.value.message.startswith(
            "The model file changed on disk while it was loaded (model.gguf: rewritten in place"
        )
        assert changed.value.hint == "load the model again once the file is whole"
    again = ChatEngine.load(path, LoadOptions(for_gui=False, n_threads=1))
    try:
        assert again.chat([{"role": "user", "content": "think"}]).stats.completion_tokens
    finally:
        again.close()


def test_a_model_file_truncated_in_place_refuses_the_turn_instead_of_crashing(
    tiny_answer_gguf, tiny_loop_gguf, tmp_path
):
    """In a child process: on the old engine the turn read past the file's new end (SIGBUS)."""
    outcome = run_once(tiny_answer_gguf, tiny_loop_gguf, "truncated", tmp_path, with_message=True)
    size = format_bytes(tiny_answer_gguf.stat().st_size)
    assert outcome == (
        "refused with a message: The model file changed on disk while it was loaded "
        f"(model.gguf: cut short, {format_bytes(4096)} of {size})"
    )


def test_a_model_file_rewritten_mid_reply_stops_the_reply_at_the_next_token(loaded, tmp_path):
    path, engine = loaded
    turn = engine.stream_chat(QUESTION)
    assert isinstance(next(turn), TextDelta)
    with open(path, "r+b") as handle:
        handle.write(path.read_bytes())  # the same bytes, a new modification time
    with pytest.raises(ModelFileChangedError):
        list(turn)
