"""Light and dark themes that follow the OS colour scheme, and the status colours.

Colours live here only: pages ask ``colors()`` or use object names the stylesheet knows
(``#PageTitle``, ``[role="primary"]``...), so a theme change is one ``apply()`` away and
no widget hard-codes a hex value.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Palette:
    dark: bool
    window: str
    surface: str
    sidebar: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    hover: str
    selected: str
    danger: str
    warning: str
    success: str
    info: str


LIGHT = Palette(False, "#f5f6f8", "#ffffff", "#eceef2", "#1b2130", "#667085", "#dfe3e9",
                "#3563e9", "#ffffff", "#e3e7ee", "#dbe4fd", "#d92d20", "#b54708", "#12805c", "#3563e9")
DARK = Palette(True, "#15171c", "#1d2027", "#101216", "#e7e9ee", "#98a1b2", "#2c313b",
               "#6d8dff", "#0d1020", "#252a33", "#26335c", "#f97066", "#fdb022", "#32d583", "#84adff")

#: App status -> colour key; the pill text is the status itself.
_STATUS_KEYS = {
    "running": "success", "created": "muted", "stopped": "muted", "exited": "danger",
    "paused": "warning", "missing": "danger", "unknown": "muted",
}
#: Connection state -> colour key.
_CONN_KEYS = {
    "connected": "success", "connecting": "warning", "reconnecting": "warning", "offline": "muted",
    "error": "danger", "needs_login": "info", "needs_host_key_confirmation": "info", "closed": "muted",
}

#: Health verdict -> colour key and the word shown next to the dot.
_HEALTH_KEYS = {"green": "success", "yellow": "warning", "red": "danger"}
HEALTH_LABELS = {"green": "healthy", "yellow": "degraded", "red": "unhealthy", None: "not checked"}

_current: Palette = LIGHT


def colors() -> Palette:
    return _current


def status_color(status: str) -> QColor:
    return QColor(getattr(_current, _STATUS_KEYS.get(status, "muted")))


def connection_color(state: str) -> QColor:
    return QColor(getattr(_current, _CONN_KEYS.get(state, "muted")))


def health_color(status: str | None) -> QColor:
    return QColor(getattr(_current, _HEALTH_KEYS.get(status or "", "border")))


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def apply(app: QApplication, dark: bool | None = None) -> Palette:
    """Apply the palette + stylesheet; ``dark=None`` follows the OS."""
    global _current
    _current = DARK if (system_prefers_dark() if dark is None else dark) else LIGHT
    p = _current
    app.setStyle("Fusion")
    pal = QPalette()
    for role, value in (
        (QPalette.ColorRole.Window, p.window), (QPalette.ColorRole.Base, p.surface),
        (QPalette.ColorRole.AlternateBase, p.window), (QPalette.ColorRole.Text, p.text),
        (QPalette.ColorRole.WindowText, p.text), (QPalette.ColorRole.Button, p.surface),
        (QPalette.ColorRole.ButtonText, p.text), (QPalette.ColorRole.Highlight, p.selected),
        (QPalette.ColorRole.HighlightedText, p.text), (QPalette.ColorRole.PlaceholderText, p.muted),
        (QPalette.ColorRole.ToolTipBase, p.surface), (QPalette.ColorRole.ToolTipText, p.text),
        (QPalette.ColorRole.Link, p.accent), (QPalette.ColorRole.Mid, p.border),
    ):
        pal.setColor(role, QColor(value))
    app.setPalette(pal)
    app.setStyleSheet(stylesheet(p))
    return p


def follow_system(app: QApplication, on_change=None) -> None:
    """Re-apply when the OS switches between light and dark."""
    def changed(_scheme) -> None:
        apply(app)
        if on_change is not None:
            on_change()
    QGuiApplication.styleHints().colorSchemeChanged.connect(changed)


def stylesheet(p: Palette) -> str:
    return f"""
    QWidget {{ font-size: 13px; color: {p.text}; }}
    QMainWindow, #Content {{ background: {p.window}; }}
    #Sidebar {{ background: {p.sidebar}; border-right: 1px solid {p.border}; }}
    #Brand {{ font-size: 16px; font-weight: 700; padding: 2px 4px; }}
    #SectionLabel {{ color: {p.muted}; font-size: 11px; font-weight: 600; letter-spacing: 1px; }}
    #PageTitle {{ font-size: 22px; font-weight: 700; }}
    #PageSubtitle, #Muted {{ color: {p.muted}; }}
    #CardTitle {{ font-size: 15px; font-weight: 600; }}
    #EmptyTitle {{ font-size: 17px; font-weight: 600; }}
    #Card {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 10px; }}
    #Mono {{ font-family: monospace; }}
    QListWidget#ServerList {{ background: transparent; border: none; outline: 0; }}
    QListWidget#ServerList::item {{ border-radius: 8px; margin: 1px 0; }}
    QListWidget#ServerList::item:hover {{ background: {p.hover}; }}
    QListWidget#ServerList::item:selected {{ background: {p.selected}; }}
    QPushButton {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 7px;
                   padding: 6px 12px; }}
    QPushButton:hover {{ background: {p.hover}; }}
    QPushButton:disabled {{ color: {p.muted}; }}
    QPushButton[role="primary"] {{ background: {p.accent}; color: {p.accent_text}; border: none;
                                   font-weight: 600; }}
    QPushButton[role="primary"]:disabled {{ background: {p.border}; color: {p.muted}; }}
    QPushButton[role="danger"] {{ color: {p.danger}; }}
    QPushButton[role="flat"] {{ background: transparent; border: none; text-align: left; }}
    QPushButton[role="flat"]:hover {{ background: {p.hover}; }}
    QLineEdit, QSpinBox, QPlainTextEdit, QComboBox {{ background: {p.surface};
        border: 1px solid {p.border}; border-radius: 7px; padding: 5px 8px; }}
    QLineEdit:focus, QSpinBox:focus, QPlainTextEdit:focus {{ border-color: {p.accent}; }}
    QLineEdit[invalid="true"], QSpinBox[invalid="true"] {{ border-color: {p.danger}; }}
    #FieldError {{ color: {p.danger}; font-size: 12px; }}
    QTableView {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 10px;
                  gridline-color: transparent; selection-background-color: {p.selected};
                  selection-color: {p.text}; }}
    QTableView::item {{ padding: 0 8px; border-bottom: 1px solid {p.border}; }}
    QHeaderView::section {{ background: {p.surface}; color: {p.muted}; border: none;
        border-bottom: 1px solid {p.border}; padding: 8px; font-weight: 600; font-size: 12px; }}
    QTabWidget::pane {{ border: 1px solid {p.border}; border-radius: 10px; background: {p.surface};
                        top: -1px; }}
    QTabBar::tab {{ padding: 8px 16px; margin-right: 4px; color: {p.muted}; border: none;
                    border-bottom: 2px solid transparent; }}
    QTabBar::tab:selected {{ color: {p.text}; border-bottom: 2px solid {p.accent}; font-weight: 600; }}
    #Callout {{ border-radius: 8px; border: 1px solid {p.border}; background: {p.window}; }}
    #Callout[tone="warning"] {{ border-left: 4px solid {p.warning}; }}
    #Callout[tone="danger"] {{ border-left: 4px solid {p.danger}; }}
    #Callout[tone="info"] {{ border-left: 4px solid {p.info}; }}
    #SectionTitle {{ font-size: 14px; font-weight: 600; }}
    #Stat {{ font-size: 18px; font-weight: 600; }}
    QCheckBox {{ spacing: 8px; }}
    QDoubleSpinBox {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 7px;
                      padding: 5px 8px; }}
    QListWidget#Events {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 8px; }}
    QListWidget#Events::item {{ padding: 6px 4px; border-bottom: 1px solid {p.border}; }}
    #Banner {{ border-radius: 8px; border: 1px solid {p.border}; background: {p.surface}; }}
    QToolTip {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border}; }}
    """
