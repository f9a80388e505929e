"""What happens to a loaded model when its file changes on disk, tried in child processes:
``python -m tests.faults.model_file_changes [--times N]`` prints one row per kind of change
(answered, refused with a message, crashed) as a Markdown table.

Each child loads a copy of the tiny model with the engine, answers once, changes the file,
then answers again. Kinds: deleted; replaced by rename (how downloads and most tools replace
a file); overwritten in place with another model of the same size (``cp other model.gguf``);
truncated in place (a copy or download into the same file, caught half-way). The first two
answer from the mapped file; the last two are refused with a message (the engine compares the
file with the one it loaded before each turn: model_file_watch.py)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, sys
from app.engine import ChatEngine, LoadOptions
from app.errors import UserFacingError
path, other, kind = sys.argv[1:4]
engine = ChatEngine.load(path, LoadOptions(for_gui=False, n_threads=1))
question = [{"role": "user", "content": "What is the capital of France?"}]
assert engine.chat(question).answer == "Paris"
if kind == "deleted":
    os.unlink(path)
elif kind == "renamed-over":
    os.replace(other, path)
else:
    with open(path, "r+b") as handle:
        if kind == "truncated":
            handle.truncate(4096)
        else:  # overwritten in place, same size
            handle.write(open(other, "rb").read())
    os.posix_fadvise(os.open(path, os.O_RDONLY), 0, 0, os.POSIX_FADV_DONTNEED)
try:
    print("answer:", engine.chat(question).answer, flush=True)
except UserFacingError as exc:
    print("message:", exc.message, flush=True)
"""
KINDS = ("deleted", "renamed-over", "overwritten-in-place", "truncated")


def run_once(model: Path, other: Path, kind: str, work: Path, with_message: bool = False) -> str:
    """The outcome of one child; ``with_message`` adds a refusal's message to it."""
    path, spare = work / "model.gguf", work / "other.gguf"
    shutil.copy(model, path)
    shutil.copy(other, spare)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(spare), kind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode < 0 or done.returncode > 128:
        return f"crashed ({_signal(done.returncode)})"
    if "Traceback" in done.stderr:
        return "traceback"
    if done.stdout.startswith("answer: "):
        return "answered " + done.stdout.split(": ", 1)[1].strip()
    if done.stdout.startswith("message: "):
        message = done.stdout.split(": ", 1)[1].strip()
        return "refused with a message" + (f": {message}" if with_message else "")
    return f"exit {done.returncode}"


def _signal(code: int) -> str:
    import signal

    number = -code if code < 0 else code - 128
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=5)
    args = parser.parse_args(argv)
    from app.selftest.tiny_model import ANSWER_SCRIPT, LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = write_tiny_gguf(work / "answer.gguf", TinyModelSpec(script=ANSWER_SCRIPT))
        other = write_tiny_gguf(work / "loop.gguf", TinyModelSpec(script=LOOP_SCRIPT))
        print("| Change while loaded | Tried | Outcomes |\n|---|---|---|")
        for kind in KINDS:
            outcomes = Counter(run_once(model, other, kind, work) for _ in range(args.times))
            summary = ", ".join(f"{what}: {n}" for what, n in outcomes.most_common())
            print(f"| {kind} | {args.times} | {summary} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
