"""The log viewer's toolbar, status line and empty state: widgets only, no behaviour.

Kept apart from :mod:`viewer` so the ingest/render logic stays readable; the viewer
wires these controls to its own slots.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QToolButton, QVBoxLayout, QWidget,
)

__all__ = ["LogToolbar", "EmptyState", "StatusLine"]

_LIVE_GREEN = "#22a55a"
_OFFLINE_GREY = "#8b949e"


def _button(text: str, tip: str, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    button.setAutoRaise(True)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return button


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    line.setFixedHeight(18)
    return line


class LogToolbar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)

        self.pause_button = _button("Pause", "Stop following new output (lines are kept meanwhile)",
                                    checkable=True)
        self.pause_button.setMinimumWidth(64)
        self.live_label = QLabel()
        self.live_label.setTextFormat(Qt.TextFormat.RichText)
        self.badge_button = QToolButton()
        self.badge_button.setToolTip("Resume and show them")
        self.badge_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.badge_button.setStyleSheet(
            "QToolButton { background: palette(highlight); color: palette(highlighted-text);"
            " border: none; border-radius: 9px; padding: 1px 9px; font-weight: 600; }")
        self.badge_button.hide()
        self.follow_button = _button("↓ Follow", "Jump to the newest line and keep following")
        self.follow_button.hide()

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search  (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(160)
        self.search_edit.setMaximumWidth(260)
        self.search_edit.setToolTip("Enter: next match · Shift+Enter: previous · F3 / Shift+F3")
        self.prev_button = _button("▲", "Previous match (Shift+Enter, Shift+F3)")
        self.next_button = _button("▼", "Next match (Enter, F3)")
        self.match_label = QLabel()
        self.match_label.setMinimumWidth(70)
        self.match_label.setEnabled(False)  # greyed text: secondary information

        self.timestamps_button = _button("Timestamps", "Show the time each line was written",
                                         checkable=True)
        self.wrap_button = _button("Wrap", "Wrap long lines", checkable=True)
        self.copy_button = _button("Copy", "Copy the selection, or every line if nothing is selected")
        self.save_button = _button("Save…", "Save the kept lines to a text file")

        for widget in (self.pause_button, self.live_label, self.badge_button, self.follow_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        for widget in (self.search_edit, self.prev_button, self.next_button, self.match_label,
                       _separator(), self.timestamps_button, self.wrap_button, _separator(),
                       self.copy_button, self.save_button):
            layout.addWidget(widget)
        self.set_live(False)

    def set_live(self, live: bool) -> None:
        color, text = (_LIVE_GREEN, "Live") if live else (_OFFLINE_GREY, "Disconnected")
        self.live_label.setText(f'<span style="color:{color}">●</span>&nbsp;{text}')
        self.live_label.setToolTip("Streaming from the agent" if live
                                   else "Not connected: showing the lines received so far")

    def set_paused(self, paused: bool) -> None:
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")

    def set_pending(self, count: int, dropped: int) -> None:
        if count <= 0:
            self.badge_button.hide()
            return
        self.badge_button.setText(f"{count:,} new line{'s' if count != 1 else ''}")
        tip = "Resume and show them"
        if dropped:
            tip += f" (only the newest {count - dropped:,} are kept while paused)"
        self.badge_button.setToolTip(tip)
        self.badge_button.show()


class EmptyState(QWidget):
    """Shown instead of an empty text area, saying what to expect rather than nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setWeight(font.Weight.DemiBold)
        self.title.setFont(font)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.detail.setEnabled(False)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addStretch(1)
        self.set_live(False)

    def set_live(self, live: bool) -> None:
        if live:
            self.title.setText("Waiting for log output…")
            self.detail.setText("New lines appear here as soon as the app writes to "
                                "stdout or stderr.")
        else:
            self.title.setText("No logs yet")
            self.detail.setText("Logs stream here while connected to the server. "
                                "If the app is stopped, start it to see its output.")


class StatusLine(QLabel):
    """Line count and how much was dropped: the user should know the view is a window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEnabled(False)
        self.setContentsMargins(8, 2, 8, 3)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._message = ""

    def update_counts(self, kept: int, dropped: int, max_lines: int) -> None:
        text = f"{kept:,} line{'s' if kept != 1 else ''}" if kept else ""
        if dropped:
            text += f" · {dropped:,} older dropped (keeping the newest {max_lines:,})"
        if self._message:
            text = f"{text} · {self._message}" if text else self._message
        self.setText(text)

    def set_message(self, message: str) -> None:
        self._message = message
