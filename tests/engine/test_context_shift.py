"""Context shift: past the window, a turn evaluates about its new message only, and the answer
is what a fresh evaluation of the same kept messages gives."""

from __future__ import annotations

import pytest

from app.engine import ChatEngine, LoadOptions, SamplingParams
from app.engine.context_shift import MIN_SHIFT_GAIN, Shift, plan_shift

GREEDY = SamplingParams(temperature=0.0, max_tokens=32, seed=1)


def test_plan_finds_the_kept_messages_behind_the_dropped_ones():
    system, dropped, kept = [1, 2, 3], [7] * 40, list(range(100, 150))
    cached = system + dropped + kept + [9, 9]  # + the previous reply
    prompt = system + kept + [42, 43]
    assert plan_shift(cached, prompt, prefix=3) == Shift(start=3, removed=40, kept=50)


def test_no_shift_when_too_little_would_be_reused():
    cached = [1, 2, 3, *range(10, 10 + MIN_SHIFT_GAIN - 1), 5]
    prompt = [1, 2, 3, *range(10, 10 + MIN_SHIFT_GAIN - 1), 6]
    assert plan_shift([1, 2, 3, 4, *cached[3:]], prompt, prefix=3) is None


@pytest.fixture
def small_engine(tiny_answer_gguf):
    engine = ChatEngine.load(tiny_answer_gguf, LoadOptions(n_ctx=512, n_threads=1))
    yield engine
    engine.close()


def test_a_chat_far_past_the_window_evaluates_only_the_new_message(small_engine):
    engine = small_engine
    filler = "hmm ok so the capital " * 4
    messages = [{"role": "system", "content": "Be brief."}]
    shifted_turns = 0
    for i in range(24):
        question = {"role": "user", "content": f"question {i}: {filler}"}
        new_tokens = len(engine.tokenize_prompt(engine.render([question]).text))
        messages.append(question)
        result = engine.chat(messages, GREEDY)
        stats = result.stats
        assert result.answer == "Paris"
        if stats.dropped_messages:
            # The last reply is re-evaluated without its thinking (Qwen's rule), so a turn
            # evaluates the new message plus the short answer before it: within 64 tokens.
            assert stats.evaluated_prompt_tokens <= new_tokens + 64, (i, stats)
            assert stats.shifted_tokens > 0
            shifted_turns += 1
        messages.append({"role": "assistant", "content": result.answer})
    assert shifted_turns >= 10

    # Same kept messages, evaluated from scratch: the same greedy answer.
    kept = [messages[0], *messages[stats.dropped_messages[-1] + 1 : -1]]
    engine.reset_cache()
    fresh = engine.chat(kept, GREEDY)
    assert fresh.answer == result.answer
    assert fresh.stats.evaluated_prompt_tokens > stats.evaluated_prompt_tokens * 3
