"""Composition root: builds the services, the window and the tray, and tears them down.

Everything is created here and handed down (``UiContext``), so tests build the same app
with a temporary config dir, a file-only token store and their own known_hosts, and
nothing reaches for globals.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QApplication

from basepod_desktop.core import paths
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.fleet import Fleet, FleetCache
from basepod_desktop.core.local_agent import LocalAgent, LocalAgentError
from basepod_desktop.core.profiles import ProfileError, ProfileStore
from basepod_desktop.core.settings import SettingsStore
from basepod_desktop.ui import theme
from basepod_desktop.ui.context import FleetBridge, UiContext
from basepod_desktop.ui.main_window import MainWindow
from basepod_desktop.ui.notifications import Notifier
from basepod_desktop.ui.tasks import TaskRunner
from basepod_desktop.ui.tray import Tray, window_icon

log = logging.getLogger(__name__)


class BasepodApp:
    def __init__(
        self,
        qapp: QApplication,
        *,
        config_dir: Optional[Path] = None,
        tokens: Optional[TokenStore] = None,
        known_hosts_path: Optional[Path] = None,
        local_agent: Optional[LocalAgent] | bool = None,
    ) -> None:
        """``local_agent``: None = per settings, False = none, or a LocalAgent to use."""
        self.qapp = qapp
        self.config_dir = Path(config_dir) if config_dir else paths.config_dir()
        self.tokens = tokens or TokenStore(self.config_dir)
        settings_store = SettingsStore(self.config_dir)
        settings = settings_store.load()
        self.fleet = Fleet(self.tokens, FleetCache(self.config_dir), known_hosts_path=known_hosts_path)
        notifier = Notifier()
        self.ctx = UiContext(
            fleet=self.fleet, bridge=FleetBridge(self.fleet), profiles=ProfileStore(self.config_dir),
            settings_store=settings_store, settings=settings, notifier=notifier,
            tasks=TaskRunner(notifier),
        )
        if local_agent is None:
            local_agent = settings.run_local_agent
        if local_agent is True:
            local_agent = LocalAgent(self.tokens)
        self.local_agent: Optional[LocalAgent] = local_agent or None
        theme.apply(qapp)
        theme.follow_system(qapp)
        qapp.setWindowIcon(window_icon())
        self.window = MainWindow(self.ctx)
        self.tray = Tray(self.ctx)
        self.tray.sig_show_requested.connect(self.show_window)
        self.tray.sig_quit_requested.connect(self.quit)
        self.window.sig_quit_requested.connect(self.quit)
        self.window.keep_in_tray = self.tray.available
        self._closed = asyncio.Event()
        self._closing = False

    def start(self) -> None:
        """Create a connection per server and show the window; no waiting on the network."""
        if self.local_agent is not None:
            self.fleet.add(self.local_agent.profile, credentials=self.local_agent.credentials)
            self.ctx.tasks.run(self._start_local_agent(), what="The local agent could not start")
        try:
            for profile in self.ctx.profiles.list():
                self.fleet.add(profile)
        except ProfileError as exc:
            self.ctx.notifier.error("Could not read your servers", str(exc))
        self.window.reload_servers()
        last = self.ctx.settings.last_server
        remote = [n for n, c in self.fleet.connections.items() if c.profile.kind != "local"]
        if last in self.fleet.connections:
            self.window.show_server(last)
        elif remote or self.local_agent is None:
            self.window.show_overview()
        else:
            self.window.show_server(self.local_agent.profile.name)
        if self.tray.available:
            self.tray.show()
        self.window.show()

    async def _start_local_agent(self) -> None:
        try:
            await self.local_agent.ensure_running()
        except LocalAgentError as exc:
            raise RuntimeError(exc.message) from None
        self.fleet.connection(self.local_agent.profile.name).retry_now()

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def quit(self) -> None:
        if not self._closing:
            self._closing = True
            asyncio.ensure_future(self._shutdown())

    async def _shutdown(self) -> None:
        try:
            await self.aclose()
        finally:
            self._closed.set()
            self.qapp.quit()

    async def aclose(self) -> None:
        self.window.detail.stop_logs()
        try:
            self.ctx.save_settings()
        except OSError as exc:
            log.warning("could not save settings: %s", exc)
        await self.ctx.tasks.cancel_all()
        await self.fleet.aclose()
        if self.local_agent is not None:
            await self.local_agent.stop()
        self.tray.icon.hide()
        self.window.keep_in_tray = False
        self.window.hide()

    async def wait_closed(self) -> None:
        await self._closed.wait()
