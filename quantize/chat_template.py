"""The one sandbox that renders Hugging Face chat templates, for the app and the quantiser alike.

It mirrors what transformers gives templates: sandboxed, immutable Jinja with ``trim_blocks`` and
``lstrip_blocks``, the ``loopcontrols`` extension (``{% break %}``, ``{% continue %}``) and the
``raise_exception`` and ``strftime_now`` globals. A template that renders here renders in both the
chat app and the quantiser's validation, and the other way round.

A template comes from a downloaded file, so it is treated as hostile code with limits
(``TemplateLimits``): Python internals are out of reach (Jinja's sandbox), and a render stops
with ``TemplateLimitError`` when it runs too long (checked at every loop iteration and call),
loops or recurses too much, or builds too large a text or list (checked before a repetition or
padding is computed, after every concatenation, and on the output as it streams). Every failure
of a template, whatever Python raised inside it, comes out as a ``jinja2.TemplateError``.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import wraps

from jinja2 import TemplateError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg


@dataclass(frozen=True)
class TemplateLimits:
    """What one render may use. Text and list sizes may reach ``max_size`` plus twice the size
    of what was passed in (a long conversation renders to a long prompt)."""

    seconds: float = 2.0
    max_size: int = 1 << 20
    max_depth: int = 64  # nested calls: macros, recursive loops
    max_iterations: int = 250_000  # loop iterations, all loops together
    max_source: int = 512 * 1024  # characters of template source


DEFAULT_LIMITS = TemplateLimits()


class TemplateLimitError(TemplateError):
    """The template was stopped by a limit (time, size, depth, iterations)."""


class TemplateFailure(TemplateError):
    """The template failed with an error other than Jinja's own (``TypeError: ...``)."""


MAX_BITS = 1 << 16  # the largest integer a template may compute
# A number of seven digits or more inside a format string: a padding of millions of characters.
_HUGE_NUMBER = re.compile(r"\d{7,}")


class _Render:
    """The budget of the render running in this thread."""

    def __init__(self, limits: TemplateLimits, input_size: int) -> None:
        self.deadline = time.monotonic() + limits.seconds
        self.max_size = limits.max_size + 2 * input_size
        self.iterations = limits.max_iterations
        self.depth = 0
        self.limits = limits


class _LimitedCodeGenerator(CodeGenerator):
    """Jinja's code generator with checks: every loop iterates through ``environment.tick_iter``
    and every ``~`` concatenation passes ``environment.checked``."""

    def visit_For(self, node: nodes.For, frame) -> None:
        node = nodes.For(
            node.target,
            nodes.Call(nodes.EnvironmentAttribute("tick_iter"), [node.iter], [], None, None),
            node.body,
            node.else_,
            node.test,
            node.recursive,
            lineno=node.lineno,
        )
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        self.write("environment.checked(")
        super().visit_Concat(node, frame)
        self.write(")")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the limits of the render running in the current thread."""

    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: TemplateLimits = DEFAULT_LIMITS) -> None:
        super().__init__(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        self.limits = limits
        self._local = threading.local()
        self.globals["raise_exception"] = _raise_exception
        self.globals["strftime_now"] = _strftime_now
        self.filters = {name: _limited_filter(self, f) for name, f in self.filters.items()}

    # ---- the budget --------------------------------------------------------------------------
    def _render(self) -> _Render:
        state = getattr(self._local, "render", None)
        if state is None:  # a bare Template.render: sizes checked, no clock (use ChatTemplate)
            state = _Render(self.limits, 0)
            state.deadline = float("inf")
        return state

    def tick(self) -> _Render:
        state = self._render()
        if time.monotonic() > state.deadline:
            raise TemplateLimitError(
                f"the chat template ran longer than {state.limits.seconds:g} s"
            )
        return state

    def tick_iter(self, iterable: Iterable) -> Iterator:
        for item in iterable:
            state = self.tick()
            state.iterations -= 1
            if state.iterations < 0:
                raise TemplateLimitError(
                    f"the chat template looped more than {state.limits.max_iterations:,} times"
                )
            yield item

    def checked(self, value):
        if isinstance(value, (str, list, tuple, dict, bytes)) and len(value) > self._max_size():
            raise TemplateLimitError(
                f"the chat template built a value of {len(value):,} items or characters"
            )
        return value

    def _max_size(self) -> int:
        return self._render().max_size

    # ---- sandbox hooks -----------------------------------------------------------------------
    def call_binop(self, context, operator: str, left, right):
        self.tick()
        limit = self._max_size()
        if operator in ("*", "**") and _huge_number(operator, left, right):
            raise TemplateLimitError("the chat template computes a huge number")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple, bytes)) and isinstance(n, int)
                if sized and len(seq) * max(n, 0) > limit:
                    raise TemplateLimitError("the chat template repeats a text too often")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right if isinstance(right, tuple) else (right,), limit)
        return self.checked(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        state = __self.tick()
        _check_numbers((*args, *kwargs.values()), __self._max_size())
        state.depth += 1
        if state.depth > state.limits.max_depth:
            raise TemplateLimitError(
                f"the chat template nests calls more than {state.limits.max_depth} deep"
            )
        try:
            return __self.checked(super().call(__context, __obj, *args, **kwargs))
        finally:
            state.depth -= 1

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        @wraps(wrapped)
        def checked_format(*args, **kwargs):
            _check_format(fmt, (*args, *kwargs.values()), self._max_size())
            return self.checked(wrapped(*args, **kwargs))

        return checked_format


def _huge_number(operator: str, left, right) -> bool:
    """Would ``left * right`` or ``left ** right`` be a number of more than MAX_BITS bits?"""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
        return False
    if operator == "**":
        if isinstance(left, float) or isinstance(right, float):
            return abs(right) > 1_000_000  # float overflow raises quickly; keep it bounded
        return right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_BITS
    ints = isinstance(left, int) and isinstance(right, int)
    return ints and abs(left).bit_length() + abs(right).bit_length() > MAX_BITS


def _check_numbers(values: Iterable, limit: int) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit:
            raise TemplateLimitError(f"the chat template passes the huge number {value}")


def _check_format(fmt: str, args: Iterable, limit: int) -> None:
    if _HUGE_NUMBER.search(fmt):
        raise TemplateLimitError("the chat template formats with a huge width")
    _check_numbers(args, limit)


def _limited_filter(env: LimitedSandbox, func):
    """``func`` with the checks: numbers given as its parameters (not the value it filters)
    within the size limit, and its result too."""
    skip = 2 if _PassArg.from_obj(func) is not None else 1  # the context and/or the value

    @wraps(func)
    def limited(*args, **kwargs):
        env.tick()
        _check_numbers((*args[skip:], *kwargs.values()), env._max_size())
        return env.checked(func(*args, **kwargs))

    return limited


class ChatTemplate:
    """A compiled chat template; ``render`` applies the limits and raises only TemplateError."""

    def __init__(self, source: str, limits: TemplateLimits = DEFAULT_LIMITS) -> None:
        if not isinstance(source, str):
            raise TemplateFailure("the chat template is not text")
        if len(source) > limits.max_source:
            raise TemplateLimitError(
                f"the chat template is {len(source):,} characters long "
                f"(the limit is {limits.max_source:,})"
            )
        self.source = source
        self.environment = LimitedSandbox(limits)
        try:
            self.template = self.environment.from_string(source)
        except TemplateError:
            raise
        except RecursionError:
            raise TemplateLimitError("the chat template nests too deeply to compile") from None
        except Exception as exc:  # noqa: BLE001 - any compile failure is the template's
            raise TemplateFailure(f"the chat template does not compile: {exc}") from exc

    def render(self, **context) -> str:
        env = self.environment
        state = _Render(env.limits, len(repr(context)))
        previous = getattr(env._local, "render", None)
        env._local.render = state
        pieces: list[str] = []
        size = 0
        try:
            for piece in self.template.generate(**context):
                size += len(piece)
                if size > state.max_size:
                    raise TemplateLimitError(
                        f"the chat template wrote more than {state.max_size:,} characters"
                    )
                pieces.append(piece)
        except TemplateError:
            raise
        except RecursionError:
            raise TemplateLimitError("the chat template recursed too deeply") from None
        except MemoryError:
            raise TemplateLimitError("the chat template needed too much memory") from None
        except Exception as exc:  # noqa: BLE001 - whatever a template does wrong is its error
            raise TemplateFailure(f"{type(exc).__name__}: {exc}") from exc
        finally:
            env._local.render = previous
        return "".join(pieces)


def chat_template_environment(limits: TemplateLimits = DEFAULT_LIMITS) -> LimitedSandbox:
    """A new sandboxed Jinja environment with the extensions, globals and limits chat templates
    get."""
    return LimitedSandbox(limits)


def compile_chat_template(source: str, limits: TemplateLimits = DEFAULT_LIMITS) -> ChatTemplate:
    """Compile a chat template in the sandbox (jinja2.TemplateError when it is invalid)."""
    return ChatTemplate(source, limits)


def render_chat_template(template: str, messages: list[dict], **extra) -> str:
    """Render ``messages`` with a generation prompt, as transformers does (jinja2.TemplateError
    on a broken or hostile template, or one that calls ``raise_exception``)."""
    return compile_chat_template(template).render(
        messages=messages, add_generation_prompt=True, **extra
    )


def _raise_exception(message: str):
    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(str(fmt)[:256])
