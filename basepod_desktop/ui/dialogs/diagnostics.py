"""Diagnostics for one server (SSH, agent, protocol, Podman, disk, memory, clock), each
failure with its fix, and the "Upgrade agent" flow that reuses the install progress view.
"""

from __future__ import annotations

from html import escape

import asyncio
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from basepod_desktop.core.onboarding import Onboarding
from basepod_desktop.core.onboarding_doctor import Check
from basepod_desktop.core.server_setup import NothingToUpgrade, NotInstalledByBasepod, ServerSetup
from basepod_desktop.ui import theme
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.server_setup import ask_host_key, heading, progress_panel, run_job
from basepod_desktop.ui.tasks import error_text
from basepod_desktop.ui.widgets.steps import card_grid

_LOOK = {"ok": ("✓", "success"), "warn": ("!", "warning"), "fail": ("✕", "danger"), "skip": ("–", "muted")}


def _setup(ctx: UiContext, name: str, parent: QWidget) -> ServerSetup:
    profile = ctx.profile(name)
    return ServerSetup(profile, ctx.fleet.tokens, known_hosts_path=ctx.fleet.known_hosts_path,
                       confirm_host_key=lambda info: ask_host_key(parent, name, info))


class DiagnosticsDialog(QDialog):
    sig_upgrade_requested = Signal(str)

    def __init__(self, ctx: UiContext, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.name = ctx, name
        self.checks: list[Check] = []
        self.setObjectName("DiagnosticsDialog")
        self.setWindowTitle(f"Diagnostics · {name}")
        self.setMinimumSize(660, 540)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        self.hint = heading(f"Diagnostics for {name}", f"Checking {ctx.profile(name).display_target}…", col)
        card, self.grid = card_grid(stretch_column=2)
        self.grid.setRowStretch(99, 1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(card)
        col.addWidget(scroll, 1)
        row = QHBoxLayout()
        self.upgrade_button = QPushButton("Upgrade agent…")
        self.upgrade_button.hide()
        self.upgrade_button.clicked.connect(lambda: (self.sig_upgrade_requested.emit(self.name), self.accept()))
        row.addWidget(self.upgrade_button)
        row.addStretch(1)
        self.again = QPushButton("Run again")
        self.again.clicked.connect(self.run_checks)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(self.again)
        row.addWidget(close)
        col.addLayout(row)

    def run_checks(self) -> None:
        self.again.setEnabled(False)
        self.hint.setText(f"Checking {self.ctx.profile(self.name).display_target}…")
        self.ctx.tasks.run(_setup(self.ctx, self.name, self).diagnose(), what=f"Diagnostics of {self.name} failed",
                           busy_widget=self, on_success=self.show_checks, on_error=self._failed)

    def _failed(self, exc: BaseException) -> bool:
        self.again.setEnabled(True)
        self.hint.setText(error_text(exc))
        return True

    def show_checks(self, checks: list[Check]) -> None:
        self.checks = checks
        self.again.setEnabled(True)
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        palette = theme.colors()
        for row, check in enumerate(checks):
            mark, tone = _LOOK[check.status]
            icon = QLabel(mark)
            icon.setStyleSheet(f"color: {QColor(getattr(palette, tone)).name()}; font-weight: 700;")
            icon.setFixedWidth(16)
            title = QLabel(check.title)
            title.setStyleSheet("font-weight: 600;")
            body = QLabel(_body(check))
            body.setWordWrap(True)
            body.setTextFormat(Qt.TextFormat.RichText)
            body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            for column, widget in enumerate((icon, title, body)):
                self.grid.addWidget(widget, row, column, Qt.AlignmentFlag.AlignTop)
        failed = sum(c.status == "fail" for c in checks)
        warned = sum(c.status == "warn" for c in checks)
        self.hint.setText("Everything looks good." if not failed and not warned
                          else f"{failed} problem{'s' * (failed != 1)}, {warned} warning{'s' * (warned != 1)}: "
                               "each says how to fix it.")
        offer = any(c.name in ("installed", "protocol") and c.status in ("warn", "fail") and "upgrade" in c.fix.lower()
                    for c in checks)
        self.upgrade_button.setVisible(offer)


def _body(check: Check) -> str:
    text = escape(check.detail)
    if check.fix and check.status in ("warn", "fail"):
        text += f"<br><span style='color:{theme.colors().muted}'>Fix: {escape(check.fix)}</span>"
    return text


class UpgradeDialog(QDialog):
    """Offer, confirm and run `upgrade`; the state directory is kept and the apps re-checked."""

    sig_upgraded = Signal(str)

    def __init__(self, ctx: UiContext, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.name = ctx, name
        self.setup = _setup(ctx, name, self)
        self.job: Optional[Onboarding] = None
        self.task: Optional[asyncio.Task] = None
        self.setObjectName("UpgradeDialog")
        self.setWindowTitle(f"Upgrade the agent on {name}")
        self.setMinimumSize(640, 580)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        self.hint = heading(f"Upgrade the agent on {name}", "Checking the installed version…", col)
        self.progress, row, self.close_button = progress_panel(col, lambda: self.check(), self._close)
        self.upgrade_button = QPushButton("Upgrade", enabled=False)
        self.upgrade_button.setProperty("role", "primary")
        self.upgrade_button.clicked.connect(self._clicked)
        row.addWidget(self.upgrade_button)
        self.finished.connect(lambda _r: ctx.tasks.run(self.setup.aclose(), what="Closing SSH", background=True))

    def check(self, force: bool = False) -> None:
        self.ctx.tasks.run(self.setup.prepare_upgrade(force=force), what=f"Could not check {self.name}",
                           busy_widget=self, on_success=self._offer, on_error=self._not_offered)

    def _offer(self, result: tuple[Onboarding, str]) -> None:
        self.job, reason = result
        what = "Reinstall and restart the agent" if reason.startswith("forced") else f"Upgrade available: {reason}"
        self.hint.setText(f"{what}. The agent restarts (apps keep running) and its state directory "
                          f"{self.job.options.state_dir} is kept.")
        self.progress.set_steps([(s.name, s.title) for s in self.job.upgrade_steps()])
        self.upgrade_button.setEnabled(True)

    def _not_offered(self, exc: BaseException) -> bool:
        if isinstance(exc, NothingToUpgrade):
            self.hint.setText(f"{exc}. Restart it anyway with a reinstall?")
            self.upgrade_button.setText("Reinstall and restart")
            self.upgrade_button.setEnabled(True)
            return True
        if isinstance(exc, NotInstalledByBasepod):
            self.hint.setText(str(exc))
            return True
        self.progress.show_failure("Checking the agent", error_text(exc))
        return True

    def _clicked(self) -> None:
        if self.job is None:
            self.upgrade_button.setEnabled(False)
            self.check(force=True)
        else:
            self._run()

    def _run(self) -> None:
        self.upgrade_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.task = self.ctx.tasks.run(run_job(self.job.upgrade(), self.progress), what="Upgrade failed",
                                       on_success=self._done, on_error=lambda _e: self._stopped())

    def _stopped(self) -> bool:
        self.close_button.setText("Close")
        return True

    def _done(self, _result) -> None:
        apps = self.job.apps_after
        kept = ("its state directory was kept." if apps is None else "no apps yet; the state directory was kept."
                if not apps else f"all {len(apps)} apps are there.")
        self.hint.setText(f"The agent on {self.name} runs {self.job.wheel.version}; {kept}")
        self.upgrade_button.hide()
        self.close_button.setText("Done")
        self.close_button.setProperty("role", "primary")
        self.close_button.style().polish(self.close_button)
        self.sig_upgraded.emit(self.name)

    def _close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.accept() if self.close_button.text() == "Done" else self.reject()
