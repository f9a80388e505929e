"""Speculative decoding with a draft model: the output of plain decoding, the draft's cache kept
in step, and a draft of another vocabulary refused before anything is loaded."""

from __future__ import annotations

import json
import threading

import pytest

import app.selftest.tiny_model as tiny_model
from app.engine import ChatEngine, LoadOptions, SamplingParams, TextDelta, TurnFinished
from app.engine.draft_model import MAX_VOCAB_SIZE_DIFFERENCE
from app.engine.errors import DraftModelError
from app.engine.planner import plan_memory
from app.selftest.tiny_model import LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf

from .test_speculative import COPY_PROMPT

BUDGETED = SamplingParams(max_tokens=120, thinking_budget=40, seed=3)


@pytest.fixture(scope="module")
def other_draft_gguf(models_dir):
    """Same tokenizer, other weights, and a script that parts ways with the loop model's after
    "hmm ok" (" the" where the loop model says " so"): some drafts accepted, some rejected."""
    spec = TinyModelSpec(name="tiny-draft", seed=5, script=[["\n", "hmm", " ok", " the"]])
    return write_tiny_gguf(models_dir / "tiny-draft-other.gguf", spec)


def _load(target, draft, n_ctx: int = 4096) -> ChatEngine:
    return ChatEngine.load(target, LoadOptions(n_ctx=n_ctx, n_threads=1, draft=str(draft)))


def _turn(engine: ChatEngine, mode: str, params: SamplingParams, prompt: str = "go"):
    engine.draft_mode = mode
    engine.reset_cache()
    return engine.chat([{"role": "user", "content": prompt}], params)


def test_the_same_model_as_its_own_draft_gives_the_same_reply_and_accepts_nearly_all(
    tiny_loop_gguf,
):
    engine = _load(tiny_loop_gguf, tiny_loop_gguf)
    try:
        assert engine.draft_mode == "model" and engine.plan.draft_bytes > 0
        plain = _turn(engine, "none", BUDGETED)
        drafted = _turn(engine, "model", BUDGETED)
        assert (drafted.thinking, drafted.answer) == (plain.thinking, plain.answer)
        # The thinking budget still closes thinking at exactly 40 tokens, then "Paris".
        assert drafted.answer == "Paris" and drafted.stats.stop_reason == "eos"
        assert drafted.stats.thinking_tokens == plain.stats.thinking_tokens == 40
        stats = drafted.stats
        assert stats.draft == "model" and stats.drafted_tokens >= 30
        assert stats.accepted_tokens >= 0.95 * stats.drafted_tokens, stats
    finally:
        engine.close()


def test_another_draft_of_the_same_vocabulary_is_accepted_in_part(tiny_loop_gguf, other_draft_gguf):
    engine = _load(tiny_loop_gguf, other_draft_gguf)
    try:
        plain = _turn(engine, "none", BUDGETED)
        drafted = _turn(engine, "model", BUDGETED)
        assert (drafted.thinking, drafted.answer) == (plain.thinking, plain.answer)
        stats = drafted.stats
        assert 0 < stats.accepted_tokens < stats.drafted_tokens, stats
        # Follow-up turns: the same reply again (the draft's cache dropped what was rejected).
        again = engine.chat([{"role": "user", "content": "go"}], BUDGETED)
        assert (again.thinking, again.answer) == (plain.thinking, plain.answer)
    finally:
        engine.close()


def test_max_tokens_and_stop_are_exact_with_a_draft(tiny_plain_gguf):
    # The template-less model continues "hmm ok so" as its answer, without end.
    engine = _load(tiny_plain_gguf, tiny_plain_gguf)
    try:
        params = SamplingParams(max_tokens=23, seed=3)
        plain = _turn(engine, "none", params, "hmm")
        drafted = _turn(engine, "model", params, "hmm")
        assert drafted.stats.completion_tokens == plain.stats.completion_tokens == 23
        assert drafted.answer == plain.answer and drafted.stats.accepted_tokens > 10
        assert drafted.stats.stop_reason == "length"

        cancel = threading.Event()
        pieces = []
        engine.reset_cache()
        endless = SamplingParams(max_tokens=3000, thinking_budget=None, seed=3)
        for event in engine.stream_chat([{"role": "user", "content": "hmm"}], endless, cancel):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                if len(pieces) == 10:
                    cancel.set()
            elif isinstance(event, TurnFinished):
                result = event.result
        assert result.stats.stop_reason == "cancelled"
        assert result.stats.completion_tokens < 40  # stopped at once, not after a long draft
    finally:
        engine.close()


def test_the_draft_cache_keeps_what_was_accepted_and_drops_the_rest(
    tiny_loop_gguf, other_draft_gguf
):
    engine = _load(tiny_loop_gguf, other_draft_gguf)
    try:
        draft = engine.draft_model
        history = engine.tokenize_prompt(engine.render([{"role": "user", "content": "go"}]).text)
        evaluated: list[int] = []
        real_eval = draft.llama.eval
        draft.llama.eval = lambda tokens: (evaluated.extend(tokens), real_eval(tokens))[1]
        proposal = draft.propose(history, 8)
        assert proposal and evaluated[: len(history)] == history
        # The target keeps the first drafted token and samples another one after it.
        evaluated.clear()
        rejected = next(t for t in range(draft.n_vocab) if t != proposal[1])
        draft.propose([*history, proposal[0], rejected], 8)
        assert evaluated[0] == rejected  # only the new token: the accepted one was cached
        cached = list(draft.llama.input_ids[: len(history) + 2])
        assert cached == [*history, proposal[0], rejected]
    finally:
        engine.close()


def _tiny_with_tokens(monkeypatch, path, change):
    """A tiny model whose token list is ``change(tokens)`` (the weights follow its length)."""
    original = tiny_model.vocab_in_id_order
    monkeypatch.setattr(tiny_model, "vocab_in_id_order", lambda tok: change(original(tok)))
    try:
        return write_tiny_gguf(path, TinyModelSpec(name="tiny-other-vocab", script=LOOP_SCRIPT))
    finally:
        monkeypatch.setattr(tiny_model, "vocab_in_id_order", original)


def _refuse_loading(monkeypatch):
    def no_load(*_args, **_kw):
        raise AssertionError("a model was loaded before the vocabularies were compared")

    monkeypatch.setattr("app.engine.engine_load.load_llama", no_load)
    monkeypatch.setattr("app.engine.draft_model.load_llama", no_load)


def test_a_draft_with_other_token_texts_is_refused_before_loading(
    tiny_loop_gguf, tmp_path, monkeypatch
):
    def swap(tokens):
        a, b = tokens.index("Paris"), tokens.index("hmm")
        tokens[a], tokens[b] = tokens[b], tokens[a]
        return tokens

    other = _tiny_with_tokens(monkeypatch, tmp_path / "swapped.gguf", swap)
    _refuse_loading(monkeypatch)
    with pytest.raises(DraftModelError) as caught:
        _load(tiny_loop_gguf, other)
    error = caught.value
    assert "another vocabulary" in error.message and "'Paris'" in error.message
    assert "Qwen2.5-0.5B" in error.hint and "--draft lookup" in error.hint


def test_draft_vocabulary_size_allows_padding_only(tiny_loop_gguf, tmp_path, monkeypatch):
    def pad(extra):
        return lambda tokens: tokens + [f"[PAD{len(tokens) + i}]" for i in range(extra)]

    padded = _tiny_with_tokens(monkeypatch, tmp_path / "padded.gguf", pad(100))
    larger = _tiny_with_tokens(
        monkeypatch, tmp_path / "larger.gguf", pad(MAX_VOCAB_SIZE_DIFFERENCE + 1)
    )
    engine = _load(tiny_loop_gguf, padded)  # QwQ-32B and Qwen2.5-0.5B differ so (128)
    try:
        result = _turn(engine, "model", BUDGETED)
        assert result.answer == "Paris" and result.stats.accepted_tokens > 0
    finally:
        engine.close()
    _refuse_loading(monkeypatch)
    with pytest.raises(DraftModelError, match="tokens against"):
        _load(tiny_loop_gguf, larger)


def test_the_memory_plan_counts_the_draft(tiny_loop_gguf, tiny_answer_gguf):
    from app.engine import probe_hardware, read_model_facts

    facts, draft = read_model_facts(tiny_loop_gguf), read_model_facts(tiny_answer_gguf)
    hardware = probe_hardware()
    alone = plan_memory(facts, hardware, n_ctx=4096)
    both = plan_memory(facts, hardware, n_ctx=4096, draft=draft)
    assert both.draft_bytes > draft.tensor_bytes  # weights, KV cache and compute
    assert both.total_bytes == alone.total_bytes + both.draft_bytes
    assert "draft model" in both.summary()


@pytest.mark.gemma
def test_gemma_as_its_own_draft_gives_the_greedy_reply(gemma_gguf):
    engine = ChatEngine.load(
        gemma_gguf, LoadOptions(n_ctx=2048, for_gui=False, seed=1, draft=str(gemma_gguf))
    )
    try:
        params = SamplingParams(temperature=0.0, top_k=1, max_tokens=48, seed=1)
        plain = _turn(engine, "none", params, COPY_PROMPT)
        drafted = _turn(engine, "model", params, COPY_PROMPT)
        assert drafted.answer == plain.answer and drafted.stats.completion_tokens == 48
        assert drafted.stats.accepted_tokens >= 0.9 * drafted.stats.drafted_tokens > 0
    finally:
        engine.close()


def test_past_the_window_the_draft_cache_shifts_with_the_targets(tiny_answer_gguf):
    engine = _load(tiny_answer_gguf, tiny_answer_gguf, n_ctx=512)
    try:
        draft = engine.draft_model
        evaluated: list[int] = []
        real_eval = draft.llama.eval
        draft.llama.eval = lambda tokens: (evaluated.extend(tokens), real_eval(tokens))[1]
        params = SamplingParams(max_tokens=100, seed=1)
        messages = [{"role": "system", "content": "Be brief."}]
        shifted = 0
        for i in range(20):
            question = {"role": "user", "content": f"question {i}: " + "hmm ok so the capital " * 4}
            messages.append(question)
            evaluated.clear()
            result = engine.chat(messages, params)
            assert result.answer == "Paris"
            if result.stats.shifted_tokens:
                shifted += 1
                assert len(evaluated) <= result.stats.evaluated_prompt_tokens + 16, i
                assert result.stats.accepted_tokens >= 5, result.stats
            messages.append({"role": "assistant", "content": result.answer})
        assert shifted >= 5
    finally:
        engine.close()


def test_the_catalogue_names_a_draft_of_the_same_vocabulary_for_qwq():
    from app.models.catalogue import default_catalogue_path, load_catalogue

    catalogue = load_catalogue()
    drafts = json.loads(default_catalogue_path().read_text(encoding="utf-8"))["drafts"]
    assert "qwq-32b" in drafts
    for family, entry_id in drafts.items():
        draft = catalogue.get(entry_id)
        target = catalogue.families[family]
        assert draft is not None and draft.family.architecture == target.architecture
        assert abs(draft.family.n_vocab - target.n_vocab) <= MAX_VOCAB_SIZE_DIFFERENCE
        assert draft.approx_size_bytes * 20 < catalogue.default_entry(family).approx_size_bytes


def test_a_token_the_draft_does_not_know_stops_its_drafts_not_the_turn(tiny_loop_gguf):
    # A target's padding tokens (ids past the draft's vocabulary) are never sent to the draft.
    engine = _load(tiny_loop_gguf, tiny_loop_gguf)
    try:
        draft = engine.draft_model
        history = engine.tokenize_prompt(engine.render([{"role": "user", "content": "go"}]).text)
        assert draft.propose(history, 8)
        assert draft.propose([*history, draft.n_vocab + 3], 8) == []
        assert draft.propose(history, 8)  # the cache is still usable
    finally:
        engine.close()
