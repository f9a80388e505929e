"""What happens to a model file before llama.cpp opens it in the app's own process.

1. The Python check (quantize.gguf_check): header, metadata, tensor table and vocabulary, read
   from the header only. A file that breaks a rule llama.cpp relies on is refused with a
   ``DamagedModelError`` saying what is wrong.
2. llama.cpp's own verdict, from a child process (quantize.gguf_probe) once per version of the
   file (cached: gguf_verdicts.py). A crash or hang there is a ``ModelCrashError`` carrying
   llama.cpp's last log lines; the app keeps running. An error llama.cpp reports is a
   ``ModelRefusedError``.

Both the engine's load and the model manager's import go through ``guard_model_file``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from app.paths import app_paths
from quantize.gguf_check import GGUFCheck, GGUFCheckError, check_header
from quantize.gguf_probe import ProbeResult, run_probe

from .errors import LoadCancelledError, ModelFileError, ModelLoadError
from .gguf_verdicts import VerdictCache, verdict_key
from .model_facts import ModelFacts, facts_from_header, open_header

_DAMAGED_HINT = "download it again or verify its sha256; the file was not opened"


class DamagedModelError(ModelFileError):
    """The GGUF breaks a rule llama.cpp relies on (found in Python before llama.cpp saw it);
    ``problem`` names the rule ("vocab", "hparams", "tensor-offset", ...)."""

    def __init__(self, message: str, hint: str | None = None, *, problem: str = "", **kw):
        super().__init__(message, hint, **kw)
        self.problem = problem


class ModelRefusedError(ModelLoadError):
    """llama.cpp reported an error opening the file (``llama_error``: its own words)."""

    def __init__(self, message: str, hint: str | None = None, *, llama_error: str = "", **kw):
        super().__init__(message, hint, **kw)
        self.llama_error = llama_error


class ModelCrashError(ModelLoadError):
    """llama.cpp crashed or hung on the file in a separate check process, so the app kept
    running; ``details`` hold llama.cpp's last log lines, ``verdict`` is "crashed" or "hung"."""

    def __init__(self, message: str, hint: str | None = None, *, verdict: str = "", **kw):
        super().__init__(message, hint, **kw)
        self.verdict = verdict


@dataclass(frozen=True)
class GuardResult:
    """A file that passed: its facts, the Python check and llama.cpp's verdict (None: not
    asked), whether that verdict came from the cache, and notes for the load report."""

    facts: ModelFacts
    check: GGUFCheck
    probe: ProbeResult | None
    cached: bool = False
    notes: tuple[str, ...] = ()
    header_bytes: int = 0  # where the tensor data starts (the verdict cache hashes before it)


def guard_model_file(
    path: str | os.PathLike[str],
    *,
    probe: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> GuardResult:
    """Check ``path`` (see the module docstring); raises ModelFileError (DamagedModelError),
    ModelRefusedError, ModelCrashError or LoadCancelledError, else returns the facts.
    ``probe=False`` stops after the Python check (``probe_checked_file`` does the rest).

    ``cache_dir`` defaults to the app's cache folder; ``should_stop`` is polled while the child
    process runs (True cancels)."""
    p = Path(path)
    header = open_header(p)  # ModelFileError: missing, not a GGUF, broken structure
    try:
        check = check_header(header)
    except GGUFCheckError as exc:
        raise DamagedModelError(exc.message, _DAMAGED_HINT, problem=exc.problem) from exc
    facts = facts_from_header(p, header)
    checked = GuardResult(
        facts, check, None, notes=tuple(check.notes), header_bytes=header.data_offset
    )
    if not probe:
        return checked
    return probe_checked_file(checked, cache_dir=cache_dir, should_stop=should_stop)


def probe_checked_file(
    checked: GuardResult,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> GuardResult:
    """llama.cpp's verdict (cached, else from a child process) on a file that passed
    ``guard_model_file(..., probe=False)``; raises as ``guard_model_file`` does."""
    p = Path(checked.facts.path)
    notes = list(checked.notes)
    cache = VerdictCache(app_paths().cache_dir if cache_dir is None else cache_dir)
    try:
        key = verdict_key(p, checked.header_bytes)
    except OSError as exc:
        raise ModelFileError(f"Cannot read {p}: {exc.strerror}", "check the file") from exc
    result = cache.get(key)
    cached = result is not None
    if result is None:
        result = run_probe(p, should_stop=should_stop)
        cache.put(key, p, result)
    if result.verdict == "unavailable":
        notes.append(f"llama.cpp's check in a child process was skipped: {result.message}")
    else:
        raise_for_verdict(p, result, checked.facts.architecture)
    return replace(checked, probe=result, cached=cached, notes=tuple(notes))


def stop_poll(progress: Callable[[float], bool] | None) -> Callable[[], bool] | None:
    """``should_stop`` for a load's progress function (returning False cancels the load)."""
    if progress is None:
        return None

    def asked() -> bool:
        try:
            return progress(0.0) is False
        except Exception:  # noqa: BLE001 - a failing observer does not cancel
            return False

    return asked


def raise_for_verdict(path: Path, result: ProbeResult, architecture: str = "") -> None:
    """Raise the typed error for a verdict other than "ok" and "unavailable"."""
    name = path.name
    details = _details(result)
    if result.verdict == "cancelled":
        raise LoadCancelledError(f"Loading {name} was cancelled", None)
    if result.verdict == "refused":
        said = result.message.split(": ", 1)[-1] if ": " in result.message else result.message
        hint = "the file may be damaged or made for a newer llama.cpp: download it again"
        if "unknown model architecture" in result.message:
            hint = (
                f"this llama.cpp build cannot run '{architecture}' models: "
                "update llama-cpp-python (QwQ Desktop) or choose another model"
            )
        raise ModelRefusedError(
            f"llama.cpp could not load {name} ({said or 'no reason given'})",
            hint,
            llama_error=said,
            details=details,
        )
    if result.verdict in ("crashed", "hung"):
        raise ModelCrashError(
            f"{result.summary(name)} (in a separate check process: the app kept running)",
            "the file is damaged or made for another llama.cpp version: download it again "
            "or verify its sha256",
            verdict=result.verdict,
            details=details,
        )


def _details(result: ProbeResult) -> str | None:
    if not result.log_tail:
        return None
    return "llama.cpp's last messages:\n" + "\n".join(result.log_tail)
