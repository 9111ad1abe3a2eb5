"""The main window: sidebar | notifications over a stack of pages.

It wires pages together and owns the flows that span them (add/edit/remove a server,
log in, trust a host key); the pages themselves render and state intent. Prompts for a
server appear when that server is the one on screen, so a fleet of servers needing a
login never buries the window in dialogs at start-up.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMenu, QProgressBar, QStackedWidget, QVBoxLayout, QWidget

from basepod_agent.protocol import AGENT_VERSION
from basepod_desktop.core.connection import ConnectionStatus, ConnState
from basepod_desktop.core.onboarding import compare_versions
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.confirm import confirm
from basepod_desktop.ui.dialogs.diagnostics import DiagnosticsDialog, UpgradeDialog
from basepod_desktop.ui.dialogs.host_key import HostKeyDialog
from basepod_desktop.ui.dialogs.login import LoginDialog
from basepod_desktop.ui.dialogs.server import ServerDialog
from basepod_desktop.ui.dialogs.server_setup import InstallWizard
from basepod_desktop.ui.notifications import NotificationArea
from basepod_desktop.ui.pages.app_detail import AppDetailPage
from basepod_desktop.ui.pages.dashboard import DashboardPage
from basepod_desktop.ui.pages.fleet import FleetPage
from basepod_desktop.ui.sidebar import Sidebar


LOG_LINE_CHOICES = (1_000, 10_000, 50_000, 100_000)


class MainWindow(QMainWindow):
    sig_first_paint = Signal()
    sig_quit_requested = Signal()

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        self._painted = False
        self.keep_in_tray = False  # set by the app when a tray icon is shown
        self.prompts: dict[str, QWidget] = {}
        self.upgrade_offered: set[str] = set()
        self.setWindowTitle("Basepod")
        self.resize(1180, 740)
        self.setMinimumSize(860, 520)
        root = QWidget()
        row = QHBoxLayout(root)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.sidebar = Sidebar(ctx)
        row.addWidget(self.sidebar)
        content = QWidget()
        content.setObjectName("Content")
        content.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        col = QVBoxLayout(content)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.progress = QProgressBar(maximum=0, textVisible=False, fixedHeight=2)
        self.progress.setStyleSheet("QProgressBar { border: none; background: transparent; }")
        self.progress.setVisible(False)
        ctx.tasks.sig_busy_changed.connect(self.progress.setVisible)
        col.addWidget(self.progress)
        self.notifications = NotificationArea(ctx.notifier)
        col.addWidget(self.notifications)
        self.stack = QStackedWidget()
        self.fleet_page = FleetPage(ctx)
        self.dashboard = DashboardPage(ctx)
        self.detail = AppDetailPage(ctx)
        for page in (self.fleet_page, self.dashboard, self.detail):
            self.stack.addWidget(page)
        col.addWidget(self.stack, 1)
        row.addWidget(content, 1)
        self.setCentralWidget(root)
        self._connect()

    def _connect(self) -> None:
        sb = self.sidebar
        sb.sig_overview_requested.connect(self.show_overview)
        sb.sig_server_selected.connect(self.show_server)
        sb.sig_add_server_requested.connect(self.add_server)
        sb.sig_edit_server_requested.connect(self.edit_server)
        sb.sig_remove_server_requested.connect(self.remove_server)
        sb.sig_diagnostics_requested.connect(self.open_diagnostics)
        sb.sig_upgrade_requested.connect(self.open_upgrade)
        sb.sig_settings_requested.connect(self._settings_menu)
        self.fleet_page.sig_server_requested.connect(sb.select)
        self.fleet_page.sig_add_server_requested.connect(self.add_server)
        self.dashboard.sig_open_app_requested.connect(self.show_app)
        self.dashboard.sig_login_requested.connect(self.prompt_login)
        self.dashboard.sig_host_key_requested.connect(self.prompt_host_key)
        self.detail.sig_back_requested.connect(lambda: self.show_server(self.detail.server))
        self.ctx.bridge.sig_status.connect(self._status)
        self.ctx.bridge.sig_servers_changed.connect(self.reload_servers)
        add = QAction(self, shortcut=QKeySequence("Ctrl+Shift+N"), triggered=self.add_server)
        overview = QAction(self, shortcut=QKeySequence("Ctrl+0"), triggered=lambda: sb.select(None))
        quit_action = QAction(self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.sig_quit_requested.emit)
        self.addActions([add, overview, quit_action])

    # --- navigation --------------------------------------------------------------------

    def reload_servers(self) -> None:
        names = list(self.ctx.fleet.connections)
        self.sidebar.set_servers(names)
        self.fleet_page.set_servers(names)

    def current_server(self) -> Optional[str]:
        page = self.stack.currentWidget()
        if page is self.dashboard:
            return self.dashboard.server
        if page is self.detail:
            return self.detail.server
        return None

    def show_overview(self) -> None:
        self.detail.stop_logs()
        self.stack.setCurrentWidget(self.fleet_page)
        self.sidebar.select(None)

    def show_server(self, name: str) -> None:
        if name not in self.ctx.fleet.connections:
            return
        self.detail.stop_logs()
        self.detail.server = self.detail.app_name = None
        self.dashboard.show_server(name)
        self.stack.setCurrentWidget(self.dashboard)
        self.sidebar.select(name)
        self.ctx.settings.last_server = name
        self._prompt_if_needed(name, self.ctx.fleet.connection(name).status)

    def show_app(self, server: str, app: str) -> None:
        self.detail.show_app(server, app)
        self.stack.setCurrentWidget(self.detail)

    # --- prompts -----------------------------------------------------------------------

    def _status(self, name: str, status: ConnectionStatus) -> None:
        self._offer_upgrade(name, status)
        if name == self.current_server():
            self._prompt_if_needed(name, status)
        if status.state not in (ConnState.NEEDS_LOGIN, ConnState.NEEDS_HOST_KEY_CONFIRMATION):
            prompt = self.prompts.pop(name, None)
            if prompt is not None:
                prompt.close()

    def _prompt_if_needed(self, name: str, status: ConnectionStatus) -> None:
        if status.state is ConnState.NEEDS_LOGIN:
            self.prompt_login(name)
        elif status.state is ConnState.NEEDS_HOST_KEY_CONFIRMATION:
            self.prompt_host_key(name)

    def prompt_login(self, name: str) -> Optional[LoginDialog]:
        if isinstance(self.prompts.get(name), LoginDialog):
            return self.prompts[name]
        dialog = LoginDialog(self.ctx, name, self)
        self._track(name, dialog)
        dialog.open()
        return dialog

    def prompt_host_key(self, name: str) -> Optional[HostKeyDialog]:
        conn = self.ctx.fleet.connection(name)
        info = conn.status.host_key
        if info is None:
            return None
        if isinstance(self.prompts.get(name), HostKeyDialog):
            return self.prompts[name]
        dialog = HostKeyDialog(self.ctx.display_name(name), info, self)
        dialog.accepted.connect(lambda: conn.answer_host_key(True))
        dialog.rejected.connect(lambda: conn.answer_host_key(False))
        self._track(name, dialog)
        dialog.open()
        return dialog

    def _track(self, name: str, dialog: QWidget) -> None:
        self.prompts[name] = dialog
        dialog.finished.connect(lambda _r, n=name, d=dialog: self.prompts.pop(n, None) if self.prompts.get(n) is d else None)

    # --- servers -----------------------------------------------------------------------

    def add_server(self) -> ServerDialog:
        dialog = ServerDialog(taken=set(self.ctx.fleet.connections), parent=self)
        dialog.sig_saved.connect(lambda p: self.install_agent(p) if dialog.install_agent.isChecked()
                                 else self._save_server(p, new=True))
        dialog.open()
        return dialog

    def install_agent(self, profile: ServerProfile) -> InstallWizard:
        """Inspect, confirm and install; the server is saved once the agent is up and logged in."""
        wizard = InstallWizard(self.ctx, profile, self)
        wizard.sig_installed.connect(lambda p: self._save_server(p, new=True))
        wizard.start()
        return wizard

    def open_diagnostics(self, name: str) -> DiagnosticsDialog:
        dialog = DiagnosticsDialog(self.ctx, name, self)
        dialog.sig_upgrade_requested.connect(self.open_upgrade)
        dialog.open()
        dialog.run_checks()
        return dialog

    def open_upgrade(self, name: str) -> UpgradeDialog:
        dialog = UpgradeDialog(self.ctx, name, self)
        dialog.sig_upgraded.connect(lambda n: self.ctx.fleet.connection(n).retry_now())
        dialog.open()
        dialog.check()
        return dialog

    def _offer_upgrade(self, name: str, status: ConnectionStatus) -> None:
        """Once per server and run: say so when its agent is older than this desktop."""
        conn = self.ctx.fleet.connections.get(name)
        if conn is None or conn.profile.kind != "ssh" or name in self.upgrade_offered:
            return
        version = conn.agent_version if status.is_connected else None
        mismatch = status.state is ConnState.ERROR and "upgrade the agent" in (status.reason or "")
        if mismatch or (version and compare_versions(version, AGENT_VERSION) < 0):
            self.upgrade_offered.add(name)
            reason = (status.reason or "").rstrip(".")
            self.ctx.notifier.warning(
                f"Agent upgrade available for {name}",
                (f"It runs agent {version}; this Basepod has {AGENT_VERSION}." if version
                 else reason[:1].upper() + reason[1:] + ".")
                + " Right-click the server in the sidebar and choose Upgrade agent…")

    def edit_server(self, name: str) -> Optional[ServerDialog]:
        profile = self.ctx.fleet.connection(name).profile
        if profile.kind == "local":
            return None
        dialog = ServerDialog(profile, taken=set(self.ctx.fleet.connections), parent=self)
        dialog.sig_saved.connect(lambda p: self._save_server(p, new=False))
        dialog.open()
        return dialog

    def _save_server(self, profile: ServerProfile, new: bool) -> None:
        try:
            (self.ctx.profiles.add if new else self.ctx.profiles.update)(profile)
        except Exception as exc:  # ProfileError, OSError: shown, never swallowed
            self.ctx.notifier.error("Could not save the server", str(exc))
            return
        self.ctx.fleet.add(profile)
        self.reload_servers()
        self.show_server(profile.name)

    def remove_server(self, name: str) -> None:
        def remove() -> None:
            try:
                self.ctx.profiles.remove(name)
            except Exception as exc:
                self.ctx.notifier.error(f"Could not remove {name}", str(exc))
                return
            if self.current_server() == name:
                self.show_overview()
            self.ctx.tasks.run(self.ctx.fleet.remove(name), what=f"Could not disconnect {name}",
                               on_success=lambda _r: self.reload_servers())
        confirm(self, f"Remove {name}?", "Basepod forgets this server (also for `bp`). "
                "The server and its apps are not touched.", "Remove server", remove)

    # --- window ------------------------------------------------------------------------

    def _settings_menu(self, anchor) -> None:
        menu = QMenu(self)
        tray = menu.addAction("Keep running in the tray when the window closes")
        tray.setCheckable(True)
        tray.setChecked(self.ctx.settings.close_to_tray)
        tray.toggled.connect(lambda on: self._set("close_to_tray", on))
        local = menu.addAction("Run the local agent (This computer)")
        local.setCheckable(True)
        local.setChecked(self.ctx.settings.run_local_agent)
        local.toggled.connect(lambda on: self._set("run_local_agent", on, "Takes effect at the next start."))
        notify = menu.addAction("Notify when an app stops unexpectedly")
        notify.setCheckable(True)
        notify.setChecked(self.ctx.settings.notify_unexpected_stops)
        notify.toggled.connect(lambda on: self._set("notify_unexpected_stops", on))
        lines = menu.addMenu("Log lines to keep")
        for count in LOG_LINE_CHOICES:
            action = lines.addAction(f"{count:,}")
            action.setCheckable(True)
            action.setChecked(count == self.ctx.settings.log_max_lines)
            action.triggered.connect(lambda _on=False, n=count: self._set("log_max_lines", n))
        menu.popup(anchor.mapToGlobal(anchor.rect().topLeft()))

    def _set(self, key: str, value: bool | int, note: str = "") -> None:
        setattr(self.ctx.settings, key, value)
        if key == "log_max_lines":
            self.detail.viewer.set_max_lines(int(value))
        try:
            self.ctx.save_settings()
        except OSError as exc:
            self.ctx.notifier.error("Could not save the settings", str(exc))
            return
        if note:
            self.ctx.notifier.info("Setting saved", note)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.sig_first_paint.emit()

    def closeEvent(self, event) -> None:
        if self.keep_in_tray and self.ctx.settings.close_to_tray:
            event.ignore()
            self.hide()
            return
        event.accept()
        self.sig_quit_requested.emit()
