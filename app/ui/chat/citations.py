"""The numbered sources under a grounded reply: one button per source ("[1] manual.pdf, p. 3"),
the cited ones first and marked, or the sentence saying the documents had nothing relevant.

A click asks for the source panel through the message widget's ``actionRequested``
("source:N", message id), which the chat controller already hears; so the message widget
needs only ``CitationsBar(widget, layout)`` and ``show_for(message)``. ``sourcesShown``
tells it which sources the answer's inline markers link to (``citation_tips``), whoever
showed them (the widget, or the chat controller when a grounded turn starts).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.docs.answer import Source

from .markdown_render import CITATION_MARKER

MAX_SHOWN = 8


def cited_numbers(answer: str) -> list[int]:
    """The source numbers an answer cites ("[2] … [1, 3]" → [2, 1, 3]), in order of first use."""
    markers = CITATION_MARKER.findall(answer or "")
    return list(dict.fromkeys(int(n) for marker in markers for n in marker.split(",")))


def stored_sources(message) -> list[Source]:
    """The sources stored with ``message`` (none for None or a reply without documents)."""
    stats = (getattr(message, "stats", None) or {}) if message is not None else {}
    return [Source.from_dict(item) for item in stats.get("sources", [])]


def citation_tips(sources: list[Source]) -> dict[int, str]:
    """What an inline marker's link says of each source: number -> "Source 1: b.pdf, page 3"."""
    return {s.number: f"Source {s.number}: {s.label()}" for s in sources}


def ordered_sources(sources: list[Source], answer: str) -> list[tuple[Source, bool]]:
    """(source, cited) pairs: the cited ones first, in the answer's order, then the rest."""
    by_number = {s.number: s for s in sources}
    cited = [by_number[n] for n in cited_numbers(answer) if n in by_number]
    rest = [s for s in sources if s not in cited]
    return [(s, True) for s in cited] + [(s, False) for s in rest]


def short_label(source: Source) -> str:
    name = source.file.replace("\\", "/").rsplit("/", 1)[-1]
    return f"[{source.number}] {name}" + (f", p. {source.page}" if source.page else "")


class CitationsBar(QWidget):
    """Source buttons of one assistant message (hidden when it has none)."""

    sourcesShown = Signal(object)  # the list of Sources now shown (empty: none)

    def __init__(self, message_widget, layout: QVBoxLayout) -> None:
        super().__init__(message_widget)
        self.setObjectName("CitationsBar")
        self.setAccessibleName("Sources of this answer")
        self._owner = message_widget
        self.buttons: list[QToolButton] = []
        self.sources: list[Source] = []
        self.docs_notice: str | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.notice = QLabel(self)
        self.notice.setObjectName("MutedLabel")
        self.notice.setWordWrap(True)
        box.addWidget(self.notice)
        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(4)
        self._row.addStretch(1)
        box.addLayout(self._row)
        layout.addWidget(self)
        self.setVisible(False)

    def show_for(self, message) -> None:
        """Show the sources stored with ``message`` (None or none stored: hide)."""
        stats = (getattr(message, "stats", None) or {}) if message is not None else {}
        notice = stats.get("docs_notice")
        self.show_sources(stored_sources(message), notice, getattr(message, "content", ""))

    def show_sources(self, sources: list[Source], notice: str | None, answer: str = "") -> None:
        for button in self.buttons:
            self._row.removeWidget(button)
            button.deleteLater()
        self.buttons, self.sources, self.docs_notice = [], list(sources), notice
        pairs = ordered_sources(self.sources, answer)
        any_cited = any(cited for _s, cited in pairs)
        if notice and not sources:
            self.notice.setText(notice + " The answer does not come from your documents.")
        elif sources:
            self.notice.setText("Sources cited:" if any_cited else "Sources given to the model:")
        self.notice.setVisible(bool(notice or sources))
        for source, cited in pairs[:MAX_SHOWN]:
            if any_cited and not cited:
                continue
            button = QToolButton(self)
            button.setObjectName("CitationButton")
            button.setText(short_label(source))
            button.setToolTip(source.label() + "\n\n" + " ".join(source.text.split())[:300])
            button.setAccessibleName(f"Source {source.number}: {source.label()}")
            button.clicked.connect(partial(self.open_source, source.number))
            self._row.insertWidget(len(self.buttons), button)
            self.buttons.append(button)
        self.setVisible(bool(notice or sources))
        self.sourcesShown.emit(list(self.sources))

    def keep_in(self, stats: dict | None) -> dict | None:
        """``stats`` with the sources and notice shown, where it lacks them (a reply stopped
        or failed in the GUI keeps what it showed while streaming)."""
        if not self.sources and not self.docs_notice:
            return stats
        kept = dict(stats or {})
        if self.sources and "sources" not in kept:
            kept["sources"] = [s.to_dict() for s in self.sources]
        if self.docs_notice and "docs_notice" not in kept:
            kept["docs_notice"] = self.docs_notice
        return kept

    @Slot(int)
    def open_source(self, number: int) -> None:
        """Ask for source ``number``'s panel (the chat controller answers)."""
        self._owner.actionRequested.emit(f"source:{number}", self._owner.message.id)
