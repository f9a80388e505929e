"""Sampling parameters and the presets picked for a model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from .model_facts import ModelFacts

# Below this, sampling is effectively greedy; reasoning models loop when decoded greedily.
MIN_REASONING_TEMPERATURE = 0.3


@dataclass
class SamplingParams:
    """How the next token is chosen, and how long a reply may run."""

    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    max_tokens: int | None = 2048
    thinking_budget: int | None = None  # thinking tokens before the engine closes </think>
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SamplingParams:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# Qwen's guidance for QwQ-32B: T 0.6, top_p 0.95, top_k 20-40, min_p 0, no repetition penalty.
QWQ_PRESET = SamplingParams(
    temperature=0.6,
    top_p=0.95,
    top_k=40,
    min_p=0.0,
    repeat_penalty=1.0,
    presence_penalty=0.0,
    max_tokens=32768,
    thinking_budget=None,
)
REASONING_PRESET = replace(QWQ_PRESET, max_tokens=16384)
GENERAL_PRESET = SamplingParams()
BASE_MODEL_MAX_TOKENS = 256


def preset_for(facts: ModelFacts) -> SamplingParams:
    """The recommended sampling for ``facts``: QwQ's values for QwQ, safe defaults otherwise."""
    if facts.is_qwq_family:
        return replace(QWQ_PRESET)
    if facts.is_reasoning:
        return replace(REASONING_PRESET)
    if facts.chat_template is None:  # a base model continues text; keep completions short
        return replace(GENERAL_PRESET, max_tokens=BASE_MODEL_MAX_TOKENS)
    return replace(GENERAL_PRESET)


def enforce_reasoning_rules(
    params: SamplingParams, facts: ModelFacts
) -> tuple[SamplingParams, list[str]]:
    """Params safe for ``facts`` and notes on what changed (reasoning models: never greedy)."""
    notes: list[str] = []
    if not facts.is_reasoning:
        return params, notes
    preset = preset_for(facts)
    if params.temperature < MIN_REASONING_TEMPERATURE:
        notes.append(
            f"temperature {params.temperature} is near-greedy and makes reasoning models loop; "
            f"using {preset.temperature}"
        )
        params = replace(params, temperature=preset.temperature)
    if params.top_k == 1:
        notes.append(f"top_k 1 is greedy and makes reasoning models loop; using {preset.top_k}")
        params = replace(params, top_k=preset.top_k)
    return params, notes
