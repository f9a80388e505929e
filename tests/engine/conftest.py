"""Engines on the tiny real GGUF models, one per test module."""

import pytest

from app.engine import ChatEngine, LoadOptions


@pytest.fixture(scope="module")
def answer_engine(tiny_answer_gguf):
    """Thinks "Let me think about it", then answers "Paris"."""
    engine = ChatEngine.load(tiny_answer_gguf, LoadOptions(n_ctx=2048, n_threads=1))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def loop_engine(tiny_loop_gguf):
    """Thinks "hmm ok so ..." until stopped or out of thinking budget, then answers "Paris"."""
    engine = ChatEngine.load(tiny_loop_gguf, LoadOptions(n_ctx=4096, n_threads=1))
    yield engine
    engine.close()
