"""The release part of the Deploys tab: kept versions with "Roll back to this" (after a
confirmation) and the Domains dialog. Kept apart from deploys_tab.py, which owns the
history and the build log; it tells the tab about a rollback through ``sig_deployed``."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from basepod_agent.protocol.routing import AppDomains, ReleaseInfo, ReleaseList
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.confirm import confirm
from basepod_desktop.ui.dialogs.domains import DomainsDialog
from basepod_desktop.ui.widgets.releases import ReleasesPanel, describe_release


class ReleasesSection(QWidget):
    sig_deployed = Signal(str)  # the id of the rollback deploy just requested

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.listed: Optional[ReleaseList] = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 4)
        self.panel = ReleasesPanel(self)
        self.panel.sig_rollback_requested.connect(self.ask_rollback)
        col.addWidget(self.panel)
        self.hide()

    def load(self, server: str, app: str) -> None:
        self.server, self.app = server, app

        def done(listed: ReleaseList) -> None:
            if (server, app) == (self.server, self.app):
                self.listed = listed
                self.panel.set_releases(listed)
                self.setVisible(bool(listed.releases))

        self.ctx.tasks.run(self.ctx.fleet.releases(server, app), what=f"Could not load the versions of {app}",
                           on_success=done, background=True)

    def set_live(self, live: bool) -> None:
        self.panel.set_enabled(live)

    def ask_rollback(self, release: ReleaseInfo):
        return confirm(self, f"Roll {self.app} back?",
                       f"Version {release.version} ({describe_release(release)}) starts beside the running "
                       "one and takes over once it is healthy. Nothing else changes: env and settings stay.",
                       "Roll back", lambda: self.rollback(release.version), destructive=False)

    def rollback(self, version: str) -> None:
        server, app = self.server, self.app
        button = self.panel.buttons.get(version)
        self.ctx.tasks.run(self.ctx.fleet.rollback(server, app, version), what=f"Could not roll {app} back",
                           busy_widget=button, on_success=lambda created: self.sig_deployed.emit(created.id))

    def edit_domains(self) -> None:
        server, app = self.server, self.app

        def opened(current: AppDomains) -> None:
            self.domains_dialog = DomainsDialog(self.ctx, server, app, current, self)
            self.domains_dialog.open()

        self.ctx.tasks.run(self.ctx.fleet.get_domains(server, app), what=f"Could not load the domains of {app}",
                           on_success=opened)
