"""Qt table model over an ``EnvDraft``: key, masked value, and a per-row reveal toggle.

Values are masked unless their row is revealed; editing a value shows it (you cannot
type into dots). With ``locked`` (a non-admin, who never receives values) the table
lists the keys only and nothing is editable or revealable.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from basepod_desktop.core.envedit import EnvDraft
from basepod_desktop.ui import theme

COLUMNS = ("Name", "Value", "")
COL_KEY, COL_VALUE, COL_REVEAL = range(3)
MASK = "••••••••"
_ROW_NOTES = {"added": "new, not saved yet", "changed": "changed, not saved yet"}


def _mark(color: str) -> QIcon:
    """A small dot before an edited (amber) or invalid (red) key."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(4, 4, 8, 8)
    painter.end()
    return QIcon(pixmap)


class EnvTableModel(QAbstractTableModel):
    def __init__(self, draft: EnvDraft, parent=None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.revealed: set[str] = set()
        self.locked = False
        self.locked_keys: list[str] = []
        self.problem_rows: dict[int, str] = {}

    def reset(self) -> None:
        self.beginResetModel()
        self.problem_rows = {p.row: p.message for p in self.draft.problems() if p.row is not None}
        self.endResetModel()

    def refresh(self) -> None:
        """Same rows, new contents (an edit): no reset, so an open editor survives."""
        self.problem_rows = {p.row: p.message for p in self.draft.problems() if p.row is not None}
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    def set_locked(self, keys: list[str] | None) -> None:
        """``keys`` not None: show them read-only without values (the caller may not see them)."""
        self.beginResetModel()
        self.locked = keys is not None
        self.locked_keys = list(keys or [])
        self.revealed.clear()
        self.endResetModel()

    def toggle_reveal(self, row: int) -> None:
        if self.locked or not 0 <= row < len(self.draft.rows):
            return
        key = self.draft.rows[row][0]
        self.revealed.symmetric_difference_update({key})
        self.dataChanged.emit(self.index(row, COL_VALUE), self.index(row, COL_REVEAL))

    def is_revealed(self, row: int) -> bool:
        return not self.locked and self.draft.rows[row][0] in self.revealed

    # --- QAbstractTableModel -----------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return len(self.locked_keys) if self.locked else len(self.draft.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not self.locked and index.column() in (COL_KEY, COL_VALUE):
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if self.locked:
            return self._locked_data(row, col, role)
        key, value = self.draft.rows[row]
        state = self.draft.row_state(row)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_KEY:
                return key or "(name needed)"
            if col == COL_VALUE:
                return value if key in self.revealed else (MASK if value else "")
            return "Hide" if key in self.revealed else "Show"
        if role == Qt.ItemDataRole.EditRole:
            return key if col == COL_KEY else value if col == COL_VALUE else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if row in self.problem_rows:
                return self.problem_rows[row]
            if col == COL_REVEAL:
                return "Show or hide this value"
            return _ROW_NOTES.get(state) or ("Double-click to edit" if col != COL_REVEAL else None)
        if role == Qt.ItemDataRole.ForegroundRole:
            if row in self.problem_rows and col == COL_KEY:
                return QColor(theme.colors().danger)
            if col == COL_REVEAL:
                return QColor(theme.colors().accent)
            if col == COL_VALUE and key not in self.revealed:
                return QColor(theme.colors().muted)
            if not key:
                return QColor(theme.colors().muted)
        if role == Qt.ItemDataRole.FontRole and col == COL_KEY:
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            font.setItalic(bool(state))
            if state:
                font.setWeight(QFont.Weight.DemiBold)
            return font
        if role == Qt.ItemDataRole.DecorationRole and col == COL_KEY and (state or row in self.problem_rows):
            return _mark(theme.colors().danger if row in self.problem_rows else theme.colors().warning)
        return None

    def _locked_data(self, row: int, col: int, role) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.locked_keys[row], MASK, "")[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_VALUE:
            return QColor(theme.colors().muted)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Only admins can see values"
        if role == Qt.ItemDataRole.FontRole and col == COL_KEY:
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            return font
        return None

    def setData(self, index: QModelIndex, value: Any, role=Qt.ItemDataRole.EditRole) -> bool:
        if self.locked or role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        row, text = index.row(), str(value)
        if index.column() == COL_KEY:
            old = self.draft.rows[row][0]
            self.draft.set_key(row, text.strip())
            if old in self.revealed:
                self.revealed.add(text.strip())
        elif index.column() == COL_VALUE:
            self.draft.set_value(row, text)
        else:
            return False
        self.refresh()
        return True
