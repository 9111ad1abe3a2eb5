"""The "CPU limit" and "Memory limit" rows of the app page's Overview, and the button
that opens the limits dialog. The rows show the caps in force and mark the ones that come
from the server's default; until the agent's answer arrives they show the app's caps."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from basepod_agent.protocol import AppInfo, LimitsView
from basepod_desktop.core.limits import cpus_line, cpus_text, memory_line, memory_text
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.limits import LimitsDialog


def _label() -> QLabel:
    label = QLabel()
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class LimitsRows:
    def __init__(self, ctx: UiContext, form: QFormLayout, parent: QWidget) -> None:
        self.ctx, self.parent = ctx, parent
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.view: Optional[LimitsView] = None
        self.dialog: Optional[LimitsDialog] = None
        self._reloaded_for: Optional[tuple] = None
        self.cpus, self.memory = _label(), _label()
        self.edit = QPushButton("Edit limits…")
        self.edit.setToolTip("Change this app's CPU and memory caps")
        self.edit.clicked.connect(self.open_dialog)
        for name, widget in (("CPU limit", self.cpus), ("Memory limit", self.memory)):
            label = QLabel(name)
            label.setObjectName("Muted")
            form.addRow(label, widget)
        button_row = QWidget()
        row = QHBoxLayout(button_row)
        row.setContentsMargins(0, 2, 0, 0)
        row.addWidget(self.edit)
        row.addStretch()
        form.addRow("", button_row)

    def show_app(self, server: str, app: str) -> None:
        self.server, self.app, self.view = server, app, None
        self.reload()

    def reload(self) -> None:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            return
        server, app = self.server, self.app
        self.ctx.tasks.run(self.ctx.fleet.get_limits(server, app), what=f"Could not load the limits of {app}",
                           on_success=lambda view: self._loaded(server, app, view))

    def _loaded(self, server: str, app: str, view: LimitsView) -> None:
        if (server, app) == (self.server, self.app):
            self.view = view
            self.render(self.ctx.fleet.snapshot(server).app(app), live=True)

    def render(self, app: Optional[AppInfo], live: bool) -> None:
        if self.view is not None and app is not None and self.view.app == app.name and \
                (self.view.cpus, self.view.memory_bytes) == (app.limits.cpus, app.limits.memory_bytes):
            self.cpus.setText(cpus_line(self.view))
            self.memory.setText(memory_line(self.view))
        elif app is not None:
            self.cpus.setText(cpus_text(app.limits.cpus))
            self.memory.setText(memory_text(app.limits.memory_bytes))
            seen = (app.name, app.limits.cpus, app.limits.memory_bytes)
            if live and self.view is not None and seen != self._reloaded_for:
                self._reloaded_for = seen  # changed elsewhere (bp, another desktop): once per change
                self.reload()
        self.edit.setEnabled(live and self.view is not None)

    def open_dialog(self) -> Optional[LimitsDialog]:
        if self.view is None or self.ctx.fleet.is_stale(self.server):
            return None
        self.dialog = LimitsDialog(self.ctx, self.server, self.app, self.view, self.parent)
        self.dialog.sig_saved.connect(self._saved)
        self.dialog.open()
        return self.dialog

    def _saved(self, view: LimitsView) -> None:
        self.view = view
        self.render(self.ctx.fleet.snapshot(self.server).app(self.app), live=True)
