"""Highlight a code block as it streams, lexing each finished line about once.

Pygments lexes a whole text at a time; re-lexing a growing block on every flush costs more per
flush as the block grows. ``StreamLexer`` keeps the lexer's state (position and state stack)
at the end of the lines it has committed, and lexes only what came after. A line is committed
once its tokens cannot change any more; lines after an unfinished construct (an error token, or
a string or comment running to the end of the text so far: an open block comment, raw string)
stay live and are lexed again on the next update, up to ``LIVE_LINES`` lines. Lexers whose state
cannot be carried over commit finished lines as they come (colours may then differ while
streaming; the final render of the message is a one-shot render and exact).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator

from pygments.lexer import ExtendedRegexLexer, Lexer, LexerContext, RegexLexer
from pygments.token import Comment, Error, String, Text, Whitespace, _TokenType

Token = tuple[_TokenType, str]
LIVE_LINES = 24


def _regex_run(
    lexer: RegexLexer, text: str, pos: int, stack: list[str], marks: dict[int, list[str]]
) -> Iterator[tuple[int, _TokenType, str]]:
    """Pygments' ``RegexLexer.get_tokens_unprocessed`` from ``pos`` with ``stack`` (the same
    loop); ``marks`` receives the state stack at every token boundary that starts a line."""
    tokendefs = lexer._tokens
    statetokens = tokendefs[stack[-1]]
    while True:
        for rexmatch, action, new_state in statetokens:
            m = rexmatch(text, pos)
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group()
                    else:
                        yield from action(lexer, m)
                pos = m.end()
                if new_state is not None:
                    _transition(stack, new_state)
                    statetokens = tokendefs[stack[-1]]
                if pos and text[pos - 1] == "\n" and pos not in marks:
                    marks[pos] = list(stack)  # on arrival, before any empty match
                break
        else:
            if pos >= len(text):
                return
            if text[pos] == "\n":  # at the end of a line Pygments resets to "root"
                stack[:] = ["root"]
                statetokens = tokendefs["root"]
                yield pos, Whitespace, "\n"
                marks[pos + 1] = ["root"]
            else:
                yield pos, Error, text[pos]
            pos += 1


def _transition(stack: list[str], new_state) -> None:
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(stack) > 1:
                    stack.pop()
            elif state == "#push":
                stack.append(stack[-1])
            else:
                stack.append(state)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(stack):
            del stack[1:]
        else:
            del stack[new_state:]
    elif new_state == "#push":
        stack.append(stack[-1])


def _context_class(lexer: Lexer) -> type[LexerContext] | None:
    """The context type an ``ExtendedRegexLexer`` resumes from (None: it cannot resume)."""
    if not isinstance(lexer, ExtendedRegexLexer):
        return None
    if type(lexer).get_tokens_unprocessed is ExtendedRegexLexer.get_tokens_unprocessed:
        return LexerContext
    try:  # YAML keeps its indentation in a context of its own
        from pygments.lexers.data import YamlLexer, YamlLexerContext
    except ImportError:  # pragma: no cover - Pygments without the YAML lexer
        return None
    return YamlLexerContext if isinstance(lexer, YamlLexer) else None


def _split(tokens: list[tuple[int, _TokenType, str]], at: int) -> tuple[list[Token], list[Token]]:
    """Tokens (with start offsets) before and after offset ``at``."""
    before: list[Token] = []
    after: list[Token] = []
    for start, ttype, value in tokens:
        if start + len(value) <= at:
            before.append((ttype, value))
        elif start >= at:
            after.append((ttype, value))
        else:
            before.append((ttype, value[: at - start]))
            after.append((ttype, value[at - start :]))
    return before, after


def _open_construct(tokens: list[tuple[int, _TokenType, str]], length: int, finished: int) -> int:
    """Where the first construct that may still change starts (``finished`` if none): an error
    token, or a string or comment (or anything but blanks) running to the end of the text,
    with the tokens of the same kind just before it (the rest of its opening)."""
    for k, (pos, ttype, value) in enumerate(tokens):
        runs_to_end = pos + len(value) >= length and (
            value.strip() or ttype in String or ttype in Comment
        )
        if ttype in Error or runs_to_end:
            kind = next((kind for kind in (String, Comment, Error) if ttype in kind), ttype)
            while k and tokens[k - 1][1] in kind:
                k -= 1
            return min(tokens[k][0], finished)
    return finished


class StreamLexer:
    """Tokens of a code block that grows; see the module docstring.

    ``update(code)`` takes the whole code so far and returns the tokens of the lines committed
    by this call (to append for good) and the live tokens of everything after them (to show
    in place of the previous live tokens).
    """

    def __init__(self, lexer: Lexer | None) -> None:
        self._lexer = lexer
        self._done = 0  # end of the committed text
        self._stack = ["root"]
        self._context = None
        self._mode = "plain" if lexer is None else "restart"
        if lexer is None:
            return
        method = type(lexer).get_tokens_unprocessed
        context_class = _context_class(lexer)
        if method is RegexLexer.get_tokens_unprocessed:
            self._mode = "regex"
        elif context_class is not None:
            self._mode = "context"
            self._context = context_class("", 0)
        elif isinstance(lexer, RegexLexer) and "stack" in inspect.signature(method).parameters:
            self._mode = "wrapped"  # e.g. C/C++: states from our loop, tokens from theirs

    @property
    def committed(self) -> int:
        """Length of the code whose tokens are final."""
        return self._done

    def update(self, code: str) -> tuple[list[Token], list[Token]]:
        finished = code.rfind("\n") + 1
        if self._mode in ("regex", "wrapped"):
            return self._update_resumable(code, finished)
        done, self._done = self._done, finished
        committed = self._lex(code[done:finished], finished_lines=True)
        return committed, self._lex(code[finished:], finished_lines=False)

    def _update_resumable(self, code: str, finished: int) -> tuple[list[Token], list[Token]]:
        start = self._done
        marks = {start: list(self._stack)}
        tokens = list(_regex_run(self._lexer, code, start, list(self._stack), marks))
        cut = _open_construct(tokens, len(code), finished)
        boundary = max(mark for mark in marks if mark <= cut)
        stack = marks[boundary]
        if code.count("\n", boundary, finished) > LIVE_LINES:  # give up waiting for the end
            boundary = finished
            for _ in range(LIVE_LINES):
                boundary = max(start, code.rfind("\n", start, boundary - 1) + 1)
            stack = marks.get(boundary, ["root"])
        if self._mode == "wrapped":
            shown = self._lexer.get_tokens_unprocessed(code[start:], list(self._stack))
            tokens = [(start + pos, ttype, value) for pos, ttype, value in shown]
        self._done, self._stack = boundary, stack
        return _split(tokens, boundary)

    def _lex(self, text: str, finished_lines: bool) -> list[Token]:
        if not text:
            return []
        if self._mode == "plain":
            return [(Text, text)]
        if self._mode == "context":
            ctx = self._context if finished_lines else copy.deepcopy(self._context)
            ctx.text += text
            ctx.end = len(ctx.text)
            return [(t, v) for _, t, v in self._lexer.get_tokens_unprocessed(context=ctx)]
        return [(t, v) for _, t, v in self._lexer.get_tokens_unprocessed(text)]
