"""The in-window notification area, and the ``Notifier`` every layer reports through.

``Notifier`` is a plain signal hub so the task runner, the tray and the pages can report
without knowing where messages are shown. Errors stay until dismissed (a person must see
them); info and success banners fade after a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from basepod_desktop.ui import theme

MAX_VISIBLE = 4
AUTO_HIDE_MS = 6000


@dataclass(frozen=True)
class Notice:
    level: str  # "error" | "warning" | "info" | "success"
    title: str
    text: str


class Notifier(QObject):
    sig_notice = Signal(object)  # Notice

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[Notice] = []

    def notify(self, level: str, title: str, text: str = "") -> Notice:
        notice = Notice(level, title, text)
        self.history.append(notice)
        self.sig_notice.emit(notice)
        return notice

    def error(self, title: str, text: str = "") -> Notice:
        return self.notify("error", title, text)

    def info(self, title: str, text: str = "") -> Notice:
        return self.notify("info", title, text)

    def success(self, title: str, text: str = "") -> Notice:
        return self.notify("success", title, text)

    def warning(self, title: str, text: str = "") -> Notice:
        return self.notify("warning", title, text)


class Banner(QFrame):
    sig_closed = Signal()

    def __init__(self, notice: Notice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notice = notice
        self.setObjectName("Banner")
        p = theme.colors()
        accent = {"error": p.danger, "warning": p.warning, "success": p.success}.get(notice.level, p.info)
        self.setStyleSheet(f"#Banner {{ border-left: 4px solid {accent}; }}")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 6, 8)
        text = QLabel(f"<b>{_esc(notice.title)}</b>" + (f"<br>{_esc(notice.text)}" if notice.text else ""))
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(text, 1)
        close = QPushButton("×")
        close.setProperty("role", "flat")
        close.setToolTip("Dismiss")
        close.setFixedSize(28, 24)
        close.setStyleSheet("padding: 0; font-size: 16px;")
        close.clicked.connect(self.dismiss)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)

    def dismiss(self) -> None:
        self.sig_closed.emit()
        self.deleteLater()


class NotificationArea(QWidget):
    """A column of banners above the page content."""

    def __init__(self, notifier: Notifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(24, 12, 24, 0)
        self._layout.setSpacing(6)
        self._banners: list[Banner] = []
        notifier.sig_notice.connect(self.show_notice)
        self.setVisible(False)

    @property
    def banners(self) -> list[Banner]:
        return list(self._banners)

    def show_notice(self, notice: Notice) -> None:
        banner = Banner(notice, self)
        banner.sig_closed.connect(lambda b=banner: self._forget(b))
        self._banners.append(banner)
        self._layout.addWidget(banner)
        while len(self._banners) > MAX_VISIBLE:
            self._banners[0].dismiss()
        if notice.level in ("info", "success"):
            QTimer.singleShot(AUTO_HIDE_MS, banner, banner.dismiss)
        self.setVisible(True)

    def _forget(self, banner: Banner) -> None:
        if banner in self._banners:
            self._banners.remove(banner)
        self.setVisible(bool(self._banners))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
