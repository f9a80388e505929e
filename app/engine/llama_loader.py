"""Create llama-cpp-python's ``Llama`` for a checked, planned model: the load itself, with
llama.cpp's log captured, load progress and cancel, the chat templates left to the app's own
sandbox, and YaRN for long Qwen contexts."""

from __future__ import annotations

from pathlib import Path

from quantize.llama_runtime import load_llama_backends

from .errors import LoadCancelledError, ModelLoadError
from .llama_calls import kv_cache_ggml_type
from .llama_log import arm_abort_reporter, capture_llama_log, failure_details, parse_log
from .llama_templates import templates_left_unparsed
from .load_progress import ProgressFn, load_progress
from .model_facts import ModelFacts
from .planner import MemoryPlan
from .threads import ThreadPlan

# Context beyond what Qwen2 was trained on (32K) needs YaRN scaling.
QWEN_NATIVE_CONTEXT = 32768
YARN_FACTOR = 4


def rope_overrides(facts: ModelFacts, n_ctx: int) -> dict:
    """YaRN for Qwen-family models asked for more than the 32K they were trained at.

    Qwen's guidance for QwQ-32B and Qwen2.5: YaRN with factor 4 over an original 32,768-token
    context. Models whose GGUF already sets a RoPE scaling keep it.
    """
    if not facts.architecture.startswith("qwen") or n_ctx <= QWEN_NATIVE_CONTEXT:
        return {}
    if facts.rope_scaling and facts.rope_scaling != "none":
        return {}
    import llama_cpp

    return {
        "rope_scaling_type": llama_cpp.LLAMA_ROPE_SCALING_TYPE_YARN,
        "yarn_orig_ctx": QWEN_NATIVE_CONTEXT,
        "rope_freq_scale": 1 / YARN_FACTOR,
    }


def load_llama(
    facts: ModelFacts,
    plan: MemoryPlan,
    threads: ThreadPlan,
    seed: int | None,
    progress: ProgressFn | None = None,
    n_batch: int = 512,
):
    """Create the ``Llama`` (raises ModelLoadError with llama.cpp's last words in ``details``,
    LoadCancelledError); a native abort meanwhile still leaves a report (arm_abort_reporter)."""
    from llama_cpp import Llama

    load_llama_backends()

    kwargs = dict(
        model_path=facts.path,
        n_ctx=plan.n_ctx,
        n_gpu_layers=plan.n_gpu_layers if plan.n_gpu_layers <= facts.n_layer else -1,
        n_threads=threads.n_threads,
        n_threads_batch=threads.n_threads_batch,
        n_batch=n_batch,
        n_ubatch=n_batch,
        flash_attn=plan.flash_attn,
        type_k=kv_cache_ggml_type(plan.kv_cache_type),
        type_v=kv_cache_ggml_type(plan.kv_cache_type),
        verbose=False,
    )
    if seed is not None:
        kwargs["seed"] = seed
    kwargs.update(rope_overrides(facts, plan.n_ctx))
    arm_abort_reporter()  # a native abort still says why (stderr and the app's log folder)
    with (
        capture_llama_log() as lines,
        load_progress(progress) as cancelled,
        templates_left_unparsed(),  # the app renders templates itself, with limits
    ):
        try:
            llama = Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            if cancelled[0]:
                raise LoadCancelledError(
                    f"Loading {Path(facts.path).name} was cancelled", None
                ) from exc
            report = parse_log("".join(lines))
            detail = "; ".join(report.errors[-3:]) or str(exc)
            hint = "the file may be damaged: verify its sha256 or download it again"
            if "unknown model architecture" in detail:
                hint = (
                    f"this llama.cpp build cannot run '{facts.architecture}' models: "
                    "update llama-cpp-python"
                )
            raise ModelLoadError(
                f"llama.cpp could not load {Path(facts.path).name} ({detail})",
                hint,
                details=failure_details(lines),
            ) from exc
    report = parse_log("".join(lines))
    report.log_text = "".join(lines)
    return llama, report
