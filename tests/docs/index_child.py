"""Child process of the SIGKILL test: index a folder slowly, printing each committed file."""

from __future__ import annotations

import sys
import time

from app.docs import DocsLibrary, FileIndexed, FileStarted


def main(index_dir: str, folder: str) -> None:
    library = DocsLibrary(index_dir)
    collection = library.get_or_create("Killed")
    collection.add([folder])

    def on_event(event):
        if isinstance(event, FileStarted):
            time.sleep(0.15)  # slow enough for the parent to kill us mid-run
        if isinstance(event, FileIndexed):
            print(event.path, flush=True)

    collection.index(on_event=on_event)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
