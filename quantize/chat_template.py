"""The one sandbox that renders Hugging Face chat templates, for the app and the quantiser alike.

It mirrors what transformers gives templates: sandboxed, immutable Jinja with ``trim_blocks`` and
``lstrip_blocks``, the ``loopcontrols`` extension (``{% break %}``, ``{% continue %}``) and the
``raise_exception`` and ``strftime_now`` globals. A template that renders here renders in both the
chat app and the quantiser's validation, and the other way round.
"""

from __future__ import annotations

import datetime

from jinja2 import Template, TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def chat_template_environment() -> ImmutableSandboxedEnvironment:
    """A new sandboxed Jinja environment with the extensions and globals chat templates use."""
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def compile_chat_template(source: str) -> Template:
    """Compile a chat template in the sandbox (jinja2.TemplateError when it is invalid)."""
    return chat_template_environment().from_string(source)


def render_chat_template(template: str, messages: list[dict], **extra) -> str:
    """Render ``messages`` with a generation prompt, as transformers does (jinja2.TemplateError
    on a broken template or one that calls ``raise_exception``)."""
    return compile_chat_template(template).render(
        messages=messages, add_generation_prompt=True, **extra
    )


def _raise_exception(message: str):
    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)
