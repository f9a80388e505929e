"""Architecture rules: only app/ui touches Qt widgets; quantize/ never imports app/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def test_only_app_ui_imports_qt():
    offenders = []
    for path in python_files("app"):
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("app", "ui"):
            continue
        if any(m.split(".")[0] in ("PySide6", "shiboken6") for m in imported_modules(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_quantize_never_imports_app():
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("quantize")
        if any(m == "app" or m.startswith("app.") for m in imported_modules(p))
    ]
    assert offenders == []


def test_engine_imports_without_qt_loaded():
    import subprocess
    import sys

    code = "import sys, app.engine, app.paths; assert 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
