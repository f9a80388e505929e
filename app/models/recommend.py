"""Which catalogue model this machine should run, with which settings, and why.

Every catalogue file is planned with the engine's memory planner (weights + KV cache + compute
buffers against RAM, unified memory or VRAM). The primary model (QwQ-32B) in its default
quantisation (Q4_K_M) is recommended whenever it fits with a useful context; otherwise the
first smaller model in catalogue order that does. Among the plans for one file, a context of
at least 16K comes first, then running wholly on the GPU, then an f16 KV cache, then more context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine import HardwareInfo, InsufficientMemoryError, MemoryPlan, plan_memory
from app.engine.planner import compute_buffer_bytes, kv_bytes_per_token

from .catalogue import Catalogue, CatalogueEntry
from .load_settings import LoadSettings

MIN_USEFUL_CONTEXT = 8192
GOOD_CONTEXT = 16384
KV_TYPES = ("f16", "q8_0")


@dataclass
class Option:
    """One catalogue file planned for this machine: a plan, or why it does not fit."""

    entry: CatalogueEntry
    plan: MemoryPlan | None
    refusal: str | None = None

    @property
    def fits(self) -> bool:
        """A plan with a useful context (or the model's whole context, when that is less)."""
        useful = min(MIN_USEFUL_CONTEXT, self.entry.family.context_length)
        return self.plan is not None and self.plan.n_ctx >= useful

    def to_dict(self) -> dict:
        return {
            "entry": self.entry.to_dict(),
            "fits": self.fits,
            "plan": self.plan.to_dict() if self.plan else None,
            "refusal": self.refusal,
        }


@dataclass
class Recommendation:
    """The pick (None when nothing fits), the plan it runs with, a sentence why, all options."""

    entry: CatalogueEntry | None
    plan: MemoryPlan | None
    reason: str
    hardware: HardwareInfo
    options: list[Option] = field(default_factory=list)

    def load_settings(self) -> LoadSettings:
        """The load settings to store with the model when it is installed."""
        if self.plan is None:
            return LoadSettings()
        return LoadSettings(
            n_ctx=self.plan.n_ctx,
            n_gpu_layers=self.plan.n_gpu_layers,
            kv_cache_type=self.plan.kv_cache_type,
        )

    def alternatives(self) -> list[Option]:
        """Other files that fit, in catalogue order."""
        return [o for o in self.options if o.fits and o.entry is not self.entry]

    def to_dict(self) -> dict:
        return {
            "recommended": self.entry.to_dict() if self.entry else None,
            "settings": self.load_settings().to_dict() if self.entry else None,
            "plan": self.plan.to_dict() if self.plan else None,
            "reason": self.reason,
            "hardware": self.hardware.to_dict(),
            "options": [o.to_dict() for o in self.options],
        }


def plan_entry(entry: CatalogueEntry, hardware: HardwareInfo) -> MemoryPlan:
    """The best plan for one catalogue file (see module docs); InsufficientMemoryError if none."""
    facts = entry.planning_facts()
    plans: list[MemoryPlan] = []
    refusal: InsufficientMemoryError | None = None
    requests: list[int | None] = [None]
    if hardware.gpu_backend and not hardware.unified_memory:
        requests += [32768, GOOD_CONTEXT]  # smaller contexts that may fit wholly on the GPU
    for kv in KV_TYPES:
        for n_ctx in requests:
            if n_ctx is not None and n_ctx > facts.context_length:
                continue
            try:
                plans.append(plan_memory(facts, hardware, n_ctx=n_ctx, kv_cache_type=kv))
            except InsufficientMemoryError as exc:
                refusal = refusal or exc
    if not plans:
        assert refusal is not None
        raise refusal
    full = facts.n_layer + 1

    def preference(plan: MemoryPlan) -> tuple:
        return (
            min(plan.n_ctx, GOOD_CONTEXT),
            plan.n_gpu_layers >= full,
            plan.kv_cache_type == "f16",
            plan.n_ctx,
            plan.n_gpu_layers,
        )

    return max(plans, key=preference)


def recommend(catalogue: Catalogue, hardware: HardwareInfo) -> Recommendation:
    """Plan every catalogue file for ``hardware`` and pick one (see module docs)."""
    options = []
    for entry in catalogue.entries:
        try:
            options.append(Option(entry, plan_entry(entry, hardware)))
        except InsufficientMemoryError as exc:
            options.append(Option(entry, None, str(exc)))
    machine = describe_hardware(hardware)
    primary = catalogue.default_entry(catalogue.primary_family)
    primary_option = next((o for o in options if o.entry is primary), None)
    if primary_option is not None and primary_option.fits:
        plan = primary_option.plan
        return Recommendation(
            primary, plan, f"{machine}: {_fit_sentence(primary, plan)}", hardware, options
        )
    fallback = next(
        (
            o
            for o in options
            if o.fits and o.entry.is_default_quant and o.entry.family.id != catalogue.primary_family
        ),
        None,
    ) or next((o for o in options if o.plan is not None), None)
    why_not = ""
    if primary is not None:
        why_not = (
            f"{primary.display_name} needs about {_gb(_need_at(primary, MIN_USEFUL_CONTEXT))} "
            f"even at {MIN_USEFUL_CONTEXT // 1024}K context; "
        )
    if fallback is None:
        return Recommendation(
            None,
            None,
            f"{machine}: {why_not}no catalogue model fits in the memory that is free. "
            "Close other applications, or import a smaller GGUF file.",
            hardware,
            options,
        )
    return Recommendation(
        fallback.entry,
        fallback.plan,
        f"{machine}: {why_not}{_fit_sentence(fallback.entry, fallback.plan)}",
        hardware,
        options,
    )


def hypothetical_hardware(
    ram_gb: float,
    *,
    gpu: str | None = None,
    vram_gb: float | None = None,
    physical_cores: int = 8,
) -> HardwareInfo:
    """A machine described by its RAM (and GPU), as ``probe_hardware`` would report it with a
    desktop running: max(2 GiB, 10 %) of the RAM in use by others. ``gpu``: None/"cpu",
    "metal" (unified memory) or a discrete backend such as "cuda" with ``vram_gb``."""
    total = int(ram_gb * 2**30)
    info = HardwareInfo(
        ram_total=total,
        ram_available=total - max(2 * 2**30, total // 10),
        physical_cores=physical_cores,
        logical_cores=physical_cores * 2,
    )
    backend = (gpu or "cpu").lower()
    if backend == "metal":
        share = 0.75 if total >= 36 * 2**30 else 0.66  # what macOS lets the GPU wire
        info.gpu_backend, info.unified_memory = "Metal", True
        info.gpu_total_bytes = int(total * share)
        info.gpu_free_bytes = min(info.gpu_total_bytes, info.ram_available)
    elif backend != "cpu":
        if not vram_gb:
            raise ValueError(f"a {gpu} GPU needs its memory size (vram_gb)")
        info.gpu_backend = {"cuda": "CUDA", "rocm": "ROCm", "vulkan": "Vulkan"}.get(
            backend, backend
        )
        info.gpu_total_bytes = int(vram_gb * 2**30)
        info.gpu_free_bytes = info.gpu_total_bytes - 2**29  # driver and desktop
    return info


def describe_hardware(hw: HardwareInfo) -> str:
    """A short description such as "32 GB RAM" or "32 GB RAM, CUDA GPU with 24 GB"."""
    text = f"{round(hw.ram_total / 2**30)} GB RAM"
    if hw.gpu_backend and hw.unified_memory:
        text += f", {hw.gpu_backend} GPU sharing it"
    elif hw.gpu_backend and hw.gpu_total_bytes:
        name = hw.gpu_name or f"{hw.gpu_backend} GPU"
        text += f", {name} with {round(hw.gpu_total_bytes / 2**30)} GB"
    return text


def _fit_sentence(entry: CatalogueEntry, plan: MemoryPlan) -> str:
    where = ""
    if plan.device != "CPU":
        full = entry.family.n_layer + 1
        where = (
            f", all on the {plan.device} GPU"
            if plan.n_gpu_layers >= full
            else f", {plan.n_gpu_layers} of {full} layers on the {plan.device} GPU"
        )
    kv = ", q8_0 KV cache" if plan.kv_cache_type != "f16" else ""
    text = (
        f"{entry.display_name} with {plan.n_ctx // 1024}K context fits{where}{kv}, "
        f"{_gb(plan.spare_bytes)} to spare"
    )
    if plan.n_ctx < GOOD_CONTEXT and entry.family.reasoning:
        text += " (long reasoning may fill the context)"
    return text


def _need_at(entry: CatalogueEntry, n_ctx: int) -> int:
    facts = entry.planning_facts()
    return (
        facts.tensor_bytes
        + kv_bytes_per_token(facts, "q8_0") * n_ctx
        + compute_buffer_bytes(facts, n_ctx)
    )


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"
