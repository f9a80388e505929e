"""Check the Linux tarball's desktop install: unpack, install.sh into a throw-away prefix, run
the installed command, check the menu entry and icon, uninstall.

Usage: python packaging/linux/test_install.py dist/qwq-desktop-VERSION-linux-ARCH.tar.gz
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def main(tarball: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="tar")
        (folder,) = Path(tmp).iterdir()
        prefix = Path(tmp) / "prefix"
        env = {**os.environ, "PREFIX": str(prefix), "HOME": str(Path(tmp) / "home")}
        subprocess.run([str(folder / "install.sh")], check=True, env=env, capture_output=True)
        command = prefix / "bin" / "qwq-desktop"
        entry = prefix / "share" / "applications" / "qwq-desktop.desktop"
        icon = prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / "qwq-desktop.svg"
        assert command.is_symlink() and command.resolve().is_file(), command
        assert icon.is_file(), icon
        exec_line = next(ln for ln in entry.read_text().splitlines() if ln.startswith("Exec="))
        assert str(prefix / "opt" / "qwq-desktop" / "qwq-desktop") in exec_line, exec_line
        version = subprocess.run([str(command), "--version"], capture_output=True, text=True)
        assert version.returncode == 0 and "qwq-desktop" in version.stdout, version
        subprocess.run(
            [str(folder / "install.sh"), "--uninstall"], check=True, env=env, capture_output=True
        )
        assert not command.exists() and not entry.exists() and not icon.exists()
        assert not (prefix / "opt" / "qwq-desktop").exists()
    print(f"desktop install checked: {tarball} ({version.stdout.strip()})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
