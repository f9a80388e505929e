"""``qwq-desktop docs ...`` and ``chat --docs`` run as a user would (subprocesses of
``python -m app.cli``), over a generated folder of PDFs and the tiny answering model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.manuals import PUMP, write_pdfs

ROOT = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "QWQ_DESKTOP_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def test_docs_commands_as_written(home, tmp_path):
    folder = write_pdfs(tmp_path / "pdfs")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    out = cli(home, "docs", "add", "Manuals", str(folder))
    assert out.returncode == 0, out.stderr
    assert "broken.pdf" in out.stderr and "3 indexed" in out.stderr
    out = cli(home, "docs", "search", "Manuals", "coolant pump replaced", "--k", "3", "--json")
    hits = json.loads(out.stdout)
    assert 1 <= len(hits) <= 3 and {"file", "page", "score", "text"} <= set(hits[0])
    assert (Path(hits[0]["file"]).name, hits[0]["page"]) == ("b.pdf", 3)
    rows = json.loads(cli(home, "docs", "list", "--json").stdout)
    assert [(r["name"], r["indexed"], r["failed"]) for r in rows] == [("Manuals", 3, 1)]
    assert "Manuals: 3 file(s), 1 skipped" in cli(home, "docs", "list").stdout
    out = cli(home, "docs", "remove", "Manuals", str(folder / "a.pdf"))
    assert out.returncode == 0 and "Removed 1" in out.stderr
    assert cli(home, "docs", "remove", "Manuals").returncode == 0
    assert "No collections" in cli(home, "docs", "list").stdout
    out = cli(home, "docs", "search", "Manuals", "pump")
    assert out.returncode == 2 and "Manuals" in out.stderr


def test_chat_grounded_in_a_collection(home, tmp_path, tiny_answer_gguf):
    folder = write_pdfs(tmp_path / "pdfs")
    assert cli(home, "docs", "add", "Manuals", str(folder)).returncode == 0
    base = ["chat", "--model", str(tiny_answer_gguf), "--docs", "Manuals", "--threads", "1"]
    base += ["--seed", "1", "--ctx", "1024", "--max-tokens", "64"]
    out = cli(home, *base, "--prompt", "How often is the coolant pump replaced?", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"] == "Paris" and data["thinking"]  # the tiny model's script
    sources = data["sources"]
    assert sources and [s["number"] for s in sources] == list(range(1, len(sources) + 1))
    first = sources[0]
    assert {"file", "page", "score", "text"} <= set(first)
    assert (Path(first["file"]).name, first["page"]) == ("b.pdf", 3) and PUMP in first["text"]
    assert data["stats"]["prompt_tokens"] > 100  # the sources reached the model

    shown = cli(
        home, *base, "--prompt", "How often is the coolant pump replaced?", "--print-prompt"
    )
    assert shown.returncode == 0 and "[1] b.pdf, page 3" in shown.stdout and PUMP in shown.stdout

    out = cli(home, *base, "--prompt", "Which zebra won the chess olympiad?", "--json")
    data = json.loads(out.stdout)
    assert data["sources"] == [] and "Nothing in Manuals matches" in data["docs_notice"]


def test_chat_with_an_unknown_collection_fails_before_loading(home, tiny_answer_gguf):
    out = cli(home, "chat", "--model", str(tiny_answer_gguf), "--docs", "Nope", "--prompt", "x")
    assert out.returncode == 2 and "Nope" in out.stderr
    out = cli(home, "chat", "--model", str(tiny_answer_gguf), "--docs", "Nope")
    assert out.returncode == 2 and "--prompt" in out.stderr
