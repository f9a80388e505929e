"""After llama.cpp aborted the app (a native crash no Python code survives), the next start
of the desktop app shows the report it left (llama-crash.log), once."""

from __future__ import annotations

import json

from app.paths import app_paths
from app.settings import AppSettings, save_settings
from tests.faults.conftest import run_app
from tests.gguf_variants import with_duplicate_token

# What a load that skipped the guard would do: llama.cpp asserts and aborts the process.
ABORTING_LOAD = """
import sys
from app.engine.llama_log import arm_abort_reporter
from llama_cpp import Llama
from quantize.llama_runtime import load_llama_backends
load_llama_backends()
assert arm_abort_reporter()
Llama(sys.argv[1], verbose=False)
"""


def start_gui(home):
    done = run_app([], home, module="tests.faults.gui_child")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_next_start_shows_llama_cpps_last_words_once(isolated_home, tiny_answer_gguf, tmp_path):
    paths = app_paths().ensure()
    save_settings(paths.settings_file, AppSettings(last_model=str(tiny_answer_gguf), threads=1))
    bad = with_duplicate_token(tiny_answer_gguf, tmp_path / "dup.gguf")
    crashed = run_app(["-c", ABORTING_LOAD, str(bad)], isolated_home, module="")
    assert crashed.returncode < 0  # SIGABRT: nothing in Python ran after it
    log = paths.logs_dir / "llama-crash.log"
    assert "GGML_ASSERT" in log.read_text()

    first = start_gui(isolated_home)
    assert first["code"] == 0
    notice = first["notice"]
    assert notice["kind"] == "warning"
    assert notice["text"].startswith("llama.cpp stopped QwQ Desktop last time: ")
    assert "GGML_ASSERT(id_to_token.size() == token_to_id.size())" in notice["text"]
    assert "llama.cpp's last messages:" in notice["details"]
    assert not log.exists() and (paths.logs_dir / "llama-crash.log.shown").is_file()

    second = start_gui(isolated_home)
    assert second["code"] == 0
    assert second["notice"] is None or "llama.cpp stopped" not in second["notice"]["text"]


# The desktop app ended by a fatal signal once its window is up (as a model file truncated
# under its memory map ends it with SIGBUS).
CRASHING_GUI = """
import os, signal
from app.ui.launch import run_gui
run_gui([], on_shown=lambda app: os.kill(os.getpid(), signal.SIGBUS))
"""


def test_the_next_start_tells_of_a_fatal_signal_once(isolated_home):
    crashed = run_app(["-c", CRASHING_GUI], isolated_home, module="")
    assert crashed.returncode == -7  # SIGBUS
    logs = app_paths().logs_dir
    assert "Fatal Python error: Bus error" in (logs / "fatal-error.log").read_text()

    first = start_gui(isolated_home)
    assert first["code"] == 0
    notice = first["notice"]
    assert notice["kind"] == "warning"
    assert notice["text"].startswith("QwQ Desktop stopped unexpectedly last time (Bus error)")
    assert "run_gui" in notice["details"]  # where it happened
    second = start_gui(isolated_home)
    assert second["notice"] is None
    assert not (logs / "fatal-error.log").exists()  # a clean run leaves no empty file
