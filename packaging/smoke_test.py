"""Smoke-test a built bundle: it starts, reads a GGUF, plans memory, answers with llama.cpp.

Usage: python packaging/smoke_test.py dist/QwQDesktop
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.tiny_gguf import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402


def main(bundle: str) -> int:
    exe = Path(bundle) / ("qwq-desktop.exe" if sys.platform == "win32" else "qwq-desktop")
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gguf(Path(tmp) / "tiny.gguf", TinyModelSpec(script=ANSWER_SCRIPT))
        env = {**os.environ, "QWQ_DESKTOP_HOME": str(Path(tmp) / "home")}

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [str(exe), *args], capture_output=True, text=True, timeout=120, env=env
            )

        version = run("--version")
        assert version.returncode == 0, version.stderr
        info = run("info", "--model", str(model), "--json")
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["plan"]["n_ctx"] > 0
        chat = run("chat", "--model", str(model), "--prompt", "Capital?", "--json", "--seed", "1")
        assert chat.returncode == 0, chat.stderr
        assert json.loads(chat.stdout)["answer"] == "Paris", chat.stdout
    print(f"smoke test passed: {exe} ({version.stdout.strip()})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/QwQDesktop"))
