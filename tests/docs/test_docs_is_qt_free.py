"""app.docs is plain Python: importing all of it loads no Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_app_docs_loads_no_qt():
    code = (
        "import sys, app.docs, app.docs.answer, app.docs.pdf, app.docs.office, "
        "app.docs.html_reader, app.docs.catalogue\n"
        "assert not [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
