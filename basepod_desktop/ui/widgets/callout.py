"""A tinted strip inside a page that says one thing and offers the next step.

Used for "restart needed → Apply", "someone else changed the env → Reload" and "only
admins can see values": a message that belongs to this page, not to the global
notification area, and that stays until its cause is gone.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class Callout(QFrame):
    sig_action = Signal(str)  # the key of the clicked button

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Callout")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 8, 8, 8)
        row.setSpacing(8)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.message, 1)
        self._row = row
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def show_message(self, tone: str, html: str, actions: tuple[tuple[str, str, bool], ...] = ()) -> None:
        """``actions``: (key, label, primary) buttons, right-aligned in that order."""
        self.setProperty("tone", tone)
        self.style().unpolish(self)
        self.style().polish(self)
        self.message.setText(html)
        for button in self.buttons.values():
            button.setParent(None)
            button.deleteLater()
        self.buttons = {}
        for key, label, primary in actions:
            button = QPushButton(label)
            if primary:
                button.setProperty("role", "primary")
            button.clicked.connect(lambda _=False, k=key: self.sig_action.emit(k))
            self._row.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.buttons[key] = button
        self.show()
