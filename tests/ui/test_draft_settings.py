"""Speculative decoding in the GUI: the Models page's "Speculative decoding" load setting (off,
prompt lookup, an installed draft model; another vocabulary refused with a notice), the
choice reaching the engine at load, the reply's stats line, and the catalogue's draft model
offered for download beside its model (the fake Hub on 127.0.0.1)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models import LoadSettings, ModelRegistry, hypothetical_hardware, import_gguf
from app.paths import app_paths
from app.settings import AppSettings
from app.ui.chat.message_widget import format_stats
from app.ui.models.installed_page import InstalledModelsPage
from app.ui.window.model_loading import load_options_from
from tests.engine.test_draft_model import _tiny_with_tokens

WAIT_MS = 30_000


@pytest.fixture
def registry(tiny_answer_gguf, tiny_loop_gguf):
    registry = ModelRegistry(app_paths().ensure())
    import_gguf(registry, tiny_answer_gguf, name="tiny")
    import_gguf(registry, tiny_loop_gguf, name="tiny-draft")
    return registry


def swapped_vocab_gguf(monkeypatch, folder):
    """A tiny model whose token list swaps two tokens: another vocabulary, the same size."""

    def swap(tokens):
        a, b = tokens.index("Paris"), tokens.index("hmm")
        tokens[a], tokens[b] = tokens[b], tokens[a]
        return tokens

    return _tiny_with_tokens(monkeypatch, folder / "swapped.gguf", swap)


def make_page(qtbot, registry, **kwargs) -> InstalledModelsPage:
    page = InstalledModelsPage(registry, hardware=hypothetical_hardware(16), **kwargs)
    qtbot.addWidget(page)
    page.show()
    return page


def choices(page) -> list[str]:
    combo = page.draftCombo
    return [combo.itemText(i) for i in range(combo.count())]


def choose(page, text: str) -> None:
    """Pick ``text`` as a user does (``activated`` runs the vocabulary check)."""
    combo = page.draftCombo
    index = combo.findText(text, Qt.MatchFlag.MatchStartsWith)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_prompt_lookup_is_the_default_and_each_choice_reaches_the_load_options(qtbot, registry):
    page = make_page(qtbot, registry)
    try:
        page.select("tiny")
        assert choices(page)[:2] == ["Prompt lookup (default)", "Off"]
        assert choices(page)[2].startswith("Draft model: tiny-draft (")
        assert page.current_settings().draft == "lookup"
        choose(page, "Off")
        page.save_settings()
        assert registry.get("tiny").settings.draft == "none"
        assert load_options_from(AppSettings(), registry.get("tiny").settings).draft == "none"

        draft_path = registry.get("tiny-draft").path
        with qtbot.waitSignal(page.draftCombo.checked, timeout=WAIT_MS) as checked:
            choose(page, "Draft model: tiny-draft")
        assert checked.args == [draft_path, True]
        qtbot.waitUntil(lambda: "draft model" in page.planLabel.text(), timeout=WAIT_MS)
        with qtbot.waitSignal(page.loadRequested, timeout=WAIT_MS) as sent:
            qtbot.mouseClick(page.loadButton, Qt.MouseButton.LeftButton)
        name, settings = sent.args
        assert (name, settings.draft) == ("tiny", draft_path)
        assert load_options_from(AppSettings(), settings).draft == draft_path
        assert registry.get("tiny").settings.draft == draft_path
        assert not page.notice_bar.isVisible()
    finally:
        page.shutdown()


def test_a_draft_of_another_vocabulary_is_refused_with_a_notice(
    qtbot, registry, tmp_path, monkeypatch
):
    other = swapped_vocab_gguf(monkeypatch, tmp_path)
    import_gguf(registry, other, name="other-vocab")
    page = make_page(qtbot, registry)
    try:
        page.select("tiny")
        with qtbot.waitSignal(page.draftCombo.checked, timeout=WAIT_MS) as checked:
            choose(page, "Draft model: other-vocab")
        assert checked.args == [registry.get("other-vocab").path, False]
        assert page.current_settings().draft == "lookup"  # the choice went back
        assert page.notice_bar.isVisible()
        text = page.notice_bar.notice.text
        assert "another vocabulary" in text and "'Paris'" in text
        assert "Traceback" not in text and "or Prompt lookup" in text
    finally:
        page.shutdown()


def test_the_stats_line_shows_drafted_tokens_accepted():
    stats = {"completion_tokens": 40, "tokens_per_s": 12.0}
    assert "drafted" not in format_stats(stats)
    line = format_stats(stats | {"drafted_tokens": 30, "accepted_tokens": 21})
    assert line == "40 tokens · 12.0 tok/s · 21/30 drafted accepted"


def test_the_chosen_draft_model_drafts_the_windows_replies(make_window, registry, qtbot):
    window = make_window(hardware=hypothetical_hardware(16))
    settings = registry.get("tiny").settings
    draft = registry.get("tiny-draft").path
    registry.update("tiny", settings=type(settings)(draft=draft))
    window.load_installed("tiny")
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=WAIT_MS)
    qtbot.keyClicks(window.composer.input, "What is the capital of France?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    reply = window.store.messages(window.controller.conv_id)[-1]
    assert reply.stats["draft"] == "model" and reply.stats["drafted_tokens"] > 0
    widget = window.chat_view.last_widget()
    assert "drafted accepted" in widget._stats.text()


def test_a_saved_draft_of_another_vocabulary_fails_the_load_with_a_lookup_button(
    make_window, registry, qtbot, tmp_path, monkeypatch
):
    other = swapped_vocab_gguf(monkeypatch, tmp_path)
    registry.update("tiny", settings=LoadSettings(draft=str(other)))
    window = make_window(hardware=hypothetical_hardware(16))
    window.load_installed("tiny")
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=WAIT_MS)
    bar = window.notice_bar
    assert window.engine.model is None and bar.isVisible() and bar.kind == "error"
    assert "another vocabulary" in bar.text() and "or Prompt lookup" in bar.text()
    assert "--draft" not in bar.text() and "Traceback" not in bar.text()
    [button] = [b for b in bar.buttons() if b.text() == "Load with prompt lookup"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=WAIT_MS)
    assert window.registry.get("tiny").settings.draft == "lookup"
    assert window.registry.get("tiny").settings.n_ctx is None  # nothing else was changed
