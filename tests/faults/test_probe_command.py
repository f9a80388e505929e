"""The packaged app's llama.cpp check runs as ``qwq-desktop quantize probe-gguf FILE``: the
command exists, speaks the check's protocol on stdout and turns a native abort into a verdict."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from quantize.cli import main as quantize_main
from quantize.gguf_probe import probe_command, run_probe
from tests.gguf_variants import with_duplicate_token


@pytest.fixture
def packaged_app(tmp_path):
    """An executable standing in for the frozen app: ``qwq-desktop ARGS`` from this source."""
    exe = tmp_path / "qwq-desktop"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    exe.write_text(
        f'#!/bin/sh\ncd "{root}" && exec "{sys.executable}" -m app.cli "$@"\n', encoding="utf-8"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the app")
def test_the_frozen_command_line_opens_a_good_model(packaged_app, tiny_answer_gguf):
    command = probe_command(
        tiny_answer_gguf, vocab_only=False, executable=str(packaged_app), frozen=True
    )
    assert command[1:3] == ["quantize", "probe-gguf"]
    result = run_probe(tiny_answer_gguf, command=command)
    assert result.ok, result
    assert result.stage == "decode" and result.info == {"n_vocab": 462, "full": True}


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the app")
def test_the_frozen_command_line_reports_a_native_abort(packaged_app, tiny_answer_gguf, tmp_path):
    bad = with_duplicate_token(tiny_answer_gguf, tmp_path / "dup.gguf")
    command = probe_command(bad, vocab_only=True, executable=str(packaged_app), frozen=True)
    result = run_probe(bad, command=command)
    assert result.verdict == "crashed" and result.stage == "load"
    assert "GGML_ASSERT" in result.message


def test_qwq_quantize_lists_the_command_and_passes_it_on(capsys, tiny_answer_gguf):
    with pytest.raises(SystemExit):
        quantize_main(["--help"])
    assert "probe-gguf" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        quantize_main(["probe-gguf", "--help"])
    assert exited.value.code == 0 and "--vocab-only" in capsys.readouterr().out
