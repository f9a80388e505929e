"""Incremental streaming render: what a reply shows while it streams, and once it has ended, is
what a one-shot render of the same text shows; finished lines of a code block are rendered once
and appended, so a flush costs the same at line 5 and at line 500."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.ui.chat import code_highlight
from app.ui.chat.code_stream import SEGMENT_LINES, CodeStreamView
from app.ui.chat.markdown_render import MarkdownRenderer
from app.ui.chat.message_sections import AnswerSection, ViewContext
from app.ui.chat.text_views import RichTextView
from app.ui.common.theme import DARK, LIGHT

PYTHON = '''import os


class Walker:
    """Walk a tree.

    Yields every file."""

    def walk(self, root: str) -> list[str]:
        found = []  # every path
        for name in os.listdir(root):
            found.append(f"{root}/{name!r}")
        return found
'''
C = """#include <stdio.h>
/* a comment
   over two lines */
int main(void) {
    unsigned char x = 3;
    printf("%d\\n", x);
    return 0;
}
"""
JAVASCRIPT = """const re = /a+b/g;
const t = `template
${re.source} spanning lines`;
/* block
   comment */
function f(a) { return a ?? 0; }
"""
RUST = """fn main() {
    let s = r#"raw
string"#;
    println!("{}", s.len());
}
"""
YAML = """jobs:
  test:
    steps:
      - run: |
          make test
          make lint
"""
JSON = '{\n  "name": "qwq",\n  "tags": ["a", "b"],\n  "n": null\n}\n'

TEXTS = {
    "plain text": "First paragraph with *emphasis* and `code`.\n\nSecond one,\nover two lines.\n",
    "lists": "Steps:\n\n1. one\n2. two\n   - nested\n   - items\n\n- loose\n\n- list\n",
    "table": "| Name | Size |\n|---|--:|\n| a | 1 |\n| b | 22 |\n\nAfter the table.\n",
    "heading and fence at the margin": (
        "# Title\nIntro line\n```python\nx = 1\n```\n## Next\nText after.\n"
    ),
    "code in several languages": (
        f"Python:\n\n```python\n{PYTHON}```\n\nC:\n\n```c\n{C}```\n\nJS:\n\n"
        f"```javascript\n{JAVASCRIPT}```\n\nRust:\n\n~~~rust\n{RUST}~~~\n\n"
        f"```yaml\n{YAML}```\n\n```json\n{JSON}```\n\nDone.\n"
    ),
    "fences without a language, unknown, indented, unclosed": (
        "```\n<b>not html</b> & co\n```\n\n```nosuchlang\nx\n```\n\n"
        "  ```python\n  if x:\n      pass\n  ```\n\nLast:\n\n```python\ndef open_end():\n"
    ),
    "a fence closing mid-flush, text right after": "```python\na = 1\nb = 2\n```\nText.\n",
}
PIECES = (1, 7, 23, 101)


@pytest.fixture
def make_section(qtbot):
    def make(colors=LIGHT) -> AnswerSection:
        section = AnswerSection(ViewContext(colors, MarkdownRenderer(colors)))
        qtbot.addWidget(section)
        section.resize(700, 400)
        section.show()
        section.begin_stream()
        return section

    return make


def stream(section: AnswerSection, text: str, size: int) -> None:
    """Append ``text`` in pieces of ``size``, letting Qt run between them as the app does."""
    for i in range(0, len(text), size):
        section.append(text[i : i + size])
        QApplication.processEvents()


def one_shot(section: AnswerSection, text: str) -> RichTextView:
    probe = RichTextView()
    probe.document().setDefaultStyleSheet(section._ctx.css)
    probe.setHtml(section._ctx.renderer.render(text).html)
    return probe


def shown_lines(section: AnswerSection) -> list[str]:
    lines = []
    for view in section.views():
        if view.isVisibleTo(section):
            text = view.toPlainText().replace("\u2028", "\n")
            lines += [line.strip() for line in text.splitlines() if line.strip()]
    return lines


def code_runs(doc) -> list[tuple[str, str, bool, bool]]:
    """(text, colour, bold, italic) of every run of characters of the code blocks' code."""
    runs = []
    block = doc.begin()
    while block.isValid():
        if block.blockFormat().nonBreakableLines():  # the code's <pre>
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                color = fmt.foreground().color().name()
                for char in fragment.text().replace("\u2028", "\n"):
                    runs.append((char, color, fmt.fontWeight() > 500, fmt.fontItalic()))
                it += 1
            runs.append(("\n", "", False, False))
        block = block.next()
    return [run for run in runs if run[0] not in "\n"]


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize("size", PIECES)
def test_streamed_reply_shows_what_a_one_shot_render_shows(make_section, name, size):
    text = TEXTS[name]
    section = make_section()
    stream(section, text, size)
    probe = one_shot(section, text)
    expected = [line.strip() for line in probe.toPlainText().splitlines() if line.strip()]
    if name.startswith("fences without"):  # the unclosed fence at the end has no end yet
        assert shown_lines(section)[:-1] == expected[:-1]
    else:
        assert shown_lines(section) == [line.replace("\u2028", "") for line in expected]
    section.finish_stream()
    (view,) = section.views()
    assert view.toHtml() == probe.toHtml()  # the end result is exactly the one-shot render


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("size", PIECES)
def test_code_is_coloured_while_streaming_as_in_the_final_render(make_section, colors, size):
    text = TEXTS["code in several languages"]
    section = make_section(colors)
    stream(section, text, size)
    streamed = [
        run
        for part in section._chunks
        if isinstance(part, CodeStreamView)
        for view in part._segments
        for run in code_runs(view.document())
    ]
    probe = one_shot(section, text)
    final = code_runs(probe.document())
    assert [run[0] for run in streamed] == [run[0] for run in final]
    # YAML's lexer cannot resume where it stopped: it may colour differently until the end.
    yaml_at = "".join(run[0] for run in final).index("jobs:")
    assert streamed[:yaml_at] == final[:yaml_at]


def test_flushes_append_and_never_render_the_code_block_again(make_section, monkeypatch):
    lines = [f"    total += compute(item_{i}, factor={i % 7})  # step {i}" for i in range(500)]
    text = "Code:\n\n```python\ndef main():\n" + "\n".join(lines) + "\n```\n\nDone.\n"
    section = make_section()
    rendered: list[int] = []
    render = MarkdownRenderer.render
    monkeypatch.setattr(
        MarkdownRenderer,
        "render",
        lambda self, source, *args: rendered.append(len(source)) or render(self, source, *args),
    )
    lexed: list[int] = []
    run = code_highlight._regex_run
    monkeypatch.setattr(
        code_highlight,
        "_regex_run",
        lambda lexer, code, pos, stack, marks: (
            lexed.append(len(code) - pos) or run(lexer, code, pos, stack, marks)
        ),
    )
    stream(section, text, 80)  # about two lines a flush
    assert max(rendered) < 100  # the intro and the last line: never the code block
    assert len(lexed) > 300 and max(lexed[-100:]) <= max(lexed[:20]) + 80  # flat, not growing
    (code,) = [part for part in section._chunks if isinstance(part, CodeStreamView)]
    assert code.code() == "def main():\n" + "\n".join(lines)
    segments = [view.document().blockCount() for view in code._segments]
    assert max(segments) <= SEGMENT_LINES  # Qt lays out one bounded segment per flush


def test_copy_link_while_streaming_copies_that_block(make_section):
    section = make_section()
    stream(section, "```\nfirst\n```\n\n```python\nsecond = 2\nthird = 3\n", 5)
    code = section._code
    assert 'href="copy-code:1"' in code.header.toHtml()
    code.anchorClicked.emit(QUrl("copy-code:1"))
    assert QGuiApplication.clipboard().text() == "second = 2\nthird = 3"


def test_live_lines_are_replaced_not_appended(make_section):
    section = make_section()
    stream(section, "```python\nx = 1\ny = 'abc", 3)
    (segment,) = section._code._segments
    assert segment.toPlainText() == "x = 1\ny = 'abc"
    section.append("def'\n")
    assert segment.toPlainText() == "x = 1\ny = 'abcdef'"
    section.append("```\n")
    assert section._code is None and segment.toPlainText() == "x = 1\ny = 'abcdef'"
