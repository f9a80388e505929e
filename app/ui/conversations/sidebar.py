"""The conversation sidebar: new chat, full-text search, and the list (rename, pin, delete,
undo). The list's model and rows are in ``conversation_list``, the search results' in
``search_results``."""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.store import Conversation, SearchHit
from app.ui.common.theme import Colors

from .conversation_list import (
    ConversationDelegate,
    ConversationListModel,
    ConvIdRole,
    PinnedRole,
)
from .search_results import SearchHitDelegate, SearchHitModel

SEARCH_DELAY_MS = 180


class UndoBar(QFrame):
    """ "Deleted “title”. Undo" shown after a delete."""

    undoRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.setProperty("kind", "info")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.button = QPushButton("Undo", self)
        self.button.setAccessibleName("Undo delete")
        self.button.clicked.connect(self._on_undo)
        layout.addWidget(self.button)
        self._conv_id: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    @property
    def conv_id(self) -> int | None:
        return self._conv_id

    def offer(self, conv_id: int, title: str, seconds: int = 12) -> None:
        self._conv_id = conv_id
        short = title if len(title) <= 32 else title[:31] + "…"
        self.label.setText(f"Deleted “{short}”.")
        self.show()
        self._timer.start(seconds * 1000)

    @Slot()
    def dismiss(self) -> None:
        self._conv_id = None
        self.hide()

    @Slot()
    def _on_undo(self) -> None:
        conv_id = self._conv_id
        self.dismiss()
        if conv_id is not None:
            self.undoRequested.emit(conv_id)


class Sidebar(QFrame):
    """New chat button, search field, conversation list (or search results), undo bar."""

    newRequested = Signal()
    conversationSelected = Signal(int)
    renameRequested = Signal(int, str)
    pinRequested = Signal(int, bool)
    deleteRequested = Signal(int)
    undoDeleteRequested = Signal(int)
    searchRequested = Signal(str)
    hitActivated = Signal(int, int)  # conversation id, message id

    def __init__(self, colors: Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setMinimumWidth(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(10)

        self.new_button = QPushButton("+  New chat", self)
        self.new_button.setObjectName("PrimaryButton")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.newRequested)
        layout.addWidget(self.new_button)

        self.search = QLineEdit(self)
        self.search.setObjectName("SearchField")
        self.search.setPlaceholderText("Search all chats  (Ctrl+F)")
        self.search.setAccessibleName("Search all chats")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text)
        self.search.installEventFilter(self)
        layout.addWidget(self.search)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._emit_search)

        self.stack = QStackedWidget(self)
        self.model = ConversationListModel(self)
        self.model.renamed.connect(self.renameRequested)
        self.list = QListView(self.stack)
        self.list.setModel(self.model)
        self.list.setAccessibleName("Conversations")
        self.list.setItemDelegate(ConversationDelegate(colors, self.list))
        self.list.setMouseTracking(True)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)
        self.list.installEventFilter(self)
        self.stack.addWidget(self.list)

        self.hits_model = SearchHitModel(self)
        self.hits = QListView(self.stack)
        self.hits.setModel(self.hits_model)
        self.hits.setAccessibleName("Search results")
        self.hits.setItemDelegate(SearchHitDelegate(colors, self.hits))
        self.hits.setMouseTracking(True)
        self.hits.activated.connect(self._on_hit_activated)
        self.hits.clicked.connect(self._on_hit_activated)
        self.stack.addWidget(self.hits)
        self.no_hits = QLabel("No messages match.", self.stack)
        self.no_hits.setObjectName("MutedLabel")
        self.no_hits.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.stack.addWidget(self.no_hits)
        layout.addWidget(self.stack, 1)

        self.undo_bar = UndoBar(self)
        self.undo_bar.undoRequested.connect(self.undoDeleteRequested)
        layout.addWidget(self.undo_bar)
        self._selecting = False

    def set_colors(self, colors: Colors) -> None:
        self.list.itemDelegate().colors = colors
        self.hits.itemDelegate().colors = colors
        self.list.viewport().update()

    # -- conversations --------------------------------------------------------------------

    def set_conversations(self, conversations: list[Conversation], current: int | None) -> None:
        self._selecting = True
        try:
            self.model.set_conversations(conversations)
            self.select(current)
        finally:
            self._selecting = False

    def select(self, conv_id: int | None) -> None:
        row = self.model.row_of(conv_id) if conv_id is not None else -1
        was = self._selecting
        self._selecting = True
        try:
            if row >= 0:
                self.list.setCurrentIndex(self.model.index(row))
            else:
                self.list.clearSelection()
        finally:
            self._selecting = was

    def current_id(self) -> int | None:
        index = self.list.currentIndex()
        return index.data(ConvIdRole) if index.isValid() else None

    def start_rename(self, conv_id: int) -> None:
        row = self.model.row_of(conv_id)
        if row >= 0:
            self.stack.setCurrentWidget(self.list)
            self.list.setFocus()
            self.list.edit(self.model.index(row))

    # -- search ---------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def show_hits(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.search.text().strip():
            return  # an answer to an older query
        self.hits_model.set_hits(hits)
        self.stack.setCurrentWidget(self.hits if hits else self.no_hits)

    @Slot(str)
    def _on_search_text(self, text: str) -> None:
        if not text.strip():
            self._search_timer.stop()
            self.stack.setCurrentWidget(self.list)
            return
        self._search_timer.start()

    @Slot()
    def _emit_search(self) -> None:
        query = self.search.text().strip()
        if query:
            self.searchRequested.emit(query)

    @Slot(QModelIndex)
    def _on_hit_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            hit = self.hits_model.hit(index.row())
            self.hitActivated.emit(hit.conv_id, hit.message_id)

    # -- list interaction -----------------------------------------------------------------

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._selecting and current.isValid():
            self.conversationSelected.emit(current.data(ConvIdRole))

    def eventFilter(self, watched, event) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return False
        key = event.key()
        if watched is self.list and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            conv_id = self.current_id()
            if conv_id is not None and self.list.state() != QAbstractItemView.State.EditingState:
                self.deleteRequested.emit(conv_id)
                return True
        if watched is self.search and key == Qt.Key.Key_Down:
            target = self.hits if self.stack.currentWidget() is self.hits else self.list
            target.setFocus()
            if not target.currentIndex().isValid() and target.model().rowCount() > 0:
                target.setCurrentIndex(target.model().index(0, 0))
            return True
        if watched is self.search and key == Qt.Key.Key_Escape:
            self.search.clear()
            return True
        return False

    @Slot(object)
    def _on_context_menu(self, pos) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            return
        self.context_menu(QPersistentModelIndex(index)).exec(self.list.viewport().mapToGlobal(pos))

    def context_menu(self, index: QPersistentModelIndex) -> QMenu:
        """The Rename/Pin/Delete menu for one conversation."""
        conv_id = index.data(ConvIdRole)
        pinned = bool(index.data(PinnedRole))
        menu = QMenu(self)
        rename = QAction("Rename", menu)
        rename.setShortcut(QKeySequence("F2"))
        rename.triggered.connect(lambda: self.start_rename(conv_id))
        pin = QAction("Unpin" if pinned else "Pin to top", menu)
        pin.triggered.connect(lambda: self.pinRequested.emit(conv_id, not pinned))
        delete = QAction("Delete", menu)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(lambda: self.deleteRequested.emit(conv_id))
        for action in (rename, pin, delete):
            menu.addAction(action)
        return menu
