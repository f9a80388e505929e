"""Turn a conversation into the exact prompt text the model sees.

The model's own Jinja chat template (from the GGUF) is rendered in the sandbox the quantiser's
validation uses too (quantize.chat_template). Thinking is stripped from earlier assistant turns
before rendering (Qwen's rule for QwQ: history keeps final answers only), and
``enable_thinking=True`` is passed because some QwQ template copies switch thinking off without
it. Models without a template (base models) get a plain-text fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import TemplateError as JinjaTemplateError

from quantize.chat_template import TemplateLimitError, compile_chat_template

from .errors import TemplateError
from .reasoning import strip_thinking

Message = dict  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True)
class RenderedPrompt:
    """The prompt text and how it was produced."""

    text: str
    uses_template: bool
    stop_strings: tuple[str, ...] = ()
    starts_in_thinking: bool = False  # the template pre-filled "<think>" (reply starts inside it)


# The built-in ChatML template, for a model whose own template is damaged but whose vocabulary
# has ChatML's markers (QwQ, Qwen and many others); the second form pre-fills "<think>".
CHATML_TEMPLATE = (
    "{%- for m in messages %}"
    "{{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
CHATML_THINKING_TEMPLATE = CHATML_TEMPLATE.replace(
    "'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'"
)
_FALLBACK_NAMES = {
    "chatml": "the built-in ChatML template",
    "plain": "plain text (User:/Assistant:)",
}


class ChatFormatter:
    """Renders conversations with a model's chat template, or the plain-text fallback.

    A template that does not compile raises TemplateError, unless ``fallback`` says what to use
    instead ("chatml", "chatml-thinking" or "plain"); ``fallback_used`` and ``notes`` then say
    so. Rendering runs in the limited sandbox: a failing, hostile or runaway template raises
    TemplateError, never anything else."""

    def __init__(
        self,
        template: str | None,
        bos_token: str = "",
        eos_token: str = "",
        *,
        fallback: str | None = None,
    ) -> None:
        self.template_source = template
        self.bos_token = bos_token
        self.eos_token = eos_token
        self._template = None
        self.fallback_used: str | None = None
        self.notes: list[str] = []
        if template:
            try:
                self._template = compile_chat_template(template)
            except JinjaTemplateError as exc:
                if fallback is None:
                    raise TemplateError(
                        f"The model's chat template is invalid ({exc})",
                        "pick another copy of the model or report it to its publisher",
                    ) from exc
                self._use_fallback(fallback, exc)

    def _use_fallback(self, fallback: str, exc: Exception) -> None:
        kind = "chatml" if fallback.startswith("chatml") else "plain"
        if kind == "chatml":
            source = CHATML_THINKING_TEMPLATE if fallback == "chatml-thinking" else CHATML_TEMPLATE
            self._template = compile_chat_template(source)
        self.fallback_used = kind
        self.notes.append(
            f"The model's chat template is damaged ({exc}); using {_FALLBACK_NAMES[kind]} instead"
        )

    @property
    def has_template(self) -> bool:
        return self._template is not None

    def render(
        self, messages: Sequence[Message], add_generation_prompt: bool = True
    ) -> RenderedPrompt:
        """Render ``messages`` (thinking stripped from assistant turns) into prompt text."""
        clean = [_clean_message(m) for m in messages]
        if self._template is None:
            return _fallback(clean, add_generation_prompt)
        try:
            text = self._template.render(
                messages=clean,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                enable_thinking=True,
                tools=None,
            )
        except TemplateLimitError as exc:
            raise TemplateError(
                f"The model's chat template was stopped: {exc}",
                "the template is damaged or hostile: pick another copy of the model",
            ) from exc
        except JinjaTemplateError as exc:
            raise TemplateError(
                f"The model's chat template failed on this conversation ({exc})",
                "check that roles alternate user/assistant, or start a new chat",
            ) from exc
        tail = text.rstrip()
        return RenderedPrompt(
            text=text,
            uses_template=True,
            starts_in_thinking=add_generation_prompt and tail.endswith("<think>"),
        )


def formatter_for(facts) -> ChatFormatter:
    """The formatter for a model, from the template and BOS/EOS texts in its GGUF header. A
    template that does not compile is replaced (noted in ``notes``): by ChatML when the
    vocabulary has ChatML's markers, else by plain text."""
    chatml = {"<|im_start|>", "<|im_end|>"} <= set(facts.special_tokens)
    fallback = "plain"
    if chatml:
        fallback = "chatml-thinking" if "</think>" in facts.special_tokens else "chatml"
    return ChatFormatter(
        facts.chat_template,
        bos_token=facts.bos_text,
        eos_token=facts.eos_text,
        fallback=fallback,
    )


def prompt_as_seen(facts, rendered: RenderedPrompt) -> str:
    """The text the model sees: the rendered prompt plus the BOS token llama.cpp adds."""
    if facts.add_bos and facts.bos_text and not rendered.text.startswith(facts.bos_text):
        return facts.bos_text + rendered.text
    return rendered.text


def _clean_message(message: Message) -> dict:
    role = message.get("role", "user")
    content = message.get("content") or ""
    if role == "assistant":
        content = strip_thinking(content)
    return {"role": role, "content": content}


def _fallback(messages: list[dict], add_generation_prompt: bool) -> RenderedPrompt:
    """Plain text for models without a template.

    A single user message is a plain completion (the text itself, as a base model expects);
    a longer conversation becomes a "User:/Assistant:" transcript that stops at the next "User:".
    """
    if len(messages) == 1 and messages[0]["role"] == "user":
        return RenderedPrompt(text=messages[0]["content"], uses_template=False)
    labels = {"system": "System", "user": "User", "assistant": "Assistant"}
    parts = [f"{labels.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    text = "\n\n".join(parts)
    if add_generation_prompt:
        text += "\n\nAssistant:"
    return RenderedPrompt(text=text, uses_template=False, stop_strings=("\nUser:", "\n\nUser:"))
