#!/usr/bin/env bash
# Build the desktop bundle in one command, prove it works, and pack it (Linux and macOS).
#
#   packaging/build.sh                 # CPU build: portable llama.cpp, CPU variant chosen at run time
#   BACKEND=metal packaging/build.sh   # macOS on Apple silicon (see packaging/README.md)
#   BACKEND=cuda|vulkan packaging/build.sh
#
# Steps: a separate venv (.venv-package) gets llama-cpp-python from the project's recipe
# (packaging/build_llama.py --profile portable), then PyInstaller builds dist/QwQDesktop/ from
# packaging/qwq_desktop.spec. Then the checks: no AVX-512/AMX instruction outside the CPU variants
# chosen by CPU features (x86-64), `qwq-desktop --self-test` offscreen, and the smoke test
# (command line, no-display message). Last, the bundle is packed:
# Linux: dist/qwq-desktop-VERSION-linux-ARCH.tar.gz (bundle + install.sh for a desktop install);
# macOS: dist/QwQ-Desktop-VERSION-macos-ARCH.dmg.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-package}
PY=$VENV/bin/python
BACKEND=${BACKEND:-cpu}
PYINSTALLER=${PYINSTALLER:-pyinstaller==6.22.3}

test -x "$PY" || python3 -m venv "$VENV"
"$PY" -m pip install --quiet --upgrade pip
"$PY" packaging/build_llama.py --profile portable --backend "$BACKEND" --python "$PY"
"$PY" -m pip install --quiet -e . "$PYINSTALLER"
if [ "$(uname)" = Darwin ]; then "$PY" -m pip install --quiet pillow; fi  # .png -> .icns

rm -rf dist/QwQDesktop "dist/QwQ Desktop.app"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist \
    --workpath build/pyinstaller packaging/qwq_desktop.spec
BUNDLE=dist/QwQDesktop

case "$(uname -m)" in
    x86_64|amd64) "$PY" packaging/check_isa.py "$BUNDLE" ;;
esac
QT_QPA_PLATFORM=offscreen "$BUNDLE/qwq-desktop" --self-test
"$PY" packaging/smoke_test.py "$BUNDLE"

VERSION=$("$PY" -c 'import app; print(app.__version__)')
ARCH=$(uname -m)
if [ "$(uname)" = Darwin ]; then
    DMG="dist/QwQ-Desktop-$VERSION-macos-$ARCH.dmg"
    rm -f "$DMG"
    hdiutil create -volname "QwQ Desktop" -srcfolder "dist/QwQ Desktop.app" -ov -format UDZO "$DMG"
    echo "packed $DMG"
else
    NAME="qwq-desktop-$VERSION-linux-$ARCH"
    STAGE="build/pack/$NAME"
    rm -rf "build/pack" && mkdir -p "$STAGE"
    cp -a "$BUNDLE" "$STAGE/QwQDesktop"
    cp packaging/linux/install.sh "$STAGE/install.sh"
    cp resources/qwq-desktop.desktop resources/icons/qwq-desktop.svg "$STAGE/"
    tar -C build/pack -czf "dist/$NAME.tar.gz" "$NAME"
    "$PY" packaging/linux/test_install.py "dist/$NAME.tar.gz"
    echo "unpacked: $(du -sh --apparent-size "$BUNDLE" | cut -f1)  packed: $(du -sh --apparent-size "dist/$NAME.tar.gz" | cut -f1)  dist/$NAME.tar.gz"
fi
