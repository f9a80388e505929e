"""Installed models: import (link or copy) with checks, remove, verify, settings, adoption."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from app.engine import ModelFileError
from app.models import (
    LoadSettings,
    ModelFileMissingError,
    ModelNotInstalledError,
    ModelRegistry,
    UnsupportedModelError,
    VerificationFailedError,
    adopt_found_models,
    import_gguf,
    verify_model,
)
from app.paths import app_paths
from tests.models.helpers import random_bytes, write_unknown_arch_gguf


@pytest.fixture
def registry():
    return ModelRegistry(app_paths().ensure())


@pytest.fixture
def user_gguf(tiny_answer_gguf, tmp_path):
    """A copy of the tiny model somewhere in the user's files."""
    target = tmp_path / "my files" / "tiny-qwq.gguf"
    target.parent.mkdir()
    shutil.copyfile(tiny_answer_gguf, target)
    return target


def test_linking_lists_the_model_with_its_facts(registry, user_gguf):
    model = import_gguf(registry, user_gguf)
    assert (model.name, model.source, model.path) == ("tiny-qwq", "link", str(user_gguf))
    assert (model.architecture, model.quant, model.context_length) == ("qwen2", "F32", 4096)
    assert model.reasoning and model.size_bytes == user_gguf.stat().st_size
    assert [m.name for m in ModelRegistry(registry.paths).list()] == ["tiny-qwq"]  # persisted
    registry.remove("tiny-qwq")
    assert user_gguf.exists() and registry.is_empty()  # a linked file is the user's own


def test_copying_records_the_sha256_and_remove_deletes_the_copy(registry, user_gguf):
    seen = []
    model = import_gguf(registry, user_gguf, mode="copy", on_bytes=lambda d, t: seen.append((d, t)))
    copy = registry.paths.models_dir / "imported" / "tiny-qwq.gguf"
    assert model.path == str(copy) and copy.read_bytes() == user_gguf.read_bytes()
    assert model.sha256 == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert seen[-1] == (copy.stat().st_size,) * 2
    registry.remove(model.name)
    assert not copy.exists() and user_gguf.exists()


def test_a_file_that_is_not_gguf_is_refused(registry, tmp_path):
    junk = tmp_path / "notes.gguf"
    junk.write_bytes(random_bytes(4096))
    with pytest.raises(ModelFileError, match="not a GGUF"):
        import_gguf(registry, junk)
    assert registry.is_empty()


def test_an_architecture_llama_cpp_cannot_run_is_refused(registry, tmp_path):
    odd = write_unknown_arch_gguf(tmp_path / "odd.gguf")
    with pytest.raises(UnsupportedModelError, match="'notanarch'"):
        import_gguf(registry, odd, mode="copy")
    assert registry.is_empty()
    assert not list((registry.paths.models_dir).rglob("*.gguf"))


def test_the_same_file_twice_stays_one_model_and_other_files_get_new_names(
    registry, user_gguf, tmp_path
):
    first = import_gguf(registry, user_gguf)
    registry.update(first.name, settings=LoadSettings(n_ctx=2048, kv_cache_type="q8_0"))
    again = import_gguf(registry, user_gguf)
    assert again.settings.n_ctx == 2048  # re-importing keeps the chosen settings
    other = tmp_path / "elsewhere" / "tiny-qwq.gguf"
    other.parent.mkdir()
    shutil.copyfile(user_gguf, other)
    assert import_gguf(registry, other).name == "tiny-qwq-2"
    assert [m.name for m in registry.list()] == ["tiny-qwq", "tiny-qwq-2"]


def test_verify_passes_then_catches_a_changed_byte(registry, user_gguf):
    model = import_gguf(registry, user_gguf, mode="copy")
    assert verify_model(registry, model.name).expected == model.sha256
    with open(model.path, "r+b") as fh:
        fh.seek(-10, 2)
        byte = fh.read(1)
        fh.seek(-10, 2)
        fh.write(bytes([byte[0] ^ 1]))
    with pytest.raises(VerificationFailedError, match="damaged"):
        verify_model(registry, model.name)


def test_verify_of_a_linked_file_records_a_reference_checksum(registry, user_gguf):
    import_gguf(registry, user_gguf)
    first = verify_model(registry, "tiny-qwq")
    assert first.recorded_now and registry.get("tiny-qwq").sha256 == first.sha256
    assert not verify_model(registry, "tiny-qwq").recorded_now


def test_verify_reports_a_missing_file(registry, user_gguf):
    import_gguf(registry, user_gguf)
    user_gguf.unlink()
    with pytest.raises(ModelFileMissingError, match="remove tiny-qwq|models remove tiny-qwq"):
        verify_model(registry, "tiny-qwq")


def test_unknown_names_list_the_installed_ones(registry, user_gguf):
    import_gguf(registry, user_gguf)
    with pytest.raises(ModelNotInstalledError, match="installed models: tiny-qwq"):
        registry.get("qwq")


def test_a_damaged_registry_file_is_set_aside(registry):
    registry.file.parent.mkdir(parents=True, exist_ok=True)
    registry.file.write_text("{not json")
    assert registry.list() == []
    assert list(registry.file.parent.glob("models.broken-*.json"))


def test_verified_files_left_in_the_models_folder_are_adopted(registry, tiny_answer_gguf):
    folder = registry.paths.models_dir / "org" / "tiny-GGUF"
    folder.mkdir(parents=True)
    shutil.copyfile(tiny_answer_gguf, folder / "tiny.gguf")
    (folder / "broken.gguf").write_bytes(b"GGUF" + random_bytes(100))
    adopted = adopt_found_models(registry)
    assert [(m.name, m.repo_id, m.source) for m in adopted] == [("tiny", "org/tiny-GGUF", "found")]
    assert adopt_found_models(registry) == []


def test_load_settings_are_validated():
    with pytest.raises(ValueError, match="KV cache"):
        LoadSettings(kv_cache_type="q3")
    with pytest.raises(ValueError, match="n_ctx"):
        LoadSettings(n_ctx=-1)
    assert LoadSettings(n_ctx=4096).to_load_options().n_ctx == 4096
