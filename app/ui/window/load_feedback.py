"""What the window says about a model load: the device line for the status bar, the warning when
a GPU was expected but llama.cpp runs everything on the CPU, and the planner's refusal with the
loads it offers as actions ("Load with 8K context"). Plain functions, no widgets."""

from __future__ import annotations

from app.errors import Action, UserFacingError
from app.ui.chat.engine_session import ModelInfo


def context_label(n_ctx: int) -> str:
    """4096 -> "4K"; sizes that are not whole KiB stay as they are."""
    return f"{n_ctx // 1024}K" if n_ctx % 1024 == 0 else f"{n_ctx:,}"


def load_actions(error: UserFacingError) -> list[Action]:
    """The loads the planner says would fit (``Action`` kind "load": ``n_ctx``, maybe
    ``kv_cache_type``), which the window offers as one-click reloads."""
    return [action for action in error.actions if action.kind == "load"]


def refusal_text(error: UserFacingError) -> str:
    """The planner's refusal for a notice whose buttons offer the loads that fit; without such
    loads, the error with its hint."""
    if not load_actions(error):
        return error.text()
    return error.message.rstrip(".") + ". These settings fit:"


def describe_device(info: ModelInfo) -> str:
    """ "CUDA0: 65/65 layers · 32K context · q8_0 KV" or "CPU · 4K context · f16 KV"."""
    plan = info.plan
    return f"{info.device} · {context_label(plan.n_ctx)} context · {plan.kv_cache_type} KV"


def device_details(info: ModelInfo) -> str:
    """The tooltip: the plan in words, its notes, and how long loading took."""
    lines = [info.plan.summary()]
    lines += list(getattr(info.plan, "notes", []) or [])
    if info.offloaded_layers is not None and info.total_layers:
        lines.append(f"llama.cpp offloaded {info.offloaded_layers}/{info.total_layers} layers")
    lines.append(f"Loaded in {info.load_seconds:.1f} s")
    return "\n".join(lines)


def gpu_warning(info: ModelInfo) -> str | None:
    """Why the user should know that the GPU is unused, or None when all is as expected.

    Warns when the plan put layers on a GPU but llama.cpp offloaded none, and when this build
    offers a GPU backend but the model runs on the CPU although the user did not ask for that
    (GPU layers set to 0)."""
    if info.offloaded_layers:
        return None
    plan = info.plan
    if plan.n_gpu_layers > 0:
        return (
            f"The memory plan put {plan.n_gpu_layers} layers on the {plan.device} GPU, but "
            "llama.cpp offloaded none: the model runs on the CPU, much more slowly. This build "
            f"of llama-cpp-python may lack {plan.device} support or the GPU driver failed; "
            "reinstall it with GPU support, or set GPU layers to 0 in Models to plan for the CPU."
        )
    if info.gpu_backend and info.requested_gpu_layers != 0:
        notes = "; ".join(getattr(plan, "notes", []) or [])
        why = notes or f"the {info.gpu_backend} GPU has too little free memory for any layer"
        return (
            f"This computer offers {info.gpu_backend}, but the model runs entirely on the CPU "
            f"({why}). Free GPU memory or choose a smaller model or context to use the GPU."
        )
    return None
