"""Child process of the SIGKILL test: index a folder slowly, printing each committed file."""

from __future__ import annotations

import sys
import time

import app.docs.indexer
from app.docs import DocsLibrary, FileIndexed, FileStarted

app.docs.indexer.COMMIT_SECONDS = 0.5  # commit every couple of files, as a slow run would


def main(index_dir: str, folder: str) -> None:
    library = DocsLibrary(index_dir)
    collection = library.get_or_create("Killed")
    collection.add([folder])

    def on_event(event):
        if isinstance(event, FileStarted):
            time.sleep(0.3)  # slow enough for the parent to kill us mid-run
        if isinstance(event, FileIndexed):
            print(event.path, flush=True)

    collection.index(on_event=on_event)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
