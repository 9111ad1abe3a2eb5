"""Bulk edit: the whole env as ``.env`` text, checked line by line as you type.

The text is parsed with the agent's own ``.env`` parser, so the error names the line the
agent would refuse; "Apply to table" stays disabled until the text is valid, and it only
changes the unsaved draft (saving still goes through the diff preview).
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from basepod_desktop.core.envedit import DotenvError, parse_dotenv
from basepod_desktop.ui import theme


class EnvBulkDialog(QDialog):
    sig_applied = Signal(dict)

    def __init__(self, app: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EnvBulkDialog")
        self.setWindowTitle(f"Edit the env of {app} as text")
        self.resize(620, 460)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(8)
        heading = QLabel("Edit as .env")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel("One KEY=value per line; quote values with spaces or # (\"…\" understands \\n). "
                      "Comments and blank lines are ignored. Keys you delete here are removed.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        self.editor = QPlainTextEdit()
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(font)
        self.editor.setPlainText(text)
        self.editor.textChanged.connect(self.validate)
        col.addWidget(self.editor, 1)
        self.error = QLabel()
        self.error.setObjectName("FieldError")
        self.error.setWordWrap(True)
        col.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.addButton("Apply to table", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setProperty("role", "primary")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        col.addWidget(self.buttons)
        self.env: Optional[dict[str, str]] = None
        self.error_line: Optional[int] = None
        self.validate()

    def validate(self) -> bool:
        try:
            self.env = parse_dotenv(self.editor.toPlainText())
        except DotenvError as exc:
            self.env, self.error_line = None, exc.line
            self.error.setText(f"Line {exc.line}: {exc.message}")
            self._mark_line(exc.line)
        else:
            self.error_line = None
            self.error.setText(f"{len(self.env)} variable{'s' if len(self.env) != 1 else ''}, no problems.")
            self._mark_line(None)
        self.error.setObjectName("FieldError" if self.env is None else "Muted")
        self.error.style().polish(self.error)
        self.apply_button.setEnabled(self.env is not None)
        return self.env is not None

    def _mark_line(self, line: Optional[int]) -> None:
        if line is None:
            self.editor.setExtraSelections([])
            return
        selection = QTextEdit.ExtraSelection()
        tint = QColor(theme.colors().danger)
        tint.setAlpha(45)
        selection.format.setBackground(tint)
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        block = self.editor.document().findBlockByNumber(max(0, line - 1))
        selection.cursor = QTextCursor(block)
        self.editor.setExtraSelections([selection])

    def submit(self) -> None:
        if self.validate():
            self.sig_applied.emit(self.env)
            self.accept()
