"""One chat-template sandbox: what renders in the app passes the quantiser's template check."""

import datetime

import gguf
import pytest

from app.engine import ChatFormatter, TemplateError
from quantize.validation.gguf_file import GGUFFile
from quantize.validation.template_check import check_chat_template

# Uses what transformers offers templates and the bare Jinja sandbox lacks: loop controls
# ({% continue %}, {% break %}) and the strftime_now() global.
LOOPS_AND_DATE_TEMPLATE = (
    "{%- for m in messages %}"
    "{%- if m.role == 'system' %}"
    "{{- '<|im_start|>system\\n' + m.content + ' Today is ' + strftime_now('%Y-%m-%d')"
    " + '.<|im_end|>\\n' }}"
    "{%- continue %}"
    "{%- endif %}"
    "{%- if m.role == 'tool' %}{%- break %}{%- endif %}"
    "{%- set content = m.content.split('</think>')[-1].lstrip('\\n') %}"
    "{{- '<|im_start|>' + m.role + '\\n' + content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}"
)


def _gguf_with_template(path, template: str) -> GGUFFile:
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_chat_template(template)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return GGUFFile(path)


def _days_around_now() -> set[str]:
    now = datetime.datetime.now()
    return {(now + datetime.timedelta(minutes=m)).strftime("%Y-%m-%d") for m in (-1, 0, 1)}


def test_template_with_loop_controls_and_date_renders_in_the_app():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "tool", "content": "never shown"},
        {"role": "user", "content": "never shown either"},
    ]
    text = ChatFormatter(LOOPS_AND_DATE_TEMPLATE).render(messages).text
    assert any(f"Be brief. Today is {day}." in text for day in _days_around_now())
    assert "<|im_start|>user\nHi<|im_end|>" in text
    assert "never shown" not in text  # {% break %} left the loop at the tool message


def test_template_with_loop_controls_and_date_passes_the_quantiser_check(tmp_path):
    g = _gguf_with_template(tmp_path / "t.gguf", LOOPS_AND_DATE_TEMPLATE)
    result = check_chat_template(g, LOOPS_AND_DATE_TEMPLATE)
    assert result.passed, result.detail
    rendered = result.metrics["rendered"]
    assert any(f"Today is {day}." in rendered for day in _days_around_now())


def test_both_sides_keep_the_sandbox_and_raise_exception(tmp_path):
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(TemplateError):
        ChatFormatter(evil).render([{"role": "user", "content": "x"}])
    result = check_chat_template(_gguf_with_template(tmp_path / "e.gguf", evil), evil)
    assert result.passed is False and "does not render" in result.detail
    strict = "{{ raise_exception('no system message') }}"
    result = check_chat_template(_gguf_with_template(tmp_path / "s.gguf", strict), strict)
    assert result.passed is False and "no system message" in result.detail
