"""llama.cpp opens a file in a child process first: its crash, refusal or hang is a verdict
with llama.cpp's own last words, and this process lives on."""

from __future__ import annotations

import json
import sys

import pytest

from quantize.gguf_probe import ProbeResult, probe_command, run_probe
from tests.gguf_variants import with_duplicate_token


@pytest.fixture(scope="module")
def duplicate_token_gguf(tiny_answer_gguf, tmp_path_factory):
    """Two tokens with the same text: llama.cpp asserts (GGML_ASSERT) and aborts the process."""
    return with_duplicate_token(tiny_answer_gguf, tmp_path_factory.mktemp("bad") / "dup.gguf")


def test_a_good_model_opens_reads_its_vocabulary_and_evaluates_a_token(tiny_answer_gguf):
    result = run_probe(tiny_answer_gguf)
    assert result.ok, result
    assert result.stage == "decode" and result.info == {"n_vocab": 462, "full": True}
    assert "opened" in result.summary("tiny.gguf")


def test_a_big_file_gets_a_vocabulary_only_load(tiny_answer_gguf):
    result = run_probe(tiny_answer_gguf, vocab_only=True)
    assert result.ok and result.stage == "vocab" and not result.info["full"]


def test_an_abort_in_llama_cpp_becomes_a_verdict_with_its_message(duplicate_token_gguf):
    # Issue 12's defect: this abort used to end the app with no output at all.
    result = run_probe(duplicate_token_gguf)
    assert result.verdict == "crashed" and result.stage == "load"
    assert result.returncode is not None and result.returncode != 0
    assert "GGML_ASSERT(id_to_token.size() == token_to_id.size())" in result.message
    assert "llama-vocab.cpp" in result.message and "/tmp/" not in result.message
    assert any("GGML_ASSERT" in line for line in result.log_tail)
    summary = result.summary("dup.gguf")
    assert summary.startswith("llama.cpp crashed (SIG") and "dup.gguf" in summary


def test_an_error_llama_cpp_reports_is_a_refusal(tiny_answer_gguf, tmp_path):
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(tiny_answer_gguf.read_bytes().replace(b"qwen2", b"qwenX"))
    result = run_probe(odd)
    assert result.verdict == "refused"
    assert "unknown model architecture: 'qwenX'" in result.message


def _fake_child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_hangs_is_killed_and_reported():
    code = "import json, time; print(json.dumps({'stage': 'vocab'}), flush=True); time.sleep(60)"
    result = run_probe(__file__, command=_fake_child(code), timeout=1.0)
    assert result.verdict == "hung" and result.stage == "vocab"
    assert result.seconds < 10
    assert "hung while reading the vocabulary of x.gguf" in result.summary("x.gguf")


def test_a_check_that_cannot_run_is_unavailable_not_a_crash():
    result = run_probe(__file__, command=_fake_child("import sys; sys.exit('no such command')"))
    assert result.verdict == "unavailable" and "no such command" in result.message


def test_a_stop_request_cancels_the_child():
    code = "import json, time; print(json.dumps({'stage': 'load'}), flush=True); time.sleep(60)"
    result = run_probe(__file__, command=_fake_child(code), should_stop=lambda: True)
    assert result.verdict == "cancelled"


def test_verdicts_survive_a_round_trip_through_json():
    result = ProbeResult("crashed", "load", "GGML_ASSERT(x) failed", ("a", "b"), -6, 0.5)
    again = ProbeResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


def test_the_packaged_app_runs_the_check_through_its_quantize_command():
    assert probe_command("m.gguf", vocab_only=False, executable="/app/qwq", frozen=True) == [
        "/app/qwq",
        "quantize",
        "probe-gguf",
        "m.gguf",
    ]
    assert probe_command("m.gguf", vocab_only=True, executable="py", frozen=False)[1:] == [
        "-m",
        "quantize.gguf_probe",
        "m.gguf",
        "--vocab-only",
    ]
