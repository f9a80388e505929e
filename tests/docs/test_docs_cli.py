"""``qwq-desktop docs`` commands, through their own parser (app/cli wires the same one)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.cli.docs import add_docs_parser


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="qwq-desktop")
    add_docs_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["docs", *argv])
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("QWQ_DESKTOP_HOME", str(tmp_path / "home"))


def test_add_search_list_remove(corpus, capsys, tmp_path):
    (corpus / "broken.pdf").write_bytes(b"not a pdf")
    code, _, err = run(["add", "Manuals", str(corpus)], capsys)
    assert code == 0 and "skipped" in err and "broken.pdf" in err
    code, out, _ = run(["search", "Manuals", "device coolant pump", "--k", "2", "--json"], capsys)
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2
    assert set(hits[0]) == {"file", "page", "heading", "score", "text"}
    assert (Path(hits[0]["file"]).name, hits[0]["page"]) == ("manual.pdf", 3)
    code, out, _ = run(["search", "Manuals", "optical lens cleaning", "--json"], capsys)
    assert json.loads(out)[0]["page"] is None
    code, out, _ = run(["list", "--json"], capsys)
    rows = json.loads(out)
    assert rows[0]["name"] == "Manuals" and rows[0]["indexed"] == 4 and rows[0]["failed"] == 1
    code, _, err = run(["remove", "Manuals", str(corpus / "care.md")], capsys)
    assert code == 0 and "Removed 1" in err
    code, _, _ = run(["remove", "Manuals"], capsys)
    code, out, _ = run(["list"], capsys)
    assert "No collections" in out


def test_unknown_collection_is_a_usage_error(capsys):
    code, _, err = run(["search", "Nope", "question"], capsys)
    assert code == 2 and "No collection is named 'Nope'" in err


def test_add_with_the_minilm_embedder(corpus, capsys, minilm_gguf):
    code, _, _ = run(
        ["add", "M", str(corpus / "manual.pdf"), "--embedder", str(minilm_gguf)], capsys
    )
    assert code == 0
    code, out, _ = run(
        ["search", "M", "When should the cooling liquid motor be swapped?", "--json", "--k", "1"],
        capsys,
    )
    assert json.loads(out)[0]["page"] == 3
    code, out, _ = run(["list", "--json"], capsys)
    assert json.loads(out)[0]["embedder"]
