"""Our server around the tiny models, scripted endpoints for the failures ours never makes,
and the check that no server or remote I/O thread is left running (shared with tests/server)."""

from contextlib import ExitStack, closing

import pytest

from tests.engine.conftest import answer_engine  # noqa: F401 - the tiny answering engine
from tests.server import fake_endpoint as fake
from tests.server.conftest import no_leaked_threads, serve  # noqa: F401 - server, leak check


@pytest.fixture
def endpoint():
    """endpoint(script, models=...) -> a running FakeEndpoint, closed after the test."""
    with ExitStack() as stack:
        yield lambda script, **kwargs: stack.enter_context(
            closing(fake.FakeEndpoint(script, **kwargs))
        )
