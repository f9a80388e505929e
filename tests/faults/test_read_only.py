"""The data folder read-only (a full or read-only mounted disk, a copied profile): the app and
the command line say so in one message, never a traceback, and nothing stored is lost."""

from __future__ import annotations

import json

import pytest

from app.paths import app_paths
from app.store import ConversationStore
from tests.faults.conftest import remount, run_app


@pytest.fixture
def read_only_home(small_disk):
    """An app home with one conversation, on a file system then mounted read-only."""
    home = small_disk(64 << 20, "home")
    paths = app_paths(home).ensure()
    with ConversationStore.open(paths.conversations_db) as store:
        conv = store.create_conversation("kept")
        store.add_message(conv.id, "user", "this must survive")
    remount(home, "ro")
    yield home
    remount(home, "rw")
    with ConversationStore.open(paths.conversations_db) as store:
        [conv] = store.list_conversations()
        assert conv.title == "kept"


def no_traceback(done) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]


def test_the_desktop_app_on_a_read_only_folder_says_why_and_exits(read_only_home):
    done = run_app([], read_only_home, module="tests.faults.gui_child")
    no_traceback(done)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["code"] == 1 and seen["notice"] is None  # no window
    [box] = seen["boxes"]
    assert f"cannot write to {read_only_home / 'data'} (Read-only file system)" in box
    assert "qwq-desktop: QwQ Desktop cannot write to" in done.stderr
    assert "  try: QwQ Desktop keeps its conversations" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["models", "list"],
        ["docs", "list"],
        ["docs", "add", "Notes", "{notes}"],
        ["chat", "--model", "{model}", "--prompt", "hi", "--max-tokens", "2", "--json"],
        ["info", "--model", "{model}"],
        ["models", "import", "{model}"],  # was a traceback (the registry's write)
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_each_command_works_or_says_why(read_only_home, tiny_answer_gguf, tmp_path, args):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\nSome text about pumps.\n")
    args = [a.format(notes=notes, model=tiny_answer_gguf) for a in args]
    done = run_app(args, read_only_home)
    no_traceback(done)
    if done.returncode != 0:
        assert done.stderr.startswith("error: ") or "\nerror: " in done.stderr, done.stderr
        assert "writ" in done.stderr.lower(), done.stderr  # "cannot write", "can be written"
