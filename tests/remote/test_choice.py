"""The endpoint the user chose, kept in its own file, and its API key kept in the keyring (or
for the session only where there is none)."""

# ruff: noqa: F811 - the keyring fixture is imported, then requested

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backends import fail

from app import secrets
from app.remote import EndpointChoice, KeyChain, choice_path, load_choice, save_choice
from tests.fixtures.memory_keyring import memory_keyring  # noqa: F401 - in-memory keyring

URL = "http://gpu-box:8080/v1"


def test_the_choice_is_written_atomically_and_read_back(tmp_path):
    path = choice_path(tmp_path / "config")
    assert load_choice(path) is None  # nothing chosen yet
    save_choice(path, EndpointChoice(URL, "qwq-32b"))
    assert json.loads(path.read_text()) == {"url": URL, "model": "qwq-32b", "active": True}
    assert load_choice(path) == EndpointChoice(URL, "qwq-32b", True)
    save_choice(path, EndpointChoice(URL, None, active=False))
    assert load_choice(path) == EndpointChoice(URL, None, False)
    assert sorted(p.name for p in path.parent.iterdir()) == ["remote.json"]  # no temp files


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"model": "m"}', '{"url": ""}', '{"url": 3}', '{"url": "h", "x": 1']
)
def test_a_damaged_file_counts_as_no_choice(tmp_path, text):
    path = choice_path(tmp_path)
    path.write_text(text)
    assert load_choice(path) is None


def test_only_an_explicit_true_is_active(tmp_path):
    path = choice_path(tmp_path)
    path.write_text(json.dumps({"url": URL, "model": 7, "active": "yes"}))
    assert load_choice(path) == EndpointChoice(URL, None, False)


def test_the_endpoint_it_makes_carries_address_key_and_model():
    endpoint = EndpointChoice("gpu-box:8080", "qwq").endpoint("k")
    assert (endpoint.base_url, endpoint.api_key, endpoint.model) == (URL, "k", "qwq")
    assert EndpointChoice(URL, "").endpoint("").model is None
    assert EndpointChoice(URL).endpoint("").api_key is None


def test_keys_go_to_the_keyring_and_an_empty_key_forgets(memory_keyring):
    keys = KeyChain()
    assert keys.save(URL, "sk-1") is True
    assert memory_keyring.secrets == {(secrets.SERVICE, secrets.remote_key_name(URL)): "sk-1"}
    assert KeyChain().load(URL) == "sk-1"  # remembered across sessions
    assert keys.save(URL, "") is True
    assert memory_keyring.secrets == {} and keys.load(URL) is None


def test_without_a_keyring_a_key_lasts_this_session_only():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        keys = KeyChain()
        assert keys.save(URL, "sk-1") is False
        assert keys.load(URL) == "sk-1"
        assert KeyChain().load(URL) is None  # the next session has to ask again
    finally:
        keyring.set_keyring(previous)


def test_a_locked_keyring_is_said_and_the_key_kept_for_the_session(memory_keyring):
    memory_keyring.locked = True
    keys = KeyChain()
    with pytest.raises(secrets.SecretStoreError):
        keys.save(URL, "sk-1")
    assert keys.load(URL) == "sk-1"  # the session's copy is read before the keyring
