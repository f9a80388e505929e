"""Connecting a remote engine as the GUI does: its models asked for before any turn, a wait
that a cancel ends at once, and the plan, context and prompt estimate the window shows."""

from __future__ import annotations

import socket
import threading

import pytest

from app.remote import (
    RemoteAuthError,
    RemoteEndpoint,
    RemoteEngine,
    RemoteModelNotFoundError,
    approx_prompt_tokens,
)
from app.remote.context import ASSUMED_N_CTX


@pytest.fixture
def remote():
    engines: list[RemoteEngine] = []

    def make(url: str, **endpoint) -> RemoteEngine:
        engines.append(RemoteEngine(RemoteEndpoint(url, **endpoint)))
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


def test_connecting_finds_the_model_and_its_context(serve, answer_engine, remote):
    served = serve(answer_engine, api_key="k")
    engine = remote(served.url, api_key="k")
    found = engine.connect()
    assert found.id == "tiny-qwq-answer" and found.context_length == answer_engine.n_ctx
    assert [m.id for m in engine.list_models()] == ["tiny-qwq-answer"]
    plan = engine.plan
    assert (plan.n_ctx, plan.model) == (answer_engine.n_ctx, "tiny-qwq-answer")
    assert plan.host in plan.summary() and "2,048-token context" in plan.summary()
    assert engine.grounding_ctx == answer_engine.n_ctx
    assert {r.path for r in served.records} == {"/v1/models"}  # no turn was asked for


def test_connecting_fails_as_typed_errors(serve, answer_engine, remote):
    served = serve(answer_engine, api_key="k")
    with pytest.raises(RemoteAuthError):
        remote(served.url, api_key="wrong").connect()
    with pytest.raises(RemoteModelNotFoundError) as caught:
        remote(served.url, api_key="k", model="qwq-32b").connect()
    assert "tiny-qwq-answer" in caught.value.hint


def test_a_cancel_ends_a_wait_on_a_silent_server(remote):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts connections, never answers
        engine = remote(f"http://127.0.0.1:{listener.getsockname()[1]}")
        cancel = threading.Event()
        cancel.set()
        assert engine.connect(cancel) is None and engine.list_models(cancel) is None
        cancel.clear()
        got: list = []
        waiting = threading.Thread(target=lambda: got.append(engine.list_models(cancel)))
        waiting.start()
        connection, _ = listener.accept()  # the request is under way
        cancel.set()
        waiting.join(30)
        connection.close()
    assert not waiting.is_alive() and got == [None]


def test_an_endpoint_that_does_not_say_its_context_gets_an_assumed_one_for_sources(remote):
    engine = remote("http://127.0.0.1:9")
    assert engine.n_ctx == 0 and engine.plan.n_ctx == 0
    assert "context length not reported" in engine.plan.summary()
    assert engine.grounding_ctx == ASSUMED_N_CTX


def test_the_prompt_estimate_grows_with_the_conversation(remote):
    engine = remote("http://127.0.0.1:9")
    one = [{"role": "user", "content": "What is the capital of France?"}]
    two = [*one, {"role": "assistant", "content": "Paris"}, *one]
    assert 0 < engine.count_prompt_tokens(one) < engine.count_prompt_tokens(two)
    assert approx_prompt_tokens([{"role": "user", "content": ""}]) == 4
    assert approx_prompt_tokens(one) == 9 + 4  # 7 pieces; "capital", "France": 2 each
