"""A step list with status icons over a live log: how install and upgrade show progress.

It renders the core's step events (`core/onboarding_model.py`) and nothing else; the
dialog that owns it runs the job and offers Retry.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from basepod_desktop.core.onboarding_model import StepEvent, StepOutput, StepStatus, StepUpdate
from basepod_desktop.ui import theme
from basepod_desktop.ui.widgets.callout import Callout

_ICONS = {None: "○", StepStatus.RUNNING: "◐", StepStatus.OK: "✓", StepStatus.SKIPPED: "–",
          StepStatus.WARNING: "!", StepStatus.FAILED: "✕"}
_COLORS = {None: "muted", StepStatus.RUNNING: "info", StepStatus.OK: "success", StepStatus.SKIPPED: "muted",
           StepStatus.WARNING: "warning", StepStatus.FAILED: "danger"}
MAX_LOG_LINES = 5000


def card_grid(stretch_column: int) -> tuple[QFrame, QGridLayout]:
    """A rounded card holding a label grid (steps, host facts, diagnostics)."""
    card = QFrame(objectName="Card")
    grid = QGridLayout(card)
    grid.setContentsMargins(14, 12, 14, 12)
    grid.setHorizontalSpacing(12)
    grid.setVerticalSpacing(6)
    grid.setColumnStretch(stretch_column, 1)
    return card, grid


class StepProgress(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(10)
        card, self.grid = card_grid(stretch_column=2)
        col.addWidget(card)
        self.failure = Callout()
        col.addWidget(self.failure)
        self.log = QPlainTextEdit(readOnly=True, objectName="Mono")
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setPlaceholderText("Output of the commands run on the server appears here.")
        col.addWidget(self.log, 1)
        self.rows: dict[str, tuple[QLabel, QLabel, QLabel]] = {}
        self.status: dict[str, StepStatus | None] = {}

    def set_steps(self, steps: list[tuple[str, str]]) -> None:
        """(name, title) rows, all pending; clears the log and any failure."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.rows.clear()
        self.status.clear()
        self.failure.hide()
        self.log.clear()
        for row, (name, title) in enumerate(steps):
            icon, label, detail = QLabel(), QLabel(title), QLabel(objectName="Muted")
            icon.setFixedWidth(18)
            icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
            bold = QFont(icon.font())
            bold.setBold(True)
            icon.setFont(bold)
            detail.setWordWrap(True)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            for column, widget in enumerate((icon, label, detail)):
                self.grid.addWidget(widget, row, column, Qt.AlignmentFlag.AlignTop)
            self.rows[name] = (icon, label, detail)
            self._paint(name, None, "")

    def apply(self, event: StepEvent) -> None:
        if isinstance(event, StepOutput):
            self.log.appendPlainText(event.line)
            self._follow()
            return
        if event.step not in self.rows:
            return
        if event.status is StepStatus.RUNNING:
            self.log.appendPlainText(f"==> {event.title}")
        self._paint(event.step, event.status, event.message)
        if event.status is StepStatus.FAILED:
            self.show_failure(event.title, event.message)

    def _follow(self) -> None:
        """Keep the newest line in view without scrolling sideways to the end of a long one."""
        self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())
        self.log.horizontalScrollBar().setValue(0)

    def show_failure(self, title: str, message: str, actions=(("retry", "Retry", True),)) -> None:
        first, _, rest = message.partition("\n")
        html = f"<b>{escape(title)} failed.</b> {escape(first)}"
        if rest:
            self.log.appendPlainText(rest)
            self._follow()
        self.failure.show_message("danger", html + "<br>Fix the cause, then retry: finished steps are skipped.",
                                  actions)

    def _paint(self, name: str, status: StepStatus | None, message: str) -> None:
        icon, label, detail = self.rows[name]
        self.status[name] = status
        color = QColor(getattr(theme.colors(), _COLORS[status]))
        icon.setText(_ICONS[status])
        icon.setStyleSheet(f"color: {color.name()};")
        label.setStyleSheet("font-weight: 600;" if status is StepStatus.RUNNING else "")
        detail.setText(message.partition("\n")[0])
