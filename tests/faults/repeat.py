"""Run the fault and privacy tests again and again and count each test's outcomes:
``python -m tests.faults.repeat --times N [PATH ...]`` (default: tests/faults tests/privacy)
prints a Markdown table (test, runs, passed, failed, skipped) for docs/reliability.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_round(paths: list[str], report: Path) -> dict[str, str]:
    """Each test's outcome in one pytest run ("passed", "failed" or "skipped")."""
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
        + paths,
        cwd=ROOT,
        capture_output=True,
        timeout=3600,
    )
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        name = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[name] = "failed"
        elif case.find("skipped") is not None:
            outcomes[name] = "skipped"
        else:
            outcomes[name] = "passed"
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=5)
    parser.add_argument("paths", nargs="*", default=["tests/faults", "tests/privacy"])
    args = parser.parse_args(argv)
    counts: dict[str, Counter] = defaultdict(Counter)
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.times):
            for name, outcome in one_round(args.paths, Path(tmp) / f"{n}.xml").items():
                counts[name][outcome] += 1
            print(f"round {n + 1} of {args.times} done", file=sys.stderr, flush=True)
    print("| Test | Runs | Passed | Failed | Skipped |\n|---|---|---|---|---|")
    for name, c in sorted(counts.items()):
        print(f"| {name} | {sum(c.values())} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    return 0 if all(c["failed"] == 0 for c in counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
