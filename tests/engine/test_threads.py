"""llama.cpp thread counts: the GUI leaves itself a core, the terminal chat uses them all
(the measurements behind both: docs/performance.md, "threads")."""

from __future__ import annotations

import json
import os

import pytest

from app.cli import main as cli_main
from app.engine import ThreadPlan, choose_threads, engine_load


@pytest.mark.parametrize(
    "cores, decode, batch", [(1, 1, 1), (2, 1, 1), (4, 3, 3), (8, 7, 7), (16, 8, 15)]
)
def test_the_gui_keeps_a_core_for_itself(cores, decode, batch):
    assert choose_threads(cores, for_gui=True) == ThreadPlan(decode, batch)


@pytest.mark.parametrize(
    "cores, decode, batch", [(1, 1, 1), (2, 2, 2), (4, 4, 4), (6, 6, 6), (32, 8, 32)]
)
def test_without_a_gui_every_core_works(cores, decode, batch):
    assert choose_threads(cores, for_gui=False) == ThreadPlan(decode, batch)


def test_terminal_chat_uses_every_core_by_default(tiny_answer_gguf, monkeypatch, capsys):
    chosen: list[tuple[int, bool, ThreadPlan]] = []

    def spy(cores: int, *, for_gui: bool = True) -> ThreadPlan:
        plan = choose_threads(cores, for_gui=for_gui)
        chosen.append((cores, for_gui, plan))
        return plan

    monkeypatch.setattr(engine_load, "choose_threads", spy)
    args = ["chat", "--model", str(tiny_answer_gguf), "--prompt", "Capital?", "--json"]
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out)["answer"] == "Paris"
    ((cores, for_gui, plan),) = chosen
    assert for_gui is False
    assert plan.n_threads == min(8, cores) and plan.n_threads_batch == cores
    assert cores <= (os.cpu_count() or cores)
