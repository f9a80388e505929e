"""llama.cpp's last words are kept: the recent log, and a report when ggml aborts the process
(even while llama-cpp-python has pointed standard error at /dev/null for a quiet load)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from quantize.llama_log import (
    abort_report,
    captured_llama_log,
    recent_llama_log,
    shorten,
    useful_lines,
)
from tests.gguf_variants import with_duplicate_token


def test_source_paths_are_shortened_and_the_metadata_dump_dropped():
    line = "/tmp/pip-wheel-x/vendor/llama.cpp/src/llama-vocab.cpp:2544: GGML_ASSERT(a) failed"
    assert shorten(line) == "llama-vocab.cpp:2544: GGML_ASSERT(a) failed"
    lines = ["llama_model_loader: - kv   3: x = 1", "", "print_info: n_vocab = 462"]
    assert useful_lines(lines) == ["print_info: n_vocab = 462"]


def test_recent_lines_are_kept_after_a_capture_ends(tiny_answer_gguf):
    import llama_cpp

    from quantize.llama_runtime import load_llama_backends

    load_llama_backends()
    with captured_llama_log() as lines:
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        model = llama_cpp.llama_model_load_from_file(str(tiny_answer_gguf).encode(), params)
        llama_cpp.llama_model_free(model)
    assert lines  # the capture saw them
    assert any("print_info" in line for line in recent_llama_log(40))  # and so does the ring
    assert not any("- kv " in line for line in recent_llama_log(40))


def test_the_abort_report_names_the_assertion_and_the_last_lines():
    report = abort_report("/src/llama.cpp/ggml.c:12: GGML_ASSERT(x) failed", limit=0)
    assert report == "llama.cpp stopped the program: ggml.c:12: GGML_ASSERT(x) failed\n"


def test_a_native_abort_during_a_quiet_load_still_says_why(tiny_answer_gguf, tmp_path):
    # Issue 12: llama.cpp aborted on this file with no output at all, because llama-cpp-python
    # silences standard error during a load and the log capture kept the last lines to itself.
    duplicate_token_gguf = with_duplicate_token(tiny_answer_gguf, tmp_path / "dup.gguf")
    crash_file = tmp_path / "crash.log"
    code = textwrap.dedent(
        """
        import sys, llama_cpp
        from quantize.llama_runtime import load_llama_backends
        from quantize.llama_log import captured_llama_log, install_abort_reporter
        load_llama_backends()
        assert install_abort_reporter(sys.argv[2])
        with captured_llama_log():
            llama_cpp.Llama(sys.argv[1], verbose=False, n_ctx=64)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(duplicate_token_gguf), str(crash_file)],
        capture_output=True,
        text=True,
        env={**os.environ, "GGML_NO_BACKTRACE": "1"},
    )
    assert done.returncode != 0
    expected = "llama.cpp stopped the program: llama-vocab.cpp:"
    assert expected in done.stderr and "GGML_ASSERT" in done.stderr
    assert "llama.cpp's last messages:" in done.stderr and "print_info" in done.stderr
    assert expected in crash_file.read_text()
