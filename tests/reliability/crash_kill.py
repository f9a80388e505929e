"""Crash safety (issue 12, item 5): SIGKILL a real child process at random moments while it
streams a reply into the conversation store, indexes documents, downloads a model from a
local fake Hub, converts a model or saves the app's settings, then restart and check that
nothing committed is lost, no partial file is taken for a complete one, every SQLite file
passes its integrity check, and the next run cleans up what the killed one left.

    python -m tests.reliability.crash_kill --kills 20 --seed 1 [--only stream,docs] [--out F]

Each scenario runs until ``--kills`` children were really killed (a child that ended before
its kill moment is counted apart). Exit status 1 when any check found a problem.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from .harness import Cycle

SCENARIOS = ("stream", "docs", "download", "convert", "settings")


def make_scenario(name: str, workdir: Path, quick: bool):
    """The scenario ``name``; ``quick`` makes its work smaller (the pytest subset)."""
    if name == "stream":
        from .kill_stream import StreamScenario

        return StreamScenario(workdir, 3.0, after_stop=0.0) if quick else StreamScenario(workdir)
    if name == "docs":
        from .kill_docs import DocsScenario

        return DocsScenario(workdir, files=60 if quick else 240)
    if name == "download":
        from .kill_download import DownloadScenario

        return DownloadScenario(workdir, quick=quick)
    if name == "convert":
        from .kill_convert import ConvertScenario

        return ConvertScenario(workdir, quick=quick)
    if name == "settings":
        from .kill_settings import SettingsScenario

        return SettingsScenario(workdir)
    raise ValueError(f"unknown scenario {name!r}: choose from {', '.join(SCENARIOS)}")


def run_scenario(
    name: str, kills: int, seed: int, workdir: Path, quick: bool = False, progress=None
) -> dict:
    """Kill ``kills`` children of scenario ``name``; its cycles, figures and problems."""
    rng = random.Random(f"{seed}:{name}")
    started = time.monotonic()
    scenario = make_scenario(name, workdir, quick)
    cycles: list[Cycle] = []
    limit = kills * 3  # children that end before their kill moment do not count as kills
    while sum(c.killed for c in cycles) < kills and len(cycles) < limit:
        cycle = scenario.cycle(len(cycles), rng)
        cycles.append(cycle)
        if progress:
            progress(cycle)
    final = scenario.finish()
    problems = [p for c in cycles for p in c.problems] + final
    return {
        "scenario": name,
        "runs": len(cycles),
        "kills": sum(c.killed for c in cycles),
        "ended_before_kill": sum(not c.killed for c in cycles),
        "phases": dict(Counter(c.phase for c in cycles if c.killed)),
        "orphans_killed": sum(c.orphans for c in cycles),
        "figures": getattr(scenario, "figures", {}),
        "problems": problems,
        "seconds": round(time.monotonic() - started, 1),
        "cycles": [asdict(c) for c in cycles],
    }


def _print_cycle(cycle: Cycle) -> None:
    state = "killed" if cycle.killed else "ended first"
    verdict = "ok" if not cycle.problems else "; ".join(cycle.problems)
    print(f"  {cycle.scenario} #{cycle.index}: {state} after {cycle.delay_s:.2f} s "
          f"({cycle.phase}) -> {verdict}", file=sys.stderr, flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per scenario (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    parser.add_argument("--quick", action="store_true", help="smaller work (the pytest subset)")
    parser.add_argument("--workdir", type=Path, default=None, help="kept after the run")
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    reports = []
    with tempfile.TemporaryDirectory(prefix="crash-kill-") as tmp:
        workdir = args.workdir or Path(tmp)
        for name in names:
            reports.append(
                run_scenario(name, args.kills, args.seed, workdir, args.quick, _print_cycle)
            )
            if args.out:  # after each scenario, so a later failure keeps what was found
                args.out.write_text(json.dumps(reports, indent=2))
    for r in reports:
        print(f"{r['scenario']}: {r['kills']} kills in {r['runs']} runs "
              f"({r['ended_before_kill']} ended first), phases {r['phases']}, "
              f"{len(r['problems'])} problems, figures {r['figures']}, "
              f"{r['seconds']} s")  # fmt: skip
        for problem in r["problems"]:
            print(f"  PROBLEM: {problem}")
    return 1 if any(r["problems"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
