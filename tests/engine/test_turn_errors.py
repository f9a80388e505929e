"""A llama.cpp failure in a turn is the engine's typed error (with llama.cpp's last words), the
terminal chat prints it as an error and a hint, and template notes reach the turn."""

from __future__ import annotations

import sys

import pytest

from app.cli import build_parser
from app.cli.chat import _Printer, run_chat
from app.engine import ChatEngine, LoadOptions, SamplingParams, TurnResult, TurnStats
from app.engine.errors import TurnError
from app.selftest.tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf

BAD_TOKEN = 10**6  # no vocabulary has it: llama_decode fails ("invalid token")
PARAMS = SamplingParams(max_tokens=20, seed=1)
GO = [{"role": "user", "content": "go"}]


def _with_bad_token(monkeypatch):
    real = ChatEngine.tokenize_prompt
    monkeypatch.setattr(ChatEngine, "tokenize_prompt", lambda self, t: [*real(self, t), BAD_TOKEN])


def test_a_failing_llama_cpp_call_is_a_turn_error_and_the_next_turn_works(
    answer_engine, monkeypatch
):
    _with_bad_token(monkeypatch)
    with pytest.raises(TurnError) as caught:
        answer_engine.chat(GO, PARAMS)
    error = caught.value
    assert "llama.cpp failed while answering" in error.message and "llama_decode" in error.message
    assert error.hint and "reload the model" in error.hint
    assert "llama.cpp's last messages" in error.details and "invalid token" in error.details
    monkeypatch.undo()
    assert answer_engine.chat(GO, PARAMS).answer == "Paris"


def test_the_apps_own_value_errors_stay_bugs(answer_engine, monkeypatch):
    def broken(self, messages):
        raise ValueError("a bug in the app, not llama.cpp")

    monkeypatch.setattr(ChatEngine, "render", broken)
    with pytest.raises(ValueError, match="a bug in the app"):
        answer_engine.chat(GO, PARAMS)


def _chat(*args: str) -> int:
    return run_chat(build_parser().parse_args(["chat", *args]))


def test_chat_prints_a_turn_error_as_error_and_hint(tiny_answer_gguf, monkeypatch, capsys):
    _with_bad_token(monkeypatch)
    code = _chat("--model", str(tiny_answer_gguf), "--prompt", "go", "--threads", "1")
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: llama.cpp failed while answering") and "\n  try: " in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def damaged_template_gguf(models_dir):
    spec = TinyModelSpec(script=ANSWER_SCRIPT, chat_template="{% for m in messages %}{{ m }")
    return write_tiny_gguf(models_dir / "tiny-damaged-template.gguf", spec)


def test_a_replaced_template_is_noted_in_every_turn_and_shown_once(damaged_template_gguf, capsys):
    engine = ChatEngine.load(damaged_template_gguf, LoadOptions(n_ctx=1024, n_threads=1))
    try:
        for _ in range(2):
            notes = engine.chat(GO, PARAMS).stats.notes
            assert any("chat template is damaged" in note for note in notes), notes
    finally:
        engine.close()
    assert _chat("--model", str(damaged_template_gguf), "--prompt", "go", "--threads", "1") == 0
    out = capsys.readouterr().out
    assert "[note: The model's chat template is damaged" in out


def test_the_terminal_tells_a_note_once_per_session_and_the_drafts(capsys):
    stats = TurnStats(
        notes=["template replaced"], completion_tokens=3, drafted_tokens=4, accepted_tokens=2
    )
    shown: set[str] = set()
    for _ in range(2):
        _Printer(sys.stdout, shown).end(TurnResult("Paris", "", stats))
    out = capsys.readouterr().out
    assert out.count("[note: template replaced]") == 1
    assert out.count("· 2/4 drafted accepted") == 2
