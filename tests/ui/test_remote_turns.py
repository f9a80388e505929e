"""Remote turns that go wrong, and documents answered through an endpoint, in the real window:
a stream cut in the middle keeps the part received (marked as failed), a model the endpoint
does not serve is explained, and a question on attached PDFs goes to the endpoint with its
numbered sources."""

# ruff: noqa: F811 - the fixtures below are imported from other conftests, then requested

from __future__ import annotations

import socket

from app.remote import EndpointChoice
from tests.docs.manuals import PUMP, write_pdfs
from tests.engine.conftest import answer_engine  # noqa: F401 - the tiny answering engine
from tests.remote.conftest import endpoint  # noqa: F401 - scripted endpoints
from tests.server import fake_endpoint as fake
from tests.server.conftest import serve  # noqa: F401 - our server on a free port

WAIT_MS = 60_000


def connect(window, qtbot, url: str, model: str | None = None) -> None:
    window.models.remote.apply(EndpointChoice(url, model))
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=WAIT_MS)


def test_a_stream_cut_in_the_middle_keeps_the_part_received(endpoint, window, qtbot):
    server = endpoint(fake.drop_after_thinking)
    connect(window, qtbot, server.url)
    assert window.engine.model.name == "fake-model"
    window.send_message("Think in two steps")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    widget = window.chat_view.last_widget()
    assert widget.thinking.text == "Step one. Step two."
    assert widget.message.status == "error"
    assert "broke in the middle of the reply" in widget.message.stats["error"]
    notice = window.notice_bar
    assert notice.isVisible() and notice.kind == "error"
    assert "The part received is kept" in notice.text()
    reply = window.store.messages(window.controller.conv_id)[-1]
    assert (reply.thinking, reply.status) == ("Step one. Step two.", "error")
    assert reply.stats["partial"] is True and reply.stats["model"] == "fake-model"
    assert "broke in the middle" in reply.stats["error"]


def test_a_model_the_endpoint_does_not_serve_is_explained(endpoint, window, qtbot):
    server = endpoint(fake.drop_after_thinking, models=("qwq-32b", "llama-3-8b"))
    connect(window, qtbot, server.url, model="qwq-14b")
    assert window.engine.model is None
    text = window.notice_bar.text()
    assert "does not serve the model qwq-14b" in text
    assert "qwq-32b, llama-3-8b" in text
    assert server.requests == []  # nothing was asked of a model it does not have


def test_documents_are_answered_through_the_endpoint(serve, answer_engine, window, qtbot, tmp_path):
    served = serve(answer_engine)
    connect(window, qtbot, served.url)
    docs = window.docs
    dialog = docs.show_dialog()
    dialog.create_collection("Manuals")
    qtbot.waitUntil(lambda: dialog.current() == "Manuals", timeout=WAIT_MS)
    dialog.add_paths([str(write_pdfs(tmp_path / "manuals", pages_per_file=6))])
    qtbot.waitUntil(
        lambda: (
            not docs.manager.indexing("Manuals") and docs.manager.stats("Manuals")["files"] == 3
        ),
        timeout=WAIT_MS,
    )
    dialog.close()
    docs.button.toggle("Manuals", True)
    window.send_message("How often is the coolant pump replaced?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    reply = window.chat_view.last_widget()
    assert reply.message.content == "Paris" and reply.message.status == "complete"
    assert reply.citations.buttons  # numbered sources under the reply
    stored = window.store.get_message(reply.message.id).stats
    assert any(PUMP in source["text"] for source in stored["sources"])
    assert stored["model"] == "tiny-qwq-answer"


def test_a_silent_server_is_a_timeout_and_connecting_can_be_cancelled(endpoint, window, qtbot):
    from app.remote import RemoteEndpoint

    server = endpoint(fake.never_answer)  # lists its models, never answers a turn
    window.models.connect(RemoteEndpoint(server.url, read_timeout_s=0.5))
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=WAIT_MS)
    window.send_message("Anyone there?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    assert "sent nothing for 0.5 s before replying" in window.notice_bar.text()
    assert window.chat_view.last_widget().message.status == "error"

    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(WAIT_MS / 1000)  # a failure, never a hang
        window.models.connect(RemoteEndpoint(f"127.0.0.1:{listener.getsockname()[1]}"))
        assert "Connecting to 127.0.0.1:" in window.composer.hint.text()
        connection, _ = listener.accept()
        window.cancel_load()
        qtbot.waitUntil(lambda: not window.engine.loading, timeout=WAIT_MS)
        connection.close()
    assert window.engine.model is None
    assert window.notice_bar.text() == "Load cancelled; no model loaded."
