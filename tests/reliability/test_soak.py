"""Soak (tests/reliability/soak.py): the verdict on the samples, and 20 replies in a child
process (the long run is ``python -m tests.reliability.soak --replies 200``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.reliability.harness import ROOT, child_env
from tests.reliability.soak import MiB, judge


def _flat(n: int = 40) -> list[dict]:
    return [{"rss": 275 * MiB + i * 1024, "threads": 5, "fds": 14, "objects": 53_600 + i % 7}
            for i in range(n)]  # fmt: skip


def test_flat_samples_pass():
    assert judge(_flat()) == []


@pytest.mark.parametrize(
    ("key", "step", "words"),
    [
        ("rss", MiB // 2, "memory grew"),  # 0.5 MiB a reply: a leaked buffer per reply
        ("threads", 1, "threads grew"),  # a thread left per reply
        ("fds", 1, "fds grew"),  # a file left open per reply
        ("objects", 300, "Python objects grew"),  # a reply's objects kept alive
    ],
)
def test_growth_of_each_kind_fails(key, step, words):
    samples = _flat()
    for i, s in enumerate(samples):
        s[key] += i * step
    (problem,) = judge(samples)
    assert words in problem


def test_too_few_samples_are_not_judged_flat():
    assert judge(_flat(5))


@pytest.mark.slow
def test_twenty_replies_with_stops_stay_flat(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.soak", "--replies", "20", "--seed", "3",
         "--max-tokens", "400", "--json"],
        cwd=ROOT, env=child_env(tmp_path), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["problems"] == [], report["summary"]
    assert len(report["samples"]) == 20 and sum(report["statuses"].values()) == 20
    assert report["statuses"].get("cancelled", 0) > 0  # Stop was pressed
    assert done.returncode == 0
