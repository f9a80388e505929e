#!/usr/bin/env bash
# Build the one-folder bundle dist/QwQDesktop/ with PyInstaller, then smoke-test it.
# llama-cpp-python is rebuilt for portable CPUs (GGML_NATIVE=OFF): a native build would crash
# with "illegal instruction" on CPUs older than the build machine's. Set BACKEND=metal|cuda|vulkan
# for a GPU build. Usage: packaging/build.sh [--skip-llama-rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-package}
PY=$VENV/bin/python
BACKEND=${BACKEND:-cpu}

test -x "$PY" || python3 -m venv "$VENV"
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet -e . pyinstaller
if [ "${1:-}" != "--skip-llama-rebuild" ]; then
    args="-DGGML_NATIVE=OFF"
    case "$BACKEND" in
        metal)  args="$args -DGGML_METAL=ON" ;;
        cuda)   args="$args -DGGML_CUDA=ON" ;;
        vulkan) args="$args -DGGML_VULKAN=ON" ;;
    esac
    CMAKE_ARGS="$args" "$PY" -m pip install --quiet --force-reinstall --no-deps --no-cache-dir \
        "llama-cpp-python==$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)')"
fi
"$PY" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/qwq_desktop.spec
"$PY" packaging/smoke_test.py dist/QwQDesktop
