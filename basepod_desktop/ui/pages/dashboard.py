"""Dashboard of one server: its apps as a sortable, filterable table with actions.

The page renders the fleet snapshot (instant when switching servers, stale while the
server is away) and states intent through the task runner; it never touches a socket.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QPushButton,
    QStackedWidget, QTableView, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import AppInfo, AppStatus
from basepod_desktop.core.connection import ConnectionStatus
from basepod_desktop.ui import theme
from basepod_desktop.ui.apps_model import (
    APP_ROLE, COL_HEALTH, COL_IMAGE, COL_NAME, COL_STATUS, COL_UPTIME, COL_URL, AppsFilterProxy,
    AppsTableModel,
)
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.confirm import confirm
from basepod_desktop.ui.dialogs.create_app import CreateAppDialog
from basepod_desktop.ui.tray import app_icon
from basepod_desktop.ui.widgets.health import HealthDelegate
from basepod_desktop.ui.widgets.panels import ConnectionBanner, EmptyState
from basepod_desktop.ui.widgets.status import StatusDelegate, StatusPill
from basepod_desktop.ui.pages.dashboard_metrics import DashboardMetrics


class DashboardPage(QWidget):
    sig_open_app_requested = Signal(str, str)  # server, app
    sig_login_requested = Signal(str)
    sig_host_key_requested = Signal(str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.model = AppsTableModel(self)
        self.proxy = AppsFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self._shortcuts()
        ctx.bridge.sig_apps.connect(self._apps_changed)
        ctx.bridge.sig_status.connect(self._status_changed)
        self._ticker = QTimer(self, interval=30_000, timeout=self.model.tick)
        self._ticker.start()
        self.metrics = DashboardMetrics(ctx, self, self.model)

    # --- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 20, 24, 20)
        col.setSpacing(14)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        title_row = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("PageTitle")
        self.pill = StatusPill()
        title_row.addWidget(self.title)
        title_row.addSpacing(6)
        title_row.addWidget(self.pill)
        title_row.addStretch()
        titles.addLayout(title_row)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("PageSubtitle")
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        self.filter = QLineEdit(placeholderText="Filter apps  (Ctrl+F)", clearButtonEnabled=True)
        self.filter.setFixedWidth(220)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        header.addWidget(self.filter)
        self.refresh_button = QPushButton("Refresh", toolTip="Reload the app list (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        header.addWidget(self.refresh_button)
        self.new_button = QPushButton("+ New app", toolTip="Create an app (Ctrl+N)")
        self.new_button.setProperty("role", "primary")
        self.new_button.clicked.connect(self.open_create_dialog)
        header.addWidget(self.new_button)
        col.addLayout(header)

        self.banner = ConnectionBanner()
        self.banner.sig_login_requested.connect(lambda: self.sig_login_requested.emit(self.server))
        self.banner.sig_host_key_requested.connect(lambda: self.sig_host_key_requested.emit(self.server))
        self.banner.sig_retry_requested.connect(self._retry)
        col.addWidget(self.banner)

        self.actions_bar = QWidget()
        bar = QHBoxLayout(self.actions_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QPushButton] = {}
        for key, label, tip in (("start", "▶ Start", "Start (Ctrl+Shift+S)"), ("stop", "■ Stop", "Stop (Ctrl+Shift+X)"),
                                ("restart", "↻ Restart", "Restart (Ctrl+Shift+R)"),
                                ("apply", "Apply env", "Recreate the app with its changed env"),
                                ("open", "Open in browser", "Open the app's URL (Ctrl+O)"),
                                ("copy", "Copy URL", "Copy the app's URL (Ctrl+Shift+C)"),
                                ("details", "Details", "Show status and logs (Enter)"),
                                ("delete", "Delete…", "Delete the app (Del)")):
            button = QPushButton(label, toolTip=tip)
            if key == "delete":
                button.setProperty("role", "danger")
            if key == "apply":
                button.setProperty("role", "primary")
            button.clicked.connect(lambda _=False, k=key: self.trigger(k))
            self.buttons[key] = button
            if key == "delete":
                bar.addStretch()
            bar.addWidget(button)
        col.addWidget(self.actions_bar)

        self.stack = QStackedWidget()
        self.table = QTableView()
        self.table.setObjectName("AppsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegateForColumn(COL_STATUS, StatusDelegate(self.table))
        self.table.setItemDelegateForColumn(COL_HEALTH, HealthDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        head = self.table.horizontalHeader()
        head.setHighlightSections(False)
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, mode in ((COL_NAME, QHeaderView.ResizeMode.ResizeToContents),
                             (COL_STATUS, QHeaderView.ResizeMode.Fixed),
                             (COL_HEALTH, QHeaderView.ResizeMode.Fixed),
                             (COL_IMAGE, QHeaderView.ResizeMode.Stretch),
                             (COL_URL, QHeaderView.ResizeMode.ResizeToContents),
                             (COL_UPTIME, QHeaderView.ResizeMode.ResizeToContents)):
            head.setSectionResizeMode(column, mode)
        head.resizeSection(COL_STATUS, 120)
        head.resizeSection(COL_HEALTH, 250)
        self.table.doubleClicked.connect(lambda _i: self.trigger("details"))
        self.table.activated.connect(lambda _i: self.trigger("details"))
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.stack.addWidget(self.table)
        self.empty = EmptyState(app_icon(color=theme.colors().border), "No apps on this server yet",
                                "Run a container image as an app: Basepod starts it, publishes its port "
                                "and keeps it running.", "Create your first app")
        self.empty.sig_action.connect(self.open_create_dialog)
        self.stack.addWidget(self.empty)
        self.no_match = EmptyState(app_icon(color=theme.colors().border), "No app matches the filter",
                                   "Clear the filter (Esc in the filter box) to see every app.")
        self.stack.addWidget(self.no_match)
        col.addWidget(self.stack, 1)
        self.proxy.rowsInserted.connect(self._update_stack)
        self.proxy.rowsRemoved.connect(self._update_stack)
        self.proxy.modelReset.connect(self._update_stack)
        self.proxy.layoutChanged.connect(self._update_stack)

    def _shortcuts(self) -> None:
        for keys, slot in ((QKeySequence.StandardKey.New, self.open_create_dialog),
                           (QKeySequence.StandardKey.Refresh, self.refresh),
                           (QKeySequence.StandardKey.Find, self._focus_filter),
                           (QKeySequence(Qt.Key.Key_Delete), lambda: self.trigger("delete")),
                           (QKeySequence("Ctrl+O"), lambda: self.trigger("open")),
                           (QKeySequence("Ctrl+Shift+C"), lambda: self.trigger("copy")),
                           (QKeySequence("Ctrl+Shift+S"), lambda: self.trigger("start")),
                           (QKeySequence("Ctrl+Shift+X"), lambda: self.trigger("stop")),
                           (QKeySequence("Ctrl+Shift+R"), lambda: self.trigger("restart"))):
            action = QAction(self, shortcut=QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        clear = QAction(self.filter, shortcut=QKeySequence(Qt.Key.Key_Escape), triggered=self.filter.clear)
        clear.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.filter.addAction(clear)

    # --- rendering ---------------------------------------------------------------------

    def show_server(self, name: str) -> None:
        changed = name != self.server
        self.server = name
        if changed:
            self.filter.clear()
        self._render_header()
        self._render_apps()
        conn = self.ctx.fleet.connections.get(name)
        if changed and conn is not None and conn.status.is_connected:
            self.refresh()
        self.metrics.show_server(name)

    def _render_header(self) -> None:
        conn = self.ctx.fleet.connections.get(self.server)
        if conn is None:
            return
        status = conn.status
        self.title.setText(self.ctx.display_name(self.server))
        self.pill.set_status(status.label, theme.connection_color(status.state.value))
        who = f" · signed in as {conn.user.email}" if conn.user and status.is_connected else ""
        self.subtitle.setText(f"{conn.profile.display_target}{who}")
        snap = self.ctx.fleet.snapshot(self.server)
        note = ""
        if snap.updated_at is not None and not status.is_connected:
            note = f"Showing the last known state from {snap.updated_at.astimezone():%Y-%m-%d %H:%M}."
        self.banner.set_status(status, note)
        for widget in (self.new_button, self.refresh_button):
            widget.setEnabled(status.is_connected)
        self._update_buttons()

    def _render_apps(self) -> None:
        conn = self.ctx.fleet.connections.get(self.server)
        if conn is None:
            return
        stale = self.ctx.fleet.is_stale(self.server)
        selected = self.selected_app()
        self.model.set_apps(conn.profile, self.ctx.fleet.snapshot(self.server).apps, stale)
        self.table.setEnabled(True)
        self.table.setStyleSheet("QTableView { color: palette(placeholder-text); }" if stale else "")
        if selected is not None and self.selected_app() is None:
            self.select_app(selected.name)  # a reshaped list must not lose the user's place
        self._update_stack()
        self._update_buttons()

    def _update_stack(self, *_args) -> None:
        self.actions_bar.setVisible(self.model.rowCount() > 0)
        if self.model.rowCount() == 0:
            self.stack.setCurrentWidget(self.empty)
            never = self.server is not None and self.ctx.fleet.snapshot(self.server).updated_at is None
            if self.model.stale and never:
                self.empty.set_text("Not connected yet", "The apps of this server appear here once Basepod "
                                    "reaches it; the banner above says what it is waiting for.", False)
            elif self.model.stale:
                self.empty.set_text("No apps when last seen", "This server had no apps the last time "
                                    "Basepod reached it.", False)
            else:
                self.empty.set_text("No apps on this server yet", "Run a container image as an app: Basepod "
                                    "starts it, publishes its port and keeps it running.", True)
        elif self.proxy.rowCount() == 0:
            self.stack.setCurrentWidget(self.no_match)
        else:
            self.stack.setCurrentWidget(self.table)

    def _apps_changed(self, name: str) -> None:
        if name == self.server:
            self._render_apps()

    def _status_changed(self, name: str, _status: ConnectionStatus) -> None:
        if name == self.server:
            self._render_header()
            self._render_apps()

    def _update_buttons(self, *_args) -> None:
        app = self.selected_app()
        live = self.server is not None and not self.ctx.fleet.is_stale(self.server)
        running = app is not None and app.status is AppStatus.RUNNING
        self.buttons["start"].setEnabled(live and app is not None and not running)
        self.buttons["stop"].setEnabled(live and running)
        self.buttons["restart"].setEnabled(live and app is not None)
        self.buttons["delete"].setEnabled(live and app is not None)
        self.buttons["apply"].setEnabled(live and app is not None and app.restart_needed)
        self.buttons["apply"].setVisible(app is not None and app.restart_needed)
        for key in ("open", "copy", "details"):
            self.buttons[key].setEnabled(app is not None)

    # --- intent ------------------------------------------------------------------------

    def selected_app(self) -> Optional[AppInfo]:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(APP_ROLE) if rows else None

    def select_app(self, name: str) -> None:
        row = self.model.row_of(name)
        if row >= 0:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            self.table.selectionModel().select(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.table.setCurrentIndex(index)

    def refresh(self) -> None:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            return
        self.ctx.tasks.run(self.ctx.fleet.refresh(self.server), what="Could not load the apps",
                           busy_widget=self.refresh_button)

    def trigger(self, key: str) -> None:
        app = self.selected_app()
        if app is None or self.server is None or not self.buttons[key].isEnabled():
            return
        server = self.server
        if key == "details":
            self.sig_open_app_requested.emit(server, app.name)
        elif key == "open":
            QDesktopServices.openUrl(QUrl(self.model.url_of(app)))
        elif key == "copy":
            QGuiApplication.clipboard().setText(self.model.url_of(app))
            self.ctx.notifier.info("URL copied", self.model.url_of(app))
        elif key == "delete":
            confirm(self, f"Delete {app.name}?",
                    f"The container of {app.name} on {self.ctx.display_name(server)} is removed; "
                    "this cannot be undone.", "Delete app",
                    lambda: self._act(server, app.name, "delete"))
        else:
            self._act(server, app.name, key)

    def _act(self, server: str, app: str, verb: str) -> None:
        done = {"start": "started", "stop": "stopped", "restart": "restarted", "delete": "deleted",
                "apply": "recreated with its new env"}[verb]
        call = self.ctx.fleet.apply_app(server, app) if verb == "apply" else self.ctx.fleet.act(server, app, verb)
        self.ctx.tasks.run(call, what=f"Could not {verb} {app}",
                           busy_widget=self.actions_bar,
                           on_success=lambda _r: self.ctx.notifier.success(f"{app} {done}"))

    def open_create_dialog(self) -> Optional[CreateAppDialog]:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            return None
        dialog = CreateAppDialog(self.ctx, self.server, self)
        dialog.sig_created.connect(lambda app: self.select_app(app.name))
        dialog.open()
        return dialog

    def _focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    def _retry(self) -> None:
        if self.server in self.ctx.fleet.connections:
            self.ctx.fleet.connection(self.server).retry_now()

    def _context_menu(self, pos) -> None:
        index: QModelIndex = self.table.indexAt(pos)
        if not index.isValid():
            return
        menu = QMenu(self)
        for key, button in self.buttons.items():
            action = menu.addAction(button.text())
            action.setEnabled(button.isEnabled())
            action.triggered.connect(lambda _=False, k=key: self.trigger(k))
        menu.popup(self.table.viewport().mapToGlobal(pos))
