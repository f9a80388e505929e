"""Light and dark themes: one colour table per theme, applied as a Fusion palette plus a stylesheet.

``theme="system"`` follows the operating system's colour scheme and changes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory

THEMES = ("system", "light", "dark")
# Arrow images for spin boxes and combo boxes (a styled spin box draws none of its own).
ICONS = Path(str(resources.files("resources") / "icons")).as_posix()


@dataclass(frozen=True)
class Colors:
    """Every colour the app paints with, for one theme."""

    name: str
    window: str
    surface: str  # chat background
    sidebar: str
    sidebar_hover: str
    sidebar_selected: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    accent_hover: str
    user_bubble: str
    input_bg: str
    thinking_bg: str
    thinking_border: str
    code_bg: str
    code_header_bg: str
    code_border: str
    inline_code_bg: str
    table_header_bg: str
    link: str
    warning_bg: str
    warning_text: str
    error_bg: str
    error_text: str
    danger: str
    pygments_style: str

    @property
    def is_dark(self) -> bool:
        return self.name == "dark"


LIGHT = Colors(
    name="light",
    window="#ffffff",
    surface="#ffffff",
    sidebar="#f6f7f9",
    sidebar_hover="#eceef2",
    sidebar_selected="#e3e7ee",
    border="#e3e5e8",
    text="#1d2127",
    muted="#6b7280",
    accent="#2563eb",
    accent_text="#ffffff",
    accent_hover="#1d4ed8",
    user_bubble="#eef2f8",
    input_bg="#ffffff",
    thinking_bg="#f8f9fb",
    thinking_border="#cfd6e0",
    code_bg="#f6f8fa",
    code_header_bg="#eceff3",
    code_border="#dfe3e8",
    inline_code_bg="#eef0f3",
    table_header_bg="#f2f4f7",
    link="#2563eb",
    warning_bg="#fff7e0",
    warning_text="#7a5200",
    error_bg="#fdecec",
    error_text="#9b1c1c",
    danger="#c62828",
    pygments_style="default",
)

DARK = Colors(
    name="dark",
    window="#1b1c1f",
    surface="#212226",
    sidebar="#18191c",
    sidebar_hover="#25272b",
    sidebar_selected="#2e3136",
    border="#33363c",
    text="#e6e7ea",
    muted="#9aa0aa",
    accent="#4c8dff",
    accent_text="#ffffff",
    accent_hover="#3b7bef",
    user_bubble="#2d3038",
    input_bg="#2a2c31",
    thinking_bg="#1d1e22",
    thinking_border="#464a52",
    code_bg="#16171a",
    code_header_bg="#2a2c31",
    code_border="#363940",
    inline_code_bg="#33363d",
    table_header_bg="#2a2c31",
    link="#7aa7ff",
    warning_bg="#3a3020",
    warning_text="#f3d38a",
    error_bg="#3d2224",
    error_text="#ffb4b4",
    danger="#ff7b7b",
    pygments_style="github-dark",
)


def system_prefers_dark() -> bool:
    """Whether the operating system asks for a dark colour scheme."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve_colors(theme: str) -> Colors:
    """The colour table for a theme setting ("system" follows the OS)."""
    if theme == "dark":
        return DARK
    if theme == "light":
        return LIGHT
    return DARK if system_prefers_dark() else LIGHT


def _palette(c: Colors) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: c.window,
        role.WindowText: c.text,
        role.Base: c.input_bg,
        role.AlternateBase: c.sidebar,
        role.Text: c.text,
        role.Button: c.sidebar,
        role.ButtonText: c.text,
        role.Highlight: c.accent,
        role.HighlightedText: c.accent_text,
        role.ToolTipBase: c.surface,
        role.ToolTipText: c.text,
        role.PlaceholderText: c.muted,
        role.Link: c.link,
        role.BrightText: c.danger,
        role.Mid: c.border,
        role.Midlight: c.border,
        role.Light: c.border,
        role.Dark: c.border,
    }
    for r, value in pairs.items():
        pal.setColor(r, QColor(value))
    for r in (role.Text, role.WindowText, role.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor(c.muted))
    return pal


def stylesheet(c: Colors) -> str:
    """The application stylesheet for ``c``; widgets opt in through their object names."""
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; padding: 4px; }}
#Sidebar {{ background: {c.sidebar}; border-right: 1px solid {c.border}; }}
#Sidebar QListView {{ background: transparent; border: none; outline: 0; }}
#SearchField, QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    background: {c.input_bg}; color: {c.text}; border: 1px solid {c.border};
    border-radius: 7px; padding: 5px 8px; selection-background-color: {c.accent};
}}
#SearchField:focus, QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{
    border: 1px solid {c.accent};
}}
QSpinBox, QDoubleSpinBox {{ padding-right: 22px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button,
QSpinBox::down-button, QDoubleSpinBox::down-button {{
    subcontrol-origin: border; width: 20px; background: transparent; border: none;
}}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-position: top right; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-position: bottom right; }}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover,
QSpinBox::down-button:hover, QDoubleSpinBox::down-button:hover {{
    background: {c.sidebar_hover}; border-radius: 4px;
}}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({ICONS}/arrow-up.svg); width: 10px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow, QComboBox::down-arrow {{
    image: url({ICONS}/arrow-down.svg); width: 10px;
}}
QComboBox::drop-down {{ border: none; width: 22px; }}
QPushButton {{
    background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
    border-radius: 7px; padding: 6px 12px;
}}
QPushButton:hover {{ background: {c.sidebar_hover}; }}
QPushButton:focus {{ border: 1px solid {c.accent}; }}
QPushButton:disabled {{ color: {c.muted}; }}
QPushButton#PrimaryButton {{
    background: {c.accent}; color: {c.accent_text}; border: 1px solid {c.accent};
    font-weight: 600;
}}
QPushButton#PrimaryButton:hover {{ background: {c.accent_hover}; }}
QPushButton#PrimaryButton:disabled {{
    background: {c.border}; border-color: {c.border}; color: {c.muted};
}}
QPushButton#StopButton {{
    background: {c.surface}; color: {c.danger}; border: 1px solid {c.danger}; font-weight: 600;
}}
#ChatSurface, #ChatColumn, #ChatScroll {{ background: {c.surface}; border: none; }}
#ChatHeader {{ background: {c.surface}; border-bottom: 1px solid {c.border}; }}
#ChatTitle {{ font-weight: 600; }}
#ComposerFrame {{
    background: {c.input_bg}; border: 1px solid {c.border}; border-radius: 14px;
}}
#ComposerInput {{ background: transparent; border: none; color: {c.text}; }}
#ComposerHint {{ color: {c.muted}; }}
#UserBubble {{ background: {c.user_bubble}; border-radius: 14px; }}
#RoleLabel {{ font-weight: 600; color: {c.text}; }}
#MutedLabel, #StatsLabel {{ color: {c.muted}; }}
#ErrorLabel {{ color: {c.error_text}; }}
#ThinkingFrame {{
    background: {c.thinking_bg}; border-left: 3px solid {c.thinking_border}; border-radius: 4px;
}}
QToolButton#ThinkingToggle {{
    color: {c.muted}; border: none; background: transparent; font-weight: 600; padding: 2px 0;
}}
QToolButton#ThinkingToggle:focus {{ color: {c.accent}; }}
QToolButton#ActionButton {{
    color: {c.muted}; border: 1px solid transparent; border-radius: 6px; background: transparent;
    padding: 2px 7px;
}}
QToolButton#ActionButton:hover {{ background: {c.sidebar_hover}; color: {c.text}; }}
QToolButton#ActionButton:focus {{ border: 1px solid {c.accent}; color: {c.text}; }}
QToolButton#ActionButton:disabled {{ color: {c.border}; }}
#NoticeBar {{ border-radius: 8px; }}
#NoticeBar[kind="warning"] {{ background: {c.warning_bg}; }}
#NoticeBar[kind="warning"] QLabel {{ color: {c.warning_text}; }}
#NoticeBar[kind="error"] {{ background: {c.error_bg}; }}
#NoticeBar[kind="error"] QLabel {{ color: {c.error_text}; }}
#NoticeBar[kind="info"] {{ background: {c.user_bubble}; }}
#NoticeBar[kind="info"] QLabel {{ color: {c.text}; }}
#EmptyState QLabel {{ color: {c.muted}; }}
#EmptyTitle {{ color: {c.text}; font-weight: 600; }}
QFrame#Separator {{ color: {c.border}; }}
QStatusBar {{ background: {c.sidebar}; border-top: 1px solid {c.border}; color: {c.muted}; }}
QStatusBar QLabel {{ color: {c.muted}; padding: 0 6px; }}
QStatusBar QToolButton#StatusModel {{
    color: {c.text}; background: transparent; border: 1px solid transparent;
    border-radius: 5px; padding: 1px 6px;
}}
QStatusBar QToolButton#StatusModel:hover {{ background: {c.sidebar_hover}; }}
QStatusBar QToolButton#StatusModel:focus {{ border: 1px solid {c.accent}; }}
QStatusBar QLabel#DeviceLabel[level="warning"] {{
    color: {c.warning_text}; background: {c.warning_bg}; border-radius: 4px;
}}
QProgressBar#LoadingBar {{
    background: {c.border}; border: none; border-radius: 3px; max-height: 6px;
}}
QProgressBar#LoadingBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
QProgressBar#ContextMeter {{
    background: {c.border}; border: none; border-radius: 3px; max-height: 6px;
}}
QProgressBar#ContextMeter::chunk {{ background: {c.accent}; border-radius: 3px; }}
QProgressBar#ContextMeter[level="warn"]::chunk {{ background: #d99a00; }}
QProgressBar#ContextMeter[level="full"]::chunk {{ background: {c.danger}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {c.border}; border-radius: 5px; min-height: 30px; }}
QScrollBar::handle:vertical:hover {{ background: {c.muted}; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QMenu {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; padding: 4px; }}
QMenu::item {{ padding: 5px 18px; border-radius: 5px; }}
QMenu::item:selected {{ background: {c.sidebar_selected}; }}
QTabWidget::pane {{ border: 1px solid {c.border}; border-radius: 8px; top: -1px; }}
QTabBar::tab {{ padding: 6px 14px; color: {c.muted}; border: none; }}
QTabBar::tab:selected {{ color: {c.text}; border-bottom: 2px solid {c.accent}; }}
QRadioButton::indicator {{
    width: 14px; height: 14px; border: 1px solid {c.muted}; border-radius: 8px;
    background: {c.input_bg};
}}
QRadioButton::indicator:hover, QRadioButton::indicator:focus {{ border-color: {c.accent}; }}
QRadioButton::indicator:checked {{
    border-color: {c.accent};
    background: qradialgradient(cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
        stop: 0 {c.accent_text}, stop: 0.4 {c.accent_text},
        stop: 0.5 {c.accent}, stop: 1 {c.accent});
}}
QRadioButton::indicator:disabled {{ border-color: {c.border}; }}
QPlainTextEdit#SystemPrompt {{
    background: {c.input_bg}; border: 1px solid {c.border}; border-radius: 7px; padding: 4px;
}}
"""


class ThemeStyle(QProxyStyle):
    """Fusion, its check boxes drawn in the theme's colours. Fusion outlines them in a shade
    of the window colour, nearly black on the dark theme's; a style sheet rule for them would
    lose the check mark (there is no image for it), so they are painted here. Radio buttons
    are styled in the style sheet."""

    def __init__(self, colors: Colors) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.colors = colors

    def drawPrimitive(self, element, option, painter, widget=None) -> None:
        if element != QStyle.PrimitiveElement.PE_IndicatorCheckBox:
            super().drawPrimitive(element, option, painter, widget)
            return
        c, state = self.colors, option.state
        enabled = bool(state & QStyle.StateFlag.State_Enabled)
        marked = bool(state & (QStyle.StateFlag.State_On | QStyle.StateFlag.State_NoChange))
        focus = bool(state & QStyle.StateFlag.State_HasFocus) or bool(
            state & QStyle.StateFlag.State_MouseOver
        )
        box = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if marked:
            fill = QColor(c.accent if enabled else c.border)
            painter.setPen(QPen(fill, 1))
            painter.setBrush(fill)
        else:
            edge = c.accent if enabled and focus else c.muted if enabled else c.border
            painter.setPen(QPen(QColor(edge), 1))
            painter.setBrush(QColor(c.input_bg))
        painter.drawRoundedRect(box, 3, 3)
        if marked:
            mark = QColor(c.accent_text if enabled else c.muted)
            pen = QPen(mark, max(1.5, box.width() / 8))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            w, h, x, y = box.width(), box.height(), box.left(), box.top()
            path = QPainterPath(QPointF(x + 0.27 * w, y + 0.5 * h))
            if state & QStyle.StateFlag.State_NoChange:  # partly: a dash
                path.lineTo(x + 0.73 * w, y + 0.5 * h)
            else:
                path.lineTo(x + 0.43 * w, y + 0.68 * h)
                path.lineTo(x + 0.75 * w, y + 0.32 * h)
            painter.drawPath(path)
        painter.restore()


def apply_theme(app: QApplication, theme: str, font_size: int) -> Colors:
    """Apply ``theme`` and ``font_size`` (points) to the whole application; return the colours."""
    colors = resolve_colors(theme)
    app.setStyle(ThemeStyle(colors))
    app.setPalette(_palette(colors))
    font = QFont(app.font())
    font.setPointSize(max(6, int(font_size)))
    app.setFont(font)
    app.setStyleSheet(stylesheet(colors))
    return colors
