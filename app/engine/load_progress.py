"""Report model-load progress and let the user cancel a load.

llama.cpp calls a progress callback while it maps and uploads weights (0.0 -> 1.0); returning
false aborts the load. llama-cpp-python's `Llama` builds its model parameters itself and offers
no hook for this callback, so for the duration of one load the engine wraps the function that
creates those parameters (restored afterwards, one load at a time).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

# progress(fraction) -> keep going? Return False to cancel the load.
ProgressFn = Callable[[float], bool]

_lock = threading.Lock()


class LoadAborted(Exception):
    """Raised inside the load when the progress function asked to stop."""


@contextlib.contextmanager
def load_progress(progress: ProgressFn | None) -> Iterator[list[bool]]:
    """Within the block, `Llama(...)` reports progress to ``progress``.

    Yields a one-item list that becomes ``[True]`` when ``progress`` cancelled the load.
    """
    cancelled = [False]
    if progress is None:
        yield cancelled
        return
    import llama_cpp
    from llama_cpp import llama_cpp as lib

    @llama_cpp.llama_progress_callback
    def callback(fraction: float, _user_data) -> bool:
        try:
            keep_going = progress(min(1.0, max(0.0, float(fraction))))
        except Exception:  # noqa: BLE001 - a failing observer must not crash the C loader
            keep_going = True
        if not keep_going:
            cancelled[0] = True
        return bool(keep_going)

    with _lock:
        original = lib.llama_model_default_params

        def params_with_progress():
            params = original()
            params.progress_callback = callback
            return params

        lib.llama_model_default_params = params_with_progress
        try:
            yield cancelled
        finally:
            lib.llama_model_default_params = original
