"""The store and settings are plain Python: importing them must not pull in Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_store_and_settings_import_without_qt():
    code = (
        "import sys, app.store, app.settings; "
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'shiboken'))); "
        "print(qt); sys.exit(1 if qt else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
