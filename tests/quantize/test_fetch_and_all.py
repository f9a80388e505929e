"""fetch and all against a local fake Hub (127.0.0.1): the commands end to end, resumable."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quantize.cli import EXIT_ERROR, EXIT_OK, main
from quantize.fetch import SOURCE_RECORD
from quantize.pipeline import STATE_NAME
from tests.fixtures.fake_hub import FakeHub, isolate_from_hub, wait_until
from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo

ROOT = Path(__file__).resolve().parents[2]
REPO_ID = "Qwen/QwQ-tiny"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A fake Hub serving nothing yet; no test can reach the real one or a saved token."""
    isolate_from_hub(monkeypatch, tmp_path)
    from quantize.hub import download

    monkeypatch.setattr(download, "BACKOFF_S", (0.01, 0.02, 0.04, 0.08))
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        yield fake


def repo_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def shard_names(files: dict[str, bytes]) -> list[str]:
    return sorted(n for n in files if n.endswith(".safetensors"))


def test_all_runs_every_step_then_skips_them_offline(hub, tmp_path, quant_repo, capsys):
    files = repo_files(quant_repo.path)
    hub.add_repo(REPO_ID, files)
    work = tmp_path / "work"
    assert main(["-q", "all", REPO_ID, "--dir", str(work), "--threads", "2"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Estimate for" in out and "to download" in out
    for name in shard_names(files):
        assert (work / "hf" / name).read_bytes() == files[name]
    report = json.loads((work / "qwq-tiny-q4_k_m.validation.json").read_text())
    assert report["passed"] is True
    assert (work / "qwq-tiny-bf16.gguf").is_file() and (work / "qwq-tiny-q4_k_m.gguf").is_file()
    record = json.loads((work / "hf" / SOURCE_RECORD).read_text())
    assert record["commit"] == hub.repos[REPO_ID].branches["main"]

    hub.stop()  # a finished run needs no network at all
    assert main(["-q", "all", REPO_ID, "--dir", str(work)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "fetch     done, skipped" in out
    for step in ("convert", "quantize", "validate"):
        assert f"{step}: done in an earlier run, skipped" in out
    assert "reference forward" not in report["skipped"]  # it ran, with its default tokens

    # --tokens 0 (no forward pass of the original weights): only validation runs again
    assert main(["-q", "all", REPO_ID, "--dir", str(work), "--tokens", "0"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "quantize: done in an earlier run, skipped" in out
    assert "validate: done in an earlier run" not in out and "SKIP  reference forward" in out
    report = json.loads((work / "qwq-tiny-q4_k_m.validation.json").read_text())
    assert "reference forward" in report["skipped"]


def test_all_redoes_only_the_missing_steps(hub, tmp_path, quant_repo, capsys):
    hub.add_repo(REPO_ID, repo_files(quant_repo.path))
    work = tmp_path / "work"
    assert main(["-q", "all", REPO_ID, "--dir", str(work), "--type", "Q8_0"]) == EXIT_OK
    converted = work / "qwq-tiny-bf16.gguf"
    stamp = converted.stat().st_mtime_ns
    (work / "qwq-tiny-q8_0.gguf").unlink()
    capsys.readouterr()
    assert main(["-q", "all", REPO_ID, "--dir", str(work), "--type", "Q8_0"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "convert: done in an earlier run, skipped" in out
    assert "quantize: done" not in out and "validate: done" not in out
    assert converted.stat().st_mtime_ns == stamp
    state = json.loads((work / STATE_NAME).read_text())
    assert set(state) == {"fetch", "convert", "quantize", "validate"}


def test_estimate_only_downloads_no_weights(hub, tmp_path, quant_repo, capsys):
    files = repo_files(quant_repo.path)
    hub.add_repo(REPO_ID, files)
    assert main(["all", REPO_ID, "--dir", str(tmp_path / "w"), "--estimate-only"]) == EXIT_OK
    assert "Estimate for" in capsys.readouterr().out
    assert all(hub.served_bytes(name) == 0 for name in shard_names(files))
    assert not list((tmp_path / "w").glob("*.gguf"))


def test_fetch_refuses_an_unsupported_model_before_the_weights(hub, tmp_path, capsys):
    repo = write_hf_repo(tmp_path / "src", HFRepoSpec(extra_config={"architectures": ["Foo"]}))
    files = repo_files(repo.path)
    hub.add_repo("someone/foo", files)
    assert main(["-q", "fetch", "someone/foo", "--dir", str(tmp_path / "dl")]) == EXIT_ERROR
    assert "architecture Foo is not supported" in capsys.readouterr().err
    assert all(hub.served_bytes(name) == 0 for name in shard_names(files))


def test_fetch_survives_a_dropped_connection_and_a_corrupted_byte(hub, tmp_path, qwen2_repo):
    files = repo_files(qwen2_repo.path)
    first, second = shard_names(files)
    hub.add_repo(REPO_ID, files)
    hub.drop_connection_after(first, len(files[first]) // 2)
    hub.corrupt_byte(second, 1000)
    dest = tmp_path / "dl"
    assert main(["-q", "fetch", REPO_ID, "--dir", str(dest)]) == EXIT_OK
    for name, data in files.items():
        assert hashlib.sha256((dest / name).read_bytes()).digest() == hashlib.sha256(data).digest()
    assert hub.served_bytes(first) < 1.6 * len(files[first])  # resumed, not restarted


def test_fetch_resumes_after_the_process_was_killed(hub, tmp_path):
    # A shard big enough to be caught mid-transfer at the throttled rate.
    repo = write_hf_repo(tmp_path / "src", HFRepoSpec(hidden=256, n_ff=1024, n_layer=4))
    files = repo_files(repo.path)
    big = max(shard_names(files), key=lambda n: len(files[n]))
    hub.add_repo(REPO_ID, files)
    hub.throttle(2_000_000)
    dest = tmp_path / "dl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "quantize.cli", "-q", "fetch", REPO_ID, "--dir", str(dest)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: hub.served_bytes(big) > len(files[big]) // 3, timeout=30)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert not (dest / big).exists()
    hub.throttle(None)
    time.sleep(0.1)
    assert main(["-q", "fetch", REPO_ID, "--dir", str(dest)]) == EXIT_OK
    assert (dest / big).read_bytes() == files[big]
    assert hub.served_bytes(big) < 1.75 * len(files[big])  # the second run skipped what it had
