"""Keep llama-cpp-python from compiling the file's chat templates while a model loads.

``Llama.__init__`` compiles every chat template in the GGUF with its own Jinja environment to
offer chat handlers, which the app never uses: it renders prompts in its one limited sandbox
(quantize.chat_template). A damaged template would make the load fail with a bare
``jinja2.TemplateSyntaxError`` and a hostile one would meet a sandbox without limits. For the
duration of one load the engine swaps in a formatter that keeps the template unparsed
(restored afterwards, one load at a time).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_lock = threading.Lock()


class _UnusedChatFormatter:
    """Stands in for llama_chat_format.Jinja2ChatFormatter: never parses the template."""

    def __init__(self, template: str, *args, **kwargs) -> None:
        self.template = template

    def to_chat_handler(self):
        def handler(*args, **kwargs):
            raise NotImplementedError(
                "QwQ Desktop renders chat templates itself (quantize.chat_template)"
            )

        return handler


@contextlib.contextmanager
def templates_left_unparsed() -> Iterator[None]:
    """Within the block, creating a ``Llama`` does not compile the file's chat templates."""
    from llama_cpp import llama_chat_format

    with _lock:
        original = llama_chat_format.Jinja2ChatFormatter
        llama_chat_format.Jinja2ChatFormatter = _UnusedChatFormatter
        try:
            yield
        finally:
            llama_chat_format.Jinja2ChatFormatter = original
