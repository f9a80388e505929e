"""Name, version and description of the app, read from one place: pyproject.toml's [project]
table, through the installed package's metadata (the bundle carries that metadata too)."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "qwq-desktop"
APP_NAME = "QwQ Desktop"

try:
    _meta = metadata.metadata(DISTRIBUTION)
    VERSION = _meta["Version"]
    DESCRIPTION = _meta["Summary"] or ""
    LICENSE = _meta.get("License-Expression") or _meta.get("License") or ""
except metadata.PackageNotFoundError:  # a source tree used without `pip install -e .`
    VERSION, DESCRIPTION, LICENSE = "0+unknown", "", ""


def about_text() -> str:
    """The About box's text (HTML): name, version, what it is, the llama.cpp build in use."""
    from quantize.llama_runtime import loaded_runtime

    lines = [f"<b>{APP_NAME} {VERSION}</b>", DESCRIPTION]
    runtime = loaded_runtime()
    if runtime is not None:
        lines.append(
            f"llama.cpp: llama-cpp-python {runtime.version}, CPU variant {runtime.cpu_variant}"
        )
    lines.append("Your conversations and documents stay on this computer.")
    if LICENSE:
        lines.append(f"Licence: {LICENSE}")
    return "<br>".join(line for line in lines if line)
