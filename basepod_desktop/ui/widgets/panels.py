"""Empty states and the connection banner: the page parts that explain and guide.

An empty table with no words is a dead end; these say what is going on and offer the
one action that moves the user forward.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from basepod_desktop.core.connection import ConnectionStatus, ConnState
from basepod_desktop.ui import theme


class EmptyState(QWidget):
    sig_action = Signal()

    def __init__(self, icon: QIcon, title: str, text: str, action: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.addStretch(2)
        glyph = QLabel()
        glyph.setPixmap(icon.pixmap(56, 56))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(glyph)
        self.title = QLabel(title)
        self.title.setObjectName("EmptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.title)
        self.text = QLabel(text)
        self.text.setObjectName("Muted")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setFixedWidth(460)
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 3)
        col.addWidget(self.text, 0, Qt.AlignmentFlag.AlignHCenter)
        self.button: QPushButton | None = None
        if action:
            self.button = QPushButton(action)
            self.button.setProperty("role", "primary")
            self.button.clicked.connect(self.sig_action.emit)
            col.addSpacing(8)
            col.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(3)

    def set_text(self, title: str, text: str, action_visible: bool) -> None:
        self.title.setText(title)
        self.text.setText(text)
        if self.button is not None:
            self.button.setVisible(action_visible)


class ConnectionBanner(QFrame):
    """Why a server is not live, and the next step (log in, verify key, retry)."""

    sig_login_requested = Signal()
    sig_host_key_requested = Signal()
    sig_retry_requested = Signal()

    _ACTIONS = {
        ConnState.NEEDS_LOGIN: "Log in…",
        ConnState.NEEDS_HOST_KEY_CONFIRMATION: "Verify host key…",
        ConnState.ERROR: "Try again",
        ConnState.OFFLINE: "Retry now",
        ConnState.RECONNECTING: "Retry now",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 10, 10, 10)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.message, 1)
        self.button = QPushButton()
        self.button.clicked.connect(self._clicked)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        self._state: ConnState | None = None
        self.hide()

    def set_status(self, status: ConnectionStatus, stale_note: str = "") -> None:
        self._state = status.state
        if status.state is ConnState.CONNECTED:
            self.hide()
            return
        color = theme.connection_color(status.state.value).name()
        self.setStyleSheet(f"#Banner {{ border-left: 4px solid {color}; }}")
        reason = _esc(status.reason or "")
        note = f"<br><span style='color:{theme.colors().muted}'>{_esc(stale_note)}</span>" if stale_note else ""
        self.message.setText(f"<b>{status.label}</b>" + (f" — {reason}" if reason else "") + note)
        action = self._ACTIONS.get(status.state)
        self.button.setVisible(action is not None)
        if action:
            self.button.setText(action)
            self.button.setProperty("role", "primary" if status.needs_person else "")
            self.button.style().polish(self.button)
        self.show()

    def _clicked(self) -> None:
        if self._state is ConnState.NEEDS_LOGIN:
            self.sig_login_requested.emit()
        elif self._state is ConnState.NEEDS_HOST_KEY_CONFIRMATION:
            self.sig_host_key_requested.emit()
        else:
            self.sig_retry_requested.emit()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
