"""qwq-quantize all: fetch, convert, quantize and validate in one go, resumable step by step.

Progress is kept in ``<work dir>/qwq-quantize-state.json``. A step counts as done when the state
records it for the same inputs (commit, output type, quantisation type) and its output file is
still there with the recorded size; done steps are skipped, so an interrupted run continues
where it stopped (downloads resume inside the fetch step itself). The run reports through typed
events (quantize.events) and stops gracefully on request (quantize.run_control).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .architectures import hparams_from_config, load_config
from .atomic import atomic_write_text
from .convert import convert
from .errors import InsufficientDiskError
from .estimate import Estimate, estimate
from .events import (
    Cleanup,
    Estimated,
    Log,
    StepFinished,
    StepSkipped,
    StepStarted,
)
from .fetch import fetch_metadata, fetched_commit, small_files, write_source_record
from .hub import DownloadCancelled, RepoSnapshot, download_files, list_repo_files
from .quantizer import quantize
from .reporting import NullReporter, Reporter, download_callback, progress_callback
from .run_control import CancelToken, RunCancelled, folder_lock, sweep_partials
from .sizes import format_bytes
from .validation import DEFAULT_TOKENS, validate

STATE_NAME = "qwq-quantize-state.json"
SOURCE_FOLDER = "hf"  # the Hugging Face files, inside the work folder
STEPS = ("fetch", "convert", "quantize", "validate")


@dataclass
class RunPlan:
    """Where a full run puts its files."""

    repo_id: str
    work_dir: Path
    qtype: str = "Q4_K_M"
    outtype: str = "bf16"
    # Tokens of the reference forward pass of the original weights in validation (0 skips it).
    reference_tokens: int = DEFAULT_TOKENS

    @property
    def stem(self) -> str:
        return self.repo_id.split("/")[-1].lower()

    @property
    def source_dir(self) -> Path:
        return self.work_dir / SOURCE_FOLDER

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
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> RunResult:
    """Run (or continue) every step for ``plan``; return what ran and whether validation passed.

    Holds the work folder's lock (RunInProgressError if another run has it) and first removes
    the temporary files a killed run left there. A stop request through ``cancel`` ends the run
    at the next block or tensor boundary with RunCancelled (which lists the finished steps)."""
    reporter = reporter or NullReporter()
    cancel = cancel or CancelToken()
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(plan.work_dir):
        reporter.emit(remove_leftovers(plan.work_dir))
        run = _Run(plan, reporter, cancel, threads or os.cpu_count() or 1)
        try:
            return run.all(revision, token, imatrix, estimate_only)
        except (RunCancelled, DownloadCancelled) as exc:
            raise RunCancelled(run.step, run.finished()) from exc


def remove_leftovers(work_dir: Path) -> Cleanup:
    """Remove the temporary files a killed run left in a work folder; the caller holds the
    folder's lock (``run_control.folder_lock``)."""
    return sweep_partials(work_dir, work_dir / SOURCE_FOLDER)


class _Run:
    """One run of the steps, remembering where it is for a cancelled run's report."""

    def __init__(self, plan: RunPlan, reporter: Reporter, cancel: CancelToken, threads: int):
        self.plan, self.reporter, self.cancel, self.threads = plan, reporter, cancel, threads
        self.state = RunState(plan.work_dir / STATE_NAME)
        self.result = RunResult(plan)
        self.done: set[str] = set()  # by earlier runs, with the same inputs
        self.step: str | None = None  # the step in progress
        self.started = 0.0  # when it started (perf_counter)

    def finished(self) -> list[str]:
        return [s for s in STEPS if s in self.done or s in self.result.ran]

    def all(self, revision: str, token, imatrix, estimate_only: bool) -> RunResult:
        plan, state, result = self.plan, self.state, self.result
        fetch_inputs = {"repo": plan.repo_id, "revision": revision}
        source = self._source_status(fetch_inputs, revision, token)
        hp = hparams_from_config(load_config(plan.source_dir))
        outputs = _step_outputs(plan, source.commit, imatrix)
        for step, (inputs, out) in outputs.items():  # in order: a redone step redoes the rest
            if not state.is_done(step, inputs, out):
                break
            self.done.add(step)
        if source.fetched:
            self.done.add("fetch")
        result.estimate = estimate(
            hp,
            plan.qtype,
            plan.outtype,
            shard_bytes=source.shard_bytes,
            download_bytes=source.download_bytes,
            free_bytes=shutil.disk_usage(plan.work_dir).free,
            threads=self.threads,
        )
        self.reporter.emit(_estimated(result.estimate, plan, self.done))
        if estimate_only:
            return result
        needed = result.estimate.disk_needed(self.done)
        if needed > result.estimate.free_bytes:
            raise InsufficientDiskError(
                f"{plan.work_dir} has {format_bytes(result.estimate.free_bytes)} free but the "
                f"run still writes about {format_bytes(needed)}",
                "Free some space or choose another --dir.",
            )

        if source.fetched:
            self._skip("fetch")
        else:
            self._fetch_shards(source, fetch_inputs, revision, token)
        actions = {
            "convert": self._convert,
            "quantize": lambda: self._quantize(imatrix),
            "validate": self._validate,
        }
        for step, action in actions.items():
            inputs, output = outputs[step]
            if step in self.done:
                self._skip(step)
                continue
            self.cancel.check(step)
            self._start(step)
            passed = action()
            result.ran.append(step)
            if not passed:  # validation failed: not marked done, the next run validates again
                result.validation_passed = False
                self._finished(step, output)
                return result
            state.mark_done(step, inputs, output)
            self._finished(step, output)
        result.validation_passed = True
        return result

    def _fetch_shards(self, source: _SourceStatus, fetch_inputs: dict, revision: str, token):
        plan = self.plan
        self.cancel.check("fetch")
        download_files(
            plan.repo_id,
            source.shards,
            plan.source_dir,
            snapshot=source.snapshot,
            token=token,
            progress=download_callback(self.reporter),
            cancel=self.cancel.event,
        )
        files = small_files(source.snapshot) + source.shards
        write_source_record(plan.source_dir, source.snapshot, revision, files)
        self.state.mark_done("fetch", fetch_inputs, None, commit=source.commit)
        self.result.ran.append("fetch")
        self._finished("fetch", plan.source_dir)

    def _start(self, step: str) -> None:
        label = {"fetch": f"fetch {self.plan.repo_id}", "quantize": f"quantize {self.plan.qtype}"}
        self.step, self.started = step, time.perf_counter()
        self.reporter.emit(StepStarted(step, label.get(step, step)))

    def _skip(self, step: str) -> None:
        self.result.skipped.append(step)
        self.reporter.emit(StepSkipped(step))

    def _finished(self, step: str, output: Path) -> None:
        size = output.stat().st_size if output.is_file() else None
        seconds = time.perf_counter() - self.started
        self.reporter.emit(StepFinished(step, str(output), size, seconds))
        self.step = None

    def _source_status(self, fetch_inputs: dict, revision: str, token) -> _SourceStatus:
        """Offline when a previous run fetched everything; otherwise pin the commit and download
        the small files (which also refuses unsupported models before any shard is sent)."""
        plan, state = self.plan, self.state
        commit = state.steps.get("fetch", {}).get("commit")
        if (
            commit is not None
            and state.is_done("fetch", fetch_inputs, None)
            and fetched_commit(plan.source_dir) == commit
        ):
            shard_bytes = sum(p.stat().st_size for p in plan.source_dir.glob("*.safetensors"))
            return _SourceStatus(True, commit, shard_bytes, 0)
        self._start("fetch")
        with self.cancel.interruptible():  # small files only: a stop needs no boundary here
            snapshot = list_repo_files(plan.repo_id, revision, token=token)
            shards = fetch_metadata(
                snapshot, plan.source_dir, token=token, progress=download_callback(self.reporter)
            )
        missing = [s for s in shards if not _complete(plan.source_dir / s, snapshot.file(s).size)]
        return _SourceStatus(
            fetched=False,
            commit=snapshot.commit_sha,
            shard_bytes=snapshot.total_size(shards),
            download_bytes=snapshot.total_size(missing),
            snapshot=snapshot,
            shards=shards,
        )

    def _convert(self) -> bool:
        convert(
            self.plan.source_dir,
            self.plan.converted,
            self.plan.outtype,
            progress=progress_callback(self.reporter, "convert", "bytes"),
            cancel=self.cancel.event,
        )
        return True

    def _quantize(self, imatrix) -> bool:
        quantize(
            self.plan.converted,
            self.plan.quantized,
            self.plan.qtype,
            threads=self.threads,
            imatrix=imatrix,
            progress=progress_callback(self.reporter, "quantize", "tensors"),
            cancel=self.cancel.event,
        )
        return True

    def _validate(self) -> bool:
        plan = self.plan
        with self.cancel.interruptible():  # writes nothing until the report: stops at once
            report = validate(
                plan.quantized,
                plan.source_dir,
                plan.converted,
                reference_tokens=plan.reference_tokens,
                threads=self.threads,
            )
        atomic_write_text(plan.report, report.to_json())
        self.reporter.emit(Log(report.to_table()))
        return report.passed


def _estimated(est: Estimate, plan: RunPlan, done: set[str]) -> Estimated:
    return Estimated(
        n_params=est.n_params,
        download_bytes=est.download_bytes,
        disk_needed=est.disk_needed(done),
        free_bytes=est.free_bytes,
        seconds={
            "convert": est.convert_seconds,
            "quantize": est.quantize_seconds,
            "validate": est.validate_seconds,
        },
        text=est.render(plan.qtype, plan.outtype, done),
    )


@dataclass
class _SourceStatus:
    """What is known about the model's files before the run starts."""

    fetched: bool  # a previous run fetched everything (no network needed)
    commit: str
    shard_bytes: int
    download_bytes: int
    snapshot: RepoSnapshot | None = None
    shards: list[str] = field(default_factory=list)


def _complete(path: Path, size: int | None) -> bool:
    return path.is_file() and size is not None and path.stat().st_size == size


def _step_outputs(plan: RunPlan, commit: str | None, imatrix) -> dict[str, tuple[dict, Path]]:
    """Per step: the inputs that determine its output (upstream included) and the output."""
    convert_in = {"repo": plan.repo_id, "commit": commit, "outtype": plan.outtype}
    quant_in = {**convert_in, "qtype": plan.qtype, "imatrix": str(imatrix) if imatrix else None}
    return {
        "convert": (convert_in, plan.converted),
        "quantize": (quant_in, plan.quantized),
        "validate": ({**quant_in, "reference_tokens": plan.reference_tokens}, plan.report),
    }
