"""A remote reply's speculation counts (llama-server's timings draft_n, draft_n_accepted)."""

from __future__ import annotations

import json

from app.engine import SamplingParams, TurnFinished
from app.engine.events import TurnStats
from app.remote import RemoteEndpoint, RemoteEngine
from app.remote.reply import ReplySplitter, ReplyStats
from app.server.responses import timings
from tests.server import fake_endpoint as fake

ASK = [{"role": "user", "content": "Quote the first line."}]


def final_chunk_with(timing: dict):
    """A script streaming one answer, then llama-server's last chunk carrying ``timing``."""

    def script(handler) -> None:
        fake.start_stream(handler)
        fake.send_chunked(handler, fake.chunk({"content": "Paris"}))
        last = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        last["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        last["timings"] = timing
        fake.send_chunked(handler, b"data: " + json.dumps(last).encode() + b"\n\n")
        fake.send_chunked(handler, b"data: [DONE]\n\n")
        fake.end_chunked(handler)

    return script


def remote_stats(endpoint, timing: dict) -> TurnStats:
    engine = RemoteEngine(RemoteEndpoint(endpoint(final_chunk_with(timing)).url))
    try:
        events = list(engine.stream_chat(ASK, SamplingParams(max_tokens=8, seed=1)))
    finally:
        engine.close()
    assert isinstance(events[-1], TurnFinished)
    return events[-1].result.stats


def test_llama_server_draft_counts_reach_the_reply_stats(endpoint):
    stats = remote_stats(
        endpoint,
        {"predicted_n": 12, "predicted_per_second": 9.5, "draft_n": 10, "draft_n_accepted": 7},
    )
    assert (stats.drafted_tokens, stats.accepted_tokens) == (10, 7)
    assert stats.tokens_per_s == 9.5


def test_a_server_without_speculation_leaves_them_at_zero(endpoint):
    stats = remote_stats(endpoint, {"predicted_n": 12, "predicted_per_second": 9.5})
    assert (stats.drafted_tokens, stats.accepted_tokens) == (0, 0)


def test_our_servers_timings_read_back_unchanged():
    sent = TurnStats(completion_tokens=5, draft="model", drafted_tokens=16, accepted_tokens=9)
    chunk = {"choices": [{"finish_reason": "stop"}], "timings": timings(sent)}
    chunk["choices"][0]["delta"] = {}
    stats = ReplyStats(n_ctx=0)
    stats.saw_chunk(chunk)
    got = stats.result(ReplySplitter(reasoning_model=False)).stats
    assert (got.drafted_tokens, got.accepted_tokens) == (16, 9)
