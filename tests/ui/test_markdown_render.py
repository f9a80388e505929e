"""Markdown rendering: code blocks with copy links, tables, safety, and streaming blocks."""

from __future__ import annotations

import re

from app.ui.chat.markdown_render import MarkdownRenderer, settled_length
from app.ui.common.theme import DARK, LIGHT

REPLY = """Here is the code:

```python
def add(a, b):
    return a + b
```

| x | y |
|---|--:|
| 1 | 2 |

```
plain block
```
"""


def test_code_blocks_are_highlighted_and_numbered_for_copying():
    rendered = MarkdownRenderer(LIGHT).render(REPLY)
    assert rendered.code_blocks == 2
    assert 'href="copy-code:0"' in rendered.html and 'href="copy-code:1"' in rendered.html
    assert "<span style=" in rendered.html  # Pygments colours
    assert ">python<" in rendered.html
    assert MarkdownRenderer(LIGHT).code_blocks(REPLY) == [
        "def add(a, b):\n    return a + b\n",
        "plain block\n",
    ]


def test_numbering_continues_across_streamed_fragments():
    rendered = MarkdownRenderer(DARK).render("```\nx\n```\n", first_code_index=3)
    assert 'href="copy-code:3"' in rendered.html and rendered.code_blocks == 1


def test_tables_render_with_alignment():
    html = MarkdownRenderer(LIGHT).render(REPLY).html
    assert "<table" in html and "<th" in html
    assert 'align="right"' in html


def test_raw_html_and_images_cannot_load_anything():
    html = (
        MarkdownRenderer(LIGHT)
        .render(
            '<img src="file:///etc/passwd"> <script>x</script>\n\n![chart](https://example.org/a.png)'
        )
        .html
    )
    assert "<img" not in html and "<script" not in html
    assert "&lt;img" in html
    assert '<a href="https://example.org/a.png">[chart]</a>' in html


CITED = (
    "Replace the pump every 2,000 hours [1]. Seals too [1, 2], and [2][3]. Not [7], nor "
    "[2,000], nor \\[1\\]. In code: `see [1]` and [docs [1]](https://example.org).\n\n"
    "```\nitems[1] = x  # [2]\n```\n\n| part | source |\n|---|---|\n| pump | [2] |\n"
)
TIPS = {1: "Source 1: b.pdf, page 3", 2: 'Source 2: "c & d".pdf, page 6'}


def test_citation_markers_link_to_known_sources_only():
    rendered = MarkdownRenderer(LIGHT).render(CITED, citations=TIPS)
    links = re.findall(r'<a href="source:(\d+)" title="([^"]*)"[^>]*>([^<]*)</a>', rendered.html)
    assert [(n, text) for n, _tip, text in links] == [
        ("1", "[1]"),  # "every 2,000 hours [1]"
        ("1", "[1"),  # "[1, 2]": each number its own link, the brackets with the outer ones
        ("2", "2]"),
        ("2", "[2]"),  # "[2][3]": 3 has no source and stays text
        ("2", "[2]"),  # the table cell
    ]
    tips = {n: tip for n, tip, _text in links}
    assert tips == {
        "1": "Source 1: b.pdf, page 3",
        "2": "Source 2: &quot;c &amp; d&quot;.pdf, page 6",
    }
    assert rendered.cited == (1, 2)
    html = rendered.html
    assert "</span>[3]. Not [7], nor [2,000], nor [1]. In code" in html  # no source, escaped
    assert "<code>see [1]</code>" in html and "<pre" in html and "items[1] = x  # [2]</pre>" in html
    assert '<a href="https://example.org">docs [1]</a>' in html  # no link inside a link


def test_without_sources_markers_stay_text():
    plain = MarkdownRenderer(LIGHT).render(CITED)
    assert "source:" not in plain.html and plain.cited == ()
    assert plain.html == MarkdownRenderer(LIGHT).render(CITED, citations={9: "Source 9"}).html


def test_settled_length_stops_at_the_last_finished_block():
    assert settled_length("para one\n\npara tw") == len("para one\n\n")
    assert settled_length("no blank line yet\n") == 0
    open_fence = "text\n\n```py\nx = 1\n\ny = 2\n"
    assert settled_length(open_fence) == len("text\n\n")  # blank line inside a fence is not an end
    closed = open_fence + "```\n"
    assert settled_length(closed) == len(closed)
    assert settled_length("~~~\na\n~~~\nmore") == len("~~~\na\n~~~\n")


def test_streamed_answer_ends_identical_to_a_full_render(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of France?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=20_000)
    widget = window.chat_view.last_widget()
    widget.begin_stream()
    pieces = [REPLY[i : i + 7] for i in range(0, len(REPLY), 7)]
    for piece in pieces:
        widget.append_stream("answer", piece)
    assert len(widget.answer.views()) > 2  # finished blocks rendered once, plus the live tail
    widget.end_stream("complete", None)
    (view,) = widget.answer.views()
    expected = MarkdownRenderer(window.colors)
    probe = type(view)()
    probe.document().setDefaultStyleSheet(window.chat_view.context.css)
    probe.setHtml(expected.render(REPLY).html)
    assert view.toPlainText() == probe.toPlainText()
    probe.deleteLater()
