"""ChatEngine.cancel() stops the turns asked for before it, never a later one; llama.cpp is
reached through llama-cpp-python's public bindings."""

import threading

import gguf
import llama_cpp

from app.engine import SamplingParams, TextDelta, TurnFinished
from app.engine.planner import KV_BYTES

# The tiny loop model thinks "hmm ok so ..." for 8 tokens at this max_tokens, then answers.
SHORT = SamplingParams(max_tokens=40, seed=1)


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def stats_of(events):
    assert isinstance(events[-1], TurnFinished)
    return events[-1].result.stats


def test_a_cancel_before_the_turn_starts_stops_it(loop_engine):
    turn = loop_engine.stream_chat(ask("think"), SHORT)  # asked for, not started yet
    loop_engine.cancel()
    events = list(turn)
    assert not any(isinstance(e, TextDelta) for e in events)
    stats = stats_of(events)
    assert stats.stop_reason == "cancelled" and stats.completion_tokens == 0


def test_a_cancel_stops_a_turn_queued_behind_the_running_one(loop_engine):
    # Turn 1 is paused after its first piece and holds the engine. Turn 2 is asked for on
    # another thread and waits for the engine. One Stop now stops both.
    first = loop_engine.stream_chat(ask("think"), SHORT)
    first_events = [next(first)]
    asked = threading.Event()
    second_events: list = []

    def second() -> None:
        turn = loop_engine.stream_chat(ask("think again"), SHORT)
        asked.set()
        second_events.extend(turn)

    worker = threading.Thread(target=second)
    worker.start()
    try:
        assert asked.wait(60)
        loop_engine.cancel()
        first_events.extend(first)
    finally:
        first.close()
        worker.join(60)
    assert not worker.is_alive()
    assert stats_of(first_events).stop_reason == "cancelled"
    stats = stats_of(second_events)
    assert stats.stop_reason == "cancelled" and stats.completion_tokens == 0


def test_a_cancel_with_no_turn_running_does_not_stop_the_next(loop_engine):
    assert loop_engine.chat(ask("x"), SHORT).answer == "Paris"
    loop_engine.cancel()  # the turn has finished: nothing to stop
    assert loop_engine.chat(ask("x"), SHORT).answer == "Paris"
    abandoned = loop_engine.stream_chat(ask("never run"), SHORT)
    loop_engine.cancel()
    del abandoned
    result = loop_engine.chat(ask("x"), SHORT)
    assert result.answer == "Paris" and result.stats.stop_reason == "eos"


def test_the_abort_callback_stops_a_prompt_mid_evaluation(loop_engine, monkeypatch):
    """Installed through the public binding; a Stop once it is installed aborts llama.cpp."""
    calls = []
    real = llama_cpp.llama_set_abort_callback

    def spy(ctx, callback, data):
        calls.append((ctx, bool(callback)))
        real(ctx, callback, data)
        if callback:
            loop_engine.cancel()  # llama.cpp now evaluates the prompt; it must see this Stop

    monkeypatch.setattr(llama_cpp, "llama_set_abort_callback", spy)
    loop_engine.reset_cache()
    stats = loop_engine.chat(ask("a prompt to evaluate"), SHORT).stats
    assert stats.stop_reason == "cancelled" and stats.completion_tokens == 0
    ctx = loop_engine.llama.ctx
    assert calls == [(ctx, True), (ctx, False)]  # set, then removed
    monkeypatch.undo()
    # The engine is still usable, and the callback no longer aborts.
    assert loop_engine.chat(ask("x"), SHORT).answer == "Paris"


def test_reset_cache_clears_llama_memory_through_the_public_binding(loop_engine, monkeypatch):
    loop_engine.chat(ask("x"), SHORT)
    cleared = []
    real = llama_cpp.llama_memory_clear

    def spy(memory, data):
        cleared.append(data)
        real(memory, data)

    monkeypatch.setattr(llama_cpp, "llama_memory_clear", spy)
    loop_engine.reset_cache()
    assert cleared == [True]
    assert loop_engine.chat(ask("x"), SHORT).stats.cached_tokens == 0


def test_kv_cache_types_are_gguf_type_numbers():
    from app.engine.llama_calls import kv_cache_ggml_type

    for name in KV_BYTES:
        assert kv_cache_ggml_type(name) == gguf.GGMLQuantizationType[name.upper()].value
    assert kv_cache_ggml_type("q8_0") == llama_cpp.GGML_TYPE_Q8_0


def test_a_stop_mid_prompt_prints_nothing_from_llama_cpp(loop_engine, monkeypatch, capfd):
    """llama.cpp's warning after an aborted decode ("decode: removing memory module entries
    ...") stays in the app's log ring, off the terminal."""
    from quantize.llama_log import recent_llama_log

    real = llama_cpp.llama_set_abort_callback

    def stop_once_set(ctx, callback, data):
        real(ctx, callback, data)
        if callback:
            loop_engine.cancel()

    monkeypatch.setattr(llama_cpp, "llama_set_abort_callback", stop_once_set)
    loop_engine.reset_cache()
    capfd.readouterr()
    stats = loop_engine.chat(ask("a prompt to evaluate"), SHORT).stats
    assert stats.stop_reason == "cancelled"
    assert capfd.readouterr().err == ""
    assert any("removing memory module entries" in line for line in recent_llama_log(40))
