"""With this folder on PYTHONPATH and QWQ_TEST_RAM_AVAILABLE=BYTES set, psutil reports that
much available memory (the rest of the machine busy): the memory planner's input in a child."""

import os

if os.environ.get("QWQ_TEST_RAM_AVAILABLE"):
    import psutil

    _real = psutil.virtual_memory
    _available = int(os.environ["QWQ_TEST_RAM_AVAILABLE"])

    def _busy_machine():
        return _real()._replace(available=_available)

    psutil.virtual_memory = _busy_machine
