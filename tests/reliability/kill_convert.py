"""(d) SIGKILL while ``qwq-quantize convert`` writes a GGUF from a tiny Hugging Face folder.

The folder (tests/fixtures/hf_repo.py) is big enough for the conversion to take a moment
(bf16 weights converted to f32). Each cycle is killed at a random moment after the conversion
step started (the window: that step in an uninterrupted run, fsync and rename included). Then:

* the output's final name holds nothing, or the whole file (the sha256 of an uninterrupted
  conversion): the writer fills a hidden ``.partial`` file and renames it only when complete;
* the same command run again removes what the killed run left (its ``cleanup`` event names
  it), writes the right file, and leaves no partial file behind.
The output is deleted before the next cycle.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.fixtures.hf_repo import write_large_hf_repo

from .harness import (
    Cycle,
    KillWindow,
    child_env,
    json_lines,
    partial_files,
    run_killed,
    run_to_end,
    sha256_of,
)

NAME = "convert"


class ConvertScenario:
    name = NAME

    def __init__(self, workdir: Path, quick: bool = False) -> None:
        self.dir = workdir / NAME
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model = write_large_hf_repo(
            self.dir / "hf-model", 30_000_000 if quick else 100_000_000
        )
        self.out_dir = self.dir / "out"
        self.output = self.out_dir / "model-f32.gguf"
        self.env = child_env(self.dir / "home")
        reference = run_killed(self._argv(), self.env, 600.0, _step_started)
        if reference.killed or reference.returncode != 0:
            raise RuntimeError(f"the reference conversion failed:\n{reference.tail()}")
        # from the step's start to the exit
        self.window = KillWindow(reference.waited_s * 1.1)
        self.sha256 = sha256_of(self.output)
        self.output.unlink()
        self.figures = {"partials_at_kill": 0, "partials_removed_by_next_run": 0}

    def _argv(self) -> list[str]:
        return ["-m", "quantize.cli", "--progress", "jsonl", "convert", str(self.model),
                "-o", str(self.output), "--outtype", "f32", "--chunk-mb", "4"]  # fmt: skip

    def cycle(self, index: int, rng: random.Random) -> Cycle:
        delay = self.window.draw(rng)
        run = run_killed(self._argv(), self.env, delay, _step_started)
        self.window.saw(run)
        events = json_lines(run.stdout)
        cycle = Cycle(NAME, index, run.killed, delay, _phase(events), orphans=run.orphans)
        if not run.killed and (run.returncode != 0 or run.traceback):
            cycle.problems.append(f"the conversion failed on its own:\n{run.tail()}")
        if self.output.exists() and sha256_of(self.output) != self.sha256:
            cycle.problems.append(f"an incomplete file ({self.output.stat().st_size} bytes) "
                                  "has the final name")  # fmt: skip
        left = partial_files(self.out_dir)
        cycle.facts["partials"] = [p.name for p in left]
        self.figures["partials_at_kill"] += len(left)
        cycle.problems += self._restart(left)
        self.output.unlink(missing_ok=True)
        return cycle

    def _restart(self, left: list[Path]) -> list[str]:
        run = run_to_end(self._argv(), self.env)
        if run.returncode != 0 or run.traceback:
            return [f"the conversion after the kill failed ({run.returncode}):\n{run.tail()}"]
        removed = {Path(r["path"]).name for e in json_lines(run.stdout) if e["event"] == "cleanup"
                   for r in e["removed"]}  # fmt: skip
        self.figures["partials_removed_by_next_run"] += len(removed)
        problems = [f"{p.name} was not cleaned up by the next run"
                    for p in left if p.name not in removed]  # fmt: skip
        if not self.output.exists() or sha256_of(self.output) != self.sha256:
            problems.append("the conversion after the kill wrote a different file")
        problems += [f"left behind: {p}" for p in partial_files(self.out_dir)]
        return problems

    def finish(self) -> list[str]:
        return [f"left behind: {p}" for p in partial_files(self.out_dir)]


def _step_started(line: str) -> bool:
    return '"step_started"' in line


def _phase(events: list[dict]) -> str:
    last = events[-1] if events else {}
    if last.get("event") == "progress" and last.get("total"):
        quarter = min(3, 4 * last["done"] // last["total"])
        return f"writing {25 * quarter}-{25 * quarter + 25}%"
    return {"step_started": "header", "step_finished": "renamed, reporting"}.get(
        last.get("event", ""), last.get("event", "starting")
    )
