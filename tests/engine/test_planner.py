"""The memory planner: QwQ-32B's published figures, refusals, GPUs, and llama.cpp's real numbers."""

import pytest

from app.engine import (
    ChatEngine,
    HardwareInfo,
    InsufficientMemoryError,
    LoadOptions,
    ModelFacts,
    kv_bytes_per_token,
    plan_memory,
    read_model_facts,
)

GB = 10**9
GiB = 2**30


def qwq_facts() -> ModelFacts:
    """QwQ-32B Q4_K_M as published: 64 layers, 8 KV heads, head size 128, ~19.85 GB weights."""
    return ModelFacts(
        path="qwq-32b-q4_k_m.gguf",
        file_size=19_851_335_840,
        name="QwQ 32B",
        architecture="qwen2",
        parameters=32_763_876_352,
        quant_type="Q4_K_M",
        context_length=131072,
        n_layer=64,
        n_embd=5120,
        n_head=40,
        n_kv_head=8,
        head_dim=128,
        n_vocab=152064,
        n_ff=27648,
        tensor_bytes=19_845_000_000,
        chat_template="<think>",
        bos_token_id=151643,
        eos_token_id=151645,
        add_bos=False,
    )


def machine(
    ram_gb: float, gpu: str | None = None, vram_gb: float | None = None, unified: bool = False
) -> HardwareInfo:
    ram = int(ram_gb * GiB)
    return HardwareInfo(
        ram_total=ram,
        ram_available=ram - 6 * GiB,  # a desktop session with a browser open
        physical_cores=8,
        logical_cores=16,
        gpu_backend=gpu,
        gpu_free_bytes=int(vram_gb * GiB) if vram_gb else None,
        gpu_total_bytes=int(vram_gb * GiB) if vram_gb else None,
        unified_memory=unified,
    )


def test_qwq_kv_cache_per_token_matches_published_figures():
    facts = qwq_facts()
    assert kv_bytes_per_token(facts, "f16") == 256 * 1024
    assert kv_bytes_per_token(facts, "q8_0") == 136 * 1024
    assert kv_bytes_per_token(facts, "f16") * 32768 == 8 * GiB


def test_qwq_on_64_gb_gets_full_32k_context():
    plan = plan_memory(qwq_facts(), machine(64))
    assert plan.n_ctx == 32768 and plan.device == "CPU"
    assert plan.weights_bytes == pytest.approx(19.85 * GB, rel=0.01)
    assert plan.kv_bytes == 8 * GiB
    assert 19.85 * GB + 8 * GiB < plan.total_bytes < 29 * GB


def test_qwq_on_32_gb_gets_a_smaller_context_with_a_note():
    plan = plan_memory(qwq_facts(), machine(32))
    assert 8192 <= plan.n_ctx < 32768
    assert any("limited" in note for note in plan.notes)
    assert plan.total_bytes <= plan.budget_bytes


def test_qwq_on_16_gb_is_refused_with_alternatives():
    with pytest.raises(InsufficientMemoryError) as info:
        plan_memory(qwq_facts(), machine(16))
    message = str(info.value)
    assert "needs" in message and "free" in message and "Q3_K_M" in message


def test_explicit_context_that_does_not_fit_suggests_what_does():
    with pytest.raises(InsufficientMemoryError) as info:
        plan_memory(qwq_facts(), machine(32), n_ctx=32768)
    err = info.value
    assert "at 32K context" in str(err)
    loads = [a for a in err.actions if a.kind == "load"]
    assert loads[0].get("n_ctx") < 32768 and loads[0].get("kv_cache_type") is None
    assert loads[0].label == f"Load with {loads[0].get('n_ctx') // 1024}K context"
    assert any(a.get("kv_cache_type") == "q8_0" for a in loads)
    assert "context" in err.hint and "q8_0" in err.hint  # the same in words, for a terminal


def test_a_refusal_with_no_setting_that_fits_offers_a_smaller_file():
    with pytest.raises(InsufficientMemoryError) as info:
        plan_memory(qwq_facts(), machine(16))
    kinds = [(a.kind, a.get("quant")) for a in info.value.actions]
    assert kinds == [("quantization", "Q3_K_M"), ("free-memory", None)]


def test_q8_kv_cache_buys_context():
    f16 = plan_memory(qwq_facts(), machine(28))
    q8 = plan_memory(qwq_facts(), machine(28), kv_cache_type="q8_0")
    assert q8.n_ctx >= f16.n_ctx
    assert q8.kv_bytes_per_token < f16.kv_bytes_per_token


def test_24_gb_gpu_offloads_some_layers_and_keeps_the_rest_in_ram():
    plan = plan_memory(qwq_facts(), machine(32, "CUDA", 24), n_ctx=16384)
    assert plan.device == "CUDA"
    assert 30 < plan.n_gpu_layers < 64 or plan.n_gpu_layers == 65
    full = plan_memory(qwq_facts(), machine(32, "CUDA", 24), n_ctx=4096)
    assert full.n_gpu_layers == 65  # everything, output layer included


def test_metal_unified_memory_offloads_everything_when_it_fits():
    plan = plan_memory(qwq_facts(), machine(64, "Metal", 48, unified=True))
    assert plan.device == "Metal" and plan.n_gpu_layers == 65


def test_gpu_with_unknown_memory_falls_back_to_cpu_with_note():
    plan = plan_memory(qwq_facts(), machine(64, "Vulkan", None))
    assert plan.device == "CPU" and plan.notes


@pytest.mark.parametrize("n_ctx", [512, 2048])
def test_plan_matches_what_llama_cpp_allocates_tiny(tiny_answer_gguf, n_ctx):
    engine = ChatEngine.load(tiny_answer_gguf, LoadOptions(n_ctx=n_ctx, n_threads=1))
    try:
        real = engine.load_report
        assert real.kv_bytes == engine.plan.kv_bytes
        assert engine.plan.total_bytes == pytest.approx(real.total_bytes, rel=0.10)
    finally:
        engine.close()


@pytest.mark.parametrize("n_ctx", [2048, 8192])
def test_plan_matches_what_llama_cpp_allocates_gemma(gemma_gguf, n_ctx):
    engine = ChatEngine.load(gemma_gguf, LoadOptions(n_ctx=n_ctx, n_threads=1))
    try:
        real = engine.load_report
        assert real.kv_bytes == engine.plan.kv_bytes
        assert engine.plan.compute_bytes == pytest.approx(real.compute_bytes, rel=0.10)
        assert engine.plan.total_bytes == pytest.approx(real.total_bytes, rel=0.10)
    finally:
        engine.close()


def test_gemma_weights_from_header_match_file(gemma_gguf):
    facts = read_model_facts(gemma_gguf)
    assert facts.tensor_bytes == pytest.approx(facts.file_size, rel=0.05)


def qwen05_draft_facts() -> ModelFacts:
    """Qwen2.5-0.5B-Instruct Q4_K_M, QwQ-32B's draft model (the catalogue's numbers)."""
    from dataclasses import replace

    return replace(
        qwq_facts(),
        path="qwen2.5-0.5b-instruct-q4_k_m.gguf",
        name="Qwen2.5 0.5B Instruct",
        n_layer=24,
        n_embd=896,
        n_head=14,
        n_kv_head=2,
        head_dim=64,
        n_vocab=151936,
        n_ff=4864,
        tensor_bytes=491_000_000,
    )


def test_a_draft_model_is_planned_in_ram_beside_a_discrete_gpu_and_on_unified_memory():
    draft = qwen05_draft_facts()
    alone = plan_memory(qwq_facts(), machine(64), n_ctx=32768)
    both = plan_memory(qwq_facts(), machine(64), n_ctx=32768, draft=draft)
    assert 0.5 * GB < both.draft_bytes < 2 * GB  # weights, 32K of KV cache, compute
    assert both.total_bytes == alone.total_bytes + both.draft_bytes
    gpu = plan_memory(qwq_facts(), machine(64, "CUDA", 48), n_ctx=32768, draft=draft)
    assert gpu.n_gpu_layers == 65 and gpu.draft_gpu_layers == 0  # the model on the GPU only
    assert gpu.gpu_bytes == gpu.total_bytes - gpu.draft_bytes
    metal = plan_memory(qwq_facts(), machine(96, "Metal", 80, unified=True), draft=draft)
    assert metal.draft_gpu_layers == draft.n_layer + 1


def test_a_draft_model_that_does_not_fit_is_named_in_the_refusal():
    draft = qwen05_draft_facts()
    alone = plan_memory(qwq_facts(), machine(64), n_ctx=8192)
    hw = machine(64)
    reserve = hw.ram_available - alone.budget_bytes
    hw.ram_available = alone.total_bytes + reserve + 10**8  # the model fits, not the draft too
    assert plan_memory(qwq_facts(), hw, n_ctx=8192).n_ctx == 8192
    with pytest.raises(InsufficientMemoryError) as caught:
        plan_memory(qwq_facts(), hw, n_ctx=8192, draft=draft)
    assert "with the draft model Qwen2.5 0.5B Instruct" in caught.value.message
    assert "no draft model (--draft lookup)" in caught.value.hint
