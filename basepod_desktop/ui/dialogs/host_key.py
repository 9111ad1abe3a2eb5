"""First contact with a server: show its host key fingerprint and ask to trust it.

The fingerprint is printed exactly as ``ssh-keygen -lf`` prints it, and the dialog says
how to check it on the server, because "Trust" without checking is what MITM relies on.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from basepod_desktop.transport import HostKeyInfo


class HostKeyDialog(QDialog):
    def __init__(self, server_label: str, info: HostKeyInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.setObjectName("HostKeyDialog")
        self.setWindowTitle(f"Verify {server_label}")
        self.setMinimumWidth(520)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(10)
        heading = QLabel(f"Is this really {info.host}?")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        intro = QLabel(f"This is the first connection to <b>{info.host}:{info.port}</b>. "
                       "Compare the fingerprint below with the one the server shows for "
                       "<code>ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub</code>.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        self.fingerprint = QLabel(f"{info.key_type}<br><b>{info.fingerprint}</b>")
        self.fingerprint.setObjectName("Mono")
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setStyleSheet("padding: 10px; border-radius: 8px; background: palette(window);")
        col.addWidget(self.fingerprint)
        note = QLabel(f"Trusting it adds the key to {info.known_hosts_path}. If the key ever changes, "
                      "Basepod will refuse to connect.")
        note.setObjectName("Muted")
        note.setWordWrap(True)
        col.addWidget(note)
        buttons = QDialogButtonBox()
        self.trust_button = buttons.addButton("Trust and connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.trust_button.setProperty("role", "primary")
        buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole).setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
