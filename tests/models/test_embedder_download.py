"""The catalogue's embedder through the model manager: ``models download ID`` installs it from
the (fake) Hub, verified, where ``installed_embedder`` finds it, and ``docs add`` without it
names that command."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.cli.docs import main as docs_main
from app.cli.models import main
from app.docs.catalogue import default_embedder_entry
from app.docs.installed import embedder_to_offer, installed_embedder
from app.models import ModelRegistry
from app.models.catalogue import default_catalogue_path
from tests.docs.conftest import corpus, minilm_gguf  # noqa: F401 (fixtures)

EMBEDDER = default_embedder_entry()


@pytest.fixture
def embedder_hub(fake_hub, minilm_gguf, tmp_path, monkeypatch):  # noqa: F811
    """The fake Hub serving MiniLM under the default embedder's repo and file name, and a
    catalogue whose entry carries that file's sha256 and size."""
    data = minilm_gguf.read_bytes()
    fake_hub.add_repo(EMBEDDER.repo_id, {EMBEDDER.filename: data})
    catalogue = json.loads(default_catalogue_path().read_text(encoding="utf-8"))
    for entry in catalogue["embedders"]:
        if entry["id"] == EMBEDDER.id:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["approx_size_bytes"] = len(data)
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(catalogue), encoding="utf-8")
    monkeypatch.setattr("app.models.catalogue.default_catalogue_path", lambda: path)
    return fake_hub


def test_download_by_id_installs_the_embedder_that_docs_add_then_uses(
    embedder_hub,
    corpus,  # noqa: F811
    minilm_gguf,  # noqa: F811
    capsys,
):
    assert installed_embedder() is None and embedder_to_offer().id == EMBEDDER.id
    assert docs_main(["add", "Before", str(corpus / "care.md")]) == 0
    hint = f"run `qwq-desktop models download {EMBEDDER.id}`"
    assert hint in capsys.readouterr().err

    assert main(["download", EMBEDDER.id]) == 0
    model = ModelRegistry().get(EMBEDDER.id)
    assert f"Installed {model.name}: {model.path}" in capsys.readouterr().out
    assert model.architecture == "bert" and model.repo_id == EMBEDDER.repo_id
    assert model.sha256 == hashlib.sha256(minilm_gguf.read_bytes()).hexdigest()
    assert installed_embedder() == model.path and embedder_to_offer() is None

    assert docs_main(["add", "After", str(corpus / "care.md")]) == 0
    assert "models download" not in capsys.readouterr().err
    assert docs_main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["Before"]["embedder"] is None
    assert rows["After"]["embedder"] is not None


def test_a_file_that_does_not_match_the_catalogue_checksum_is_not_installed(embedder_hub, capsys):
    embedder_hub.add_repo(EMBEDDER.repo_id, {EMBEDDER.filename: b"GGUF" + b"\0" * 4096})
    assert main(["download", EMBEDDER.id]) == 4
    assert installed_embedder() is None and embedder_to_offer() is not None
