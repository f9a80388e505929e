"""The app's folders are user-only (0700) and its files 0600 on POSIX, new or inherited."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.paths import app_paths, private_files
from app.store import ConversationStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose_modes(root: Path) -> list[str]:
    """Everything under ``root`` that a group or other user could read, write or enter."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            if not path.is_symlink() and mode(path) & 0o077:
                found.append(f"{path.relative_to(root)} {oct(mode(path))}")
    return found


@pytest.fixture
def umask_022():
    """A common default umask for the test, whatever the test process had."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_new_folders_are_user_only(isolated_home, umask_022):
    paths = app_paths().ensure()
    for folder in paths.folders:
        assert mode(folder) == 0o700, folder


def test_looser_existing_folders_are_tightened_at_start(isolated_home, umask_022):
    paths = app_paths()
    for folder in paths.folders:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    paths.data_dir.chmod(0o777)
    paths.ensure()
    assert [oct(mode(f)) for f in paths.folders] == [oct(0o700)] * len(paths.folders)


def test_the_database_is_user_only_even_with_a_permissive_umask(isolated_home, umask_022):
    paths = app_paths().ensure()
    store = ConversationStore.open(paths.conversations_db)
    try:
        conv = store.create_conversation("secret")
        store.add_message(conv.id, "user", "my private question")
        sidecars = [Path(f"{paths.conversations_db}{s}") for s in ("", "-wal", "-shm")]
        assert [oct(mode(p)) for p in sidecars if p.exists()] == [oct(0o600)] * 3
    finally:
        store.close()


def test_an_older_world_readable_database_is_tightened_on_open(isolated_home, umask_022):
    paths = app_paths().ensure()
    ConversationStore.open(paths.conversations_db).close()
    paths.conversations_db.chmod(0o644)
    ConversationStore.open(paths.conversations_db).close()
    assert mode(paths.conversations_db) == 0o600


def test_private_files_makes_new_files_user_only(tmp_path, umask_022):
    previous = private_files()
    try:
        (tmp_path / "export.json").write_text("{}")
        (tmp_path / "folder").mkdir()
    finally:
        os.umask(previous)
    assert previous == 0o022
    assert mode(tmp_path / "export.json") == 0o600 and mode(tmp_path / "folder") == 0o700


def test_the_command_line_leaves_nothing_readable_by_others(isolated_home, tiny_answer_gguf):
    """A child with umask 022 imports a model and indexes documents: every folder and file the
    app wrote is user-only, and an existing looser folder was tightened."""
    notes = isolated_home.parent / "notes"
    notes.mkdir()
    (notes / "pump.md").write_text("# Pump\n\nThe coolant pump is replaced every 4000 hours.\n")
    (isolated_home / "data").mkdir(parents=True)
    (isolated_home / "data").chmod(0o755)  # an older install's folder: tightened at start
    env = {**os.environ, "QWQ_DESKTOP_HOME": str(isolated_home)}
    commands = (
        ["models", "import", str(tiny_answer_gguf), "--copy"],
        ["docs", "add", "Manuals", str(notes)],
        ["docs", "search", "Manuals", "coolant pump", "--json"],
    )
    for args in commands:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os, sys; os.umask(0o022); from app.cli import main; "
                "sys.exit(main(sys.argv[1:]))",
                *args,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (args, done.stderr[-2000:])
    assert loose_modes(isolated_home) == []
    assert mode(isolated_home / "data") == 0o700


def test_the_desktop_app_runs_with_a_private_umask(qapp, isolated_home, umask_022):
    """What the GUI writes is user-only (umask 077 while it runs); the caller's umask is put
    back after (tests run the GUI in their own process)."""
    from app.ui.launch import run_gui
    from app.ui.window.main_window import MainWindow

    seen = []

    def on_shown(app) -> None:
        current = os.umask(0)
        os.umask(current)
        seen.append(current)
        for widget in app.topLevelWidgets():
            if isinstance(widget, MainWindow):
                widget.close()
        app.quit()

    assert run_gui([], on_shown=on_shown) == 0
    assert seen == [0o077]
    current = os.umask(0o022)
    assert current == 0o022
    assert loose_modes(isolated_home) == []
