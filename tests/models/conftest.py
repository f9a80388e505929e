"""Fixtures for the model manager and Hub download tests: a local fake Hub on 127.0.0.1."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import (GUI tests here)

import pytest  # noqa: E402

from tests.fixtures.fake_hub import fake_hub, isolate_from_hub  # noqa: E402, F401 (a fixture)


@pytest.fixture(autouse=True)
def hub_environment(monkeypatch, tmp_path):
    """No test may reach the real Hub or see the developer's saved token."""
    isolate_from_hub(monkeypatch, tmp_path, "http://127.0.0.1:9")  # discard port


@pytest.fixture
def fast_retries(monkeypatch):
    """Retry a dropped transfer after milliseconds instead of seconds."""
    from quantize.hub import download

    monkeypatch.setattr(download, "BACKOFF_S", (0.01, 0.02, 0.04, 0.08))
