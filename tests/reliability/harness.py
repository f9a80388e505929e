"""Running a child process and SIGKILLing it at a chosen moment; checks shared by the scenarios.

``run_killed`` starts the child in its own process group, reads its stdout and stderr as lines,
waits for a marker line on either stream (or none), sleeps the chosen delay and sends SIGKILL
to the child alone, as a crash would; whatever the child had started itself (llama.cpp's check
process) is then killed too, so nothing outlives the cycle. ``run_to_end`` runs a restart that
must succeed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER_TIMEOUT_S = 120.0
RUN_TIMEOUT_S = 300.0
# Names of half-written files: the atomic writer's, downloads', copies', SQLite's rollback journal.
PARTIAL_SUFFIXES = (".partial", ".part", ".tmp", "-journal")


@dataclass
class ChildRun:
    """One child process: its output lines, exit status and whether the kill reached it."""

    argv: list[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    returncode: int | None = None
    killed: bool = False  # SIGKILL arrived while it ran (False: it had ended already)
    waited_s: float = 0.0  # from the marker (or the start) to the kill
    orphans: int = 0  # its own children still alive at the kill (then killed too)

    @property
    def traceback(self) -> bool:
        return any("Traceback (most recent call last)" in line for line in self.stderr)

    def tail(self, n: int = 8) -> str:
        return "\n".join((self.stderr or self.stdout)[-n:])


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child: its own app home, the repository importable, loopback only."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(QWQ_DESKTOP_HOME=str(home), PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               HF_HUB_OFFLINE="0", PYTHONUNBUFFERED="1", NO_PROXY="127.0.0.1",
               **extra)  # fmt: skip
    return env


def _pump(stream, lines: list[str], marker: Callable[[str], bool] | None, seen: threading.Event):
    for line in stream:
        lines.append(line.rstrip("\n"))
        if marker is not None and not seen.is_set() and marker(line):
            seen.set()
    stream.close()


def run_killed(
    argv: list[str],
    env: dict[str, str],
    delay_s: float,
    marker: Callable[[str], bool] | None = None,
) -> ChildRun:
    """Run ``python argv``; ``delay_s`` after the first line (stdout or stderr) ``marker``
    accepts (after the start when None), SIGKILL it unless it ended already."""
    run = ChildRun(argv)
    child = subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
        start_new_session=True,
    )  # fmt: skip
    seen = threading.Event()
    if marker is None:
        seen.set()
    readers = [
        threading.Thread(target=_pump, args=(child.stdout, run.stdout, marker, seen)),
        threading.Thread(target=_pump, args=(child.stderr, run.stderr, marker, seen)),
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + MARKER_TIMEOUT_S
        while not seen.wait(0.02):
            if child.poll() is not None or time.monotonic() > deadline:
                break
        started = time.monotonic()
        if seen.is_set():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(delay_s)
        run.waited_s = time.monotonic() - started
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            run.killed = True
        child.wait(RUN_TIMEOUT_S)
    finally:
        run.orphans = _kill_group(child.pid)
        if child.poll() is None:
            child.kill()
            child.wait()
        for reader in readers:
            reader.join(30)
    run.returncode = child.returncode
    return run


def _kill_group(pgid: int) -> int:
    """SIGKILL what is left of the child's process group; return how many were left."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the app
        return 0
    left = [p for p in psutil.process_iter(["pid", "status"])
            if _pgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE]  # fmt: skip
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=10)
    return len(left)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def run_to_end(argv: list[str], env: dict[str, str], timeout: float = RUN_TIMEOUT_S) -> ChildRun:
    """Run ``python argv`` to its end (the restart after a kill)."""
    done = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, errors="replace", timeout=timeout,
    )  # fmt: skip
    return ChildRun(
        argv, done.stdout.splitlines(), done.stderr.splitlines(), done.returncode, False
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def json_lines(lines: list[str]) -> list[dict]:
    """The JSON objects among ``lines`` (the last line a kill cut short is skipped)."""
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def sqlite_problems(path: Path, fts_tables: tuple[str, ...] = ()) -> list[str]:
    """``PRAGMA integrity_check`` and FTS5's own integrity check; [] when all is well.
    Opening the file recovers the WAL a killed writer left, as the app's next start does."""
    conn = sqlite3.connect(path)
    try:
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        except sqlite3.DatabaseError as exc:  # too damaged to be checked
            return [f"{path.name}: {exc}"]
        for table in fts_tables:
            try:
                conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems.append(f"{table}: {exc}")
        return [f"{path.name}: {p}" for p in problems]
    finally:
        conn.close()


def partial_files(*folders: Path) -> list[Path]:
    """Half-written files (by name) anywhere under ``folders``."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.name.endswith(PARTIAL_SUFFIXES)]
    return sorted(found)


@dataclass
class Cycle:
    """One kill and the checks after it: ``phase`` says where the child was (its last
    progress), ``problems`` what the checks found (empty: nothing lost, nothing damaged)."""

    scenario: str
    index: int
    killed: bool
    delay_s: float
    phase: str
    problems: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    orphans: int = 0


class KillWindow:
    """Kill moments drawn uniformly within an uninterrupted run's time, narrowed to the
    shortest run seen ending before its kill (the machine is busier or quieter than when the
    window was measured)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def draw(self, rng) -> float:
        return rng.uniform(0, self.seconds)

    def saw(self, run: ChildRun) -> None:
        if not run.killed and run.returncode == 0:
            self.seconds = min(self.seconds, run.waited_s)

    def kill(self, argv: list[str], env: dict[str, str], rng, aim=None) -> tuple[ChildRun, float]:
        """Run and kill ``argv`` at a moment drawn from the window; with ``aim`` (share,
        marker, seconds), that share of the runs is killed within ``seconds`` after the first
        line ``marker`` accepts instead. Returns the run and the delay of its kill."""
        if aim is not None and rng.random() < aim[0]:
            run = run_killed(argv, env, rng.uniform(0, aim[2]), aim[1])
            return run, run.waited_s
        delay = self.draw(rng)
        run = run_killed(argv, env, delay)
        self.saw(run)
        return run, delay
