"""(c) SIGKILL while ``qwq-desktop models download REPO FILE`` downloads from a local fake Hub.

The fake Hub (tests/fixtures/fake_hub.py, on 127.0.0.1 in this process) serves a tiny real
GGUF, throttled so that a download takes seconds. Each cycle is killed at a random moment of
a download (the window is a measured uninterrupted run: metadata, transfer, sha256, the GGUF
check, the registry; for a quarter of the cycles, the 0.3 s after the file was placed). Then:

* the final file, if there is one, is the whole file (its sha256 is right), and the registry
  (models.json) is readable and lists only complete files;
* a partial download (``.part``) holds the first bytes of the file, nothing else;
* the same command run again finishes, fetches only the bytes still missing (it resumes), the
  file's sha256 is right, the model is registered, and no partial file is left.
The model is then removed (``models remove``) for the next cycle.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

from app.paths import app_paths
from app.selftest.tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf
from tests.fixtures.fake_hub import FakeHub

from .harness import Cycle, KillWindow, child_env, partial_files, run_to_end, sha256_of

NAME = "download"
REPO, FILE = "reliability/tiny-GGUF", "tiny-qwq.gguf"
# A quarter of the kills within 0.3 s of the verified file's placing (the GGUF check, llama.cpp
# in a child process, and the registry's write take 0.3-0.4 s here).
PLACED = (0.25, lambda line: line.startswith(f"{FILE}  done"), 0.3)


class DownloadScenario:
    name = NAME

    def __init__(self, workdir: Path, quick: bool = False) -> None:
        self.dir = workdir / NAME
        self.home = self.dir / "home"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data = write_tiny_gguf(self.dir / FILE, TinyModelSpec(script=ANSWER_SCRIPT))
        self.data = self.data.read_bytes()
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        self.hub = FakeHub().start()
        self.hub.add_repo(REPO, {FILE: self.data, "README.md": b"# tiny\n"})
        self.hub.throttle(len(self.data) / (0.8 if quick else 3.0))  # bytes a second
        self.env = child_env(self.home, HF_ENDPOINT=self.hub.endpoint,
                             HF_HOME=str(self.dir / "hf-home"),
                             PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")  # fmt: skip
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            self.env.pop(name, None)
        paths = app_paths(self.home)
        self.dest = paths.models_dir / REPO / FILE
        self.part_dir = paths.downloads_dir / REPO
        self.registry = paths.data_dir / "models.json"
        self.figures = {"bytes_in_parts_at_kill": 0, "bytes_fetched_again": 0, "resumed": 0}
        started = time.monotonic()
        reference = self._restart_problems(Cycle(NAME, -1, False, 0.0, "reference"))
        if reference:
            raise RuntimeError(f"the reference download failed: {reference}")
        self.window = KillWindow((time.monotonic() - started) * 1.1)
        self._remove()

    def _argv(self, *args: str) -> list[str]:
        return ["-m", "app.cli", "models", *args]

    def cycle(self, index: int, rng: random.Random) -> Cycle:
        run, delay = self.window.kill(self._argv("download", REPO, FILE), self.env, rng, PLACED)
        cycle = Cycle(NAME, index, run.killed, delay, _phase(run.stderr), orphans=run.orphans)
        if not run.killed and (run.returncode != 0 or run.traceback):
            cycle.problems.append(f"the download failed on its own:\n{run.tail()}")
        cycle.problems += self._after_kill(cycle)
        cycle.problems += self._restart_problems(cycle)
        self._remove()
        return cycle

    def _after_kill(self, cycle: Cycle) -> list[str]:
        problems = []
        if self.dest.exists() and sha256_of(self.dest) != self.sha256:
            problems.append(
                f"an incomplete file ({self.dest.stat().st_size} bytes) has the final name"
            )
        problems += self._registry_problems(require=False)
        parts = sorted(self.part_dir.glob("*.part")) if self.part_dir.is_dir() else []
        problems += [f"{p.name} is not the start of the file"
                     for p in parts if not is_prefix(p.read_bytes(), self.data)]  # fmt: skip
        cycle.facts["part_bytes"] = sum(p.stat().st_size for p in parts)
        cycle.facts["final_file"] = self.dest.exists()
        self.figures["bytes_in_parts_at_kill"] += cycle.facts["part_bytes"]
        return problems

    def _restart_problems(self, cycle: Cycle) -> list[str]:
        have = 0 if self.dest.exists() else cycle.facts.get("part_bytes", 0)
        missing = 0 if self.dest.exists() else len(self.data) - have
        first = len(self.hub.requests)  # the restart's requests are those after this one
        run = run_to_end(self._argv("download", REPO, FILE), self.env)
        if run.returncode != 0 or run.traceback:
            return [f"the download after the kill failed ({run.returncode}):\n{run.tail()}"]
        fetched = sum(r.body_bytes for r in self.hub.requests[first:] if r.file == FILE)
        problems = []
        if fetched != missing:
            problems.append(f"fetched {fetched} bytes again, {missing} were missing")
        self.figures["bytes_fetched_again"] += max(0, fetched - missing)
        self.figures["resumed"] += int(have > 0)
        if not self.dest.exists() or sha256_of(self.dest) != self.sha256:
            problems.append("the finished download is not the file")
        problems += self._registry_problems(require=True)
        problems += [f"left behind: {p}" for p in partial_files(self.home)]
        return problems

    def _registry_problems(self, require: bool) -> list[str]:
        try:
            models = json.loads(self.registry.read_text(encoding="utf-8"))["models"]
        except FileNotFoundError:
            return ["the model is not registered"] if require else []
        except (ValueError, KeyError) as exc:
            return [f"models.json is damaged: {exc}"]
        mine = [m for m in models if m.get("repo_id") == REPO]
        if require and len(mine) != 1:
            return [f"{len(mine)} registry entries for the download"]
        bad = [m["name"] for m in mine if not Path(m["path"]).is_file()
               or sha256_of(Path(m["path"])) != self.sha256]  # fmt: skip
        return [f"registered but incomplete: {name}" for name in bad]

    def _remove(self) -> None:
        models = json.loads(self.registry.read_text(encoding="utf-8"))["models"]
        for m in models:
            run_to_end(self._argv("remove", m["name"]), self.env)

    def finish(self) -> list[str]:
        self.hub.stop()
        return [f"left behind: {p}" for p in partial_files(self.home)]


def is_prefix(body: bytes, data: bytes) -> bool:
    """Whether a partial download holds the first bytes of the file and nothing else."""
    return len(body) <= len(data) and data[: len(body)] == body


def _phase(stderr: list[str]) -> str:
    last = stderr[-1].lower() if stderr else ""
    for word, phase in (("done", "checking the GGUF, registering"), ("downloading", "transfer"),
                        ("checking", "hashing the part"), ("retrying", "retrying")):  # fmt: skip
        if word in last:
            return phase
    return "starting"
