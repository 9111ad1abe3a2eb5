"""Install the agent on a new server: inspect -> plan and confirm -> progress with Retry.

The dialog only renders and asks; `core/server_setup.ServerSetup` does the SSH work and
its job streams the step events shown here. The server is saved (and connected) only
once the install logged in, so a cancelled wizard leaves no half-configured server.
"""

from __future__ import annotations

from html import escape

import asyncio
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
    QStackedWidget, QVBoxLayout, QWidget,
)
from pydantic import ValidationError

from basepod_desktop.core.onboarding import Onboarding
from basepod_desktop.core.onboarding_model import HostFacts, StepFailed, human_bytes
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.core.server_setup import ServerSetup
from basepod_desktop.transport import HostKeyInfo
from basepod_desktop.ui import theme
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.host_key import HostKeyDialog
from basepod_desktop.ui.tasks import error_text
from basepod_desktop.ui.widgets.forms import FieldErrors
from basepod_desktop.ui.widgets.steps import StepProgress, card_grid


async def ask_host_key(parent: QWidget, name: str, info: HostKeyInfo) -> bool:
    """The same trust prompt as a normal connection, awaited by the SSH layer."""
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    dialog = HostKeyDialog(name, info, parent)
    dialog.accepted.connect(lambda: answer.done() or answer.set_result(True))
    dialog.rejected.connect(lambda: answer.done() or answer.set_result(False))
    dialog.open()
    return await answer


async def run_job(events, progress: StepProgress) -> None:
    """Feed a job's events to the progress widget (a StepFailed is shown there, then raised)."""
    async for event in events:
        progress.apply(event)


def heading(text: str, hint: str, col: QVBoxLayout) -> QLabel:
    title = QLabel(text, objectName="CardTitle")
    col.addWidget(title)
    note = QLabel(hint, objectName="Muted")
    note.setWordWrap(True)
    col.addWidget(note)
    return note


def progress_panel(col: QVBoxLayout, on_retry, on_close) -> tuple[StepProgress, QHBoxLayout, QPushButton]:
    """Step list + log, its Retry wired, and a button row ending in Cancel/Close/Done."""
    progress = StepProgress()
    progress.failure.sig_action.connect(lambda _k: on_retry())
    col.addWidget(progress, 1)
    row = QHBoxLayout()
    row.addStretch(1)
    close = QPushButton("Cancel")
    close.clicked.connect(on_close)
    row.addWidget(close)
    col.addLayout(row)
    return progress, row, close


def facts_rows(facts: HostFacts) -> list[tuple[str, str, str]]:
    """(label, value, tone) rows describing what inspect found; tone "" / "warning" / "danger"."""
    podman = (f"{facts.podman_version} ({facts.podman_mode})" if facts.podman_version
              else "not installed" + (f" — can be installed with {facts.package_manager}" if facts.package_manager else ""))
    return [
        ("System", f"{facts.os_name or facts.os_id or 'unknown'} · user {facts.user}"
                   f"{' (root)' if facts.is_root else ''}", ""),
        ("Python", f"{facts.python_version or 'missing'}{'' if facts.python_venv else ' (no venv module)'}",
         "" if facts.python_ok and facts.python_venv else "danger"),
        ("Podman", podman, "" if facts.podman_version else "warning" if facts.package_manager else "danger"),
        ("Service", f"systemd ({facts.systemd_state})" if facts.systemd
         else "no systemd: background process, not restarted after a reboot", "" if facts.systemd else "warning"),
        ("Disk", f"{human_bytes(facts.disk_free_bytes)} free", "danger" if (facts.disk_free_bytes or 0) < 1 << 30 else ""),
        ("Memory", f"{human_bytes(facts.mem_available_bytes)} available of {human_bytes(facts.mem_total_bytes)}", ""),
        ("Agent", f"{facts.installed_version} in {facts.prefix}" if facts.installed_version else "not installed yet",
         ""),
    ]


class InstallWizard(QDialog):
    sig_installed = Signal(object)  # the ServerProfile to save: socket and prefix of the install

    def __init__(self, ctx: UiContext, profile: ServerProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.profile = profile
        self.setup = ServerSetup(profile, ctx.fleet.tokens, known_hosts_path=ctx.fleet.known_hosts_path,
                                 confirm_host_key=lambda info: ask_host_key(self, profile.name, info))
        self.job: Optional[Onboarding] = None
        self.facts: Optional[HostFacts] = None
        self.task: Optional[asyncio.Task] = None
        self._account: tuple[str, str] = ("", "")
        self.setObjectName("InstallWizard")
        self.setWindowTitle(f"Install the agent on {profile.name}")
        self.setMinimumSize(640, 560)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        self.pages = QStackedWidget()
        col.addWidget(self.pages, 1)
        self._build_plan_page()
        self._build_progress_page()
        self.finished.connect(lambda _r: ctx.tasks.run(self.setup.aclose(), what="Closing SSH", background=True))

    # -- page 1: what is there, what will happen --------------------------------------

    def _build_plan_page(self) -> None:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        self.plan_hint = heading(f"Install the agent on {self.profile.name}",
                                 f"Inspecting {self.profile.display_target} over SSH…", col)
        self.facts_card, self.facts_grid = card_grid(stretch_column=1)
        self.facts_card.hide()  # shown once inspect answered: an empty box says nothing
        col.addWidget(self.facts_card)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        self.email = QLineEdit(placeholderText="you@example.com")
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password, placeholderText="at least 8 characters")
        self.repeat = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.install_podman = QCheckBox("Install Podman with the server's package manager")
        self.install_podman.setChecked(True)
        self.install_podman.hide()
        self.advanced = QCheckBox("Choose folders and the Podman socket")
        self.prefix = QLineEdit(placeholderText="/opt/basepod")
        self.state_dir = QLineEdit(placeholderText="/var/lib/basepod")
        self.podman_url = QLineEdit(placeholderText="found or started by the agent")
        self.field_errors = FieldErrors()
        for key, label, widget in (("admin_email", "Admin e-mail", self.email), ("password", "Password", self.password),
                                   ("repeat", "Repeat", self.repeat), ("podman", "", self.install_podman),
                                   ("advanced", "", self.advanced), ("prefix", "Install folder", self.prefix),
                                   ("state_dir", "State folder", self.state_dir),
                                   ("podman_url", "Podman URL", self.podman_url)):
            self.field_errors.add_row(form, key, label, widget)
        col.addLayout(form)
        self._advanced_rows = [(form, w) for w in (self.prefix, self.state_dir, self.podman_url)]
        self.advanced.toggled.connect(self._show_advanced)
        self._show_advanced(False)
        self.plan = QLabel()
        self.plan.setWordWrap(True)
        self.plan.setTextFormat(Qt.TextFormat.RichText)
        for edit in (self.email, self.prefix, self.state_dir):
            edit.textChanged.connect(self._update_plan)
        self.install_podman.toggled.connect(self._update_plan)
        self.advanced.toggled.connect(self._update_plan)
        col.addWidget(self.plan)
        col.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.install_button = QPushButton("Install", enabled=False)
        self.install_button.setProperty("role", "primary")
        self.install_button.clicked.connect(lambda: self.start_install() if self.facts else self.inspect())
        row.addWidget(cancel)
        row.addWidget(self.install_button)
        col.addLayout(row)
        self.pages.addWidget(page)

    def _show_advanced(self, on: bool) -> None:
        for form, widget in self._advanced_rows:
            form.setRowVisible(widget, on)

    def _options(self) -> dict:
        if not self.advanced.isChecked():
            return {}
        values = {"prefix": self.prefix.text().strip(), "state_dir": self.state_dir.text().strip(),
                  "podman_url": self.podman_url.text().strip()}
        return {k: v for k, v in values.items() if v}

    def start(self) -> None:
        """Open and inspect; the Install button is enabled once the host is known."""
        self.open()
        self.inspect()

    def inspect(self) -> None:
        self.install_button.setEnabled(False)
        self.plan_hint.setText(f"Inspecting {self.profile.display_target} over SSH…")
        self.plan_hint.setObjectName("Muted")
        self.plan_hint.style().polish(self.plan_hint)
        self.ctx.tasks.run(self.setup.inspect(), what=f"Could not inspect {self.profile.name}", busy_widget=self,
                           on_success=self._show_facts, on_error=self._inspect_failed)

    def _show_facts(self, facts: HostFacts) -> None:
        self.plan_hint.setText(f"Basepod found this on {self.profile.display_target}. Enter the admin account "
                               "for the new agent, check the plan, then install.")
        palette = theme.colors()
        for row, (label, value, tone) in enumerate(facts_rows(facts)):
            key = QLabel(label, objectName="Muted")
            text = QLabel(value)
            text.setWordWrap(True)
            if tone:
                text.setStyleSheet(f"color: {getattr(palette, tone)};")
            self.facts_grid.addWidget(key, row, 0)
            self.facts_grid.addWidget(text, row, 1)
        self.facts = facts
        self.facts_card.show()
        self.install_button.setText("Install")
        self.install_podman.setVisible(not facts.podman_version and bool(facts.package_manager))
        self.prefix.setPlaceholderText(facts.prefix)
        self.state_dir.setPlaceholderText(facts.state_dir)
        self.install_button.setEnabled(True)
        self._update_plan()

    def _update_plan(self) -> None:
        facts = self.facts
        if facts is None:
            return
        options = self._options()
        prefix = options.get("prefix") or facts.prefix
        state = options.get("state_dir") or facts.state_dir
        podman = (f"keep Podman {facts.podman_version}" if facts.podman_version
                  else f"install Podman with {facts.package_manager}" if self.install_podman.isChecked()
                  else "Podman is missing: the install will stop there")
        service = ("a systemd service" if facts.service_mode == "systemd-system"
                   else "a systemd user service" if facts.service_mode == "systemd-user"
                   else "a background process (it will not start again after a reboot)")
        items = [podman, f"upload the agent built from this Basepod to {prefix}/dist over SFTP",
                 f"create a Python environment in {prefix}/venv and install the agent",
                 f"initialise {state} with admin {self.email.text().strip() or '…'}",
                 f"start the agent as {service}", "log in and keep the token on this computer"]
        self.plan.setText("<b>Plan</b><ol style='margin-left:-20px'>" + "".join(f"<li>{escape(i)}</li>" for i in items)
                          + "</ol>Every step can be retried; finished steps are skipped.")

    def _inspect_failed(self, exc: BaseException) -> bool:
        self.plan_hint.setText(f"Could not inspect {self.profile.display_target}: {error_text(exc)}")
        self.plan_hint.setObjectName("FieldError")
        self.plan_hint.style().polish(self.plan_hint)
        self.install_button.setText("Inspect again")
        self.install_button.setEnabled(True)
        return True

    def start_install(self) -> None:
        self.field_errors.clear()
        email, password = self.email.text().strip(), self.password.text()
        if len(password) < 8:
            self.field_errors.show("password", "Use at least 8 characters.")
            return
        if password != self.repeat.text():
            self.field_errors.show("repeat", "The passwords differ.")
            return
        self.install_button.setEnabled(False)
        self._account = (email, password)
        self._prepare()

    def _prepare(self) -> None:
        email, password = self._account
        self.ctx.tasks.run(
            self.setup.prepare_install(email, password, install_podman=self.install_podman.isChecked(),
                                       **self._options()),
            what="Could not prepare the install", busy_widget=self, on_success=self._run_install,
            on_error=self._prepare_failed)

    def retry(self) -> None:
        """Inspect again (an earlier attempt changed the server), then run the steps again."""
        self.setup.facts = None
        self._prepare()

    def _prepare_failed(self, exc: BaseException) -> bool:
        self.install_button.setEnabled(True)
        if self.pages.currentIndex() == 1:
            self.progress.show_failure("Preparing", error_text(exc))
            return True
        if isinstance(exc, ValidationError):
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else "admin_email"
                self.field_errors.show(field if field in self.field_errors.labels else "admin_email",
                                       err["msg"].removeprefix("Value error, "))
            return True
        return False

    # -- page 2: progress ------------------------------------------------------------------

    def _build_progress_page(self) -> None:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        self.progress_hint = heading(f"Installing on {self.profile.name}", "", col)
        self.progress, _row, self.close_button = progress_panel(col, self.retry, self._close)
        self.pages.addWidget(page)

    def _run_install(self, job: Onboarding) -> None:
        self.job = job
        self.pages.setCurrentIndex(1)
        self.progress_hint.setText(f"{self.profile.display_target} · agent {job.wheel.version} · "
                                   f"{job.options.prefix}")
        self.progress.set_steps([(s.name, s.title) for s in job.install_steps()])
        self.close_button.setText("Cancel")
        self.task = self.ctx.tasks.run(run_job(job.install(), self.progress), what="Install failed",
                                       on_success=self._installed, on_error=self._failed)

    def _installed(self, _result) -> None:
        self.progress_hint.setText(f"The agent runs on {self.profile.display_target} and you are logged in.")
        self.close_button.setText("Done")
        self.close_button.setProperty("role", "primary")
        self.close_button.style().polish(self.close_button)
        self.sig_installed.emit(self.job.profile)

    def _failed(self, exc: BaseException) -> bool:
        self.close_button.setText("Close")
        if isinstance(exc, StepFailed):
            return True  # shown next to the step, with Retry
        self.progress.show_failure("The install", error_text(exc))
        return True

    def _close(self) -> None:
        if self.close_button.text() == "Done":
            self.accept()
            return
        if self.task is not None and not self.task.done():
            self.task.cancel()  # steps are resumable: the next attempt picks up from here
        self.reject()
