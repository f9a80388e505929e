"""The `qwq-desktop chat` and `info` commands, run as a user would (subprocesses)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from app.selftest.tiny_model import LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf

CLI = [sys.executable, "-m", "app.cli"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_chat_json_answer_thinking_and_stats(tiny_answer_gguf):
    out = run(
        "chat",
        "--model",
        str(tiny_answer_gguf),
        "--prompt",
        "Capital of France?",
        "--json",
        "--seed",
        "1",
        "--threads",
        "1",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"] == "Paris"
    assert data["thinking"] == "Let me think about it"
    stats = data["stats"]
    assert stats["stop_reason"] == "eos" and stats["completion_tokens"] == 8
    assert stats["prompt_tokens"] > 0 and stats["time_to_first_token_s"] > 0


def test_chat_json_on_gemma_exactly_as_documented(gemma_gguf):
    # The command from the README and the issue, with no tuning flags.
    out = run("chat", "--model", str(gemma_gguf), "--prompt", "The capital of France is", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"] and data["thinking"] == ""
    stats = data["stats"]
    assert stats["prompt_tokens"] == 6 and stats["n_ctx"] == 32768
    assert 0 < stats["completion_tokens"] <= 256  # base models get short completions
    assert stats["stop_reason"] in ("eos", "length")


def test_thinking_budget_flag(tiny_loop_gguf):
    out = run(
        "chat",
        "--model",
        str(tiny_loop_gguf),
        "--prompt",
        "go",
        "--json",
        "--thinking-budget",
        "7",
        "--threads",
        "1",
        "--seed",
        "2",
    )
    data = json.loads(out.stdout)
    assert data["stats"]["thinking_budget_hit"] and data["stats"]["thinking_tokens"] == 7
    assert data["answer"] == "Paris"


def test_print_prompt_strips_thinking_from_history(tiny_answer_gguf, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "<think>\nprivate musing\n</think>\n\nHello!"},
            ]
        )
    )
    out = run(
        "chat",
        "--model",
        str(tiny_answer_gguf),
        "--history",
        str(history),
        "--prompt",
        "next",
        "--print-prompt",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nnext<|im_end|>\n<|im_start|>assistant\n<think>\n"
    )


def test_print_prompt_shows_bos_for_gemma(gemma_gguf):
    out = run("chat", "--model", str(gemma_gguf), "--prompt", "Hello", "--print-prompt")
    assert out.stdout == "<bos>Hello"


def test_info_json_has_facts_and_plan(gemma_gguf):
    out = run("info", "--model", str(gemma_gguf), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model"]["architecture"] == "gemma3"
    assert data["kv_bytes_per_token"]["f16"] == 2 * 18 * 1 * 256 * 2
    plan = data["plan"]
    assert plan["n_ctx"] == 32768 and plan["n_gpu_layers"] == 0
    assert plan["weights_bytes"] == data["model"]["tensor_bytes"]


def test_info_text(tiny_answer_gguf):
    out = run("info", "--model", str(tiny_answer_gguf))
    assert out.returncode == 0
    assert "qwen2" in out.stdout and "Plan" in out.stdout and "reasoning" in out.stdout


@pytest.mark.parametrize("command", ["chat", "info"])
def test_bad_paths_give_a_readable_error_not_a_traceback(tmp_path, command):
    missing = run(
        command,
        "--model",
        str(tmp_path / "missing.gguf"),
        *(["--prompt", "x"] if command == "chat" else []),
    )
    assert missing.returncode == 2
    assert "not found" in missing.stderr and "Traceback" not in missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    wrong = run(command, "--model", str(text), *(["--prompt", "x"] if command == "chat" else []))
    assert wrong.returncode == 2
    assert "not a GGUF" in wrong.stderr and "Traceback" not in wrong.stderr


def test_bad_history_file_is_explained(tiny_answer_gguf, tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text('{"role": "user"}')
    out = run("chat", "--model", str(tiny_answer_gguf), "--history", str(bad), "--prompt", "x")
    assert out.returncode == 2 and "not a list" in out.stderr


def test_ctrl_c_stops_a_reply_without_quitting(tmp_path):
    # A long context, so that the reply cannot end by itself during the test.
    spec = TinyModelSpec(script=LOOP_SCRIPT, context_length=65536)
    model = write_tiny_gguf(tmp_path / "loop-64k.gguf", spec)
    proc = subprocess.Popen(
        [*CLI, "chat", "--model", str(model), "--threads", "1", "--max-tokens", "1000000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        proc.stdin.write("think forever\n")
        proc.stdin.flush()
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.stdin.write("/reset\n/quit\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Thinking: hmm ok so" in out
    assert "stopped" in out
    assert "(conversation cleared)" in out


def test_errors_are_printed_from_their_fields(capsys):
    from app.cli.models import main as models_main
    from app.cli.support import report_error
    from app.errors import AppError
    from quantize.errors import QuantizeToolError, format_error

    assert report_error(AppError("The file is damaged", "download it again")) == 2
    assert capsys.readouterr().err == "error: The file is damaged\n  try: download it again\n"
    # the same fields, whatever the layer: no format to parse back
    assert format_error(QuantizeToolError("No tokenizer", "add tokenizer.json")) == (
        "error: No tokenizer\n  hint: add tokenizer.json"
    )
    # one label, "try:", in every qwq-desktop command
    assert models_main(["verify", "not-installed"]) != 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: No installed model") and err[1].startswith("  try: ")
    report_error(AppError("No room", "try a smaller quantisation"))
    assert capsys.readouterr().err == "error: No room\n  try: a smaller quantisation\n"


def test_info_refusal_lists_the_planners_actions(tiny_answer_gguf, monkeypatch):
    """``info --json``: a refusal carries the loads that would fit, as labels and as the
    planner's typed actions (no sentences parsed back)."""
    import argparse

    from app.cli import info
    from app.engine import plan_memory, read_model_facts
    from app.engine.planner import MiB
    from app.models import hypothetical_hardware

    facts = read_model_facts(tiny_answer_gguf)
    low, high = (plan_memory(facts, hypothetical_hardware(64), n_ctx=c) for c in (2048, 4096))
    hardware = hypothetical_hardware(8)
    hardware.ram_available = 768 * MiB + (low.total_bytes + high.total_bytes) // 2
    monkeypatch.setattr(info, "probe_hardware", lambda: hardware)
    model = str(tiny_answer_gguf)
    args = argparse.Namespace(model=model, ctx=4096, kv_cache="f16", gpu_layers=None)
    report = info.model_report(args)
    assert report["plan"] is None
    refusal = json.loads(json.dumps(report))["refusal"]
    assert refusal["alternatives"][0] == "Load with 2K context"
    assert refusal["actions"][0] == {
        "kind": "load",
        "label": "Load with 2K context",
        "params": {"n_ctx": 2048},
    }
    assert refusal["alternatives"] == [a["label"] for a in refusal["actions"]]
