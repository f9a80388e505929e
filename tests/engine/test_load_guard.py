"""Before llama.cpp opens a model in the app's process: the Python check, then llama.cpp's
verdict from a child process (cached). Damaged files are typed errors with llama.cpp's last
words; the process that asked lives on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gguf
import pytest

from app.engine import (
    ChatEngine,
    HardwareInfo,
    InsufficientMemoryError,
    LoadOptions,
    ModelFileError,
    ModelLoadError,
)
from app.engine import load_guard as guard_module
from app.engine.gguf_verdicts import CACHE_NAME, forget_memory
from app.engine.load_guard import (
    DamagedModelError,
    ModelCrashError,
    guard_model_file,
)
from app.models.checks import check_gguf
from app.paths import app_paths
from tests.gguf_variants import gguf_variant, with_duplicate_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def crashing_gguf(tiny_answer_gguf, tmp_path_factory):
    """Passes the Python check, but llama.cpp asserts on its hyper-parameters (expert groups
    without experts) and aborts: only the child-process check can catch it."""
    out = tmp_path_factory.mktemp("crash") / "experts.gguf"
    return gguf_variant(tiny_answer_gguf, out, values={"qwen2.expert_group_count": 2})


@pytest.fixture(scope="module")
def damaged_template_gguf(tiny_answer_gguf, tmp_path_factory):
    out = tmp_path_factory.mktemp("tpl") / "template.gguf"
    return gguf_variant(tiny_answer_gguf, out, values={"tokenizer.chat_template": "{% if %}oops"})


@pytest.fixture(scope="module")
def hostile_template_gguf(tiny_answer_gguf, tmp_path_factory):
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    out = tmp_path_factory.mktemp("tpl") / "hostile.gguf"
    return gguf_variant(tiny_answer_gguf, out, values={"tokenizer.chat_template": loop})


def test_a_damaged_vocabulary_is_refused_before_llama_cpp_sees_it(tiny_answer_gguf, tmp_path):
    bad = with_duplicate_token(tiny_answer_gguf, tmp_path / "dup.gguf")
    with pytest.raises(DamagedModelError, match="tokens 350 and 408 are both") as info:
        ChatEngine.load(bad, LoadOptions(n_ctx=256, n_threads=1))
    assert info.value.problem == "vocab" and "download it again" in info.value.hint
    assert isinstance(info.value, ModelFileError)


def test_a_crash_in_llama_cpp_is_a_typed_error_and_this_process_lives(crashing_gguf):
    with pytest.raises(ModelCrashError) as info:
        ChatEngine.load(crashing_gguf, LoadOptions(n_ctx=256, n_threads=1))
    error = info.value
    assert isinstance(error, ModelLoadError) and error.verdict == "crashed"
    assert "llama.cpp crashed" in error.message and "experts.gguf" in error.message
    assert "GGML_ASSERT(hparams.n_expert_groups == 0)" in error.message
    assert "the app kept running" in error.message
    assert error.details.startswith("llama.cpp's last messages:") and "GGML_ASSERT" in error.details
    # The model manager's import path says the same.
    with pytest.raises(ModelCrashError):
        check_gguf(crashing_gguf)


def test_the_verdict_is_cached_by_size_mtime_and_header(tiny_answer_gguf, tmp_path, monkeypatch):
    model = tmp_path / "m.gguf"
    model.write_bytes(tiny_answer_gguf.read_bytes())
    first = guard_model_file(model)
    assert first.probe is not None and first.probe.ok and not first.cached
    cache_file = app_paths().cache_dir / CACHE_NAME
    entries = json.loads(cache_file.read_text())["entries"]
    assert [e["result"]["verdict"] for e in entries.values()] == ["ok"]

    def no_child(*args, **kwargs):
        raise AssertionError("the child process ran again")

    monkeypatch.setattr(guard_module, "run_probe", no_child)
    forget_memory()  # from the file on disk now
    again = guard_model_file(model)
    assert again.cached and again.probe.ok
    monkeypatch.undo()
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new version of it
    assert not guard_model_file(model).cached


def test_a_model_that_does_not_fit_is_refused_before_llama_cpp_starts(
    tiny_answer_gguf, tmp_path, monkeypatch
):
    """The planner needs only the header: a refused plan never starts the child check."""
    model = tmp_path / "fresh.gguf"  # a version of the file no verdict is cached for
    model.write_bytes(tiny_answer_gguf.read_bytes())
    forget_memory()

    def no_child(*args, **kwargs):
        raise AssertionError("llama.cpp's check ran for a model the planner refuses")

    monkeypatch.setattr(guard_module, "run_probe", no_child)
    tiny = HardwareInfo(ram_total=64 * 2**20, ram_available=2**20, physical_cores=2,
                        logical_cores=2)  # fmt: skip
    with pytest.raises(InsufficientMemoryError):
        ChatEngine.load(model, LoadOptions(n_ctx=2048, n_threads=1), tiny)


def test_checks_without_the_child_process(tiny_answer_gguf):
    result = guard_model_file(tiny_answer_gguf, probe=False)
    assert result.probe is None and result.facts.architecture == "qwen2"
    assert result.check.n_vocab == result.facts.n_vocab == 462


def test_a_damaged_chat_template_falls_back_to_chatml_and_says_so(damaged_template_gguf):
    engine = ChatEngine.load(damaged_template_gguf, LoadOptions(n_ctx=256, n_threads=1))
    try:
        assert engine.formatter.fallback_used == "chatml"
        assert any("chat template is damaged" in n for n in engine.load_report.notes)
        rendered = engine.render([{"role": "user", "content": "hi"}])
        assert rendered.text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n"
        assert rendered.starts_in_thinking
    finally:
        engine.close()


def _cli(model: Path, home: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "app.cli", "chat", "--model", str(model)]
    argv += ["--prompt", "hi", "--max-tokens", "2", "--json"]
    env = {**os.environ, "QWQ_DESKTOP_HOME": str(home)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_cli_reports_a_llama_cpp_abort_instead_of_dying_silently(crashing_gguf, tmp_path):
    # Regression (issue 12): the command ended by SIGABRT with no output at all.
    done = _cli(crashing_gguf, tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: llama.cpp crashed (SIG")
    assert "GGML_ASSERT" in done.stderr and "Traceback" not in done.stderr


def test_cli_answers_with_a_damaged_template_instead_of_a_traceback(
    damaged_template_gguf, hostile_template_gguf, tmp_path
):
    # Regression (issue 12): jinja2.exceptions.TemplateSyntaxError escaped as a traceback.
    done = _cli(damaged_template_gguf, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and json.loads(done.stdout)["answer"]
    done = _cli(hostile_template_gguf, tmp_path / "home")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: The model's chat template was stopped: the chat template looped" in done.stderr


@pytest.mark.gemma
def test_the_real_gemma_model_passes(gemma_gguf):
    result = guard_model_file(gemma_gguf)
    assert result.probe.ok and result.check.n_vocab == 262144
    assert result.check.seconds < 1.0
    assert result.facts.architecture == "gemma3"


def test_big_endian_files_are_refused(tmp_path):
    writer = gguf.GGUFWriter(str(tmp_path / "be.gguf"), "qwen2", endianess=gguf.GGUFEndian.BIG)
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(DamagedModelError, match="other byte order"):
        guard_model_file(tmp_path / "be.gguf")
