"""Shared fixtures: tiny real GGUF models, the real Gemma GGUF, an isolated app home."""

from __future__ import annotations

import pytest

from app.selftest.tiny_model import ANSWER_SCRIPT, LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Everything the app writes goes under a per-test folder."""
    home = tmp_path / "qwq-home"
    monkeypatch.setenv("QWQ_DESKTOP_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_answer_gguf(models_dir):
    """A tiny QwQ-like model that thinks "Let me think about it" then answers "Paris"."""
    return write_tiny_gguf(models_dir / "tiny-qwq-answer.gguf", TinyModelSpec(script=ANSWER_SCRIPT))


@pytest.fixture(scope="session")
def tiny_loop_gguf(models_dir):
    """A tiny QwQ-like model that thinks forever ("hmm ok so ...") unless stopped."""
    return write_tiny_gguf(models_dir / "tiny-qwq-loop.gguf", TinyModelSpec(script=LOOP_SCRIPT))


@pytest.fixture(scope="session")
def tiny_plain_gguf(models_dir):
    """A tiny model without a chat template (plain-completion fallback)."""
    spec = TinyModelSpec(name="tiny-base", chat_template=None, script=LOOP_SCRIPT)
    return write_tiny_gguf(models_dir / "tiny-base.gguf", spec)


@pytest.fixture(scope="session")
def gemma_gguf():
    """The real Gemma 3 270M Q4_K_M GGUF (PyPI package, assembled once into a cache)."""
    from tests.fixtures.gemma import gemma_gguf_path

    return gemma_gguf_path()
