"""App settings file: defaults, round trip, field-by-field validation, corrupt files."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from app.paths import app_paths
from app.settings import (
    AppSettings,
    ConversationSettings,
    SettingsValueError,
    load_settings,
    save_settings,
)


@pytest.fixture
def settings_file(tmp_path):
    return app_paths(tmp_path).settings_file


def test_missing_file_gives_defaults_without_warning(settings_file):
    settings, warnings = load_settings(settings_file)
    assert settings == AppSettings() and warnings == []
    assert (settings.theme, settings.font_size, settings.kv_cache_type) == ("system", 11, "f16")
    assert settings.threads is None and settings.gpu_layers is None  # auto


def test_save_then_load_round_trips(settings_file):
    chosen = AppSettings(
        threads=4,
        gpu_layers=-1,
        context_size=16384,
        kv_cache_type="q8_0",
        theme="dark",
        font_size=14,
        last_model="/models/qwq-32b-q4_k_m.gguf",
        thinking_budget=2048,
    )
    save_settings(settings_file, chosen)
    assert json.loads(settings_file.read_text())["version"] == 1
    assert load_settings(settings_file) == (chosen, [])


def test_default_path_is_under_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("QWQ_DESKTOP_HOME", str(tmp_path))
    save_settings(None, AppSettings(theme="light"))
    assert (tmp_path / "config" / "settings.json").exists()
    assert load_settings()[0].theme == "light"


def test_save_is_atomic_and_leaves_no_temporary_files(settings_file):
    save_settings(settings_file, AppSettings(font_size=12))
    save_settings(settings_file, AppSettings(font_size=13))
    assert os.listdir(settings_file.parent) == ["settings.json"]


def test_each_bad_value_falls_back_to_its_default_with_a_warning_naming_it(settings_file):
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(
        json.dumps(
            {
                "version": 1,
                "threads": 6,
                "theme": "purple",
                "font_size": "large",
                "context_size": 100,
                "gpu_layers": True,
                "kv_cache_type": "q8_0",
                "future_option": 1,
            }
        )
    )
    settings, warnings = load_settings(settings_file)
    assert (settings.threads, settings.kv_cache_type) == (6, "q8_0")  # good values kept
    assert (settings.theme, settings.font_size, settings.context_size, settings.gpu_layers) == (
        "system",
        11,
        None,
        None,
    )
    assert len(warnings) == 4
    for field in ("'theme'", "'font_size'", "'context_size'", "'gpu_layers'"):
        assert sum(field in w for w in warnings) == 1, field
    assert all("using the default" in w and str(settings_file) in w for w in warnings)
    assert not any("future_option" in w for w in warnings)  # unknown keys are ignored


@pytest.mark.parametrize(
    "content",
    [
        b'{"theme": "dark", "font_size": 1',  # truncated by a crash of an older writer
        b"\xff\xfe\x00garbage",  # not UTF-8
        b"",  # empty
        b"[1, 2, 3]",  # valid JSON, wrong shape
        b"null",
    ],
)
def test_corrupt_file_gives_defaults_and_a_warning_never_a_crash(settings_file, content):
    settings_file.parent.mkdir(parents=True)
    settings_file.write_bytes(content)
    settings, warnings = load_settings(settings_file)
    assert settings == AppSettings()
    assert len(warnings) == 1 and str(settings_file) in warnings[0]


def test_damaged_file_is_kept_beside_for_the_user(settings_file):
    settings_file.parent.mkdir(parents=True)
    settings_file.write_bytes(b'{"theme": ')
    _, (warning,) = load_settings(settings_file)
    kept = settings_file.with_name("settings.json.corrupt")
    assert kept.read_bytes() == b'{"theme": ' and str(kept) in warning


def test_unreadable_file_gives_defaults_and_a_warning(settings_file):
    settings_file.mkdir(parents=True)  # a folder where the file should be
    settings, warnings = load_settings(settings_file)
    assert settings == AppSettings()
    assert len(warnings) == 1 and "Could not read" in warnings[0]


def test_not_finite_numbers_are_refused(settings_file):
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"font_size": NaN, "context_size": Infinity}')
    settings, warnings = load_settings(settings_file)
    assert settings == AppSettings() and len(warnings) == 2


def test_assigning_a_bad_value_raises_naming_the_field():
    settings = AppSettings()
    with pytest.raises(SettingsValueError, match="'font_size' must be a whole number from 6 to 48"):
        settings.font_size = 100
    with pytest.raises(SettingsValueError, match="'theme'"):
        AppSettings(theme="neon")
    with pytest.raises(SettingsValueError, match="'threads'"):
        dataclasses.replace(settings, threads=0)
    settings.font_size = 20.0  # whole floats are accepted as integers
    assert settings.font_size == 20 and isinstance(settings.font_size, int)


def test_conversation_settings_validate_and_ignore_unknown_keys():
    warnings: list[str] = []
    conv = ConversationSettings.from_dict(
        {"system_prompt": "Be brief.", "temperature": 0.7, "top_p": 1.5, "top_k": 20, "x": 1},
        warnings,
    )
    assert (conv.system_prompt, conv.temperature, conv.top_p, conv.top_k) == (
        "Be brief.",
        0.7,
        None,
        20,
    )
    assert len(warnings) == 1 and "'top_p'" in warnings[0]
    assert ConversationSettings.from_dict(conv.to_dict()) == conv


def test_conversation_sampling_overrides_and_reset():
    conv = ConversationSettings(system_prompt="Hi", temperature=0.9, max_tokens=512)
    assert conv.sampling_overrides() == {"temperature": 0.9, "max_tokens": 512}
    reset = conv.reset_sampling()
    assert reset == ConversationSettings(system_prompt="Hi")
    assert reset.sampling_overrides() == {}


def test_conversation_settings_from_a_non_dict_gives_defaults():
    warnings: list[str] = []
    assert ConversationSettings.from_dict("nonsense", warnings) == ConversationSettings()
    assert len(warnings) == 1


def test_conversation_settings_are_stored_per_conversation(store):
    chosen = ConversationSettings(system_prompt="You are terse.", temperature=0.5, top_k=30)
    conv = store.create_conversation("c", settings=chosen.to_dict())
    assert ConversationSettings.from_dict(store.get_conversation(conv.id).settings) == chosen
