"""Radio buttons and check boxes stand out from the window in both themes (Fusion outlines them
in a shade of the window colour, which on the dark theme is nearly black): the indicator of an
unchecked one reaches WCAG's 3:1 contrast for controls, and checking one changes its look."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from app.settings import AppSettings
from app.ui.common.theme import apply_theme

CONTROL_CONTRAST = 3.0  # WCAG 2.1, 1.4.11 non-text contrast


def luminance(color: QColor) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.red())
        + 0.7152 * channel(color.green())
        + (0.0722 * channel(color.blue()))
    )


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def indicator(button) -> QImage:
    """The part of the button where the style draws its indicator."""
    option = QStyleOptionButton()
    button.initStyleOption(option)
    element = (
        QStyle.SubElement.SE_RadioButtonIndicator
        if isinstance(button, QRadioButton)
        else QStyle.SubElement.SE_CheckBoxIndicator
    )
    return button.grab().toImage().copy(button.style().subElementRect(element, option, button))


def strongest_contrast(image: QImage, background: QColor) -> float:
    return max(
        contrast(image.pixelColor(x, y), background)
        for x in range(image.width())
        for y in range(image.height())
    )


@pytest.fixture
def restore_theme():
    yield
    apply_theme(QApplication.instance(), "light", AppSettings().font_size)


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("kind", [QRadioButton, QCheckBox])
def test_an_unchecked_indicator_stands_out_and_checking_shows(qtbot, restore_theme, theme, kind):
    colors = apply_theme(QApplication.instance(), theme, 11)
    page = QWidget()
    qtbot.addWidget(page)
    layout = QVBoxLayout(page)
    off, on = kind("Off"), kind("On")
    layout.addWidget(off)
    layout.addWidget(on)
    on.setChecked(True)
    page.show()
    qtbot.waitExposed(page)
    window = QColor(colors.window)
    assert strongest_contrast(indicator(off), window) >= CONTROL_CONTRAST
    assert strongest_contrast(indicator(on), window) >= CONTROL_CONTRAST
    assert indicator(on) != indicator(off)
