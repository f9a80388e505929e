"""Shared pieces of the model-manager GUI tests: strict Qt logging and no leaked threads."""

from __future__ import annotations

import threading

import pytest

QT_STRICT = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints", extend=True),
]


@pytest.fixture
def no_leaked_threads():
    """Fail a test that leaves a Python or Qt worker thread running."""
    before = set(threading.enumerate())
    yield
    new = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    for t in new:
        t.join(timeout=5)
    assert not [t.name for t in new if t.is_alive()]
