"""StreamingSaver: periodic saves while a reply streams, the final save, and thread safety."""

from __future__ import annotations

import threading
import time

import pytest

from app.store import ConversationStore, StreamingSaver


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def reply(store):
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "Tell me a story")
    return store.add_message(conv.id, "assistant", "", status="streaming")


def test_text_is_saved_periodically_while_streaming(store, reply):
    saver = StreamingSaver(store, reply.id, interval_s=0.05)
    saver.append("thinking", "Let me think. ")
    saver.append("answer", "Once upon")
    # Nothing more arrives, yet the buffered text reaches the database.
    _wait_for(lambda: store.get_message(reply.id).content == "Once upon")
    saved = store.get_message(reply.id)
    assert (saved.thinking, saved.status) == ("Let me think. ", "streaming")
    saver.append("answer", " a time")
    _wait_for(lambda: store.get_message(reply.id).content == "Once upon a time")
    saver.finish()


def test_finish_saves_the_final_text_status_and_stats(store, reply):
    saver = StreamingSaver(store, reply.id, interval_s=60)
    assert store.get_message(reply.id).status == "streaming"
    for piece in ("The ", "end", "."):
        saver.append("answer", piece)
    assert saver.content == "The end."
    final = saver.finish("complete", stats={"completion_tokens": 3})
    assert (final.content, final.status, final.stats) == (
        "The end.",
        "complete",
        {"completion_tokens": 3},
    )
    assert store.get_message(reply.id) == final
    assert saver.finished
    assert saver.finish() is None  # a second finish writes nothing


def test_finish_can_replace_the_streamed_text_with_the_final_version(store, reply):
    saver = StreamingSaver(store, reply.id)
    saver.append("answer", "Paris ")
    final = saver.finish(content="Paris", thinking="France's capital")
    assert (final.content, final.thinking) == ("Paris", "France's capital")


def test_saver_continues_existing_text(store):
    conv = store.create_conversation()
    m = store.add_message(conv.id, "assistant", "Hello", thinking="hm", status="interrupted")
    with StreamingSaver(store, m.id) as saver:
        saver.append("answer", ", world")
        saver.append("thinking", "m")
    saved = store.get_message(m.id)
    assert (saved.content, saved.thinking, saved.status) == ("Hello, world", "hmm", "complete")


def test_an_exception_in_the_block_finishes_with_error(store, reply):
    with pytest.raises(KeyError), StreamingSaver(store, reply.id) as saver:
        saver.append("answer", "partial")
        raise KeyError("boom")
    saved = store.get_message(reply.id)
    assert (saved.content, saved.status) == ("partial", "error")


def test_bad_arguments_are_refused(store, reply):
    saver = StreamingSaver(store, reply.id)
    with pytest.raises(ValueError, match="channel"):
        saver.append("speech", "x")
    with pytest.raises(ValueError, match="status"):
        saver.finish("streaming")
    saver.finish("cancelled")
    with pytest.raises(RuntimeError, match="already finished"):
        saver.append("answer", "late")
    with pytest.raises(ValueError, match="interval_s"):
        StreamingSaver(store, reply.id, interval_s=0)


def test_deleting_the_message_while_streaming_stops_saving_quietly(store, reply):
    saver = StreamingSaver(store, reply.id, interval_s=0.02)
    saver.append("answer", "doomed")
    store.delete_message(reply.id)
    saver.append("answer", " text")
    time.sleep(0.1)
    assert saver.finish() is None


def test_closing_the_store_finishes_savers_as_interrupted(db_path):
    store = ConversationStore.open(db_path)
    conv = store.create_conversation()
    m = store.add_message(conv.id, "assistant", "", status="streaming")
    saver = StreamingSaver(store, m.id, interval_s=60)
    saver.append("answer", "half a sentence")
    store.close()
    assert saver.finished
    with ConversationStore.open(db_path) as reopened:
        saved = reopened.get_message(m.id)
        assert (saved.content, saved.status) == ("half a sentence", "interrupted")
        assert reopened.recovered_messages == 0


def test_reopening_marks_replies_left_streaming_as_interrupted(db_path):
    with ConversationStore.open(db_path) as store:
        conv = store.create_conversation()
        done = store.add_message(conv.id, "assistant", "done")
        left = store.add_message(conv.id, "assistant", "cut o", status="streaming")
    with ConversationStore.open(db_path) as store:
        assert store.recovered_messages == 1
        assert store.get_message(left.id).status == "interrupted"
        assert store.get_message(done.id).status == "complete"


def test_store_is_safe_to_use_from_several_threads(store):
    """Writers, a streaming saver and readers at once: no errors, nothing lost."""
    convs = [store.create_conversation(f"thread {i}") for i in range(4)]
    reply = store.add_message(convs[0].id, "assistant", "", status="streaming")
    saver = StreamingSaver(store, reply.id, interval_s=0.001)
    errors: list[BaseException] = []

    def writer(conv_id: int) -> None:
        try:
            for i in range(100):
                store.add_message(conv_id, "user", f"message {i} searchable")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(100):
                store.list_conversations()
                store.search("searchable")
                store.messages(convs[1].id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(c.id,)) for c in convs[1:]]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(500):
        saver.append("answer", f"{i} ")
    for t in threads:
        t.join()
    final = saver.finish()
    assert errors == []
    assert final.content == "".join(f"{i} " for i in range(500))
    for conv in convs[1:]:
        assert len(store.messages(conv.id)) == 100
