"""/v1/completions as a real text completion: the prompt goes to the model as it is written.

``ChatEngine`` renders every turn through ``engine.formatter`` (the model's chat template).
``plain_prompt_view(engine)`` is a shallow copy of the engine whose formatter returns the
prompt untouched; everything else (the llama.cpp model, the engine's lock, its KV cache, its
cancel set) is the engine's own, so the view is serialised with every other turn and reuses
the cache like one. Reasoning still applies: a prompt that ends inside ``<think>`` (a client
writing its own chat prompt) streams its thinking apart, as the template path does.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from app.engine.chat_format import RenderedPrompt

THINK_OPEN = "<think>"


class PlainPrompt:
    """A formatter that sends the last message's text as the whole prompt."""

    has_template = False
    fallback_used = None
    notes: list[str] = []

    def render(self, messages: Sequence[dict], add_generation_prompt: bool = True):
        text = str(messages[-1]["content"]) if messages else ""
        return RenderedPrompt(
            text=text,
            uses_template=False,
            starts_in_thinking=text.rstrip().endswith(THINK_OPEN),
        )


def plain_prompt_view(engine):
    """``engine`` completing raw text (see the module's docstring); never close the view."""
    view = copy.copy(engine)
    view.formatter = PlainPrompt()
    return view
