"""Validation passes on a correct conversion and fails, with a clear reason, on broken ones."""

from __future__ import annotations

import json

import pytest

from quantize.validation import validate
from quantize.validation.report import ValidationReport
from tests.quantize.gguf_edit import copy_gguf


def check(report: ValidationReport, name: str):
    return next(c for c in report.checks if c.name == name)


def failed(report: ValidationReport) -> set[str]:
    return {c.name for c in report.failures()}


def test_correct_q4_k_m_passes(quant_repo, quant_bf16, quant_q4):
    report = validate(quant_q4, quant_repo.path, quant_bf16)
    assert report.passed, report.to_table()
    assert [c.name for c in report.checks] == [
        "metadata",
        "tensors",
        "vocabulary",
        "tokenization",
        "chat template",
        "weights",
        "logits",
    ]
    logits = check(report, "logits").metrics
    assert logits["mean_kl"] < 0.07 and logits["top1_agreement"] > 0.88
    assert 0.9 < logits["ppl_ratio"] < 1.08
    assert "drops earlier thinking" in check(report, "chat template").detail


def test_reference_against_itself_is_exact(quant_repo, quant_bf16):
    report = validate(quant_bf16, quant_repo.path, quant_bf16)
    assert report.passed, report.to_table()
    assert check(report, "logits").metrics["mean_kl"] < 1e-6
    assert check(report, "weights").metrics["worst_relative_error"]["BF16"] == 0.0


def test_without_reference_the_logit_check_is_skipped(quant_repo, quant_q4):
    report = validate(quant_q4, quant_repo.path)
    assert check(report, "logits").passed is None
    assert report.passed
    assert "SKIP  logits" in report.to_table()


def test_wrong_rope_theta_fails(tmp_path, quant_repo, quant_bf16, quant_q4):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", set_values={"qwen2.rope.freq_base": 1e4})
    report = validate(bad, quant_repo.path, quant_bf16)
    assert not report.passed
    assert "metadata" in failed(report)
    assert (
        "rope.freq_base is 10000.0 but config.json rope_theta is 1000000.0"
        in check(report, "metadata").detail
    )


@pytest.mark.parametrize(
    "pair",
    [
        ("blk.0.ffn_gate.weight", "blk.0.ffn_up.weight"),
        ("blk.0.attn_q.weight", "blk.1.attn_q.weight"),
    ],
)
def test_swapped_tensors_fail(tmp_path, quant_repo, quant_bf16, quant_q4, pair):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", swap=pair)
    report = validate(bad, quant_repo.path, quant_bf16)
    assert failed(report) == {"weights", "logits"}, report.to_table()
    assert (
        f"{pair[0]} holds the data of {pair[1]} (swapped tensors?)"
        in check(report, "weights").detail
    )
    assert "mean KL" in check(report, "logits").detail


def test_swapped_tensors_in_the_reference_are_caught_against_the_source(
    tmp_path, quant_repo, quant_bf16
):
    """Even when the reference itself is broken, the weights check compares with safetensors."""
    bad = copy_gguf(
        quant_bf16, tmp_path / "bad.gguf", swap=("blk.1.ffn_down.weight", "blk.0.ffn_down.weight")
    )
    report = validate(bad, quant_repo.path, bad)
    assert failed(report) == {"weights"}


def test_truncated_vocabulary_fails(tmp_path, quant_repo, quant_bf16, quant_q4):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", keep_tokens=400)
    report = validate(bad, quant_repo.path, quant_bf16)
    assert {"metadata", "tensors", "vocabulary", "tokenization", "logits"} <= failed(report)
    assert (
        "the vocabulary has 400 tokens but config.json vocab_size is"
        in check(report, "metadata").detail
    )
    assert "vocabularies differ: 400 tokens" in check(report, "logits").detail


def test_lost_merges_break_tokenization(tmp_path, quant_repo, quant_bf16, quant_q4):
    from gguf import GGUFReader

    merges = GGUFReader(quant_q4).fields["tokenizer.ggml.merges"].contents()
    bad = copy_gguf(
        quant_q4,
        tmp_path / "bad.gguf",
        set_values={"tokenizer.ggml.merges": merges[: len(merges) // 2]},
    )
    report = validate(bad, quant_repo.path, quant_bf16)
    assert "tokenization" in failed(report)
    assert "samples differ" in check(report, "tokenization").detail


def test_template_that_keeps_thinking_fails(tmp_path, quant_repo, quant_q4):
    from gguf import GGUFReader

    template = GGUFReader(quant_q4).fields["tokenizer.chat_template"].contents()
    keeps = template.replace(
        "message['content'].split('</think>')[-1].lstrip('\\n')", "message['content']"
    )
    assert keeps != template
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", set_values={"tokenizer.chat_template": keeps})
    assert check(validate(bad, quant_repo.path), "chat template").detail == (
        "the template differs from tokenizer_config.json's"
    )
    source = tmp_path / "source"
    source.mkdir()
    for f in quant_repo.path.iterdir():
        (source / f.name).symlink_to(f)
    config = json.loads((quant_repo.path / "tokenizer_config.json").read_text())
    (source / "tokenizer_config.json").unlink()
    (source / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": keeps}))
    report = validate(bad, source)
    assert "earlier thinking is kept" in check(report, "chat template").detail


def test_report_json_round_trip(quant_repo, quant_q4):
    report = validate(quant_q4, quant_repo.path)
    data = json.loads(report.to_json())
    assert data["passed"] is True
    assert {c["name"]: c["passed"] for c in data["checks"]}["logits"] is None


@pytest.mark.parametrize("name", ["qwen3", "llama3", "qwen2-tied-one-file"])
def test_other_architectures_validate(tmp_path, name):
    """Structure, tokenizer and weight checks know Qwen3's q/k norms and head size, Llama's
    permuted q/k rows and rope_freqs, and tied embeddings."""
    from quantize.convert import convert
    from tests.fixtures.hf_repo import write_hf_repo
    from tests.quantize.test_convert import ARCH_SPECS

    repo = write_hf_repo(tmp_path / name, ARCH_SPECS[name])
    model = convert(repo.path, tmp_path / "m.gguf", "f16").path
    report = validate(model, repo.path, model)
    assert report.passed, report.to_table()
    assert check(report, "weights").metrics["worst_relative_error"]["F16"] < 1e-3
