"""`qwq-desktop --self-test`: prove that this installation works, without the user's data.

It loads llama.cpp (naming the CPU variant it chose), builds a tiny model on the fly and has
it answer, exercises the conversation store, and starts the desktop window in a child process
(so a missing display or Qt plugin is reported, not fatal). Used to smoke-test bundles and by
users reporting problems. No Qt here: the window check lives in app/ui/startup_check.py.
"""

from .checks import CheckResult, run_self_test

__all__ = ["CheckResult", "run_self_test"]
