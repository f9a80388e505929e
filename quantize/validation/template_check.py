"""Chat-template check: the GGUF carries the source's template and it renders a multi-turn
conversation with thinking the way a reasoning model needs."""

from __future__ import annotations

from ..chat_template import render_chat_template
from .gguf_file import GGUFFile
from .report import CheckResult

THOUGHT = "The user wants a capital; France's capital is Paris."
CONVERSATION = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": f"<think>\n{THOUGHT}\n</think>\n\nParis."},
    {"role": "user", "content": "And of Italy?"},
]


def check_chat_template(
    g: GGUFFile, expected: str | None, against: str = "tokenizer_config.json"
) -> CheckResult:
    """The GGUF's template is ``expected`` (the template of ``against``: the source's
    tokenizer_config.json or the reference GGUF) and renders a multi-turn chat with thinking."""
    template = g.value("tokenizer.chat_template")
    if expected is None:
        if template is None:
            return CheckResult("chat template", None, f"{against} defines no chat template")
        return CheckResult("chat template", False, f"the GGUF has a template {against} has not")
    if template is None:
        return CheckResult("chat template", False, "the GGUF has no chat template")
    if template != expected:
        return CheckResult("chat template", False, f"the template differs from {against}'s")
    try:
        prompt = render_chat_template(template, CONVERSATION, enable_thinking=True)
    except Exception as exc:  # any template error is a failure to report
        return CheckResult("chat template", False, f"the template does not render: {exc}")
    problems = [
        f"{m['role']} turn {m['content'][:20]!r} is missing"
        for m in CONVERSATION
        if m["role"] != "assistant" and m["content"] not in prompt
    ]
    if "Paris." not in prompt:
        problems.append("the earlier assistant answer is missing")
    last_user = prompt.rfind(CONVERSATION[-1]["content"])
    if "assistant" not in prompt[last_user:]:
        problems.append("no assistant generation prompt after the last user turn")
    reasoning = "</think>" in template or "</think>" in (g.value("tokenizer.ggml.tokens") or [])
    if reasoning and THOUGHT in prompt:
        problems.append("earlier thinking is kept in the history (reasoning models must drop it)")
    if problems:
        return CheckResult("chat template", False, "; ".join(problems))
    return CheckResult(
        "chat template",
        True,
        f"identical to {against}'s; renders 4 turns"
        + (", drops earlier thinking" if reasoning else ""),
        {"rendered": prompt},
    )
