"""Memory planner: will this model fit, with how much context, and how many layers on the GPU?

Memory = weights + KV cache + compute buffers. The KV cache costs, per token,
2 (K and V) x layers x KV heads x head size x bytes per element: 256 KiB in f16 for QwQ-32B
(64 layers, 8 KV heads, head size 128), 136 KiB with a q8_0 cache. A plan is the largest context
(up to the model's) that fits, or a refusal that says what would fit. A draft model for
speculative decoding (its weights, KV cache at the same context and compute buffers) is part of
the plan: on the GPU with the model where memory is unified, else in RAM on the CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from app.errors import Action

from .errors import InsufficientMemoryError
from .hardware import HardwareInfo
from .model_facts import ModelFacts

GiB = 2**30
MiB = 2**20

# Bytes per KV element; quantised V needs flash attention (which the engine always enables).
KV_BYTES = {"f32": 4.0, "f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
CONTEXT_STEPS = (131072, 65536, 32768, 24576, 16384, 12288, 8192, 4096, 2048)
MIN_CONTEXT = 2048
# Qwen2-family models need YaRN beyond the 32K they were trained at; don't pick more by default.
AUTO_CONTEXT_CAP = 32768
N_UBATCH = 512
# Left for the OS, the GUI and the app's own Python heap.
RAM_RESERVE_MIN = 768 * MiB
RAM_RESERVE_FRACTION = 0.04
GPU_RESERVE = 400 * MiB


def kv_bytes_per_token(facts: ModelFacts, kv_cache_type: str = "f16") -> int:
    """Bytes of KV cache one token of context costs."""
    if kv_cache_type not in KV_BYTES:
        raise ValueError(f"unknown KV cache type {kv_cache_type!r}; use one of {sorted(KV_BYTES)}")
    return int(2 * facts.n_layer * facts.n_kv_head * facts.head_dim * KV_BYTES[kv_cache_type])


def compute_buffer_bytes(facts: ModelFacts, n_ctx: int, n_ubatch: int = N_UBATCH) -> int:
    """Estimate llama.cpp's compute and output buffers (flash attention on).

    llama.cpp reuses graph memory, so the buffer is the larger of two peaks, fitted against its
    own reports: the output stage (logits of a full micro-batch plus two hidden states) and a
    layer (the f16 attention mask over the context, FFN gate and up, four hidden states).
    """
    f32 = 4
    hidden = facts.n_embd * n_ubatch * f32
    output_stage = facts.n_vocab * n_ubatch * f32 + 2 * hidden
    layer_stage = n_ctx * n_ubatch * 2 + 2 * facts.n_ff * n_ubatch * f32 + 4 * hidden
    logits_buffer = facts.n_vocab * f32  # the output buffer kept between decodes
    return int(max(output_stage, layer_stage) + logits_buffer)


@dataclass
class MemoryPlan:
    """What the engine will ask llama.cpp for, and what it will cost."""

    n_ctx: int
    n_gpu_layers: int
    kv_cache_type: str
    flash_attn: bool
    device: str
    weights_bytes: int
    kv_bytes_per_token: int
    kv_bytes: int
    compute_bytes: int
    total_bytes: int
    budget_bytes: int
    gpu_bytes: int = 0
    draft_bytes: int = 0  # a draft model's weights, KV cache and compute (in total_bytes)
    draft_gpu_layers: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def spare_bytes(self) -> int:
        return self.budget_bytes - self.total_bytes

    def summary(self) -> str:
        where = self.device
        if self.n_gpu_layers and self.device != "CPU":
            where = f"{self.device}, {self.n_gpu_layers} layers on the GPU"
        draft = f" + {_gb(self.draft_bytes)} draft model" if self.draft_bytes else ""
        return (
            f"{_ctx_label(self.n_ctx)} context, {self.kv_cache_type} KV cache, {where}: "
            f"needs {_gb(self.total_bytes)} ({_gb(self.weights_bytes)} weights + "
            f"{_gb(self.kv_bytes)} KV + {_gb(self.compute_bytes)} compute{draft}), "
            f"{_gb(self.spare_bytes)} to spare"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["spare_bytes"] = self.spare_bytes
        data["summary"] = self.summary()
        return data


def _gb(n: int) -> str:
    """Decimal gigabytes as model files are sized; small models in MB."""
    if abs(n) >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if abs(n) >= 1e5 else f"{n / 1e3:.0f} KB"


def _ctx_label(n: int) -> str:
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)


def ram_budget(hw: HardwareInfo) -> int:
    """RAM the model may use: what is available now, less a reserve for the OS and the GUI."""
    reserve = max(RAM_RESERVE_MIN, int(hw.ram_total * RAM_RESERVE_FRACTION))
    return max(0, hw.ram_available - reserve)


def _cost(facts: ModelFacts, n_ctx: int, kv_type: str) -> tuple[int, int, int, int]:
    per_token = kv_bytes_per_token(facts, kv_type)
    kv = per_token * n_ctx
    compute = compute_buffer_bytes(facts, n_ctx)
    return facts.tensor_bytes, per_token, kv, compute


def _draft_cost(draft: ModelFacts | None, n_ctx: int, kv_type: str) -> int:
    if draft is None:
        return 0
    weights, _, kv, compute = _cost(draft, n_ctx, kv_type)
    return weights + kv + compute


def _candidates(facts: ModelFacts, n_ctx: int | None) -> list[int]:
    if n_ctx:
        return [n_ctx]
    cap = min(facts.context_length or AUTO_CONTEXT_CAP, AUTO_CONTEXT_CAP)
    steps = [c for c in CONTEXT_STEPS if c <= cap]
    if cap not in steps:
        steps.insert(0, cap)
    return steps or [cap]


def _fit(
    facts: ModelFacts,
    hw: HardwareInfo,
    n_ctx: int,
    kv_type: str,
    n_gpu_layers: int | None,
    draft: ModelFacts | None = None,
) -> MemoryPlan | None:
    weights, per_token, kv, compute = _cost(facts, n_ctx, kv_type)
    draft_bytes = _draft_cost(draft, n_ctx, kv_type)
    total = weights + kv + compute + draft_bytes
    ram = ram_budget(hw)
    base = dict(
        n_ctx=n_ctx,
        kv_cache_type=kv_type,
        flash_attn=True,
        weights_bytes=weights,
        kv_bytes_per_token=per_token,
        kv_bytes=kv,
        compute_bytes=compute,
        total_bytes=total,
        draft_bytes=draft_bytes,
    )
    gpu_free = hw.gpu_free_bytes
    if not hw.gpu_backend or n_gpu_layers == 0 or gpu_free is None:
        if total > ram:
            return None
        plan = MemoryPlan(n_gpu_layers=0, device="CPU", budget_bytes=ram, **base)
        if hw.gpu_backend and gpu_free is None and n_gpu_layers != 0:
            plan.notes.append(f"{hw.gpu_backend} memory unknown: planned for the CPU")
        return plan
    if hw.unified_memory:  # Apple silicon: everything offloads if it fits the GPU working set
        budget = min(ram, gpu_free)
        if total > budget:
            return None
        layers = facts.n_layer + 1 if n_gpu_layers is None else min(n_gpu_layers, facts.n_layer + 1)
        draft_layers = draft.n_layer + 1 if draft is not None and layers > facts.n_layer else 0
        return MemoryPlan(
            n_gpu_layers=layers,
            device=hw.gpu_backend,
            budget_bytes=budget,
            gpu_bytes=total,
            draft_gpu_layers=draft_layers,
            **base,
        )
    # A discrete GPU: offload as many whole layers as its free memory holds, the rest (and a
    # draft model) in RAM.
    vram = max(0, gpu_free - GPU_RESERVE)
    per_layer = facts.layer_bytes + kv // max(1, facts.n_layer)
    if weights + kv + compute <= vram:
        layers = facts.n_layer + 1
    else:
        layers = max(0, min(facts.n_layer, (vram - compute) // max(1, per_layer)))
    if n_gpu_layers is not None:
        layers = min(layers, n_gpu_layers)
    on_gpu = min(total - draft_bytes, layers * per_layer + (compute if layers else 0))
    if layers > facts.n_layer:
        on_gpu = total - draft_bytes
    in_ram = total - on_gpu
    if in_ram > ram:
        return None
    return MemoryPlan(
        n_gpu_layers=int(layers),
        device=hw.gpu_backend if layers else "CPU",
        budget_bytes=ram + vram,
        gpu_bytes=int(on_gpu),
        **base,
    )


def plan_memory(
    facts: ModelFacts,
    hw: HardwareInfo,
    n_ctx: int | None = None,
    kv_cache_type: str = "f16",
    n_gpu_layers: int | None = None,
    draft: ModelFacts | None = None,
) -> MemoryPlan:
    """The largest context (the requested one if given) that fits, with ``draft`` (a draft
    model) beside the model if given, or InsufficientMemoryError."""
    for ctx in _candidates(facts, n_ctx):
        plan = _fit(facts, hw, ctx, kv_cache_type, n_gpu_layers, draft)
        if plan is not None:
            if n_ctx is None and ctx < min(facts.context_length, AUTO_CONTEXT_CAP):
                plan.notes.append(f"context limited to {_ctx_label(ctx)} by memory")
            return plan
    # With an automatic context, even the smallest one failed: say what that one needs.
    wanted = n_ctx or _candidates(facts, None)[-1]
    raise _refusal(facts, hw, wanted, kv_cache_type, n_gpu_layers, even=n_ctx is None, draft=draft)


def _refusal(
    facts: ModelFacts,
    hw: HardwareInfo,
    wanted_ctx: int,
    kv_type: str,
    n_gpu_layers: int | None,
    even: bool = False,
    draft: ModelFacts | None = None,
) -> InsufficientMemoryError:
    weights, _, kv, compute = _cost(facts, wanted_ctx, kv_type)
    need = weights + kv + compute + _draft_cost(draft, wanted_ctx, kv_type)
    free = ram_budget(hw) + (
        max(0, (hw.gpu_free_bytes or 0) - GPU_RESERVE)
        if hw.gpu_backend and not hw.unified_memory
        else 0
    )
    # What would fit, as actions the GUI offers as buttons; the hint says the same in words.
    actions: list[Action] = []
    words: list[str] = []
    for ctx in _candidates(facts, None):
        if ctx < wanted_ctx and _fit(facts, hw, ctx, kv_type, n_gpu_layers, draft):
            label = _ctx_label(ctx)
            actions.append(Action("load", f"Load with {label} context", {"n_ctx": ctx}))
            words.append(f"{label} context")
            break
    if kv_type == "f16":
        for ctx in [wanted_ctx, *_candidates(facts, None)]:
            if ctx <= wanted_ctx and _fit(facts, hw, ctx, "q8_0", n_gpu_layers, draft):
                label = _ctx_label(ctx)
                params = {"n_ctx": ctx, "kv_cache_type": "q8_0"}
                actions.append(Action("load", f"Use q8_0 KV cache ({label} context)", params))
                words.append(f"q8_0 KV cache at {label} context")
                break
    if not actions:
        smaller = int(weights * 3.9 / 4.85)  # Q4_K_M is ~4.85 bits/weight, Q3_K_M ~3.9
        words.append(f"a smaller quantisation such as Q3_K_M (weights about {_gb(smaller)})")
        words.append("closing other applications to free memory")
        actions.append(
            Action(
                "quantization",
                f"Use a smaller quantisation such as Q3_K_M (weights about {_gb(smaller)})",
                {"quant": "Q3_K_M", "weights_bytes": smaller},
            )
        )
        actions.append(Action("free-memory", "Close other applications to free memory"))
    if draft is not None:
        words.insert(0, "no draft model (--draft lookup)")
    with_draft = f" with the draft model {draft.name}" if draft is not None else ""
    message = (
        f"{facts.name}{with_draft} needs {_gb(need)} {'even ' if even else ''}at "
        f"{_ctx_label(wanted_ctx)} context, {_gb(free)} free"
    )
    return InsufficientMemoryError(message, "try " + ", or ".join(words), actions=actions)
