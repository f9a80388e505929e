"""The model manager's GUI tests are as strict as tests/ui: a QThread left running fails them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QThread

from tests.fixtures import qt_strict
from tests.models import test_ui_first_run, test_ui_models_page


def test_a_qthread_left_running_fails_the_check_and_is_stopped(qapp):
    thread = QThread()
    thread.setObjectName("Leaky")
    leaked = r"QThreads still running after the test: \['Leaky'\]"
    with pytest.raises(AssertionError, match=leaked), qt_strict.threads_must_not_leak():
        thread.start()
    assert thread.isFinished()  # stopped, so that pytest itself survives


@pytest.mark.parametrize("module", [test_ui_first_run, test_ui_models_page])
def test_the_gui_test_modules_use_the_strict_check(module):
    assert module.no_leaked_threads is qt_strict.no_leaked_threads
    marks = {mark.name: mark for mark in module.pytestmark}
    assert "no_leaked_threads" in marks["usefixtures"].args
    assert marks["qt_log_level_fail"].args == ("WARNING",)
