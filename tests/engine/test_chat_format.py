"""Prompt rendering: the model's own template, thinking stripped, sandboxed, fallback."""

import pytest

from app.engine import ChatFormatter, TemplateError, read_model_facts
from app.engine.chat_format import formatter_for, prompt_as_seen
from app.selftest.tiny_model import QWQ_LIKE_TEMPLATE

HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "<think>\nsecret reasoning\n</think>\n\n4"},
    {"role": "user", "content": "and 3+3?"},
]


def test_history_keeps_final_answers_only_and_prompt_prefills_think():
    text = ChatFormatter(QWQ_LIKE_TEMPLATE).render(HISTORY).text
    assert "secret reasoning" not in text
    assert "</think>" not in text.split("<|im_start|>assistant\n4")[0]
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\n2+2?<|im_end|>\n"
        "<|im_start|>assistant\n4<|im_end|>\n"
        "<|im_start|>user\nand 3+3?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n"
    )


def test_enable_thinking_is_passed_to_templates_that_need_it():
    rendered = ChatFormatter(QWQ_LIKE_TEMPLATE).render(HISTORY[:2])
    # Without enable_thinking this template would emit an empty <think></think> block.
    assert rendered.text.endswith("<|im_start|>assistant\n<think>\n")
    assert rendered.starts_in_thinking


def test_stripping_does_not_depend_on_the_template():
    # A template that copies assistant content verbatim must still not see the thinking.
    verbatim = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
    text = ChatFormatter(verbatim).render(HISTORY).text
    assert "secret reasoning" not in text and "[assistant]4" in text


def test_template_sandbox_blocks_python_internals():
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(TemplateError):
        ChatFormatter(evil).render(HISTORY)


def test_template_raise_exception_becomes_a_readable_error():
    strict = (
        "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}"
    )
    with pytest.raises(TemplateError, match="first must be user"):
        ChatFormatter(strict).render(HISTORY)


def test_fallback_without_template_single_turn_is_plain_completion():
    rendered = ChatFormatter(None).render([{"role": "user", "content": "The capital of France is"}])
    assert rendered.text == "The capital of France is"
    assert not rendered.uses_template


def test_fallback_multi_turn_is_a_transcript_with_stop_strings():
    rendered = ChatFormatter(None).render(HISTORY)
    assert rendered.text.endswith("User: and 3+3?\n\nAssistant:")
    assert "secret reasoning" not in rendered.text
    assert "\nUser:" in rendered.stop_strings


def test_prompt_as_seen_adds_bos_for_models_that_want_it(gemma_gguf):
    facts = read_model_facts(gemma_gguf)
    rendered = formatter_for(facts).render([{"role": "user", "content": "Hi"}])
    assert prompt_as_seen(facts, rendered) == facts.bos_text + "Hi"
