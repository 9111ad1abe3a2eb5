"""The diff preview shown before an env is saved: added, changed and removed keys.

Values stay masked unless "Show values" is ticked, so reviewing a change in a shared
room does not put every secret on screen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)

from basepod_desktop.core.envedit import EnvDiff
from basepod_desktop.ui import theme
from basepod_desktop.ui.env_model import MASK


class EnvDiffDialog(QDialog):
    def __init__(self, app: str, diff: EnvDiff, running: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EnvDiffDialog")
        self.setWindowTitle(f"Review the env of {app}")
        self.resize(640, 400)
        self.diff = diff
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(8)
        heading = QLabel(f"Save {diff.count} change{'s' if diff.count != 1 else ''} to {app}?")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        note = ("The app keeps its current values until you apply: Basepod then recreates its container."
                if running else "The new values are used the next time the app is created or applied.")
        hint = QLabel(f"{diff.summary().capitalize()}. {note}")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["", "Name", "Before", "After"])
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        head = self.table.horizontalHeader()
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(32)
        col.addWidget(self.table, 1)
        self.show_values = QCheckBox("Show values")
        self.show_values.toggled.connect(self._fill)
        col.addWidget(self.show_values)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.addButton("Save changes", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setProperty("role", "primary")
        self.save_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        self._fill()

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(mark, key, before, after) in the order shown."""
        out = [("+", k, "", v) for k, v in sorted(self.diff.added.items())]
        out += [("~", k, old, new) for k, (old, new) in sorted(self.diff.changed.items())]
        out += [("−", k, v, "") for k, v in sorted(self.diff.removed.items())]
        return out

    def _fill(self, *_args) -> None:
        colors = {"+": theme.colors().success, "~": theme.colors().warning, "−": theme.colors().danger}
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for r, (mark, key, before, after) in enumerate(rows):
            shown = [mark, key, self._value(before, mark == "+"), self._value(after, mark == "−")]
            for c, text in enumerate(shown):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setForeground(QColor(colors[mark]))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                elif c == 1:
                    item.setFont(mono)
                elif mark == "−" and c == 2 or mark == "~" and c == 2:
                    item.setForeground(QColor(theme.colors().muted))
                self.table.setItem(r, c, item)

    def _value(self, value: str, absent: bool) -> str:
        if absent:
            return "—"
        if self.show_values.isChecked():
            return value if value else "(empty)"
        return MASK if value else "(empty)"
