"""The base of the app's expected errors, and any exception turned into one for the user.

``AppError`` derives from the project's one error type (``quantize.errors.UserFacingError``:
message, hint, expected-or-bug, typed actions), so engine, store and model-manager errors and
the quantisation tool's are reported the same way by the GUI and the command line (never as a
traceback). ``as_user_error`` gives every other exception the same shape.
"""

from __future__ import annotations

import traceback

from quantize.errors import Action, InternalError, UserFacingError

__all__ = ["Action", "AppError", "InternalError", "UserFacingError", "as_user_error"]


class AppError(UserFacingError):
    """An expected failure of the app: ``message`` says what happened, ``hint`` what to try."""


def as_user_error(exc: BaseException, doing: str) -> UserFacingError:
    """``exc`` as the user reads it; ``doing`` ("loading the model") says when it happened.

    Errors of the project's type are returned as they are. Running out of memory and failed
    file operations (OSError: disk full, permission denied) are expected; anything else is a
    bug (``InternalError``) whose ``details`` hold the traceback."""
    if isinstance(exc, UserFacingError):
        return exc
    if isinstance(exc, MemoryError):
        error = UserFacingError(
            f"Ran out of memory while {doing}", "close other programs or choose a smaller model"
        )
    elif isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        error = UserFacingError(
            f"Could not finish {doing}: {exc.strerror or exc}{where}",
            "check that the disk has room and the folder can be written to",
        )
    else:
        error = InternalError(
            f"Unexpected error while {doing}: {type(exc).__name__}: {exc}",
            "this is a bug in QwQ Desktop; the details are in the log",
            details="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )
    error.__cause__ = exc
    return error
