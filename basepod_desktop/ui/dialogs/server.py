"""Add or edit a server profile (the same ``servers.json`` entries ``bp`` uses).

Validation is the profile model's own, mapped back to the field that failed, so the
dialog cannot save something ``bp`` would refuse to load.
"""

from __future__ import annotations

from typing import Optional

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget,
)

from basepod_desktop.core.profiles import DEFAULT_REMOTE_SOCKET, ServerProfile
from basepod_desktop.ui.widgets.forms import FieldErrors, accept_buttons


class ServerDialog(QDialog):
    sig_saved = Signal(object)  # ServerProfile

    def __init__(self, profile: Optional[ServerProfile] = None, taken: set[str] = frozenset(),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = profile
        self.taken = set(taken) - ({profile.name} if profile else set())
        self.setObjectName("ServerDialog")
        self.setWindowTitle("Edit server" if profile else "Add server")
        self.setMinimumWidth(500)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        heading = QLabel("Edit server" if profile else "Add a server")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel("Basepod reaches the agent through SSH; nothing is exposed to the network.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        self.name = QLineEdit(placeholderText="prod-1")
        self.host = QLineEdit(placeholderText="server.example.com")
        self.port = QSpinBox(minimum=1, maximum=65535, value=22)
        self.user = QLineEdit(placeholderText="from ~/.ssh/config when empty")
        self.use_agent = QRadioButton("ssh-agent / default keys")
        self.use_file = QRadioButton("Key file")
        group = QButtonGroup(self)
        group.addButton(self.use_agent)
        group.addButton(self.use_file)
        self.use_agent.setChecked(True)
        self.key_path = QLineEdit(placeholderText="~/.ssh/id_ed25519")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_path, 1)
        key_row.addWidget(browse)
        auth_row = QHBoxLayout()
        auth_row.addWidget(self.use_agent)
        auth_row.addWidget(self.use_file)
        auth_row.addStretch()
        self.socket = QLineEdit(DEFAULT_REMOTE_SOCKET)
        self.field_errors = FieldErrors()
        self.errors = self.field_errors.labels
        rows = (("name", "Name", self.name), ("host", "Host", self.host), ("port", "SSH port", self.port),
                ("user", "User", self.user), ("auth", "Authentication", auth_row),
                ("key_path", "", key_row), ("socket", "Agent socket", self.socket))
        for key, label, widget in rows:
            self.field_errors.add_row(form, key, label, widget)
        col.addLayout(form)
        self.install_agent = QCheckBox("Install the agent on this server over SSH (inspect, then confirm)")
        self.install_agent.setToolTip("For a fresh server: Basepod uploads and starts the agent, "
                                      "then logs you in. The agent socket is then chosen by the install.")
        self.install_agent.toggled.connect(lambda on: self.socket.setEnabled(not on))
        self.install_agent.setVisible(profile is None)
        col.addWidget(self.install_agent)
        self.use_file.toggled.connect(self.key_path.setEnabled)
        self.use_file.toggled.connect(browse.setEnabled)
        self.key_path.setEnabled(False)
        browse.setEnabled(False)
        buttons, self.save_button = accept_buttons("Save" if profile else "Add server", self.submit, self.reject)
        col.addWidget(buttons)
        if profile:
            self._fill(profile)

    def _fill(self, p: ServerProfile) -> None:
        self.name.setText(p.name)
        self.name.setReadOnly(True)  # the name keys the token and the fleet cache
        self.host.setText(p.host or "")
        self.port.setValue(p.port)
        self.user.setText(p.user or "")
        if p.key_path:
            self.use_file.setChecked(True)
            self.key_path.setText(p.key_path)
        self.socket.setText(p.socket)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SSH private key", self.key_path.text() or "~/.ssh")
        if path:
            self.key_path.setText(path)

    def profile(self) -> Optional[ServerProfile]:
        self.field_errors.clear()
        name = self.name.text().strip()
        if name in self.taken:
            self._error("name", f"A server named {name!r} already exists.")
            return None
        if self.use_file.isChecked() and not self.key_path.text().strip():
            self._error("key_path", "Choose the key file, or use ssh-agent.")
            return None
        try:
            return ServerProfile(
                name=name, kind="ssh", host=self.host.text().strip() or None, port=self.port.value(),
                user=self.user.text().strip() or None,
                key_path=self.key_path.text().strip() if self.use_file.isChecked() else None,
                socket=self.socket.text().strip(),
            )
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else "host"
                self._error(field if field in self.errors else "host", err["msg"].removeprefix("Value error, "))
            return None

    def submit(self) -> None:
        profile = self.profile()
        if profile is not None:
            self.sig_saved.emit(profile)
            self.accept()

    def _error(self, field: str, message: str) -> None:
        self.field_errors.show(field, message)
