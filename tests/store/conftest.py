"""Fixtures for the conversation-store and settings tests: a fresh store in a temporary folder."""

from __future__ import annotations

import threading

import pytest

from app.store import ConversationStore


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "conversations.sqlite3"


@pytest.fixture
def store(db_path):
    opened = ConversationStore.open(db_path)
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def no_leaked_saver_threads():
    """Every StreamingSaver started by a test must have been finished by it."""
    yield
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("StreamingSaver-")]
    assert not leaked, f"StreamingSaver threads still running: {leaked}"


@pytest.fixture
def make_chat(store):
    """Build a conversation of alternating user/assistant messages: (conversation, messages)."""

    def build(*turns: str, title: str = "Chat"):
        conv = store.create_conversation(title)
        added = []
        for i, text in enumerate(turns):
            added.append(store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", text))
        return conv, added

    return build
