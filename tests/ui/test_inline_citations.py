"""Inline citation markers in a grounded reply: a "[1]" that names one of the reply's sources is
a link (tooltip: file and page) that opens the source panel as the source's button does, while
the reply streams (its sources come first), once it has ended or been stopped, for a reply
loaded from history, and by keyboard (Tab, Enter) with an accessible description."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QHelpEvent, QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from app.docs.answer import Source
from app.selftest.tiny_model import TinyModelSpec, write_tiny_gguf
from app.store import Message
from app.ui.chat.markdown_render import MarkdownRenderer
from app.ui.chat.message_sections import ViewContext
from app.ui.chat.message_widget import MessageWidget
from app.ui.common.theme import LIGHT
from tests.docs.manuals import FUSE, PUMP, write_pdfs
from tests.fixtures.qt_strict import QT_LOG_IGNORE

WAIT_MS = 60_000
SHOTS = Path(os.environ.get("QWQ_SCREENSHOTS", "/tmp/qwq-docs-shots"))
# thinks, then answers "Paris [1]." (each piece one token of the tiny tokenizer)
CITING_SCRIPT = [
    ["\n", "Let", " me", " think", " about", " it", "</think>", "\n\n"]
    + ["Paris", " ", "[", "1", "]", ".", "<|im_end|>"]
]
ANSWER = (
    "The coolant pump must be replaced every **4000 operating hours** [1].\n\n"
    "The main fuse is rated at 16 amperes and sits behind the left panel [2]; check both at "
    "each yearly service [1, 2].\n\n"
    "A manual [9] that was not among the sources stays text, as does code: `pump[1]`.\n"
)


def sources(folder: Path | None = None) -> list[Source]:
    where = folder or Path("/manuals")
    return [
        Source(1, "Manuals", str(where / "b.pdf"), 3, None, 1.0, PUMP),
        Source(2, "Manuals", str(where / "c.pdf"), 6, None, 0.8, FUSE),
    ]


def stats_with(found: list[Source]) -> dict:
    return {"sources": [s.to_dict() for s in found], "completion_tokens": 42}


def message(content: str = "", stats: dict | None = None, status: str = "complete") -> Message:
    return Message(7, 1, 6, "assistant", content, "", status, 0.0, stats)


@pytest.fixture
def make_widget(qtbot):
    def make(msg: Message) -> MessageWidget:
        widget = MessageWidget(msg, ViewContext(LIGHT, MarkdownRenderer(LIGHT)))
        qtbot.addWidget(widget)
        widget.resize(720, 400)
        widget.show()
        return widget

    return make


def links(widget: MessageWidget) -> list[tuple[str, str, str]]:
    """(href, text, tooltip) of every source link shown in the answer, top to bottom."""
    found = []
    for view in widget.answer.views():
        if not view.isVisibleTo(widget):
            continue
        block = view.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fmt = it.fragment().charFormat()
                if fmt.anchorHref().startswith("source:"):
                    found.append((fmt.anchorHref(), it.fragment().text(), fmt.toolTip()))
                it += 1
            block = block.next()
    return found


def point_of(view, text: str) -> QPoint:
    """Where the middle of the first ``text`` in ``view`` is drawn (viewport coordinates)."""
    cursor = QTextCursor(view.document())
    cursor.setPosition(view.toPlainText().index(text) + len(text) // 2)
    return view.cursorRect(cursor).center()


def stream(widget: MessageWidget, text: str, size: int = 9) -> None:
    for i in range(0, len(text), size):
        widget.append_stream("answer", text[i : i + size])
        QApplication.processEvents()


def count_renders(monkeypatch) -> list[str]:
    rendered: list[str] = []
    render = MarkdownRenderer.render
    monkeypatch.setattr(
        MarkdownRenderer,
        "render",
        lambda self, source, *args: rendered.append(source) or render(self, source, *args),
    )
    return rendered


EXPECTED = [
    ("source:1", "[1]", "Source 1: b.pdf, page 3"),
    ("source:2", "[2]", "Source 2: c.pdf, page 6"),
    ("source:1", "[1", "Source 1: b.pdf, page 3"),
    ("source:2", "2]", "Source 2: c.pdf, page 6"),
]


def test_streamed_reply_links_its_markers_without_rendering_it_again(make_widget, monkeypatch):
    widget = make_widget(message(status="streaming"))
    widget.begin_stream()
    widget.citations.show_sources(sources(), None)  # as the chat controller does, first
    rendered = count_renders(monkeypatch)
    paragraphs = ANSWER.split("\n\n")
    long_answer = "\n\n".join(paragraphs[:2] * 20 + paragraphs[2:])
    stream(widget, long_answer)
    assert links(widget)[:4] == EXPECTED  # linked while streaming
    assert len(links(widget)) == 20 * 4
    longest = max(len(p) for p in paragraphs) + 2 + 9
    assert max(len(text) for text in rendered) <= longest  # a block, never the reply so far
    assert rendered.count(paragraphs[0] + "\n\n") == 20  # each finished block once

    rendered.clear()
    widget.end_stream("complete", stats_with(sources()))
    assert rendered == [long_answer]  # the one final render: the same sources change nothing
    assert links(widget)[:4] == EXPECTED and len(links(widget)) == 20 * 4
    assert [b.text() for b in widget.citations.buttons] == ["[1] b.pdf, p. 3", "[2] c.pdf, p. 6"]


def test_sources_arriving_mid_stream_render_the_finished_blocks_once(make_widget, monkeypatch):
    widget = make_widget(message(status="streaming"))
    widget.begin_stream()
    first, second, third = ANSWER.split("\n\n")
    stream(widget, f"{first}\n\nNo marker in this block.\n\n{second[:30]}")
    assert links(widget) == []
    rendered = count_renders(monkeypatch)
    widget.citations.show_sources(sources(), None)
    assert rendered == [f"{first}\n\n"]  # the one finished block with a marker; not the tail
    assert links(widget) == EXPECTED[:1]
    rendered.clear()
    stream(widget, second[30:] + "\n\n" + third)
    assert all(not text.startswith(first) for text in rendered)
    assert links(widget) == EXPECTED


def test_stopping_keeps_the_links_and_the_sources(make_widget):
    widget = make_widget(message(status="streaming"))
    widget.begin_stream()
    widget.citations.show_sources(sources(), None)
    stream(widget, ANSWER[:80])
    widget.end_stream("cancelled", None)  # Stop: the view's stats carry no sources
    assert links(widget) == EXPECTED[:1]
    assert len(widget.citations.buttons) == 1 and widget.citations.isVisible()
    assert [s["number"] for s in widget.message.stats["sources"]] == [1, 2]


# the offscreen platform cannot raise the tooltip's window, and says so
@pytest.mark.qt_log_ignore(*QT_LOG_IGNORE, r"This plugin does not support raise\(\)")
def test_links_open_the_source_by_mouse_and_keyboard_with_tooltip_and_description(
    make_widget, qtbot
):
    widget = make_widget(message(ANSWER, stats_with(sources())))  # as loaded from history
    assert links(widget) == EXPECTED
    asked = []
    widget.actionRequested.connect(lambda action, msg_id: asked.append((action, msg_id)))
    (view,) = widget.answer.views()
    assert view.accessibleDescription() == "Cites sources 1 and 2; Tab moves through the links."

    point = point_of(view, "[2]")
    QApplication.sendEvent(
        view.viewport(), QHelpEvent(QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point))
    )
    assert QToolTip.text() == "Source 2: c.pdf, page 6"
    QToolTip.hideText()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert asked == [("source:2", 7)]  # what the source's button asks for
    widget.citations.buttons[1].click()
    assert asked[-1] == ("source:2", 7)

    asked.clear()
    widget.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    QTest.keyClick(view, Qt.Key.Key_Tab)
    assert view.hasFocus() and view.textCursor().selectedText() == "[1]"
    assert view.accessibleDescription() == "Source 1: b.pdf, page 3"
    QTest.keyClick(view, Qt.Key.Key_Tab)
    assert view.textCursor().selectedText() == "[2]"
    assert view.accessibleDescription() == "Source 2: c.pdf, page 6"
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert asked == [("source:2", 7)]
    for _ in range(2):  # "[1" and "2]" of "[1, 2]"; then "[9]" and the code are no links
        QTest.keyClick(view, Qt.Key.Key_Tab)
    assert view.textCursor().selectedText() == "2]"
    QTest.keyClick(view, Qt.Key.Key_Tab)
    assert not view.hasFocus()  # out of the answer, to the next widget
    assert view.accessibleDescription() == "Cites sources 1 and 2; Tab moves through the links."


def test_a_reply_without_those_sources_keeps_its_markers_as_text(make_widget):
    only_two = [sources()[1]]
    widget = make_widget(message(ANSWER, stats_with(only_two)))
    assert [href for href, _text, _tip in links(widget)] == ["source:2", "source:2"]
    widget.apply_message(message(ANSWER))  # no documents at all
    assert links(widget) == []
    assert widget.answer.views()[0].accessibleDescription() == ""


@pytest.fixture(scope="session")
def tiny_citing_gguf(models_dir):
    spec = TinyModelSpec(name="tiny-qwq-citing", script=CITING_SCRIPT)
    return write_tiny_gguf(models_dir / "tiny-qwq-citing.gguf", spec)


def click_link(qtbot, widget: MessageWidget, text: str) -> None:
    (view,) = widget.answer.views()
    qtbot.waitUntil(lambda: view.anchorAt(point_of(view, text)).startswith("source:"))
    point = point_of(view, text)  # once laid out
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_inline_link_in_a_real_reply_opens_the_source_panel(
    window, qtbot, tiny_citing_gguf, tmp_path
):
    window.load_model(str(tiny_citing_gguf))
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=WAIT_MS)
    manager = window.docs.manager
    manager.add_paths("Manuals", [str(write_pdfs(tmp_path / "manuals", 12))], create=True)
    qtbot.waitUntil(
        lambda: not manager.indexing("Manuals") and manager.stats("Manuals")["indexed"] == 3,
        timeout=WAIT_MS,
    )
    window.docs.button.toggle("Manuals", True)
    assert window.send_message("How often is the coolant pump replaced?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    reply = window.chat_view.last_widget()
    assert reply.message.content == "Paris [1]."
    assert links(reply) == [("source:1", "[1]", "Source 1: b.pdf, page 3")]
    panel = window.docs.source_panel
    assert not panel.isVisible()
    click_link(qtbot, reply, "[1]")
    assert panel.isVisible() and panel.page == 3 and Path(panel.source.file).name == "b.pdf"
    assert PUMP in panel.passage.toPlainText()
    qtbot.waitUntil(lambda: not panel.page_image.pixmap().isNull(), timeout=WAIT_MS)

    panel.close_panel()
    conv_id = window.controller.conv_id
    window.controller.open_conversation(None)
    window.controller.open_conversation(conv_id)  # from history
    reply = window.chat_view.last_widget()
    assert links(reply) == [("source:1", "[1]", "Source 1: b.pdf, page 3")]
    click_link(qtbot, reply, "[1]")
    assert panel.isVisible() and panel.page == 3


def test_reply_from_history_links_to_its_pages(window, qtbot, tmp_path):
    folder = write_pdfs(tmp_path / "manuals", 8)
    store = window.store
    conv = store.create_conversation("Pump and fuse")
    store.add_message(conv.id, "user", "How often is the coolant pump replaced, and the fuse?")
    found = sources(folder)
    answer = ANSWER.rsplit("\n\n", 1)[0]  # without the unknown source and the code
    store.add_message(conv.id, "assistant", answer, stats={**stats_with(found), "model": "QwQ"})
    window.open_conversation(conv.id)
    reply = window.chat_view.last_widget()
    assert links(reply) == EXPECTED
    click_link(qtbot, reply, "[2]")
    panel = window.docs.source_panel
    assert panel.isVisible() and panel.page == 6 and Path(panel.source.file).name == "c.pdf"
    assert FUSE in panel.passage.toPlainText()
    qtbot.waitUntil(lambda: not panel.page_image.pixmap().isNull(), timeout=WAIT_MS)
    window.resize(1280, 760)
    qtbot.wait(50)
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "inline-citations-window.png"))
    reply.grab().save(str(SHOTS / "inline-citations-reply.png"))
    # the chat beside the source panel, down to a little below the reply (the README's image)
    top_left = window.chat_page.mapTo(window, QPoint(0, 0))
    bottom = reply.mapTo(window, QPoint(0, reply.height())).y() + 24
    area = QRect(top_left, QPoint(window.width() - 1, bottom))
    window.grab(area).save(str(SHOTS / "inline-citations.png"))
