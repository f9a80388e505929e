"""`--draft none|lookup|FILE.gguf` on `qwq-desktop chat` and `serve`, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

from app.cli import build_parser
from app.cli.support import load_options

from .test_draft_model import _tiny_with_tokens

CLI = [sys.executable, "-m", "app.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def _chat_json(model, draft: str) -> dict:
    out = run(
        "chat", "--model", str(model), "--prompt", "go", "--json", "--seed", "3",
        "--threads", "1", "--max-tokens", "100", "--draft", draft,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_chat_with_a_draft_model_reports_drafted_and_accepted(tiny_loop_gguf):
    plain = _chat_json(tiny_loop_gguf, "none")
    drafted = _chat_json(tiny_loop_gguf, str(tiny_loop_gguf))
    assert (drafted["thinking"], drafted["answer"]) == (plain["thinking"], plain["answer"])
    assert plain["stats"]["draft"] == "none" and plain["stats"]["drafted_tokens"] == 0
    stats = drafted["stats"]
    assert stats["draft"] == "model" and stats["accepted_tokens"] > 20
    assert stats["drafted_tokens"] >= stats["accepted_tokens"]


def test_chat_and_serve_refuse_a_draft_of_another_vocabulary(tiny_loop_gguf, tmp_path, monkeypatch):
    def rename(tokens):
        tokens[tokens.index("Paris")] = "Lyon"
        return tokens

    other = _tiny_with_tokens(monkeypatch, tmp_path / "other-vocab.gguf", rename)
    for command in (["chat", "--prompt", "go"], ["serve", "--port", "0"]):
        out = run(*command, "--model", str(tiny_loop_gguf), "--draft", str(other))
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith("error: The draft model other-vocab.gguf has another")
        assert "\n  try: choose a draft of the same model family" in out.stderr
        assert "Serving" not in out.stdout


def test_serve_takes_the_same_draft_flag():
    parser = build_parser()
    for value in ("none", "lookup", "draft.gguf"):
        args = parser.parse_args(["serve", "--model", "m.gguf", "--draft", value])
        assert load_options(args).draft == value
    assert load_options(parser.parse_args(["serve", "--model", "m.gguf"])).draft == "lookup"
