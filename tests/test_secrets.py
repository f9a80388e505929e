"""app.secrets: secrets go to the OS keyring, or nowhere when there is none."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from app import secrets
from tests.fixtures.memory_keyring import memory_keyring  # noqa: F401 (fixture)


def test_a_secret_is_kept_read_and_forgotten(memory_keyring):  # noqa: F811
    assert secrets.available()
    assert secrets.save_secret(secrets.HUB_TOKEN, "hf_abc")
    assert memory_keyring.secrets == {(secrets.SERVICE, secrets.HUB_TOKEN): "hf_abc"}
    assert secrets.load_secret(secrets.HUB_TOKEN) == "hf_abc"
    secrets.delete_secret(secrets.HUB_TOKEN)
    secrets.delete_secret(secrets.HUB_TOKEN)  # forgetting twice is fine
    assert secrets.load_secret(secrets.HUB_TOKEN) is None


def test_without_a_keyring_nothing_is_kept_and_the_caller_is_told():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert not secrets.available()
        assert secrets.save_secret("x", "y") is False
        assert secrets.load_secret("x") is None
        secrets.delete_secret("x")
    finally:
        keyring.set_keyring(previous)


def test_a_locked_keyring_is_a_typed_error(memory_keyring):  # noqa: F811
    memory_keyring.locked = True
    with pytest.raises(secrets.SecretStoreError) as caught:
        secrets.save_secret("x", "y")
    assert "unlock" in caught.value.hint


def test_endpoint_keys_are_named_by_url():
    assert secrets.remote_key_name("http://h:8080/v1/") == "api-key:http://h:8080/v1"
