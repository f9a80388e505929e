"""``qwq-desktop models ...`` end to end against the fake Hub (exit codes, progress, resume
after the process was killed)."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.cli.models import (
    EXIT_AUTH,
    EXIT_CHECKSUM,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OFFLINE,
    format_duration,
    format_progress,
    main,
)
from app.paths import app_paths
from quantize.hub import DownloadProgress, list_repo_files, partial_path
from tests.fixtures.fake_hub import closed_endpoint, wait_until
from tests.models.helpers import child_env, start_python

REPO = "org/tiny-GGUF"
FILE = "tiny-q4.gguf"


@pytest.fixture
def tiny_bytes(tiny_answer_gguf):
    return tiny_answer_gguf.read_bytes()


@pytest.fixture
def served(fake_hub, tiny_bytes):
    fake_hub.add_repo(REPO, {FILE: tiny_bytes})
    return fake_hub


def test_download_list_verify_remove(served, capsys, tiny_bytes):
    assert main(["download", REPO, FILE]) == 0
    out, err = capsys.readouterr()
    sha = hashlib.sha256(tiny_bytes).hexdigest()
    assert f"sha256 {sha}" in out and "downloading" in err and "100.0%" in err

    assert main(["list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["name"], listed["repo_id"], listed["exists"]) == ("tiny-q4", REPO, True)

    assert main(["verify", "tiny-q4"]) == 0
    assert f"tiny-q4: OK (sha256 {sha})" in capsys.readouterr().out

    assert main(["remove", "tiny-q4"]) == 0
    assert "deleted" in capsys.readouterr().out
    assert not (app_paths().models_dir / REPO / FILE).exists()
    assert main(["remove", "tiny-q4"]) == EXIT_NOT_FOUND


def test_download_exits_4_when_the_file_stays_corrupt(served, capsys):
    served.corrupt_byte(FILE, 77, times=2)
    assert main(["download", REPO, FILE]) == EXIT_CHECKSUM
    err = capsys.readouterr().err
    assert "is corrupt" in err and "retrying" in err
    assert not list(app_paths().models_dir.rglob("*.gguf"))


def test_download_exits_4_for_a_wrong_expected_checksum(served, capsys):
    assert main(["download", REPO, FILE, "--sha256", "0" * 64]) == EXIT_CHECKSUM
    assert served.served_bytes(FILE) == 0


def test_download_exit_codes_for_offline_gated_and_missing(served, monkeypatch, capsys):
    served.add_repo("meta/gated", {FILE: b"GGUF"}, gated=True, tokens=("hf_ok",))
    assert main(["download", "meta/gated", FILE]) == EXIT_AUTH
    assert main(["download", REPO, "nope.gguf"]) == EXIT_NOT_FOUND
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    assert main(["download", REPO, FILE]) == EXIT_OFFLINE
    assert "Cannot reach the Hugging Face Hub" in capsys.readouterr().err


def test_download_killed_then_rerun_resumes(served, tiny_bytes):
    served.throttle(400_000)
    part = partial_path(app_paths().downloads_dir / REPO, list_repo_files(REPO).file(FILE))
    command = "import sys; from app.cli.models import main; sys.exit(main(sys.argv[1:]))"
    env = child_env(served.endpoint)
    child = start_python(command, env, "download", REPO, FILE)
    try:
        assert wait_until(lambda: part.is_file() and part.stat().st_size >= 300_000, timeout=30)
    finally:
        child.kill()
        child.communicate()
    kept = part.stat().st_size

    served.throttle(None)
    rerun = start_python(command, env, "download", REPO, FILE)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert (app_paths().models_dir / REPO / FILE).read_bytes() == tiny_bytes
    last = served.body_requests(FILE)[-1]
    assert (last.range_start, last.body_bytes) == (kept, len(tiny_bytes) - kept)
    assert "checking" in err  # the kept bytes were hashed before resuming


def test_ctrl_c_keeps_the_part_and_says_how_to_resume(served, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("app.cli.models.install_download", interrupted)
    assert main(["download", REPO, FILE]) == EXIT_INTERRUPTED
    assert "run the same command to resume" in capsys.readouterr().err


def test_import_then_list_as_text(tiny_answer_gguf, capsys):
    assert main(["import", str(tiny_answer_gguf), "--name", "mine"]) == 0
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "F32" in out and str(tiny_answer_gguf) in out


def test_search_and_files(served, capsys):
    served.add_repo("someone/readme-only", {"README.md": b"hi"})
    assert main(["search", "tiny"]) == 0
    assert REPO in capsys.readouterr().out
    assert main(["search", "readme"]) == 0
    assert "No GGUF repositories" in capsys.readouterr().out
    assert main(["files", REPO]) == 0
    assert FILE in capsys.readouterr().out


def test_progress_line_has_percent_speed_and_time_left():
    line = format_progress(
        DownloadProgress("q.gguf", "downloading", 8_980_000_000, 19_850_000_000, 52.3e6, 208)
    )
    assert line == "q.gguf  downloading   45.2%  8.98 GB/19.85 GB  52.3 MB/s  3m28s left"
    assert (format_duration(12), format_duration(11_100)) == ("12s", "3h05m")
