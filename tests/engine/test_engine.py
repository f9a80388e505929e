"""Streaming chat on real (tiny and Gemma) GGUF models through llama.cpp."""

import threading
import time

import pytest

from app.engine import (
    ChatEngine,
    ContextNotice,
    ContextOverflowError,
    LoadCancelledError,
    LoadOptions,
    ModelLoadError,
    SamplingParams,
    TextDelta,
    TurnFinished,
)
from app.selftest.tiny_model import TinyModelSpec, write_tiny_gguf


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_thinking_and_answer_are_streamed_apart(answer_engine):
    events = list(answer_engine.stream_chat(ask("Capital of France?"), SamplingParams(seed=1)))
    assert isinstance(events[-1], TurnFinished)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    thinking = "".join(d.text for d in deltas if d.channel == "thinking")
    answer = "".join(d.text for d in deltas if d.channel == "answer")
    assert thinking == "Let me think about it"
    assert answer == "Paris"
    # Thinking comes first, the answer after: never interleaved.
    channels = [d.channel for d in deltas]
    assert channels == sorted(channels, key=lambda c: c == "answer")
    result = events[-1].result
    assert (result.thinking, result.answer) == (thinking, answer)
    s = result.stats
    assert s.stop_reason == "eos"
    assert s.completion_tokens == 8 and s.thinking_tokens == 6
    assert s.prompt_tokens == s.evaluated_prompt_tokens + s.cached_tokens
    assert s.time_to_first_token_s > 0 and s.tokens_per_s > 0


def test_follow_up_turn_evaluates_only_new_tokens(answer_engine):
    answer_engine.reset_cache()
    history = ask("Capital of France?")
    first = answer_engine.chat(history, SamplingParams(seed=1))
    assert first.stats.cached_tokens == 0
    history += [
        {"role": "assistant", "content": f"<think>{first.thinking}</think>\n\n{first.answer}"},
        {"role": "user", "content": "And of Italy?"},
    ]
    second = answer_engine.chat(history, SamplingParams(seed=1))
    prompt_1 = answer_engine.tokenize_prompt(answer_engine.render(history[:1]).text)
    prompt_2 = answer_engine.tokenize_prompt(answer_engine.render(history).text)
    # Everything up to the first reply's "<think>\n" prefill is reused from the KV cache...
    prefill = answer_engine.tokenize_prompt("<think>\n")
    assert second.stats.cached_tokens == len(prompt_1) - len(prefill)
    # ...and only the rest (the stripped answer and the new question) is evaluated.
    assert second.stats.evaluated_prompt_tokens == len(prompt_2) - second.stats.cached_tokens
    new_text = answer_engine.render(history).text[len(answer_engine.render(history[:1]).text) - 8 :]
    assert new_text.startswith("Paris<|im_end|>")
    assert second.stats.evaluated_prompt_tokens == len(answer_engine.tokenize_prompt(new_text))
    # Asking the same thing again reuses all but the last prompt token.
    third = answer_engine.chat(history, SamplingParams(seed=1))
    assert third.stats.evaluated_prompt_tokens == 1


def test_stop_mid_generation_answers_quickly(loop_engine):
    cancel = threading.Event()
    seen = []
    t0 = None
    for event in loop_engine.stream_chat(ask("think"), SamplingParams(max_tokens=100000), cancel):
        seen.append(event)
        if isinstance(event, TextDelta) and len(seen) == 50:
            cancel.set()
            t0 = time.perf_counter()
    assert time.perf_counter() - t0 < 0.5
    result = seen[-1].result
    assert result.stats.stop_reason == "cancelled"
    assert 49 <= result.stats.completion_tokens <= 51
    assert "hmm ok so" in result.thinking


def test_engine_cancel_from_another_thread_stops_the_reply(loop_engine):
    events = []
    for event in loop_engine.stream_chat(ask("think"), SamplingParams(max_tokens=100000)):
        events.append(event)
        if len(events) == 20:
            threading.Thread(target=loop_engine.cancel).start()
    result = events[-1].result
    assert result.stats.stop_reason == "cancelled"
    assert result.stats.completion_tokens < 1000
    # The next turn is not affected by the earlier cancel.
    assert loop_engine.chat(ask("x"), SamplingParams(thinking_budget=3)).answer == "Paris"


def test_stop_mid_prompt_aborts_the_evaluation(gemma_gguf):
    engine = ChatEngine.load(gemma_gguf, LoadOptions(n_ctx=8192, n_threads=2, for_gui=False))
    try:
        long_prompt = "The quick brown fox jumps over the lazy dog. " * 600  # ~6,000 tokens
        cancel = threading.Event()
        events: list = []
        worker = threading.Thread(
            target=lambda: events.extend(engine.stream_chat(ask(long_prompt), cancel=cancel))
        )
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive(), "prompt evaluation finished before the stop could be tested"
        t0 = time.perf_counter()
        cancel.set()
        worker.join(timeout=5)
        assert not worker.is_alive()
        assert time.perf_counter() - t0 < 0.5
        stats = events[-1].result.stats
        assert stats.stop_reason == "cancelled" and stats.completion_tokens == 0
        # The engine is still usable and its cache consistent after an aborted prompt.
        result = engine.chat(ask("The capital of France is"), SamplingParams(max_tokens=4, seed=0))
        assert result.stats.completion_tokens == 4
        assert result.stats.cached_tokens == 0
    finally:
        engine.close()


def test_thinking_budget_closes_thinking_and_an_answer_comes(loop_engine):
    params = SamplingParams(thinking_budget=12, max_tokens=200, seed=3)
    result = loop_engine.chat(ask("think hard"), params)
    assert result.stats.thinking_budget_hit
    assert result.stats.thinking_tokens == 12
    assert result.answer == "Paris"
    assert result.stats.stop_reason == "eos"


def test_max_tokens_alone_still_leaves_room_for_an_answer(loop_engine):
    result = loop_engine.chat(ask("think"), SamplingParams(max_tokens=64, seed=3))
    assert result.stats.thinking_budget_hit
    assert result.answer == "Paris"
    assert result.stats.completion_tokens <= 64


def test_budget_ending_on_the_closing_tag_does_not_close_twice(tiny_answer_gguf):
    # The scripted model thinks 5 tokens then emits </think> as its 6th: a budget of 6 runs out
    # on exactly that token, which must not get a second, injected </think>.
    engine = ChatEngine.load(tiny_answer_gguf, LoadOptions(n_ctx=512, n_threads=1))
    try:
        result = engine.chat(ask("Capital?"), SamplingParams(thinking_budget=6, seed=1))
        assert result.stats.thinking_tokens == 6
        assert not result.stats.thinking_budget_hit
        assert result.answer == "Paris" and "</think>" not in result.answer
    finally:
        engine.close()


def test_top_k_one_is_greedy_and_is_raised_for_reasoning_models(loop_engine):
    result = loop_engine.chat(ask("x"), SamplingParams(top_k=1, max_tokens=40, seed=1))
    assert any("top_k 1" in note for note in result.stats.notes)


def test_near_greedy_temperature_is_raised_for_reasoning_models(loop_engine):
    result = loop_engine.chat(ask("x"), SamplingParams(temperature=0.0, max_tokens=40, seed=1))
    assert result.answer == "Paris"  # ran, with the preset temperature instead of greedy
    assert any("temperature 0.0" in note for note in result.stats.notes)


def test_overflow_leaves_out_oldest_turns_and_says_so(tiny_answer_gguf):
    engine = ChatEngine.load(tiny_answer_gguf, LoadOptions(n_ctx=256, n_threads=1))
    try:
        filler = "hmm ok so " * 12
        messages = [{"role": "system", "content": "Be brief."}]
        for i in range(8):
            messages += [
                {"role": "user", "content": f"q{i} {filler}"},
                {"role": "assistant", "content": f"a{i}"},
            ]
        messages.append({"role": "user", "content": "last question"})
        events = list(engine.stream_chat(messages, SamplingParams(max_tokens=32, seed=1)))
        notice = next(e for e in events if isinstance(e, ContextNotice))
        dropped = notice.dropped_indices
        assert dropped[0] == 1 and list(dropped) == list(range(1, len(dropped) + 1))
        assert notice.prompt_tokens + 32 <= 256
        result = events[-1].result
        assert result.stats.dropped_messages == list(dropped)
        assert result.answer == "Paris"
        # The system prompt was kept: it is in what the model saw.
        kept = [messages[0], *messages[dropped[-1] + 1 :]]
        assert "Be brief." in engine.render(kept).text

        with pytest.raises(ContextOverflowError, match="too long"):
            list(engine.stream_chat(ask("hmm ok so " * 400), SamplingParams(max_tokens=32)))
    finally:
        engine.close()


def test_generation_stops_when_context_is_full(tiny_loop_gguf):
    engine = ChatEngine.load(tiny_loop_gguf, LoadOptions(n_ctx=128, n_threads=1))
    try:
        result = engine.chat(ask("go"), SamplingParams(max_tokens=100000, thinking_budget=None))
        # The engine closes thinking before the context runs out, so an answer still comes.
        assert result.answer == "Paris"
        assert result.stats.thinking_budget_hit
    finally:
        engine.close()


def test_model_without_template_completes_plain_text(tiny_plain_gguf):
    engine = ChatEngine.load(tiny_plain_gguf, LoadOptions(n_ctx=512, n_threads=1))
    try:
        assert not engine.formatter.has_template
        result = engine.chat(ask("hmm"), SamplingParams(max_tokens=6, seed=1))
        assert result.thinking == ""
        assert result.answer.startswith("ok so")
        assert result.stats.completion_tokens == 6
    finally:
        engine.close()


def test_gemma_completes_a_sentence(gemma_gguf):
    engine = ChatEngine.load(gemma_gguf, LoadOptions(n_ctx=2048, for_gui=False))
    try:
        params = SamplingParams(max_tokens=8, temperature=0.1, top_k=1, seed=0)
        result = engine.chat(ask("Paris is the capital of"), params)
        assert result.answer.startswith("France")
        assert result.stats.completion_tokens == 8
        assert result.stats.prompt_tokens == 6  # <bos> + five words
        again = engine.chat(ask("Paris is the capital of"), params)
        assert again.answer == result.answer
        assert again.stats.evaluated_prompt_tokens == 1
    finally:
        engine.close()


def test_architecture_llama_cpp_cannot_run_gives_a_clear_load_error(tmp_path):
    path = write_tiny_gguf(tmp_path / "odd.gguf", TinyModelSpec())
    path.write_bytes(path.read_bytes().replace(b"qwen2", b"qwenX"))  # an unknown architecture
    with pytest.raises(ModelLoadError) as info:
        ChatEngine.load(path, LoadOptions(n_ctx=256, n_threads=1))
    assert "qwenX" in str(info.value)
    assert "update llama-cpp-python" in info.value.hint


def test_load_reports_progress_and_can_be_cancelled(gemma_gguf):
    seen: list[float] = []
    engine = ChatEngine.load(
        gemma_gguf, LoadOptions(n_ctx=512, n_threads=1, progress=lambda f: seen.append(f) or True)
    )
    engine.close()
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)

    from llama_cpp import llama_cpp as lib

    original = lib.llama_model_default_params
    calls: list[float] = []

    def stop_halfway(fraction: float) -> bool:
        calls.append(fraction)
        return fraction < 0.5

    with pytest.raises(LoadCancelledError):
        ChatEngine.load(gemma_gguf, LoadOptions(n_ctx=512, n_threads=1, progress=stop_halfway))
    assert calls and calls[-1] >= 0.5 and calls[-1] < 1.0
    # The library's own function is restored after the load, cancelled or not.
    assert lib.llama_model_default_params is original
