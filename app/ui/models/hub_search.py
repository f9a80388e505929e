"""Search the Hugging Face Hub for GGUF models by name and download one, verified.

The dialog touches the network only when the user presses Search (or chooses a repository
from the results): nothing is sent when it opens. Searches and file listings run on
background threads, one request of each kind at a time: a newer search replaces one still
waiting and makes the one in flight stale, so its late answer is dropped and typing fast never
piles up requests. An unreachable Hub or offline mode (``HF_HUB_OFFLINE``) ends in a message.

Choosing a repository lists its ``.gguf`` files with size, the quantisation read from the name
and the memory planner's verdict for this computer (``hub_files.file_verdict``). Download
queues the file on the app's DownloadQueue, pinned to the commit that was listed: resumable,
sha256-verified and checked before it is installed. ``modelInstalled(name)`` announces a new
installed model; ``loadRequested(name)`` asks to load one. The verdicts need to know this
computer: a repository chosen before ``HardwareProbe`` has answered is listed when it does.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.engine import HardwareInfo
from app.errors import UserFacingError
from app.models import Catalogue, DownloadTask, ModelRegistry, TaskState, load_catalogue
from app.models.hub_token import hub_token
from app.ui.common.hardware_probe import CHECKING_TEXT, HardwareProbe, as_probe
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBar, NoticeBridge, guarded
from app.ui.common.widgets import muted_label, set_label_text, table_view
from quantize.hub import RepoSummary, hub_endpoint, is_offline_mode, search_models

from .download_controls import DownloadControls
from .download_queue import ACTIVE, DownloadQueue, describe_task
from .hub_files import HubFile, RepoListing, list_gguf_files
from .hub_tables import HubFilesModel, RepoResultsModel

SEARCH_LIMIT = 30


class HubSearchDialog(QDialog):
    """Find GGUF repositories on the Hub by name, see which files fit, download one."""

    modelInstalled = Signal(str)  # name of a model a download from here installed
    loadRequested = Signal(str)  # installed model name to load
    searchFinished = Signal(str)  # the query whose results are now shown
    filesListed = Signal(str)  # the repository whose files are now shown

    def __init__(
        self,
        registry: ModelRegistry,
        bridge: DownloadQueue,
        *,
        catalogue: Catalogue | None = None,
        hardware: HardwareInfo | HardwareProbe | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``hardware``: a described machine, a (shared) HardwareProbe, or None to probe this
        computer in the background."""
        super().__init__(parent)
        self.setObjectName("HubSearchDialog")
        self.setWindowTitle("Search the Hugging Face Hub")
        self.registry = registry
        self.bridge = bridge
        self.catalogue = catalogue or load_catalogue()
        self.probe = as_probe(hardware, self)
        self.hardware: HardwareInfo | None = None  # known once the probe answers
        self._hardware_error: UserFacingError | None = None
        self._unlisted_repo: str | None = None  # chosen before the probe answered
        self.query = ""
        self._tasks: dict[tuple[str, str], DownloadTask] = {
            (t.repo_id, t.filename): t for t in bridge.tasks()
        }
        self._started: set[str] = set()  # ids of downloads started here
        # One lane each; a new search (listing) discards the previous job, so only the
        # newest one's answer is shown.
        self.searches = JobLane("HubSearch", self)
        self.listings = JobLane("HubListing", self)
        self.search_job: Job | None = None
        self.listing_job: Job | None = None
        self.notices = NoticeBridge(self)
        self._build_ui()
        bridge.taskChanged.connect(self._on_task)
        self.resize(980, 660)
        self.probe.request(self._on_hardware, self._on_hardware_failed)

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSpacing(8)
        row = QHBoxLayout()
        self.queryEdit = QLineEdit()
        self.queryEdit.setPlaceholderText("Model name, e.g. qwq or qwen2.5 7b")
        self.queryEdit.setClearButtonEnabled(True)
        self.queryEdit.setAccessibleName("Model name to search the Hub for")
        self.searchButton = _button("Search", "Search the Hub for GGUF repositories")
        self.searchButton.setObjectName("PrimaryButton")
        self.searchButton.setDefault(True)  # Enter in the field searches
        self.searchButton.clicked.connect(self.search)
        row.addWidget(self.queryEdit, 1)
        row.addWidget(self.searchButton)
        layout.addLayout(row)

        host = urlsplit(hub_endpoint()).netloc or hub_endpoint()
        self.noteLabel = muted_label(
            f"Searches {host} for GGUF models only when you press Search; nothing you type "
            "elsewhere in the app is sent."
        )
        if is_offline_mode():
            self.noteLabel.setText(
                "Offline mode is on (HF_HUB_OFFLINE): the Hub cannot be searched. Unset it to "
                "search and download."
            )
        layout.addWidget(self.noteLabel)
        self.statusLabel = muted_label("")
        self.statusLabel.setAccessibleName("Search status")
        layout.addWidget(self.statusLabel)

        self.results_model = RepoResultsModel(self)
        self.resultsTable = table_view(self.results_model, "Hub search results", stretch=0)
        self.resultsTable.selectionModel().currentRowChanged.connect(self._on_repo_chosen)
        self.resultsTable.activated.connect(self._focus_files)
        self.files_model = HubFilesModel(self._task_for, self)
        self.filesTable = table_view(self.files_model, "GGUF files of the chosen repository", 0)
        self.filesTable.selectionModel().currentRowChanged.connect(self._on_file_chosen)
        self.filesTable.activated.connect(self._focus_download)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.resultsTable)
        splitter.addWidget(self.filesTable)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([240, 260])
        layout.addWidget(splitter, 1)

        self.verdictLabel = QLabel()
        self.verdictLabel.setWordWrap(True)
        self.verdictLabel.setAccessibleName("Memory plan for the chosen file")
        self.verdictLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdictLabel)

        self.downloadButton = _button("Download", "Download the chosen file, verified by sha256")
        self.downloadButton.setObjectName("PrimaryButton")
        self.downloadButton.clicked.connect(self.download_selected)
        self.loadButton = _button("Load", "Load the installed model")
        self.loadButton.setObjectName("PrimaryButton")
        self.loadButton.clicked.connect(self._load)
        self.closeButton = _button("Close", "Close (downloads continue)")
        self.closeButton.clicked.connect(self.close)
        controls = DownloadControls(
            self.bridge,
            self.notices,
            self.downloadButton,
            extra=[self.loadButton],
            end=[self.closeButton],
            spacing=layout.spacing(),
        )
        self.download_controls = controls
        self.pauseButton, self.cancelButton = controls.pauseButton, controls.cancelButton
        self.progressBar, self.downloadLabel = controls.progressBar, controls.statusLabel
        layout.addWidget(controls)
        self.notice_bar = NoticeBar(self)
        self.notices.posted.connect(self.notice_bar.show_notice)
        layout.addWidget(self.notice_bar)
        self.setTabOrder(self.queryEdit, self.searchButton)
        self._show_file(None)
        self._set_status(
            "Type a model name and press Enter. The Hub is contacted only when you search."
        )

    # -- searching ---------------------------------------------------------------------------
    @Slot()
    @guarded("searching the Hub")
    def search(self) -> None:
        """Search for the typed name (supersedes any earlier search)."""
        query = " ".join(self.queryEdit.text().split())
        if not query:
            self._set_status("Type a model name to search for.")
            return
        self.query = query
        self.results_model.set_hits([])
        self._drop("listing_job")
        self._unlisted_repo = None
        self.files_model.set_listing(None)
        self._show_file(None)
        self._set_status(f"Searching the Hub for “{query}”…")
        self._drop("search_job")
        self.search_job = self.searches.submit(
            lambda job: (query, search_models(query, limit=SEARCH_LIMIT, token=hub_token())),
            "searching the Hub",
        )
        self.search_job.finished.connect(self._on_results)
        self.search_job.errored.connect(self._on_job_failed)

    def _drop(self, attr: str) -> None:
        """Discard the search (listing) in flight: a newer one replaces it."""
        job = getattr(self, attr)
        if job is not None:
            job.discard()
            setattr(self, attr, None)

    @Slot(object)
    @guarded("showing the search results")
    def _on_results(self, answer: tuple[str, list[RepoSummary]]) -> None:
        query, hits = answer
        self.show_results(query, hits)

    def show_results(self, query: str, hits: list[RepoSummary]) -> None:
        """Show the repositories found for ``query``."""
        self.results_model.set_hits(hits)
        if hits:
            self._set_status(
                f"{len(hits)} GGUF repositor{'y' if len(hits) == 1 else 'ies'} match “{query}”, "
                "most downloaded first. Choose one to see its files."
            )
        else:
            self._set_status(f"No GGUF repositories match “{query}”. Try a shorter name.")
        self.searchFinished.emit(query)

    @Slot(object)
    def _on_job_failed(self, error: UserFacingError) -> None:
        """A search or listing failed: said in the status line (a bug also on the notice
        bar, with its details)."""
        self._set_status(error.text(), error=True)
        if not error.expected:
            self.notices.report(error)

    @Slot(QModelIndex, QModelIndex)
    @guarded("listing the repository's files")
    def _on_repo_chosen(self, current: QModelIndex, previous: QModelIndex) -> None:
        hits = self.results_model.hits
        if not current.isValid() or current.row() >= len(hits):
            return
        self._list_files(hits[current.row()].repo_id)

    def _list_files(self, repo_id: str) -> None:
        self.files_model.set_listing(None)
        self._show_file(None)
        if self.hardware is None:  # listed when the probe answers
            self._unlisted_repo = repo_id
            self._drop("listing_job")
            error = self._hardware_error
            self._set_status(error.text() if error else CHECKING_TEXT, error=error is not None)
            return
        self._unlisted_repo = None
        self._set_status(f"Listing the GGUF files of {repo_id}…")
        catalogue, hardware, registry = self.catalogue, self.hardware, self.registry
        self._drop("listing_job")
        self.listing_job = self.listings.submit(
            lambda job: list_gguf_files(repo_id, catalogue, hardware, registry),
            "listing the repository's files",
        )
        self.listing_job.finished.connect(self.show_listing)
        self.listing_job.errored.connect(self._on_job_failed)

    def _on_hardware(self, hardware: HardwareInfo) -> None:
        self.hardware = hardware
        if self._unlisted_repo is not None:
            self._list_files(self._unlisted_repo)

    def _on_hardware_failed(self, error: UserFacingError) -> None:
        self._hardware_error = error
        if self._unlisted_repo is not None:
            self._list_files(self._unlisted_repo)

    @Slot(object)
    @guarded("showing the repository's files")
    def show_listing(self, listing: RepoListing) -> None:
        """Show a repository's GGUF files with their verdicts."""
        self.files_model.set_listing(listing)
        count = len(listing.files)
        if count:
            self._set_status(
                f"{listing.repo_id}: {count} GGUF file{'s' if count != 1 else ''}. The verdicts "
                "are the memory planner's for this computer."
            )
        else:
            self._set_status(f"{listing.repo_id} has no GGUF files.")
        self.filesListed.emit(listing.repo_id)

    @Slot()
    def _focus_files(self) -> None:
        self.filesTable.setFocus()

    @Slot()
    def _focus_download(self) -> None:
        if self.downloadButton.isEnabled():
            self.downloadButton.setFocus()

    # -- downloading -------------------------------------------------------------------------
    def selected_file(self) -> HubFile | None:
        row = self.filesTable.currentIndex().row()
        files = self.files_model.files
        return files[row] if 0 <= row < len(files) else None

    def select_file(self, path: str) -> None:
        row = self.files_model.row_of(path)
        if row >= 0:
            self.filesTable.selectRow(row)

    @Slot()
    @guarded("starting the download")
    def download_selected(self) -> DownloadTask | None:
        """Queue the chosen file (pinned to the listed commit); a paused one resumes."""
        f, listing = self.selected_file(), self.files_model.listing
        if f is None or listing is None or not f.downloadable:
            return None
        task = self.bridge.enqueue(
            listing.repo_id,
            f.path,
            revision=listing.commit_sha,
            expected_sha256=f.remote.sha256,
            settings=f.verdict.settings,
        )
        self._started.add(task.id)
        self._remember(task)
        self._show_file(f)
        return task

    def _task_for(self, repo_id: str, path: str) -> DownloadTask | None:
        return self._tasks.get((repo_id, path))

    def _remember(self, task: DownloadTask) -> None:
        self._tasks[(task.repo_id, task.filename)] = task
        listing = self.files_model.listing
        if listing is not None and listing.repo_id == task.repo_id:
            self.files_model.status_changed(task.filename)

    @Slot(object)
    @guarded("showing the download")
    def _on_task(self, task: DownloadTask) -> None:
        self._remember(task)
        f, listing = self.selected_file(), self.files_model.listing
        if (
            f is not None
            and listing is not None
            and (task.repo_id, task.filename)
            == (
                listing.repo_id,
                f.path,
            )
        ):
            self._show_file(f)
        if task.state == TaskState.DONE and task.model_name and task.id in self._started:
            self._started.discard(task.id)
            self._mark_installed(task)
            self.modelInstalled.emit(task.model_name)

    def _mark_installed(self, task: DownloadTask) -> None:
        listing = self.files_model.listing
        if listing is None or listing.repo_id != task.repo_id:
            return
        files = tuple(
            replace(f, installed_name=task.model_name) if f.path == task.filename else f
            for f in listing.files
        )
        self.files_model.listing = replace(listing, files=files)
        self.files_model.status_changed(task.filename)

    @Slot()
    @guarded("loading the model")
    def _load(self) -> None:
        name = self._installed_name(self.selected_file())
        if name:
            self.loadRequested.emit(name)

    def _selected_task(self) -> DownloadTask | None:
        f, listing = self.selected_file(), self.files_model.listing
        if f is None or listing is None:
            return None
        return self._task_for(listing.repo_id, f.path)

    def _installed_name(self, f: HubFile | None) -> str | None:
        if f is None:
            return None
        task = self._selected_task()
        if task is not None and task.state == TaskState.DONE:
            return task.model_name
        return f.installed_name

    @Slot(QModelIndex, QModelIndex)
    @guarded("showing the file")
    def _on_file_chosen(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._show_file(self.selected_file())

    def _show_file(self, f: HubFile | None) -> None:
        """Buttons, verdict and progress for the chosen file."""
        task = self._selected_task() if f is not None else None
        installed = self._installed_name(f)
        active = task is not None and task.state in ACTIVE
        self.verdictLabel.setText(f.verdict.detail if f is not None else "")
        self.verdictLabel.setVisible(f is not None)
        self.downloadButton.setEnabled(
            f is not None and f.downloadable and not active and not installed
        )
        fits = f is not None and f.verdict.fits is not False
        self.downloadButton.setText("Download" if fits or f is None else "Download anyway")
        self.loadButton.setVisible(bool(installed))
        self.loadButton.setEnabled(bool(installed))
        failed = task is not None and task.state == TaskState.FAILED
        if installed:
            text = f"Installed as {installed}."
        elif failed:
            text = task.error.text() if task.error else "The download failed."
        else:
            text = describe_task(task) if active else ""
        self.download_controls.show_task(task, text, error=failed and not installed)

    # -- messages and shutdown ---------------------------------------------------------------
    def _set_status(self, text: str, *, error: bool = False) -> None:
        set_label_text(self.statusLabel, text, error=error)

    def shutdown(self) -> None:
        """Join the search threads (a request in flight ends within the Hub timeout).
        Downloads belong to the bridge and go on."""
        self.searches.shutdown()
        self.listings.shutdown()
        if self.probe.parent() is self:
            self.probe.shutdown()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        # Enter on a list row chooses it (``activated``); it must not also press Search.
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and isinstance(self.focusWidget(), QAbstractItemView):
            event.accept()
            return
        super().keyPressEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.queryEdit.setFocus()
        self.queryEdit.selectAll()


def _button(text: str, tooltip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tooltip)
    return button
