"""A llama.cpp failure in the middle of a chat turn, told as the engine's typed error.

llama-cpp-python raises plain RuntimeError/ValueError when a llama.cpp call fails
("llama_decode returned -1", "Failed to tokenize"). Those become a ``TurnError`` with a hint and
llama.cpp's last log lines as ``details``; the same exceptions raised by the app's own code are
bugs and are left alone.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from .errors import TurnError
from .llama_log import failure_details


def raised_by_llama_cpp(exc: BaseException) -> bool:
    """True when ``exc`` was raised inside llama-cpp-python (its last frame is there)."""
    import llama_cpp

    package = Path(llama_cpp.__file__).resolve().parent
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and package in Path(frames[-1].filename).resolve().parents


def turn_error(exc: BaseException) -> TurnError:
    """``exc`` (raised by llama.cpp during a turn) as the engine's TurnError."""
    return TurnError(
        f"llama.cpp failed while answering ({exc})",
        "try again; if it fails again, reload the model, with a smaller context (--ctx) or "
        "without a GPU (--gpu-layers 0)",
        details=failure_details(),
    )
