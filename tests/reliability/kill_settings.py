"""(e) SIGKILL while the app saves one of its small files (the settings) again and again.

The settings, the model registry, the GGUF verdict cache, the download queue and exports are
all written the same way (``app.atomic`` over ``quantize.atomic``: a hidden ``.partial`` file,
fsync, rename). ``settings_child`` saves the settings in a loop and is killed at a random
moment. Then:

* the settings file reads without a warning and holds the last value the child saw saved, or
  the one after it (the save in flight may have reached its rename);
* the next save (a new process) leaves no ``.partial`` file of the killed one behind.
"""

from __future__ import annotations

import random
from pathlib import Path

from app.paths import app_paths
from app.settings import load_settings

from .harness import Cycle, child_env, partial_files, run_killed, run_to_end

NAME = "settings"
KILL_WINDOW_S = 1.0  # after the first save: hundreds of saves


class SettingsScenario:
    name = NAME

    def __init__(self, workdir: Path) -> None:
        self.home = workdir / NAME / "home"
        self.env = child_env(self.home)
        self.file = app_paths(self.home).settings_file
        self.next = 1
        self.figures = {"saves_before_kills": 0, "partials_at_kill": 0, "partials_removed": 0}

    def cycle(self, index: int, rng: random.Random) -> Cycle:
        delay = rng.uniform(0, KILL_WINDOW_S)
        argv = ["-m", "tests.reliability.settings_child", str(self.next)]
        run = run_killed(argv, self.env, delay, marker=lambda line: line.strip().isdigit())
        saved = [int(n) for n in run.stdout if n.isdigit()]
        cycle = Cycle(NAME, index, run.killed, delay, "saving", orphans=run.orphans)
        last = saved[-1] if saved else self.next - 1
        cycle.problems += self._check(last)
        left = partial_files(self.file.parent)
        cycle.facts.update(saves=len(saved), partials=len(left))
        self.figures["saves_before_kills"] += len(saved)
        self.figures["partials_at_kill"] += len(left)
        self.next = last + 2  # past the save that may have been in flight
        restart = run_to_end([*argv[:2], str(self.next), "1"], self.env)
        if restart.returncode != 0:
            cycle.problems.append(f"the next save failed:\n{restart.tail()}")
        still = [p for p in left if p.exists()]
        self.figures["partials_removed"] += len(left) - len(still)
        cycle.problems += [f"left behind after the next save: {p.name}" for p in still]
        self.next += 1
        return cycle

    def _check(self, last: int) -> list[str]:
        settings, warnings = load_settings(self.file)
        if warnings:
            return [f"the settings file did not read cleanly: {warnings}"]
        if settings.thinking_budget not in (last, last + 1):
            return [f"the settings hold {settings.thinking_budget}, the last save was {last}"]
        return []

    def finish(self) -> list[str]:
        return [f"left behind: {p}" for p in partial_files(self.file.parent)]
