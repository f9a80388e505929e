"""What the window says about a load: device line, GPU-unused warning, the planner's refusal as
actions. The refusals come from the real memory planner, so a change in its wording fails here."""

from __future__ import annotations

import pytest

from app.engine import InsufficientMemoryError, plan_memory, read_model_facts
from app.engine.planner import MiB
from app.errors import Action
from app.models import hypothetical_hardware
from app.ui.chat.engine_session import ModelInfo
from app.ui.window.load_feedback import (
    context_label,
    describe_device,
    device_details,
    gpu_warning,
    load_actions,
    refusal_text,
)


@pytest.fixture(scope="module")
def facts(tiny_answer_gguf):
    return read_model_facts(tiny_answer_gguf)


def refusal(facts, n_ctx, budget_between):
    """The planner's refusal of ``n_ctx`` on a machine whose budget lies between two loads."""
    hardware = hypothetical_hardware(8)
    reserve = 768 * MiB  # the planner's minimum reserve, more than 4 % of 8 GiB
    low, high = (plan_memory(facts, hypothetical_hardware(64), n_ctx=c) for c in budget_between)
    hardware.ram_available = reserve + (low.total_bytes + high.total_bytes) // 2
    with pytest.raises(InsufficientMemoryError) as caught:
        plan_memory(facts, hardware, n_ctx=n_ctx)
    return caught.value


def info(plan, device="CPU", offloaded=None, backend=None, requested=None) -> ModelInfo:
    return ModelInfo(
        path="/m/tiny.gguf",
        facts=None,
        plan=plan,
        default_sampling=None,
        device=device,
        load_seconds=1.25,
        offloaded_layers=offloaded,
        total_layers=None if offloaded is None else 3,
        gpu_backend=backend,
        requested_gpu_layers=requested,
    )


def test_the_planners_alternatives_are_typed_loads(facts):
    error = refusal(facts, 4096, (2048, 4096))
    actions = load_actions(error)
    assert actions[0] == Action("load", "Load with 2K context", {"n_ctx": 2048})
    kv = [a for a in actions if a.get("kv_cache_type")]
    assert all(a.label.startswith("Use q8_0 KV cache (") for a in kv)
    assert all(a.get("kv_cache_type") == "q8_0" and a.get("n_ctx") for a in kv)
    text = refusal_text(error)
    assert text.startswith(error.message) and text.endswith("These settings fit:")


def test_alternatives_that_are_not_settings_stay_words(facts):
    hardware = hypothetical_hardware(8)
    hardware.ram_available = 0  # nothing fits at all
    with pytest.raises(InsufficientMemoryError) as caught:
        plan_memory(facts, hardware, n_ctx=4096)
    error = caught.value
    assert load_actions(error) == []
    assert [a.kind for a in error.actions] == ["quantization", "free-memory"]
    assert "closing other applications" in refusal_text(error)  # the hint, in words
    assert context_label(3000) == "3,000"


def test_device_line_and_details(facts):
    plan = plan_memory(facts, hypothetical_hardware(16), n_ctx=4096, kv_cache_type="q8_0")
    loaded = info(plan)
    assert describe_device(loaded) == "CPU · 4K context · q8_0 KV"
    assert device_details(loaded).startswith(plan.summary())
    assert device_details(loaded).endswith("Loaded in 1.2 s")
    assert gpu_warning(loaded) is None


def test_gpu_planned_but_nothing_offloaded_warns(facts):
    hardware = hypothetical_hardware(16, gpu="cuda", vram_gb=8)
    plan = plan_memory(facts, hardware, n_ctx=4096)
    assert plan.n_gpu_layers > 0
    warning = gpu_warning(info(plan, offloaded=0, backend="CUDA"))
    assert warning and "offloaded none" in warning and "CUDA" in warning
    assert gpu_warning(info(plan, device="CUDA0: 3/3 layers", offloaded=3, backend="CUDA")) is None


def test_a_gpu_build_running_on_the_cpu_warns_unless_the_user_chose_it(facts):
    hardware = hypothetical_hardware(16, gpu="cuda", vram_gb=8)
    hardware.gpu_free_bytes = None  # memory unknown: the planner plans for the CPU
    plan = plan_memory(facts, hardware, n_ctx=4096)
    assert plan.n_gpu_layers == 0
    warning = gpu_warning(info(plan, backend="CUDA"))
    assert warning and "runs entirely on the CPU" in warning and "memory unknown" in warning
    assert gpu_warning(info(plan, backend="CUDA", requested=0)) is None
