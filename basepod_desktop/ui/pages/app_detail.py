"""One app: what its container is doing (Overview), what it prints (Logs), its
variables (Env), its health check (Health) and how it gets built (Deploys).

The log tab is fed from ``ServerConnection.follow_logs``, which re-attaches by itself
after a dropped link; this page only reflects that in the viewer's live state and a
one-line status, and stops the stream when the page is left.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from datetime import datetime
from typing import Optional

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QFormLayout, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import AppInfo, AppStatus, LogBatch, LogEnd
from basepod_desktop.core.connection import StreamInterrupted, StreamResumed
from basepod_desktop.core.fleet import app_url
from basepod_desktop.ui import theme
from basepod_desktop.ui.apps_model import format_duration, uptime_seconds
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.confirm import confirm
from basepod_desktop.ui.logs.viewer import LogViewer
from basepod_desktop.ui.pages.deploys_tab import DeploysTab
from basepod_desktop.ui.pages.env_tab import EnvTab
from basepod_desktop.ui.pages.health_tab import HealthTab
from basepod_desktop.ui.pages.webhook_tab import WebhookTab
from basepod_desktop.ui.pages.metrics_tab import MetricsTab
from basepod_desktop.ui.pages.limits_rows import LimitsRows
from basepod_desktop.core.limits import oom_text
from basepod_desktop.ui.widgets.callout import Callout
from basepod_desktop.ui.widgets.health import HealthDot
from basepod_desktop.ui.widgets.status import StatusPill

LOG_TAIL = 500


def _when(value: Optional[datetime]) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


class AppDetailPage(QWidget):
    sig_back_requested = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.app_name: Optional[str] = None
        self._log_task: Optional[asyncio.Task] = None
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 16, 24, 20)
        col.setSpacing(12)
        self.back = QPushButton("←  Apps")
        self.back.setProperty("role", "flat")
        self.back.setToolTip("Back to the app list (Esc / Alt+Left)")
        self.back.clicked.connect(self.sig_back_requested.emit)
        col.addWidget(self.back, 0, Qt.AlignmentFlag.AlignLeft)
        header = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("PageTitle")
        header.addWidget(self.title)
        header.addSpacing(6)
        self.pill = StatusPill()
        header.addWidget(self.pill)
        self.health_dot = HealthDot(10)
        header.addWidget(self.health_dot)
        self.health_label = QLabel()
        self.health_label.setObjectName("Muted")
        header.addWidget(self.health_label)
        header.addStretch()
        self.actions_bar = QWidget()
        bar = QHBoxLayout(self.actions_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QPushButton] = {}
        for key, label in (("start", "▶ Start"), ("stop", "■ Stop"), ("restart", "↻ Restart"),
                           ("open", "Open in browser"), ("delete", "Delete…")):
            button = QPushButton(label)
            if key == "delete":
                button.setProperty("role", "danger")
            button.clicked.connect(lambda _=False, k=key: self.trigger(k))
            self.buttons[key] = button
            bar.addWidget(button)
        header.addWidget(self.actions_bar)
        col.addLayout(header)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("PageSubtitle")
        col.addWidget(self.subtitle)
        self.restart_callout = Callout()
        self.restart_callout.sig_action.connect(lambda _k: self.apply())
        col.addWidget(self.restart_callout)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(False)
        self.overview = QWidget()
        self.form = QFormLayout(self.overview)
        self.form.setContentsMargins(20, 18, 20, 18)
        self.form.setVerticalSpacing(10)
        self.form.setHorizontalSpacing(28)
        self.fields: dict[str, QLabel] = {}
        for key in ("State", "Exit code", "Image", "Container port", "Host port", "URL", "Command",
                    "Environment", "Created", "Started", "Finished", "Uptime", "Container"):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            value.setOpenExternalLinks(True)
            value.setWordWrap(True)
            name = QLabel(key)
            name.setObjectName("Muted")
            self.form.addRow(name, value)
            self.fields[key] = value
        self.limits_rows = LimitsRows(ctx, self.form, self)
        self.tabs.addTab(self.overview, "Overview")
        logs = QWidget()
        logs_col = QVBoxLayout(logs)
        logs_col.setContentsMargins(0, 0, 0, 0)
        logs_col.setSpacing(0)
        self.stream_state = QLabel()
        self.stream_state.setObjectName("Muted")
        self.stream_state.setContentsMargins(10, 6, 10, 6)
        logs_col.addWidget(self.stream_state)
        self.viewer = LogViewer(logs, max_lines=ctx.settings.log_max_lines)
        logs_col.addWidget(self.viewer, 1)
        self.tabs.addTab(logs, "Logs")
        self.env_tab = EnvTab(ctx)
        self.tabs.addTab(self.env_tab, "Env")
        self.health_tab = HealthTab(ctx)
        self.tabs.addTab(self.health_tab, "Health")
        self.deploys_tab = DeploysTab(ctx)
        self.tabs.addTab(self.deploys_tab, "Deploys")
        self.webhook_tab = WebhookTab(ctx)
        self.tabs.addTab(self.webhook_tab, "Webhook")
        self.metrics_tab = MetricsTab(ctx)
        self.tabs.addTab(self.metrics_tab, "Metrics")
        self.tabs.currentChanged.connect(self._tab_changed)
        col.addWidget(self.tabs, 1)
        for keys, slot in (("Esc", self.sig_back_requested.emit), ("Alt+Left", self.sig_back_requested.emit),
                           ("Ctrl+1", lambda: self.tabs.setCurrentIndex(0)),
                           ("Ctrl+2", lambda: self.tabs.setCurrentIndex(1)),
                           ("Ctrl+3", lambda: self.tabs.setCurrentWidget(self.env_tab)),
                           ("Ctrl+4", lambda: self.tabs.setCurrentWidget(self.health_tab)),
                           ("Ctrl+5", lambda: self.tabs.setCurrentWidget(self.deploys_tab)),
                           ("Ctrl+O", lambda: self.trigger("open")),
                           (QKeySequence(Qt.Key.Key_Delete), lambda: self.trigger("delete"))):
            action = QAction(self, shortcut=QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        ctx.bridge.sig_apps.connect(self._apps_changed)
        ctx.bridge.sig_status.connect(lambda name, _s: self._apps_changed(name))

    # --- lifecycle ---------------------------------------------------------------------

    def show_app(self, server: str, app: str) -> None:
        if (server, app) != (self.server, self.app_name):
            self.stop_logs()
            self.server, self.app_name = server, app
            self.viewer.clear()
            self.tabs.setCurrentIndex(0)
            self._follow_logs()
            if not self.ctx.fleet.is_stale(server):
                self.ctx.tasks.run(self.ctx.fleet.get_app(server, app), what=f"Could not load {app}")
            self.env_tab.server = self.env_tab.app = None  # loads when its tab is opened
            self.health_tab.show_app(server, app)
            self.deploys_tab.show_app(server, app)
            self.webhook_tab.show_app(server, app)
            self.metrics_tab.show_app(server, app)
            self.limits_rows.show_app(server, app)
        self._render()

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.env_tab and self.server is not None:
            self.env_tab.show_app(self.server, self.app_name)

    def stop_logs(self) -> None:
        if self._log_task is not None:
            self._log_task.cancel()
            self._log_task = None
        self.viewer.set_live(False)
        self.deploys_tab.stop_log()

    def _follow_logs(self) -> None:
        conn = self.ctx.fleet.connection(self.server)
        self._log_task = self.ctx.tasks.run(self._pump_logs(conn, self.app_name),
                                            what=f"The log stream of {self.app_name} stopped")

    async def _pump_logs(self, conn, app: str) -> None:
        self._stream_note("Waiting for the server…")
        async with aclosing(conn.follow_logs(app, LOG_TAIL)) as stream:
            async for message in stream:
                if isinstance(message, LogBatch):
                    if not self.viewer.is_live():
                        self.viewer.set_live(True)
                        self._stream_note("")
                    self.viewer.append_lines(message.lines)
                elif isinstance(message, StreamInterrupted):
                    self.viewer.set_live(False)
                    self._stream_note(f"Reconnecting… the log resumes where it stopped ({message.reason})")
                elif isinstance(message, StreamResumed):
                    self.viewer.set_live(True)
                    self._stream_note("")
                elif isinstance(message, LogEnd):
                    self.viewer.set_live(False)
                    self._stream_note(f"Log stream ended: {message.reason}")
                    return

    def _stream_note(self, text: str) -> None:
        """Only what the viewer's own Live badge cannot say: waiting, reconnecting, ended."""
        self.stream_state.setText(text)
        self.stream_state.setVisible(bool(text))

    # --- rendering ---------------------------------------------------------------------

    def app(self) -> Optional[AppInfo]:
        if self.server is None or self.app_name is None:
            return None
        return self.ctx.fleet.snapshot(self.server).app(self.app_name)

    def _apps_changed(self, name: str) -> None:
        if name != self.server:
            return
        app = self.app()
        ended = self._log_task is not None and self._log_task.done()
        if ended and app is not None and app.status is AppStatus.RUNNING:
            self.viewer.clear()  # a new run: show its recent history from the top again
            self._follow_logs()
        self._render()

    def _render(self) -> None:
        app = self.app()
        self.title.setText(self.app_name or "")
        live = self.server is not None and not self.ctx.fleet.is_stale(self.server)
        if app is None:
            self.pill.set_status("removed", theme.status_color("missing"))
            self.subtitle.setText(f"{self.app_name} is no longer on {self.ctx.display_name(self.server)}.")
            for button in self.buttons.values():
                button.setEnabled(False)
            self.restart_callout.hide()
            return
        self.pill.set_status(app.status.value, theme.status_color(app.status.value))
        profile = self.ctx.profile(self.server)
        url = app_url(profile, app)
        where = self.ctx.display_name(self.server)
        self.subtitle.setText(f"on {where}" + ("" if live else " · not connected, showing the last known state"))
        running = app.status is AppStatus.RUNNING
        self.buttons["start"].setEnabled(live and not running)
        self.buttons["stop"].setEnabled(live and running)
        self.buttons["restart"].setEnabled(live)
        self.buttons["delete"].setEnabled(live)
        self.buttons["open"].setEnabled(True)
        health = app.health.value if app.health else None
        self.health_dot.set_status(health)
        self.health_label.setText(theme.HEALTH_LABELS[health])
        if app.restart_needed:
            self.restart_callout.show_message(
                "warning", f"<b>Restart needed.</b> The env of {app.name} changed; the app still runs with "
                "the old values until its container is recreated.", (("apply", "Apply now", True),))
            self.restart_callout.buttons["apply"].setEnabled(live)
        else:
            self.restart_callout.hide()
        uptime = uptime_seconds(app)
        values = {
            "State": app.status.value, "Exit code": "—" if app.exit_code is None else str(app.exit_code),
            "Image": app.image, "Container port": str(app.port), "Host port": str(app.host_port),
            "URL": f"<a href='{url}'>{url}</a>",
            "Command": " ".join(app.command) if app.command else "image default",
            "Environment": ", ".join(app.env_keys) if app.env_keys else "none",
            "Created": _when(app.created_at), "Started": _when(app.started_at),
            "Finished": _when(app.finished_at),
            "Uptime": format_duration(uptime) if uptime is not None else "—",
            "Container": (app.container_id or "—")[:12],
        }
        if app.oom_killed:
            values["State"] = f"{app.status.value} — {oom_text(app)}"
        for key, value in values.items():
            self.fields[key].setText(value)
        self.limits_rows.render(app, live)

    # --- intent ------------------------------------------------------------------------

    def trigger(self, key: str) -> None:
        app = self.app()
        if app is None or not self.buttons[key].isEnabled():
            return
        server = self.server
        if key == "open":
            QDesktopServices.openUrl(QUrl(app_url(self.ctx.profile(server), app)))
        elif key == "delete":
            confirm(self, f"Delete {app.name}?", "Its container is removed; this cannot be undone.",
                    "Delete app", lambda: self._act(server, app.name, "delete"))
        else:
            self._act(server, app.name, key)

    def apply(self) -> None:
        app = self.app()
        if app is None or self.ctx.fleet.is_stale(self.server):
            return
        server, name = self.server, app.name
        self.ctx.tasks.run(self.ctx.fleet.apply_app(server, name), what=f"Could not apply the env of {name}",
                           busy_widget=self.restart_callout,
                           on_success=lambda _a: self.ctx.notifier.success(f"{name} recreated with its new env"))

    def _act(self, server: str, app: str, verb: str) -> None:
        def done(_result) -> None:
            if verb == "delete":
                self.ctx.notifier.success(f"{app} deleted")
                self.sig_back_requested.emit()
        self.ctx.tasks.run(self.ctx.fleet.act(server, app, verb), what=f"Could not {verb} {app}",
                           busy_widget=self.actions_bar, on_success=done)
