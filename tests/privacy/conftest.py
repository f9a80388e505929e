"""Privacy fixtures: a fake Hub on 127.0.0.1, keyrings in memory or none at all."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring  # noqa: E402
import pytest  # noqa: E402
from keyring.backends import fail  # noqa: E402

from tests.fixtures.fake_hub import fake_hub, isolate_from_hub  # noqa: E402, F401 (a fixture)
from tests.fixtures.memory_keyring import memory_keyring  # noqa: E402, F401 (a fixture)


@pytest.fixture(autouse=True)
def hub_environment(monkeypatch, tmp_path):
    """No test may reach the real Hub or see the developer's saved token."""
    isolate_from_hub(monkeypatch, tmp_path)


@pytest.fixture
def no_keyring():
    """A computer without a keyring (keyring's "fail" backend, as on a bare Linux box)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_session_token():
    """A token kept "for this session" (no keyring) must not outlive its test."""
    from app.models import hub_token

    yield
    hub_token._session.clear()
