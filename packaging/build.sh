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
# chosen by CPU features (x86-64), `qwq-desktop --self-test` offscreen and on a real X server
# (Xvfb), and the smoke test (command line, no-display message). Last, the bundle is packed:
# Linux: dist/qwq-desktop-VERSION-linux-ARCH.tar.gz (bundle + install.sh for a desktop install);
# macOS: dist/QwQ-Desktop-VERSION-macos-ARCH.dmg.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-package}
PY=$VENV/bin/python
BACKEND=${BACKEND:-cpu}
PYINSTALLER=${PYINSTALLER:-pyinstaller==6.22.3}

if [ "$(uname)" = Linux ]; then
    # Qt's xcb plugin needs these X libraries; PyInstaller bundles them from this machine, so a
    # bundle built without them cannot open a window on desktops that lack them (Qt 6.5+ needs
    # libxcb-cursor0, which many do). xvfb lets the build start the bundle on a real X server.
    xlibs="libxcb-cursor.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1 libxcb-image.so.0
           libxcb-render-util.so.0 libxcb-shape.so.0 libxkbcommon-x11.so.0"
    debs="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxkbcommon-x11-0 xvfb xauth"
    missing=""
    for lib in $xlibs; do ldconfig -p | grep -q "$lib" || missing="$missing $lib"; done
    command -v xvfb-run >/dev/null || missing="$missing xvfb-run"
    if [ -n "$missing" ]; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        if command -v apt-get >/dev/null; then
            echo "installing what the bundle needs from the system:$missing"
            # shellcheck disable=SC2086
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $debs
        else
            echo "missing:$missing (install your distribution's packages for them)" >&2
            exit 1
        fi
    fi
fi

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
if [ "$(uname)" = Linux ]; then  # a real X server: the bundled xcb plugin and its libraries
    xvfb-run -a env QT_QPA_PLATFORM=xcb "$BUNDLE/qwq-desktop" --self-test
fi
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
