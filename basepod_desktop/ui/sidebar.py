"""The sidebar: fleet overview entry, one row per server with its live state, Add server.

It only states intent (``sig_*_requested``); the main window decides what happens.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QPushButton, QVBoxLayout, QWidget,
)

from basepod_desktop.core.connection import ConnectionStatus
from basepod_desktop.ui import theme
from basepod_desktop.ui.context import UiContext

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
OVERVIEW = "\x00overview"  # cannot be a profile name


class ServerRow(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.setSpacing(10)
        self.dot = QLabel()
        self.dot.setFixedSize(10, 10)
        row.addWidget(self.dot)
        text = QVBoxLayout()
        text.setSpacing(0)
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: 600;")
        self.state = QLabel()
        self.state.setObjectName("Muted")
        self.state.setStyleSheet("font-size: 11px;")
        text.addWidget(self.title)
        text.addWidget(self.state)
        row.addLayout(text, 1)
        self.count = QLabel()
        self.count.setObjectName("Muted")
        row.addWidget(self.count)

    def set_state(self, state: str, label: str, tooltip: str) -> None:
        color = theme.connection_color(state).name()
        self.dot.setStyleSheet(f"background: {color}; border-radius: 5px;")
        self.state.setText(label)
        self.setToolTip(tooltip)


class Sidebar(QWidget):
    sig_overview_requested = Signal()
    sig_server_selected = Signal(str)
    sig_add_server_requested = Signal()
    sig_edit_server_requested = Signal(str)
    sig_remove_server_requested = Signal(str)
    sig_diagnostics_requested = Signal(str)
    sig_upgrade_requested = Signal(str)
    sig_settings_requested = Signal(object)  # the QPushButton to anchor a menu to

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("Sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedWidth(250)
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 16, 12, 12)
        col.setSpacing(8)
        brand = QLabel("◆ Basepod")
        brand.setObjectName("Brand")
        col.addWidget(brand)
        col.addSpacing(6)
        self.list = QListWidget()
        self.list.setObjectName("ServerList")
        self.list.setSpacing(1)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        col.addWidget(self.list, 1)
        self.rows: dict[str, ServerRow] = {}
        overview = QListWidgetItem()
        overview.setData(NAME_ROLE, OVERVIEW)
        overview.setSizeHint(QSize(200, 40))
        self.list.addItem(overview)
        label = QLabel("  ▦  Fleet overview")
        label.setStyleSheet("font-weight: 600; padding-left: 4px;")
        self.list.setItemWidget(overview, label)
        header = QListWidgetItem()
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        header.setSizeHint(QSize(200, 30))
        self.list.addItem(header)
        section = QLabel("SERVERS")
        section.setObjectName("SectionLabel")
        section.setContentsMargins(10, 10, 0, 0)
        self.list.setItemWidget(header, section)
        self.add_button = QPushButton("+  Add server")
        self.add_button.setToolTip("Add a server reached over SSH (Ctrl+Shift+N)")
        self.add_button.clicked.connect(self.sig_add_server_requested.emit)
        col.addWidget(self.add_button)
        self.settings_button = QPushButton("⚙  Settings")
        self.settings_button.setProperty("role", "flat")
        self.settings_button.clicked.connect(lambda: self.sig_settings_requested.emit(self.settings_button))
        col.addWidget(self.settings_button)
        ctx.bridge.sig_status.connect(self._status)
        ctx.bridge.sig_apps.connect(self._apps)

    def set_servers(self, names: list[str]) -> None:
        current = self.current()
        for name in list(self.rows):
            if name not in names:
                self.list.takeItem(self._row_index(name))
                del self.rows[name]
        for name in names:
            if name in self.rows:
                continue
            item = QListWidgetItem()
            item.setData(NAME_ROLE, name)
            item.setSizeHint(QSize(200, 50))
            self.list.addItem(item)
            row = ServerRow(self.ctx.display_name(name))
            self.rows[name] = row
            self.list.setItemWidget(item, row)
            conn = self.ctx.fleet.connections.get(name)
            if conn is not None:
                self._status(name, conn.status)
            self._apps(name)
        if current is not None:
            self.select(current)

    def select(self, name: Optional[str]) -> None:
        """Select a server (or the overview for None) without re-emitting if unchanged."""
        target = OVERVIEW if name is None else name
        for i in range(self.list.count()):
            if self.list.item(i).data(NAME_ROLE) == target:
                self.list.setCurrentRow(i)
                return

    def current(self) -> Optional[str]:
        item = self.list.currentItem()
        return item.data(NAME_ROLE) if item is not None else None

    def _row_index(self, name: str) -> int:
        return next(i for i in range(self.list.count()) if self.list.item(i).data(NAME_ROLE) == name)

    def _current_changed(self, item: Optional[QListWidgetItem], _previous) -> None:
        if item is None:
            return
        name = item.data(NAME_ROLE)
        if name == OVERVIEW:
            self.sig_overview_requested.emit()
        elif name:
            self.sig_server_selected.emit(name)

    def _status(self, name: str, status: ConnectionStatus) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.set_state(status.state.value, status.label,
                          f"{status.label}: {status.reason}" if status.reason else status.label)

    def _apps(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        counts = self.ctx.fleet.snapshot(name).counts()
        total = sum(counts.values())
        row.count.setText(f"{counts.get('running', 0)}/{total}" if total else "")
        row.count.setToolTip(f"{counts.get('running', 0)} of {total} apps running")

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        name = item.data(NAME_ROLE) if item is not None else None
        conn = self.ctx.fleet.connections.get(name) if name else None
        if conn is None or conn.profile.kind == "local":
            return
        menu = QMenu(self)
        menu.addAction("Edit…", lambda: self.sig_edit_server_requested.emit(name))
        menu.addAction("Reconnect", conn.retry_now)
        menu.addAction("Diagnostics…", lambda: self.sig_diagnostics_requested.emit(name))
        menu.addAction("Upgrade agent…", lambda: self.sig_upgrade_requested.emit(name))
        menu.addSeparator()
        menu.addAction("Remove…", lambda: self.sig_remove_server_requested.emit(name))
        menu.popup(self.list.viewport().mapToGlobal(pos))
