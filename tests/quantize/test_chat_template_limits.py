"""The chat-template sandbox has limits: a damaged or hostile template is a jinja2.TemplateError
(never another exception, never code execution, never a hang), a real template is unaffected."""

from __future__ import annotations

import time

import pytest
from jinja2 import TemplateError

from app.selftest.tiny_model import QWQ_LIKE_TEMPLATE
from quantize.chat_template import (
    TemplateFailure,
    TemplateLimitError,
    TemplateLimits,
    compile_chat_template,
    render_chat_template,
)
from tests.gguf_mutations import HOSTILE_TEMPLATES

MESSAGES = [{"role": "user", "content": "hi"}]


def _render(source: str, **limits) -> str:
    template = compile_chat_template(source, TemplateLimits(**limits))
    return template.render(messages=MESSAGES, add_generation_prompt=True)


@pytest.mark.parametrize("source", HOSTILE_TEMPLATES)
def test_hostile_templates_end_in_a_template_error_quickly(source, tmp_path):
    started = time.perf_counter()
    try:
        _render(source)
    except TemplateError:
        pass
    assert time.perf_counter() - started < 5.0
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("source", "error", "match"),
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
         TemplateLimitError, "looped more than"),
        ("{% set l = range(100000)|list %}{% for a in l %}{% for b in l %}{% endfor %}"
         "{% endfor %}", TemplateLimitError, "looped more than"),
        ("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
         "{% endfor %}", TemplateLimitError, "built a value"),
        ("{{ 'x' * 10000000000 }}", TemplateLimitError, "repeats a text"),
        ("{{ 10 ** 100000000 }}", TemplateLimitError, "huge number"),
        ("{{ '{:>999999999}'.format(1) }}", TemplateLimitError, "huge width"),
        ("{{ '%999999999s' % 'x' }}", TemplateLimitError, "huge width"),
        ("{{ 'x'|center(1000000000) }}", TemplateLimitError, "huge number"),
        ("{{ 'x'.ljust(1000000000) }}", TemplateLimitError, "huge number"),
        ("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", TemplateLimitError, "deep"),
        ("{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}",
         TemplateLimitError, "deep"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}"
         "{% endfor %}",
         TemplateLimitError, "wrote more than"),
        ("{{ 1 / 0 }}", TemplateFailure, "ZeroDivisionError"),
        ("{{ messages[0]['content'] + 1 }}", TemplateFailure, "TypeError"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", TemplateError, "unsafe"),
        ("{% if %}", TemplateError, "Expected an expression"),
    ],
)  # fmt: skip
def test_each_limit_names_what_went_wrong(source, error, match):
    with pytest.raises(error, match=match):
        _render(source)


def test_the_clock_stops_a_slow_template():
    slow = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match="ran longer than 0.2 s"):
        _render(slow, seconds=0.2, max_iterations=10**12)
    assert time.perf_counter() - started < 2.0


def test_templates_too_long_or_too_deep_to_compile_are_refused():
    with pytest.raises(TemplateLimitError, match="characters long"):
        compile_chat_template("x" * 100, TemplateLimits(max_source=10))
    with pytest.raises(TemplateLimitError, match="nests too deeply"):
        compile_chat_template("{{" + "(" * 5000 + "1" + ")" * 5000 + "}}")
    with pytest.raises(TemplateFailure, match="not text"):
        compile_chat_template(7)  # type: ignore[arg-type]


def test_a_real_template_renders_as_before_even_for_a_long_conversation():
    assert render_chat_template(QWQ_LIKE_TEMPLATE, MESSAGES, enable_thinking=True) == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n"
    )
    long = [{"role": "user", "content": "word " * 400_000}]  # 2 MB, more than the base limit
    text = render_chat_template(QWQ_LIKE_TEMPLATE, long, enable_thinking=True)
    assert len(text) > 2_000_000


def test_a_render_of_a_real_template_stays_fast():
    template = compile_chat_template(QWQ_LIKE_TEMPLATE)
    history = [{"role": r, "content": "some text"} for r in ("user", "assistant") * 50]
    started = time.perf_counter()
    for _ in range(20):
        template.render(messages=history, add_generation_prompt=True, enable_thinking=True)
    assert (time.perf_counter() - started) / 20 < 0.05
