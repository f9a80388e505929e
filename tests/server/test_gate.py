"""The engine's one queue shared by the app and the API server: arrival order, waiting limits,
cancelling, a model withdrawn or switched, and the server's answers around it (503, 429)."""

from __future__ import annotations

import threading

import openai
import pytest

from app.server.gate import EngineGate, GateCancelled, GateTimeout

ASK = [{"role": "user", "content": "Where?"}]


def _in_thread(fn) -> threading.Thread:
    thread = threading.Thread(target=fn, name="qwq-api-test")
    thread.start()
    return thread


def test_turns_take_the_gate_in_arrival_order():
    gate = EngineGate("engine")
    order: list[str] = []
    lined_up = threading.Event()

    def turn(name: str) -> None:
        with gate.hold(who=name) as ticket:
            order.append(f"{name}:{ticket.engine}")

    with gate.hold(who="first"):
        threads = []
        for name in ("second", "third"):
            threads.append(_in_thread(lambda n=name: turn(n)))
            while len(gate._line) < len(threads) + 1:  # each waits in line before the next
                lined_up.wait(0.01)
        assert gate.holder == "first" and order == []
    for thread in threads:
        thread.join(10)
    assert order == ["second:engine", "third:engine"] and gate.holder is None


def test_waiting_ends_on_timeout_or_cancel_and_leaves_the_line():
    gate = EngineGate("engine")
    cancel = threading.Event()
    with gate.hold(who="a chat in the app"):
        with pytest.raises(GateTimeout) as info, gate.hold(timeout=0.05):
            pass
        assert info.value.holder == "a chat in the app"
        cancel.set()
        with pytest.raises(GateCancelled), gate.hold(cancel):
            pass
        assert len(gate._line) == 1
    with gate.hold(timeout=0) as ticket:  # free again at once
        assert ticket.engine == "engine"


def test_withdraw_cancels_the_holder_and_publish_serves_the_next_model():
    gate = EngineGate("old")
    cancel = threading.Event()
    with gate.hold(cancel) as ticket:
        gate.withdraw()
        assert cancel.is_set() and ticket.revoked and gate.engine is None
    with gate.hold() as ticket:
        assert ticket.engine is None and not ticket.revoked
    gate.publish("new")
    with gate.hold() as ticket:
        assert ticket.engine == "new"


def test_server_on_a_gate_without_a_model_says_to_load_one_then_serves_it(serve, answer_engine):
    gate = EngineGate()
    served = serve(gate)
    client = served.client()
    assert client.models.list().data == []
    for call in (
        lambda: client.chat.completions.create(model="x", messages=ASK),
        lambda: client.completions.create(model="x", prompt="Paris"),
    ):
        with pytest.raises(openai.APIStatusError) as info:
            call()
        assert info.value.status_code == 503 and "load one" in info.value.message
    gate.publish(answer_engine)
    assert [m.id for m in client.models.list().data] == ["tiny-qwq-answer"]
    reply = client.chat.completions.create(model="tiny-qwq-answer", messages=ASK)
    assert reply.choices[0].message.content == "Paris"


def test_a_request_waits_for_the_apps_turn_then_gets_429(serve, answer_engine):
    gate = EngineGate(answer_engine)
    served = serve(gate, queue_wait_s=0.3)
    client = served.client()
    with gate.hold(who="a chat in the app"), pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="tiny-qwq-answer", messages=ASK)
    assert "busy with a chat in the app" in info.value.message
    assert int(info.value.response.headers["Retry-After"]) >= 1
    reply = client.chat.completions.create(model="tiny-qwq-answer", messages=ASK)
    assert reply.choices[0].message.content == "Paris"  # the gate is free again


def test_a_request_held_up_by_the_app_runs_once_the_app_is_done(serve, answer_engine):
    gate = EngineGate(answer_engine)
    served = serve(gate)
    client = served.client()
    replies: list = []
    with gate.hold(who="a chat in the app"):
        thread = _in_thread(
            lambda: replies.append(
                client.chat.completions.create(model="tiny-qwq-answer", messages=ASK)
            )
        )
        while len(gate._line) < 2 and thread.is_alive():  # waits behind the app
            thread.join(0.01)
        assert replies == []
    thread.join(30)
    assert replies[0].choices[0].message.content == "Paris"


def test_a_model_withdrawn_mid_reply_ends_the_stream_with_an_error_event(serve, loop_engine):
    gate = EngineGate(loop_engine)
    client = serve(gate).client()
    stream = client.chat.completions.create(
        model="tiny-qwq-loop", messages=ASK, stream=True, max_tokens=20_000
    )
    next(iter(stream))
    gate.withdraw()  # the app loads another model
    with pytest.raises(openai.APIError) as info:
        for _ in stream:
            pass
    assert "unloaded in QwQ Desktop" in info.value.message
