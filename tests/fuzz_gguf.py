"""Fuzz the model-loading paths with damaged GGUFs: 0 crashes, 0 hangs, 0 tracebacks, every
rejection with a message.

Each seeded mutant of a tiny valid model (tests/gguf_mutations.py) goes through
- the command line's load path: ``python -m app.cli chat --model F --prompt hi --max-tokens 2
  --json`` in a subprocess, and
- the GUI's model import (``app.models.import_gguf``) in a child process.

An outcome is "accepted" (exit 0, an answer), "rejected" (an ``error: MESSAGE`` line), or a
defect: "crash" (ended by a signal), "hang" (past the timeout), "traceback" (a Python
traceback anywhere in the output) or "silent" (failed without a message).

    python -m tests.fuzz_gguf --count 2000 --jobs 2 --out fuzz-report.json

Defective mutants are kept in ``--workdir``; the exit status is 1 when there is any defect.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.gguf_mutations import KINDS, header_map, mutate

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("cli", "import")
DEFECTS = ("crash", "hang", "traceback", "silent")
TIMEOUT_S = 180.0  # above the child check's own 120 s, so its "hung" verdict is seen


@dataclass
class Outcome:
    path: str  # "cli" or "import"
    status: str  # "accepted", "rejected" or a defect
    returncode: int | None
    message: str
    seconds: float


@dataclass
class Case:
    index: int
    kind: str
    detail: str
    base: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def defects(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in DEFECTS]


def base_models(folder: Path) -> dict[str, bytes]:
    """The valid models mutated: a QwQ-like F32 model with a chat template, an F16 one without."""
    from app.selftest.tiny_model import ANSWER_SCRIPT, LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf

    specs = {
        "qwq-f32": TinyModelSpec(script=ANSWER_SCRIPT),
        "base-f16": TinyModelSpec(name="tiny-base", chat_template=None, script=LOOP_SCRIPT,
                                  dtype="f16"),
    }  # fmt: skip
    return {
        name: write_tiny_gguf(folder / f"{name}.gguf", spec).read_bytes()
        for name, spec in specs.items()
    }


def make_case(index: int, seed: int, bases: dict[str, bytes], maps: dict) -> tuple[Case, bytes]:
    """Mutant ``index`` of ``seed`` (always the same): kinds in turn, the base chosen by seed."""
    rng = random.Random(f"{seed}:{index}")
    kind = KINDS[index % len(KINDS)]
    base = "qwq-f32" if kind.startswith("template") or rng.random() < 0.75 else "base-f16"
    data, detail = mutate(bases[base], maps[base], rng, kind)
    return Case(index, kind, detail, base), data


def classify(rc: int | None, out: str, err: str, timed_out: bool, accepted: bool) -> str:
    text = out + err
    if timed_out:
        return "hang"
    if rc is not None and rc < 0:
        return "crash"
    if "Traceback (most recent call last)" in text or "Exception ignored" in text:
        return "traceback"
    if accepted and rc == 0:
        return "accepted"
    return "rejected" if _message(err) else "silent"


def _message(err: str) -> str:
    line = next((ln for ln in err.splitlines() if ln.startswith("error: ")), "")
    return line[len("error: ") :].strip()


def _run(argv: list[str], env: dict, timeout: float) -> tuple[int | None, str, str, bool]:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", env=env, timeout=timeout,
            cwd=ROOT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr, False
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return None, out, "", True


def run_cli(path: Path, env: dict, timeout: float = TIMEOUT_S) -> Outcome:
    """The command line's load path: one chat turn of two tokens, as JSON."""
    argv = ["-m", "app.cli", "chat", "--model", str(path), "--prompt", "hi", "--max-tokens", "2"]
    return _outcome("cli", [*argv, "--json"], '"answer"', env, timeout)


def run_import(path: Path, env: dict, timeout: float = TIMEOUT_S) -> Outcome:
    """The GUI's model import, in a child process (``import_child``)."""
    argv = ["-m", "tests.fuzz_gguf", "--import-child", str(path)]
    return _outcome("import", argv, '"accepted"', env, timeout)


def _outcome(name: str, argv: list[str], accepted_marker: str, env: dict, timeout: float):
    started = time.perf_counter()
    rc, out, err, timed_out = _run([sys.executable, *argv], env, timeout)
    status = classify(rc, out, err, timed_out, rc == 0 and accepted_marker in out)
    message = _message(err) or (err.strip().splitlines() or [""])[-1]
    return Outcome(name, status, rc, message[:300], time.perf_counter() - started)


def import_child(path: str) -> int:
    """The child of ``run_import``: import ``path`` as the GUI's model import does (a link),
    with a registry of its own; prints ``error: MESSAGE`` for an expected failure."""
    from dataclasses import replace

    from app.errors import AppError
    from app.models import ModelRegistry, import_gguf
    from app.paths import app_paths

    with tempfile.TemporaryDirectory() as data:
        registry = ModelRegistry(replace(app_paths(), data_dir=Path(data)))
        try:
            model = import_gguf(registry, path, mode="link")
        except AppError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"  try: {exc.hint}", file=sys.stderr)
            return 2
    print(json.dumps({"status": "accepted", "name": model.name}))
    return 0


def fuzz(
    count: int,
    seed: int,
    workdir: Path,
    jobs: int = 1,
    paths: tuple[str, ...] = PATHS,
    timeout: float = TIMEOUT_S,
    progress=None,
) -> list[Case]:
    """Run ``count`` mutants through ``paths``; defective mutants stay in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    bases = base_models(workdir)
    maps = {name: header_map(data) for name, data in bases.items()}
    env = {**os.environ, "QWQ_DESKTOP_HOME": str(workdir / "home"), "PYTHONPATH": str(ROOT)}

    def one(index: int) -> Case:
        case, data = make_case(index, seed, bases, maps)
        path = workdir / f"mutant-{case.index:05d}-{case.kind}.gguf"
        path.write_bytes(data)
        for name in paths:
            runner = run_cli if name == "cli" else run_import
            case.outcomes.append(runner(path, env, timeout))
        if not case.defects:
            path.unlink()
        if progress:
            progress(case)
        return case

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, range(count)))


def summary(cases: list[Case], paths: tuple[str, ...] = PATHS) -> dict:
    """Figures per path: files, accepted, rejected and each kind of defect."""
    figures = {}
    for name in paths:
        statuses = Counter(o.status for c in cases for o in c.outcomes if o.path == name)
        figures[name] = {"files": sum(statuses.values()), "accepted": statuses["accepted"],
                         "rejected": statuses["rejected"],
                         **{d: statuses[d] for d in DEFECTS}}  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--paths", default="cli,import", help="cli, import or both")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON")
    parser.add_argument("--import-child", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.import_child:
        return import_child(args.import_child)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qwq-fuzz-"))
    paths = tuple(p for p in args.paths.split(",") if p)
    started = time.perf_counter()
    done = [0]

    def progress(case: Case) -> None:
        done[0] += 1
        for o in case.defects:
            print(f"DEFECT #{case.index} {case.kind} ({case.detail}) via {o.path}: "
                  f"{o.status} rc={o.returncode} {o.message}", flush=True)  # fmt: skip
        if done[0] % 50 == 0:
            print(f"{done[0]}/{args.count} in {time.perf_counter() - started:.0f} s", flush=True)

    cases = fuzz(args.count, args.seed, workdir, args.jobs, paths, progress=progress)
    figures = summary(cases, paths)
    seconds = time.perf_counter() - started
    for name, f in figures.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in f.items()))
    by_kind = {kind: Counter(o.status for c in cases if c.kind == kind for o in c.outcomes)
               for kind in KINDS}  # fmt: skip
    if args.out:
        rejections = Counter(
            _pattern(o.message) for c in cases for o in c.outcomes if o.status == "rejected"
        )
        report = {
            "count": args.count,
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "figures": figures,
            "by_kind": by_kind,
            "defects": [asdict(c) for c in cases if c.defects],
            "rejections": dict(rejections.most_common()),
        }
        args.out.write_text(json.dumps(report, indent=1))
    print(f"{len(cases)} files in {seconds:.0f} s; defective mutants kept in {workdir}")
    return 1 if any(c.defects for c in cases) else 0


def _pattern(message: str) -> str:
    """A rejection message with file names and numbers blanked, to count kinds of messages."""
    message = re.sub(r"mutant-\d+-[\w-]+\.gguf", "F", message)
    return re.sub(r"\d[\d,.]*", "N", message)[:90]


if __name__ == "__main__":
    sys.exit(main())
