"""A Hub token the user gives the app is kept in the OS keyring (or for the session where
there is none), never in a settings file or on a command line, and reaches every Hub call."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from app.cli.models import EXIT_ERROR
from app.cli.models import main as models_main
from app.models import build_runner
from app.models.hub_token import hub_token, remember_token
from app.models.install import install_download
from app.models.registry import ModelRegistry
from app.paths import app_paths
from app.secrets import HUB_TOKEN, SERVICE
from quantize.cli import main as quantize_main

REPO, FILE, TOKEN = "meta/gated-GGUF", "tiny-q4.gguf", "hf_secret_granted"


@pytest.fixture
def gated(fake_hub, tiny_answer_gguf):
    fake_hub.add_repo(REPO, {FILE: tiny_answer_gguf.read_bytes()}, gated=True, tokens=(TOKEN,))
    return fake_hub


def sent_tokens(hub) -> set[str | None]:
    return {r.authorization for r in hub.requests if "/api/" in r.url}


def no_token_on_disk(home) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_login_keeps_the_token_in_the_keyring_and_downloads_use_it(
    gated, memory_keyring, monkeypatch, capsys, isolated_home
):
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert models_main(["login"]) == 0
    assert memory_keyring.secrets == {(SERVICE, HUB_TOKEN): TOKEN}
    assert models_main(["download", REPO, FILE]) == 0
    assert sent_tokens(gated) == {f"Bearer {TOKEN}"}
    assert models_main(["logout"]) == 0 and memory_keyring.secrets == {}
    assert hub_token() is None  # nothing kept any more
    no_token_on_disk(isolated_home)
    assert TOKEN not in capsys.readouterr().out


def test_the_environment_wins_over_the_keyring(memory_keyring, monkeypatch):
    remember_token("hf_kept")
    assert hub_token() == "hf_kept"
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert hub_token() == "hf_from_env"


def test_without_a_keyring_the_token_lasts_this_session_only(no_keyring, monkeypatch, capsys):
    assert remember_token("hf_session") is False
    assert hub_token() == "hf_session"
    monkeypatch.setattr("sys.stdin", io.StringIO("hf_session\n"))
    assert models_main(["login"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "No system keyring is available" in err and "HF_TOKEN" in err


def test_a_locked_keyring_is_a_message_and_downloads_go_on_without_it(
    memory_keyring, monkeypatch, capsys
):
    memory_keyring.locked = True
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert models_main(["login"]) == EXIT_ERROR
    assert "The system keyring would not save the secret" in capsys.readouterr().err
    assert hub_token() is None


def test_the_command_line_takes_no_token_argument(gated, monkeypatch, capsys, memory_keyring):
    with pytest.raises(SystemExit):
        models_main(["download", REPO, FILE, "--token", TOKEN])
    assert "--token is not accepted: a token on the command line is visible" in (
        capsys.readouterr().err
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert models_main(["download", REPO, FILE, "--token-stdin"]) == 0
    assert sent_tokens(gated) == {f"Bearer {TOKEN}"}
    assert memory_keyring.secrets == {}  # used for this download, not kept


def test_an_empty_stdin_is_a_message(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert models_main(["download", REPO, FILE, "--token-stdin"]) == EXIT_ERROR
    assert "No Hugging Face token on standard input" in capsys.readouterr().err


def test_qwq_quantize_reads_the_token_from_stdin(gated, monkeypatch, tmp_path, capsys):
    with pytest.raises(SystemExit):
        quantize_main(["fetch", REPO, "--token", TOKEN])
    assert "--token is not accepted" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    quantize_main(["fetch", REPO, "--dir", str(tmp_path / "repo"), "--token-stdin"])
    assert f"Bearer {TOKEN}" in sent_tokens(gated)


def test_the_keyring_token_reaches_the_gui_download_path(gated, memory_keyring):
    remember_token(TOKEN)
    model = install_download(ModelRegistry(), REPO, FILE)
    assert Path(model.path).is_file() and sent_tokens(gated) == {f"Bearer {TOKEN}"}


def test_the_build_child_gets_the_token_in_its_environment_not_its_arguments(
    memory_keyring, monkeypatch, tmp_path
):
    remember_token(TOKEN)
    started = {}

    def fake_popen(argv, **kw):
        started.update(argv=argv, env=kw["env"])
        raise OSError("not really started")

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    runner = build_runner.BuildRunner.for_model("Qwen/QwQ-32B", tmp_path / "work")
    with pytest.raises(OSError):
        runner.start()
    assert started["env"]["HF_TOKEN"] == TOKEN
    assert not any(TOKEN in arg for arg in started["argv"])
    assert app_paths()  # the settings file was never involved
