"""Seeded fuzzing of model files (tests/fuzz_gguf.py): a quick subset here, the long run as a
script (``python -m tests.fuzz_gguf --count 2000``, figures in docs/reliability.md)."""

from __future__ import annotations

import random

import pytest
from jinja2 import TemplateError as JinjaTemplateError

from app.engine import EngineError, TemplateError
from app.engine.chat_format import formatter_for
from app.engine.load_guard import guard_model_file
from tests.fuzz_gguf import DEFECTS, classify, fuzz, summary
from tests.gguf_mutations import KINDS, header_map, mutate


def test_every_mutant_gets_through_the_python_checks_as_a_verdict_or_a_typed_error(
    tiny_answer_gguf, tmp_path
):
    """Hundreds of mutants of every kind, in this process (no llama.cpp): each is accepted or
    refused with a typed error and a message; the accepted ones render a prompt or refuse
    with TemplateError. Nothing else may escape."""
    base = tiny_answer_gguf.read_bytes()
    hmap = header_map(base)
    path = tmp_path / "mutant.gguf"
    outcomes = {"accepted": 0, "refused": 0}
    for index in range(20 * len(KINDS)):
        kind = KINDS[index % len(KINDS)]
        data, detail = mutate(base, hmap, random.Random(f"quick:{index}"), kind)
        path.write_bytes(data)
        try:
            facts = guard_model_file(path, probe=False).facts
        except EngineError as exc:
            assert exc.message and exc.hint, (kind, detail)
            outcomes["refused"] += 1
            continue
        outcomes["accepted"] += 1
        try:
            formatter_for(facts).render([{"role": "user", "content": "hi"}])
        except TemplateError as exc:
            assert isinstance(exc.__cause__, JinjaTemplateError), (kind, detail)
    assert outcomes["accepted"] > 10 and outcomes["refused"] > 100, outcomes


def test_outcomes_are_classified_by_exit_status_and_output():
    assert classify(-6, "", "", False, False) == "crash"
    assert classify(None, "", "", True, False) == "hang"
    assert classify(1, "", "Traceback (most recent call last):\n  ...", False, False) == "traceback"
    assert classify(2, "", "error: tiny.gguf is damaged\n  try: ...", False, False) == "rejected"
    assert classify(2, "", "something odd", False, False) == "silent"
    assert classify(0, '{"answer": "Paris"}', "", False, True) == "accepted"


def test_a_few_mutants_through_the_command_line_and_the_import(tmp_path):
    cases = fuzz(count=2, seed=7, workdir=tmp_path / "fuzz")
    figures = summary(cases)
    for path in ("cli", "import"):
        assert figures[path]["files"] == 2
        assert all(figures[path][d] == 0 for d in DEFECTS), [c.defects for c in cases]


@pytest.mark.slow
def test_two_mutants_of_each_kind_through_both_paths(tmp_path):
    cases = fuzz(count=2 * len(KINDS), seed=11, workdir=tmp_path / "fuzz", jobs=2)
    defects = [(c.kind, c.detail, o) for c in cases for o in c.defects]
    assert not defects
    figures = summary(cases)
    assert figures["cli"]["accepted"] > 0 and figures["cli"]["rejected"] > 0
