"""Loading a model for ChatEngine: the checks, the memory plan and llama.cpp, in that order.

The Python check of the GGUF (load_guard; a draft model's vocabulary: draft_model), the memory
plan from the headers (a model that does not fit never starts llama.cpp), llama.cpp's own check
in a child process (once per file version), then the load. A watch on each file
(model_file_watch) runs from the first check to the engine's close, so the versions checked
are the ones loaded and used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .draft_model import check_draft_file, load_draft
from .errors import ModelFileError
from .hardware import HardwareInfo, probe_hardware
from .llama_loader import load_llama
from .load_guard import GuardResult, guard_model_file, probe_checked_file, stop_poll
from .load_progress import ProgressFn
from .model_file_watch import ModelFileWatch
from .planner import plan_memory
from .speculative import DRAFT_MODES
from .threads import ThreadPlan, choose_threads

if TYPE_CHECKING:
    from .engine import ChatEngine

N_BATCH = 512


@dataclass
class LoadOptions:
    """How to load a model; ``None`` lets the memory planner and thread chooser decide."""

    n_ctx: int | None = None
    n_gpu_layers: int | None = None
    kv_cache_type: str = "f16"
    n_threads: int | None = None
    for_gui: bool = True
    seed: int | None = None
    # Speculative decoding: "lookup" (prompt lookup), "none", or the path of a draft model GGUF
    # of the same vocabulary.
    draft: str = "lookup"
    # Called with the load fraction (0..1) from the loading thread; return False to cancel.
    progress: ProgressFn | None = None


def load_engine(
    engine_cls: type[ChatEngine],
    path: str | Path,
    options: LoadOptions | None = None,
    hardware: HardwareInfo | None = None,
) -> ChatEngine:
    """Check the file in Python (load_guard: the header; a draft model's vocabulary:
    DraftModelError), plan memory for both from their headers (InsufficientMemoryError
    before llama.cpp is started at all), then have llama.cpp check them in a child process
    (once per file version) and load them (raises EngineError subclasses:
    DamagedModelError, ModelCrashError, ... with llama.cpp's last words)."""
    options = options or LoadOptions()
    checked = guard_model_file(path, probe=False)
    draft_checked = None
    if options.draft not in DRAFT_MODES:
        draft_checked = check_draft_file(options.draft, checked.facts)
    # From here on the file versions checked must be the ones loaded and then used.
    watches = [_watch(checked.facts.path)]
    try:
        if draft_checked is not None:
            watches.append(_watch(draft_checked.facts.path))
        return _load_checked(engine_cls, checked, draft_checked, options, hardware, watches)
    except BaseException:
        close_all(watches)
        raise


def _load_checked(
    engine_cls: type[ChatEngine],
    checked: GuardResult,
    draft_checked: GuardResult | None,
    options: LoadOptions,
    hardware: HardwareInfo | None,
    watches: list[ModelFileWatch],
) -> ChatEngine:
    """``load`` once the Python checks passed: plan, llama.cpp's checks, the load."""
    facts = checked.facts
    hardware = hardware or probe_hardware()
    plan = plan_memory(
        facts,
        hardware,
        n_ctx=options.n_ctx,
        kv_cache_type=options.kv_cache_type,
        n_gpu_layers=options.n_gpu_layers,
        draft=draft_checked.facts if draft_checked is not None else None,
    )
    should_stop = stop_poll(options.progress)
    guard = probe_checked_file(checked, should_stop=should_stop)
    draft_facts = None
    if draft_checked is not None:
        draft_facts = probe_checked_file(draft_checked, should_stop=should_stop).facts
    threads = choose_threads(hardware.physical_cores, for_gui=options.for_gui)
    if options.n_threads:
        threads = ThreadPlan(options.n_threads, options.n_threads)
    llama, report = load_llama(facts, plan, threads, options.seed, options.progress, N_BATCH)
    report.notes += list(guard.notes)
    draft = None
    try:
        if draft_facts is not None:
            draft = load_draft(draft_facts, plan, threads, options.seed, facts.n_vocab)
        for watch in watches:
            watch.check_still_named()
        engine = engine_cls(llama, facts, plan, threads, hardware, report, draft, watches)
    except BaseException:
        if draft is not None:
            draft.close()
        llama.close()
        raise
    if options.draft == "none":
        engine.draft_mode = "none"
    report.notes += engine.formatter.notes  # e.g. a damaged template replaced by ChatML
    return engine


def _watch(path: str | Path) -> ModelFileWatch:
    """A watch on a model file about to be loaded (ModelFileError if it cannot be opened)."""
    try:
        return ModelFileWatch(path)
    except OSError as exc:
        raise ModelFileError(f"Cannot read {path}: {exc.strerror}", "check the file") from exc


def close_all(watches: Sequence[ModelFileWatch]) -> None:
    """Close every watch (the engine's files once it is closed, or a failed load's)."""
    for watch in watches:
        watch.close()
