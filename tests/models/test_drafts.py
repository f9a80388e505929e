"""The catalogue's draft models: read and checked, offered beside the model they draft for,
and downloaded with it (``models download ID --with-draft``) against the fake Hub."""

from __future__ import annotations

import json

import pytest

from app.cli.models import main
from app.models import LoadSettings, ModelRegistry
from app.models.catalogue import CatalogueError, default_catalogue_path, load_catalogue
from app.models.drafts import draft_to_offer, installed_as
from tests.models.helpers import DRAFT_FILE, DRAFT_REPO, write_draft_catalogue

REPO = "org/tiny-GGUF"
FILE = "tiny-q4.gguf"


def test_the_shipped_catalogue_drafts_every_qwq_file_with_qwen2_5_0_5b():
    catalogue = load_catalogue()
    for entry in catalogue.of_family("qwq-32b"):
        assert catalogue.draft_for(entry.id).id == "qwen2.5-0.5b-instruct-q4_k_m"
    assert catalogue.draft_for("qwq-32b").family.name == "Qwen2.5-0.5B-Instruct"
    assert catalogue.draft_for("qwen3-8b-q4_k_m") is None
    assert catalogue.draft_for(None) is None
    assert catalogue.resolve("qwq-32b").id == "qwq-32b-q4_k_m"
    assert catalogue.resolve("qwq-32b-q8_0").quant == "Q8_0"
    assert catalogue.resolve("nope") is None


@pytest.mark.parametrize(
    ("drafts", "words"),
    [
        ({"no-such-family": "qwen2.5-0.5b-instruct-q4_k_m"}, "names no family or file"),
        ({"qwq-32b": "no-such-file"}, "names no family or file"),
        ({"qwq-32b": "qwq-32b-q4_k_m"}, "not a smaller model"),
        ({"qwen2.5-0.5b-instruct": "qwen2.5-7b-instruct-q4_k_m"}, "not a smaller model"),
        ({"qwq-32b": "llama-3.1-8b-instruct-q4_k_m"}, "another vocabulary"),
        ([["qwq-32b"]], "unreadable"),
    ],
)
def test_a_draft_that_cannot_draft_is_refused(tmp_path, drafts, words):
    data = json.loads(default_catalogue_path().read_text(encoding="utf-8"))
    data["drafts"] = drafts
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    assert words in info.value.message


@pytest.fixture
def draft_hub(fake_hub, tiny_answer_gguf, tiny_loop_gguf, tmp_path, monkeypatch):
    """The fake Hub serving a tiny model and its tiny draft, and a catalogue naming both."""
    target, draft = tiny_answer_gguf.read_bytes(), tiny_loop_gguf.read_bytes()
    fake_hub.add_repo(REPO, {FILE: target})
    fake_hub.add_repo(DRAFT_REPO, {DRAFT_FILE: draft})
    path = write_draft_catalogue(tmp_path / "catalogue.json", REPO, FILE, target, draft)
    monkeypatch.setattr("app.models.catalogue.default_catalogue_path", lambda: path)
    return fake_hub


def test_download_with_draft_installs_both_and_reuses_an_installed_draft(draft_hub, capsys):
    assert main(["download", "tiny", "--with-draft"]) == 0
    out = capsys.readouterr().out
    registry = ModelRegistry()
    draft = registry.get("tiny-draft-f32")
    assert registry.get("tiny-f32").repo_id == REPO
    assert f"Draft model tiny-draft-f32: {draft.path} (use it with --draft {draft.path})" in out
    assert main(["download", REPO, FILE, "--with-draft"]) == 0
    assert f"--draft {draft.path}" in capsys.readouterr().out
    assert len(draft_hub.body_requests(DRAFT_FILE)) == 1
    assert sorted(m.name for m in registry.list()) == ["tiny-draft-f32", "tiny-f32"]


def test_list_and_recommend_offer_the_draft_until_it_is_installed(draft_hub, capsys):
    assert main(["download", "tiny-f32"]) == 0
    capsys.readouterr()
    catalogue, registry = load_catalogue(), ModelRegistry()
    model = registry.get("tiny-f32")
    assert draft_to_offer(catalogue, registry.list(), model).id == "tiny-draft-f32"
    assert main(["list"]) == 0
    assert "Faster replies from tiny-f32: its draft model Tiny Draft F32" in capsys.readouterr().out
    assert main(["recommend", "--ram-gb", "16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["draft"]["id"] == "tiny-draft-f32"
    assert main(["recommend", "--ram-gb", "16"]) == 0
    assert "qwq-desktop models download tiny-draft-f32" in capsys.readouterr().out

    assert main(["download", "tiny-draft-f32"]) == 0
    assert installed_as(registry.list(), catalogue.get("tiny-draft-f32")) is not None
    assert draft_to_offer(catalogue, registry.list(), model) is None
    capsys.readouterr()
    assert main(["list"]) == 0
    assert "Faster replies" not in capsys.readouterr().out


def test_a_name_the_catalogue_does_not_know_is_explained(draft_hub, capsys):
    assert main(["download", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert "'no-such-model' is not in the catalogue" in err and "try:" in err


def test_load_settings_carry_the_speculation_choice_to_the_engine():
    assert LoadSettings.from_dict({"n_ctx": 2048}).draft == "lookup"  # settings saved before
    for draft, path in (("lookup", None), ("none", None), ("/m/draft.gguf", "/m/draft.gguf")):
        settings = LoadSettings.from_dict(LoadSettings(draft=draft).to_dict())
        assert (settings.draft, settings.draft_path) == (draft, path)
        assert settings.to_load_options().draft == draft
    for bad in ("", "  ", None):
        with pytest.raises(ValueError, match="draft must be"):
            LoadSettings(draft=bad)
