"""Putting a remote reply back together: reasoning fields, <think> tags, names that think."""

from __future__ import annotations

from app.remote.reply import ReplySplitter, ReplyStats, looks_like_reasoning


def feed(splitter: ReplySplitter, deltas: list[dict]) -> list[tuple[str, str]]:
    out = [d for delta in deltas for d in splitter.feed(delta)] + splitter.flush()
    return [(d.channel, d.text) for d in out]


def test_reasoning_fields_of_each_server_family_are_thinking():
    for field in ("reasoning_content", "reasoning"):
        splitter = ReplySplitter(reasoning_model=True)
        got = feed(splitter, [{"role": "assistant", field: "\nHm"}, {field: "."}, {"content": "A"}])
        assert got == [("thinking", "Hm"), ("thinking", "."), ("answer", "A")]
        assert (splitter.thinking, splitter.answer) == ("Hm.", "A")


def test_content_only_replies_of_a_model_that_does_not_think_are_answers():
    splitter = ReplySplitter(reasoning_model=False)
    assert feed(splitter, [{"content": "Paris"}, {"content": " it is"}]) == [
        ("answer", "Paris"),
        ("answer", " it is"),
    ]


def test_a_reasoning_model_that_never_closes_its_thinking_answers_with_it():
    splitter = ReplySplitter(reasoning_model=True)
    feed(splitter, [{"content": "Paris"}])
    stats = ReplyStats(n_ctx=0)
    stats.saw_chunk({"choices": [{"finish_reason": "stop"}]})
    result = stats.result(splitter)
    assert (result.answer, result.thinking) == ("Paris", "")
    assert any("no </think>" in note for note in result.stats.notes)


def test_names_that_think():
    for name in ("qwq-32b", "Qwen/QwQ-32B", "deepseek-r1:14b", "DeepSeek-R1-Distill", "qwen3-8b"):
        assert looks_like_reasoning(name), name
    for name in ("llama-3.1-8b", "gemma-3-270m", "mistral-small"):
        assert not looks_like_reasoning(name), name
