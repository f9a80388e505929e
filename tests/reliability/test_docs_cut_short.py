"""A collection whose creation a crash cut short (the index file made, its name not yet stored)
is taken over by the next ``docs add`` of that name, instead of "is not a document collection"
for ever (found while adding the SIGKILL checks of docs indexing, crash_kill.py)."""

from __future__ import annotations

import sqlite3

import pytest

from app.docs import DocsLibrary
from app.docs.errors import CollectionExistsError
from app.docs.index_db import IndexDB
from app.docs.library import collection_filename
from app.paths import app_paths
from tests.reliability.harness import child_env, run_to_end


def _cut_short(root, name: str, schema: bool) -> None:
    """The file a killed creation leaves: with the schema committed, or empty (just opened)."""
    path = root / collection_filename(name)
    root.mkdir(parents=True, exist_ok=True)
    if schema:
        IndexDB(path).close()
    else:
        sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()


@pytest.mark.parametrize("schema", [True, False], ids=["schema-committed", "empty-file"])
def test_create_and_get_take_over_a_file_left_without_its_name(tmp_path, schema):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "pump.md").write_text("# Pump\n\nReplace the coolant pump every 500 hours.\n")
    root = tmp_path / "index"
    _cut_short(root, "Manuals", schema)
    _cut_short(root, "Notes", schema)
    with DocsLibrary(root) as library:
        assert library.names() == []  # nameless files are not listed
        created = library.create("Manuals")
        created.add([folder])
        assert created.index().indexed == 1
        assert library.get("Notes").name == "Notes"
    with DocsLibrary(root) as library:
        assert library.names() == ["Manuals", "Notes"]
        hit = library.get("Manuals").search("coolant pump", k=1)[0]
        assert "500 hours" in hit.text
        with pytest.raises(CollectionExistsError):
            library.create("Manuals")


def test_docs_add_after_a_creation_cut_short(tmp_path):
    home = tmp_path / "home"
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("The valve code word is zqvalve.\n")
    _cut_short(app_paths(home).docs_index_dir, "Manuals", schema=True)
    env = child_env(home)
    run = run_to_end(["-m", "app.cli", "docs", "add", "Manuals", str(folder)], env)
    assert run.returncode == 0, run.tail()
    found = run_to_end(["-m", "app.cli", "docs", "search", "Manuals", "zqvalve", "--json"], env)
    assert "a.txt" in "\n".join(found.stdout)
