"""One generation at a time: others wait in line up to a limit, then 429 with Retry-After; a
client that leaves (mid-stream, mid-reply or while waiting) stops its turn or frees its place."""

from __future__ import annotations

import threading
import time

import httpx2
import openai
import pytest

from app.engine import SamplingParams

ASK = [{"role": "user", "content": "think"}]
LONG = {"model": "tiny-qwq-loop", "messages": ASK, "max_tokens": 100_000}


def open_stream(served):
    """A streamed turn that thinks until stopped, after its first chunk has arrived."""
    stream = served.client().chat.completions.create(**LONG, stream=True)
    chunks = iter(stream)
    next(chunks)
    return stream, chunks


def in_thread(fn):
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - checked by the test
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def test_concurrent_requests_run_one_at_a_time_in_arrival_order(serve, loop_engine):
    served = serve(loop_engine, max_waiting=4)
    client = served.client()
    body = {"model": "tiny-qwq-loop", "messages": ASK, "max_tokens": 300}
    workers = [in_thread(lambda: client.chat.completions.create(**body)) for _ in range(3)]
    for thread, box in workers:
        thread.join(60)
        assert box["value"].choices[0].message.content == "Paris"
    records = served.wait_finished(3)
    spans = sorted((r.started_at + r.queued_s, r.started_at + r.duration_s) for r in records)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end - 0.05  # a turn starts only once the previous one has ended
    assert sum(r.queued_s > 0.01 for r in records) >= 1


def test_past_the_waiting_limit_a_request_gets_429_with_retry_after(serve, loop_engine):
    served = serve(loop_engine, max_waiting=1, queue_wait_s=30)
    stream, _ = open_stream(served)
    try:
        waiting, box = in_thread(
            lambda: served.client().chat.completions.create(
                model="tiny-qwq-loop", messages=ASK, max_tokens=40
            )
        )
        wait_until(lambda: served.server.waiting == 1)
        with pytest.raises(openai.RateLimitError) as info:
            served.client().chat.completions.create(model="tiny-qwq-loop", messages=ASK)
        assert int(info.value.response.headers["retry-after"]) >= 1
        assert info.value.code == "server_busy"
    finally:
        stream.close()  # the first turn stops; the waiting one runs
    waiting.join(60)
    assert box["value"].choices[0].message.content == "Paris"


def test_a_request_that_waited_too_long_gets_429(serve, loop_engine):
    served = serve(loop_engine, max_waiting=2, queue_wait_s=0.3)
    stream, _ = open_stream(served)
    try:
        with pytest.raises(openai.RateLimitError) as info:
            served.client().chat.completions.create(model="tiny-qwq-loop", messages=ASK)
        assert "busy for 0.3 s" in info.value.message
    finally:
        stream.close()
    assert served.server.waiting == 0


def test_a_client_leaving_mid_stream_stops_the_generation(serve, loop_engine):
    served = serve(loop_engine)
    stream, chunks = open_stream(served)
    for _ in range(5):
        next(chunks)
    stream.close()
    (record,) = served.wait_finished(1)
    assert record.stop_reason == "cancelled" and record.status == 200
    assert record.completion_tokens < 3000  # stopped long before the context was full
    wait_until(lambda: not served.server.generating)
    quick = served.client().chat.completions.create(**{**LONG, "max_tokens": 40})
    assert quick.choices[0].message.content == "Paris"


def test_a_client_leaving_a_non_streamed_reply_stops_it(serve, loop_engine):
    served = serve(loop_engine)
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.post(served.url + "/chat/completions", json=LONG, timeout=0.5)
    (record,) = served.wait_finished(1)
    assert record.status == 499 and record.stop_reason == "cancelled"
    assert not served.server.generating


def test_a_client_leaving_the_queue_frees_its_place(serve, loop_engine):
    served = serve(loop_engine, max_waiting=1, queue_wait_s=30)
    stream, _ = open_stream(served)
    try:
        with pytest.raises(httpx2.ReadTimeout):
            httpx2.post(served.url + "/chat/completions", json=LONG, timeout=0.5)
        wait_until(lambda: served.server.waiting == 0)
        wait_until(lambda: any(r.status == 499 for r in served.finished()))
        left = [r for r in served.finished() if r.status == 499]
        assert left and left[0].completion_tokens is None  # it never ran
    finally:
        stream.close()
    quick = served.client().chat.completions.create(**{**LONG, "max_tokens": 40})
    assert quick.choices[0].message.content == "Paris"


def test_stopping_the_server_ends_open_streams_and_keeps_the_engine(serve, loop_engine):
    served = serve(loop_engine)
    stream, chunks = open_stream(served)
    t0 = time.monotonic()
    stopper, _ = in_thread(lambda: served.server.stop(10))
    rest = list(chunks)  # the stream ends (finished as stopped) instead of hanging
    stopper.join(15)
    assert time.monotonic() - t0 < 8 and not served.server.running
    assert rest and rest[-1].choices[0].finish_reason == "stop"
    stream.close()
    again = loop_engine.chat(ASK, SamplingParams(max_tokens=40))
    assert again.answer == "Paris"  # the shared engine is still usable
