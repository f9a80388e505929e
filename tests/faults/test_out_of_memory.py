"""Out of memory: a model that does not fit is refused by the memory planner with what would
fit, before llama.cpp is asked to load it (which could take the machine into swap or get the
app killed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from app.engine import ChatEngine, InsufficientMemoryError, LoadOptions, engine_load
from app.engine.hardware import HardwareInfo
from tests.faults.conftest import run_app

SITE = Path(__file__).with_name("lowmem_site")
ROOT = Path(__file__).resolve().parents[2]
MiB = 1 << 20


def busy(available: int) -> dict[str, str]:
    """Environment for a child that sees only ``available`` bytes of free memory."""
    return {
        "QWQ_TEST_RAM_AVAILABLE": str(available),
        "PYTHONPATH": os.pathsep.join([str(SITE), str(ROOT)]),
    }


def test_the_planner_refuses_before_llama_cpp_loads(gemma_gguf, monkeypatch):
    def must_not_load(*args, **kwargs):
        raise AssertionError("llama.cpp was asked to load a model that does not fit")

    monkeypatch.setattr(engine_load, "load_llama", must_not_load)
    small = HardwareInfo(
        ram_total=4096 * MiB, ram_available=(768 + 1100) * MiB, physical_cores=2, logical_cores=2
    )
    with pytest.raises(InsufficientMemoryError) as refused:
        ChatEngine.load(gemma_gguf, LoadOptions(for_gui=False, n_ctx=32768), small)
    error = refused.value
    assert "needs" in error.message and "free" in error.message
    assert error.actions and error.actions[0].label.startswith("Load with")


def test_the_command_line_says_what_fits(gemma_gguf, tmp_path):
    done = run_app(
        ["chat", "--model", str(gemma_gguf), "--prompt", "hi", "--ctx", "32768"],
        tmp_path / "home",
        **busy(max(768 * MiB, psutil.virtual_memory().total // 25) + 1100 * MiB),
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    first, hint = done.stderr.strip().splitlines()[-2:]
    assert first.startswith("error: ") and "needs" in first and "free" in first
    assert hint.startswith("  try: ") and "context" in hint
    info = run_app(
        ["info", "--model", str(gemma_gguf), "--json"], tmp_path / "home", **busy(100 * MiB)
    )
    report = json.loads(info.stdout)
    assert report["plan"] is None and "even at 2K context" in report["refusal"]["message"]
    assert [a["kind"] for a in report["refusal"]["actions"]] == ["quantization", "free-memory"]
