"""Speculation counts in the API's timings, under llama-server's names."""

from __future__ import annotations

from app.engine.events import TurnStats
from app.server.responses import Outcome, Reply, timings


def test_drafted_tokens_are_reported_as_llama_server_names_them():
    stats = TurnStats(completion_tokens=40, draft="lookup", drafted_tokens=30, accepted_tokens=21)
    got = timings(stats)
    assert (got["draft_n"], got["draft_n_accepted"]) == (30, 21)
    assert got["predicted_n"] == 40
    reply = Reply.new("m", chat=True)
    whole = reply.complete(Outcome("Paris", "", stats))
    assert whole["timings"]["draft_n_accepted"] == 21
    last = reply.last_chunks(Outcome("Paris", "", stats), include_usage=True)[0]
    assert last["timings"]["draft_n"] == 30


def test_no_draft_fields_when_nothing_was_drafted():
    for stats in (TurnStats(draft="none"), TurnStats(draft="lookup", drafted_tokens=0)):
        got = timings(stats)
        assert "draft_n" not in got and "draft_n_accepted" not in got
