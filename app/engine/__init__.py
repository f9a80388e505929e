"""The Qt-free chat engine: model facts, hardware probe, memory planner, chat formatting,
reasoning parser and streaming generation on llama-cpp-python."""

from .chat_format import ChatFormatter, RenderedPrompt
from .engine import ChatEngine, LoadOptions
from .errors import (
    ContextOverflowError,
    EngineError,
    InsufficientMemoryError,
    LoadCancelledError,
    ModelFileError,
    ModelLoadError,
    TemplateError,
)
from .events import ContextNotice, TextDelta, TurnFinished, TurnResult, TurnStats
from .hardware import HardwareInfo, probe_hardware
from .model_facts import ModelFacts, read_model_facts
from .planner import MemoryPlan, kv_bytes_per_token, plan_memory
from .reasoning import ReasoningParser, strip_thinking
from .sampling import SamplingParams, preset_for
from .threads import ThreadPlan, choose_threads

__all__ = [
    "ChatEngine",
    "ChatFormatter",
    "ContextNotice",
    "ContextOverflowError",
    "EngineError",
    "HardwareInfo",
    "InsufficientMemoryError",
    "LoadCancelledError",
    "LoadOptions",
    "MemoryPlan",
    "ModelFacts",
    "ModelFileError",
    "ModelLoadError",
    "ReasoningParser",
    "RenderedPrompt",
    "SamplingParams",
    "TemplateError",
    "TextDelta",
    "ThreadPlan",
    "TurnFinished",
    "TurnResult",
    "TurnStats",
    "choose_threads",
    "kv_bytes_per_token",
    "plan_memory",
    "preset_for",
    "probe_hardware",
    "read_model_facts",
    "strip_thinking",
]
