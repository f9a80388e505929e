"""`validate MODEL --source DIR` without a reference GGUF: the reference forward check passes
correct conversions and catches a broken converter even where the converter's own tables fool
the other checks (they share them), naming the mistake and the first diverging block."""

from __future__ import annotations

import dataclasses
import json

import pytest

import quantize.architectures as architectures
import quantize.convert as convert_module
import quantize.validation as validation_module
import quantize.validation.weights as weights_module
from quantize.cli import EXIT_INVALID, EXIT_OK, main
from quantize.convert import convert
from quantize.quantizer import quantize
from quantize.validation import validate
from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo
from tests.quantize.test_convert import ARCH_SPECS

NAME = "reference forward"


def check(report, name: str = NAME):
    return next(c for c in report.checks if c.name == name)


def failed(report) -> set[str]:
    return {c.name for c in report.failures()}


def q8_0(repo_path, folder):
    bf16 = convert(repo_path, folder / "m-bf16.gguf").path
    return quantize(bf16, folder / "m-q8_0.gguf", "Q8_0").path


class _SwappedGateUp:
    """A gguf name map that files mlp.gate_proj as ffn_up and mlp.up_proj as ffn_gate."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def get_name(self, key, try_suffixes=()):
        name = self.inner.get_name(key, try_suffixes=try_suffixes)
        swap = {"ffn_gate": "ffn_up", "ffn_up": "ffn_gate"}
        for a, b in swap.items():
            if name and f".{a}." in name:
                return name.replace(f".{a}.", f".{b}.")
        return name


def _swapped_name_map(monkeypatch):
    right = architectures.gguf_name_map
    for module in (convert_module, weights_module):
        monkeypatch.setattr(module, "gguf_name_map", lambda hp: _SwappedGateUp(right(hp)))


def _llama_row_order_for_qwen2(monkeypatch):
    def order(hp, name):
        return architectures.qk_row_order(dataclasses.replace(hp, hf_arch="LlamaForCausalLM"), name)

    for module in (convert_module, weights_module):
        monkeypatch.setattr(module, "qk_row_order", order)


def _rope_theta_1e4(monkeypatch):
    right = architectures.hparams_from_config
    for module in (convert_module, validation_module):
        monkeypatch.setattr(
            module,
            "hparams_from_config",
            lambda config: dataclasses.replace(right(config), rope_theta=10000.0),
        )


BROKEN = {
    "ffn_gate-ffn_up-swapped": (
        _swapped_name_map,
        "blk.0 feed-forward differs from the original weights by",
        "swapped tensors: the GGUF's blk.0.ffn_gate holds mlp.up_proj and ffn_up holds "
        "mlp.gate_proj (a wrong name map?)",
    ),
    "qk-rows-permuted": (
        _llama_row_order_for_qwen2,
        "blk.0 attention differs from the original weights by",
        "wrong Q/K row order: attn_q/attn_k rows of each head are permuted into adjacent rotary "
        "pairs, which llama.cpp's qwen2 graph does not expect",
    ),
    "rope-theta-1e4": (
        _rope_theta_1e4,
        "blk.0 attention differs from the original weights by",
        "wrong RoPE base: the GGUF's qwen2.rope.freq_base is 10000, config.json's rope_theta 1e+06",
    ),
}


@pytest.fixture(scope="module")
def quant_q8(quant_repo, tmp_path_factory):
    return q8_0(quant_repo.path, tmp_path_factory.mktemp("q8"))


def test_correct_q8_0_passes_without_a_reference(quant_repo, quant_q8):
    report = validate(quant_q8, quant_repo.path, reference_tokens=128)
    assert report.passed, report.to_table()
    result = check(report)
    metrics = result.metrics
    assert metrics["tokens"] == metrics["n_positions"] == 128
    assert metrics["mean_kl"] < 0.005 and metrics["ppl_ratio"] < 1.02
    assert metrics["n_confident"] >= 10 and metrics["top1_confident"] >= 0.97
    assert metrics["first_divergence"] is None and metrics["block_positions"] == 32
    assert metrics["worst_block_error"]["feed-forward"]["error"] < 0.05
    assert f"of {metrics['n_confident']} confident positions" in result.detail
    assert check(report, "logits").passed is None  # no --reference: skipped, as before


def test_random_weights_q8_0_is_no_top1_false_alarm(tmp_path):
    """Nearly flat next-token distributions: the top token flips on 4% of positions with a
    mean KL of 0.0001. None is confident, so top-1 is reported, not judged."""
    spec = HFRepoSpec(hidden=256, n_ff=512, n_head=4, n_kv_head=2, seed=4)
    repo = write_hf_repo(tmp_path / "random", spec)
    report = validate(q8_0(repo.path, tmp_path), repo.path)
    assert report.passed, report.to_table()
    metrics = check(report).metrics
    assert metrics["top1_agreement"] < 0.97  # what used to fail the check
    assert metrics["n_confident"] == 0 and metrics["top1_confident"] is None
    assert "top-1 not judged: no confident position" in check(report).detail


@pytest.mark.parametrize("broken", list(BROKEN))
def test_broken_converter_is_caught(tmp_path, monkeypatch, quant_repo, broken):
    """The converter and the old checks share the mistake (the same tables), so only the
    reference forward check can see it: it fails, naming the block and the mistake."""
    patch, where, why = BROKEN[broken]
    patch(monkeypatch)
    model = q8_0(quant_repo.path, tmp_path)
    report = validate(model, quant_repo.path, reference_tokens=128)
    assert failed(report) == {NAME}, report.to_table()
    detail = check(report).detail
    assert where in detail and why in detail, detail
    assert "(limit 5%)" in detail


def test_missing_llama_permutation_is_caught(tmp_path, monkeypatch):
    repo = write_hf_repo(tmp_path / "llama", ARCH_SPECS["llama3"])
    for module in (convert_module, weights_module):
        monkeypatch.setattr(module, "qk_row_order", lambda hp, name: None)
    model = convert(repo.path, tmp_path / "m.gguf", "f16").path
    report = validate(model, repo.path, reference_tokens=128)
    assert failed(report) == {NAME}, report.to_table()
    assert "blk.0 attention differs" in check(report).detail
    assert "llama.cpp's llama graph rotates adjacent rows of attn_q/attn_k" in (
        check(report).detail
    )


def test_without_llama_cpp_block_names_the_logits_still_decide(
    monkeypatch, quant_repo, quant_q8, tmp_path
):
    import re

    import quantize.validation.llama_trace as trace_module

    monkeypatch.setattr(trace_module, "_WANTED", re.compile("^$"))
    result = check(validate(quant_q8, quant_repo.path, reference_tokens=64))
    assert result.passed and "blocks not compared" in result.detail
    _swapped_name_map(monkeypatch)
    bad = q8_0(quant_repo.path, tmp_path)
    result = check(validate(bad, quant_repo.path, reference_tokens=64))
    assert result.passed is False and "mean KL" in result.detail


def test_cli_tokens_option_and_progress(tmp_path, quant_repo, quant_q8, capsys):
    report = tmp_path / "r.json"
    args = ["validate", str(quant_q8), "--source", str(quant_repo.path), "--json", str(report)]
    assert main([*args, "--tokens", "48"]) == EXIT_OK
    assert "PASS  reference forward  48 positions:" in capsys.readouterr().out
    data = {c["name"]: c for c in json.loads(report.read_text())["checks"]}
    assert data[NAME]["metrics"]["tokens"] == 48 and data[NAME]["passed"] is True
    assert main([*args, "--tokens", "0"]) == EXIT_OK
    assert "SKIP  reference forward  skipped: --tokens 0" in capsys.readouterr().out
    events = tmp_path / "events.jsonl"
    assert main([*args, "--progress", "jsonl", "--progress-file", str(events)]) == EXIT_OK
    progress = [
        e for e in map(json.loads, events.read_text().splitlines()) if e["event"] == "progress"
    ]
    assert progress and {e["step"] for e in progress} == {"validate"}
    assert progress[-1]["done"] == progress[-1]["total"] > 0


def test_cli_fails_a_broken_conversion_without_reference(tmp_path, monkeypatch, quant_repo, capsys):
    _swapped_name_map(monkeypatch)
    model = q8_0(quant_repo.path, tmp_path)
    code = main(["validate", str(model), "--source", str(quant_repo.path), "--tokens", "64"])
    out = capsys.readouterr().out
    assert code == EXIT_INVALID
    line = next(ln for ln in out.splitlines() if ln.strip().startswith(f"FAIL  {NAME} "))
    assert "ffn_gate holds mlp.up_proj" in line


def test_truncated_vocabulary_fails_before_running_llama_cpp(tmp_path, quant_repo, quant_q8):
    from tests.quantize.gguf_edit import copy_gguf

    bad = copy_gguf(quant_q8, tmp_path / "bad.gguf", keep_tokens=400)
    result = check(validate(bad, quant_repo.path))
    n, width = quant_repo.config["vocab_size"], quant_repo.config["hidden_size"]
    assert result.passed is False
    assert (
        result.detail == f"the GGUF has 400 tokens x {width} dimensions, config.json {n} x {width}"
    )
