"""`qwq-desktop --self-test` and the one-line answer where no display can be opened, run as a
user would (subprocesses of `python -m app`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli import desktop_argv
from app.ui.launch import missing_display_reason

APP = [sys.executable, "-m", "app"]


def run(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*APP, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def offscreen_env(isolated_home):
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QWQ_DESKTOP_HOME": str(isolated_home)}


def test_self_test_passes_and_names_what_it_found(offscreen_env, isolated_home):
    out = run("--self-test", "--json", env=offscreen_env)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and set(checks) == {"llama.cpp", "model", "store", "keyring", "window"}
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["llama.cpp"]["details"]["cpu_variant"] not in ("", "sapphirerapids")
    assert checks["model"]["details"]["answer"] == "Paris"
    assert checks["keyring"]["details"]["shipped"]  # this OS's keyring backend can be used
    window = checks["window"]["details"]
    assert window["platform"] == "offscreen" and window["shown_after_s"] > 0
    assert window["window_size"][0] > 0
    # It worked in a throw-away folder: the user's data folder was not touched.
    assert not isolated_home.exists() or not any(isolated_home.rglob("*.sqlite3"))


def test_self_test_text_report_and_a_failing_check(offscreen_env):
    env = {**offscreen_env, "QWQ_LLAMA_CPU_VARIANT": "no-such-variant"}
    out = run("--self-test", env=env)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith("QwQ Desktop ") and "self-test" in lines[0]
    failed = [ln for ln in lines if ln.strip().startswith("FAIL")]
    assert any("llama.cpp" in ln and "QWQ_LLAMA_CPU_VARIANT" in ln for ln in failed), lines
    assert any(ln.strip().startswith("PASS") and "store" in ln for ln in lines), lines
    assert lines[-1].startswith("self-test FAILED")


def _without_display(env: dict) -> dict:
    return {
        k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland systems")
def test_no_display_is_one_line_that_names_the_terminal_chat(offscreen_env):
    out = run(env=_without_display(offscreen_env), timeout=60)
    assert out.returncode == 3
    said = out.stderr.strip().splitlines()
    assert len(said) == 1 and "cannot open a window" in said[0] and "qwq-desktop chat" in said[0], (
        said
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland systems")
def test_an_unreachable_display_is_one_line_not_a_qt_abort(offscreen_env):
    # DISPLAY points nowhere (an SSH session without forwarding): Qt gives up with a fatal
    # error and would abort (exit 134, a core dump and a paragraph about plugins).
    env = {**_without_display(offscreen_env), "DISPLAY": ":87"}
    out = run(env=env, timeout=60)
    assert out.returncode == 3, out.stderr
    said = out.stderr.strip().splitlines()
    assert len(said) == 1 and "qwq-desktop chat" in said[0], said


def test_missing_display_is_known_without_asking_qt():
    if not sys.platform.startswith("linux"):
        assert missing_display_reason({}) is None
        return
    assert missing_display_reason({}) == "neither DISPLAY nor WAYLAND_DISPLAY is set"
    assert missing_display_reason({"DISPLAY": ":0"}) is None
    assert missing_display_reason({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert missing_display_reason({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_a_gguf_opened_from_the_desktop_becomes_model():
    # The desktop entry runs `qwq-desktop %f`.
    assert desktop_argv(["/m/QwQ-32B-Q4_K_M.GGUF"]) == ["--model", "/m/QwQ-32B-Q4_K_M.GGUF"]
    assert desktop_argv(["chat", "--model", "a.gguf"]) == ["chat", "--model", "a.gguf"]
    assert desktop_argv([]) == []


def test_name_and_version_come_from_pyproject(tmp_path):
    import re
    from pathlib import Path

    from app import __version__
    from app.about import APP_NAME, about_text

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == __version__
    text = about_text()
    assert f"{APP_NAME} {__version__}" in text and "Licence: Apache-2.0" in text
    out = subprocess.run([*APP, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"qwq-desktop {__version__}"
