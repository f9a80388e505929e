"""The remote engine against our own server on 127.0.0.1 (and a scripted endpoint for the
failures ours never makes): same events as ChatEngine, reasoning apart, stop, typed errors."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from app.engine import SamplingParams, TextDelta, TurnFinished
from app.remote import (
    EndpointUnreachableError,
    RemoteAuthError,
    RemoteEndpoint,
    RemoteEndpointError,
    RemoteEngine,
    RemoteModelNotFoundError,
    RemoteServerError,
    RemoteStreamDroppedError,
    RemoteTimeoutError,
    list_models,
)
from tests.server import fake_endpoint as fake

ASK = [{"role": "user", "content": "What is the capital of France?"}]
SHORT = SamplingParams(max_tokens=40, seed=1)


@pytest.fixture
def remote():
    engines: list[RemoteEngine] = []

    def make(url: str, **endpoint) -> RemoteEngine:
        engine = RemoteEngine(RemoteEndpoint(url, **endpoint))
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def endpoint():
    made: list[fake.FakeEndpoint] = []

    def make(script, **kwargs) -> fake.FakeEndpoint:
        made.append(fake.FakeEndpoint(script, **kwargs))
        return made[-1]

    yield make
    for server in made:
        server.close()


def split(events) -> tuple[str, str, TurnFinished]:
    deltas = [e for e in events if isinstance(e, TextDelta)]
    thinking = "".join(d.text for d in deltas if d.channel == "thinking")
    answer = "".join(d.text for d in deltas if d.channel == "answer")
    assert isinstance(events[-1], TurnFinished)
    return thinking, answer, events[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_is_sent_until_a_turn_and_bad_addresses_are_refused(remote):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        engine = remote(f"http://127.0.0.1:{listener.getsockname()[1]}", api_key="k")
        assert engine.device_summary.startswith("remote: 127.0.0.1:")
        assert engine.default_sampling().temperature > 0
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection was made
    assert not [t for t in threading.enumerate() if t.name.startswith("qwq-remote")]
    with pytest.raises(RemoteEndpointError):
        RemoteEngine(RemoteEndpoint("ftp://host/v1"))
    assert RemoteEndpoint("gpu-box:8080").base_url == "http://gpu-box:8080/v1"
    assert RemoteEndpoint("https://h/api/v1/").base_url == "https://h/api/v1"


def test_a_turn_through_our_server_keeps_thinking_apart(serve, answer_engine, remote):
    served = serve(answer_engine)
    engine = remote(served.url)
    thinking, answer, finished = split(list(engine.stream_chat(ASK, SHORT)))
    assert (thinking, answer) == ("Let me think about it", "Paris")
    result = finished.result
    assert (result.thinking, result.answer) == (thinking, answer)
    stats = result.stats
    assert stats.stop_reason == "eos" and stats.completion_tokens == 8
    assert stats.thinking_tokens == 6 and stats.prompt_tokens > 0
    assert stats.tokens_per_s and stats.time_to_first_token_s is not None
    assert engine.model_name == "tiny-qwq-answer" and engine.n_ctx == answer_engine.n_ctx
    assert engine.facts.is_reasoning and engine.facts.is_qwq_family
    history = [*ASK, {"role": "assistant", "content": "<think>\nhm\n</think>\n\nParis"}, *ASK]
    assert engine.chat(history, SHORT).answer == "Paris"
    sent = engine._payload(history, SHORT)["messages"][1]
    assert sent == {"role": "assistant", "content": "Paris"}  # history keeps answers only
    assert [m.id for m in list_models(RemoteEndpoint(served.url))] == ["tiny-qwq-answer"]


def test_stop_closes_the_stream_and_the_server_stops_generating(serve, loop_engine, remote):
    served = serve(loop_engine)
    engine = remote(served.url)
    long = SamplingParams(max_tokens=100_000)
    events = []
    for event in engine.stream_chat(ASK, long):
        events.append(event)
        if len(events) == 3:
            engine.cancel()
    thinking, answer, finished = split(events)
    assert finished.result.stats.stop_reason == "cancelled" and thinking and not answer
    (record,) = served.wait_finished(1)
    assert record.stop_reason == "cancelled" and record.completion_tokens < 3000
    cancel = threading.Event()  # the caller's own cancel event works the same
    turn = engine.stream_chat(ASK, long, cancel)
    next(turn)
    cancel.set()
    assert list(turn)[-1].result.stats.stop_reason == "cancelled"
    served.wait_finished(2)
    assert engine.chat(ASK, SHORT).answer == "Paris"


def test_stop_while_the_endpoint_is_still_silent(serve, loop_engine, remote):
    served = serve(loop_engine, max_waiting=2)
    holder = remote(served.url)
    busy = holder.stream_chat(ASK, SamplingParams(max_tokens=100_000))
    next(busy)  # holds the one generation slot: the next turn waits in the server's queue
    engine = remote(served.url)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    events = list(engine.stream_chat(ASK, SHORT, cancel))
    assert time.monotonic() - t0 < 2
    assert events[-1].result.stats.stop_reason == "cancelled"
    deadline = time.monotonic() + 5
    while served.server.waiting and time.monotonic() < deadline:
        time.sleep(0.02)
    assert served.server.waiting == 0  # the server saw the connection close
    busy.close()


def test_unreachable_port_wrong_key_and_unknown_model(serve, answer_engine, remote):
    with pytest.raises(EndpointUnreachableError) as info:
        remote(f"http://127.0.0.1:{free_port()}").chat(ASK, SHORT)
    assert "Cannot reach 127.0.0.1" in info.value.message and info.value.hint
    with pytest.raises(EndpointUnreachableError):
        list_models(RemoteEndpoint(f"http://127.0.0.1:{free_port()}"))
    served = serve(answer_engine, api_key="right")
    with pytest.raises(RemoteAuthError) as info:
        remote(served.url, api_key="wrong").chat(ASK, SHORT)
    assert "refused the API key" in info.value.message
    with pytest.raises(RemoteAuthError) as info:
        remote(served.url).chat(ASK, SHORT)
    assert "requires an API key" in info.value.message
    with pytest.raises(RemoteModelNotFoundError) as info:
        remote(served.url, api_key="right", model="gpt-4o").chat(ASK, SHORT)
    assert "tiny-qwq-answer" in info.value.hint  # the models it does serve


def test_a_dropped_stream_keeps_the_partial_reply(endpoint, remote):
    server = endpoint(fake.drop_after_thinking)
    engine = remote(server.url)
    events = []
    with pytest.raises(RemoteStreamDroppedError) as info:
        for event in engine.stream_chat(ASK, SHORT):
            events.append(event)
    assert "".join(e.text for e in events) == "Step one. Step two."
    partial = info.value.partial
    assert partial.thinking == "Step one. Step two." and partial.stats.stop_reason == "error"


def test_an_error_event_mid_stream_and_a_silent_endpoint(endpoint, remote):
    engine = remote(endpoint(fake.error_event).url)
    with pytest.raises(RemoteServerError) as info:
        engine.chat(ASK, SHORT)
    assert "out of memory" in info.value.message and info.value.partial.answer == "Par"
    silent = remote(endpoint(fake.never_answer).url, read_timeout_s=0.3)
    t0 = time.monotonic()
    with pytest.raises(RemoteTimeoutError) as info:
        silent.chat(ASK, SHORT)
    assert time.monotonic() - t0 < 2.5 and "sent nothing for 0.3 s" in info.value.message


def test_think_tags_in_content_are_split(endpoint, remote):
    tagged = endpoint(fake.content_with_tags(["<thi", "nk>Hm, ", "Paris.</th", "ink>\n\nParis"]))
    thinking, answer, _ = split(list(remote(tagged.url).stream_chat(ASK, SHORT)))
    assert (thinking, answer) == ("Hm, Paris.", "Paris")
    # QwQ's template pre-fills <think>: its content starts inside the thinking.
    prefilled = endpoint(
        fake.content_with_tags(["Hm, ", "Paris.</think>", "\n\nParis"]), models=["qwq-32b"]
    )
    engine = remote(prefilled.url)
    thinking, answer, finished = split(list(engine.stream_chat(ASK)))  # QwQ's own preset
    assert (thinking, answer) == ("Hm, Paris.", "Paris")
    sent = prefilled.requests[-1]
    assert (sent["temperature"], sent["top_p"], sent["top_k"], sent["min_p"]) == (0.6, 0.95, 40, 0)
    assert finished.result.stats.stop_reason == "eos"
