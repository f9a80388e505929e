"""Fixtures for the model manager and Hub download tests: a local fake Hub on 127.0.0.1."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import (GUI tests here)

import pytest  # noqa: E402

from tests.fixtures.fake_hub import FakeHub  # noqa: E402
from tests.models.helpers import HUB_ENV  # noqa: E402


@pytest.fixture(autouse=True)
def hub_environment(monkeypatch, tmp_path):
    """No test may reach the real Hub or see the developer's saved token."""
    for name in HUB_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "2")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_hub(monkeypatch):
    """A running FakeHub with ``HF_ENDPOINT`` pointing at it."""
    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


@pytest.fixture
def fast_retries(monkeypatch):
    """Retry a dropped transfer after milliseconds instead of seconds."""
    from quantize.hub import download

    monkeypatch.setattr(download, "BACKOFF_S", (0.01, 0.02, 0.04, 0.08))
