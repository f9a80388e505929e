"""The qwq-quantize command: subcommands, exit codes and messages."""

from __future__ import annotations

import json

import pytest

from quantize.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK, main
from quantize.validation.texts import EVALUATION_TEXT
from tests.quantize.gguf_edit import copy_gguf


def test_convert_quantize_validate(tmp_path, quant_repo, capsys):
    bf16, q8 = tmp_path / "m-bf16.gguf", tmp_path / "m-q8_0.gguf"
    assert main(["-q", "convert", str(quant_repo.path), "-o", str(bf16)]) == EXIT_OK
    assert "wrote" in capsys.readouterr().out
    assert main(["-q", "quantize", str(bf16), "-o", str(q8), "--type", "Q8_0"]) == EXIT_OK
    report = tmp_path / "report.json"
    code = main(
        [
            "validate",
            str(q8),
            "--source",
            str(quant_repo.path),
            "--reference",
            str(bf16),
            "--json",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "Result: PASSED" in out and "PASS  logits" in out
    assert json.loads(report.read_text())["passed"] is True


def test_validate_exit_code_on_failure(tmp_path, quant_repo, quant_bf16, quant_q4, capsys):
    bad = copy_gguf(
        quant_q4, tmp_path / "bad.gguf", swap=("blk.0.attn_k.weight", "blk.1.attn_k.weight")
    )
    code = main(
        ["validate", str(bad), "--source", str(quant_repo.path), "--reference", str(quant_bf16)]
    )
    assert code == EXIT_INVALID
    assert "FAIL  weights" in capsys.readouterr().out


def test_threshold_overrides_and_custom_text(tmp_path, quant_repo, quant_bf16, quant_q4, capsys):
    text = tmp_path / "eval.txt"
    text.write_text("Paris is lovely in spring. The answer should be short. " * 20)
    args = [
        "validate",
        str(quant_q4),
        "--source",
        str(quant_repo.path),
        "--reference",
        str(quant_bf16),
        "--text",
        str(text),
        "--max-tokens",
        "64",
    ]
    assert main([*args, "--max-kl", "1e-9"]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "> 1e-09" in out and "64 positions" in out


def test_errors_exit_2_with_a_hint(tmp_path, quant_repo, capsys):
    code = main(["convert", str(tmp_path), "-o", str(tmp_path / "x.gguf")])
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "hint:" in err
    missing = tmp_path / "missing.gguf"
    assert main(["quantize", str(missing), "-o", str(tmp_path / "o.gguf")]) == EXIT_ERROR
    assert "does not exist" in capsys.readouterr().err
    assert main(["validate", str(missing), "--source", str(quant_repo.path)]) == EXIT_ERROR


def test_issue_command_form_without_source(tmp_path, quant_bf16, quant_q4, capsys):
    """`qwq-quantize validate model-Q4_K_M.gguf --reference model-bf16.gguf --text FILE`"""
    text = tmp_path / "eval.txt"
    text.write_text(EVALUATION_TEXT, encoding="utf-8")
    report = tmp_path / "report.json"
    args = ["validate", str(quant_q4), "--reference", str(quant_bf16), "--text", str(text)]
    code = main([*args, "--json", str(report)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "source:    none (checked against the reference)" in out
    for name in ("metadata", "tensors", "vocabulary", "tokenization", "tokenizer.json", "logits"):
        assert f"PASS  {name}" in out
    assert "Result: PASSED" in out and "skipped" not in out
    data = json.loads(report.read_text())
    assert data["passed"] is True and data["skipped"] == []


@pytest.mark.parametrize(
    ("edit", "failing", "reason"),
    [
        (
            {"set_values": {"qwen2.rope.freq_base": 1e4}},
            "metadata",
            "qwen2.rope.freq_base is 10000.0 but the reference has 1000000.0",
        ),
        (
            {"swap": ("blk.0.ffn_gate.weight", "blk.0.ffn_up.weight")},
            "weights",
            "blk.0.ffn_gate.weight holds the data of blk.0.ffn_up.weight (swapped tensors?)",
        ),
        ({"keep_tokens": 400}, "vocabulary", "tokenizer.ggml.tokens: 400 entries, the reference"),
    ],
    ids=["wrong-rope", "swapped-tensors", "truncated-vocabulary"],
)
def test_issue_command_form_fails_on_broken_models(
    tmp_path, quant_bf16, quant_q4, capsys, edit, failing, reason
):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", **edit)
    code = main(["validate", str(bad), "--reference", str(quant_bf16)])
    out = capsys.readouterr().out
    assert code == EXIT_INVALID, out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith(f"FAIL  {failing} "))
    assert reason in line
    assert "Result: FAILED" in out


def test_validate_needs_a_reference_or_a_source(quant_q4, capsys):
    assert main(["validate", str(quant_q4)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "nothing to validate against" in err and "--reference" in err
