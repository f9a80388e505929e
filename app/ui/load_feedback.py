"""What the window says about a model load: the device line for the status bar, the warning when
a GPU was expected but llama.cpp runs everything on the CPU, and the planner's refusal turned
into actions ("Load with 8K context"). Plain functions, no widgets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .engine_worker import ModelInfo

# The memory planner words its alternatives as "8K context" and "q8_0 KV cache at 16K context"
# (app/engine/planner.py, _refusal); others ("a smaller quantisation ...") stay plain text.
_CONTEXT = re.compile(r"^(\d+)(K?) context$")
_KV_AT_CONTEXT = re.compile(r"^(f16|q8_0|q4_0) KV cache at (\d+)(K?) context$")


@dataclass(frozen=True)
class LoadAlternative:
    """A load the planner says would fit: the changes to apply and the button's label."""

    label: str
    n_ctx: int | None = None
    kv_cache_type: str | None = None


def context_label(n_ctx: int) -> str:
    """4096 -> "4K"; sizes that are not whole KiB stay as they are."""
    return f"{n_ctx // 1024}K" if n_ctx % 1024 == 0 else f"{n_ctx:,}"


def _tokens(number: str, kilo: str) -> int:
    return int(number) * (1024 if kilo else 1)


def parse_alternative(text: str) -> LoadAlternative | None:
    """The load the planner's alternative ``text`` describes, or None when it is not a setting
    of this model (e.g. "closing other applications to free memory")."""
    text = text.strip()
    if m := _CONTEXT.match(text):
        n_ctx = _tokens(m.group(1), m.group(2))
        return LoadAlternative(f"Load with {context_label(n_ctx)} context", n_ctx)
    if m := _KV_AT_CONTEXT.match(text):
        kv, n_ctx = m.group(1), _tokens(m.group(2), m.group(3))
        return LoadAlternative(f"Use {kv} KV cache ({context_label(n_ctx)} context)", n_ctx, kv)
    return None


def parse_alternatives(alternatives: Sequence[str]) -> list[LoadAlternative]:
    """The refusal's alternatives that the window can act on, as loads to try."""
    return [a for a in map(parse_alternative, alternatives) if a is not None]


def refusal_text(message: str, alternatives: Sequence[str]) -> str:
    """The planner's refusal for a notice whose buttons offer the actionable alternatives."""
    others = [a for a in alternatives if parse_alternative(a) is None]
    text = message.rstrip(".") + ". These settings fit:"
    if others:
        text += " (or try " + ", or ".join(others) + ")"
    return text


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
