# Build the Windows bundle (dist\QwQDesktop\) in one command, prove it works, and make the installer.
#   powershell -ExecutionPolicy Bypass -File packaging\build.ps1
#   $env:BACKEND = "cuda"   (CUDA toolkit installed) or "vulkan" (Vulkan SDK installed) for GPU builds
# Needs: Python 3.10+, Visual Studio 2022 Build Tools (C++), CMake; Inno Setup 6 for the installer.
# Same steps as packaging/build.sh: llama-cpp-python from the recipe (portable profile: CPU
# variants chosen at run time), PyInstaller with the one spec, --self-test, the smoke test.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$venv = if ($env:VENV) { $env:VENV } else { ".venv-package" }
$backend = if ($env:BACKEND) { $env:BACKEND } else { "cpu" }
$py = Join-Path $venv "Scripts\python.exe"
if (-not (Test-Path $py)) { python -m venv $venv }
& $py -m pip install --quiet --upgrade pip
& $py packaging\build_llama.py --profile portable --backend $backend --python $py
if ($LASTEXITCODE -ne 0) { throw "llama-cpp-python build failed" }
& $py -m pip install --quiet -e . "pyinstaller==6.22.3" pillow
& $py -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller packaging\qwq_desktop.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
$env:QT_QPA_PLATFORM = "offscreen"
& dist\QwQDesktop\qwq-desktop-cli.exe --self-test
if ($LASTEXITCODE -ne 0) { throw "self-test failed" }
& $py packaging\smoke_test.py dist\QwQDesktop
if ($LASTEXITCODE -ne 0) { throw "smoke test failed" }
Remove-Item Env:QT_QPA_PLATFORM
$version = & $py -c "import app; print(app.__version__)"
$iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"
if (Test-Path $iscc) {
    & $iscc "/DAppVersion=$version" packaging\windows\qwq-desktop.iss
    Write-Host "installer: dist\QwQDesktop-$version-setup.exe"
} else {
    Compress-Archive -Force -Path dist\QwQDesktop -DestinationPath "dist\qwq-desktop-$version-windows-x64.zip"
    Write-Host "Inno Setup 6 not found: packed dist\qwq-desktop-$version-windows-x64.zip instead"
}
