"""Validation passes on a correct conversion and fails, with a clear reason, on broken ones."""

from __future__ import annotations

import json

import pytest

from quantize.convert import SOURCE_DIR_KEY
from quantize.errors import GGUFInputError
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
        "reference forward",
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
    assert failed(report) == {"weights", "reference forward", "logits"}, report.to_table()
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
    assert failed(report) == {"weights", "reference forward"}


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


# --- Without --source: the issue's form, `validate MODEL --reference REF [--text FILE]` ---

REFERENCE_CHECKS = [
    "metadata",
    "tensors",
    "vocabulary",
    "tokenization",
    "tokenizer.json",
    "chat template",
    "weights",
    "logits",
]


def test_without_source_checks_against_the_reference(quant_repo, quant_bf16, quant_q4):
    report = validate(quant_q4, reference=quant_bf16)
    assert report.passed, report.to_table()
    assert [c.name for c in report.checks] == REFERENCE_CHECKS
    assert not report.skipped()
    assert "match the reference" in check(report, "metadata").detail
    assert "identical to the reference" in check(report, "vocabulary").detail
    assert "tokenised as the reference does" in check(report, "tokenization").detail
    # tokenizer.json found through the source folder convert recorded (quantize copied it over)
    hf = check(report, "tokenizer.json")
    assert hf.metrics["tokenizer_json"] == str((quant_repo.path / "tokenizer.json").resolve())
    assert "source folder recorded in" in hf.detail
    assert "identical to the reference's; renders 4 turns, drops earlier thinking" in (
        check(report, "chat template").detail
    )
    assert "match the reference" in check(report, "weights").detail


def test_without_source_or_recorded_folder_the_tokenizer_json_check_is_skipped(
    tmp_path, quant_bf16, quant_q4
):
    """A skip is visible in the table and the JSON, is not a pass, and does not fail the run."""
    reference = copy_gguf(quant_bf16, tmp_path / "ref.gguf", drop_keys=(SOURCE_DIR_KEY,))
    model = copy_gguf(quant_q4, tmp_path / "model.gguf", drop_keys=(SOURCE_DIR_KEY,))
    report = validate(model, reference=reference)
    assert report.passed, report.to_table()
    assert [c.name for c in report.skipped()] == ["tokenizer.json"]
    table = report.to_table()
    assert (
        "SKIP  tokenizer.json  skipped: pass --source DIR to compare with tokenizer.json" in table
    )
    assert "Result: PASSED; 1 check(s) skipped, not passed: tokenizer.json" in table
    data = json.loads(report.to_json())
    assert data["skipped"] == ["tokenizer.json"] and data["source"] is None
    assert {c["name"]: c["passed"] for c in data["checks"]}["tokenizer.json"] is None


def test_tokenizer_json_beside_the_reference_is_used(tmp_path, quant_repo, quant_bf16, quant_q4):
    reference = copy_gguf(quant_bf16, tmp_path / "ref.gguf", drop_keys=(SOURCE_DIR_KEY,))
    model = copy_gguf(quant_q4, tmp_path / "model.gguf", drop_keys=(SOURCE_DIR_KEY,))
    (tmp_path / "tokenizer.json").symlink_to(quant_repo.path / "tokenizer.json")
    hf = check(validate(model, reference=reference), "tokenizer.json")
    assert hf.passed and "beside the reference" in hf.detail


def test_wrong_rope_theta_fails_without_source(tmp_path, quant_bf16, quant_q4):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", set_values={"qwen2.rope.freq_base": 1e4})
    report = validate(bad, reference=quant_bf16)
    assert "metadata" in failed(report), report.to_table()
    assert (
        "qwen2.rope.freq_base is 10000.0 but the reference has 1000000.0"
        in check(report, "metadata").detail
    )


@pytest.mark.parametrize(
    "pair",
    [
        ("blk.0.ffn_gate.weight", "blk.0.ffn_up.weight"),
        ("blk.0.attn_q.weight", "blk.1.attn_q.weight"),
    ],
)
def test_swapped_tensors_fail_without_source(tmp_path, quant_bf16, quant_q4, pair):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", swap=pair)
    report = validate(bad, reference=quant_bf16)
    assert failed(report) == {"weights", "logits"}, report.to_table()
    assert (
        f"{pair[0]} holds the data of {pair[1]} (swapped tensors?)"
        in check(report, "weights").detail
    )


def test_truncated_vocabulary_fails_without_source(tmp_path, quant_repo, quant_bf16, quant_q4):
    bad = copy_gguf(quant_q4, tmp_path / "bad.gguf", keep_tokens=400)
    report = validate(bad, reference=quant_bf16)
    assert {"metadata", "tensors", "vocabulary", "tokenization", "tokenizer.json", "logits"} <= (
        failed(report)
    )
    n, width = quant_repo.config["vocab_size"], quant_repo.config["hidden_size"]
    assert f"the vocabulary has 400 tokens, the reference {n}" in check(report, "metadata").detail
    assert f"token_embd.weight is [400, {width}], the reference's [{n}, {width}]" in (
        check(report, "tensors").detail
    )
    assert f"tokenizer.ggml.tokens: 400 entries, the reference {n}" in (
        check(report, "vocabulary").detail
    )


def test_a_tokenizer_broken_in_both_files_is_caught_by_tokenizer_json(
    tmp_path, quant_repo, quant_bf16, quant_q4
):
    """Model and reference agree with each other, so only the recorded tokenizer.json shows
    that both lost half their merges."""
    from quantize.gguf_reader import GGUFHeader

    merges = GGUFHeader(quant_q4).value("tokenizer.ggml.merges")
    changes = {
        "tokenizer.ggml.merges": merges[: len(merges) // 2],
        SOURCE_DIR_KEY: str(quant_repo.path.resolve()),  # an absolute record works too
    }
    reference = copy_gguf(quant_bf16, tmp_path / "ref.gguf", set_values=changes)
    model = copy_gguf(quant_q4, tmp_path / "model.gguf", set_values=changes)
    report = validate(model, reference=reference)
    assert failed(report) == {"tokenizer.json"}, report.to_table()
    assert "samples differ" in check(report, "tokenizer.json").detail


def test_nothing_to_compare_with_is_an_input_error(quant_q4):
    with pytest.raises(GGUFInputError, match="nothing to validate against"):
        validate(quant_q4)
