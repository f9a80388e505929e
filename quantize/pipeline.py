"""qwq-quantize all: fetch, convert, quantize and validate in one go, resumable step by step.

Progress is kept in ``<work dir>/qwq-quantize-state.json``. A step counts as done when the state
records it for the same inputs (commit, output type, quantisation type) and its output file is
still there with the recorded size; done steps are skipped, so an interrupted run continues
where it stopped (downloads resume inside the fetch step itself).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .architectures import hparams_from_config, load_config
from .atomic import atomic_write_text
from .convert import convert
from .errors import InsufficientDiskError
from .estimate import Estimate, estimate
from .fetch import fetch_metadata, fetched_commit, small_files, write_source_record
from .hub import RepoSnapshot, download_files, list_repo_files
from .progress import byte_progress, count_progress, download_progress
from .quantizer import quantize
from .validation import validate

STATE_NAME = "qwq-quantize-state.json"


@dataclass
class RunPlan:
    """Where a full run puts its files."""

    repo_id: str
    work_dir: Path
    qtype: str = "Q4_K_M"
    outtype: str = "bf16"

    @property
    def stem(self) -> str:
        return self.repo_id.split("/")[-1].lower()

    @property
    def source_dir(self) -> Path:
        return self.work_dir / "hf"

    @property
    def converted(self) -> Path:
        return self.work_dir / f"{self.stem}-{self.outtype}.gguf"

    @property
    def quantized(self) -> Path:
        return self.work_dir / f"{self.stem}-{self.qtype.lower()}.gguf"

    @property
    def report(self) -> Path:
        return self.work_dir / f"{self.stem}-{self.qtype.lower()}.validation.json"


@dataclass
class RunResult:
    plan: RunPlan
    skipped: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    estimate: Estimate | None = None
    validation_passed: bool | None = None


class RunState:
    """The state file: per step, the inputs it ran with and the size of what it produced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.steps: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.steps = {}

    def is_done(self, step: str, inputs: dict, output: Path | None) -> bool:
        record = self.steps.get(step)
        if not record or record.get("inputs") != inputs:
            return False
        return output is None or (output.is_file() and output.stat().st_size == record["size"])

    def mark_done(self, step: str, inputs: dict, output: Path | None, **extra) -> None:
        size = output.stat().st_size if output is not None else None
        self.steps[step] = {"inputs": inputs, "size": size, **extra}
        atomic_write_text(self.path, json.dumps(self.steps, indent=2))


def run_all(
    plan: RunPlan,
    *,
    revision: str = "main",
    token: str | bool | None = None,
    threads: int | None = None,
    imatrix: str | os.PathLike[str] | None = None,
    estimate_only: bool = False,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Run (or continue) every step for ``plan``; return what ran and whether validation passed."""
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    state = RunState(plan.work_dir / STATE_NAME)
    result = RunResult(plan)
    threads = threads or os.cpu_count() or 1

    fetch_inputs = {"repo": plan.repo_id, "revision": revision}
    source = _source_status(plan, state, fetch_inputs, revision, token, show_progress)
    hp = hparams_from_config(load_config(plan.source_dir))
    outputs = _step_outputs(plan, source.commit, imatrix)
    done: set[str] = set()
    for step, (inputs, out) in outputs.items():  # steps in order: a redone step redoes the rest
        if not state.is_done(step, inputs, out):
            break
        done.add(step)
    if source.fetched:
        done.add("fetch")
    result.estimate = estimate(
        hp,
        plan.qtype,
        plan.outtype,
        shard_bytes=source.shard_bytes,
        download_bytes=source.download_bytes,
        free_bytes=shutil.disk_usage(plan.work_dir).free,
        threads=threads,
    )
    log(result.estimate.render(plan.qtype, plan.outtype, done))
    if estimate_only:
        return result
    needed = result.estimate.disk_needed(done)
    if needed > result.estimate.free_bytes:
        raise InsufficientDiskError(
            f"{plan.work_dir} has {result.estimate.free_bytes / 1e9:.1f} GB free but the run "
            f"still writes about {needed / 1e9:.1f} GB",
            "Free some space or choose another --dir.",
        )

    if source.fetched:
        result.skipped.append("fetch")
    else:
        with download_progress(show_progress) as progress:
            download_files(
                plan.repo_id,
                source.shards,
                plan.source_dir,
                snapshot=source.snapshot,
                token=token,
                progress=progress,
            )
        files = small_files(source.snapshot) + source.shards
        write_source_record(plan.source_dir, source.snapshot, revision, files)
        state.mark_done("fetch", fetch_inputs, None, commit=source.commit)
        result.ran.append("fetch")

    actions = {
        "convert": lambda: _convert(plan, show_progress),
        "quantize": lambda: _quantize(plan, threads, imatrix, show_progress),
        "validate": lambda: _validate(plan, threads, log),
    }
    for step, action in actions.items():
        inputs, output = outputs[step]
        if step in done:
            log(f"{step}: done in an earlier run, skipped")
            result.skipped.append(step)
            continue
        passed = action()
        result.ran.append(step)
        if not passed:  # validation failed: not marked done, the next run validates again
            result.validation_passed = False
            return result
        state.mark_done(step, inputs, output)
    result.validation_passed = True
    return result


@dataclass
class _SourceStatus:
    """What is known about the model's files before the run starts."""

    fetched: bool  # a previous run fetched everything (no network needed)
    commit: str
    shard_bytes: int
    download_bytes: int
    snapshot: RepoSnapshot | None = None
    shards: list[str] = field(default_factory=list)


def _source_status(plan, state, fetch_inputs, revision, token, show_progress) -> _SourceStatus:
    """Offline when a previous run fetched everything; otherwise pin the commit and download
    the small files (which also refuses unsupported models before any shard is transferred)."""
    commit = state.steps.get("fetch", {}).get("commit")
    if (
        commit is not None
        and state.is_done("fetch", fetch_inputs, None)
        and fetched_commit(plan.source_dir) == commit
    ):
        shard_bytes = sum(p.stat().st_size for p in plan.source_dir.glob("*.safetensors"))
        return _SourceStatus(True, commit, shard_bytes, 0)
    snapshot = list_repo_files(plan.repo_id, revision, token=token)
    with download_progress(show_progress) as progress:
        shards = fetch_metadata(snapshot, plan.source_dir, token=token, progress=progress)
    missing = [s for s in shards if not _complete(plan.source_dir / s, snapshot.file(s).size)]
    return _SourceStatus(
        fetched=False,
        commit=snapshot.commit_sha,
        shard_bytes=snapshot.total_size(shards),
        download_bytes=snapshot.total_size(missing),
        snapshot=snapshot,
        shards=shards,
    )


def _complete(path: Path, size: int | None) -> bool:
    return path.is_file() and size is not None and path.stat().st_size == size


def _step_outputs(plan: RunPlan, commit: str | None, imatrix) -> dict[str, tuple[dict, Path]]:
    """Per step: the inputs that determine its output (upstream included) and the output."""
    convert_in = {"repo": plan.repo_id, "commit": commit, "outtype": plan.outtype}
    quant_in = {**convert_in, "qtype": plan.qtype, "imatrix": str(imatrix) if imatrix else None}
    return {
        "convert": (convert_in, plan.converted),
        "quantize": (quant_in, plan.quantized),
        "validate": (quant_in, plan.report),
    }


def _convert(plan: RunPlan, show_progress: bool) -> bool:
    with byte_progress("convert", show_progress) as progress:
        convert(plan.source_dir, plan.converted, plan.outtype, progress=progress)
    return True


def _quantize(plan: RunPlan, threads: int, imatrix, show_progress: bool) -> bool:
    with count_progress(f"quantize {plan.qtype}", show_progress) as progress:
        quantize(
            plan.converted,
            plan.quantized,
            plan.qtype,
            threads=threads,
            imatrix=imatrix,
            progress=progress,
        )
    return True


def _validate(plan: RunPlan, threads: int, log: Callable[[str], None]) -> bool:
    report = validate(plan.quantized, plan.source_dir, plan.converted, threads=threads)
    atomic_write_text(plan.report, report.to_json())
    log(report.to_table())
    return report.passed
