# Build the one-folder bundle dist\QwQDesktop\ on Windows, then smoke-test it.
# Set $env:BACKEND = "cuda" or "vulkan" for a GPU build (the CPU build is portable: GGML_NATIVE=OFF).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$venv = if ($env:VENV) { $env:VENV } else { ".venv-package" }
$py = Join-Path $venv "Scripts\python.exe"
if (-not (Test-Path $py)) { python -m venv $venv }
& $py -m pip install --quiet --upgrade pip
& $py -m pip install --quiet -e . pyinstaller
$cmake = "-DGGML_NATIVE=OFF"
if ($env:BACKEND -eq "cuda") { $cmake += " -DGGML_CUDA=ON" }
if ($env:BACKEND -eq "vulkan") { $cmake += " -DGGML_VULKAN=ON" }
$version = & $py -c "import llama_cpp; print(llama_cpp.__version__)"
$env:CMAKE_ARGS = $cmake
& $py -m pip install --quiet --force-reinstall --no-deps --no-cache-dir "llama-cpp-python==$version"
& $py -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\qwq_desktop.spec
& $py packaging\smoke_test.py dist\QwQDesktop
