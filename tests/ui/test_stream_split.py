"""Where streaming Markdown splits into finished blocks, and the code lexer that resumes."""

from __future__ import annotations

import random

import pytest

from app.ui.chat.code_highlight import LIVE_LINES, StreamLexer
from app.ui.chat.markdown_render import BlockSplitter, MarkdownRenderer, lexer_for
from app.ui.common.theme import LIGHT

from .test_streaming_render import JAVASCRIPT, PYTHON, RUST, C

GO = "package main\n\nfunc main() {\n\ts := `raw\nstring`\n\tfmt.Println(s) // done\n}\n"


def settled(text: str) -> int:
    return BlockSplitter().feed(text).settled


def test_blocks_end_at_blank_lines_closing_fences_and_headings():
    assert settled("para one\n\npara tw") == len("para one\n\n")
    assert settled("no blank line yet\n") == 0
    assert settled("# Heading\nbody") == len("# Heading\n")
    assert settled("#hashtag is text\n") == 0
    assert settled("  # indented heading belongs to the block before\n") == 0
    # a fence at the margin ends the paragraph before it; an indented one may be in a list item
    assert settled("intro\n```py\nx = 1\n") == len("intro\n")
    assert settled("1. step\n   ```sh\n   ls\n") == 0
    fenced = "```py\nx\n\n# not a heading\n```\n"
    assert settled(fenced + "after") == len(fenced)


def test_fences_close_only_on_their_own_marker():
    text = "````md\n```\ninner\n```\n~~~\n````\n"
    splitter = BlockSplitter().feed(text)
    assert splitter.settled == len(text) and splitter.fence is None
    assert (splitter.closed.lang, splitter.closed.length) == ("md", 4)
    assert splitter.closed.body_end == text.index("````\n", 1)
    assert settled("``` js `x`\n") == 0  # backticks in the info string: inline code, not a fence
    assert BlockSplitter().feed("~~~ python extra\ncode\n").fence.lang == "python"


def test_feeding_piece_by_piece_reads_each_line_once():
    text = "a\n\n```c\nint x;\n```\n\n# H\nrest"
    whole = BlockSplitter().feed(text)
    splitter = BlockSplitter()
    for i in range(1, len(text) + 1):
        splitter.feed(text[:i])
    assert (splitter.settled, splitter.scanned) == (whole.settled, whole.scanned)


@pytest.mark.parametrize(
    "prefix",
    ["para text\n", "- a\n- b\n", "1. a\n2. b\n", "> quote\n", "| a | b |\n|---|---|\n| 1 | 2 |\n"],
)
@pytest.mark.parametrize("rest", ["```py\nx = 1\n```\n", "~~~\nx\n~~~\n", "# Heading\n"])
def test_splitting_before_a_fence_or_heading_renders_the_same(prefix, rest):
    renderer = MarkdownRenderer(LIGHT)
    assert settled(prefix + rest) >= len(prefix)
    apart = renderer.render(prefix).html + renderer.render(rest).html
    assert apart == renderer.render(prefix + rest).html


def _tokens_of(lexer, code):
    merged = []
    for _, ttype, value in lexer.get_tokens_unprocessed(code):
        if merged and merged[-1][0] == ttype:
            merged[-1] = (ttype, merged[-1][1] + value)
        elif value:
            merged.append((ttype, value))
    return merged


def _merge(tokens):
    merged = []
    for ttype, value in tokens:
        if merged and merged[-1][0] == ttype:
            merged[-1] = (ttype, merged[-1][1] + value)
        elif value:
            merged.append((ttype, value))
    return merged


@pytest.mark.parametrize(
    "lang, code",
    [("python", PYTHON), ("c", C), ("javascript", JAVASCRIPT), ("rust", RUST), ("go", GO)],
)
def test_resumed_lexing_gives_the_one_shot_tokens(lang, code):
    lexer = lexer_for(lang)
    for seed in range(25):
        rng = random.Random(seed)
        stream = StreamLexer(lexer)
        committed, live, end = [], [], 0
        while end < len(code):
            end = min(len(code), end + rng.randint(1, 30))
            new, live = stream.update(code[:end])
            committed += new
            assert "".join(v for _, v in committed + live) == code[:end]
        assert _merge(committed + live) == _tokens_of(lexer, code)


def test_an_unfinished_construct_stays_live_then_is_committed():
    stream = StreamLexer(lexer_for("c"))
    committed, _ = stream.update("int x;\n/* open\n comment\n")
    assert "".join(v for _, v in committed) == "int x;\n"  # the comment may still change
    committed, _ = stream.update("int x;\n/* open\n comment\n*/\nint y;\n")
    assert "".join(v for _, v in committed) == "/* open\n comment\n*/\nint y;\n"
    long = "/*\n" + "line\n" * (3 * LIVE_LINES)
    stream = StreamLexer(lexer_for("c"))
    stream.update(long)
    assert long.count("\n", stream.committed) <= LIVE_LINES  # what stays live is bounded


def test_plain_and_unknown_languages_commit_finished_lines():
    for lexer in (None, lexer_for("nosuchlang")):
        stream = StreamLexer(lexer)
        committed, live = stream.update("a <b>\nc")
        assert "".join(v for _, v in committed) == "a <b>\n"
        assert "".join(v for _, v in live) == "c"
