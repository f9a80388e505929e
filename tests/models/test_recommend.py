"""Recommendations for typical machines, through the engine's real memory planner."""

from __future__ import annotations

import json

import pytest

from app.cli.models import main
from app.models import hypothetical_hardware, load_catalogue, plan_entry, recommend

GiB = 2**30


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_catalogue_offers_the_official_qwq_quantisations(catalogue):
    qwq = {e.quant: e for e in catalogue.of_family("qwq-32b")}
    assert set(qwq) == {"Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"}
    assert {e.repo_id for e in qwq.values()} == {"Qwen/QwQ-32B-GGUF"}
    assert qwq["Q4_K_M"].filename == "qwq-32b-q4_k_m.gguf"
    assert 19.5e9 < qwq["Q4_K_M"].approx_size_bytes < 20.2e9
    assert catalogue.default_entry("qwq-32b") is qwq["Q4_K_M"]
    sizes = [qwq[q].approx_size_bytes for q in ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")]
    assert sizes == sorted(sizes)


def test_16_gb_gets_a_smaller_reasoning_model_and_the_reason(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(16))
    assert rec.entry.id == "qwen3-8b-q4_k_m"
    assert rec.reason.startswith("16 GB RAM: QwQ-32B Q4_K_M needs about")
    assert "Qwen3-8B Q4_K_M with 32K context fits" in rec.reason
    qwq = next(o for o in rec.options if o.entry.id == "qwq-32b-q4_k_m")
    assert not qwq.fits and "needs" in qwq.refusal


def test_24_gb_fits_qwq_q4_k_m_with_a_quantised_kv_cache(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(24))
    assert rec.entry.id == "qwq-32b-q4_k_m"
    settings = rec.load_settings()
    assert settings.kv_cache_type == "q8_0" and 8192 <= settings.n_ctx < 16384
    assert "long reasoning may fill the context" in rec.reason


def test_32_gb_fits_qwq_q4_k_m_with_32k_context(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(32))
    assert rec.entry.id == "qwq-32b-q4_k_m"
    assert (rec.plan.n_ctx, rec.plan.kv_cache_type, rec.plan.device) == (32768, "f16", "CPU")
    assert rec.reason.startswith("32 GB RAM: QwQ-32B Q4_K_M with 32K context fits")
    assert rec.plan.spare_bytes > 0


def test_64_gb_still_picks_q4_k_m_and_lists_the_bigger_quants(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(64))
    assert rec.entry.id == "qwq-32b-q4_k_m"
    also = {o.entry.id for o in rec.alternatives()}
    assert {"qwq-32b-q5_k_m", "qwq-32b-q6_k", "qwq-32b-q8_0"} <= also


def test_metal_runs_everything_on_the_gpu(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(64, gpu="metal"))
    assert rec.entry.id == "qwq-32b-q4_k_m"
    assert rec.plan.device == "Metal" and rec.load_settings().n_gpu_layers == 65
    assert "all on the Metal GPU" in rec.reason


def test_small_mac_shares_less_memory_with_the_gpu(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(32, gpu="metal"))
    assert rec.entry.id == "qwq-32b-q4_k_m" and rec.plan.device == "Metal"
    assert rec.plan.n_ctx < 32768  # only about two thirds of 32 GB may be wired for the GPU


def test_a_24_gb_gpu_takes_the_whole_model_at_16k_rather_than_spill_at_32k(catalogue):
    hw = hypothetical_hardware(32, gpu="cuda", vram_gb=24)
    rec = recommend(catalogue, hw)
    assert rec.entry.id == "qwq-32b-q4_k_m"
    assert rec.plan.n_gpu_layers == 65 and rec.plan.n_ctx == 16384
    assert "all on the CUDA GPU" in rec.reason
    assert rec.reason.startswith("32 GB RAM, CUDA GPU with 24 GB")


def test_a_tiny_machine_gets_no_recommendation_but_a_way_out(catalogue):
    rec = recommend(catalogue, hypothetical_hardware(2))
    assert rec.entry is None and "import a smaller GGUF" in rec.reason


def test_plan_entry_refuses_with_alternatives(catalogue):
    from app.engine import InsufficientMemoryError

    with pytest.raises(InsufficientMemoryError):
        plan_entry(catalogue.get("qwq-32b-q8_0"), hypothetical_hardware(32))


def test_recommend_command_as_json(capsys):
    assert main(["recommend", "--json", "--ram-gb", "32"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recommended"]["filename"] == "qwq-32b-q4_k_m.gguf"
    assert data["settings"] == {
        "n_ctx": 32768,
        "n_gpu_layers": 0,
        "kv_cache_type": "f16",
        "n_threads": None,
        "draft": "lookup",
    }
    assert data["draft"]["id"] == "qwen2.5-0.5b-instruct-q4_k_m"
    assert len(data["options"]) == len(load_catalogue().entries)


def test_recommend_command_as_text(capsys):
    assert main(["recommend", "--ram-gb", "16"]) == 0
    out = capsys.readouterr().out
    assert "Recommended: Qwen3-8B Q4_K_M" in out
    assert "qwq-desktop models download Qwen/Qwen3-8B-GGUF Qwen3-8B-Q4_K_M.gguf" in out
