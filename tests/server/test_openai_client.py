"""The official openai client against our server: models, chat (streamed and not), completions,
embeddings, reasoning apart from the answer, usage and timings, the app's sampling rules."""

from __future__ import annotations

import pytest

ASK = [{"role": "user", "content": "What is the capital of France?"}]


def test_models_lists_the_loaded_model(serve, answer_engine):
    served = serve(answer_engine)
    client = served.client()
    models = client.models.list().data
    assert [m.id for m in models] == ["tiny-qwq-answer"]
    card = client.models.retrieve("tiny-qwq-answer")
    assert card.model_extra["meta"]["context_length"] == answer_engine.n_ctx
    assert card.model_extra["meta"]["reasoning"] is True


def test_chat_returns_reasoning_beside_the_answer_with_usage_and_timings(serve, answer_engine):
    served = serve(answer_engine)
    reply = served.client().chat.completions.create(model="tiny-qwq-answer", messages=ASK)
    choice = reply.choices[0]
    assert choice.message.content == "Paris"
    assert choice.message.reasoning_content == "Let me think about it"
    assert choice.finish_reason == "stop"
    usage = reply.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens == 8
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens_details.reasoning_tokens == 6
    timings = reply.model_extra["timings"]
    assert timings["predicted_n"] == 8 and timings["predicted_ms"] > 0
    assert reply.model_extra["qwq_desktop"]["stop_reason"] == "eos"
    (record,) = served.wait_finished(1)  # the record ends just after the body is sent
    assert record.status == 200 and record.completion_tokens == 8 and not record.stream


def test_streamed_chat_sends_thinking_then_answer_deltas_and_usage(serve, answer_engine):
    served = serve(answer_engine)
    stream = served.client().chat.completions.create(
        model="tiny-qwq-answer",
        messages=ASK,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    thinking = "".join(
        c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks if c.choices
    )
    answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert thinking == "Let me think about it" and answer == "Paris"
    assert chunks[0].choices[0].delta.role == "assistant"
    order = [
        "t" if c.choices[0].delta.model_extra.get("reasoning_content") else "a"
        for c in chunks
        if c.choices and (c.choices[0].delta.content or c.choices[0].delta.model_extra)
    ]
    assert order == sorted(order, reverse=True)  # all thinking before any answer
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [f for f in finish if f] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 8
    assert served.wait_finished(1)[0].stream


CHAT_PROMPT = "<|im_start|>user\nWhere?<|im_end|>\n<|im_start|>assistant\n<think>\n"


def test_text_completion_sends_the_prompt_as_it_is_streamed_and_not(serve, answer_engine):
    client = serve(answer_engine).client()
    # "Paris" alone: the model's next token ends the text. Wrapped in the chat template it
    # would have been a question, answered with thinking and "Paris".
    bare = client.completions.create(model="tiny-qwq-answer", prompt="Paris")
    assert bare.choices[0].text == "" and bare.choices[0].finish_reason == "stop"
    assert bare.usage.prompt_tokens == len(answer_engine.tokenize_prompt("Paris"))
    # A client writing its own chat prompt, ending inside <think>: thinking comes apart.
    whole = client.completions.create(model="tiny-qwq-answer", prompt=CHAT_PROMPT)
    assert whole.choices[0].text == "Paris"
    assert whole.choices[0].model_extra["reasoning_content"] == "Let me think about it"
    pieces = list(
        client.completions.create(model="tiny-qwq-answer", prompt=[CHAT_PROMPT], stream=True)
    )
    assert "".join(p.choices[0].text for p in pieces) == "Paris"
    thinking = "".join(p.choices[0].model_extra.get("reasoning_content") or "" for p in pieces)
    assert thinking == "Let me think about it"


def test_requests_keep_the_apps_sampling_rules_and_thinking_budget(serve, loop_engine):
    client = serve(loop_engine).client()
    reply = client.chat.completions.create(
        model="tiny-qwq-loop",
        messages=ASK,
        temperature=0.0,  # greedy: a reasoning model loops, the engine raises it
        max_tokens=400,
        extra_body={"thinking_budget": 12},
    )
    extra = reply.model_extra["qwq_desktop"]
    assert any("near-greedy" in note for note in extra["notes"])
    assert extra["thinking_budget_hit"] is True
    assert reply.usage.completion_tokens_details.reasoning_tokens == 12
    assert reply.choices[0].message.content == "Paris"


def test_max_tokens_and_stop_strings(serve, loop_engine):
    client = serve(loop_engine).client()
    short = client.chat.completions.create(model="tiny-qwq-loop", messages=ASK, max_tokens=1)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 1
    cut = client.chat.completions.create(
        model="tiny-qwq-loop", messages=ASK, max_tokens=40, stop=["ri"]
    )
    assert cut.choices[0].message.content == "Pa"
    assert cut.model_extra["qwq_desktop"]["stop_reason"] == "stop_string"


def test_embeddings_without_an_embedding_model_is_a_clear_400(serve, answer_engine):
    import openai

    client = serve(answer_engine).client()
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="tiny-qwq-answer", input="hello")
    assert "No embedding model is loaded" in info.value.message
    assert info.value.code == "embeddings_not_available"


def test_embeddings_from_the_minilm_embedder(serve, answer_engine, minilm_gguf):
    import numpy as np

    from app.server.embeddings import RawEmbedder

    embedder = RawEmbedder(minilm_gguf, n_threads=1)
    try:
        client = serve(answer_engine, embeddings=embedder).client()
        ids = [m.id for m in client.models.list().data]
        assert ids == ["tiny-qwq-answer", embedder.model_id]
        texts = ["The cat sat on the mat.", "A cat was sitting on a mat.", "Stock prices fell."]
        reply = client.embeddings.create(model=embedder.model_id, input=texts)
        vectors = np.array([d.embedding for d in reply.data])
        assert vectors.shape == (3, 384) and reply.usage.prompt_tokens > 10
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
        direct, _ = embedder.embed(texts[:1])
        assert vectors[0] @ direct[0] > 0.9999  # the same text alone (batching moves ~1e-4)
        packed = client.embeddings.create(model=embedder.model_id, input="x")  # base64 default
        assert len(packed.data[0].embedding) == 384
    finally:
        embedder.close()
