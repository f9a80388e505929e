"""The source panel a citation opens: where the passage comes from (file, page, heading), the
passage itself highlighted, the PDF page rendered (on a worker lane), and "Open file", which
hands the file to the system viewer (QDesktopServices)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.docs.answer import Source
from app.errors import UserFacingError
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBridge, guarded

HIGHLIGHT = "#fff1a8"
PAGE_WIDTH = 560


def passage_html(source: Source) -> str:
    """The passage as HTML, highlighted as a whole (the part of the page the answer used)."""
    text = html.escape(" ".join(source.text.split()))
    return (
        f'<p style="line-height:140%"><span style="background:{HIGHLIGHT}; color:#1b1b1b">'
        f"{text}</span></p>"
    )


class SourcePanel(QFrame):
    """A side panel showing one numbered source (``show_source``); hidden until then."""

    closed = Signal()

    def __init__(self, notices: NoticeBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notices = notices
        self.setObjectName("SourcePanel")
        self.setAccessibleName("Source")
        self.setMinimumWidth(300)
        self.source: Source | None = None
        self.lane = JobLane("SourceRenderThread", self)
        self._render_job: Job | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        top = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setObjectName("ChatTitle")
        self.title.setWordWrap(True)
        top.addWidget(self.title, 1)
        self.close_button = QPushButton("Close", self)
        self.close_button.setAccessibleName("Close the source panel")
        self.close_button.clicked.connect(self.close_panel)
        top.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.location = QLabel(self)
        self.location.setObjectName("MutedLabel")
        self.location.setWordWrap(True)
        layout.addWidget(self.location)
        self.passage = QTextBrowser(self)
        self.passage.setAccessibleName("Passage")
        self.passage.setMaximumHeight(220)
        layout.addWidget(self.passage)
        self.page_image = QLabel(self)
        self.page_image.setAccessibleName("Rendered page")
        self.page_image.setStyleSheet("QLabel { background: #8a8a8a; padding: 4px; }")
        self.page_image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.page_image)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.page_scroll = scroll
        layout.addWidget(scroll, 1)
        self.open_button = QPushButton("Open file", self)
        self.open_button.setObjectName("PrimaryButton")
        self.open_button.setAccessibleName("Open the file in its viewer")
        self.open_button.clicked.connect(self.open_file)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.setVisible(False)

    @property
    def page(self) -> int | None:
        return self.source.page if self.source else None

    @Slot(object)
    @guarded("showing the source")
    def show_source(self, source: Source) -> None:
        """Show ``source``: its place, the highlighted passage and, for a PDF, its page."""
        self.source = source
        self.title.setText(f"[{source.number}] {Path(source.file).name}")
        where = [f"page {source.page}" if source.page else "", source.heading or ""]
        where.append(f"collection {source.collection}" if source.collection else "")
        where.append(f"in {Path(source.file).parent.name or source.file}")
        self.location.setText(" · ".join(w for w in where if w))
        self.location.setToolTip(source.file)
        self.passage.setHtml(passage_html(source))
        self.page_image.clear()
        self.page_scroll.setVisible(False)
        if self._render_job is not None:
            self._render_job.discard()
            self._render_job = None
        if source.page and source.file.lower().endswith(".pdf") and Path(source.file).exists():
            self.page_image.setText("Rendering the page…")
            self.page_scroll.setVisible(True)
            job = self.lane.submit(
                lambda job, s=source: _render(s.file, s.page), "rendering the page"
            )
            job.finished.connect(self._on_rendered)
            job.errored.connect(self._on_render_failed)
            self._render_job = job
        self.open_button.setEnabled(Path(source.file).exists())
        self.setVisible(True)

    @Slot(object)
    def _on_rendered(self, image: QImage) -> None:
        self._render_job = None
        pixmap = QPixmap.fromImage(image)
        width = max(200, min(PAGE_WIDTH, self.page_scroll.viewport().width() - 8))
        self.page_image.setPixmap(
            pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        )

    @Slot(object)
    def _on_render_failed(self, error: UserFacingError) -> None:
        self._render_job = None
        self.page_image.setText(f"The page could not be shown: {error.message}")

    @Slot()
    @guarded("opening the file")
    def open_file(self) -> None:
        if self.source is not None:
            url = QUrl.fromLocalFile(self.source.file)
            if not QDesktopServices.openUrl(url):
                self.notices.show(f"No application opens {Path(self.source.file).name}.")

    @Slot()
    def close_panel(self) -> None:
        self.setVisible(False)
        self.closed.emit()

    def shutdown(self) -> None:
        """Stop the render thread. Idempotent."""
        self.lane.shutdown()


def _render(path: str, page: int) -> QImage:
    """A PDF page as a QImage (lane thread; QImage is safe off the GUI thread)."""
    from app.docs.pdf import render_pdf_page

    rendered = render_pdf_page(path, page)
    image = QImage(
        rendered.data,
        rendered.width,
        rendered.height,
        rendered.stride,
        QImage.Format.Format_RGBA8888,
    )
    return image.copy()  # own the pixels: ``rendered`` goes away with this frame
