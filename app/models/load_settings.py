"""Per-model load settings: what the user (or the recommendation) chose, None = planner decides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from app.engine import LoadOptions
from app.engine.planner import KV_BYTES

DRAFT_CHOICES = ("none", "lookup")  # else the path of a draft model's GGUF


@dataclass(frozen=True)
class LoadSettings:
    """Context size, GPU layers, KV cache type, threads and speculative decoding's drafts
    ("lookup": prompt lookup, "none", or a draft model's GGUF path) for loading one model."""

    n_ctx: int | None = None
    n_gpu_layers: int | None = None
    kv_cache_type: str = "f16"
    n_threads: int | None = None
    draft: str = "lookup"

    def __post_init__(self) -> None:
        if self.kv_cache_type not in KV_BYTES:
            raise ValueError(
                f"unknown KV cache type {self.kv_cache_type!r}; use one of {sorted(KV_BYTES)}"
            )
        for name in ("n_ctx", "n_gpu_layers", "n_threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0 or unset, not {value!r}")
        if not isinstance(self.draft, str) or not self.draft.strip():
            raise ValueError(f"draft must be none, lookup or a GGUF path, not {self.draft!r}")

    @property
    def draft_path(self) -> str | None:
        """The draft model's file, when one drafts (else None: lookup or no speculation)."""
        return None if self.draft in DRAFT_CHOICES else self.draft

    def to_load_options(self, *, for_gui: bool = True) -> LoadOptions:
        return LoadOptions(
            n_ctx=self.n_ctx,
            n_gpu_layers=self.n_gpu_layers,
            kv_cache_type=self.kv_cache_type,
            n_threads=self.n_threads,
            for_gui=for_gui,
            draft=self.draft,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> LoadSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})
